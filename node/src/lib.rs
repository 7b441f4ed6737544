//! The Node.js binding's native half (`native.js` loads it): one `NativeStore` class over the crate's
//! [`SdkStore`], token conversions, errors, and the operator tool.
//!
//! Every rule of the store and every calling convention the Zoho SDKs share (options and their checks,
//! merge-and-save, refreshing ahead and the fleet's sign-in, unknown ids) lives in the Rust crate
//! (`zoho_token_store::sdk`, shared with the Python package); this crate converts and wires. Tokens
//! cross as plain objects of strings (`convert.rs`); the package's JavaScript turns them into the
//! SDK's `OAuthToken` objects and back.
//!
//! Every operation returns a Promise settled on napi-rs's Tokio runtime, so the event loop only ever
//! converts: the AWS calls, the encryption and the waits for the fleet's lease run on the runtime's
//! threads.

mod convert;
mod error;
mod log;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, Result};
use napi_derive::napi;
use tokio::sync::OnceCell;
use zeroize::Zeroizing;
use zoho_token_store::Api;
use zoho_token_store::sdk::{SdkConfig, SdkOptions, SdkStore};

use crate::convert::{TokenFields, token_from, token_to};
use crate::error::reject;

/// The options of `new SecretsManagerTokenStore(...)`, as the package's JavaScript passed them on after
/// checking their types (absent: the crate's default applies).
#[napi(object)]
pub struct StoreOptions {
    pub prefix: Option<String>,
    /// Key material: dropped (and wiped, as the crate's keyring) once checked.
    pub keys: Option<String>,
    pub keyring_secret: Option<String>,
    pub kms_key_id: Option<String>,
    pub allow_unbound_keyring: Option<bool>,
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub cache_ttl_seconds: Option<f64>,
    pub recovery_window_days: Option<f64>,
    pub refresh_ahead_seconds: Option<f64>,
}

/// What every call of one store shares: the checked options and the store built from them on first
/// use.
struct Shared {
    config: SdkConfig,
    /// Built by the first operation (loading the AWS configuration is asynchronous), so the constructor
    /// never blocks the event loop; every later operation reuses it.
    store: OnceCell<Arc<SdkStore>>,
}

impl Shared {
    async fn store(&self) -> zoho_token_store::Result<Arc<SdkStore>> {
        self.store
            .get_or_try_init(|| async { self.config.connect().await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// A token store in AWS Secrets Manager (the package's `SecretsManagerTokenStore` wraps it). Built in
/// the thread that uses it: each worker thread of an app builds its own.
#[napi]
pub struct NativeStore {
    shared: Arc<Shared>,
}

/// Runs `op` on the store of `shared` on the runtime; a Promise of its value, rejected with the
/// package's error object (see `error.rs`) when it fails.
fn settle<'env, T, F>(
    env: &'env Env,
    shared: &Arc<Shared>,
    op: impl FnOnce(Arc<SdkStore>) -> F + Send + 'static,
) -> Result<PromiseRaw<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = zoho_token_store::Result<T>> + Send + 'static,
{
    let shared = shared.clone();
    env.spawn_future_with_callback(
        async move {
            // The crate's error travels as a value: only the JavaScript thread can build the object
            // the Promise is rejected with.
            Ok(match shared.store().await {
                Ok(store) => op(store).await,
                Err(e) => Err(e),
            })
        },
        |env, outcome| outcome.map_err(|e| reject(env, &e)),
    )
}

#[napi]
impl NativeStore {
    /// Checks the options (values; their types were checked by the caller) and keeps them; the store
    /// itself is built by the first operation.
    ///
    /// # Errors
    /// A JavaScript error the package turns into `TokenStoreError` (kind `InvalidConfig`, or `KeySource`
    /// for the environment's keyring settings) naming the option and its fix; no AWS call is made.
    #[napi(constructor)]
    pub fn new(env: Env, options: StoreOptions) -> Result<Self> {
        let mut sdk = SdkOptions::new(Api::JavaScript);
        sdk.prefix = options.prefix;
        sdk.keys = options.keys.map(Zeroizing::new);
        sdk.keyring_secret = options.keyring_secret;
        sdk.kms_key_id = options.kms_key_id;
        sdk.allow_unbound_keyring = options.allow_unbound_keyring.unwrap_or(false);
        sdk.endpoint_url = options.endpoint_url;
        sdk.region = options.region;
        sdk.cache_ttl_seconds = options.cache_ttl_seconds;
        sdk.recovery_window_days = options.recovery_window_days;
        sdk.refresh_ahead_seconds = options.refresh_ahead_seconds;
        let config = sdk.check().map_err(|e| reject(&env, &e))?;
        log::init();
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                store: OnceCell::new(),
            }),
        })
    }

    /// The prefix of every secret name this store uses.
    #[napi(getter)]
    pub fn prefix(&self) -> String {
        self.shared.config.prefix().to_owned()
    }

    /// Whether found tokens are refreshed ahead (the package then passes the SDK's accounts URL).
    #[napi(getter)]
    pub fn refreshes_ahead(&self) -> bool {
        self.shared.config.refreshes_ahead()
    }

    /// The stored token `query` matches, with the caller's own values winning; null when nothing
    /// matches (see `SdkStore::find_token`).
    ///
    /// # Errors
    /// Throws for a token field the crate refuses (`InvalidToken`); the promise rejects with the
    /// store's failure (`Throttled`, `TokenRevoked`, `WrongIndexKey`, `Decrypt`, `Backend`, ...).
    #[napi(ts_return_type = "Promise<TokenFields | null>")]
    pub fn find_token<'env>(
        &self,
        env: &'env Env,
        query: TokenFields,
        accounts_url: Option<String>,
    ) -> Result<PromiseRaw<'env, Option<TokenFields>>> {
        let query = token_from(query).map_err(|e| reject(env, &e))?;
        settle(env, &self.shared, |store| async move {
            let found = store.find_token(&query, accounts_url.as_deref()).await?;
            Ok(found.as_ref().map(token_to))
        })
    }

    /// Saves as the SDKs' stores do (see `SdkStore::save_token`); the token as written, id included.
    ///
    /// # Errors
    /// Throws for a token field the crate refuses; the promise rejects with `InvalidToken` (nothing to
    /// authenticate with, or an id naming another user's token), `TokenDeleted` or `Backend`.
    #[napi(ts_return_type = "Promise<TokenFields>")]
    pub fn save_token<'env>(
        &self,
        env: &'env Env,
        token: TokenFields,
    ) -> Result<PromiseRaw<'env, TokenFields>> {
        let mut token = token_from(token).map_err(|e| reject(env, &e))?;
        settle(env, &self.shared, |store| async move {
            store.save_token(&mut token).await?;
            Ok(token_to(&token))
        })
    }

    /// Deletes the token with this id.
    ///
    /// # Errors
    /// The promise rejects with `NotFound` for an unknown id, `Backend` when AWS refuses.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_token<'env>(&self, env: &'env Env, id: String) -> Result<PromiseRaw<'env, ()>> {
        settle(env, &self.shared, |store| async move {
            store.delete_token(&id).await
        })
    }

    /// Every token under the prefix.
    ///
    /// # Errors
    /// The promise rejects with `Decrypt` naming any entry it cannot read, or `Backend`.
    #[napi(ts_return_type = "Promise<Array<TokenFields>>")]
    pub fn get_tokens<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<TokenFields>>> {
        settle(env, &self.shared, |store| async move {
            Ok(store.get_tokens().await?.iter().map(token_to).collect())
        })
    }

    /// Deletes every token under the prefix, and nothing else.
    ///
    /// # Errors
    /// The promise rejects with `Backend` when AWS refuses a listing or a delete.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn delete_tokens<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, ()>> {
        settle(env, &self.shared, |store| async move {
            store.delete_tokens().await
        })
    }

    /// The token with this id, refreshed first as in `findToken`.
    ///
    /// # Errors
    /// The promise rejects with `NotFound` for an unknown id, `InvalidToken` for a malformed one, and
    /// as `find_token` does.
    #[napi(ts_return_type = "Promise<TokenFields>")]
    pub fn find_token_by_id<'env>(
        &self,
        env: &'env Env,
        id: String,
        accounts_url: Option<String>,
    ) -> Result<PromiseRaw<'env, TokenFields>> {
        settle(env, &self.shared, |store| async move {
            let found = store.find_token_by_id(&id, accounts_url.as_deref()).await?;
            Ok(token_to(&found))
        })
    }

    /// The AWS calls this store has made, by operation (none before its first operation).
    #[napi]
    pub fn calls(&self) -> HashMap<String, f64> {
        self.shared.store.get().map_or_else(HashMap::new, |store| {
            store
                .calls()
                .into_iter()
                // Counts stay far below 2^53: exact as JavaScript numbers.
                .map(|(operation, count)| (operation, count as f64))
                .collect()
        })
    }

    /// Sets the call counts back to zero.
    #[napi]
    pub fn reset_calls(&self) {
        if let Some(store) = self.shared.store.get() {
            store.reset_calls();
        }
    }
}

/// Runs the operator tool `zoho-token-store` (the Rust crate's, not a second implementation) with
/// `argv` (the program name first); its exit code. It blocks the calling thread until done: it is
/// the whole of the package's `zoho-token-store` command.
#[napi]
pub fn cli(argv: Vec<String>) -> u8 {
    zoho_token_store::cli::run(argv)
}

/// The crate's version (the package's, too).
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
