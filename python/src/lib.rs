//! The Python binding's native half, `zoho_token_store._native`: one `Store` class over
//! [`SecretsManagerStore`], token conversions, errors, and the process's Tokio runtime.
//!
//! Every rule of the store lives in the Rust crate; this crate converts and wires (`refresh.rs` puts the
//! crate's `TokenManager` in front of lookups unless turned off). Tokens cross as dicts of strings (the
//! SDK's own field names, `expires_in` as epoch milliseconds); the Python package turns them into the
//! SDK's `OAuthToken` objects and applies the SDK's calling conventions.

mod convert;
mod refresh;
mod runtime;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use zoho_token_store::{
    Error, Keyring, KeysConfig, MAX_REFRESH_MARGIN, OAuthToken, RecoveryWindow,
    SecretsManagerStore, TokenStore,
};

use crate::convert::{to_py, token_from};

create_exception!(
    _native,
    StoreError,
    PyException,
    "A store operation failed: args are (kind, message, retryable)."
);

/// How long one attempt of an AWS call may take before it is abandoned (and retried, if attempts are
/// left).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an AWS call may take in all, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Set to `1` to have the AWS SDK's own log events reach Python `logging` too.
const AWS_LOGS_ENV_VAR: &str = "ZOHO_TOKEN_STORE_AWS_LOGS";

/// How many tokens the read cache holds.
const CACHE_CAPACITY: usize = 10_000;

/// How long a token read stays cached by default. The SDK reads the store before every request: without
/// a cache each request is a `GetSecretValue` (a few milliseconds, and a charge per 10,000). Short enough
/// that another process's change (a delete, a sign-in) shows within it; what the cache could make stale
/// is re-read past it where it matters (a token due for refresh, a save, the lease).
const DEFAULT_CACHE_TTL_SECONDS: f64 = 30.0;

/// How long before expiry a found token is refreshed by default, once for the fleet: the crate's
/// default margin (a token that lives only minutes gets a quarter of its lifetime).
const DEFAULT_REFRESH_AHEAD_SECONDS: f64 = zoho_token_store::DEFAULT_REFRESH_MARGIN.as_secs_f64();

/// What a store is built from, kept so a forked child can build its own.
#[derive(Clone)]
struct Config {
    prefix: String,
    /// A keyring given as text or read from `ZOHO_TOKEN_STORE_KEYS` when the store was made, or a
    /// keyring secret.
    keys: KeysConfig,
    endpoint_url: Option<String>,
    region: Option<String>,
    /// None: no read cache (`cache_ttl_seconds` 0 or None).
    cache_ttl: Option<Duration>,
    recovery_window: RecoveryWindow,
    /// Refresh a found token that expires within this (at most; see `refresh.rs`), once across the fleet.
    /// None: off (`refresh_ahead_seconds` 0 or None), the SDK refreshes in each process.
    refresh_ahead: Option<Duration>,
}

/// The Rust store this process uses, with the runtime that drives its calls: built in the process that
/// uses it, because after `fork` the parent's AWS connections (and the runtime tasks that drive them) do
/// not exist in the child.
#[derive(Clone)]
struct Live {
    pid: u32,
    runtime: Arc<tokio::runtime::Runtime>,
    store: Arc<SecretsManagerStore>,
    refresher: Option<Arc<refresh::Refresher>>,
}

/// A token store in AWS Secrets Manager (the Python package's `SecretsManagerTokenStore` wraps it).
#[pyclass(frozen, module = "zoho_token_store._native")]
struct Store {
    config: Config,
    /// Locked only by a thread that holds the GIL, and never across a call or a GIL release: Python
    /// forks holding the GIL, so a child never inherits this lock held by a thread it does not have.
    live: Mutex<Option<Live>>,
}

impl Store {
    /// This process's store (and refresher), built on first use in each process.
    fn live(&self, py: Python<'_>) -> zoho_token_store::Result<Live> {
        let pid = std::process::id();
        if let Some(live) = self.installed(pid) {
            return Ok(live);
        }
        let runtime = runtime::get(py)?;
        // Built without the GIL (loading the AWS configuration may wait on the network), then installed
        // under it; a thread that raced this one and installed first wins, and this copy is dropped.
        let store = Arc::new(py.detach(|| runtime.block_on(build(&self.config)))?);
        let refresher = self
            .config
            .refresh_ahead
            .map(|margin| Arc::new(refresh::Refresher::new(store.clone(), margin)));
        let built = Live {
            pid,
            runtime,
            store,
            refresher,
        };
        let mut slot = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        match slot.take() {
            Some(live) if live.pid == pid => {
                *slot = Some(live.clone());
                return Ok(live);
            }
            // The parent's, inherited through fork: leaked, never dropped. Dropping its AWS clients would
            // wake connection tasks of a runtime whose threads (and whatever locks they held at the fork)
            // only exist in the parent.
            Some(inherited) => std::mem::forget(inherited),
            None => {}
        }
        *slot = Some(built.clone());
        Ok(built)
    }

    /// The store installed for this process, if any.
    fn installed(&self, pid: u32) -> Option<Live> {
        let slot = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().filter(|live| live.pid == pid).cloned()
    }

    /// Runs one store operation with the GIL released, on this process's runtime.
    fn run<T, F>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(Arc<SecretsManagerStore>) -> F + Send,
    ) -> PyResult<T>
    where
        F: Future<Output = zoho_token_store::Result<T>>,
        T: Send,
    {
        self.run_fresh(py, |store, _| op(store))
    }

    /// As [`Store::run`], with the refresher too (None when `refresh_ahead_seconds` is 0 or None).
    fn run_fresh<T, F>(
        &self,
        py: Python<'_>,
        op: impl FnOnce(Arc<SecretsManagerStore>, Option<Arc<refresh::Refresher>>) -> F + Send,
    ) -> PyResult<T>
    where
        F: Future<Output = zoho_token_store::Result<T>>,
        T: Send,
    {
        let live = self.live(py).map_err(raise)?;
        py.detach(|| {
            live.runtime
                .block_on(op(live.store.clone(), live.refresher.clone()))
        })
        .map_err(raise)
    }
}

/// Whether `query` is a sign-in: a grant with client credentials, and nothing a token is already found by.
fn signs_in(query: &OAuthToken) -> bool {
    query.grant_token.is_some()
        && query.refresh_token.is_none()
        && query.access_token.is_none()
        && query.client_id.is_some()
        && query.client_secret.is_some()
}

async fn build(config: &Config) -> zoho_token_store::Result<SecretsManagerStore> {
    // The SDK sets no read timeout by default, so a connection that stops answering would block the
    // calling thread (and the request the app is serving) for good.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &config.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sdk = loader.load().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let mut builder = SecretsManagerStore::builder(client, config.keys.key_source(&sdk))
        .prefix(&config.prefix)
        .recovery_window(config.recovery_window);
    if let Some(ttl) = config.cache_ttl {
        builder = builder.cache(
            std::num::NonZeroUsize::new(CACHE_CAPACITY).unwrap_or(std::num::NonZeroUsize::MIN),
            ttl,
        );
    }
    builder.build()
}

/// The crate's error as a `StoreError(kind, message, retryable)`. The message is the error's
/// `Display`, which never holds a secret.
fn raise(error: Error) -> PyErr {
    StoreError::new_err((error.kind(), error.to_string(), error.is_retryable()))
}

fn config_error(reason: impl Into<String>) -> PyErr {
    raise(Error::InvalidConfig {
        reason: reason.into(),
    })
}

#[pymethods]
impl Store {
    /// See `SecretsManagerTokenStore` in the Python package for the parameters.
    #[new]
    #[pyo3(signature = (
        prefix, keys=None, keyring_secret=None, kms_key_id=None, endpoint_url=None, region=None,
        cache_ttl_seconds=Some(DEFAULT_CACHE_TTL_SECONDS), recovery_window_days=7,
        allow_unbound_keyring=false, refresh_ahead_seconds=Some(DEFAULT_REFRESH_AHEAD_SECONDS)
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        prefix: String,
        keys: Option<String>,
        keyring_secret: Option<String>,
        kms_key_id: Option<String>,
        endpoint_url: Option<String>,
        region: Option<String>,
        cache_ttl_seconds: Option<f64>,
        recovery_window_days: u32,
        allow_unbound_keyring: bool,
        refresh_ahead_seconds: Option<f64>,
    ) -> PyResult<Self> {
        if keys.is_some() && keyring_secret.is_some() {
            return Err(config_error(
                "give either keys or keyring_secret, not both: keys is the keyring's text, \
                 keyring_secret the name of the secret that holds it",
            ));
        }
        if kms_key_id.is_some() && keyring_secret.is_none() {
            return Err(config_error(
                "kms_key_id wraps the keys of a keyring secret: give keyring_secret too",
            ));
        }
        // Read once, here: a forked child builds its store from this keyring, not from whatever the
        // environment holds by then.
        let keys = match (keyring_secret, keys) {
            (Some(name), _) => KeysConfig::secret(name)
                .kms_key_id(kms_key_id)
                .allow_unbound_keys(allow_unbound_keyring),
            (None, Some(text)) => KeysConfig::keyring(Keyring::parse(&text).map_err(raise)?),
            (None, None) => KeysConfig::keyring(Keyring::from_env().map_err(raise)?),
        };
        let cache_ttl = match cache_ttl_seconds {
            // None: the off switch it was when no cache was the default.
            None => None,
            Some(0.0) => None,
            Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
            Some(_) => {
                return Err(config_error(
                    "cache_ttl_seconds must be a positive number of seconds, or 0 for no cache",
                ));
            }
        };
        let refresh_ahead = match refresh_ahead_seconds {
            // None: the off switch it was when off was the default.
            None => None,
            Some(0.0) => None,
            Some(s)
                if s.is_finite()
                    && s > refresh::SDK_MARGIN.as_secs_f64()
                    && s <= MAX_REFRESH_MARGIN.as_secs_f64() =>
            {
                Some(Duration::from_secs_f64(s))
            }
            // Past the manager's longest margin a token would be refreshed on every request (Zoho's
            // live an hour): refused here, not left to fail quietly on every find.
            Some(_) => {
                return Err(config_error(format!(
                    "refresh_ahead_seconds must be more than the {} s before expiry at which the SDK \
                     refreshes by itself and at most {} (the default, 60, suits Zoho's tokens), or 0 to \
                     leave refreshing to the SDK in each process (a single-process app)",
                    refresh::SDK_MARGIN.as_secs(),
                    MAX_REFRESH_MARGIN.as_secs()
                )));
            }
        };
        let recovery_window = match recovery_window_days {
            0 => RecoveryWindow::Immediate,
            days => RecoveryWindow::Days(u8::try_from(days).map_err(|_| {
                config_error(format!(
                    "recovery_window_days={days} is outside the 7 to 30 Secrets Manager allows; \
                     use 0 to delete at once"
                ))
            })?),
        };
        let store = Self {
            config: Config {
                prefix,
                keys,
                endpoint_url,
                region,
                cache_ttl,
                recovery_window,
                refresh_ahead,
            },
            live: Mutex::new(None),
        };
        // Build now, so a bad prefix, window or ZOHO_TOKEN_STORE_KEYS fails here, not on first use.
        store.live(py).map_err(raise)?;
        Ok(store)
    }

    /// The prefix of every secret name this store uses.
    #[getter]
    fn prefix(&self) -> &str {
        &self.config.prefix
    }

    /// The token matching `token` (a dict of the SDK's fields) as stored, with the caller's own values
    /// winning; None when nothing matches. With `accounts_url` (the SDK environment's) and refreshing
    /// ahead on, a token about to expire is refreshed first (see `refresh.rs`), and a token this process
    /// got from Zoho but could not save yet is handed out (and saved again) in place of the store's.
    #[pyo3(signature = (token, accounts_url=None))]
    fn find_token<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyDict>,
        accounts_url: Option<String>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let query = token_from(token)?;
        let found = self.run_fresh(py, |store, refresher| async move {
            let (Some(refresher), Some(url)) = (refresher, accounts_url) else {
                return store.find_token(&query).await;
            };
            // The caller's own values win the answer, as find_token promises.
            let answer = |token: OAuthToken| {
                let mut answer = query.clone();
                answer.fill_from(&token);
                answer
            };
            if let Some(kept) = refresher.unsaved(&query, &url).await {
                return Ok(Some(answer(kept)));
            }
            let found = store.find_token(&query).await?;
            Ok(match found {
                // Zoho revoked the stored refresh token and the caller brings a grant: a new sign-in,
                // exchanged once for the fleet; its token replaces the revoked one.
                // If that exchange fails (a spent grant), the revocation is the answer: the SDK's own
                // exchange of the same grant would only be refused again.
                Some(found)
                    if signs_in(&query) && found.refusal.is_some_and(|r| r.is_revoked()) =>
                {
                    match refresher.sign_in(&query, &url).await? {
                        Some(token) => Some(answer(token)),
                        None => {
                            return Err(zoho_token_store::Error::TokenRevoked {
                                user: found.user_name.clone(),
                            });
                        }
                    }
                }
                // Only a token whose access token comes from the store can be helped by refreshing:
                // the caller's own access token wins the answer anyway.
                Some(found) if query.access_token.is_none() => {
                    refresher.freshen(found, &url).await?.map(answer)
                }
                Some(found) => Some(found),
                // A grant nothing is stored for yet: exchanged once for the fleet (see refresh.rs), so
                // the SDK finds a token and does not exchange it again in every process.
                None if signs_in(&query) => refresher.sign_in(&query, &url).await?.map(answer),
                None => None,
            })
        })?;
        found.map(|t| to_py(py, &t)).transpose()
    }

    /// Saves as the SDK's stores do (see `SecretsManagerStore::merge_and_save_token`); returns the
    /// token as written, id included.
    fn save_token<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut token = token_from(token)?;
        let saved = self.run(py, |store| async move {
            store.merge_and_save_token(&mut token).await.map(|()| token)
        })?;
        to_py(py, &saved)
    }

    /// Deletes the token with this id; whether one was there.
    fn delete_token(&self, py: Python<'_>, id: String) -> PyResult<bool> {
        self.run(py, |store| async move { store.remove_token(&id).await })
    }

    /// Every token under the prefix; fails naming any entry it cannot read.
    fn get_tokens<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let tokens = self.run(py, |store| async move { store.get_tokens().await })?;
        tokens.iter().map(|t| to_py(py, t)).collect()
    }

    /// Deletes every token under the prefix, and nothing else.
    fn delete_tokens(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |store| async move { store.delete_tokens().await })
    }

    /// The token with this id, or None; refreshed first as in `find_token`.
    #[pyo3(signature = (id, accounts_url=None))]
    fn find_token_by_id<'py>(
        &self,
        py: Python<'py>,
        id: String,
        accounts_url: Option<String>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let found = self.run_fresh(py, |store, refresher| async move {
            let found = store.find_token_by_id(&id).await?;
            Ok(match (found, refresher, accounts_url) {
                (Some(found), Some(refresher), Some(url)) => refresher.freshen(found, &url).await?,
                (found, _, _) => found,
            })
        })?;
        found.map(|t| to_py(py, &t)).transpose()
    }

    /// The service calls this process's store has made, by operation.
    fn calls(&self, py: Python<'_>) -> PyResult<BTreeMap<String, u64>> {
        self.run(py, |store| async move { Ok(store.calls().snapshot()) })
    }

    /// Sets the call counts back to zero.
    fn reset_calls(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |store| async move {
            store.calls().reset();
            Ok(())
        })
    }

    fn __repr__(&self) -> String {
        format!("SecretsManagerTokenStore(prefix={:?})", self.config.prefix)
    }
}

/// Runs the operator tool `zoho-token-store` (the Rust crate's, not a second implementation) with
/// `argv` (the program name first); its exit code. The GIL is released while it runs.
#[pyfunction]
fn cli(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| zoho_token_store::cli::run(argv))
}

/// The module `zoho_token_store._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // The store's `tracing` events (never a secret) go to Python `logging`, under `zoho_token_store.*`
    // logger names; the AWS SDK's (hundreds of lines a call at DEBUG) only when asked for. A logger set
    // already (the module imported twice) is kept.
    let aws = std::env::var_os(AWS_LOGS_ENV_VAR).is_some_and(|v| v == "1");
    let _ = pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?
        .filter(if aws {
            log::LevelFilter::Trace
        } else {
            log::LevelFilter::Off
        })
        .filter_target("zoho_token_store".to_owned(), log::LevelFilter::Trace)
        .install();
    m.add_class::<Store>()?;
    m.add_function(wrap_pyfunction!(cli, m)?)?;
    m.add("StoreError", m.py().get_type::<StoreError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
