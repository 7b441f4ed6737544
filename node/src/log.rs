//! Where the store's log lines go in Node.js: standard error, one line each (Lambda's and containers'
//! log collectors take it from there), as Python's package hands them to `logging`.
//!
//! What is logged is the crate's own few events: chiefly warnings an operator must see although the
//! call succeeded, such as a token Zoho issued that AWS refused to save (a missing IAM permission, kept
//! and saved later) or a refresh ahead that failed and was left to the SDK. None holds a secret (the
//! crate's rule, and `test/logging.test.js` checks it). `ZOHO_TOKEN_STORE_LOG` chooses, in `tracing`'s
//! filter syntax: unset, the store's warnings (`zoho_token_store=warn`); `off`, nothing; `info` or
//! `zoho_token_store=debug`, more; `aws_smithy_runtime=debug` adds the AWS SDK's own.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

/// The variable that sets the filter.
const VARIABLE: &str = "ZOHO_TOKEN_STORE_LOG";

/// Unless the variable says otherwise: the store's warnings and errors, nothing of the AWS SDK's.
const DEFAULT: &str = "zoho_token_store=warn";

/// Sends the crate's events to standard error from now on: the first store a process makes does it (the
/// addon is loaded once and shared by worker threads; later calls, or another subscriber set first,
/// change nothing). A malformed filter falls back to the default and says so, rather than silencing
/// the warnings.
pub(crate) fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(install);
}

fn install() {
    let (filter, malformed) = match std::env::var(VARIABLE) {
        // Set but empty (`ZOHO_TOKEN_STORE_LOG=`) is unset, not a filter that enables nothing.
        Ok(directives) if !directives.trim().is_empty() => match EnvFilter::try_new(&directives) {
            Ok(filter) => (filter, None),
            Err(e) => (EnvFilter::new(DEFAULT), Some(e)),
        },
        _ => (EnvFilter::new(DEFAULT), None),
    };
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time() // the log collector stamps each line
        .try_init()
        .is_ok();
    if let (true, Some(e)) = (installed, malformed) {
        tracing::warn!(target: "zoho_token_store", "{VARIABLE} is not a log filter ({e}): logging the store's warnings; e.g. {VARIABLE}=info, or off");
    }
}
