//! Lookup planning: which secrets a lookup reads, and in what order.
//!
//! By name or by index tag, through the cache and the lookup bridges; and the check that the keyring's
//! index key is the store's.

use std::sync::{Arc, PoisonError};

use aws_sdk_secretsmanager::types::FilterNameStringType;

use super::index::{self, IndexKind};
use super::{Raw, SecretsManagerStore, tag_pairs};
use crate::error::{Error, Result};
use crate::key_source::KeySource;
use crate::keyring::Keyring;
use crate::lookup::Lookup;
use crate::token::OAuthToken;

/// The least time before a check that found no tagged token looks again.
const INDEX_KEY_RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

impl SecretsManagerStore {
    /// Checks that the keyring's index key is the one this store's tokens were tagged with: with another
    /// one, every lookup misses and every save of a known user creates a second token. Lookups that miss
    /// run this check until it has judged by the store's tagged tokens once per store object; call it to
    /// fail early (at start-up, before an import). Costs 1 `ListSecrets`, more only while the service
    /// answers empty pages that say more may follow. An empty store, or one whose tokens all predate the
    /// check tag, passes, and is looked at again after the listing lag (at least a minute): its tokens
    /// may not be listed yet.
    ///
    /// # Errors
    /// [`Error::WrongIndexKey`]; a backend or key-source failure.
    pub async fn check_index_key(&self) -> Result<()> {
        let ring = self.keys.keyring().await?;
        self.ensure_index_key(&ring).await
    }

    pub(super) async fn ensure_index_key(&self, ring: &Keyring) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.index_key_checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        let recheck_after = self.listing_lag.max(INDEX_KEY_RECHECK);
        let unseen_at = *self
            .index_key_unseen_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if unseen_at.is_some_and(|at| at.elapsed() < recheck_after) {
            return Ok(());
        }
        let filters = vec![
            self.prefix_filter(),
            Self::filter(FilterNameStringType::TagKey, [index::CHECK_KEY.to_owned()]),
        ];
        let ours = index::check_values(ring);
        let mut next = None;
        loop {
            // An empty page with a NextToken says nothing about the store: read on until one shows
            // tagged tokens, or the listing ends.
            let (page, token) = self
                .list_page(filters.clone(), 20, next.take(), false)
                .await?;
            let seen: Vec<String> = page
                .iter()
                .filter(|s| s.name().is_some_and(|n| self.id_of(n).is_some()))
                .map(|s| tag_pairs(s.tags()))
                .filter(|tags| self.claims(tags))
                .filter_map(|tags| index::tag_value(&tags, index::CHECK_KEY).map(str::to_owned))
                .collect();
            if !seen.is_empty() {
                if !seen.iter().any(|v| ours.contains(v)) {
                    return Err(Error::WrongIndexKey {
                        prefix: self.prefix.clone(),
                    });
                }
                self.index_key_checked.store(true, Ordering::Relaxed);
                return Ok(());
            }
            match token {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        *self
            .index_key_unseen_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(std::time::Instant::now());
        Ok(())
    }

    /// The stored token for `lookup`, by the cheapest path the contract allows. `not_live` names a
    /// secret the caller has just seen absent or deleted, so it is not read again.
    pub(super) async fn find(
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
            && let Some(token) = cache.name_for(&values).and_then(|name| cache.get(&name))
            && lookup.rank(&token).is_some()
        {
            return Ok(Some(token));
        }
        let raws = self.find_by_digests(values).await?;
        let decoded = self.decode_all(ring, raws).await?;
        if let Some(cache) = &self.cache {
            for (name, token) in &decoded {
                cache.put(ring, name, token);
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

    /// One secret's token: from the cache when it holds a fresh entry, else read (and cached).
    pub(super) async fn read(
        &self,
        ring: &mut Arc<Keyring>,
        name: &str,
    ) -> Result<Option<OAuthToken>> {
        if let Some(token) = self.cache.as_ref().and_then(|c| c.get(name)) {
            return Ok(Some(token));
        }
        self.read_fresh(ring, name).await
    }

    /// One secret's token read from the service, bypassing the cache (and refreshing it).
    pub(super) async fn read_fresh(
        &self,
        ring: &mut Arc<Keyring>,
        name: &str,
    ) -> Result<Option<OAuthToken>> {
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
            cache.put(ring, name, &token);
        }
        Ok(Some(token))
    }

    /// Raw values whose index tags hold any of `digests`, in one `BatchGetSecretValue` (more only if over
    /// 20 match). The filter matches by prefix and does not tie a value to a tag key, so callers re-check
    /// the decrypted token itself (see [`Lookup::best`]).
    pub(super) async fn find_by_digests(&self, digests: Vec<String>) -> Result<Vec<Raw>> {
        self.batch_get(vec![
            self.prefix_filter(),
            Self::filter(FilterNameStringType::TagValue, digests),
        ])
        .await
    }
}

/// A value's digests under every index key, current first, each with its index.
pub(super) fn kind_digests(
    ring: &Keyring,
    kind: IndexKind,
    value: Option<&str>,
) -> Vec<(IndexKind, String)> {
    value
        .map(|v| kind.digests(ring, v))
        .unwrap_or_default()
        .into_iter()
        .map(|d| (kind, d))
        .collect()
}
