//! The refresh lease on Secrets Manager: a create-only secret per token being refreshed.
//!
//! `CreateSecret` is the atomic test-and-set: of many processes creating `<prefix>lease/<id>` at once,
//! exactly one succeeds. Its value names a random holder and an expiry; the holder renews the expiry
//! with a compare-and-swap on the secret's version while its refresh runs, and deletes the secret when
//! done. A holder that dies stops renewing: once the expiry passes, the next process takes the lease
//! over with the same compare-and-swap, so exactly one of the contenders wins. Lease secrets live under
//! a nested prefix, which the store's listing ignores.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{SecretsManagerStore, aws_error, versions};
use crate::error::{Error, Result};
use crate::id;
use crate::lease::{Lease, RefreshCoordinator};
use crate::token::now_ms;

#[derive(Serialize, Deserialize)]
struct LeaseValue {
    holder: String,
    expires_at_ms: u64,
}

fn value(ttl: Duration) -> String {
    let lease = LeaseValue {
        holder: id::random(),
        expires_at_ms: now_ms() + ttl.as_millis() as u64,
    };
    serde_json::to_string(&lease).unwrap_or_default()
}

impl SecretsManagerStore {
    fn lease_name(&self, token_id: &str) -> Result<String> {
        id::validate(token_id)?;
        Ok(format!("{}lease/{token_id}", self.prefix))
    }
}

#[async_trait]
impl RefreshCoordinator for SecretsManagerStore {
    async fn try_acquire(&self, token_id: &str, ttl: Duration) -> Result<Option<Lease>> {
        let name = self.lease_name(token_id)?;
        let fresh = value(ttl);
        let version = versions::request_token(&name, &fresh);
        let created = self
            .client
            .create_secret()
            .name(&name)
            .client_request_token(&version)
            .secret_string(&fresh)
            .send()
            .await;
        match created {
            Ok(_) => {
                return Ok(Some(Lease {
                    token_id: token_id.to_owned(),
                    version,
                }));
            }
            Err(e) if aws_error::code(&e) == Some("ResourceExistsException") => {}
            // Released a moment ago and still being deleted: its holder just finished.
            Err(e) if aws_error::is_scheduled_for_deletion(&e) => return Ok(None),
            Err(e) => return Err(aws_error::backend("CreateSecret", e)),
        }
        // Someone holds it, or held it and died: take it over only if it has expired.
        let current = match self.client.get_secret_value().secret_id(&name).send().await {
            Ok(out) => out,
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                return Ok(None);
            }
            Err(e) => return Err(aws_error::backend("GetSecretValue", e)),
        };
        let expired = current
            .secret_string()
            .and_then(|s| serde_json::from_str::<LeaseValue>(s).ok())
            .is_none_or(|held| held.expires_at_ms <= now_ms());
        let Some(held_version) = current.version_id().filter(|_| expired) else {
            return Ok(None);
        };
        let version = versions::request_token(&name, &fresh);
        Ok(
            versions::put_if_current(&self.client, &name, fresh, held_version)
                .await?
                .then(|| Lease {
                    token_id: token_id.to_owned(),
                    version,
                }),
        )
    }

    async fn renew(&self, lease: &mut Lease, ttl: Duration) -> Result<bool> {
        let name = self.lease_name(&lease.token_id)?;
        let fresh = value(ttl);
        let version = versions::request_token(&name, &fresh);
        let kept = match versions::put_if_current(&self.client, &name, fresh, &lease.version).await
        {
            Ok(kept) => kept,
            // Deleted meanwhile (by a process that took it over and finished): lost.
            Err(Error::Backend { .. }) => false,
            Err(e) => return Err(e),
        };
        if kept {
            lease.version = version;
        }
        Ok(kept)
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        let name = self.lease_name(&lease.token_id)?;
        // Delete only our own lease: if it expired and was taken over, the new holder keeps it.
        match self.client.get_secret_value().secret_id(&name).send().await {
            Ok(out) if out.version_id() == Some(lease.version.as_str()) => {}
            Ok(_) => return Ok(()),
            Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
                return Ok(());
            }
            Err(e) => return Err(aws_error::backend("GetSecretValue", e)),
        }
        match self
            .client
            .delete_secret()
            .secret_id(&name)
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
}
