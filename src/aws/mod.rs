//! Helpers every AWS caller in the crate shares: failure classification and safe version writes.
//!
//! The store, its leases, the keyring secret and the rotation handler all classify failures and write
//! secret versions idempotently and by compare-and-swap through these.

pub(crate) mod error;
pub(crate) mod versions;

/// A secret's name from what the service reports as its id: the name itself, or its ARN
/// (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`).
pub(crate) fn secret_name_of(id: &str) -> &str {
    match id.split_once(":secret:") {
        Some((arn, tail)) if arn.starts_with("arn:") && tail.len() > 7 => &tail[..tail.len() - 7],
        _ => id,
    }
}
