//! [`TokenStore`] on AWS Secrets Manager: one encrypted secret per token, blind-index tags for lookups.
//!
//! This file holds the store itself, how ids map to secret names and which secrets it owns, and
//! `impl TokenStore`. The rest, by concern: `find` (lookup planning), `write` (the write path), `value`
//! (a secret's value and the token in it), `service` (one method per Secrets Manager call), `index`
//! (the blind-index tags), `recent` (lookup bridges), `cache`, `lease` (refresh leases), `rotation`
//! (whole-store key rotation), `rotation_handler` (the Secrets Manager rotation function), `inventory`
//! and `options`.
//!
//! Service calls per operation (the budgets the tests hold it to):
//!
//! | operation | calls |
//! |---|---|
//! | `find_token_by_id` | 1 `GetSecretValue` |
//! | `find_token` by user | 1 `GetSecretValue`; on a miss, 1 `BatchGetSecretValue` more (tokens saved with an explicit id) |
//! | `find_token` by refresh, grant or access token | 1 `BatchGetSecretValue` |
//! | `save_token`, existing token | 1 `DescribeSecret` + 1 `PutSecretValue` (+ `TagResource`/`UntagResource` and 1 `DescribeSecret` when an indexed field changed) |
//! | `save_token`, new token (no id) | 1 `DescribeSecret` + 1 `CreateSecret` carrying its tags (+ 1 `BatchGetSecretValue`) |
//! | `save_token` of an id that names no live token | 1 `DescribeSecret`; refused, nothing written |
//! | `insert_token` under a chosen id | 1 `CreateSecret` carrying its tags |
//! | `delete_token` | 1 `DeleteSecret` (the token) and in parallel 1 `GetSecretValue` (its refresh lease); + 1 `DeleteSecret` per lease secret found (a refresh under way, or a dead holder's lease and its claims) |
//! | `get_tokens` | ceil(M / 100) `ListSecrets` (M: every secret under the prefix, leases and lookup bridges included) + ceil(N / 20) `BatchGetSecretValue` |
//! | `delete_tokens` | ceil(N / 100) `ListSecrets` + N `DeleteSecret`, and the same for the leases and the lookup bridges |

mod cache;
mod find;
pub(crate) mod index;
mod inventory;
mod lease;
mod options;
mod recent;
mod rotation;
mod rotation_handler;
mod service;
mod value;
mod write;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::Tag;
use futures::{StreamExt, TryStreamExt, stream};

pub use inventory::{Inventory, StoredToken};
pub(crate) use options::check_prefix;
pub use options::{
    DEFAULT_LISTING_LAG, DEFAULT_PREFIX, RecoveryWindow, SecretsManagerStoreBuilder,
};
pub(crate) use rotation::Retag;
pub use rotation::{BulkOptions, BulkReport, Progress};
pub use rotation_handler::{RotationEvent, RotationHandler, RotationStep};
pub(crate) use service::{Listed, tag_pairs};
pub(crate) use value::Raw;
pub(crate) use write::tags_agree;
use write::{CreateOutcome, State};

use crate::aws::versions;
use crate::calls::CallCounter;
use crate::error::{Error, Result};
use crate::id;
use crate::key_source::KeySource;
use crate::keyring::Keyring;
use crate::lookup::{Lookup, check_insertable, for_update, same_user};
use crate::store::{Scan, TokenStore};
use crate::token::OAuthToken;

/// Tokens as encrypted secrets in AWS Secrets Manager.
///
/// Built from an injected client (so credentials, region, endpoint and retries are the application's)
/// and a [`KeySource`], such as a [`Keyring`]:
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use zoho_token_store::{Keyring, SecretsManagerStore};
///
/// let config = aws_config::load_from_env().await;
/// let store = SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::new(&config), Keyring::from_env()?)
///     .prefix("prod/zoho/")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SecretsManagerStore {
    pub(crate) client: Client,
    pub(crate) keys: Arc<dyn KeySource>,
    prefix: String,
    recovery_window: RecoveryWindow,
    concurrency: NonZeroUsize,
    listing_lag: std::time::Duration,
    calls: CallCounter,
    cache: Option<cache::Cache>,
    /// Whether the keyring's index key was found to be the store's (see `check_index_key`).
    index_key_checked: std::sync::atomic::AtomicBool,
    /// When the check last found no tagged token to judge by (an empty store, or listings that do not
    /// show its tokens yet): it looks again once the listings have caught up.
    index_key_unseen_at: std::sync::Mutex<Option<std::time::Instant>>,
    /// When this store last swept old lookup bridges (see `recent`).
    last_sweep: std::sync::Mutex<Option<std::time::Instant>>,
}

impl SecretsManagerStore {
    /// Starts a builder with the default options (prefix `zoho/oauth/`, 7-day recovery window).
    pub fn builder(client: Client, keys: impl KeySource + 'static) -> SecretsManagerStoreBuilder {
        SecretsManagerStoreBuilder::new(client, Arc::new(keys))
    }

    /// The prefix of every secret name this store uses.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The service calls this store has made, by operation.
    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }

    /// Whether a live token secret with this id exists (and is not tagged as another store's), without
    /// reading or decrypting it: 1 `DescribeSecret`. For deleting an entry that cannot be read.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for an invalid id; a backend failure.
    pub async fn contains(&self, id: &str) -> Result<bool> {
        let name = self.secret_name(id)?;
        Ok(matches!(self.describe(&name).await?, State::Live(tags) if self.claims(&tags)))
    }

    /// When the token with this id last changed, as the service reports it (its value or its tags), read
    /// by name so it is current: 1 `DescribeSecret`. `None` when no live token has this id. For
    /// telling whether a stored token is newer than a copy of it (an import of an older file).
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for an invalid id; a backend failure.
    pub async fn last_changed(&self, id: &str) -> Result<Option<SystemTime>> {
        self.changed_at(&self.secret_name(id)?).await
    }

    /// [`delete_token`](TokenStore::delete_token), telling whether a token of this store was there:
    /// for callers that must fail on an absent id, as the Zoho SDK's own stores do. With a recovery
    /// window the deletion's answer tells (same calls as `delete_token`), and a token already in its
    /// recovery window is not there. A forced deletion succeeds whether or not the secret exists, so
    /// with [`RecoveryWindow::Immediate`] it asks first (+1 `DescribeSecret`), leaves a secret tagged as
    /// another store's alone, and also deletes for good a token of this store in its recovery window
    /// (which counts as there): what an operator does before retiring a key such a token may need.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for an invalid id; a backend failure.
    pub async fn remove_token(&self, id: &str) -> Result<bool> {
        if self.recovery_window == RecoveryWindow::Immediate {
            let ours = match self.describe(&self.secret_name(id)?).await? {
                State::Live(tags) | State::Deleted(tags) => self.claims(&tags),
                State::Absent => false,
            };
            if !ours {
                // Nothing of ours to delete; a lease left behind serves nothing either.
                self.delete_lease(id).await?;
                return Ok(false);
            }
            self.delete_id(id).await?;
            return Ok(true);
        }
        self.delete_id(id).await
    }

    /// Deletes the token's secret and its refresh lease; whether the secret was live.
    async fn delete_id(&self, id: &str) -> Result<bool> {
        let name = self.secret_name(id)?;
        tracing::debug!(secret = %name, "deleting token");
        if let Some(cache) = &self.cache {
            cache.remove(&name);
        }
        // Its refresh lease goes too (a refresh under way then finds the token deleted and writes
        // nothing); lookup bridges are swept once the listings catch up.
        let (token, lease) = futures::join!(self.delete_name(&name), self.delete_lease(id));
        let existed = token?;
        lease?;
        Ok(existed)
    }

    /// Saves as the Zoho SDK's own stores do: when `token` matches a stored token (by id when it has
    /// one, otherwise as [`find_token`](TokenStore::find_token) matches), the stored values first fill
    /// the fields `token` leaves empty, and the result replaces the stored token;
    /// [`save_token`](TokenStore::save_token) writes `token` as given. `token` is left holding what was
    /// written, id included. Costs one read more than `save_token` when the token matches: by id, past
    /// the cache (the stored user, which the write compares with the secret's tags as they are now, may
    /// have been learnt by another process since the cache took it); otherwise none when the cache holds
    /// it.
    ///
    /// Deletes stick: a token that carries an id updates the token found under it, so when that token
    /// is gone (deleted, or in its recovery window) nothing is written and the save says so, where the
    /// SDK's FileStore would append it again. This is the save the SDK makes after its own refresh: a
    /// token an operator deleted meanwhile stays deleted. A token without an id (a new sign-in, or a
    /// process bootstrapping from a configured refresh token) is stored as `save_token` stores it.
    ///
    /// A user name that names the stored token's user in another spelling (the e-mail address in
    /// another case, or without the `:<org id>` the stored name has) is written as stored; one that
    /// names another user is refused, as `save_token` refuses it.
    ///
    /// # Errors
    /// [`Error::TokenDeleted`] for a token whose id names no stored token; otherwise as
    /// [`save_token`](TokenStore::save_token).
    pub async fn merge_and_save_token(&self, token: &mut OAuthToken) -> Result<()> {
        token.normalize();
        let stored = match &token.id {
            Some(id) => match self.reload_token(id).await? {
                Some(stored) => Some(stored),
                None => {
                    // A token that could not be stored anyway says why, as save_token would.
                    check_insertable(token)?;
                    return Err(Error::TokenDeleted { id: id.clone() });
                }
            },
            None => self.find_token(token).await?,
        };
        if let Some(stored) = stored {
            // The same user spelled otherwise (an app's `UserSignature` beside the name the SDK
            // discovered) keeps the stored spelling: the token stays found by it, and the save is not
            // refused as another user's.
            if let (Some(mine), Some(theirs)) = (&token.user_name, &stored.user_name)
                && same_user(mine, theirs)
            {
                token.user_name = Some(theirs.clone());
            }
            token.fill_from(&stored);
        }
        self.save_token(token).await
    }

    /// The name of the secret that holds the token with this id.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when `id` is not a valid token id.
    pub fn secret_name(&self, id: &str) -> Result<String> {
        id::validate(id)?;
        Ok(self.name_of(id))
    }

    pub(crate) fn name_of(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }

    /// The token id in a secret name, if the name is one of this store's (prefix, then a valid id;
    /// a `/` after the prefix means a nested prefix, which belongs to another store).
    pub(crate) fn id_of<'a>(&self, name: &'a str) -> Option<&'a str> {
        name.strip_prefix(&self.prefix)
            .filter(|id| id::validate(id).is_ok())
    }

    /// Whether a secret with these tags may be this store's: it names no store, as secrets written
    /// before the prefix tag do (their decrypted id decides, see [`Self::decode`]), or it names this one.
    pub(crate) fn claims(&self, tags: &[(String, String)]) -> bool {
        index::tag_value(tags, index::PREFIX_KEY).is_none_or(|prefix| prefix == self.prefix)
    }

    /// The tag naming this store, which its leases and lookup bridges carry too.
    pub(crate) fn prefix_tag(&self) -> Tag {
        Tag::builder()
            .key(index::PREFIX_KEY)
            .value(&self.prefix)
            .build()
    }

    /// The tags of a secret holding `token` in this store.
    pub(crate) fn tags_for(&self, ring: &Keyring, token: &OAuthToken) -> Vec<(String, String)> {
        index::tags_for(ring, &self.prefix, token)
    }

    /// Refuses to write over a secret tagged as another store's: under the prefix `prod/zoho`, the id
    /// `-eu71` names the token `1` of the store `prod/zoho-eu7`.
    fn check_claimed(&self, name: &str, tags: &[(String, String)]) -> Result<()> {
        match index::tag_value(tags, index::PREFIX_KEY) {
            Some(other) if other != self.prefix => Err(Error::invalid_token(format!(
                "id `{}` names the secret `{name}`, which belongs to the store with prefix `{other}`; \
                 choose another id",
                self.id_of(name).unwrap_or(name)
            ))),
            _ => Ok(()),
        }
    }

    /// The error for a write or rotation step that found the token's secret deleted.
    pub(crate) fn deleted(&self, name: &str) -> Error {
        Error::TokenDeleted {
            id: self.id_of(name).unwrap_or(name).to_owned(),
        }
    }
}

#[async_trait]
#[async_trait]
impl TokenStore for SecretsManagerStore {
    async fn find_token(&self, token: &OAuthToken) -> Result<Option<OAuthToken>> {
        let mut query = token.clone();
        query.normalize();
        let Some(lookup) = Lookup::for_token(&query) else {
            return Ok(None);
        };
        let mut ring = self.keys.keyring().await?;
        let Some(stored) = self.find(&mut ring, &lookup, None).await? else {
            return Ok(None);
        };
        query.fill_from(&stored);
        Ok(Some(query))
    }

    async fn save_token(&self, token: &mut OAuthToken) -> Result<()> {
        token.normalize();
        token.validate()?;
        let mut ring = self.keys.keyring().await?;
        let (name, state) = match (&token.id, &token.user_name) {
            // A token that carries an id came from this store (or names one of its tokens): it updates
            // that live token and nothing else. Deleted (in its recovery window or for good) means
            // deleted: restoring or re-creating it would bring back a token an operator removed, from a
            // copy some process still held. `insert_token` creates a token under an id of its own.
            (Some(given), _) => {
                let name = self.secret_name(given)?;
                return match self.overwrite(&ring, &name, token).await {
                    Err(Error::TokenDeleted { .. }) => {
                        // A token that could not be stored anyway says why, as a new one would.
                        check_insertable(token)?;
                        Err(self.deleted(&name))
                    }
                    written => written,
                };
            }
            (None, Some(user)) => {
                let derived = self.name_of(&index::user_id(&ring, user));
                match self.describe(&derived).await? {
                    State::Live(tags) => (derived, State::Live(tags)),
                    not_live => match self
                        .find(&mut ring, &Lookup::User(user), Some(&derived))
                        .await?
                    {
                        // The user's token lives under another id: update that one.
                        Some(found) => {
                            let name = self.name_of(found.id.as_deref().unwrap_or_default());
                            let state = self.describe(&name).await?;
                            (name, state)
                        }
                        None => (derived, not_live),
                    },
                }
            }
            (None, None) => {
                let found = match Lookup::for_token(token) {
                    Some(lookup) => self.find(&mut ring, &lookup, None).await?,
                    None => None,
                };
                // Found by its grant, refresh or access token: the same credential, the same user, whom
                // the token keeps (written without, the stored user's tag would go, and with it the
                // user's lookups and the check of a save under the id).
                if let Some(found) = &found {
                    token.user_name.clone_from(&found.user_name);
                }
                match found.and_then(|f| f.id) {
                    Some(existing) => {
                        let name = self.name_of(&existing);
                        let state = self.describe(&name).await?;
                        (name, state)
                    }
                    None => (self.name_of(&id::random()), State::Absent),
                }
            }
        };
        if !matches!(state, State::Live(_)) {
            check_insertable(token)?;
        }
        token.id = self.id_of(&name).map(str::to_owned);
        tracing::debug!(secret = %name, "saving token");
        self.write(&ring, &name, token, state).await
    }

    async fn insert_token(&self, token: &mut OAuthToken) -> Result<()> {
        let Some(given) = token.id.clone() else {
            return self.save_token(token).await;
        };
        token.normalize();
        token.validate()?;
        check_insertable(token)?;
        let name = self.secret_name(&given)?;
        let ring = self.keys.keyring().await?;
        let value = self.encrypt(&ring, &name, token)?;
        tracing::debug!(secret = %name, "inserting token");
        // CreateSecret is exclusive: of concurrent creates of one name exactly one wins, and a name that
        // is live or in its recovery window is refused (one still being deleted is waited for).
        match self.create_waiting(&ring, &name, token, &value).await? {
            None => Ok(()),
            Some(_) => Err(crate::lookup::id_taken(&given)),
        }
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.delete_id(id).await.map(drop)
    }

    async fn scan_tokens(&self) -> Result<Scan> {
        let (read, unreadable) = self.decode_everything().await?;
        Ok(Scan {
            tokens: read.into_iter().map(|(_, token)| token).collect(),
            unreadable,
        })
    }

    async fn get_tokens(&self) -> Result<Vec<OAuthToken>> {
        // Everything under the prefix, not only what carries the marker: a foreign or corrupt secret in
        // our namespace must fail loudly, by name, instead of vanishing from the list.
        let scan = self.scan_tokens().await?;
        match scan.unreadable.into_iter().next() {
            Some(entry) => Err(entry.error),
            None => Ok(scan.tokens),
        }
    }

    async fn delete_tokens(&self) -> Result<()> {
        // Deleting is the one place we are conservative: only secrets that carry our marker go, and of
        // those written before the prefix tag, only the ones whose value says they are ours.
        let (tagged, legacy): (Vec<Listed>, Vec<Listed>) = self
            .list_owned()
            .await?
            .into_iter()
            .partition(|listed| index::tag_value(&listed.tags, index::PREFIX_KEY).is_some());
        let mut names: Vec<String> = tagged.into_iter().map(|listed| listed.name).collect();
        let legacy: Vec<String> = legacy.into_iter().map(|listed| listed.name).collect();
        if !legacy.is_empty() {
            let mut ring = self.keys.keyring().await?;
            for raw in self.fetch(&legacy).await? {
                match self.decode(&mut ring, &raw).await {
                    Ok(Some(_)) => names.push(raw.name),
                    // Another store's, or unreadable: it may be another store's, so it stays.
                    Ok(None) => {}
                    Err(e) if e.is_unreadable_entry() => {}
                    Err(e) => return Err(e),
                }
            }
        }
        tracing::debug!(count = names.len(), prefix = %self.prefix, "deleting all tokens");
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        stream::iter(names)
            .map(|name| async move { self.delete_name(&name).await.map(drop) })
            .buffer_unordered(self.concurrency.get())
            .try_collect::<Vec<()>>()
            .await?;
        // Their leases and lookup bridges serve nothing any more.
        self.delete_leases().await?;
        self.delete_bridges(SystemTime::now()).await?;
        Ok(())
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Option<OAuthToken>> {
        let name = self.secret_name(id)?;
        let mut ring = self.keys.keyring().await?;
        self.read(&mut ring, &name).await
    }

    async fn reload_token(&self, id: &str) -> Result<Option<OAuthToken>> {
        let name = self.secret_name(id)?;
        let mut ring = self.keys.keyring().await?;
        self.read_fresh(&mut ring, &name).await
    }

    async fn update_token(&self, token: &OAuthToken) -> Result<()> {
        let (token, id) = for_update(token)?;
        let name = self.secret_name(&id)?;
        let ring = self.keys.keyring().await?;
        tracing::debug!(secret = %name, "updating token");
        self.overwrite(&ring, &name, &token).await
    }
}
