//! What an operator sees: every token with the key that encrypts it and when it last changed.

use std::collections::HashMap;
use std::time::SystemTime;

use super::SecretsManagerStore;
use crate::error::Result;
use crate::store::Unreadable;
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

/// What [`SecretsManagerStore::inventory`] found.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Inventory {
    /// Every readable token, sorted by id.
    pub tokens: Vec<StoredToken>,
    /// Every secret under the prefix that could not be read, named.
    pub unreadable: Vec<Unreadable>,
}

impl SecretsManagerStore {
    /// Every token with its key id and last change, sorted by id, and every secret under the prefix
    /// that could not be read: what `zoho-token-store list` shows. One bad secret does not hide the
    /// rest. Costs ceil(M/100) `ListSecrets` and ceil(N/20) `BatchGetSecretValue`.
    ///
    /// # Errors
    /// A backend or key-source failure.
    pub async fn inventory(&self) -> Result<Inventory> {
        // One listing gives both the names to read and when each last changed.
        let listed = self.list_tokens().await?;
        let changed: HashMap<&str, Option<SystemTime>> = listed
            .iter()
            .map(|l| (l.name.as_str(), l.last_changed))
            .collect();
        let (read, unreadable) = self.decode_listed(&listed).await?;
        let mut inventory = Inventory {
            tokens: Vec::with_capacity(read.len()),
            unreadable,
        };
        for (raw, token) in read {
            inventory.tokens.push(StoredToken {
                key_id: raw.key_id()?.to_owned(),
                last_changed: changed.get(raw.name.as_str()).copied().flatten(),
                token,
            });
        }
        Ok(inventory)
    }
}
