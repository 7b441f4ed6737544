//! An in-memory [`TokenStore`]: the contract's reference implementation, for tests.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::id;
use crate::lookup::{Lookup, check_insertable, for_update};
use crate::store::TokenStore;
use crate::token::OAuthToken;

/// Tokens in a map, guarded by one lock. Implements the contract exactly as
/// [`SecretsManagerStore`](crate::SecretsManagerStore) does, so it can stand in for it in tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tokens: Mutex<BTreeMap<String, OAuthToken>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn find_token(&self, token: &OAuthToken) -> Result<Option<OAuthToken>> {
        let mut query = token.clone();
        query.normalize();
        let Some(lookup) = Lookup::for_token(&query) else {
            return Ok(None);
        };
        let tokens = self.tokens.lock().await;
        Ok(lookup.best(tokens.values()).map(|stored| {
            query.fill_from(stored);
            query
        }))
    }

    async fn save_token(&self, token: &mut OAuthToken) -> Result<()> {
        token.normalize();
        token.validate()?;
        let mut tokens = self.tokens.lock().await;
        let existing = match &token.id {
            Some(given) => {
                id::validate(given)?;
                tokens.contains_key(given).then(|| given.clone())
            }
            None => Lookup::for_token(token)
                .and_then(|l| l.best(tokens.values()))
                .and_then(|t| t.id.clone()),
        };
        let id = match existing {
            Some(id) => id,
            None => {
                check_insertable(token)?;
                token.id.clone().unwrap_or_else(id::random)
            }
        };
        token.id = Some(id.clone());
        tokens.insert(id, token.clone());
        Ok(())
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        id::validate(id)?;
        self.tokens.lock().await.remove(id);
        Ok(())
    }

    async fn get_tokens(&self) -> Result<Vec<OAuthToken>> {
        Ok(self.tokens.lock().await.values().cloned().collect())
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.tokens.lock().await.clear();
        Ok(())
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Option<OAuthToken>> {
        id::validate(id)?;
        Ok(self.tokens.lock().await.get(id).cloned())
    }

    async fn update_token(&self, token: &OAuthToken) -> Result<()> {
        let (token, id) = for_update(token)?;
        let mut tokens = self.tokens.lock().await;
        match tokens.get_mut(&id) {
            Some(stored) => {
                *stored = token;
                Ok(())
            }
            None => Err(Error::TokenDeleted { id }),
        }
    }
}
