//! How a [`SecretsManagerStore`](super::SecretsManagerStore) is configured.

use std::num::NonZeroUsize;
use std::time::Duration;

use std::sync::Arc;

use aws_sdk_secretsmanager::Client;

use super::SecretsManagerStore;
use crate::calls::CallCounter;
use crate::error::{Error, Result};
use crate::id::{MAX_ID_LEN, is_id_char};
use crate::key_source::KeySource;

/// The prefix used when none is set.
pub const DEFAULT_PREFIX: &str = "zoho/oauth/";

/// How far behind the service's filtered listings may be (`ListSecrets`, filtered
/// `BatchGetSecretValue`): AWS documents that they "might not reflect changes from the last five minutes".
pub const DEFAULT_LISTING_LAG: Duration = Duration::from_secs(5 * 60);

/// Secrets Manager's longest secret name (kept to, so ARNs and partial-ARN lookups stay sane).
const MAX_NAME_LEN: usize = 256;

/// What `delete_token` does to a token's secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoveryWindow {
    /// Schedule deletion after this many days (7 to 30, as the service allows); until then an
    /// operator can restore the secret. The store treats it as deleted at once.
    Days(u8),
    /// Delete without recovery (`ForceDeleteWithoutRecovery`).
    Immediate,
}

impl Default for RecoveryWindow {
    /// Seven days, the shortest window the service offers.
    fn default() -> Self {
        Self::Days(7)
    }
}

/// Builds a [`SecretsManagerStore`]; start with [`SecretsManagerStore::builder`].
#[derive(Debug)]
#[must_use]
pub struct SecretsManagerStoreBuilder {
    client: Client,
    keys: Arc<dyn KeySource>,
    prefix: String,
    recovery_window: RecoveryWindow,
    concurrency: NonZeroUsize,
    cache: Option<(NonZeroUsize, Duration)>,
    listing_lag: Duration,
}

impl SecretsManagerStoreBuilder {
    pub(super) fn new(client: Client, keys: Arc<dyn KeySource>) -> Self {
        Self {
            client,
            keys,
            prefix: DEFAULT_PREFIX.to_owned(),
            recovery_window: RecoveryWindow::default(),
            // Bulk deletes are bounded so a large store does not burst past the service's quotas.
            concurrency: NonZeroUsize::new(8).unwrap_or(NonZeroUsize::MIN),
            cache: None,
            listing_lag: DEFAULT_LISTING_LAG,
        }
    }

    /// The prefix of every secret name (default `zoho/oauth/`). Stores with different prefixes never see
    /// each other's tokens; give each test, app or environment its own.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// What deleting a token does (default: a 7-day recovery window).
    pub fn recovery_window(mut self, window: RecoveryWindow) -> Self {
        self.recovery_window = window;
        self
    }

    /// How many service calls bulk operations keep in flight (default 8).
    pub fn concurrency(mut self, concurrency: NonZeroUsize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Keeps up to `capacity` tokens in an in-process read cache for `ttl`: warm lookups by id, user,
    /// refresh, grant or access token make no service call (a save still asks for the secret's tags: another
    /// process may have changed them, and the index must follow the value written). Saves and deletes through this store update the cache at once; changes by other
    /// processes show after `ttl` at most, so keep it short (seconds) where several processes write.
    /// Off by default.
    pub fn cache(mut self, capacity: NonZeroUsize, ttl: Duration) -> Self {
        self.cache = Some((capacity, ttl));
        self
    }

    /// How far behind the service's filtered listings may be (default 5 minutes, as AWS documents).
    /// Rotation steps that must see every token written before a keyring change wait this much longer,
    /// so their scans cannot miss a secret the listing does not show yet. Lower it only for a backend
    /// whose listings are consistent (LocalStack in tests).
    pub fn listing_lag(mut self, lag: Duration) -> Self {
        self.listing_lag = lag;
        self
    }

    /// Checks the options and builds the store.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the prefix breaks Secrets Manager's name rules or is too long to
    /// leave room for ids, or the recovery window is outside 7 to 30 days.
    pub fn build(self) -> Result<SecretsManagerStore> {
        check_prefix(&self.prefix)?;
        if let RecoveryWindow::Days(days) = self.recovery_window
            && !(7..=30).contains(&days)
        {
            return Err(Error::invalid_config(format!(
                "recovery window of {days} days is outside the 7 to 30 Secrets Manager allows; use \
                 RecoveryWindow::Immediate to delete at once"
            )));
        }
        let calls = CallCounter::default();
        // Wrap the caller's client with our call counter; everything else (credentials, region, endpoint,
        // retry and timeout settings) is the caller's.
        let client = Client::from_conf(
            self.client
                .config()
                .to_builder()
                .interceptor(calls.interceptor())
                .build(),
        );
        Ok(SecretsManagerStore {
            client,
            keys: self.keys,
            prefix: self.prefix,
            recovery_window: self.recovery_window,
            concurrency: self.concurrency,
            listing_lag: self.listing_lag,
            calls,
            cache: self
                .cache
                .map(|(capacity, ttl)| super::cache::Cache::new(capacity, ttl)),
            index_key_checked: std::sync::atomic::AtomicBool::new(false),
            index_key_unseen_at: std::sync::Mutex::new(None),
            last_sweep: std::sync::Mutex::new(None),
        })
    }
}

pub(crate) fn check_prefix(prefix: &str) -> Result<()> {
    let max = MAX_NAME_LEN - MAX_ID_LEN;
    if prefix.is_empty() || prefix.len() > max {
        return Err(Error::invalid_config(format!(
            "prefix must be 1 to {max} characters (it leaves room for a {MAX_ID_LEN}-character id), got {}",
            prefix.len()
        )));
    }
    if let Some(bad) = prefix.chars().find(|c| !(is_id_char(*c) || *c == '/')) {
        return Err(Error::invalid_config(format!(
            "prefix `{}` contains {bad:?}; Secrets Manager names allow ASCII letters, digits and /_+=.@-",
            prefix.escape_default()
        )));
    }
    // A store keeps its refresh leases and lookup bridges under `<prefix>lease/` and `<prefix>recent/`:
    // a prefix ending that way would share names with another store's.
    if let Some(dir) = [super::lease::DIR, super::recent::DIR]
        .into_iter()
        .find(|dir| prefix.ends_with(dir))
    {
        return Err(Error::invalid_config(format!(
            "prefix `{prefix}` ends with `{dir}`, where the store with prefix `{}` keeps its own \
             secrets; choose another prefix",
            &prefix[..prefix.len() - dir.len()]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules() {
        for ok in ["zoho/oauth/", "a", "prod/crm-tokens/", &"p".repeat(192)] {
            check_prefix(ok).unwrap();
        }
        for (bad, why) in [
            ("", "1 to 192"),
            (&"p".repeat(193) as &str, "1 to 192"),
            ("zoho oauth/", "' '"),
            ("zoho/ö/", "'ö'"),
            ("zoho/lease/", "prefix `zoho/` keeps"),
            ("prod/zohorecent/", "prefix `prod/zoho` keeps"),
        ] {
            let err = check_prefix(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }
}
