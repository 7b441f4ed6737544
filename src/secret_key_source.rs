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

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use zeroize::Zeroizing;

use crate::aws::error as aws_error;
use crate::aws::versions::{self, Cas};
use crate::error::{Error, Result};
use crate::key_source::KeySource;
use crate::keyring::{KEY_LEN, Keyring};

/// Encryption-context key on every KMS-wrapped key: its role (`index`, `data:<id>`).
const CONTEXT_KEY: &str = "zoho-token-store";
/// Encryption-context key binding a wrapped key to the keyring secret it belongs to (format 2 on).
const KEYRING_CONTEXT_KEY: &str = "zoho-token-store:keyring";
/// The document format written: 2 binds every wrapped key to the keyring secret's name.
const FORMAT: u8 = 2;
/// Attempts at a compare-and-swap update before giving up.
const UPDATE_ATTEMPTS: usize = 5;
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
    // One reload at a time: many tokens naming a new key id cause one read of the keyring secret.
    reloading: Mutex<()>,
}

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

struct Kms {
    client: aws_sdk_kms::Client,
    key_id: String,
}

#[derive(Serialize, Deserialize)]
struct Document {
    format: u8,
    #[serde(default)]
    kms_key_id: Option<String>,
    /// Index keys, current first.
    index: Vec<String>,
    /// A new index key, used for lookups at once and as the current key from `active_at_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    index_staged: Option<StagedIndexKey>,
    /// Data keys, primary first.
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
struct StagedIndexKey {
    key: String,
    /// When it becomes current (milliseconds since the epoch): once every process has seen it.
    active_at_ms: u64,
}

impl StagedIndexKey {
    fn active_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.active_at_ms)
    }

    fn is_active(&self) -> bool {
        SystemTime::now() >= self.active_at()
    }
}

#[derive(Serialize, Deserialize)]
struct StoredKey {
    id: String,
    key: String,
    /// When it stopped being primary (milliseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    demoted_at_ms: Option<u64>,
}

fn epoch_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
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
            reloading: Mutex::new(()),
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

    /// The name wrapped keys are bound to: the secret's name, also when it is configured by ARN.
    fn bound_name(&self) -> &str {
        match self.name.split_once(":secret:") {
            // arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>
            Some((arn, tail)) if arn.starts_with("arn:") && tail.len() > 7 => {
                &tail[..tail.len() - 7]
            }
            _ => &self.name,
        }
    }

    /// Binds the keys of a keyring written before they were bound to its name (format 1) to it: each is
    /// re-wrapped with KMS `ReEncrypt` (the plaintext never leaves KMS) and the document is written back
    /// with a compare-and-swap. Returns `false` when there was nothing to do (already bound, or not
    /// KMS-wrapped). Run it once, after every process runs a version that reads bound keyrings.
    ///
    /// # Errors
    /// [`Error::KeySource`] when the keyring is missing or malformed or KMS refuses; a backend failure.
    pub async fn rebind(&self) -> Result<bool> {
        if self.kms.is_none() {
            return Ok(false);
        }
        for _ in 0..UPDATE_ATTEMPTS {
            let (mut doc, version) = self.read_document(true).await?;
            if doc.format >= FORMAT {
                return Ok(false);
            }
            for stored in &mut doc.index {
                *stored = self.bind_key(stored, "index").await?;
            }
            if let Some(staged) = &mut doc.index_staged {
                staged.key = self.bind_key(&staged.key, "index").await?;
            }
            for stored in &mut doc.keys {
                stored.key = self
                    .bind_key(&stored.key, &data_context(&stored.id))
                    .await?;
            }
            doc.format = FORMAT;
            if self.write_if_current(&doc, &version).await? {
                return Ok(true);
            }
        }
        Err(self.error(
            "the keyring secret kept changing while being rebound; try again",
            None,
        ))
    }

    /// One stored key re-wrapped by KMS with this keyring's name in its context (a key stored
    /// unwrapped has nothing to bind and is returned as it is).
    async fn bind_key(&self, stored: &str, context: &str) -> Result<String> {
        let Some(kms) = &self.kms else {
            return Ok(stored.to_owned());
        };
        let bytes = self.entry_bytes(stored, context)?;
        let out = kms
            .client
            .re_encrypt()
            .ciphertext_blob(Blob::new(bytes.to_vec()))
            .source_key_id(&kms.key_id)
            .source_encryption_context(CONTEXT_KEY, context)
            .destination_key_id(&kms.key_id)
            .destination_encryption_context(CONTEXT_KEY, context)
            .destination_encryption_context(KEYRING_CONTEXT_KEY, self.bound_name())
            .send()
            .await
            .map_err(|e| self.kms_error("kms:ReEncrypt", context, e))?;
        let wrapped = out
            .ciphertext_blob()
            .ok_or_else(|| self.error("KMS returned no ciphertext", None))?;
        Ok(BASE64.encode(wrapped.as_ref()))
    }

    /// A stored key entry's bytes (KMS ciphertext, or the key itself without KMS).
    fn entry_bytes(&self, stored: &str, context: &str) -> Result<Zeroizing<Vec<u8>>> {
        BASE64
            .decode(stored)
            .map(Zeroizing::new)
            .map_err(|_| self.error(format!("keyring entry `{context}` is not base64"), None))
    }

    /// The keyring secret's name.
    pub fn secret_name(&self) -> &str {
        &self.name
    }

    /// Creates the keyring secret with a fresh index key and one data key, `first_key_id`, as primary.
    ///
    /// # Errors
    /// [`Error::KeySource`] when the secret already exists or KMS refuses; a backend failure.
    pub async fn create(&self, first_key_id: &str) -> Result<()> {
        let (index, _) = self.new_key("index").await?;
        let (key, _) = self.new_key(&data_context(first_key_id)).await?;
        let doc = Document {
            // Unwrapped keys have nothing to bind: format 1 keeps older versions reading them.
            format: if self.kms.is_some() { FORMAT } else { 1 },
            kms_key_id: self.kms.as_ref().map(|k| k.key_id.clone()),
            index: vec![index],
            index_staged: None,
            keys: vec![StoredKey {
                id: first_key_id.to_owned(),
                key,
                demoted_at_ms: None,
            }],
        };
        // Validates the key id before anything is stored.
        let (ring, rebuild_at) = self.unwrap(&doc).await?;
        let json = Zeroizing::new(serde_json::to_string(&doc).map_err(|e| self.malformed(e))?);
        let version = match self
            .client
            .create_secret()
            .name(&self.name)
            .secret_string(json.as_str())
            .send()
            .await
        {
            Ok(out) => out.version_id().unwrap_or_default().to_owned(),
            Err(e) if aws_error::code(&e) == Some("ResourceExistsException") => {
                return Err(self.error(
                    format!("keyring secret `{}` already exists", self.name),
                    None,
                ));
            }
            Err(e) => return Err(aws_error::backend("CreateSecret", e)),
        };
        self.cache(Arc::new(ring), version, rebuild_at).await;
        Ok(())
    }

    /// Adds a new data key `key_id` and makes it primary (key rotation, step one), recording when the
    /// previous primary was demoted. Other processes pick it up when they first read a token written
    /// under it, and start writing with it within their refresh interval.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad or duplicate key id; a key-source or backend failure.
    pub async fn add_primary_key(&self, key_id: &str) -> Result<()> {
        let (key, _) = self.new_key(&data_context(key_id)).await?;
        self.update(|doc| {
            let now = epoch_ms(SystemTime::now());
            if let Some(previous) = doc.keys.first_mut() {
                previous.demoted_at_ms = Some(now);
            }
            doc.keys.insert(
                0,
                StoredKey {
                    id: key_id.to_owned(),
                    key: key.clone(),
                    demoted_at_ms: None,
                },
            );
            Ok(())
        })
        .await
    }

    /// Stages a new index key (index-key rotation, step one): every process uses it for lookups as soon
    /// as it sees it, and as the current key (for new tags and user-derived names) from the returned
    /// time on, once every process has seen it (refresh interval plus clock skew). Then run
    /// [`SecretsManagerStore::retag`](crate::SecretsManagerStore::retag), and finally
    /// [`SecretsManagerStore::drop_previous_index_keys`](crate::SecretsManagerStore::drop_previous_index_keys).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] while another index-key rotation is under way; a key-source or backend
    /// failure.
    pub async fn add_index_key(&self) -> Result<SystemTime> {
        let (key, _) = self.new_key("index").await?;
        let active_at = SystemTime::now() + self.refresh_interval + crate::lease::CLOCK_SKEW;
        self.update(|doc| {
            if doc.index_staged.is_some() || doc.index.len() > 1 {
                return Err(Error::invalid_config(
                    "an index-key rotation is already under way: run retag, then drop the previous index \
                     key, before adding another",
                ));
            }
            doc.index_staged = Some(StagedIndexKey {
                key: key.clone(),
                active_at_ms: epoch_ms(active_at),
            });
            Ok(())
        })
        .await?;
        Ok(active_at)
    }

    /// Removes every index key but the current one from the keyring secret. Refused while a staged key
    /// is not yet current. Call it through
    /// [`SecretsManagerStore::drop_previous_index_keys`](crate::SecretsManagerStore::drop_previous_index_keys),
    /// which first checks that every process has moved on and every token is re-tagged.
    async fn drop_index_keys(&self) -> Result<()> {
        self.update(|doc| {
            if let Some(staged) = doc.index_staged.take() {
                if !staged.is_active() {
                    return Err(Error::rotation_too_soon(
                        "the previous index key",
                        staged.active_at(),
                    ));
                }
                doc.index = vec![staged.key];
            }
            doc.index.truncate(1);
            Ok(())
        })
        .await
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

    /// Reads the document and its current version.
    async fn load_document(&self) -> Result<(Document, String)> {
        self.read_document(self.allow_unbound).await
    }

    /// Reads the document and its current version; a KMS-wrapped one whose keys are not bound to this
    /// secret's name only when `allow_unbound`.
    async fn read_document(&self, allow_unbound: bool) -> Result<(Document, String)> {
        let out = match self
            .client
            .get_secret_value()
            .secret_id(&self.name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if aws_error::is_not_found(&e) => {
                return Err(self.error(
                    format!("keyring secret `{}` does not exist; create it with SecretKeySource::create", self.name),
                    None,
                ));
            }
            Err(e) => return Err(aws_error::backend("GetSecretValue", e)),
        };
        let text = out
            .secret_string()
            .ok_or_else(|| self.error("the keyring secret has no SecretString", None))?;
        let doc: Document = serde_json::from_str(text).map_err(|e| self.malformed(e))?;
        if !(1..=FORMAT).contains(&doc.format) {
            return Err(self.error(
                format!(
                    "keyring format {} is not one this crate reads (1 to {FORMAT}); upgrade zoho-token-store",
                    doc.format
                ),
                None,
            ));
        }
        if doc.format < FORMAT && doc.kms_key_id.is_some() && !allow_unbound {
            return Err(self.error(
                format!(
                    "keyring secret `{}` was written before wrapped keys were bound to its name, so its keys \
                     could have been moved in from another keyring: once every process runs this version \
                     (reading it with allow_unbound_keys, or ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING=1), run \
                     `zoho-token-store rebind-keyring` (or SecretKeySource::rebind)",
                    self.name
                ),
                None,
            ));
        }
        match (&doc.kms_key_id, &self.kms) {
            (Some(wrapped), None) => {
                return Err(self.error(
                    format!("the keyring is wrapped by KMS key `{wrapped}`; configure SecretKeySource::with_kms"),
                    None,
                ));
            }
            (None, Some(_)) => {
                return Err(self.error(
                    "the keyring is not KMS-wrapped; remove with_kms or create a wrapped keyring",
                    None,
                ));
            }
            _ => {}
        }
        let version = out.version_id().unwrap_or_default().to_owned();
        Ok((doc, version))
    }

    /// Loads the keyring from the service (bypassing the cache) and caches it.
    async fn load(&self) -> Result<Arc<Keyring>> {
        let (doc, version) = self.load_document().await?;
        let (ring, rebuild_at) = self.unwrap(&doc).await?;
        let ring = Arc::new(ring);
        self.cache(Arc::clone(&ring), version, rebuild_at).await;
        Ok(ring)
    }

    /// Applies `change` to the freshest document and writes it back if nobody else did meanwhile.
    async fn update(&self, change: impl Fn(&mut Document) -> Result<()>) -> Result<()> {
        for _ in 0..UPDATE_ATTEMPTS {
            let (mut doc, version) = self.read_document(false).await?;
            change(&mut doc)?;
            if self.write_if_current(&doc, &version).await? {
                return Ok(());
            }
        }
        Err(self.error(
            "the keyring secret kept changing while being updated; try again",
            None,
        ))
    }

    /// Writes `doc` if the secret's current version is still `version` (and caches its ring); `false`
    /// when another writer changed it meanwhile.
    async fn write_if_current(&self, doc: &Document, version: &str) -> Result<bool> {
        // Unwrapping checks the new document (ids, lengths, primary) before it is stored.
        let (ring, rebuild_at) = self.unwrap(doc).await?;
        let json = serde_json::to_string(doc).map_err(|e| self.malformed(e))?;
        let written = versions::request_token(&self.name, &json);
        match versions::put_if_current(&self.client, &self.name, json, version).await? {
            Cas::Written => {
                self.cache(Arc::new(ring), written, rebuild_at).await;
                Ok(true)
            }
            Cas::Conflict => Ok(false),
            Cas::Gone => Err(self.error(
                format!(
                    "keyring secret `{}` was deleted while being updated",
                    self.name
                ),
                None,
            )),
        }
    }

    /// The keyring the document describes, unwrapping every key, and when it must be rebuilt (a staged
    /// index key that becomes current later). A staged key is current once active, else the last index
    /// key (looked up with, never written with).
    async fn unwrap(&self, doc: &Document) -> Result<(Keyring, Option<SystemTime>)> {
        let bound = doc.format >= FORMAT;
        let mut index = Vec::with_capacity(doc.index.len() + 1);
        for stored in &doc.index {
            index.push(self.unwrap_key(stored, "index", bound).await?);
        }
        let mut rebuild_at = None;
        if let Some(staged) = &doc.index_staged {
            let key = self.unwrap_key(&staged.key, "index", bound).await?;
            if staged.is_active() {
                index.insert(0, key);
            } else {
                index.push(key);
                rebuild_at = Some(staged.active_at());
            }
        }
        let mut keys = Vec::with_capacity(doc.keys.len());
        for stored in &doc.keys {
            keys.push((
                stored.id.as_str(),
                self.unwrap_key(&stored.key, &data_context(&stored.id), bound)
                    .await?,
            ));
        }
        let index: Vec<&[u8]> = index.iter().map(|k| k.as_slice()).collect();
        let keys: Vec<(&str, &[u8])> = keys.iter().map(|(id, k)| (*id, k.as_slice())).collect();
        Ok((Keyring::from_material(&index, &keys)?, rebuild_at))
    }

    async fn unwrap_key(
        &self,
        stored: &str,
        context: &str,
        bound: bool,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let bytes = self.entry_bytes(stored, context)?;
        let Some(kms) = &self.kms else {
            return Ok(bytes);
        };
        let request = kms
            .client
            .decrypt()
            .key_id(&kms.key_id)
            .ciphertext_blob(Blob::new(bytes.to_vec()))
            .encryption_context(CONTEXT_KEY, context);
        // A bound key opens only with this keyring's name: one moved in from another keyring fails.
        let request = if bound {
            request.encryption_context(KEYRING_CONTEXT_KEY, self.bound_name())
        } else {
            request
        };
        let out = request
            .send()
            .await
            .map_err(|e| self.kms_error("kms:Decrypt", context, e))?;
        let plain = out
            .plaintext()
            .ok_or_else(|| self.error("KMS returned no plaintext", None))?;
        Ok(Zeroizing::new(plain.as_ref().to_vec()))
    }

    /// A new random key: generated by KMS and stored wrapped, or generated here and stored as base64.
    async fn new_key(&self, context: &str) -> Result<(String, Zeroizing<Vec<u8>>)> {
        let Some(kms) = &self.kms else {
            let mut key = Zeroizing::new(vec![0u8; KEY_LEN]);
            OsRng.fill_bytes(&mut key);
            return Ok((BASE64.encode(&*key), key));
        };
        let out = kms
            .client
            .generate_data_key()
            .key_id(&kms.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, context)
            .encryption_context(KEYRING_CONTEXT_KEY, self.bound_name())
            .send()
            .await
            .map_err(|e| self.kms_error("kms:GenerateDataKey", context, e))?;
        let wrapped = out
            .ciphertext_blob()
            .ok_or_else(|| self.error("KMS returned no ciphertext", None))?;
        let plain = out
            .plaintext()
            .ok_or_else(|| self.error("KMS returned no plaintext", None))?;
        Ok((
            BASE64.encode(wrapped.as_ref()),
            Zeroizing::new(plain.as_ref().to_vec()),
        ))
    }

    fn error(&self, reason: impl Into<String>, source: Option<crate::error::Source>) -> Error {
        Error::KeySource {
            reason: reason.into(),
            source,
        }
    }

    fn malformed(&self, e: serde_json::Error) -> Error {
        // serde's message names a position and the expected shape, never the key material.
        self.error(
            format!("keyring secret `{}` is not a keyring document", self.name),
            Some(std::sync::Arc::new(e)),
        )
    }

    /// Turns a KMS failure into an error that says what to fix.
    fn kms_error<E>(
        &self,
        operation: &'static str,
        context: &str,
        e: SdkError<E, HttpResponse>,
    ) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let key = self.kms.as_ref().map_or("", |k| k.key_id.as_str());
        let reason = match aws_error::code(&e) {
            Some("NotFoundException") => {
                format!("KMS key `{key}` was not found; check the key id or alias and the region")
            }
            Some("InvalidCiphertextException" | "IncorrectKeyException") => format!(
                "KMS could not unwrap `{context}` of keyring secret `{}` with key `{key}`: it was wrapped under \
                 another KMS key or for another keyring secret, or the secret was altered",
                self.name
            ),
            Some("DisabledException" | "KMSInvalidStateException") => {
                format!("KMS key `{key}` is disabled or pending deletion; enable it")
            }
            Some("AccessDeniedException") => {
                format!("access to KMS key `{key}` was denied; grant {operation}")
            }
            _ => return aws_error::backend(operation, e),
        };
        self.error(reason, Some(std::sync::Arc::new(e)))
    }
}

fn data_context(key_id: &str) -> String {
    format!("data:{key_id}")
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
        let _one = self.reloading.lock().await;
        // Another task may have reloaded while this one waited.
        if let Some(cached) = self.cached.read().await.as_ref()
            && cached.ring.cipher(key_id).is_some()
        {
            return Ok(Arc::clone(&cached.ring));
        }
        self.load().await
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
