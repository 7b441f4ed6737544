//! What an operator sees: every token with the key that encrypts it and when it last changed.

use std::collections::HashMap;
use std::time::SystemTime;

use super::SecretsManagerStore;
use crate::error::Result;
use crate::token::OAuthToken;

/// A stored token with its storage metadata.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StoredToken {
    /// The decrypted token.
    pub token: OAuthToken,
    /// The id of the data key its envelope names.
    pub key_id: String,
    /// When its secret last changed, as the service reports it.
    pub last_changed: Option<SystemTime>,
}

impl SecretsManagerStore {
    /// Every token with its key id and last change, sorted by id: what `zoho-token-store list` shows.
    /// Costs ceil(N/20) `BatchGetSecretValue` and ceil(N/100) `ListSecrets`.
    ///
    /// # Errors
    /// As [`TokenStore::get_tokens`](crate::TokenStore::get_tokens).
    pub async fn inventory(&self) -> Result<Vec<StoredToken>> {
        let changed: HashMap<String, Option<SystemTime>> = self
            .list_owned()
            .await?
            .into_iter()
            .map(|l| (l.name, l.last_changed))
            .collect();
        let raws = self.all_raw().await?;
        let mut ring = self.keys.keyring().await?;
        let mut entries = Vec::with_capacity(raws.len());
        for raw in &raws {
            let token = self.decode(&mut ring, raw).await?;
            entries.push(StoredToken {
                token,
                key_id: raw.key_id()?.to_owned(),
                last_changed: changed.get(&raw.name).copied().flatten(),
            });
        }
        entries.sort_by(|a, b| {
            crate::id::order(
                a.token.id.as_deref().unwrap_or_default(),
                b.token.id.as_deref().unwrap_or_default(),
            )
        });
        Ok(entries)
    }
}
