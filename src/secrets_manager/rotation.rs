//! Key rotation over a whole store: which keys are in use, re-encryption under the primary key,
//! re-tagging under the current index key, and retiring a key nobody uses.
//!
//! Every bulk operation is resumable and idempotent: each token is rewritten on its own, its old value
//! stays readable until the new one replaces it (older keys remain in the keyring), and a rerun only
//! touches what is not yet done.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use tokio::sync::Mutex;
use tokio::time::{Interval, MissedTickBehavior};

use super::{Raw, SecretsManagerStore, versions};
use crate::error::{Error, Result};
use crate::index;

/// How far a bulk operation has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Tokens handled so far.
    pub done: usize,
    /// Tokens to handle in all.
    pub total: usize,
}

/// Options for [`SecretsManagerStore::reencrypt`] and [`SecretsManagerStore::retag`].
#[derive(Clone)]
#[must_use]
pub struct BulkOptions {
    concurrency: NonZeroUsize,
    writes_per_second: NonZeroU32,
    progress: Option<Arc<dyn Fn(Progress) + Send + Sync>>,
}

impl Default for BulkOptions {
    /// 4 tokens at a time and at most 40 writes per second: under the account's 50 per second for
    /// `PutSecretValue`/`UpdateSecretVersionStage` and for tagging, leaving room for the application.
    fn default() -> Self {
        Self {
            concurrency: NonZeroUsize::new(4).unwrap_or(NonZeroUsize::MIN),
            writes_per_second: NonZeroU32::new(40).unwrap_or(NonZeroU32::MIN),
            progress: None,
        }
    }
}

impl BulkOptions {
    /// How many tokens are worked on at once.
    pub fn concurrency(mut self, concurrency: NonZeroUsize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// The most write calls sent per second, across all workers.
    pub fn writes_per_second(mut self, rate: NonZeroU32) -> Self {
        self.writes_per_second = rate;
        self
    }

    /// Called after each token with how far the operation has come.
    pub fn on_progress(mut self, progress: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(progress));
        self
    }
}

impl fmt::Debug for BulkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkOptions")
            .field("concurrency", &self.concurrency)
            .field("writes_per_second", &self.writes_per_second)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What a bulk operation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkReport {
    /// Tokens looked at.
    pub examined: usize,
    /// Tokens rewritten (re-encrypted or re-tagged).
    pub changed: usize,
    /// Tokens that were already as wanted.
    pub unchanged: usize,
    /// Tokens another writer changed meanwhile; they were left as that writer wrote them (a rerun
    /// picks them up if they still need it).
    pub skipped: usize,
}

/// A client-side pace for writes, shared by all workers of one bulk operation.
struct RateLimiter(Mutex<Interval>);

impl RateLimiter {
    fn per_second(rate: NonZeroU32) -> Self {
        let mut interval = tokio::time::interval(Duration::from_secs(1) / rate.get());
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self(Mutex::new(interval))
    }

    async fn acquire(&self) {
        self.0.lock().await.tick().await;
    }
}

enum Outcome {
    Changed,
    Unchanged,
    Skipped,
}

impl SecretsManagerStore {
    /// How many tokens each data key encrypts, read from the envelope headers (no decryption).
    ///
    /// # Errors
    /// A backend failure, or a secret under the prefix that is not an envelope (named).
    pub async fn key_usage(&self) -> Result<BTreeMap<String, usize>> {
        let mut usage = BTreeMap::new();
        for raw in self.all_raw().await? {
            *usage.entry(raw.key_id()?.to_owned()).or_insert(0) += 1;
        }
        Ok(usage)
    }

    /// Re-encrypts every token that is not under the primary key, so older keys can be retired.
    ///
    /// Each token is decrypted with the key it names and written back under the primary key with a
    /// compare-and-swap on its current version: if the application saves that token meanwhile, its save
    /// wins and the token is counted as skipped. Interrupted or failed runs lose nothing (every token stays
    /// readable with the keyring throughout) and a rerun finishes the job.
    ///
    /// # Errors
    /// A backend failure (the tokens done so far stay done), or an unreadable secret (named).
    pub async fn reencrypt(&self, options: &BulkOptions) -> Result<BulkReport> {
        let raws = self.all_raw().await?;
        let ring = self.keys.keyring().await?;
        let primary = ring.primary_key_id().to_owned();
        self.bulk(raws, options, |raw, limiter| {
            let primary = primary.clone();
            async move {
                if raw.key_id()? == primary {
                    return Ok(Outcome::Unchanged);
                }
                let mut ring = self.keys.keyring().await?;
                let token = self.decode(&mut ring, &raw).await?;
                let value = self.encrypt(&ring, &raw.name, &token)?;
                let Some(expected) = raw.version_id.as_deref() else {
                    return Err(Error::corrupt(
                        &raw.name,
                        "the service reported no current version",
                    ));
                };
                // Two writes: the staged value, then the stage move.
                limiter.acquire().await;
                limiter.acquire().await;
                Ok(
                    if versions::put_if_current(&self.client, &raw.name, value, expected).await? {
                        Outcome::Changed
                    } else {
                        Outcome::Skipped
                    },
                )
            }
        })
        .await
    }

    /// Re-tags every token under the current index key: the second step of an index-key rotation
    /// ([`Keyring::with_new_index_key`](crate::Keyring::with_new_index_key)). Lookups keep working
    /// throughout because they search under every index key in the ring; once this returns, drop the
    /// previous index key. Idempotent: a rerun only touches tokens whose tags differ.
    ///
    /// # Errors
    /// A backend failure, or an unreadable secret (named).
    pub async fn retag(&self, options: &BulkOptions) -> Result<BulkReport> {
        let tags: HashMap<String, Vec<(String, String)>> = self
            .list_owned()
            .await?
            .into_iter()
            .map(|l| (l.name, l.tags))
            .collect();
        let tags = &tags;
        let raws = self.all_raw().await?;
        self.bulk(raws, options, |raw, limiter| async move {
            let mut ring = self.keys.keyring().await?;
            let token = self.decode(&mut ring, &raw).await?;
            let wanted = index::tags_for(&ring, &token);
            let Some(current) = tags.get(&raw.name) else {
                // Created after the listing (or unmarked): its writer tagged it under the current key.
                return Ok(Outcome::Skipped);
            };
            if current.iter().filter(|t| wanted.contains(t)).count() == wanted.len() {
                return Ok(Outcome::Unchanged);
            }
            limiter.acquire().await;
            self.retag_secret(&raw.name, current, &wanted).await?;
            if let Some(cache) = &self.cache {
                // Its cached tags are the old ones now.
                cache.remove(&raw.name);
            }
            Ok(Outcome::Changed)
        })
        .await
    }

    /// Checks that no token uses `key_id` and that it is not primary, then tells the key source to drop
    /// it (a [`SecretKeySource`](crate::SecretKeySource) removes it from its secret; for a fixed
    /// [`Keyring`](crate::Keyring), remove it from your configuration).
    ///
    /// # Errors
    /// [`Error::KeyInUse`] while any token is encrypted under the key; [`Error::InvalidConfig`] for the
    /// primary key or a key the ring does not hold; a backend or key-source failure.
    pub async fn retire_key(&self, key_id: &str) -> Result<()> {
        let ring = self.keys.keyring().await?;
        // Checks primary and presence before any service call.
        ring.as_ref().clone().without_key(key_id)?;
        let tokens = self.key_usage().await?.get(key_id).copied().unwrap_or(0);
        if tokens > 0 {
            return Err(Error::KeyInUse {
                key_id: key_id.to_owned(),
                tokens,
            });
        }
        self.keys.retire(key_id).await
    }

    /// Runs `work` over every raw value with bounded concurrency, reporting progress.
    async fn bulk<F, Fut>(
        &self,
        raws: Vec<Raw>,
        options: &BulkOptions,
        work: F,
    ) -> Result<BulkReport>
    where
        F: Fn(Raw, Arc<RateLimiter>) -> Fut,
        Fut: Future<Output = Result<Outcome>>,
    {
        let total = raws.len();
        let limiter = Arc::new(RateLimiter::per_second(options.writes_per_second));
        let done = AtomicUsize::new(0);
        let outcomes: Vec<Outcome> = stream::iter(raws)
            .map(|raw| {
                let fut = work(raw, Arc::clone(&limiter));
                let (done, progress) = (&done, options.progress.clone());
                async move {
                    let outcome = fut.await?;
                    let done = done.fetch_add(1, Ordering::SeqCst) + 1;
                    if let Some(progress) = progress {
                        progress(Progress { done, total });
                    }
                    Ok::<_, Error>(outcome)
                }
            })
            .buffer_unordered(options.concurrency.get())
            .try_collect()
            .await?;
        let mut report = BulkReport {
            examined: total,
            ..BulkReport::default()
        };
        for outcome in outcomes {
            match outcome {
                Outcome::Changed => report.changed += 1,
                Outcome::Unchanged => report.unchanged += 1,
                Outcome::Skipped => report.skipped += 1,
            }
        }
        Ok(report)
    }
}
