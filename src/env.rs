//! The environment variables this crate reads, by name.
//!
//! On the ground floor, so the error type can name them in its messages without importing what reads
//! them.

/// The environment variable [`Keyring::from_env`](crate::Keyring::from_env) reads.
pub const KEYS_ENV_VAR: &str = "ZOHO_TOKEN_STORE_KEYS";

/// The keyring secret's name, when keys live in one (see [`KeysConfig::from_env`](crate::KeysConfig::from_env)).
pub(crate) const KEYRING_SECRET_ENV_VAR: &str = "ZOHO_TOKEN_STORE_KEYRING_SECRET";

/// The KMS key that wraps the keyring secret's keys.
pub(crate) const KMS_KEY_ID_ENV_VAR: &str = "ZOHO_TOKEN_STORE_KMS_KEY_ID";

/// `1` reads a KMS-wrapped keyring written before its keys were bound to its name (upgrades only).
pub(crate) const ALLOW_UNBOUND_KEYRING_ENV_VAR: &str = "ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING";

/// Zoho's accounts server URL, overriding the data centre (sandboxes, tests).
pub(crate) const ACCOUNTS_URL_ENV_VAR: &str = "ZOHO_ACCOUNTS_URL";

/// Zoho's data centre: `us`, `eu`, `in`, `au`, `jp`, `cn`, `ca` or `sa`.
pub(crate) const DATA_CENTER_ENV_VAR: &str = "ZOHO_DATA_CENTER";
