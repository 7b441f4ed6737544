//! The crate's one error type.
//!
//! Variants are failure classes a caller can act on. None of them carries secret bytes: tokens, client
//! secrets and keys never reach an error message, and crypto failures are deliberately opaque (they say
//! *which* secret and key failed, never why at the byte level).

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

// `SaveAfterRefresh` carries the refreshed token as data, and a configuration failure its fix; every
// other variant holds names and reasons only, so the error stays on the ground floor.
use crate::fix::{self, Api, Fix};
use crate::token::OAuthToken;

/// A shared underlying cause (shared so one failed refresh can be handed to every waiter).
pub type Source = Arc<dyn StdError + Send + Sync>;

/// Everything that can go wrong in this crate.
#[derive(Clone, Debug, thiserror::Error)]
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

    /// AWS would not return a secret's value: a per-secret failure inside a successful batch read, such
    /// as `AccessDeniedException` (the caller may list the secret but not read it) or
    /// `DecryptionFailure` (its KMS key is disabled, deleted, or not usable by the caller). Whole-store
    /// jobs name it and go on, as they do for a secret that is not a readable token.
    #[error("AWS does not return the value of secret `{secret}` ({code}): {fix}")]
    SecretUnavailable {
        /// Name (or ARN) of the secret.
        secret: String,
        /// The service's error code for it.
        code: String,
        /// What to check or change so it can be read.
        fix: String,
    },

    /// The keyring could not be loaded or changed: a missing or malformed keyring secret, or a KMS key
    /// that is missing, disabled, or not the one the keys were wrapped with.
    #[error("key source: {reason}{}", fix::suffix(.fix.as_ref(), Api::Rust))]
    KeySource {
        /// What is wrong (and how to fix it, when [`KeySource::fix`](Error::KeySource::fix) is None).
        /// Never contains key material.
        reason: String,
        /// The fix, when it depends on the API the caller uses (see [`Error::message`]).
        fix: Option<Fix>,
        /// The underlying failure, if any.
        #[source]
        source: Option<Source>,
    },

    /// A data key cannot be retired while tokens are still encrypted under it.
    #[error(
        "key `{key_id}` still encrypts {tokens} token(s); re-encrypt them under the primary key first (`zoho-token-store rotate`{})",
        rust_method(Api::Rust, "SecretsManagerStore::reencrypt")
    )]
    KeyInUse {
        /// The key id.
        key_id: String,
        /// How many tokens use it.
        tokens: usize,
    },

    /// A data key cannot be retired while secrets the usage scan cannot clear may need it: tokens in their
    /// recovery window (AWS returns no value until they are restored), or a rotation's pending version.
    #[error("key `{key_id}` may still be needed by {secrets} secret(s): {reason}; {fix}")]
    KeyMayBeInUse {
        /// The key id.
        key_id: String,
        /// How many secrets.
        secrets: usize,
        /// Why they may need it.
        reason: String,
        /// What to do before retiring.
        fix: String,
    },

    /// Previous index keys cannot be dropped while tokens are still tagged under them.
    #[error(
        "{tokens} token(s) are not yet tagged under the current index key; re-tag them first (`zoho-token-store retag`{})",
        rust_method(Api::Rust, "SecretsManagerStore::retag")
    )]
    IndexKeyInUse {
        /// How many tokens still need re-tagging.
        tokens: usize,
    },

    /// A key change is too recent for a rotation step: processes that loaded the keyring before it may
    /// still use the old key, for up to the key source's refresh interval (plus clock skew and the
    /// service's listing lag, so the usage scan sees what they wrote).
    #[error(
        "{what} was demoted too recently: processes that loaded the keyring before that may still use it; retry in {ready_in} s, when a fresh usage scan can prove it unused"
    )]
    RotationTooSoon {
        /// Which key (`key \`k1\``, `the previous index key`).
        what: String,
        /// Seconds until the step can run.
        ready_in: u64,
    },

    /// The keyring's index key is not the one the store's tokens were tagged with, so every lookup would
    /// miss: the keyring or the prefix points at another store.
    #[error("{}", wrong_index_key(prefix, Api::Rust))]
    WrongIndexKey {
        /// The store's prefix.
        prefix: String,
    },

    /// No token has this id: what the Zoho SDKs' own stores answer when asked to find or delete an id
    /// they do not hold (their `Given Id not found`).
    #[error(
        "Given Id not found: no token with id `{id}` is stored under `{prefix}`; check the id, or the prefix the token was saved under"
    )]
    TokenNotFound {
        /// The id asked for.
        id: String,
        /// The store's prefix.
        prefix: String,
    },

    /// A call to AWS failed.
    #[error("AWS {operation} failed: {reason}{}{}", fix::suffix(.fix.as_ref(), Api::Rust), if *.retryable { " (retryable)" } else { "" })]
    Backend {
        /// The service operation, e.g. `GetSecretValue` or `kms:Decrypt`.
        operation: &'static str,
        /// Whether the failure is transient (throttling, 5xx, timeout, connection): retrying may succeed.
        /// A request that could not be sent for want of configuration (region, credentials, endpoint)
        /// is not.
        retryable: bool,
        /// Whether the service refused the call for its request rate (a throttling error code): back off
        /// before retrying (retryable is then true too).
        throttled: bool,
        /// What went wrong and how to fix it, in one line (never the request).
        reason: String,
        /// The fix, when it depends on the API the caller uses (see [`Error::message`]).
        fix: Option<Fix>,
        /// The SDK's error.
        #[source]
        source: Source,
    },

    /// Zoho refused the grant or refresh token: invalid, already used, expired or revoked. Retrying
    /// cannot help; the user must authorize the app again.
    #[error("Zoho rejected the {what} ({code}); the user must authorize the app again")]
    InvalidGrant {
        /// `"grant token"` or `"refresh token"`.
        what: &'static str,
        /// Zoho's error code, e.g. `invalid_code`.
        code: String,
    },

    /// A grant exchange got no usable answer (a timeout, a lost connection, a server error), so whether
    /// Zoho used the single-use code is unknown. It is never retried: a retry would burn the code, and
    /// orphan the refresh token Zoho may have issued. The user must sign in again for a new code.
    #[error(
        "the grant exchange got no answer from Zoho ({reason}); the grant token is single-use and may be spent: sign the user in again"
    )]
    GrantExchangeUnconfirmed {
        /// What failed (never a token).
        reason: String,
        /// The transport error, if any.
        #[source]
        source: Option<Source>,
    },

    /// Zoho refused the client credentials.
    #[error(
        "Zoho rejected the client credentials ({code}); check the client id, secret and redirect URL"
    )]
    InvalidClient {
        /// Zoho's error code, e.g. `invalid_client`.
        code: String,
    },

    /// Zoho is throttling token requests (`Access Denied`: at most 10 access tokens per refresh token per
    /// 10 minutes). With `until`, the fleet leaves this refresh token alone until then (see
    /// [`ZohoRefusal`](crate::ZohoRefusal)); retrying after it may succeed.
    #[error("Zoho is throttling token requests for this refresh token (Access Denied: at most 10 access tokens per 10 minutes); {}", retry_when(.until))]
    Throttled {
        /// When the fleet may ask Zoho again, when known.
        until: Option<std::time::SystemTime>,
    },

    /// Zoho refused the user's refresh token (revoked by the user or an admin, or replaced by the
    /// user's 21st sign-in): the stored token is marked so, and no process refreshes it again. Only a
    /// new sign-in helps, and it clears the mark.
    #[error("Zoho refused the refresh token of {} (revoked or replaced); sign the user in again: a new grant token stores a working token", user.as_deref().map_or_else(|| "this token".to_owned(), |u| format!("user `{u}`")))]
    TokenRevoked {
        /// The user the token belongs to, when known.
        user: Option<String>,
    },

    /// Zoho's accounts server could not be reached or failed, after bounded retries.
    #[error("cannot reach Zoho accounts: {reason}")]
    ZohoUnavailable {
        /// What failed (never a token).
        reason: String,
        /// The transport error, if any.
        #[source]
        source: Option<Source>,
    },

    /// Zoho answered something this crate does not understand.
    #[error("unexpected answer from Zoho: {reason}")]
    ZohoProtocol {
        /// What was wrong with it (never its body).
        reason: String,
    },

    /// A token was refreshed but saving it failed. The fresh token is attached so the current request
    /// can still proceed; it is NOT persisted, so the next request refreshes again.
    #[error("token was refreshed but could not be saved: {source}")]
    SaveAfterRefresh {
        /// The refreshed token.
        token: Box<OAuthToken>,
        /// Why saving failed.
        #[source]
        source: Box<Error>,
    },

    /// The token was deleted (by an operator's `delete` or `purge`, or another process's revoke) while this
    /// operation held a copy of it. Nothing was written, so the deletion stands; a new sign-in (grant
    /// token) saves a new token as usual.
    #[error(
        "token `{id}` was deleted while this operation held a copy; nothing was written, so the deletion stands (sign the user in again to store a new token)"
    )]
    TokenDeleted {
        /// The deleted token's id.
        id: String,
    },

    /// Another process holds the refresh lease for this token and it did not become fresh in time.
    #[error("waited {waited:?} for another process to refresh token `{id}`; it did not finish")]
    RefreshTimeout {
        /// The token id.
        id: String,
        /// How long this process waited.
        waited: Duration,
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

    /// The error for a rotation step that must wait until every process has seen the keyring change.
    pub(crate) fn rotation_too_soon(what: &str, ready_at: SystemTime) -> Self {
        Self::RotationTooSoon {
            what: what.to_owned(),
            ready_in: ready_at
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                // Whole seconds, rounded up: what an operator reads and waits for.
                .as_secs()
                .saturating_add(1),
        }
    }

    pub(crate) fn corrupt(secret: &str, reason: impl Into<String>) -> Self {
        Self::CorruptSecret {
            secret: secret.to_owned(),
            reason: reason.into(),
        }
    }

    /// Whether this says a stored entry cannot be read as a token (foreign, tampered, wrong or unknown
    /// key), as opposed to the service or the keys failing: whole-store jobs name such an entry and go on.
    pub fn is_unreadable_entry(&self) -> bool {
        matches!(
            self,
            Self::CorruptSecret { .. }
                | Self::Decrypt { .. }
                | Self::UnknownKeyId { .. }
                | Self::SecretUnavailable { .. }
        )
    }

    /// The failure class as a stable name: the variant's name (`"InvalidToken"`, `"Backend"`,
    /// `"TokenDeleted"`, ...), except that a service that throttled the call is `"Throttled"`, whether
    /// it was Zoho ([`Error::Throttled`]) or AWS ([`Error::Backend`] with `throttled`): both mean "back
    /// off". For logs, metrics and bindings to other languages (the Python package's `e.kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidToken { .. } => "InvalidToken",
            Self::InvalidConfig { .. } => "InvalidConfig",
            Self::Decrypt { .. } => "Decrypt",
            Self::UnknownKeyId { .. } => "UnknownKeyId",
            Self::CorruptSecret { .. } => "CorruptSecret",
            Self::SecretUnavailable { .. } => "SecretUnavailable",
            Self::KeySource { .. } => "KeySource",
            Self::KeyInUse { .. } => "KeyInUse",
            Self::KeyMayBeInUse { .. } => "KeyMayBeInUse",
            Self::IndexKeyInUse { .. } => "IndexKeyInUse",
            Self::RotationTooSoon { .. } => "RotationTooSoon",
            Self::WrongIndexKey { .. } => "WrongIndexKey",
            Self::Backend {
                throttled: true, ..
            }
            | Self::Throttled { .. } => "Throttled",
            Self::Backend { .. } => "Backend",
            Self::InvalidGrant { .. } => "InvalidGrant",
            Self::TokenRevoked { .. } => "TokenRevoked",
            Self::GrantExchangeUnconfirmed { .. } => "GrantExchangeUnconfirmed",
            Self::InvalidClient { .. } => "InvalidClient",
            Self::ZohoUnavailable { .. } => "ZohoUnavailable",
            Self::ZohoProtocol { .. } => "ZohoProtocol",
            Self::SaveAfterRefresh { .. } => "SaveAfterRefresh",
            Self::TokenDeleted { .. } => "TokenDeleted",
            Self::TokenNotFound { .. } => "NotFound",
            Self::RefreshTimeout { .. } => "RefreshTimeout",
        }
    }

    /// The message as a caller of `api` reads it: the same as `Display` (which is for Rust), except that
    /// a fix naming a setting or a method names it as `api` does (`kms_key_id=` in Python, `kmsKeyId`
    /// in JavaScript, `--kms-key-id` on the command line), never a Rust path outside Rust.
    pub fn message(&self, api: Api) -> String {
        match self {
            Self::KeySource {
                reason,
                fix: Some(f),
                ..
            } => format!("key source: {reason}{}", fix::suffix(Some(f), api)),
            Self::Backend {
                operation,
                retryable,
                reason,
                fix: Some(f),
                ..
            } => format!(
                "AWS {operation} failed: {reason}{}{}",
                fix::suffix(Some(f), api),
                if *retryable { " (retryable)" } else { "" }
            ),
            Self::KeyInUse { key_id, tokens } => format!(
                "key `{key_id}` still encrypts {tokens} token(s); re-encrypt them under the primary key \
                 first (`zoho-token-store rotate`{})",
                rust_method(api, "SecretsManagerStore::reencrypt")
            ),
            Self::IndexKeyInUse { tokens } => format!(
                "{tokens} token(s) are not yet tagged under the current index key; re-tag them first \
                 (`zoho-token-store retag`{})",
                rust_method(api, "SecretsManagerStore::retag")
            ),
            Self::WrongIndexKey { prefix } => wrong_index_key(prefix, api),
            _ => self.to_string(),
        }
    }

    /// Whether retrying the same operation later may succeed: transient AWS failures, Zoho throttling
    /// or unavailability, and a refresh that another process did not finish in time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend { retryable, .. } => *retryable,
            Self::Throttled { .. } | Self::ZohoUnavailable { .. } | Self::RefreshTimeout { .. } => {
                true
            }
            Self::SaveAfterRefresh { source, .. } => source.is_retryable(),
            _ => false,
        }
    }
}

/// The keyring does not index the tokens under `prefix`: which keyring to use instead, named as `api`
/// configures one.
fn wrong_index_key(prefix: &str, api: Api) -> String {
    let keys = crate::env::KEYS_ENV_VAR;
    let where_keys_are = match api {
        Api::Rust => format!("{keys}, or its keyring secret"),
        api => format!(
            "{} or {keys}, or its keyring secret: {}",
            api.setting("keys"),
            api.setting("keyring_secret")
        ),
    };
    format!(
        "the keyring's index key is not the one the tokens under `{prefix}` were tagged with, so no \
         lookup could find them; use this store's keyring ({where_keys_are}) or the prefix this \
         keyring belongs to"
    )
}

/// `", or <method>"` for a Rust caller, who can call it; nothing for the others.
fn rust_method(api: Api, method: &str) -> String {
    match api {
        Api::Rust => format!(", or {method}"),
        _ => String::new(),
    }
}

/// The end of a throttling message: when to try again.
fn retry_when(until: &Option<std::time::SystemTime>) -> String {
    match until {
        Some(at) => {
            let wait = at
                .duration_since(std::time::SystemTime::now())
                .map_or(0, |d| d.as_secs());
            let ms = crate::token::epoch_ms(*at);
            format!(
                "no process asks again before {} (in {wait} s)",
                crate::refusal::rfc3339(ms)
            )
        }
        None => "back off before trying again".to_owned(),
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
