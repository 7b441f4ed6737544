//! Coordinating refreshes across processes: a lease per token.
//!
//! Zoho allows at most 10 access tokens per refresh token per 10 minutes, so a fleet that refreshes the
//! same expired token at once gets the app throttled. Before refreshing, a [`TokenManager`]
//! (crate::TokenManager) takes the token's lease; whoever does not get it waits and re-reads the stored
//! token, which the holder saves when done.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::token::OAuthToken;

/// How far apart two hosts' clocks may be. A lease is taken over only this long after the expiry its
/// holder wrote, and key-rotation steps that depend on time wait this much longer. Hosts synchronised by
/// NTP (as EC2, Lambda and ECS are) stay well inside it.
pub(crate) const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// A held refresh lease. Keep it until the refreshed token is saved, then release it.
///
/// Its holder acts on the token (calls Zoho, saves) only until [`held_until`](Self::held_until): past
/// that moment another process may take the lease over, so a holder that could not renew it in time
/// stops.
#[derive(Clone, Debug)]
pub struct Lease {
    pub(crate) token_id: String,
    /// How many times the token's lease was taken over since it was last free (see the Secrets
    /// Manager lease): 0 for a lease taken free.
    pub(crate) generation: u32,
    /// Who holds it: random per acquisition, written into the lease, so the holder recognises its own
    /// write when the answer to it was lost.
    pub(crate) holder: String,
    /// The version of the lease secret that holds it, for compare-and-swap.
    pub(crate) version: String,
    /// Until when its holder may still act on it (renew it, free it, call Zoho, save): well before it
    /// expires, by the holder's clock (milliseconds since the epoch; see the Secrets Manager lease).
    pub(crate) release_by_ms: u64,
    /// When a call the holder makes on the lease is abandoned if it has not answered: past it, the
    /// call could land after a takeover (milliseconds since the epoch).
    pub(crate) calls_end_by_ms: u64,
}

impl Lease {
    /// Until when the holder may act on the token under this lease (renewing moves it on); past it
    /// the lease may have been taken over.
    pub fn held_until(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + Duration::from_millis(self.release_by_ms)
    }
}

/// Cross-process mutual exclusion for refreshing one token.
///
/// A lease must survive a slow refresh (the holder renews it) and free itself if its holder dies (it
/// expires after its time to live), and never have two holders: its holder acts on the token only
/// until [`Lease::held_until`], renewing it before then, and stops when a renewal fails for good or
/// comes too late. [`SecretsManagerStore`](crate::SecretsManagerStore) implements it on Secrets
/// Manager.
#[async_trait]
pub trait RefreshCoordinator: Send + Sync + fmt::Debug {
    /// Takes the lease for token `token_id` for `ttl`, or `None` when someone else holds it.
    ///
    /// # Errors
    /// A backend failure.
    async fn try_acquire(&self, token_id: &str, ttl: Duration) -> Result<Option<Lease>>;

    /// Extends a held lease to `ttl` from now; `false` when it was lost (taken over, deleted) or may
    /// have been (too late to be sure it is still held): its holder then stops acting on the token.
    ///
    /// # Errors
    /// A backend failure.
    async fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool>;

    /// A lease id for a token that has no id yet (a grant to exchange, a refresh token to start from),
    /// so processes holding the same credential take the same lease; it must not reveal the
    /// credential. `None`, the default, leaves such tokens uncoordinated.
    ///
    /// # Errors
    /// A failure reading what the id is derived from (keys).
    async fn lease_id_for(&self, token: &OAuthToken) -> Result<Option<String>> {
        let _ = token;
        Ok(None)
    }

    /// Gives the lease up. Releasing a lease that was lost, or that may have been, does nothing (it
    /// expires on its own).
    ///
    /// # Errors
    /// A backend failure.
    async fn release(&self, lease: &Lease) -> Result<()>;
}
