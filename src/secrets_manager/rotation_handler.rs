//! A Secrets Manager rotation handler for one token secret (the four-step rotation contract).
//!
//! Secrets Manager can rotate a secret on a schedule by invoking a Lambda function once per step with
//! `{Step, SecretId, ClientRequestToken}`. For a token secret the steps are:
//!
//! - `createSecret`: unless the version `ClientRequestToken` already exists, refresh the token at Zoho,
//!   encrypt it under the primary key, and store it as that version with the stage `AWSPENDING`;
//! - `setSecret`: nothing (Zoho issued the new access token already);
//! - `testSecret`: decrypt the pending version and check it holds a live access token;
//! - `finishSecret`: move `AWSCURRENT` to the pending version and update the lookup tags, unless the
//!   application saved anything meanwhile (a refresh, a new client secret): `createSecret` records the
//!   version it refreshed from as a staging label on the pending version, and `finishSecret` moves
//!   `AWSCURRENT` only while it is still on that version (a compare-and-swap), so an application save is
//!   never overwritten by the older pending value.
//!
//! A token deleted while a rotation is under way stays deleted: every step fails with
//! [`Error::TokenDeleted`] and writes nothing.
//!
//! Every step is idempotent: re-invoking it after a failure or a duplicate delivery does no harm. The
//! binary `zoho-token-store-rotation` (feature `lambda`) runs this handler on AWS Lambda. The shortest
//! rotation schedule (4 hours) is longer than an access token lives (1 hour), so rotation keeps tokens
//! re-encrypted and refresh tokens exercised; [`TokenManager`](crate::TokenManager) keeps them fresh.

use std::sync::Arc;

use serde::Deserialize;

use super::{Raw, Retag, SecretsManagerStore};
use crate::accounts::AccountsClient;
use crate::aws::error as aws_error;
use crate::aws::versions;
use crate::error::{Error, Result};
use crate::token::{OAuthToken, now_ms};

const CURRENT: &str = "AWSCURRENT";
const PENDING: &str = "AWSPENDING";
/// Staging label on a pending version naming the version it was refreshed from: `zts-base:<version id>`.
const BASE_LABEL: &str = "zts-base:";

/// One rotation step, as Secrets Manager names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RotationStep {
    /// Create the pending version.
    CreateSecret,
    /// Install the pending version in the service that uses it (nothing to do for Zoho).
    SetSecret,
    /// Check the pending version works.
    TestSecret,
    /// Make the pending version current.
    FinishSecret,
}

/// The event Secrets Manager sends the rotation function.
#[derive(Clone, Debug, Deserialize)]
pub struct RotationEvent {
    /// Which step to run.
    #[serde(rename = "Step")]
    pub step: RotationStep,
    /// The secret's ARN or name.
    #[serde(rename = "SecretId")]
    pub secret_id: String,
    /// The id of the version being created.
    #[serde(rename = "ClientRequestToken")]
    pub client_request_token: String,
}

/// Rotates token secrets of one [`SecretsManagerStore`].
#[derive(Debug)]
pub struct RotationHandler {
    store: Arc<SecretsManagerStore>,
    accounts: AccountsClient,
}

impl RotationHandler {
    /// A handler for the tokens of `store`, refreshing through `accounts`.
    pub fn new(store: Arc<SecretsManagerStore>, accounts: AccountsClient) -> Self {
        Self { store, accounts }
    }

    /// Runs one step.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the secret is not one of the store's tokens or the version is not
    /// pending; Zoho failures in `createSecret`; [`Error::InvalidToken`] when `testSecret` finds the
    /// pending token unusable; backend failures.
    pub async fn handle(&self, event: &RotationEvent) -> Result<()> {
        let client = &self.store.client;
        let described = client
            .describe_secret()
            .secret_id(&event.secret_id)
            .send()
            .await
            .map_err(|e| aws_error::backend("DescribeSecret", e))?;
        let name = described.name().unwrap_or_default().to_owned();
        let claimed = self
            .store
            .claims(&crate::secrets_manager::tag_pairs(described.tags()));
        let Some(id) = self.store.id_of(&name).filter(|_| claimed) else {
            return Err(Error::invalid_config(format!(
                "secret `{name}` is not a token of this store"
            )));
        };
        if described.deleted_date().is_some() {
            return Err(Error::TokenDeleted { id: id.to_owned() });
        }
        let token = event.client_request_token.as_str();
        let stages = described
            .version_ids_to_stages()
            .and_then(|v| v.get(token))
            .cloned()
            .unwrap_or_default();
        let current_version = versions::current_version(described.version_ids_to_stages());
        let is_current = stages.iter().any(|s| s == CURRENT);
        let is_pending = stages.iter().any(|s| s == PENDING);
        tracing::info!(secret = %name, step = ?event.step, "rotation step");
        match event.step {
            RotationStep::CreateSecret if is_current || is_pending => Ok(()),
            RotationStep::CreateSecret => self.create(&name, token).await,
            RotationStep::SetSecret => Ok(()),
            RotationStep::TestSecret if !is_pending => Err(not_pending(&name, token)),
            RotationStep::TestSecret => self.test(&name, token).await,
            RotationStep::FinishSecret if is_current => {
                // Finished before: make sure the clean-up happened too.
                self.drop_pending(&name, token, &stages).await?;
                self.sync_tags(&name).await
            }
            RotationStep::FinishSecret if !is_pending => Err(not_pending(&name, token)),
            RotationStep::FinishSecret => {
                let current = current_version
                    .ok_or_else(|| Error::corrupt(&name, "no AWSCURRENT version"))?;
                self.finish(&name, token, &current, &stages).await
            }
        }
    }

    async fn read_version(
        &self,
        name: &str,
        version: Option<&str>,
        stage: &str,
    ) -> Result<(OAuthToken, String)> {
        let out = self
            .store
            .client
            .get_secret_value()
            .secret_id(name)
            .set_version_id(version.map(str::to_owned))
            .version_stage(stage)
            .send()
            .await
            .map_err(|e| aws_error::backend("GetSecretValue", e))?;
        let raw = Raw::new(
            name,
            out.version_id(),
            out.secret_string(),
            out.secret_binary(),
        );
        let mut ring = self.store.keys.keyring().await?;
        let Some(token) = self.store.decode(&mut ring, &raw).await? else {
            return Err(Error::invalid_config(format!(
                "secret `{name}` holds a token of another store, whose prefix extends `{}`",
                self.store.prefix()
            )));
        };
        Ok((token, raw.version_id.unwrap_or_default()))
    }

    async fn create(&self, name: &str, version: &str) -> Result<()> {
        let (mut token, base) = self.read_version(name, None, CURRENT).await?;
        let grant = self.accounts.refresh(&token).await?;
        grant.apply_to(&mut token);
        let ring = self.store.keys.keyring().await?;
        let value = self.store.encrypt(&ring, name, &token)?;
        self.store
            .client
            .put_secret_value()
            .secret_id(name)
            .client_request_token(version)
            .secret_string(value)
            .version_stages(PENDING)
            .version_stages(format!("{BASE_LABEL}{base}"))
            .send()
            .await
            .map_err(|e| aws_error::backend("PutSecretValue", e))?;
        Ok(())
    }

    async fn test(&self, name: &str, version: &str) -> Result<()> {
        let (pending, _) = self.read_version(name, Some(version), PENDING).await?;
        let live =
            pending.access_token.is_some() && pending.expires_at_ms.is_some_and(|at| at > now_ms());
        if !live {
            return Err(Error::invalid_token(format!(
                "the pending version of `{name}` holds no live access token"
            )));
        }
        Ok(())
    }

    async fn finish(
        &self,
        name: &str,
        version: &str,
        current: &str,
        stages: &[String],
    ) -> Result<()> {
        let base = stages.iter().find_map(|s| s.strip_prefix(BASE_LABEL));
        // The application saved after createSecret (a refresh, a new client secret): keep its token. A
        // pending version without a base label (an older handler made it) is treated the same way: when
        // unsure, never overwrite.
        if base != Some(current) {
            tracing::info!(secret = %name, "the token was saved during rotation; keeping that save");
            return self.drop_pending(name, version, stages).await;
        }
        match self
            .store
            .client
            .update_secret_version_stage()
            .secret_id(name)
            .version_stage(CURRENT)
            .move_to_version_id(version)
            .remove_from_version_id(current)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if aws_error::is_scheduled_for_deletion(&e) || aws_error::is_not_found(&e) => {
                return Err(self.store.deleted(name));
            }
            // AWSCURRENT moved between our describe and now: an application save won the race.
            Err(e)
                if matches!(
                    aws_error::code(&e),
                    Some("InvalidParameterException" | "InvalidRequestException")
                ) =>
            {
                tracing::info!(secret = %name, "the token was saved during rotation; keeping that save");
                return self.drop_pending(name, version, stages).await;
            }
            Err(e) => return Err(aws_error::backend("UpdateSecretVersionStage", e)),
        }
        self.drop_pending(name, version, stages).await?;
        self.sync_tags(name).await
    }

    /// Removes the rotation's own labels (`AWSPENDING` and the base label) from `version`.
    async fn drop_pending(&self, name: &str, version: &str, stages: &[String]) -> Result<()> {
        for stage in stages
            .iter()
            .filter(|s| *s == PENDING || s.starts_with(BASE_LABEL))
        {
            self.store
                .client
                .update_secret_version_stage()
                .secret_id(name)
                .version_stage(stage)
                .remove_from_version_id(version)
                .send()
                .await
                .map_err(|e| aws_error::backend("UpdateSecretVersionStage", e))?;
        }
        Ok(())
    }

    /// Points the lookup tags at the current token (its access token changed), only while the value is
    /// the version they are computed from.
    async fn sync_tags(&self, name: &str) -> Result<()> {
        let Some(raw) = self.store.read_raw(name).await? else {
            return Err(self.store.deleted(name));
        };
        self.store
            .retag_from_value(raw, Retag::Write(None))
            .await
            .map(|_| ())
    }
}

fn not_pending(name: &str, version: &str) -> Error {
    Error::invalid_config(format!(
        "version `{version}` of `{name}` is not staged AWSPENDING for rotation"
    ))
}
