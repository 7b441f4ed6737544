//! [`TokenStore`] on AWS Secrets Manager: one encrypted secret per token, blind-index tags for lookups.
//!
//! Service calls per operation (the budgets the tests hold it to):
//!
//! | operation | calls |
//! |---|---|
//! | `find_token_by_id` | 1 `GetSecretValue` |
//! | `find_token` by user | 1 `GetSecretValue`; on a miss, 1 `BatchGetSecretValue` more (tokens saved with an explicit id) |
//! | `find_token` by refresh, grant or access token | 1 `BatchGetSecretValue` |
//! | `save_token`, existing token | 1 `DescribeSecret` + 1 `PutSecretValue` (+ `TagResource`/`UntagResource` when an indexed field changed) |
//! | `save_token`, new token | 1 `DescribeSecret` + 1 `CreateSecret` carrying its tags (+ 1 `BatchGetSecretValue` without id) |
//! | `delete_token` | 2 `DeleteSecret` (the token and its refresh lease), in parallel |
//! | `get_tokens` | ceil(M / 100) `ListSecrets` (M: every secret under the prefix, leases and lookup bridges included) + ceil(N / 20) `BatchGetSecretValue` |
//! | `delete_tokens` | ceil(N / 100) `ListSecrets` + N `DeleteSecret`, and the same for the leases and the lookup bridges |

mod cache;
pub(crate) mod index;
mod inventory;
mod lease;
mod options;
mod recent;
mod rotation;
mod rotation_handler;

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::batch_get_secret_value::BatchGetSecretValueOutput;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry, Tag};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::{StreamExt, TryStreamExt, stream};

pub use inventory::{Inventory, StoredToken};
pub use options::{
    DEFAULT_LISTING_LAG, DEFAULT_PREFIX, RecoveryWindow, SecretsManagerStoreBuilder,
};
pub(crate) use rotation::Retag;
pub use rotation::{BulkOptions, BulkReport, Progress};
pub use rotation_handler::{RotationEvent, RotationHandler, RotationStep};

use crate::aws::error as aws_error;
use crate::aws::versions;
use crate::calls::CallCounter;
use crate::envelope;
use crate::error::{Error, Result};
use crate::id;
use crate::key_source::KeySource;
use crate::keyring::Keyring;
use crate::lookup::{Lookup, check_insertable, for_update};
use crate::store::{Scan, TokenStore, Unreadable};
use crate::token::OAuthToken;
use index::IndexKind;

/// `BatchGetSecretValue` returns at most 20 values per call.
const BATCH_GET_MAX: i32 = 20;
/// `ListSecrets` returns at most 100 secrets per call.
pub(crate) const LIST_MAX: i32 = 100;

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
    /// When this store last swept old lookup bridges (see `recent`).
    last_sweep: std::sync::Mutex<Option<std::time::Instant>>,
}

/// What `DescribeSecret` said about a secret name.
enum State {
    /// No secret by that name.
    Absent,
    /// Live, with these tags.
    Live(Vec<(String, String)>),
    /// Scheduled for deletion (in its recovery window), with these tags.
    Deleted(Vec<(String, String)>),
}

/// A secret's value as read, before decryption.
pub(crate) struct Raw {
    pub(crate) name: String,
    /// The version that holds `AWSCURRENT`, for compare-and-swap writes.
    pub(crate) version_id: Option<String>,
    pub(crate) envelope: Vec<u8>,
    /// Why the value cannot be an envelope at all, if so: reported when it is decoded, so a scan can
    /// name it and go on.
    not_an_envelope: Option<&'static str>,
}

impl Raw {
    /// The envelope in a secret's value: base64 in `SecretString` as this crate writes it, or raw in
    /// `SecretBinary`.
    pub(crate) fn new(
        name: &str,
        version_id: Option<&str>,
        string: Option<&str>,
        binary: Option<&Blob>,
    ) -> Self {
        let (envelope, not_an_envelope) = match (string, binary) {
            (Some(text), _) => match BASE64.decode(text) {
                Ok(bytes) => (bytes, None),
                Err(_) => (
                    Vec::new(),
                    Some("its SecretString is not a base64 envelope"),
                ),
            },
            (None, Some(blob)) => (blob.as_ref().to_vec(), None),
            (None, None) => (Vec::new(), Some("it has no value")),
        };
        Self {
            name: name.to_owned(),
            version_id: version_id.map(str::to_owned),
            envelope,
            not_an_envelope,
        }
    }

    pub(crate) fn key_id(&self) -> Result<&str> {
        if let Some(reason) = self.not_an_envelope {
            return Err(Error::corrupt(&self.name, reason));
        }
        envelope::key_id(&self.name, &self.envelope)
    }
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

    /// [`delete_token`](TokenStore::delete_token), telling whether a live token of this store was
    /// there: for callers that must fail on an absent id, as the Zoho SDK's own stores do. With a
    /// recovery window the deletion's answer tells (same calls as `delete_token`); a forced deletion
    /// succeeds whether or not the secret exists, so with [`RecoveryWindow::Immediate`] it asks first
    /// (+1 `DescribeSecret`), and then also leaves a secret tagged as another store's alone.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for an invalid id; a backend failure.
    pub async fn remove_token(&self, id: &str) -> Result<bool> {
        if self.recovery_window == RecoveryWindow::Immediate && !self.contains(id).await? {
            // Nothing of ours to delete; a lease left behind serves nothing either.
            self.delete_lease(id).await?;
            return Ok(false);
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
    /// written, id included. Costs one read more than `save_token` when the token matches (none when the
    /// cache holds it).
    ///
    /// # Errors
    /// As [`save_token`](TokenStore::save_token).
    pub async fn merge_and_save_token(&self, token: &mut OAuthToken) -> Result<()> {
        token.normalize();
        let stored = match &token.id {
            Some(id) => self.find_token_by_id(id).await?,
            None => self.find_token(token).await?,
        };
        if let Some(stored) = stored {
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

    /// Checks that the keyring's index key is the one this store's tokens were tagged with: with another
    /// one, every lookup misses and every save of a known user creates a second token. Lookups that miss
    /// run this check once per store object; call it to fail early (at start-up, before an import).
    /// Costs 1 `ListSecrets`. An empty store, or one whose tokens all predate the check tag, passes.
    ///
    /// # Errors
    /// [`Error::WrongIndexKey`]; a backend or key-source failure.
    pub async fn check_index_key(&self) -> Result<()> {
        let ring = self.keys.keyring().await?;
        self.ensure_index_key(&ring).await
    }

    async fn ensure_index_key(&self, ring: &Keyring) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.index_key_checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        let out = self
            .client
            .list_secrets()
            .set_filters(Some(vec![
                self.prefix_filter(),
                Self::filter(FilterNameStringType::TagKey, [index::CHECK_KEY.to_owned()]),
            ]))
            .max_results(20)
            .send()
            .await
            .map_err(|e| aws_error::backend("ListSecrets", e))?;
        let ours = index::check_values(ring);
        let seen: Vec<String> = out
            .secret_list()
            .iter()
            .filter(|s| s.name().is_some_and(|n| self.id_of(n).is_some()))
            .map(|s| tag_pairs(s.tags()))
            .filter(|tags| self.claims(tags))
            .filter_map(|tags| index::tag_value(&tags, index::CHECK_KEY).map(str::to_owned))
            .collect();
        if !seen.is_empty() && !seen.iter().any(|v| ours.contains(v)) {
            return Err(Error::WrongIndexKey {
                prefix: self.prefix.clone(),
            });
        }
        self.index_key_checked.store(true, Ordering::Relaxed);
        Ok(())
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

    pub(crate) fn filter(
        key: FilterNameStringType,
        values: impl IntoIterator<Item = String>,
    ) -> Filter {
        values
            .into_iter()
            .fold(Filter::builder().key(key), |b, v| b.values(v))
            .build()
    }

    fn prefix_filter(&self) -> Filter {
        Self::filter(FilterNameStringType::Name, [self.prefix.clone()])
    }

    // ---- encoding ----------------------------------------------------------------------------------

    /// The secret value for `token` in the secret `name` (see [`envelope::seal_token`]).
    pub(crate) fn encrypt(&self, ring: &Keyring, name: &str, token: &OAuthToken) -> Result<String> {
        // The id inside is the one the name ends with, always: that is how a reader tells this store's
        // secrets from those of a store whose prefix extends this one's (see `decode`).
        let id = self.id_of(name);
        if token.id.as_deref() == id {
            return envelope::seal_token(ring, name, token);
        }
        let mut token = token.clone();
        token.id = id.map(str::to_owned);
        envelope::seal_token(ring, name, &token)
    }

    /// Decrypts a raw value: `None` when it holds another store's token. When it names a key the ring
    /// lacks, the key source reloads once (another process may have rotated keys) and `ring` becomes the
    /// fresh ring.
    pub(crate) async fn decode(
        &self,
        ring: &mut Arc<Keyring>,
        raw: &Raw,
    ) -> Result<Option<OAuthToken>> {
        let key_id = raw.key_id()?;
        if ring.cipher(key_id).is_none() {
            *ring = self.keys.reload(key_id).await?;
        }
        let mut token = envelope::open_token(ring, &raw.name, &raw.envelope)?;
        // Both the name (in the associated data) and the id inside are authenticated, and a token is
        // always written with the id its name ends with. An id that differs is another store's token whose
        // prefix extends ours: `1` under `prod/zoho-eu7` reads as `-eu71` under `prod/zoho`. (A token
        // written without an id predates the rule; its name decides.)
        let id = self.id_of(&raw.name);
        if token.id.is_some() && token.id.as_deref() != id {
            return Ok(None);
        }
        token.id = id.map(str::to_owned);
        Ok(Some(token))
    }

    /// Every secret under the prefix decoded, sorted by token id, with each one that is not a readable
    /// token named apart (what whole-store jobs go on past).
    pub(crate) async fn decode_everything(
        &self,
    ) -> Result<(Vec<(Raw, OAuthToken)>, Vec<Unreadable>)> {
        self.decode_listed(&self.list_tokens().await?).await
    }

    /// The secrets `listed` decoded, as [`Self::decode_everything`].
    pub(crate) async fn decode_listed(
        &self,
        listed: &[Listed],
    ) -> Result<(Vec<(Raw, OAuthToken)>, Vec<Unreadable>)> {
        let raws = self.fetch_listed(listed).await?;
        let mut ring = self.keys.keyring().await?;
        let (mut read, mut unreadable) = (Vec::with_capacity(raws.len()), Vec::new());
        for raw in raws {
            match self.decode(&mut ring, &raw).await {
                Ok(Some(token)) => read.push((raw, token)),
                Ok(None) => {}
                Err(e) if e.is_unreadable_entry() => {
                    unreadable.push(Unreadable::new(&raw.name, self.id_of(&raw.name), e));
                }
                Err(e) => return Err(e),
            }
        }
        read.sort_by(|(_, a), (_, b)| id::order_of(a.id.as_deref(), b.id.as_deref()));
        Ok((read, unreadable))
    }

    /// This store's tokens among `raws`, each with its secret's name.
    async fn decode_all(
        &self,
        ring: &mut Arc<Keyring>,
        raws: Vec<Raw>,
    ) -> Result<Vec<(String, OAuthToken)>> {
        let mut tokens = Vec::with_capacity(raws.len());
        for raw in raws {
            if let Some(token) = self.decode(ring, &raw).await? {
                tokens.push((raw.name, token));
            }
        }
        Ok(tokens)
    }

    // ---- reads -------------------------------------------------------------------------------------

    /// One secret's raw value by name, or `None` when absent or scheduled for deletion.
    pub(crate) async fn read_raw(&self, name: &str) -> Result<Option<Raw>> {
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(out) => Ok(Some(Raw::new(
                name,
                out.version_id(),
                out.secret_string(),
                out.secret_binary(),
            ))),
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(None)
            }
            Err(e) => Err(aws_error::backend("GetSecretValue", e)),
        }
    }

    /// One secret's token: from the cache when it holds a fresh entry, else read (and cached).
    async fn read(&self, ring: &mut Arc<Keyring>, name: &str) -> Result<Option<OAuthToken>> {
        if let Some((token, _)) = self.cache.as_ref().and_then(|c| c.get(name)) {
            return Ok(Some(token));
        }
        self.read_fresh(ring, name).await
    }

    /// One secret's token read from the service, bypassing the cache (and refreshing it).
    async fn read_fresh(&self, ring: &mut Arc<Keyring>, name: &str) -> Result<Option<OAuthToken>> {
        let token = match self.read_raw(name).await? {
            Some(raw) => match self.decode(ring, &raw).await? {
                Some(token) => token,
                // Another store's: for this one, nothing is there.
                None => return Ok(None),
            },
            None => {
                if let Some(cache) = &self.cache {
                    cache.remove(name);
                }
                return Ok(None);
            }
        };
        if let Some(cache) = &self.cache {
            cache.put(ring, name, &token, None);
        }
        Ok(Some(token))
    }

    /// What to write to: a cached entry whose tags are known stands in for `DescribeSecret`.
    async fn state(&self, name: &str) -> Result<State> {
        match self.cache.as_ref().and_then(|c| c.get(name)) {
            Some((_, Some(tags))) => Ok(State::Live(tags)),
            _ => self.describe(name).await,
        }
    }

    /// Every raw value under the prefix (what `get_tokens`, key usage and re-encryption read): the names
    /// from `ListSecrets`, 100 per call, then the token values by name, 20 per call. A prefix-filtered
    /// batch would also fetch the value of every lease and lookup bridge under the prefix, only to
    /// discard it.
    pub(crate) async fn all_raw(&self) -> Result<Vec<Raw>> {
        self.fetch_listed(&self.list_tokens().await?).await
    }

    /// Every secret under the prefix that may be a token of this store, as `ListSecrets` shows it.
    pub(crate) async fn list_tokens(&self) -> Result<Vec<Listed>> {
        self.list(vec![self.prefix_filter()]).await
    }

    async fn fetch_listed(&self, listed: &[Listed]) -> Result<Vec<Raw>> {
        let names: Vec<String> = listed.iter().map(|l| l.name.clone()).collect();
        self.fetch(&names).await
    }

    /// Raw values whose index tags hold any of `digests`, in one `BatchGetSecretValue` (more only if over
    /// 20 match). The filter matches by prefix and does not tie a value to a tag key, so callers re-check
    /// the decrypted token itself (see [`Lookup::best`]).
    async fn find_by_digests(&self, digests: Vec<String>) -> Result<Vec<Raw>> {
        self.batch_get(vec![
            self.prefix_filter(),
            Self::filter(FilterNameStringType::TagValue, digests),
        ])
        .await
    }

    /// Every value matching `filters`, 20 per call, skipping secrets in their recovery window.
    async fn batch_get(&self, filters: Vec<Filter>) -> Result<Vec<Raw>> {
        if let Some(raws) = self.batch_get_filtered(&filters).await? {
            return Ok(raws);
        }
        // Some backends (LocalStack 4.10) fail a whole filtered batch when one match is in its recovery
        // window, instead of reporting it in Errors[] as AWS documents. ListSecrets hides such secrets, so
        // list the matches and fetch them by name: more calls, only while deleted secrets match.
        let names: Vec<String> = self
            .list(filters)
            .await?
            .into_iter()
            .map(|listed| listed.name)
            .collect();
        self.fetch(&names).await
    }

    /// The values of the secrets `names`, 20 per `BatchGetSecretValue`; those gone meanwhile are skipped.
    async fn fetch(&self, names: &[String]) -> Result<Vec<Raw>> {
        let pages: Vec<Vec<Raw>> =
            stream::iter(names.chunks(BATCH_GET_MAX as usize).map(<[String]>::to_vec))
                .map(|chunk| async move {
                    let out = self
                        .client
                        .batch_get_secret_value()
                        .set_secret_id_list(Some(chunk))
                        .send()
                        .await
                        .map_err(|e| aws_error::backend("BatchGetSecretValue", e))?;
                    self.collect_page(&out)
                })
                .buffered(self.concurrency.get())
                .try_collect()
                .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// The filtered batch, page by page; `None` when the backend refused it over a deleted secret.
    async fn batch_get_filtered(&self, filters: &[Filter]) -> Result<Option<Vec<Raw>>> {
        let mut raws = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = match self
                .client
                .batch_get_secret_value()
                .set_filters(Some(filters.to_vec()))
                .max_results(BATCH_GET_MAX)
                .set_next_token(next.take())
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if aws_error::is_scheduled_for_deletion(&e) => return Ok(None),
                Err(e) => return Err(aws_error::backend("BatchGetSecretValue", e)),
            };
            raws.extend(self.collect_page(&out)?);
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(Some(raws)),
            }
        }
    }

    /// The values in one `BatchGetSecretValue` answer. Secrets that vanished or sit in their recovery
    /// window are skipped; any other per-secret failure, and any value that is not an envelope, is an error.
    fn collect_page(&self, out: &BatchGetSecretValueOutput) -> Result<Vec<Raw>> {
        for failure in out.errors() {
            let failure = aws_error::BatchEntryError {
                secret: failure.secret_id().unwrap_or("?").to_owned(),
                code: failure.error_code().unwrap_or("?").to_owned(),
                message: failure.message().unwrap_or_default().to_owned(),
            };
            if !failure.is_gone() {
                return Err(failure.into_error());
            }
        }
        out.secret_values()
            .iter()
            .filter_map(|entry| entry.name().map(|name| (name, entry)))
            // A nested prefix's secret is another store's, not ours.
            .filter(|(name, _)| self.id_of(name).is_some())
            .map(|(name, e)| {
                Ok(Raw::new(
                    name,
                    e.version_id(),
                    e.secret_string(),
                    e.secret_binary(),
                ))
            })
            .collect()
    }

    async fn describe(&self, name: &str) -> Result<State> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) => {
                let tags = tag_pairs(out.tags());
                Ok(if out.deleted_date().is_some() {
                    State::Deleted(tags)
                } else {
                    State::Live(tags)
                })
            }
            Err(e) if aws_error::is_not_found(&e) => Ok(State::Absent),
            Err(e) => Err(aws_error::backend("DescribeSecret", e)),
        }
    }

    /// A live secret's tags and the version holding `AWSCURRENT`; `None` when it is gone or scheduled
    /// for deletion.
    pub(crate) async fn describe_current(
        &self,
        name: &str,
    ) -> Result<Option<(Vec<(String, String)>, Option<String>)>> {
        match self.client.describe_secret().secret_id(name).send().await {
            Ok(out) if out.deleted_date().is_some() => Ok(None),
            Ok(out) => Ok(Some((
                tag_pairs(out.tags()),
                versions::current_version(out.version_ids_to_stages()),
            ))),
            Err(e) if aws_error::is_not_found(&e) => Ok(None),
            Err(e) => Err(aws_error::backend("DescribeSecret", e)),
        }
    }

    /// The stored token for `lookup`, by the cheapest path the contract allows. `not_live` names a
    /// secret the caller has just seen absent or deleted, so it is not read again.
    async fn find(
        &self,
        ring: &mut Arc<Keyring>,
        lookup: &Lookup<'_>,
        not_live: Option<&str>,
    ) -> Result<Option<OAuthToken>> {
        let digests = match lookup {
            Lookup::User(user) => {
                // A token saved without an id lives at a name computed from the user: one read. (During an
                // index-key rotation, older tokens keep the name computed under the previous key.)
                for user_id in index::user_ids(ring, user) {
                    let name = self.name_of(&user_id);
                    if not_live == Some(name.as_str()) {
                        continue;
                    }
                    if let Some(token) = self.read(ring, &name).await?
                        && lookup.rank(&token).is_some()
                    {
                        return Ok(Some(token));
                    }
                }
                // Otherwise it may have been saved under an explicit id: the user index finds it.
                kind_digests(ring, IndexKind::User, Some(*user))
            }
            Lookup::Access(access) => kind_digests(ring, IndexKind::Access, Some(access.secret())),
            Lookup::Credentials { grant, refresh, .. } => {
                // All digests in one filter (values are OR'd); the domain-separated HMAC means a grant
                // digest can only ever match a grant tag. Lookup::best prefers the grant match, and
                // bridges are tried grant first for the same reason.
                let mut digests = kind_digests(ring, IndexKind::Grant, grant.map(|g| g.secret()));
                digests.extend(kind_digests(
                    ring,
                    IndexKind::Refresh,
                    refresh.map(|r| r.secret()),
                ));
                digests
            }
        };
        let values: Vec<String> = digests.iter().map(|(_, d)| d.clone()).collect();
        if let Some(cache) = &self.cache
            && let Some((token, _)) = cache.name_for(&values).and_then(|name| cache.get(&name))
            && lookup.rank(&token).is_some()
        {
            return Ok(Some(token));
        }
        let raws = self.find_by_digests(values).await?;
        let decoded = self.decode_all(ring, raws).await?;
        if let Some(cache) = &self.cache {
            for (name, token) in &decoded {
                cache.put(ring, name, token, None);
            }
        }
        if let Some(best) = lookup.best(decoded.iter().map(|(_, token)| token)) {
            return Ok(Some(best.clone()));
        }
        // The listing may not show a token stored in the last minutes: its bridges are read by name.
        let found = self.find_bridged(ring, lookup, &digests).await?;
        if found.is_none() {
            // A miss under a foreign index key looks like any other miss: rule that out, once.
            self.ensure_index_key(ring).await?;
        }
        Ok(found)
    }

    // ---- writes ------------------------------------------------------------------------------------

    async fn create(
        &self,
        name: &str,
        value: String,
        tags: &[(String, String)],
    ) -> Result<CreateOutcome> {
        let request = self
            .client
            .create_secret()
            .name(name)
            .client_request_token(versions::request_token(name, &value))
            .secret_string(value)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ));
        match request.send().await {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) if aws_error::code(&e) == Some("ResourceExistsException") => {
                Ok(CreateOutcome::Exists)
            }
            Err(e) if aws_error::is_scheduled_for_deletion(&e) => Ok(CreateOutcome::Exists),
            Err(e) => Err(aws_error::backend("CreateSecret", e)),
        }
    }

    /// Writes a new current version; `false` when the secret is gone or in its recovery window (a
    /// cached state was stale, or another process deleted it meanwhile).
    async fn put(&self, name: &str, value: String) -> Result<bool> {
        let sent = self
            .client
            .put_secret_value()
            .secret_id(name)
            .client_request_token(versions::request_token(name, &value))
            .secret_string(value)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(false)
            }
            Err(e) => Err(aws_error::backend("PutSecretValue", e)),
        }
    }

    /// Brings a secret's tags from `current` to `wanted`, with no call when they already agree.
    pub(crate) async fn retag_secret(
        &self,
        name: &str,
        current: &[(String, String)],
        wanted: &[(String, String)],
    ) -> Result<bool> {
        let (changed, stale) = tag_diff(current, wanted);
        let changed: Vec<Tag> = changed
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect();
        let any = !changed.is_empty() || !stale.is_empty();
        if !changed.is_empty() {
            self.client
                .tag_resource()
                .secret_id(name)
                .set_tags(Some(changed))
                .send()
                .await
                .map_err(|e| aws_error::backend("TagResource", e))?;
        }
        if !stale.is_empty() {
            self.client
                .untag_resource()
                .secret_id(name)
                .set_tag_keys(Some(stale))
                .send()
                .await
                .map_err(|e| aws_error::backend("UntagResource", e))?;
        }
        Ok(any)
    }

    /// Writes `token` to the secret `name`, whose state is `state`: create, update, or restore a secret in
    /// its recovery window and update it. The value is written before the tags, so a failure between the
    /// two leaves the right token readable by id and user (and the next save repairs the tags).
    async fn write(
        &self,
        ring: &Keyring,
        name: &str,
        token: &OAuthToken,
        mut state: State,
    ) -> Result<()> {
        let wanted = self.tags_for(ring, token);
        let value = self.encrypt(ring, name, token)?;
        let mut restored = false;
        for _ in 0..3 {
            if let State::Live(tags) | State::Deleted(tags) = &state {
                self.check_claimed(name, tags)?;
            }
            match state {
                State::Absent => match self.create(name, value.clone(), &wanted).await? {
                    CreateOutcome::Created => {
                        self.bridge(ring, name, token, &[]).await;
                        if let Some(cache) = &self.cache {
                            cache.put(ring, name, token, Some(wanted));
                        }
                        return Ok(());
                    }
                    // Another writer created it first (or it is in its recovery window): look again.
                    CreateOutcome::Exists => state = self.describe(name).await?,
                },
                State::Deleted(tags) => {
                    match self.client.restore_secret().secret_id(name).send().await {
                        Ok(_) => {}
                        // Deleted for good between our describe and now: create it afresh.
                        Err(e) if aws_error::is_not_found(&e) => {
                            state = State::Absent;
                            continue;
                        }
                        Err(e) => return Err(aws_error::backend("RestoreSecret", e)),
                    }
                    restored = true;
                    state = State::Live(tags);
                }
                State::Live(tags) => {
                    if !self.put(name, value.clone()).await? {
                        state = self.describe(name).await?;
                        continue;
                    }
                    // A restored secret is new to the listings, whatever tags it had before.
                    let listed = if restored { &[][..] } else { &tags[..] };
                    return self.value_written(ring, name, token, &tags, listed).await;
                }
            }
        }
        Err(Error::Backend {
            operation: "CreateSecret",
            retryable: true,
            throttled: false,
            reason: "the secret kept changing state while being saved; try again".into(),
            source: std::sync::Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(
                format!("secret `{name}` kept changing state while being saved"),
            )),
        })
    }

    /// Writes `token` over the live secret `name`, never creating or restoring it: PutSecretValue itself
    /// refuses a secret that is gone or in its recovery window, so a delete that lands at any moment
    /// before the write stands, and the caller learns of it as [`Error::TokenDeleted`].
    async fn overwrite(&self, ring: &Keyring, name: &str, token: &OAuthToken) -> Result<()> {
        let State::Live(tags) = self.state(name).await? else {
            return Err(self.deleted(name));
        };
        self.check_claimed(name, &tags)?;
        let value = self.encrypt(ring, name, token)?;
        if !self.put(name, value).await? {
            if let Some(cache) = &self.cache {
                cache.remove(name);
            }
            return Err(self.deleted(name));
        }
        self.value_written(ring, name, token, &tags, &tags).await
    }

    /// After a new value landed on the live secret `name` (whose tags were `tags`): its tags follow the
    /// value, bridges are made for the values the listings (which showed `listed`) do not know yet, and
    /// the cache learns it.
    async fn value_written(
        &self,
        ring: &Keyring,
        name: &str,
        token: &OAuthToken,
        tags: &[(String, String)],
        listed: &[(String, String)],
    ) -> Result<()> {
        let wanted = self.tags_for(ring, token);
        self.retag_secret(name, tags, &wanted).await?;
        self.bridge(ring, name, token, listed).await;
        if let Some(cache) = &self.cache {
            cache.put(ring, name, token, Some(wanted));
        }
        Ok(())
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

    /// Deletes the secret `name`; whether it was live (false when it was absent or already in its
    /// recovery window).
    async fn delete_name(&self, name: &str) -> Result<bool> {
        let request = self.client.delete_secret().secret_id(name);
        let request = match self.recovery_window {
            RecoveryWindow::Days(days) => request.recovery_window_in_days(i64::from(days)),
            RecoveryWindow::Immediate => request.force_delete_without_recovery(true),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            // Already gone, or already scheduled: deleting is idempotent.
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(false)
            }
            Err(e) => Err(aws_error::backend("DeleteSecret", e)),
        }
    }

    /// Every live secret matching `filters`, 100 per `ListSecrets` call.
    async fn list_all(&self, filters: Vec<Filter>) -> Result<Vec<SecretListEntry>> {
        let mut found = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let out = self
                .client
                .list_secrets()
                .set_filters(Some(filters.clone()))
                .max_results(LIST_MAX)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| aws_error::backend("ListSecrets", e))?;
            found.extend(out.secret_list().iter().cloned());
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_owned()),
                _ => return Ok(found),
            }
        }
    }

    /// Live secrets matching `filters` that may be this store's (under the prefix, with a valid id, not
    /// tagged as another store's), with their tags.
    async fn list(&self, filters: Vec<Filter>) -> Result<Vec<Listed>> {
        Ok(self
            .list_all(filters)
            .await?
            .iter()
            .filter_map(|secret| {
                let name = secret.name().filter(|name| self.id_of(name).is_some())?;
                let tags = tag_pairs(secret.tags());
                if !self.claims(&tags) {
                    return None;
                }
                Some(Listed {
                    name: name.to_owned(),
                    tags,
                    last_changed: secret
                        .last_changed_date()
                        .and_then(|d| SystemTime::try_from(*d).ok()),
                })
            })
            .collect())
    }

    /// Deletes this store's secrets under the nested prefix `dir` (leases, lookup bridges) created at or
    /// before `cutoff`, without recovery (they hold no token). Returns how many went.
    pub(crate) async fn delete_nested(&self, dir: &str, cutoff: SystemTime) -> Result<usize> {
        let nested = format!("{}{dir}", self.prefix);
        let old: Vec<String> = self
            .list_all(vec![Self::filter(
                FilterNameStringType::Name,
                [nested.clone()],
            )])
            .await?
            .iter()
            .filter(|secret| {
                secret
                    .created_date()
                    .and_then(|d| SystemTime::try_from(*d).ok())
                    .is_none_or(|created| created <= cutoff)
            })
            // Only what this store made: one level below `dir`, not tagged as another store's (a store
            // whose prefix extends ours may keep its own secrets under this name prefix).
            .filter(|secret| self.claims(&tag_pairs(secret.tags())))
            .filter_map(|secret| {
                secret.name().filter(|n| {
                    n.strip_prefix(&nested)
                        .is_some_and(|rest| id::validate(rest).is_ok())
                })
            })
            .map(str::to_owned)
            .collect();
        let count = old.len();
        stream::iter(old)
            .map(|name| async move { self.force_delete(&name).await })
            .buffer_unordered(self.concurrency.get())
            .try_collect::<Vec<()>>()
            .await?;
        Ok(count)
    }

    /// Deletes a secret that holds no token (a lease, a bridge) at once; absent is fine.
    pub(crate) async fn force_delete(&self, name: &str) -> Result<()> {
        match self
            .client
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                Ok(())
            }
            Err(e) => Err(aws_error::backend("DeleteSecret", e)),
        }
    }

    /// This store's own secrets (carrying the marker tag), with their tags.
    pub(crate) async fn list_owned(&self) -> Result<Vec<Listed>> {
        let filters = vec![
            self.prefix_filter(),
            Self::filter(FilterNameStringType::TagKey, [index::MARKER_KEY.to_owned()]),
        ];
        let mut owned = self.list(filters).await?;
        let marker = (index::MARKER_KEY.to_owned(), index::MARKER_VALUE.to_owned());
        owned.retain(|listed| listed.tags.contains(&marker));
        Ok(owned)
    }
}

/// A secret as `ListSecrets` describes it.
pub(crate) struct Listed {
    pub(crate) name: String,
    pub(crate) tags: Vec<(String, String)>,
    pub(crate) last_changed: Option<SystemTime>,
}

/// A value's digests under every index key, current first, each with its index.
fn kind_digests(ring: &Keyring, kind: IndexKind, value: Option<&str>) -> Vec<(IndexKind, String)> {
    value
        .map(|v| kind.digests(ring, v))
        .unwrap_or_default()
        .into_iter()
        .map(|d| (kind, d))
        .collect()
}

/// The tag changes that bring a secret from `current` to `wanted`: tags to set, and keys of ours to
/// remove (tags that are not this crate's are left alone).
fn tag_diff(
    current: &[(String, String)],
    wanted: &[(String, String)],
) -> (Vec<(String, String)>, Vec<String>) {
    let ours = |k: &str| {
        k == index::MARKER_KEY
            || k == index::PREFIX_KEY
            || k == index::CHECK_KEY
            || IndexKind::ALL.iter().any(|i| i.tag_key() == k)
    };
    let stale = current
        .iter()
        .filter(|(k, _)| ours(k) && !wanted.iter().any(|(w, _)| w == k))
        .map(|(k, _)| k.clone())
        .collect();
    let changed = wanted
        .iter()
        .filter(|w| !current.contains(w))
        .cloned()
        .collect();
    (changed, stale)
}

/// Whether a secret's tags already are `wanted` (as far as this crate's tags go).
pub(crate) fn tags_agree(current: &[(String, String)], wanted: &[(String, String)]) -> bool {
    let (changed, stale) = tag_diff(current, wanted);
    changed.is_empty() && stale.is_empty()
}

pub(crate) fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

enum CreateOutcome {
    Created,
    Exists,
}

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
            (Some(given), _) => {
                let name = self.secret_name(given)?;
                let state = self.state(&name).await?;
                (name, state)
            }
            (None, Some(user)) => {
                let derived = self.name_of(&index::user_id(&ring, user));
                match self.state(&derived).await? {
                    State::Live(tags) => (derived, State::Live(tags)),
                    not_live => match self
                        .find(&mut ring, &Lookup::User(user), Some(&derived))
                        .await?
                    {
                        // The user's token lives under another id: update that one.
                        Some(found) => {
                            let name = self.name_of(found.id.as_deref().unwrap_or_default());
                            let state = self.state(&name).await?;
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
                match found.and_then(|f| f.id) {
                    Some(existing) => {
                        let name = self.name_of(&existing);
                        let state = self.state(&name).await?;
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
