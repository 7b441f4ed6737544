//! Where a process finds its keys, as its operator configures it.
//!
//! The one choice between a keyring in memory and a keyring secret (KMS-wrapped or not) that the CLI,
//! the Python package and the rotation Lambda all make.

use std::sync::Arc;

use crate::env::{ALLOW_UNBOUND_KEYRING_ENV_VAR, KEYRING_SECRET_ENV_VAR, KMS_KEY_ID_ENV_VAR};
use crate::error::Result;
use crate::key_source::KeySource;
use crate::keyring::Keyring;
use crate::secret_key_source::SecretKeySource;

/// Where a process's keys are: a [`Keyring`] it holds, or a keyring secret that a
/// [`SecretKeySource`] reads. `Debug` shows key ids and names, never key material.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use zoho_token_store::{KeysConfig, SecretsManagerStore};
///
/// let config = aws_config::load_from_env().await;
/// // ZOHO_TOKEN_STORE_KEYRING_SECRET (and ZOHO_TOKEN_STORE_KMS_KEY_ID), else ZOHO_TOKEN_STORE_KEYS.
/// let keys = KeysConfig::from_env()?.key_source(&config);
/// let store = SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::new(&config), keys).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct KeysConfig {
    source: Source,
}

#[derive(Clone, Debug)]
enum Source {
    Keyring(Arc<Keyring>),
    Secret(KeyringSecret),
}

#[derive(Clone, Debug)]
struct KeyringSecret {
    name: String,
    kms_key_id: Option<String>,
    allow_unbound: bool,
}

impl KeyringSecret {
    /// The plain-or-KMS choice, made once for every front end.
    fn source(&self, aws: &aws_config::SdkConfig) -> SecretKeySource {
        let source = SecretKeySource::new(aws_sdk_secretsmanager::Client::new(aws), &self.name)
            .allow_unbound_keys(self.allow_unbound);
        match &self.kms_key_id {
            Some(key) => source.with_kms(aws_sdk_kms::Client::new(aws), key),
            None => source,
        }
    }
}

impl KeysConfig {
    /// Keys held in memory: a keyring given as text, or read from `ZOHO_TOKEN_STORE_KEYS`.
    pub fn keyring(keyring: impl Into<Arc<Keyring>>) -> Self {
        Self {
            source: Source::Keyring(keyring.into()),
        }
    }

    /// Keys kept in the keyring secret `name`, unwrapped unless [`kms_key_id`](Self::kms_key_id) names
    /// a KMS key.
    pub fn secret(name: impl Into<String>) -> Self {
        Self {
            source: Source::Secret(KeyringSecret {
                name: name.into(),
                kms_key_id: None,
                allow_unbound: false,
            }),
        }
    }

    /// The KMS key (id, ARN or alias) that wraps the keyring secret's keys; `None` for unwrapped keys.
    /// No effect on a keyring held in memory.
    pub fn kms_key_id(mut self, key: Option<String>) -> Self {
        if let Source::Secret(secret) = &mut self.source {
            secret.kms_key_id = key;
        }
        self
    }

    /// Also reads a KMS-wrapped keyring written before its keys were bound to its name (see
    /// [`SecretKeySource::allow_unbound_keys`]). No effect on a keyring held in memory.
    pub fn allow_unbound_keys(mut self, allow: bool) -> Self {
        if let Source::Secret(secret) = &mut self.source {
            secret.allow_unbound = allow;
        }
        self
    }

    /// From the environment: the keyring secret `ZOHO_TOKEN_STORE_KEYRING_SECRET` when it is set
    /// (KMS-wrapped with `ZOHO_TOKEN_STORE_KMS_KEY_ID`, read unbound with
    /// `ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING=1`), else the keyring in `ZOHO_TOKEN_STORE_KEYS`.
    ///
    /// # Errors
    /// As [`Keyring::from_env`], when no keyring secret is named.
    pub fn from_env() -> Result<Self> {
        Ok(match std::env::var(KEYRING_SECRET_ENV_VAR) {
            Ok(name) => Self::secret(name)
                .kms_key_id(std::env::var(KMS_KEY_ID_ENV_VAR).ok())
                .allow_unbound_keys(
                    std::env::var(ALLOW_UNBOUND_KEYRING_ENV_VAR).is_ok_and(|v| v == "1"),
                ),
            Err(_) => Self::keyring(Keyring::from_env()?),
        })
    }

    /// The keyring secret's source, when the keys live in one (what the commands that change the
    /// keyring need); its clients are made from `aws`.
    pub fn secret_source(&self, aws: &aws_config::SdkConfig) -> Option<SecretKeySource> {
        match &self.source {
            Source::Keyring(_) => None,
            Source::Secret(secret) => Some(secret.source(aws)),
        }
    }

    /// The key source a store is built with; a keyring secret's clients are made from `aws`.
    pub fn key_source(&self, aws: &aws_config::SdkConfig) -> Arc<dyn KeySource> {
        match &self.source {
            Source::Keyring(ring) => ring.clone(),
            Source::Secret(secret) => Arc::new(secret.source(aws)),
        }
    }
}
