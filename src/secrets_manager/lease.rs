//! The refresh lease on Secrets Manager: a short chain of small secrets per token, each written once.
//!
//! AWS keeps every version of a secret younger than 24 hours and refuses the 101st, so a lease rewritten
//! on every acquire and release would stop every coordinated refresh after a day of hourly ones. And no
//! two processes ever write the same lease secret: LocalStack (unlike AWS) can lose a secret's current
//! version when several compare-and-swap it at once. So a lease is a chain of links,
//! `<prefix>lease/<id>` then `<prefix>lease/<id>/1`, `/2`, ..., each holding who holds it until when:
//!
//! - A link that does not exist is free: it is taken by creating it, which exactly one of many
//!   concurrent callers wins (one version, in a new secret).
//! - A link held and not expired means the lease is held: wait.
//! - A link whose holder's expiry has passed (plus [`CLOCK_SKEW`], as hosts' clocks disagree) was left
//!   by a holder that crashed or stalled: the next link is tried, so a takeover is a create too.
//! - The holder renews its own link while Zoho is slow (a compare-and-swap only it makes), and releases
//!   the lease by deleting its link and the expired ones before it, only while the lease is surely still
//!   its own ([`Lease`]); a holder that is late leaves its link to expire.
//!
//! A refresh writes one version, into a link that is deleted when it ends. Lease secrets live under a
//! nested prefix, which the store's listings ignore.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::SecretsManagerStore;
use super::index::IndexKind;
use crate::aws::error as aws_error;
use crate::aws::versions::{self, Cas};
use crate::error::Result;
use crate::id;
use crate::key_source::KeySource;
use crate::lease::{CLOCK_SKEW, Lease, RefreshCoordinator};
use crate::token::{OAuthToken, now_ms};

/// Links of a chain at most: each one past the first is a holder that died or stalled during the same
/// refresh. Past it, a caller waits (the chain frees itself as its holders' links expire and are swept).
const MAX_LINKS: u32 = 8;

#[derive(Serialize, Deserialize)]
struct LeaseValue {
    holder: String,
    /// 0 when released (by versions of this crate that rewrote leases).
    expires_at_ms: u64,
}

impl LeaseValue {
    fn is_free(&self) -> bool {
        self.expires_at_ms == 0
            || self
                .expires_at_ms
                .saturating_add(CLOCK_SKEW.as_millis() as u64)
                <= now_ms()
    }
}

/// A lease value held for `ttl` from now, and its expiry. Each value names a fresh random holder, so
/// every write is a distinct version.
fn value(ttl: Duration) -> (String, u64) {
    let lease = LeaseValue {
        holder: id::random(),
        expires_at_ms: now_ms() + ttl.as_millis() as u64,
    };
    (
        serde_json::to_string(&lease).unwrap_or_default(),
        lease.expires_at_ms,
    )
}

/// The last moment (by the holder's clock) at which it may still change or delete its link: a third
/// of its time to live before expiry, so the call lands before anyone could take the lease over (nobody
/// does before the holder's clock reaches the expiry, allowing for clock skew), even slow or retried.
fn surely_ours_until(expires_at_ms: u64, ttl: Duration) -> u64 {
    expires_at_ms.saturating_sub(ttl.as_millis() as u64 / 3)
}

/// The nested prefix leases live under.
pub(super) const DIR: &str = "lease/";

/// Whether `rest` (a name under [`DIR`]) is a lease link this crate makes: `<id>` or `<id>/<n>`.
pub(super) fn is_link(rest: &str) -> bool {
    let id = match rest.split_once('/') {
        Some((id, n)) => {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            id
        }
        None => rest,
    };
    id::validate(id).is_ok()
}

impl SecretsManagerStore {
    /// The name of link `n` of a token's lease chain.
    fn lease_link(&self, token_id: &str, n: u32) -> Result<String> {
        id::validate(token_id)?;
        Ok(match n {
            0 => format!("{}{DIR}{token_id}", self.prefix),
            n => format!("{}{DIR}{token_id}/{n}", self.prefix),
        })
    }

    /// Deletes a token's lease (with the token): its first link, which is all a lease holds between
    /// refreshes; links left by crashed holders are swept with the store's leases.
    pub(crate) async fn delete_lease(&self, token_id: &str) -> Result<()> {
        self.force_delete(&self.lease_link(token_id, 0)?).await
    }

    /// Deletes every lease secret of this store (with all its tokens).
    pub(crate) async fn delete_leases(&self) -> Result<usize> {
        self.delete_nested(DIR, std::time::SystemTime::now()).await
    }
}

#[async_trait]
impl RefreshCoordinator for SecretsManagerStore {
    async fn try_acquire(&self, token_id: &str, ttl: Duration) -> Result<Option<Lease>> {
        for link in 0..MAX_LINKS {
            let name = self.lease_link(token_id, link)?;
            match self.client.get_secret_value().secret_id(&name).send().await {
                Ok(current) => {
                    // Held unless its holder's expiry has passed (an unreadable value counts as free,
                    // as does one released by an older version of this crate): then try the next link.
                    let free = current
                        .secret_string()
                        .and_then(|s| serde_json::from_str::<LeaseValue>(s).ok())
                        .is_none_or(|held| held.is_free());
                    if !free {
                        return Ok(None);
                    }
                }
                Err(e) if aws_error::is_not_found(&e) => {
                    return self.create_link(token_id, link, &name, ttl).await;
                }
                // Its holder deleted it a moment ago (the service deletes asynchronously): the refresh
                // it held has just ended; the caller reads the token again.
                Err(e) if aws_error::is_scheduled_for_deletion(&e) => return Ok(None),
                Err(e) => return Err(aws_error::backend("GetSecretValue", e)),
            }
        }
        Ok(None)
    }

    async fn lease_id_for(&self, token: &OAuthToken) -> Result<Option<String>> {
        // The credential the manager will use (a refresh token before a grant), as the keyed digest its
        // index tag holds: the lease's name shows no more than the tag does.
        let (kind, value) = match (&token.refresh_token, &token.grant_token) {
            (Some(refresh), _) => (IndexKind::Refresh, refresh.secret()),
            (None, Some(grant)) => (IndexKind::Grant, grant.secret()),
            (None, None) => return Ok(None),
        };
        let ring = self.keys.keyring().await?;
        Ok(Some(kind.short_name(&kind.digest(&ring, value))))
    }

    async fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool> {
        if now_ms() >= lease.release_by_ms {
            // Too late to be sure it is still ours: it may be taken over by now.
            return Ok(false);
        }
        let name = self.lease_link(&lease.token_id, lease.link)?;
        let (fresh, expires_at_ms) = value(ttl);
        let version = versions::request_token(&name, &fresh);
        // Only the holder ever writes its link; gone means an operator removed it. A throttled or failed
        // write is an error (retryable), not a lost lease: the caller tries again.
        match versions::put_if_current(&self.client, &name, fresh, &lease.version).await? {
            Cas::Written => {
                lease.version = version;
                lease.release_by_ms = surely_ours_until(expires_at_ms, ttl);
                Ok(true)
            }
            Cas::Conflict | Cas::Gone => Ok(false),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        // Delete it only while it is surely still ours; later it may have been taken over (by the next
        // link), so it is left to expire. The links before it expired already.
        if now_ms() >= lease.release_by_ms {
            return Ok(());
        }
        let mut names = Vec::with_capacity(lease.link as usize + 1);
        for link in (0..=lease.link).rev() {
            names.push(self.lease_link(&lease.token_id, link)?);
        }
        futures::future::try_join_all(names.iter().map(|name| self.force_delete(name))).await?;
        Ok(())
    }
}

impl SecretsManagerStore {
    /// Takes link `link` by creating it, held for `ttl`; `None` when another process created it first.
    async fn create_link(
        &self,
        token_id: &str,
        link: u32,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let (fresh, expires_at_ms) = value(ttl);
        let version = versions::request_token(name, &fresh);
        match self
            .client
            .create_secret()
            .name(name)
            .client_request_token(&version)
            .secret_string(fresh)
            .tags(self.prefix_tag())
            .send()
            .await
        {
            Ok(_) => Ok(Some(Lease {
                token_id: token_id.to_owned(),
                link,
                version,
                release_by_ms: surely_ours_until(expires_at_ms, ttl),
            })),
            // Another process created it first, or its holder's deletion is still under way.
            Err(e)
                if aws_error::code(&e) == Some("ResourceExistsException")
                    || aws_error::is_scheduled_for_deletion(&e) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_error::backend("CreateSecret", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_link;

    #[test]
    fn links_are_an_id_or_an_id_and_a_number() {
        assert!(is_link("t1"));
        assert!(is_link("t1/2"));
        assert!(!is_link("t1/"));
        assert!(!is_link("t1/x"));
        assert!(!is_link("t1/2/3"));
        assert!(!is_link("a b"));
    }
}
