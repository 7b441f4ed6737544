//! The Zoho SDK's six-operation token store contract.

use std::fmt;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::token::OAuthToken;

/// What [`TokenStore::scan_tokens`] found: every token it could read, and every stored entry it could
/// not, by name.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Scan {
    /// The tokens read, sorted by id.
    pub tokens: Vec<OAuthToken>,
    /// The entries that could not be read (wrong key, tampered, foreign), with why.
    pub unreadable: Vec<Unreadable>,
}

/// A stored entry that could not be read as a token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Unreadable {
    /// Where it is (for Secrets Manager, the secret's name).
    pub secret: String,
    /// The token id its place names, if any.
    pub id: Option<String>,
    /// Why it could not be read.
    pub error: Error,
}

impl Unreadable {
    pub(crate) fn new(secret: impl Into<String>, id: Option<&str>, error: Error) -> Self {
        Self {
            secret: secret.into(),
            id: id.map(str::to_owned),
            error,
        }
    }
}

/// Where tokens are kept: the Zoho SDK's `TokenStore`, async.
///
/// The trait is object-safe, so applications can hold an `Arc<dyn TokenStore>` and swap
/// [`MemoryStore`](crate::MemoryStore) in for tests. Absence is `Ok(None)`, never an error.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    /// Completes a partially filled token from storage.
    ///
    /// Matching follows the SDK: a user name matches on the user alone; otherwise an access token given
    /// without client credentials matches on the access token; otherwise a grant token, then a refresh
    /// token, given with client credentials, matches a stored token with the same client id. On a match,
    /// stored values fill the fields the caller left empty (the caller's values win).
    ///
    /// # Errors
    /// A backend failure, or a stored token that cannot be read (see [`Error`](crate::Error)).
    async fn find_token(&self, token: &OAuthToken) -> Result<Option<OAuthToken>>;

    /// Inserts or updates `token`, never duplicating it, and sets `token.id` when a new one is created.
    ///
    /// A token with an id updates the token stored under that id and nothing else: when it is gone
    /// (deleted, whether still recoverable or not) nothing is written, so a token deleted while some
    /// process held a copy stays deleted ([`insert_token`](TokenStore::insert_token) creates a token
    /// under a chosen id). A token without an id is matched as in [`find_token`](TokenStore::find_token)
    /// and replaces the matched entry, or is stored as new. Either way it is written as given, but that
    /// a token naming no user, matched by its grant, refresh or access token, keeps the matched token's
    /// user (both stores of this crate: the same credential is the same user).
    ///
    /// # Errors
    /// [`Error::TokenDeleted`](crate::Error::TokenDeleted) when the token's id names no stored token;
    /// [`Error::InvalidToken`](crate::Error::InvalidToken) when the token breaks the SDK's validity rules,
    /// has an unusable id, names a user or id that matches nothing while carrying no grant, refresh or
    /// access token, or names another user than the token stored under its id, or no user where that
    /// token names one (both stores of this crate: an id stays its user's); otherwise a backend failure.
    async fn save_token(&self, token: &mut OAuthToken) -> Result<()>;

    /// Stores `token` as a new token under the id it carries: an id chosen outside the store, such as one
    /// kept from the Zoho SDK's token file. Never writes over a stored token, nor over one deleted and
    /// still recoverable. A token without an id is stored as [`save_token`](TokenStore::save_token)
    /// stores it.
    ///
    /// [`save_token`](TokenStore::save_token) of a token with an id only ever updates the token stored
    /// under it (so a token deleted while a process held a copy stays deleted); this is the one way to
    /// create a token under a chosen id. Both stores of this crate implement it with a create that
    /// cannot overwrite; the default stores a token without an id and refuses one with an id, since only
    /// the store itself can create exclusively.
    ///
    /// # Errors
    /// [`Error::InvalidToken`](crate::Error::InvalidToken) when the id is taken or invalid, or the token
    /// breaks the SDK's rules; [`Error::InvalidConfig`](crate::Error::InvalidConfig) from the default
    /// for a token with an id; a backend failure.
    async fn insert_token(&self, token: &mut OAuthToken) -> Result<()> {
        if token.id.is_some() {
            return Err(crate::Error::InvalidConfig {
                reason: "this token store cannot create a token under a chosen id (it does not \
                         implement insert_token); save the token without an id"
                    .into(),
            });
        }
        self.save_token(token).await
    }

    /// Removes the token with this id. Removing an absent token succeeds.
    ///
    /// # Errors
    /// An invalid id or a backend failure.
    async fn delete_token(&self, id: &str) -> Result<()>;

    /// Every token this store holds.
    ///
    /// # Errors
    /// A backend failure, or any stored entry that cannot be read: it is named in the error, never
    /// silently dropped.
    async fn get_tokens(&self) -> Result<Vec<OAuthToken>>;

    /// Every token this store can read, and every entry it cannot, named: for whole-store jobs (listing,
    /// exporting, refreshing everything due) that must go on past one bad entry, where
    /// [`get_tokens`](TokenStore::get_tokens) fails on it. The default reads with `get_tokens`.
    ///
    /// # Errors
    /// A backend or key-source failure (an unreadable entry is not an error here).
    async fn scan_tokens(&self) -> Result<Scan> {
        Ok(Scan {
            tokens: self.get_tokens().await?,
            unreadable: Vec::new(),
        })
    }

    /// Removes every token this store holds, and nothing else.
    ///
    /// # Errors
    /// A backend failure.
    async fn delete_tokens(&self) -> Result<()>;

    /// The token with this id.
    ///
    /// # Errors
    /// An invalid id, a backend failure, or a stored entry that cannot be read.
    async fn find_token_by_id(&self, id: &str) -> Result<Option<OAuthToken>>;

    /// Writes `token` over the stored token with the same id, only while that token still exists: what a
    /// refresh, re-encryption or rotation step uses, so that a token deleted meanwhile stays deleted
    /// instead of being re-created from a stale copy. [`save_token`](TokenStore::save_token) of a token
    /// with an id does the same; this one takes the token by reference.
    ///
    /// The default checks with [`reload_token`](TokenStore::reload_token) and then saves, which leaves a
    /// window between the two; both stores of this crate override it with a write that cannot re-create.
    ///
    /// # Errors
    /// [`Error::TokenDeleted`](crate::Error::TokenDeleted) when no token with this id is stored (nothing
    /// is written); [`Error::InvalidToken`](crate::Error::InvalidToken) when the token has no id, breaks
    /// the SDK's rules, or (both stores of this crate) names another user than the stored token, or no
    /// user where it names one; a backend failure.
    async fn update_token(&self, token: &OAuthToken) -> Result<()> {
        let (mut token, id) = crate::lookup::for_update(token)?;
        if self.reload_token(&id).await?.is_none() {
            return Err(crate::Error::TokenDeleted { id });
        }
        self.save_token(&mut token).await
    }

    /// The token with this id as stored right now, bypassing any cache the store keeps: what
    /// [`TokenManager`](crate::TokenManager) re-reads to see another process's refresh. Defaults to
    /// [`find_token_by_id`](TokenStore::find_token_by_id).
    ///
    /// # Errors
    /// As [`find_token_by_id`](TokenStore::find_token_by_id).
    async fn reload_token(&self, id: &str) -> Result<Option<OAuthToken>> {
        self.find_token_by_id(id).await
    }
}
