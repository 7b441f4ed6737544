//! Zoho OAuth tokens, encrypted in the application with AES-256-GCM and kept in AWS Secrets Manager,
//! behind the Zoho SDK's six-operation `TokenStore` contract.
//!
//! - [`OAuthToken`]: the SDK's token, with secrets in redacting types ([`RefreshToken`], ...).
//! - [`TokenStore`]: the contract, object-safe (`Arc<dyn TokenStore>`).
//! - [`SecretsManagerStore`]: one secret per token, found by user, refresh, grant or access token
//!   through keyed-hash tags; [`MemoryStore`]: the same contract in memory, for tests.
//! - [`Keyring`]: data keys with ids and one primary, plus the separate lookup-index key.
//! - `cli` (feature `cli`, on by default): the operator tool, for the binary and the Python package.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use zoho_token_store::{Keyring, OAuthToken, SecretsManagerStore, TokenStore};
//!
//! let config = aws_config::load_from_env().await; // AWS_REGION, AWS_ENDPOINT_URL, credentials...
//! let client = aws_sdk_secretsmanager::Client::new(&config);
//! let store = SecretsManagerStore::builder(client, Keyring::from_env()?).build()?;
//!
//! let mut token = OAuthToken::default()
//!     .with_user_name("alice@example.com")
//!     .with_client("1000.CLIENTID", "client-secret")
//!     .with_refresh_token("1000.refresh-token");
//! store.save_token(&mut token).await?; // assigns token.id
//!
//! let found = store.find_token(&OAuthToken::default().with_user_name("alice@example.com")).await?;
//! assert_eq!(found.and_then(|t| t.refresh_token), token.refresh_token);
//! # Ok(()) }
//! ```

mod accounts;
mod aws;
mod calls;
#[cfg(feature = "cli")]
pub mod cli;
mod env;
mod envelope;
mod error;
mod fix;
mod id;
mod key_source;
mod keyring;
mod keys_config;
mod lease;
mod lookup;
mod manager;
mod memory;
mod refusal;
pub mod sdk;
mod secret;
mod secret_key_source;
mod secrets_manager;
mod store;
mod token;

pub use accounts::{AccountsClient, DataCenter, Grant};
pub use aws_sdk_secretsmanager;
pub use calls::CallCounter;
pub use env::KEYS_ENV_VAR;
pub use envelope::{open_token, seal_token};
pub use error::{Error, Result};
pub use fix::{Api, Fix};
pub use key_source::KeySource;
pub use keyring::{KEY_LEN, Keyring, MAX_KEY_ID_LEN};
pub use keys_config::KeysConfig;
pub use lease::{Lease, RefreshCoordinator};
pub use manager::{
    DEFAULT_MIN_REFRESH_MARGIN, DEFAULT_REFRESH_MARGIN, MAX_REFRESH_MARGIN, RefreshDueReport,
    TokenManager, TokenManagerBuilder,
};
pub use memory::MemoryStore;
pub use refusal::{THROTTLE_WINDOW, ZohoRefusal};
pub use reqwest;
pub use secret::{AccessToken, ClientSecret, GrantToken, RefreshToken};
pub use secret_key_source::{DEFAULT_REFRESH_INTERVAL, SecretKeySource};
pub use secrets_manager::{
    BulkOptions, BulkReport, DEFAULT_LISTING_LAG, DEFAULT_PREFIX, Inventory, Progress,
    RecoveryWindow, RotationEvent, RotationHandler, RotationStep, SecretsManagerStore,
    SecretsManagerStoreBuilder, StoredToken,
};
pub use store::{Scan, TokenStore, Unreadable};
pub use token::OAuthToken;

// Compiles the README's Rust examples as doctests, so the README cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
