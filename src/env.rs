//! The environment variables this crate reads, by name: on the ground floor, so the error type can name
//! them in its messages without importing what reads them.

/// The environment variable [`Keyring::from_env`](crate::Keyring::from_env) reads.
pub const KEYS_ENV_VAR: &str = "ZOHO_TOKEN_STORE_KEYS";
