//! The Python binding's native half, `zoho_token_store._native`: one `Store` class over the crate's
//! [`SdkStore`], token conversions, errors, and the process's Tokio runtime.
//!
//! Every rule of the store, and every calling convention the Zoho SDKs share (options and their checks,
//! merge-and-save, refreshing ahead and the fleet's sign-in, unknown ids), lives in the Rust crate
//! (`zoho_token_store::sdk`, shared with the Node package); this crate converts and wires, and keeps a
//! store per process across `fork`. Tokens cross as dicts of strings (the SDK's own field names,
//! `expires_in` as epoch milliseconds); the Python package turns them into the SDK's `OAuthToken`
//! objects.

mod convert;
mod runtime;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use zeroize::Zeroizing;
use zoho_token_store::sdk::{SdkConfig, SdkOptions, SdkStore};
use zoho_token_store::{Api, Error};

use crate::convert::{to_py, token_from};

create_exception!(
    _native,
    StoreError,
    PyException,
    "A store operation failed: args are (kind, message, retryable)."
);

/// Set to `1` to have the AWS SDK's own log events reach Python `logging` too.
const AWS_LOGS_ENV_VAR: &str = "ZOHO_TOKEN_STORE_AWS_LOGS";

/// The store this process uses, with the runtime that drives its calls: built in the process that uses
/// it, because after `fork` the parent's AWS connections (and the runtime tasks that drive them) do not
/// exist in the child.
#[derive(Clone)]
struct Live {
    pid: u32,
    runtime: Arc<tokio::runtime::Runtime>,
    store: Arc<SdkStore>,
}

/// A token store in AWS Secrets Manager (the Python package's `SecretsManagerTokenStore` wraps it).
#[pyclass(frozen, module = "zoho_token_store._native")]
struct Store {
    /// What a store is built from, kept so a forked child can build its own.
    config: SdkConfig,
    /// Locked only by a thread that holds the GIL, and never across a call or a GIL release: Python
    /// forks holding the GIL, so a child never inherits this lock held by a thread it does not have.
    live: Mutex<Option<Live>>,
}

impl Store {
    /// This process's store, built on first use in each process.
    fn live(&self, py: Python<'_>) -> zoho_token_store::Result<Live> {
        let pid = std::process::id();
        if let Some(live) = self.installed(pid) {
            return Ok(live);
        }
        let runtime = runtime::get(py)?;
        // Built without the GIL (loading the AWS configuration may wait on the network), then installed
        // under it; a thread that raced this one and installed first wins, and this copy is dropped.
        let store = Arc::new(py.detach(|| runtime.block_on(self.config.connect()))?);
        let built = Live {
            pid,
            runtime,
            store,
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
    fn run<T, F>(&self, py: Python<'_>, op: impl FnOnce(Arc<SdkStore>) -> F + Send) -> PyResult<T>
    where
        F: Future<Output = zoho_token_store::Result<T>>,
        T: Send,
    {
        let live = self.live(py).map_err(raise)?;
        py.detach(|| live.runtime.block_on(op(live.store.clone())))
            .map_err(raise)
    }
}

/// The crate's error as a `StoreError(kind, message, retryable)`. The message is the error's, worded
/// for Python (options as keyword arguments, never a Rust path), which never holds a secret.
fn raise(error: Error) -> PyErr {
    StoreError::new_err((
        error.kind(),
        error.message(Api::Python),
        error.is_retryable(),
    ))
}

#[pymethods]
impl Store {
    /// See `SecretsManagerTokenStore` in the Python package for the parameters (their types are
    /// checked there; None for a number means its default, 0 off).
    #[new]
    #[pyo3(signature = (
        prefix, keys=None, keyring_secret=None, kms_key_id=None, endpoint_url=None, region=None,
        cache_ttl_seconds=None, recovery_window_days=None, allow_unbound_keyring=false,
        refresh_ahead_seconds=None
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
        recovery_window_days: Option<f64>,
        allow_unbound_keyring: bool,
        refresh_ahead_seconds: Option<f64>,
    ) -> PyResult<Self> {
        let mut options = SdkOptions::new(Api::Python);
        options.prefix = Some(prefix);
        options.keys = keys.map(Zeroizing::new);
        options.keyring_secret = keyring_secret;
        options.kms_key_id = kms_key_id;
        options.allow_unbound_keyring = allow_unbound_keyring;
        options.endpoint_url = endpoint_url;
        options.region = region;
        options.cache_ttl_seconds = cache_ttl_seconds;
        options.recovery_window_days = recovery_window_days;
        options.refresh_ahead_seconds = refresh_ahead_seconds;
        let store = Self {
            config: options.check().map_err(raise)?,
            live: Mutex::new(None),
        };
        // Build now, so a bad prefix fails here, not on first use.
        store.live(py).map_err(raise)?;
        Ok(store)
    }

    /// The prefix of every secret name this store uses.
    #[getter]
    fn prefix(&self) -> &str {
        self.config.prefix()
    }

    /// Whether found tokens are refreshed ahead (the package then passes the SDK's accounts URL).
    #[getter]
    fn refreshes_ahead(&self) -> bool {
        self.config.refreshes_ahead()
    }

    /// The stored token `token` (a dict of the SDK's fields) matches, with the caller's own values
    /// winning; None when nothing matches (see `SdkStore::find_token`).
    #[pyo3(signature = (token, accounts_url=None))]
    fn find_token<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyDict>,
        accounts_url: Option<String>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let query = token_from(token)?;
        let found = self.run(py, |store| async move {
            store.find_token(&query, accounts_url.as_deref()).await
        })?;
        found.map(|t| to_py(py, &t)).transpose()
    }

    /// Saves as the SDK's stores do (see `SdkStore::save_token`); returns the token as written, id
    /// included.
    fn save_token<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyDict>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut token = token_from(token)?;
        let saved = self.run(py, |store| async move {
            store.save_token(&mut token).await.map(|()| token)
        })?;
        to_py(py, &saved)
    }

    /// Deletes the token with this id; an unknown id is refused (`NotFound`).
    fn delete_token(&self, py: Python<'_>, id: String) -> PyResult<()> {
        self.run(py, |store| async move { store.delete_token(&id).await })
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

    /// The token with this id, refreshed first as in `find_token`; an unknown id is refused
    /// (`NotFound`).
    #[pyo3(signature = (id, accounts_url=None))]
    fn find_token_by_id<'py>(
        &self,
        py: Python<'py>,
        id: String,
        accounts_url: Option<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let found = self.run(py, |store| async move {
            store.find_token_by_id(&id, accounts_url.as_deref()).await
        })?;
        to_py(py, &found)
    }

    /// The service calls this process's store has made, by operation.
    fn calls(&self, py: Python<'_>) -> PyResult<BTreeMap<String, u64>> {
        self.run(py, |store| async move { Ok(store.calls()) })
    }

    /// Sets the call counts back to zero.
    fn reset_calls(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |store| async move {
            store.reset_calls();
            Ok(())
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "SecretsManagerTokenStore(prefix={:?})",
            self.config.prefix()
        )
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
