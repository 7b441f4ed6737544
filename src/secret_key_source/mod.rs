//! A keyring kept as its own Secrets Manager secret, optionally wrapped by AWS KMS.
//!
//! The secret holds a small JSON document: the index keys (current first) and the data keys (primary
//! first). Without KMS each key is stored as base64 and protected by Secrets Manager's own encryption and
//! IAM. With KMS each key is a data key generated under the KMS key (`GenerateDataKey`) and stored only
//! as its KMS ciphertext; loading unwraps each with `Decrypt`, and the plaintext keys live in memory only
//! (zeroized on drop). Every wrapped key carries an encryption context naming its role and id and the
//! keyring secret's name, so keys cannot be swapped between entries, nor moved into another keyring
//! that shares the KMS key (staging's into production's). Keyrings written before the name was bound
//! (document format 1) are refused until [`rebind`](SecretKeySource::rebind) re-wraps them once; during
//! the upgrade, [`allow_unbound_keys`](SecretKeySource::allow_unbound_keys) reads them.
//!
//! # Staleness
//! The ring is cached, and every process re-checks it at most every [`refresh_interval`] (default 5
//! minutes) with one `DescribeSecret` that compares the current version id (no `GetSecretValue`, no KMS
//! call unless the keyring changed). A token that names a key id the cache lacks reloads it at once. So
//! every process sees a keyring change within the interval: that is the bound the rotation steps wait
//! for.
//!
//! - A new data key ([`add_primary_key`]) is primary at once; processes still on the old ring keep
//!   writing under the old key until they re-check, and read the new key's tokens by reloading. The
//!   demoted key's demotion time is recorded, and
//!   [`SecretsManagerStore::retire_key`](crate::SecretsManagerStore::retire_key) refuses until every
//!   process must have seen it (interval + clock skew + listing lag) and a usage scan made after that
//!   finds the key unused.
//! - A new index key ([`add_index_key`]) is staged: every process uses it for lookups as soon as it sees
//!   it, and for writes only from a time recorded with it (now + interval + clock skew), when every
//!   process has it. So no process ever misses a token tagged or named under a key it does not know.
//!
//! Changes are compare-and-swap writes on the secret's current version, so two operators rotating at
//! once cannot lose a key.
//!
//! [`refresh_interval`]: SecretKeySource::refresh_interval
//! [`add_primary_key`]: SecretKeySource::add_primary_key
//! [`add_index_key`]: SecretKeySource::add_index_key

mod document;
mod wrapping;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::{Mutex, RwLock};

use crate::aws::error as aws_error;
use crate::aws::versions;
use crate::error::{Error, Result};
use crate::key_source::KeySource;
use crate::keyring::Keyring;
use wrapping::Kms;

/// How often a process re-checks the keyring secret by default.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// A [`KeySource`] that keeps the keyring in a Secrets Manager secret, optionally wrapped by KMS.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use zoho_token_store::{SecretKeySource, SecretsManagerStore};
///
/// let config = aws_config::load_from_env().await;
/// let sm = aws_sdk_secretsmanager::Client::new(&config);
/// let keys = SecretKeySource::new(sm.clone(), "zoho/keyring")
///     .with_kms(aws_sdk_kms::Client::new(&config), "alias/zoho-token-store");
/// keys.create("k1").await?; // once, when setting up
/// let store = SecretsManagerStore::builder(sm, keys).build()?;
/// # Ok(()) }
/// ```
pub struct SecretKeySource {
    client: aws_sdk_secretsmanager::Client,
    name: String,
    kms: Option<Kms>,
    refresh_interval: Duration,
    allow_unbound: bool,
    cached: RwLock<Option<Cached>>,
    // One reload at a time: many tokens naming a new key id cause one read of the keyring secret. It
    // also guards `missing`: key ids the secret lacked when last loaded (a token under a retired or
    // another keyring's key), with when, so such a token does not reload the keyring on every read.
    reloading: Mutex<HashMap<String, Instant>>,
}

/// Key ids remembered as missing at most; past it the memory starts afresh (it only saves calls).
const MISSING_KEYS_MAX: usize = 1_000;

/// The ring as last loaded, and when to look again.
struct Cached {
    ring: Arc<Keyring>,
    /// The keyring secret's version the ring was built from.
    version: String,
    /// When the version was last confirmed current.
    checked: Instant,
    /// When a staged index key becomes current: the ring must be rebuilt then, whatever the version.
    rebuild_at: Option<SystemTime>,
}

impl Cached {
    fn fresh(&self, interval: Duration) -> bool {
        self.checked.elapsed() < interval && !self.rebuild_due()
    }

    fn rebuild_due(&self) -> bool {
        self.rebuild_at.is_some_and(|at| SystemTime::now() >= at)
    }
}

impl fmt::Debug for SecretKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeySource")
            .field("secret", &self.name)
            .field("kms_key_id", &self.kms.as_ref().map(|k| &k.key_id))
            .finish_non_exhaustive()
    }
}

impl SecretKeySource {
    /// A source reading the keyring from the secret `secret_name`, with keys stored unwrapped.
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_name: impl Into<String>) -> Self {
        Self {
            client,
            name: secret_name.into(),
            kms: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            allow_unbound: false,
            cached: RwLock::new(None),
            reloading: Mutex::new(HashMap::new()),
        }
    }

    /// How often this process re-checks the keyring secret (default 5 minutes): the most a rotation
    /// waits for. Every process of a fleet, and the operator, must use the same interval or a shorter
    /// one, since the rotation steps wait for the operator's interval.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Wraps every key with the KMS key `kms_key_id` (id, ARN or alias): keys are generated by KMS and
    /// stored only as KMS ciphertext.
    pub fn with_kms(mut self, client: aws_sdk_kms::Client, kms_key_id: impl Into<String>) -> Self {
        self.kms = Some(Kms {
            client,
            key_id: kms_key_id.into(),
        });
        self
    }

    /// Also reads a KMS-wrapped keyring written before keys were bound to the keyring secret's name
    /// (format 1), whose keys could have been moved in from another keyring. For the upgrade only: run
    /// this version everywhere with it, [`rebind`](Self::rebind) once, then drop it.
    pub fn allow_unbound_keys(mut self, allow: bool) -> Self {
        self.allow_unbound = allow;
        self
    }

    /// The keyring secret's name.
    pub fn secret_name(&self) -> &str {
        &self.name
    }

    async fn describe(
        &self,
    ) -> Result<aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput> {
        self.client
            .describe_secret()
            .secret_id(&self.name)
            .send()
            .await
            .map_err(|e| aws_error::backend("DescribeSecret", e))
    }

    /// When the keyring secret last changed, as the service reports it: the demotion time of keys from
    /// keyrings written before demotion times were recorded (a safe upper bound).
    async fn last_changed(&self) -> Result<Option<SystemTime>> {
        Ok(self
            .describe()
            .await?
            .last_changed_date()
            .and_then(|d| SystemTime::try_from(*d).ok()))
    }

    async fn cache(&self, ring: Arc<Keyring>, version: String, rebuild_at: Option<SystemTime>) {
        *self.cached.write().await = Some(Cached {
            ring,
            version,
            checked: Instant::now(),
            rebuild_at,
        });
    }

    /// The cached ring if it is recent enough; else, when only the interval has run out, the cached ring
    /// after a `DescribeSecret` confirms the version is unchanged.
    async fn revalidate(&self) -> Result<Option<Arc<Keyring>>> {
        let version = match self.cached.read().await.as_ref() {
            Some(cached) if cached.fresh(self.refresh_interval) => {
                return Ok(Some(Arc::clone(&cached.ring)));
            }
            Some(cached) if !cached.rebuild_due() => cached.version.clone(),
            _ => return Ok(None),
        };
        let out = self.describe().await?;
        if versions::current_version(out.version_ids_to_stages()).as_deref() != Some(&version) {
            return Ok(None);
        }
        let mut cached = self.cached.write().await;
        Ok(cached.as_mut().map(|c| {
            c.checked = Instant::now();
            Arc::clone(&c.ring)
        }))
    }

    /// Loads the keyring from the service (bypassing the cache) and caches it.
    async fn load(&self) -> Result<Arc<Keyring>> {
        let (doc, version) = self.load_document().await?;
        let (ring, rebuild_at) = self.unwrap(&doc).await?;
        let ring = Arc::new(ring);
        self.cache(Arc::clone(&ring), version, rebuild_at).await;
        Ok(ring)
    }

    fn error(&self, reason: impl Into<String>, source: Option<crate::error::Source>) -> Error {
        Error::KeySource {
            reason: reason.into(),
            fix: None,
            source,
        }
    }

    /// A failure whose fix depends on the caller's API (see [`Fix`](crate::Fix)).
    fn error_with_fix(&self, reason: impl Into<String>, fix: crate::Fix) -> Error {
        Error::KeySource {
            reason: reason.into(),
            fix: Some(fix),
            source: None,
        }
    }

    fn malformed(&self, e: serde_json::Error) -> Error {
        // serde's message names a position and the expected shape, never the key material.
        self.error(
            format!("keyring secret `{}` is not a keyring document", self.name),
            Some(std::sync::Arc::new(e)),
        )
    }
}

#[async_trait]
impl KeySource for SecretKeySource {
    async fn keyring(&self) -> Result<Arc<Keyring>> {
        if let Some(cached) = self.cached.read().await.as_ref()
            && cached.fresh(self.refresh_interval)
        {
            return Ok(Arc::clone(&cached.ring));
        }
        let _one = self.reloading.lock().await;
        // Another task may have re-checked while this one waited.
        if let Some(ring) = self.revalidate().await? {
            return Ok(ring);
        }
        self.load().await
    }

    async fn reload(&self, key_id: &str) -> Result<Arc<Keyring>> {
        let mut missing = self.reloading.lock().await;
        if let Some(cached) = self.cached.read().await.as_ref() {
            // Another task may have reloaded while this one waited; or the key was missing from a load
            // within the refresh interval, and a keyring change shows within that interval anyway.
            let known_missing = missing
                .get(key_id)
                .is_some_and(|at| at.elapsed() < self.refresh_interval);
            if cached.ring.cipher(key_id).is_some() || known_missing {
                return Ok(Arc::clone(&cached.ring));
            }
        }
        let ring = self.load().await?;
        if ring.cipher(key_id).is_some() {
            missing.remove(key_id);
        } else {
            if missing.len() >= MISSING_KEYS_MAX {
                missing.clear();
            }
            missing.insert(key_id.to_owned(), Instant::now());
        }
        Ok(ring)
    }

    fn staleness_bound(&self) -> Option<Duration> {
        Some(self.refresh_interval)
    }

    async fn demoted_at(&self, key_id: &str) -> Result<Option<SystemTime>> {
        let (doc, _) = self.load_document().await?;
        match doc.keys.iter().position(|k| k.id == key_id) {
            None | Some(0) => Ok(None),
            Some(n) => match doc.keys[n].demoted_at_ms {
                Some(ms) => Ok(Some(UNIX_EPOCH + Duration::from_millis(ms))),
                None => self.last_changed().await,
            },
        }
    }

    async fn index_demoted_at(&self) -> Result<Option<SystemTime>> {
        let (doc, _) = self.load_document().await?;
        match (&doc.index_staged, doc.index.len()) {
            (Some(staged), _) => Ok(Some(staged.active_at())),
            (None, 1) => Ok(None),
            (None, _) => self.last_changed().await,
        }
    }

    async fn retire(&self, key_id: &str) -> Result<()> {
        self.update(|doc| {
            if doc.keys.first().is_some_and(|k| k.id == key_id) {
                return Err(Error::invalid_config(format!(
                    "key `{key_id}` is primary; it cannot be retired"
                )));
            }
            doc.keys.retain(|k| k.id != key_id);
            Ok(())
        })
        .await
    }

    async fn drop_previous_index_keys(&self) -> Result<()> {
        self.drop_index_keys().await
    }
}
