//! One Tokio runtime per process, created on first use and again after `fork`.
//!
//! A forked child (gunicorn with `--preload`, multiprocessing) inherits the parent's runtime as memory
//! only: its worker threads were not copied, so it must not be used, nor dropped (dropping waits for
//! those threads). The child leaks it and makes its own. The caller's asyncio loop is never touched:
//! calls block the calling thread, with the GIL released, while the runtime's own threads do the I/O.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::runtime::{Builder, Runtime};
use zoho_token_store::Error;

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

/// This process's runtime.
///
/// Takes the GIL token because its lock must only be taken by a thread that holds the GIL (and is, here,
/// for a moment): Python forks holding the GIL, so a child never inherits the lock held.
pub(crate) fn get(_gil: pyo3::Python<'_>) -> zoho_token_store::Result<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    match slot.take() {
        Some((owner, runtime)) if owner == pid => {
            *slot = Some((owner, runtime.clone()));
            return Ok(runtime);
        }
        // The parent's, inherited through fork: its threads are gone here.
        Some((_, inherited)) => std::mem::forget(inherited),
        None => {}
    }
    let runtime = Arc::new(
        Builder::new_multi_thread()
            // I/O-bound: two threads keep many concurrent calls moving on a small machine.
            .worker_threads(2)
            .thread_name("zoho-token-store")
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidConfig {
                reason: format!("cannot start the I/O runtime: {e}"),
            })?,
    );
    *slot = Some((pid, runtime.clone()));
    Ok(runtime)
}
