//! Tokens this process got from Zoho but could not save: kept, handed out, and saved again later.
//!
//! A grant is accepted once, and its refresh token exists nowhere else: a token exchanged for it and then
//! lost to a failed save (a missing IAM permission, AWS throttling) leaves the user to sign in again, and
//! every process that tries the spent grant again gets Zoho's `invalid_code` instead of the AWS cause.
//! A refreshed token lost so is one more call to Zoho, which allows ten per ten minutes. So the manager
//! keeps such a token, hands it to the callers that ask for it, and saves it again on a later lookup,
//! at most once per back-off step (1 s, doubling to a minute), until the store takes it. The save never
//! brings back a token deleted meanwhile (an id is only updated, see [`TokenStore::update_token`]) and
//! never overwrites a newer token another process stored meanwhile.

use std::sync::PoisonError;
use std::time::{Duration, Instant};

use super::Inner;
use crate::error::{Error, Result};
use crate::store::TokenStore;
use crate::token::OAuthToken;

/// The first pause before saving again, doubled after each failure up to [`MAX_BACKOFF`]: a lookup per
/// request must not become a failing write per request (AWS throttles those too).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// One token waiting to be saved.
pub(super) struct Unsaved {
    token: OAuthToken,
    /// Why its last save failed.
    cause: Error,
    /// No save is tried before this.
    next_try: Instant,
    backoff: Duration,
}

/// What [`Inner::settle_unsaved`] found.
pub(super) enum Settled {
    /// No unsaved token matches: look it up as usual.
    Nothing,
    /// Saved now, or found newer in the store: the stored token.
    Saved(OAuthToken),
    /// Still not saved (or not tried yet: backing off): the token, and why.
    Unsaved(OAuthToken, Error),
}

/// Whether `partial` (a caller's query) asks for `unsaved`: the same id, or for a query without one the
/// same user or any of the same grant, refresh or access token (of the same client, when both name one).
pub(super) fn matches(unsaved: &OAuthToken, partial: &OAuthToken) -> bool {
    fn same<T: PartialEq>(a: Option<&T>, b: Option<&T>) -> bool {
        a.is_some() && a == b
    }
    if partial.id.is_some() {
        return same(unsaved.id.as_ref(), partial.id.as_ref());
    }
    if unsaved.client_id.is_some()
        && partial.client_id.is_some()
        && unsaved.client_id != partial.client_id
    {
        return false;
    }
    same(unsaved.user_name.as_ref(), partial.user_name.as_ref())
        || same(unsaved.grant_token.as_ref(), partial.grant_token.as_ref())
        || same(
            unsaved.refresh_token.as_ref(),
            partial.refresh_token.as_ref(),
        )
        || same(unsaved.access_token.as_ref(), partial.access_token.as_ref())
}

impl Inner {
    /// Keeps `token`, which Zoho issued and the store refused with `cause`, in place of any older unsaved
    /// token it matches.
    pub(super) fn remember_unsaved(&self, token: &OAuthToken, cause: &Error) {
        tracing::warn!(
            token = token.id.as_deref().unwrap_or("(new)"),
            error = %cause,
            "got a token from Zoho but could not save it; this process keeps using it and saves it again \
             on a later lookup"
        );
        let mut unsaved = self.unsaved.lock().unwrap_or_else(PoisonError::into_inner);
        unsaved.retain(|u| !matches(&u.token, token) && !matches(token, &u.token));
        unsaved.push(Unsaved {
            token: token.clone(),
            cause: cause.clone(),
            next_try: Instant::now() + FIRST_BACKOFF,
            backoff: FIRST_BACKOFF,
        });
    }

    /// Drops any unsaved token `saved` supersedes (it was just stored).
    pub(super) fn forget_unsaved(&self, saved: &OAuthToken) {
        let mut unsaved = self.unsaved.lock().unwrap_or_else(PoisonError::into_inner);
        if !unsaved.is_empty() {
            unsaved.retain(|u| !matches(&u.token, saved) && !matches(saved, &u.token));
        }
    }

    /// Whether an unsaved token matches `partial`.
    pub(super) fn holds_unsaved(&self, partial: &OAuthToken) -> bool {
        let unsaved = self.unsaved.lock().unwrap_or_else(PoisonError::into_inner);
        unsaved.iter().any(|u| matches(&u.token, partial))
    }

    /// The unsaved token `partial` asks for, saved now when its back-off allows.
    ///
    /// # Errors
    /// [`Error::TokenDeleted`] when it is a refreshed token whose stored token was deleted meanwhile: it
    /// is dropped, and the deletion stands.
    pub(super) async fn settle_unsaved(&self, partial: &OAuthToken) -> Result<Settled> {
        // Claimed under the lock (its next try moved on), so concurrent lookups make one save.
        let (claimed, waiting) = {
            let mut unsaved = self.unsaved.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(entry) = unsaved.iter_mut().find(|u| matches(&u.token, partial)) else {
                return Ok(Settled::Nothing);
            };
            let now = Instant::now();
            if entry.next_try > now {
                (entry.token.clone(), Some(entry.cause.clone()))
            } else {
                entry.backoff = (entry.backoff * 2).min(MAX_BACKOFF);
                entry.next_try = now + entry.backoff;
                (entry.token.clone(), None)
            }
        };
        if let Some(cause) = waiting {
            // Not saved again yet, but a token deleted meanwhile is not handed out either: one read
            // tells (free while the read cache holds it), and a failed read changes nothing.
            if let Some(id) = &claimed.id
                && let Ok(None) = self.store.find_token_by_id(id).await
            {
                self.forget_unsaved(&claimed);
                return Err(Error::TokenDeleted { id: id.clone() });
            }
            return Ok(Settled::Unsaved(claimed, cause));
        }
        match save_again(self.store.as_ref(), &claimed).await {
            Ok(stored) => {
                self.forget_unsaved(&claimed);
                tracing::info!(
                    token = stored.id.as_deref().unwrap_or_default(),
                    "saved a token got from Zoho earlier, whose save had failed"
                );
                Ok(Settled::Saved(stored))
            }
            Err(e @ Error::TokenDeleted { .. }) => {
                self.forget_unsaved(&claimed);
                Err(e)
            }
            Err(e) => {
                let retry_in = {
                    let mut unsaved = self.unsaved.lock().unwrap_or_else(PoisonError::into_inner);
                    let entry = unsaved.iter_mut().find(|u| matches(&u.token, &claimed));
                    entry.map(|entry| {
                        entry.cause = e.clone();
                        entry.backoff
                    })
                };
                tracing::warn!(
                    token = claimed.id.as_deref().unwrap_or("(new)"),
                    error = %e,
                    retry_in = ?retry_in.unwrap_or_default(),
                    "saving a token got from Zoho failed again; this process keeps using it"
                );
                Ok(Settled::Unsaved(claimed, e))
            }
        }
    }
}

/// Writes `token` to `store` unless a newer one is stored: over the token of its id (never re-creating
/// it), else over the stored token of its user or credentials, else as a new token. The stored token.
async fn save_again(store: &dyn TokenStore, token: &OAuthToken) -> Result<OAuthToken> {
    let stored = match &token.id {
        Some(id) => match store.reload_token(id).await? {
            Some(stored) => Some(stored),
            None => return Err(Error::TokenDeleted { id: id.clone() }),
        },
        // Found by its user or credentials, not its access token (no stored token has it). The query
        // carries nothing else: find_token fills the fields a query leaves empty, and an expiry of this
        // token's beside the stored access token would make the stored one look newer than it is.
        None => {
            store
                .find_token(&OAuthToken {
                    user_name: token.user_name.clone(),
                    client_id: token.client_id.clone(),
                    client_secret: token.client_secret.clone(),
                    grant_token: token.grant_token.clone(),
                    refresh_token: token.refresh_token.clone(),
                    ..OAuthToken::default()
                })
                .await?
        }
    };
    match stored {
        // Another process refreshed it, or the SDK saved its own refresh, since: that one stays.
        Some(stored) if stored.expires_at_ms >= token.expires_at_ms => Ok(stored),
        Some(stored) => {
            let mut newer = token.clone();
            newer.id.clone_from(&stored.id);
            // The same refresh token is the same user, whom the stored copy names as it was named
            // (by the SDK on its first save, or by another process's naming): a token got before its
            // user was known, or named here another way (an address without the SDK's `:<org id>`),
            // takes that name rather than being refused as naming none or another user.
            if newer.refresh_token.is_some()
                && newer.refresh_token == stored.refresh_token
                && stored.user_name.is_some()
            {
                newer.user_name.clone_from(&stored.user_name);
            }
            store.update_token(&newer).await?;
            Ok(newer)
        }
        None => {
            let mut new = token.clone();
            store.save_token(&mut new).await?;
            Ok(new)
        }
    }
}
