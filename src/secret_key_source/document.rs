//! The keyring secret's document: its JSON, its versions, and changes to it.
//!
//! Its shape and format versions, reading and checking it, and changing it by compare-and-swap (create,
//! add a key, stage an index key, retire, rebind).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::SecretKeySource;
use super::wrapping::data_context;
use crate::aws::error as aws_error;
use crate::aws::versions::{self, Cas};
use crate::error::{Error, Result};
use crate::fix::Fix;
use crate::keyring::Keyring;
use crate::token::{epoch_ms, now_ms};

/// The document format written: 2 binds every wrapped key to the keyring secret's name.
pub(super) const FORMAT: u8 = 2;
/// Attempts at a compare-and-swap update before giving up.
pub(super) const UPDATE_ATTEMPTS: usize = 5;

#[derive(Serialize, Deserialize)]
pub(super) struct Document {
    pub(super) format: u8,
    #[serde(default)]
    pub(super) kms_key_id: Option<String>,
    /// Index keys, current first.
    pub(super) index: Vec<String>,
    /// A new index key, used for lookups at once and as the current key from `active_at_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) index_staged: Option<StagedIndexKey>,
    /// Data keys, primary first.
    pub(super) keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct StagedIndexKey {
    pub(super) key: String,
    /// When it becomes current (milliseconds since the epoch): once every process has seen it.
    pub(super) active_at_ms: u64,
}

impl StagedIndexKey {
    pub(super) fn active_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.active_at_ms)
    }

    pub(super) fn is_active(&self) -> bool {
        SystemTime::now() >= self.active_at()
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct StoredKey {
    pub(super) id: String,
    pub(super) key: String,
    /// When it stopped being primary (milliseconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) demoted_at_ms: Option<u64>,
}

impl SecretKeySource {
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
            let now = now_ms();
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
    pub(super) async fn drop_index_keys(&self) -> Result<()> {
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

    /// Binds the keys of a keyring written before they were bound to its name (format 1) to it: each is
    /// re-wrapped with KMS `ReEncrypt` (the plaintext never leaves KMS) and the document is written back
    /// with a compare-and-swap. Returns `false` when there was nothing to do (already bound, or not
    /// KMS-wrapped). Run it once, after every process runs a version that reads bound keyrings.
    ///
    /// # Errors
    /// [`Error::KeySource`] when the keyring is missing or malformed or KMS refuses; a backend failure.
    pub async fn rebind(&self) -> Result<bool> {
        let Some(kms) = &self.kms else {
            return Ok(false);
        };
        for _ in 0..UPDATE_ATTEMPTS {
            let (mut doc, version) = self.read_document(true).await?;
            if doc.format >= FORMAT {
                return Ok(false);
            }
            for stored in &mut doc.index {
                *stored = self.bind_key(kms, stored, "index").await?;
            }
            if let Some(staged) = &mut doc.index_staged {
                staged.key = self.bind_key(kms, &staged.key, "index").await?;
            }
            for stored in &mut doc.keys {
                stored.key = self
                    .bind_key(kms, &stored.key, &data_context(&stored.id))
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

    /// Reads the document and its current version.
    pub(super) async fn load_document(&self) -> Result<(Document, String)> {
        self.read_document(self.allow_unbound).await
    }

    /// Reads the document and its current version; a KMS-wrapped one whose keys are not bound to this
    /// secret's name only when `allow_unbound`.
    pub(super) async fn read_document(&self, allow_unbound: bool) -> Result<(Document, String)> {
        let out = match self
            .client
            .get_secret_value()
            .secret_id(&self.name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if aws_error::is_not_found(&e) => {
                return Err(self.error_with_fix(
                    format!("keyring secret `{}` does not exist", self.name),
                    Fix::CreateKeyring {
                        name: self.name.clone(),
                    },
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
            return Err(self.error_with_fix(
                format!(
                    "keyring secret `{}` was written before wrapped keys were bound to its name, so its keys \
                     could have been moved in from another keyring",
                    self.name
                ),
                Fix::RebindKeyring,
            ));
        }
        match (&doc.kms_key_id, &self.kms) {
            (Some(wrapped), None) => {
                return Err(self.error_with_fix(
                    format!("the keyring is wrapped by KMS key `{wrapped}`"),
                    Fix::UseKmsKey {
                        key: wrapped.clone(),
                    },
                ));
            }
            (None, Some(_)) => {
                return Err(self.error_with_fix("the keyring is not KMS-wrapped", Fix::NoKmsKey));
            }
            _ => {}
        }
        let version = out.version_id().unwrap_or_default().to_owned();
        Ok((doc, version))
    }

    /// Applies `change` to the freshest document and writes it back if nobody else did meanwhile.
    pub(super) async fn update(&self, change: impl Fn(&mut Document) -> Result<()>) -> Result<()> {
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
    pub(super) async fn write_if_current(&self, doc: &Document, version: &str) -> Result<bool> {
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
    pub(super) async fn unwrap(&self, doc: &Document) -> Result<(Keyring, Option<SystemTime>)> {
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
}
