//! How a refresh happens: single flight, the fleet's lease, the lookup, the due check.
//!
//! One refresh in flight per token in a process, under the fleet's lease when a coordinator is set; the
//! lookup it starts from, and when a token is due.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::{Inner, MAX_REFRESH_MARGIN, UserNaming};
use crate::error::{Error, Result};
use crate::lease::{Lease, RefreshCoordinator};
use crate::token::{OAuthToken, now_ms};

pub(super) struct ClearOnDrop {
    pub(super) inner: Arc<Inner>,
    pub(super) key: String,
}

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        let mut inflight = self
            .inner
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Remove only a dead entry: a newer flight for the same token may already have replaced ours.
        if inflight
            .get(&self.key)
            .is_some_and(|weak| weak.upgrade().is_none())
        {
            inflight.remove(&self.key);
        }
    }
}

/// A token to refresh, and whether it came from the store: a stored token is only ever written back
/// over itself ([`TokenStore::update_token`]), so a delete that happens meanwhile stands; a token the
/// caller brought (nothing stored yet) is saved as new.
#[derive(Clone)]
pub(super) struct Found {
    pub(super) token: OAuthToken,
    pub(super) stored: bool,
}

impl Found {
    pub(super) fn stored(token: OAuthToken) -> Self {
        Self {
            token,
            stored: true,
        }
    }
}

/// One in-flight refresh per token: by id, else user, else a hash of the refresh or grant token (the
/// token itself never becomes a map key).
pub(super) fn flight_key(token: &OAuthToken) -> String {
    if let Some(id) = &token.id {
        return format!("id:{id}");
    }
    if let Some(user) = &token.user_name {
        return format!("user:{user}");
    }
    let secret = token
        .refresh_token
        .as_ref()
        .map(|r| r.secret())
        .or(token.grant_token.as_ref().map(|g| g.secret()))
        .unwrap_or_default();
    format!("h:{}", hex::encode(Sha256::digest(secret.as_bytes())))
}

impl Inner {
    /// The stored token for `partial` (by id, else as find_token), merged with the caller's values; or the
    /// caller's own token when nothing is stored but it can be exchanged or refreshed.
    pub(super) async fn lookup(&self, partial: &OAuthToken) -> Result<Found> {
        let mut query = partial.clone();
        query.normalize();
        let stored = match &query.id {
            Some(id) => self.store.find_token_by_id(id).await?.map(|stored| {
                let mut merged = query.clone();
                merged.fill_from(&stored);
                merged
            }),
            None => self.store.find_token(&query).await?,
        };
        match (stored, &query.id) {
            // Zoho revoked the stored refresh token, and the caller brings a grant that is not the one
            // the stored token came from: a new sign-in, whose token replaces the revoked one (saved by
            // user, as any sign-in). The stored grant is read apart: `find_token` let the caller's win.
            (Some(token), None)
                if token.refusal.is_some_and(|r| r.is_revoked())
                    && query.grant_token.is_some()
                    && self.stored_grant(&token).await? != query.grant_token =>
            {
                let mut signing_in = query;
                signing_in.refresh_token = None;
                signing_in.access_token = None;
                signing_in.expires_at_ms = None;
                Ok(Found {
                    token: signing_in,
                    stored: false,
                })
            }
            (Some(token), _) => Ok(Found::stored(token)),
            // An id names a stored token: gone means deleted, and a save could not bring it back
            // anyway (see `TokenStore::save_token`), so Zoho is not asked for a token nobody can keep.
            (None, Some(id)) => Err(Error::TokenDeleted { id: id.clone() }),
            (None, None) if query.grant_token.is_some() || query.refresh_token.is_some() => {
                Ok(Found {
                    token: query,
                    stored: false,
                })
            }
            (None, None) => Err(Error::invalid_token(
                "no stored token matches, and there is no grant or refresh token to get one; authorize the user first",
            )),
        }
    }

    /// The grant token the stored copy of `token` holds (by its id), as the store has it.
    async fn stored_grant(&self, token: &OAuthToken) -> Result<Option<crate::GrantToken>> {
        let Some(id) = &token.id else {
            return Ok(None);
        };
        Ok(self
            .store
            .find_token_by_id(id)
            .await?
            .and_then(|stored| stored.grant_token))
    }

    /// Whether the token needs a refresh: no access token, or less than `margin` left, fitted to the
    /// token's lifetime when it is known (a quarter of it, see `margin.rs`), so a token that lives
    /// minutes is not due on arrival in any process. The very token this manager got from a refresh
    /// less than that margin ago (same id and expiry) is used until it actually expires, so a short lifetime from Zoho that the token does
    /// not record cannot start a refresh loop in this process either.
    pub(super) fn is_due(&self, token: &OAuthToken, margin: Duration) -> bool {
        let (Some(_), Some(expires_at)) = (&token.access_token, token.expires_at_ms) else {
            return true;
        };
        let now = now_ms();
        if now >= expires_at {
            return true;
        }
        // Forced refreshes (refresh_now, or a refresh_due window beyond the longest margin) ask for it.
        let forced = margin > MAX_REFRESH_MARGIN;
        let margin = if forced {
            margin
        } else {
            self.margin_for(token, margin)
        };
        if now.saturating_add(margin.as_millis() as u64) < expires_at {
            return false;
        }
        if forced {
            return true;
        }
        let recent = self
            .refreshed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only for the very token that refresh gave (its expiry): an older copy of it (a read cache's
        // entry, a copy read before the refresh) is due as any other, so it is re-read and the fresh one
        // handed over. Handed over as it is, a copy with less than the SDK's 5 s left would be refreshed
        // by the SDK on its own: a second, uncoordinated refresh for the fleet.
        recent
            .get(&flight_key(token))
            .is_none_or(|(at, expiry)| *expiry != Some(expires_at) || at.elapsed() >= margin)
    }

    pub(super) async fn refresh(
        self: Arc<Self>,
        found: Found,
        margin: Duration,
    ) -> Result<OAuthToken> {
        let Some(coordinator) = self.coordinator.clone() else {
            return self.refresh_now(found).await;
        };
        // A stored token's lease is named by its id. One with no id yet (a grant to exchange, a refresh
        // token to start from) by its credential, so processes that start together with the same one
        // exchange it once: the others wait, then find the saved token by that credential.
        let id = match &found.token.id {
            Some(id) => id.clone(),
            None => match coordinator.lease_id_for(&found.token).await? {
                Some(lease_id) => lease_id,
                None => return self.refresh_now(found).await,
            },
        };
        let mut started = Instant::now();
        let mut lost_once = false;
        let mut pause = Duration::from_millis(100);
        loop {
            if let Some(lease) = coordinator.try_acquire(&id, self.lease_ttl).await? {
                let held = HeldLease {
                    coordinator: Arc::clone(&coordinator),
                    lease: Arc::new(Mutex::new(lease)),
                    released: false,
                };
                match self.refresh_holding(found.clone(), margin, held).await {
                    Holding::Done(result) => return *result,
                    // Another process may hold it now and refresh: wait for its token as any waiter
                    // does, for a whole wait (once: a process that keeps losing leases gives up).
                    Holding::Lost if !lost_once => {
                        lost_once = true;
                        started = Instant::now();
                        pause = Duration::from_millis(100);
                    }
                    Holding::Lost => {}
                }
            }
            if started.elapsed() >= self.wait_timeout {
                return Err(Error::RefreshTimeout {
                    id,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
            // The holder saves before it releases: the stored token may be fresh now.
            match self.latest(&found).await? {
                Some(stored) if !self.is_due(&stored, margin) => return Ok(stored),
                None if found.stored => return Err(Error::TokenDeleted { id }),
                _ => {}
            }
        }
    }

    /// Refreshes under a held lease: [`Holding::Lost`] when the lease was lost, or may have been,
    /// before the refresh ended (then nothing more is done under it: no call to Zoho, no save).
    async fn refresh_holding(
        &self,
        found: Found,
        margin: Duration,
        mut held: HeldLease,
    ) -> Holding {
        let id = found.token.id.clone().unwrap_or_default();
        // Re-read under the lease: another process may have refreshed just before we took it (or, for a
        // token with no id, exchanged its grant and saved the result), or an operator may have deleted the
        // token (then it stays deleted: no call to Zoho, nothing written).
        let latest = match self.latest(&found).await {
            Ok(Some(stored)) if !self.is_due(&stored, margin) => {
                held.release().await;
                return Holding::Done(Box::new(Ok(stored)));
            }
            Ok(Some(stored)) => Found::stored(stored),
            Ok(None) if found.stored => {
                held.release().await;
                return Holding::Done(Box::new(Err(Error::TokenDeleted { id })));
            }
            Ok(None) => found,
            Err(e) => {
                held.release().await;
                return Holding::Done(Box::new(Err(e)));
            }
        };
        // The refresh runs only while the lease is surely held: the watch ends when it was lost or
        // may have been, and the refresh is dropped where it stands (a call to Zoho or a save in
        // flight is abandoned). Checked first, so a lease already past its time starts nothing.
        // Except a grant's exchange: a grant is single-use, so once it is sent Zoho's answer is the only
        // copy of the token it gives. It runs to its end and is saved; a process that took the lease
        // over meanwhile could only have the same grant refused.
        let result = if latest.token.refresh_token.is_none() {
            let exchange = self.refresh_now(latest);
            tokio::pin!(exchange);
            tokio::select! {
                biased;
                result = &mut exchange => Some(result),
                // Renewed while it runs; lost, it still runs to its end.
                () = held.watch(self.lease_ttl, &id) => Some(exchange.await),
            }
        } else {
            tokio::select! {
                biased;
                () = held.watch(self.lease_ttl, &id) => None,
                result = self.refresh_now(latest) => Some(result),
            }
        };
        match result {
            Some(result) => {
                held.release().await;
                Holding::Done(Box::new(result))
            }
            None => {
                tracing::warn!(token = %id, "refresh lease lost while refreshing; stopped, waiting for the new holder");
                // Not ours to delete any more: it expires, or its new holder releases it.
                held.released = true;
                Holding::Lost
            }
        }
    }

    /// The stored token as it is now, read past any cache: by id, or for a token with no id yet by its
    /// grant or refresh token (lookup bridges find one saved a moment ago).
    async fn latest(&self, found: &Found) -> Result<Option<OAuthToken>> {
        match &found.token.id {
            Some(id) => self.store.reload_token(id).await,
            // By its credential: an access token it was configured with is not the stored one's.
            None => match self
                .store
                .find_token(&OAuthToken {
                    access_token: None,
                    ..found.token.clone()
                })
                .await?
            {
                Some(matched) => match &matched.id {
                    Some(id) => Ok(self
                        .store
                        .reload_token(id)
                        .await?
                        // A revoked token is what this sign-in replaces, not its result.
                        .filter(|latest| !latest.refusal.is_some_and(|r| r.is_revoked()))),
                    None => Ok(Some(matched)),
                },
                None => Ok(None),
            },
        }
    }

    /// Calls Zoho, fills in the new access token, discovers the user if needed, and saves.
    async fn refresh_now(&self, found: Found) -> Result<OAuthToken> {
        let Found { token, stored } = found;
        let grant = if token.refresh_token.is_some() {
            // Re-read under the lease: another process may have learnt of a refusal meanwhile.
            super::refusals::may_ask(&token)?;
            match self.accounts.refresh(&token).await {
                Ok(grant) => grant,
                Err(e) => return Err(self.on_refusal(&token, stored, e).await),
            }
        } else {
            self.accounts.exchange_grant(&token).await?
        };
        let mut fresh = token;
        grant.apply_to(&mut fresh);
        // Zoho answered: whatever it refused before no longer stands.
        fresh.refusal = None;
        self.refreshed_at
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(flight_key(&fresh), (Instant::now(), fresh.expires_at_ms));
        let unsaved = |fresh: &OAuthToken, e: Error| Error::SaveAfterRefresh {
            token: Box::new(fresh.clone()),
            source: Box::new(e),
        };
        if fresh.user_name.is_none()
            && let (Some(domain), Some(access)) = (&fresh.api_domain, &fresh.access_token)
        {
            let named = match self.user_naming {
                UserNaming::Off => None,
                UserNaming::Email => Some(self.accounts.current_user(domain, access).await),
                UserNaming::Sdk => Some(self.accounts.sdk_user_name(domain, access).await),
            };
            match named {
                Some(Ok(user)) => fresh.user_name = Some(user),
                Some(Err(e)) => return Err(unsaved(&fresh, e)),
                None => {}
            }
        }
        let mut saved = fresh.clone();
        let written = if stored {
            self.store.update_token(&saved).await
        } else {
            self.store.save_token(&mut saved).await
        };
        match written {
            Ok(()) => {
                self.forget_unsaved(&saved);
                Ok(saved)
            }
            // Deleted while Zoho answered: the deletion stands, and the fresh token is not handed out.
            Err(e @ Error::TokenDeleted { .. }) => {
                self.forget_unsaved(&fresh);
                Err(e)
            }
            // Kept, so the token Zoho issued (for a grant, the only copy of its refresh token) is not
            // lost: handed to callers and saved again later (see unsaved.rs).
            Err(e) => {
                self.remember_unsaved(&fresh, &e);
                Err(unsaved(&fresh, e))
            }
        }
    }
}

/// How a refresh under a lease ended.
enum Holding {
    /// It ran to its end (or found nothing to do): its result.
    Done(Box<Result<OAuthToken>>),
    /// The lease was lost, or may have been, before it ended: it stopped.
    Lost,
}

/// A lease this process holds; released on every path, and by a spawned task if the refresh is
/// cancelled (otherwise it would only free itself when its time to live runs out).
struct HeldLease {
    coordinator: Arc<dyn RefreshCoordinator>,
    lease: Arc<Mutex<Lease>>,
    released: bool,
}

impl HeldLease {
    async fn release(&mut self) {
        self.released = true;
        let lease = self.lease.lock().await.clone();
        if let Err(e) = self.coordinator.release(&lease).await {
            tracing::warn!(error = %e, "could not release a refresh lease; it expires on its own");
        }
    }

    /// Keeps the lease while the refresh runs, renewing it a third of its time to live after each
    /// renewal; returns when it was lost (taken over, deleted), or may have been: its renewal failed
    /// for good, or did not succeed before the moment its holder must stop acting on it. A throttled
    /// or failed renewal is not a lost lease: it is still ours until then, so it is tried again soon.
    async fn watch(&self, ttl: Duration, id: &str) {
        let ttl_ms = ttl.as_millis() as u64;
        let mut retry_at = None;
        loop {
            let release_by = self.lease.lock().await.release_by_ms;
            // Renewed at a third of its time to live, when two thirds remain.
            let due = retry_at.unwrap_or(release_by.saturating_sub(ttl_ms / 3));
            let now = now_ms();
            if now >= release_by {
                return;
            }
            if now < due {
                tokio::time::sleep(Duration::from_millis(due.min(release_by) - now)).await;
                continue;
            }
            let mut lease = self.lease.lock().await;
            match self.coordinator.renew(&mut lease, ttl).await {
                Ok(true) => retry_at = None,
                Err(e) if e.is_retryable() => {
                    tracing::debug!(token = %id, error = %e, "renewing the refresh lease failed; retrying");
                    retry_at = Some(now_ms() + ttl_ms / 12);
                }
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(token = %id, error = %e, "renewing the refresh lease failed");
                    return;
                }
            }
        }
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (coordinator, lease) = (Arc::clone(&self.coordinator), Arc::clone(&self.lease));
            runtime.spawn(async move {
                let lease = lease.lock().await.clone();
                let _ = coordinator.release(&lease).await;
            });
        }
    }
}
