//! The crate's one error type.
//!
//! Variants are failure classes a caller can act on. None of them carries secret bytes: tokens, client
//! secrets and keys never reach an error message, and crypto failures are deliberately opaque (they say
//! *which* secret and key failed, never why at the byte level).

use std::error::Error as StdError;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token breaks one of the Zoho SDK's validity rules, or cannot be stored as given.
    #[error("invalid token: {reason}")]
    InvalidToken {
        /// What is wrong and how to fix it. Never contains a secret value.
        reason: String,
    },

    /// A store or keyring option is invalid (prefix, token id, key material, key id).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong and how to fix it. Never contains key material.
        reason: String,
    },

    /// The ciphertext did not authenticate: the secret was tampered with, copied from another secret, or
    /// the key with this id is not the key it was written with.
    #[error("cannot decrypt secret `{secret}` with key `{key_id}`: tampered, moved, or wrong key")]
    Decrypt {
        /// Name of the secret whose value failed to decrypt.
        secret: String,
        /// Key id named in the secret's envelope.
        key_id: String,
    },

    /// The secret was written with a key id that the keyring does not hold.
    #[error(
        "secret `{secret}` was written with key `{key_id}`, which the keyring does not hold; add that key to the keyring"
    )]
    UnknownKeyId {
        /// Name of the secret.
        secret: String,
        /// Key id named in the secret's envelope.
        key_id: String,
    },

    /// A secret under the store's prefix is not a token envelope this crate can read (foreign or corrupt).
    #[error(
        "secret `{secret}` under the store's prefix is not a readable token ({reason}); move it out of the prefix or restore it"
    )]
    CorruptSecret {
        /// Name of the offending secret.
        secret: String,
        /// What is wrong with it, without its contents.
        reason: String,
    },

    /// The keyring could not be loaded or changed: a missing or malformed keyring secret, or a KMS key
    /// that is missing, disabled, or not the one the keys were wrapped with.
    #[error("key source: {reason}")]
    KeySource {
        /// What is wrong and how to fix it. Never contains key material.
        reason: String,
        /// The underlying failure, if any.
        #[source]
        source: Option<Box<dyn StdError + Send + Sync>>,
    },

    /// A data key cannot be retired while tokens are still encrypted under it.
    #[error("key `{key_id}` still encrypts {tokens} token(s); run reencrypt first")]
    KeyInUse {
        /// The key id.
        key_id: String,
        /// How many tokens use it.
        tokens: usize,
    },

    /// A call to AWS failed.
    #[error("AWS {operation} failed{}", if *.retryable { " (retryable)" } else { "" })]
    Backend {
        /// The service operation, e.g. `GetSecretValue` or `kms:Decrypt`.
        operation: &'static str,
        /// Whether the failure is transient (throttling, 5xx, timeout, connection): retrying may succeed.
        retryable: bool,
        /// The SDK's error.
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl Error {
    pub(crate) fn invalid_token(reason: impl Into<String>) -> Self {
        Self::InvalidToken {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_config(reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(secret: &str, reason: impl Into<String>) -> Self {
        Self::CorruptSecret {
            secret: secret.to_owned(),
            reason: reason.into(),
        }
    }

    /// Whether retrying the same operation may succeed (only ever true for [`Error::Backend`]).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Backend {
                retryable: true,
                ..
            }
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
