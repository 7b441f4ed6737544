//! Key rotation over a whole store: which keys are in use, re-encryption under the primary key,
//! re-tagging under the current index key, and retiring a key nobody uses.
//!
//! Every bulk operation is resumable and idempotent: each token is rewritten on its own, its old value
//! stays readable until the new one replaces it (older keys remain in the keyring), and a rerun only
//! touches what is not yet done.

use std::collections::BTreeMap;
use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt, stream};
use tokio::sync::Mutex;
use tokio::time::{Interval, MissedTickBehavior};

use super::versions::{self, Cas};
use super::{Raw, SecretsManagerStore, State, tags_agree};
use crate::error::{Error, Result};
use crate::lease::CLOCK_SKEW;

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
    /// Tokens deleted since the listing (by an operator or another process): nothing was written to
    /// them, so they stay deleted.
    pub deleted: usize,
}

/// A client-side pace for writes, shared by all workers of one bulk operation.
pub(crate) struct RateLimiter(Mutex<Interval>);

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

pub(crate) enum Outcome {
    Changed,
    Unchanged,
    Skipped,
    Deleted,
    /// Another store's token (whose prefix extends this one's): not counted.
    NotOurs,
}

/// What [`SecretsManagerStore::retag_from_value`] does on a disagreement.
pub(crate) enum Retag<'a> {
    /// Write the tags (at the limiter's pace, if any).
    Write(Option<&'a RateLimiter>),
    /// Only report it.
    Check,
}

/// Rounds of "write the tags, check the value did not change underneath" before a token that keeps
/// changing is left to its writers (and counted as skipped).
const RETAG_ROUNDS: usize = 4;

/// What a key-usage scan found.
#[derive(Default)]
struct KeyScan {
    /// Tokens per key id, by their current values.
    current: BTreeMap<String, usize>,
    /// Pending rotation versions per key id.
    pending: BTreeMap<String, usize>,
    /// Tokens the listing showed whose values were gone when read (deleted meanwhile, or in the
    /// listing's lag).
    vanished: Vec<String>,
    /// The tokens whose values it read.
    read: std::collections::BTreeSet<String>,
}

impl SecretsManagerStore {
    /// How many tokens each data key encrypts, read from the envelope headers of their current values (no
    /// decryption). [`retire_key`](Self::retire_key) also looks at the pending versions of rotations
    /// under way and at tokens in their recovery window.
    ///
    /// # Errors
    /// A backend failure, or a secret under the prefix that is not an envelope (named).
    pub async fn key_usage(&self) -> Result<BTreeMap<String, usize>> {
        Ok(self.key_scan().await?.current)
    }

    /// Key ids in use by current values and by pending rotation versions, and the tokens the listing
    /// showed whose values were gone by the time they were read.
    async fn key_scan(&self) -> Result<KeyScan> {
        let listed = self.list_tokens().await?;
        let mut scan = KeyScan::default();
        let fetched = self.fetch_listed(&listed).await?;
        for raw in &fetched {
            *scan.current.entry(raw.key_id()?.to_owned()).or_insert(0) += 1;
        }
        scan.read = fetched.iter().map(|raw| raw.name.clone()).collect();
        scan.vanished = listed
            .iter()
            .filter(|l| !fetched.iter().any(|raw| raw.name == l.name))
            .map(|l| l.name.clone())
            .collect();
        for entry in listed.iter().filter(|l| l.pending) {
            if let Some(raw) = self.read_raw_stage(&entry.name, "AWSPENDING").await? {
                *scan.pending.entry(raw.key_id()?.to_owned()).or_insert(0) += 1;
            }
        }
        Ok(scan)
    }

    /// This store's tokens in their recovery window: those the listing says are (it lags), and, read by
    /// name, those that may be although listed live (a token deleted in the last minutes): any the scan
    /// saw vanish, and any this listing shows live that the scan did not read. Each listing lags on its
    /// own, so either may be the one that still shows the token.
    async fn in_recovery_window(&self, scan: &KeyScan) -> Result<usize> {
        let (mut names, live) = self.names_in_recovery_window().await?;
        let unread = live.into_iter().filter(|name| !scan.read.contains(name));
        let suspects: std::collections::BTreeSet<String> =
            scan.vanished.iter().cloned().chain(unread).collect();
        for name in suspects {
            if let State::Deleted(tags) = self.describe(&name).await?
                && self.claims(&tags)
            {
                names.insert(name);
            }
        }
        Ok(names.len())
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
                let Some(token) = self.decode(&mut ring, &raw).await? else {
                    return Ok(Outcome::NotOurs);
                };
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
                    match versions::put_if_current(&self.client, &raw.name, value, expected).await?
                    {
                        Cas::Written => Outcome::Changed,
                        Cas::Conflict => Outcome::Skipped,
                        Cas::Gone => Outcome::Deleted,
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
    /// Every token is checked against its own `DescribeSecret` (never only against the listing, which
    /// lags), and its tags are written only while its value is still the version they were computed
    /// from: a token refreshed meanwhile is read again and tagged from its new value, so a slow re-tag
    /// never points a lookup back at an old refresh or access token.
    ///
    /// # Errors
    /// A backend failure, or an unreadable secret (named).
    pub async fn retag(&self, options: &BulkOptions) -> Result<BulkReport> {
        let raws = self.all_raw().await?;
        self.bulk(raws, options, |raw, limiter| async move {
            self.retag_from_value(raw, Retag::Write(Some(&limiter)))
                .await
        })
        .await
    }

    /// Brings one secret's tags in line with its current value, compare-and-swap style: describe, and
    /// if the current version is still the one `raw` holds, write the tags computed from it; then
    /// describe again, and repeat from a fresh read if the value changed meanwhile. With
    /// [`Retag::Check`], only says whether the tags agree (`Unchanged`) or not (`Changed`).
    pub(crate) async fn retag_from_value(&self, mut raw: Raw, mode: Retag<'_>) -> Result<Outcome> {
        let mut wrote = false;
        for _ in 0..RETAG_ROUNDS {
            let Some((tags, current)) = self.describe_current(&raw.name).await? else {
                return Ok(Outcome::Deleted);
            };
            if current.is_none() || current != raw.version_id {
                // The value changed since it was read: tag from the new one.
                match self.read_raw(&raw.name).await? {
                    Some(fresh) => raw = fresh,
                    None => return Ok(Outcome::Deleted),
                }
                continue;
            }
            let mut ring = self.keys.keyring().await?;
            let Some(token) = self.decode(&mut ring, &raw).await? else {
                return Ok(Outcome::NotOurs);
            };
            let wanted = self.tags_for(&ring, &token);
            if tags_agree(&tags, &wanted) {
                return Ok(if wrote {
                    Outcome::Changed
                } else {
                    Outcome::Unchanged
                });
            }
            let Retag::Write(limiter) = mode else {
                return Ok(Outcome::Changed);
            };
            if let Some(limiter) = limiter {
                limiter.acquire().await;
            }
            self.retag_secret(&raw.name, &tags, &wanted).await?;
            wrote = true;
            if let Some(cache) = &self.cache {
                // Its cached tags are the old ones now.
                cache.remove(&raw.name);
            }
        }
        Ok(Outcome::Skipped)
    }

    /// Retires data key `key_id`: the last step of a data-key rotation, safe with a fleet of processes.
    ///
    /// Refused while the key is primary; while its demotion is too recent for every process to have
    /// seen it (the key source's staleness bound, plus clock skew and the listing lag, so the scan
    /// below sees every token a stale process wrote); and while a usage scan, made now, finds any token
    /// under it. Then the key source drops it (a [`SecretKeySource`](crate::SecretKeySource) removes it
    /// from its secret). For a [`Keyring`](crate::Keyring) fixed at start-up, the source cannot tell
    /// when every process was deployed with the new primary: deploy that first (the README's two-step
    /// deploy), then run this, then remove the key from your configuration.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for the primary key or a key the ring does not hold;
    /// [`Error::RotationTooSoon`] with how long to wait; [`Error::KeyInUse`] while any token is encrypted
    /// under the key; [`Error::KeyMayBeInUse`] while a rotation's pending version uses it, or tokens in
    /// their recovery window (whose key cannot be read) may; a backend or key-source failure.
    pub async fn retire_key(&self, key_id: &str) -> Result<()> {
        let ring = self.keys.keyring().await?;
        // Checks primary and presence before any service call.
        ring.as_ref().clone().without_key(key_id)?;
        self.settled(
            &format!("key `{key_id}`"),
            self.keys.demoted_at(key_id).await?,
        )?;
        let scan = self.key_scan().await?;
        let KeyScan {
            current, pending, ..
        } = &scan;
        let tokens = current.get(key_id).copied().unwrap_or(0);
        if tokens > 0 {
            return Err(Error::KeyInUse {
                key_id: key_id.to_owned(),
                tokens,
            });
        }
        if let Some(&secrets) = pending.get(key_id) {
            return Err(Error::KeyMayBeInUse {
                key_id: key_id.to_owned(),
                secrets,
                reason: "a Secrets Manager rotation left a pending version under it".into(),
                fix: "let the rotation finish (the pending version becomes current; then re-encrypt) or \
                      cancel it, then retire"
                    .into(),
            });
        }
        // A deleted token may be restored; its value cannot be read until then, so nothing tells
        // which key it needs.
        let deleted = self.in_recovery_window(&scan).await?;
        if deleted > 0 {
            return Err(Error::KeyMayBeInUse {
                key_id: key_id.to_owned(),
                secrets: deleted,
                reason: "in their recovery window, AWS returns no value to tell which key they need, and \
                         a restored one would be unreadable for good"
                    .into(),
                fix: "wait until their recovery window ends, or delete them for good (`zoho-token-store \
                      delete --force <id>`, or DeleteSecret with ForceDeleteWithoutRecovery), then retire"
                    .into(),
            });
        }
        self.keys.retire(key_id).await
    }

    /// Drops the previous index keys: the last step of an index-key rotation, safe with a fleet of
    /// processes. Refused while the new index key is not yet current in every process (see
    /// [`retire_key`](Self::retire_key) for the wait), and while a scan made now finds a token whose
    /// tags are not those of the current index key. Then the key source drops them.
    ///
    /// # Errors
    /// [`Error::RotationTooSoon`] with how long to wait; [`Error::IndexKeyInUse`] while tokens still need
    /// re-tagging; a backend or key-source failure.
    pub async fn drop_previous_index_keys(&self) -> Result<()> {
        let demoted = self.keys.index_demoted_at().await?;
        self.settled("the previous index key", demoted)?;
        // Each token's own tags (DescribeSecret, not the lagging listing) against its value at the same
        // version; a token whose value keeps changing counts as not yet re-tagged, erring on the side of
        // refusing.
        let report = self
            .bulk(
                self.all_raw().await?,
                &BulkOptions::default(),
                |raw, _| async move { self.retag_from_value(raw, Retag::Check).await },
            )
            .await?;
        let stale = report.changed + report.skipped;
        if stale > 0 {
            return Err(Error::IndexKeyInUse { tokens: stale });
        }
        self.keys.drop_previous_index_keys().await
    }

    /// Checks that a key change made at `demoted` has reached every process, and that listings made now
    /// show everything written before it: `Ok` when the key source cannot tell (a fixed keyring).
    fn settled(&self, what: &str, demoted: Option<SystemTime>) -> Result<()> {
        let (Some(bound), Some(demoted)) = (self.keys.staleness_bound(), demoted) else {
            return Ok(());
        };
        let ready_at = demoted + bound + CLOCK_SKEW + self.listing_lag;
        if SystemTime::now() < ready_at {
            return Err(Error::rotation_too_soon(what, ready_at));
        }
        Ok(())
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
        let mut report = BulkReport::default();
        for outcome in outcomes {
            let count = match outcome {
                Outcome::Changed => &mut report.changed,
                Outcome::Unchanged => &mut report.unchanged,
                Outcome::Skipped => &mut report.skipped,
                Outcome::Deleted => &mut report.deleted,
                Outcome::NotOurs => continue,
            };
            *count += 1;
            report.examined += 1;
        }
        Ok(report)
    }
}
