//! Writing secret versions safely: idempotent retries and compare-and-swap.

use aws_sdk_secretsmanager::Client;
use sha2::{Digest, Sha256};

use super::error as aws_error;
use crate::error::Result;

/// The stage a compare-and-swap write parks its new version under until it is promoted.
const PENDING_STAGE: &str = "ZTS_PENDING";

/// A `ClientRequestToken` derived from what is written, so a retry of the same write is a no-op on the
/// service and a different write can never be mistaken for it (API_PutSecretValue: 32 to 64 chars).
pub(crate) fn request_token(name: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([0])
        .chain_update(value.as_bytes())
        .finalize();
    hex::encode(digest)
}

/// What a compare-and-swap write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cas {
    /// The value is now current.
    Written,
    /// Another writer moved `AWSCURRENT` first; their value stands.
    Conflict,
    /// The secret is gone or in its recovery window; nothing was written.
    Gone,
}

/// Writes `value` as the secret's new current version only if `AWSCURRENT` is still on `expected`:
/// the value is first stored under a private stage (leaving `AWSCURRENT` alone), then
/// `UpdateSecretVersionStage` moves `AWSCURRENT` with `RemoveFromVersionId = expected`, which the service
/// refuses when another writer moved it meanwhile. Nothing another writer stored is ever overwritten, and
/// a secret deleted meanwhile stays deleted (the service refuses both writes on it).
pub(crate) async fn put_if_current(
    client: &Client,
    name: &str,
    value: String,
    expected: &str,
) -> Result<Cas> {
    let version = request_token(name, &value);
    match client
        .put_secret_value()
        .secret_id(name)
        .client_request_token(&version)
        .secret_string(value)
        .version_stages(PENDING_STAGE)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
            return Ok(Cas::Gone);
        }
        Err(e) => return Err(aws_error::backend("PutSecretValue", e)),
    }
    match client
        .update_secret_version_stage()
        .secret_id(name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&version)
        .remove_from_version_id(expected)
        .send()
        .await
    {
        Ok(_) => Ok(Cas::Written),
        Err(e) if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) => {
            Ok(Cas::Gone)
        }
        Err(e)
            if matches!(
                aws_error::code(&e),
                Some("InvalidParameterException" | "InvalidRequestException")
            ) =>
        {
            // Refused because AWSCURRENT is no longer on `expected`: another writer moved it, or our
            // own earlier attempt did (the SDK retried a move whose answer was lost). Only the first is
            // a conflict.
            let now = client
                .describe_secret()
                .secret_id(name)
                .send()
                .await
                .map_err(|e| aws_error::backend("DescribeSecret", e))?;
            Ok(
                if current_version(now.version_ids_to_stages()).as_deref() == Some(&version) {
                    Cas::Written
                } else {
                    Cas::Conflict
                },
            )
        }
        Err(e) => Err(aws_error::backend("UpdateSecretVersionStage", e)),
    }
}

/// The version that holds `AWSCURRENT`, from `DescribeSecret`'s stage map.
pub(crate) fn current_version(
    stages: Option<&std::collections::HashMap<String, Vec<String>>>,
) -> Option<String> {
    stages?
        .iter()
        .find(|(_, labels)| labels.iter().any(|l| l == "AWSCURRENT"))
        .map(|(id, _)| id.clone())
}
