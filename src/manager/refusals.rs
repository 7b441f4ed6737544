//! Zoho's refusals, honoured by the whole fleet: a throttled refresh token is left alone until its window
//! ends, and a revoked one for good, whichever process learnt it.
//!
//! The process that gets `Access Denied` or `invalid_code` for a refresh token records it on the stored
//! token ([`ZohoRefusal`], in its encrypted value); every process reads it with the token, before any
//! lease or call to Zoho. While throttled, a token whose access token still works is used as it is;
//! once that expires, callers get [`Error::Throttled`] saying when to try again. A revoked token fails
//! every lookup with [`Error::TokenRevoked`] (naming the user and the fix) until a new sign-in stores a
//! new refresh token, which carries no refusal.

use std::time::Duration;

use super::Inner;
use crate::error::{Error, Result};
use crate::refusal::ZohoRefusal;
use crate::token::{OAuthToken, now_ms};

/// Past the least margin, how much longer a throttled token's access token must still live to be handed
/// over: a client that refreshes by itself at the least margin (the SDKs, at 5 s) must not get one it
/// would refresh at once, inside the throttle.
const HAND_OVER_SLACK: Duration = Duration::from_secs(1);

/// [`Error::TokenRevoked`] when `token`'s refresh token was refused for good.
pub(super) fn revoked(token: &OAuthToken) -> Result<()> {
    match token.refusal {
        Some(ZohoRefusal::Revoked { .. }) => Err(Error::TokenRevoked {
            user: token.user_name.clone(),
        }),
        _ => Ok(()),
    }
}

/// What a standing refusal of `token`'s refresh token means for a caller that wants a token: `None`
/// when there is none (or it ended); else the error to answer with, or, while throttled, `None` as long
/// as the access token has more than `floor` (and a little) left: it is used as it is, and nobody
/// refreshes it.
pub(super) fn refused(token: &OAuthToken, floor: Duration) -> Option<Error> {
    if let Err(e) = revoked(token) {
        return Some(e);
    }
    let throttle = standing(token)?;
    (!usable(token, floor)).then(|| Error::Throttled {
        until: throttle.until(),
    })
}

/// Whether `token`'s access token may be handed over while its refresh token is throttled: it has more
/// than `floor` (and a little) left.
pub(super) fn usable(token: &OAuthToken, floor: Duration) -> bool {
    let floor = (floor + HAND_OVER_SLACK).as_millis() as u64;
    token.access_token.is_some()
        && token
            .expires_at_ms
            .is_some_and(|at| now_ms().saturating_add(floor) < at)
}

/// The refusal that keeps Zoho from being asked for `token` at all, if any: a throttle whose window has
/// not ended, or a revocation.
pub(super) fn standing(token: &OAuthToken) -> Option<ZohoRefusal> {
    token.refusal.filter(|r| r.stands_at(now_ms()))
}

/// `Ok(())` unless a standing refusal forbids asking Zoho for `token`'s refresh token now.
pub(super) fn may_ask(token: &OAuthToken) -> Result<()> {
    if token.refresh_token.is_none() {
        return Ok(());
    }
    revoked(token)?;
    match standing(token) {
        Some(throttle) => Err(Error::Throttled {
            until: throttle.until(),
        }),
        None => Ok(()),
    }
}

impl Inner {
    /// Zoho refused `token`'s refresh token with `error`: records what that means on the stored token
    /// (when `stored`), so the fleet honours it, and returns the error the caller gets. Other errors
    /// pass through. Recording is best effort: a failed write is logged, and the refusal still returned.
    pub(super) async fn on_refusal(&self, token: &OAuthToken, stored: bool, error: Error) -> Error {
        let (refusal, answer) = match &error {
            Error::Throttled { .. } => {
                let refusal = ZohoRefusal::throttled_now();
                let until = refusal.until();
                (refusal, Error::Throttled { until })
            }
            Error::InvalidGrant { what, .. } if *what == "refresh token" => (
                ZohoRefusal::revoked_now(),
                Error::TokenRevoked {
                    user: token.user_name.clone(),
                },
            ),
            _ => return error,
        };
        if stored {
            match self.mark(token, refusal).await {
                Ok(()) => tracing::warn!(
                    token = token.id.as_deref().unwrap_or_default(),
                    refusal = %refusal.status(),
                    "Zoho refused the refresh token; recorded for every process"
                ),
                Err(e) => tracing::warn!(
                    token = token.id.as_deref().unwrap_or_default(),
                    error = %e,
                    "Zoho refused the refresh token, and recording it failed; other processes may ask again"
                ),
            }
        }
        answer
    }

    /// Records `refusal` on the stored copy of `token`, read again first: only while it still holds the
    /// refresh token Zoho refused (a sign-in or a save by another process meanwhile stored a newer one,
    /// which is left as it is), and written over that fresh copy, never over newer values with older.
    async fn mark(&self, token: &OAuthToken, refusal: ZohoRefusal) -> Result<()> {
        let Some(id) = &token.id else {
            return Ok(());
        };
        match self.store.reload_token(id).await? {
            // Only over the copy the refusal is about: a refresh that landed since (a newer access token)
            // means Zoho answered someone after all.
            Some(mut latest)
                if latest.refresh_token == token.refresh_token
                    && latest.access_token == token.access_token =>
            {
                latest.refusal = Some(refusal);
                self.store.update_token(&latest).await
            }
            _ => Ok(()),
        }
    }
}
