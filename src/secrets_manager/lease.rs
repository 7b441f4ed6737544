//! The refresh lease on Secrets Manager: one small secret per token, `<prefix>lease/<id>`.
//!
//! Every change to a lease is atomic on the service. The first lease for a token is taken with
//! `CreateSecret`, which exactly one of many concurrent callers wins. Afterwards the secret stays, and
//! its value says who holds it until when (or that it is free): taking a free or expired lease, renewing
//! it and releasing it are all compare-and-swap writes on the version the caller last saw
//! ([`versions::put_if_current`]), so a release can never free a lease that another process has taken
//! over meanwhile, and of several processes taking over an expired lease exactly one wins.
//!
//! Expiry compares the holder's wall clock (written into the value) with the reader's: hosts disagree a
//! little, so a lease counts as expired only [`CLOCK_SKEW`] after its written expiry. Lease secrets live
//! under a nested prefix, which the store's listings ignore.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::SecretsManagerStore;
use crate::aws::error as aws_error;
use crate::aws::versions::{self, Cas};
use crate::error::Result;
use crate::id;
use crate::lease::{CLOCK_SKEW, Lease, RefreshCoordinator};
use crate::token::now_ms;

#[derive(Serialize, Deserialize)]
struct LeaseValue {
    holder: String,
    /// 0 when released.
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

/// A lease value held for `ttl` from now (`None`: released). Each value names a fresh random holder, so
/// every write is a distinct version.
fn value(ttl: Option<Duration>) -> String {
    let lease = LeaseValue {
        holder: id::random(),
        expires_at_ms: ttl.map_or(0, |ttl| now_ms() + ttl.as_millis() as u64),
    };
    serde_json::to_string(&lease).unwrap_or_default()
}

/// The nested prefix leases live under.
pub(super) const DIR: &str = "lease/";

impl SecretsManagerStore {
    fn lease_name(&self, token_id: &str) -> Result<String> {
        id::validate(token_id)?;
        Ok(format!("{}{DIR}{token_id}", self.prefix))
    }

    /// Deletes a token's lease secret (with the token: a lease outlives its release, so that releasing
    /// is a compare-and-swap rather than a delete).
    pub(crate) async fn delete_lease(&self, token_id: &str) -> Result<()> {
        self.force_delete(&self.lease_name(token_id)?).await
    }

    /// Deletes every lease secret of this store (with all its tokens).
    pub(crate) async fn delete_leases(&self) -> Result<usize> {
        self.delete_nested(DIR, std::time::SystemTime::now()).await
    }
}

#[async_trait]
impl RefreshCoordinator for SecretsManagerStore {
    async fn try_acquire(&self, token_id: &str, ttl: Duration) -> Result<Option<Lease>> {
        let name = self.lease_name(token_id)?;
        let fresh = value(Some(ttl));
        let version = versions::request_token(&name, &fresh);
        let lease = || Lease {
            token_id: token_id.to_owned(),
            version: version.clone(),
        };
        let current = match self.client.get_secret_value().secret_id(&name).send().await {
            Ok(out) => out,
            Err(e) if aws_error::is_not_found(&e) => {
                // No lease secret yet: create it, held. Of concurrent creators exactly one wins.
                return match self
                    .client
                    .create_secret()
                    .name(&name)
                    .client_request_token(&version)
                    .secret_string(&fresh)
                    .tags(self.prefix_tag())
                    .send()
                    .await
                {
                    Ok(_) => Ok(Some(lease())),
                    Err(e)
                        if aws_error::code(&e) == Some("ResourceExistsException")
                            || aws_error::is_scheduled_for_deletion(&e) =>
                    {
                        Ok(None)
                    }
                    Err(e) => Err(aws_error::backend("CreateSecret", e)),
                };
            }
            // A lease secret an older version of this crate deleted on release: still being deleted.
            Err(e) if aws_error::is_scheduled_for_deletion(&e) => return Ok(None),
            Err(e) => return Err(aws_error::backend("GetSecretValue", e)),
        };
        // Held by someone else unless released or expired (an unreadable value counts as free).
        let free = current
            .secret_string()
            .and_then(|s| serde_json::from_str::<LeaseValue>(s).ok())
            .is_none_or(|held| held.is_free());
        let Some(seen) = current.version_id().filter(|_| free) else {
            return Ok(None);
        };
        Ok(
            (versions::put_if_current(&self.client, &name, fresh, seen).await? == Cas::Written)
                .then(lease),
        )
    }

    async fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool> {
        let name = self.lease_name(&lease.token_id)?;
        let fresh = value(Some(ttl));
        let version = versions::request_token(&name, &fresh);
        // A conflict means it expired and was taken over; gone means an operator removed it. A throttled
        // or failed write is an error (retryable), not a lost lease: the caller tries again.
        match versions::put_if_current(&self.client, &name, fresh, &lease.version).await? {
            Cas::Written => {
                lease.version = version;
                Ok(true)
            }
            Cas::Conflict | Cas::Gone => Ok(false),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let name = self.lease_name(&lease.token_id)?;
        // Free it only if it is still ours: a lease that expired and was taken over stays with its new
        // holder (the compare-and-swap fails), and nothing is deleted.
        versions::put_if_current(&self.client, &name, value(None), &lease.version).await?;
        Ok(())
    }
}
