//! An in-memory [`TokenStore`]: the contract's reference implementation, for tests.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::id;
use crate::lookup::{Lookup, check_insertable, check_stored_user, for_update};
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
                check_stored_user(
                    tokens.get(given).and_then(|t| t.user_name.as_deref()),
                    token.user_name.as_deref(),
                    given,
                )?;
                tokens.contains_key(given).then(|| given.clone())
            }
            // Found by its grant, refresh or access token: the same user, whom the token keeps.
            None => match Lookup::for_token(token).and_then(|l| l.best(tokens.values())) {
                Some(found) => {
                    token.user_name.clone_from(&found.user_name);
                    found.id.clone()
                }
                None => None,
            },
        };
        let id = match (existing, &token.id) {
            (Some(id), _) => id,
            // As the Secrets Manager store: a token with an id updates that token only, so one deleted
            // while a copy was held stays deleted (`insert_token` creates under a chosen id).
            (None, Some(given)) => {
                check_insertable(token)?;
                return Err(Error::TokenDeleted { id: given.clone() });
            }
            (None, None) => {
                check_insertable(token)?;
                id::random()
            }
        };
        token.id = Some(id.clone());
        tokens.insert(id, token.clone());
        Ok(())
    }

    async fn insert_token(&self, token: &mut OAuthToken) -> Result<()> {
        let Some(given) = token.id.clone() else {
            return self.save_token(token).await;
        };
        token.normalize();
        token.validate()?;
        id::validate(&given)?;
        check_insertable(token)?;
        let mut tokens = self.tokens.lock().await;
        if tokens.contains_key(&given) {
            return Err(crate::lookup::id_taken(&given));
        }
        tokens.insert(given, token.clone());
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
                check_stored_user(stored.user_name.as_deref(), token.user_name.as_deref(), &id)?;
                *stored = token;
                Ok(())
            }
            None => Err(Error::TokenDeleted { id }),
        }
    }
}
