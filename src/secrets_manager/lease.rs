//! The refresh lease on Secrets Manager: one small secret per refresh, taken over by compare-and-swap.
//!
//! What shapes it:
//! - AWS keeps every version of a secret younger than 24 hours and refuses past about 100, so a lease
//!   secret that lived on and was rewritten on every acquire and release would stop coordinated
//!   refreshes after a day of hourly ones. The lease secret is created when a refresh starts and
//!   deleted when it ends: a new secret by the same name starts with no versions.
//! - `CreateSecret` is exclusive: of many concurrent creates of one name, exactly one succeeds.
//! - `UpdateSecretVersionStage` with `RemoveFromVersionId` is a compare-and-swap
//!   ([`versions::put_if_current`]): it moves `AWSCURRENT` only if it is still on the version read.
//!   Version ids are unique (each value names a random holder), so a swap never succeeds on a secret
//!   that was deleted and created again meanwhile. LocalStack (unlike AWS) loses a secret's current
//!   version when two swap it at once, so at most one process swaps a lease secret at a time.
//! - A `DeleteSecret` is unconditional: a late one would remove whatever the name holds by then.
//!
//! The lease of token `<id>` is the secret `<prefix>lease/<id>`, whose value names a random holder, its
//! expiry, and its generation (how many times it was taken over since it was free):
//!
//! - **Absent: free.** It is taken by creating it (generation 0); one contender wins, the others wait.
//!   A create retried by the SDK after a lost answer is recognised by its version id, which is our
//!   request token (AWS answers the retry as the first; LocalStack refuses it as existing).
//! - **Held and not expired: wait.**
//! - **Expired** (its expiry plus [`CLOCK_SKEW`] has passed: its holder died or stalled): taken over in
//!   place. The taker first creates the claim `<prefix>lease/<id>/<g + 1>` for generation `g + 1`, which
//!   exactly one contender wins, reads the lease again (the claim's name is used again by later
//!   takeovers, so a slow contender may win it long after the takeover it raced for), and swaps the
//!   lease from the version it read to its own value of generation `g + 1`. The claim keeps the other
//!   contenders from swapping at the same time, and from writing versions the lease would have to
//!   keep; it lives as long as its generation (the next takeover, or the release, deletes it), so a
//!   contender that read the lease just before the swap finds it taken. A claim whose own expiry has
//!   passed was left by a taker that died: the next contender deletes it and claims afresh. So however
//!   many holders die in a row, the token has at most the lease and two claims at any time, and a
//!   takeover costs at most six calls whatever came before.
//! - **The holder** renews its lease while Zoho is slow (a swap from its own version, which only it
//!   makes), and releases it by deleting its claim, then the lease. It does either only while the
//!   lease is surely still its own ([`Lease`]: a third of its time to live before expiry) and abandons
//!   a call still unanswered a sixth of its time to live before expiry, so nothing it sends lands after
//!   a takeover (which waits for the expiry and the clock skew). A holder that cannot renew in time
//!   stops acting on the token, and leaves its lease to expire.
//!
//! Why it never has two holders: a free lease has one creator; an expired one, one successful swap
//! from the version read, and only after its holder stopped acting (by its clock, a third of the time
//! to live before the expiry it wrote; by the taker's, the clock skew after it). Deletions never make
//! a second holder: the holder deletes only its own lease, surely before anyone may take it over, and
//! claims guard nothing but who swaps first. The deletions of a lease not one's own: `delete_token`'s
//! (its holder's renewal then finds it gone and stops; the token is gone anyway), a taker's that finds
//! the lease unable to take a swap (below) while it holds the claim for the expired version it read,
//! and a contender's that finds it with no current version (which LocalStack alone produces, and which
//! nobody can hold). Assumed, as by any lease: hosts' clocks within [`CLOCK_SKEW`], and a call the
//! holder abandoned lands, if at all, within a sixth of the time to live.
//!
//! Versions: a refresh writes one, in a lease that is deleted when the refresh ends; a takeover writes
//! one more in the lease and one in its claim, a renewal one. A lease that reaches the version quota
//! (about a hundred takeovers and renewals within a day without a release) is deleted by the taker that
//! meets the refusal (`LimitExceededException`, which the SDK first retries as throttling), and the
//! next contender creates it afresh; so is a lease whose current version LocalStack lost.
//!
//! Leases of earlier versions of this crate were chains of links, `<prefix>lease/<id>` then `/1`, `/2`
//! ...: their values read as generation 0, a link left by a dead holder counts as a dead claim, and
//! the first takeover of such a lease (or `delete_token`) deletes the links an old chain may hold.
//! While old and new versions run side by side, a dead holder's lease may be taken over by one of
//! each (an old process appends a link where a new one swaps): a second refresh of that expiry.
//! Lease secrets live under a nested prefix, which the store's listings ignore.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde::{Deserialize, Serialize};

use super::SecretsManagerStore;
use super::index::IndexKind;
use crate::aws::error as aws_error;
use crate::aws::versions::{self, Cas};
use crate::error::{Error, Result};
use crate::id;
use crate::key_source::KeySource;
use crate::lease::{CLOCK_SKEW, Lease, RefreshCoordinator};
use crate::token::{OAuthToken, now_ms};

/// Links an earlier version of this crate could leave per token (`<id>` and `<id>/1` to `/7`).
const LEGACY_LINKS: u32 = 8;

#[derive(Serialize, Deserialize)]
struct LeaseValue {
    holder: String,
    /// 0 when released (by versions of this crate that rewrote leases).
    expires_at_ms: u64,
    /// Takeovers since the lease was free; absent in leases of earlier versions of this crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    generation: Option<u32>,
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

/// A value to write into a lease or a claim: who, until when, which generation.
struct Fresh {
    holder: String,
    generation: u32,
    expires_at_ms: u64,
    ttl: Duration,
}

impl Fresh {
    fn new(holder: String, generation: u32, ttl: Duration) -> Self {
        Self {
            holder,
            generation,
            expires_at_ms: now_ms() + ttl.as_millis() as u64,
            ttl,
        }
    }

    /// The value, and the version id a write of it gets (its request token): every value names an
    /// expiry and a random holder, so every write is a distinct version.
    fn value(&self, name: &str) -> (String, String) {
        let value = serde_json::to_string(&LeaseValue {
            holder: self.holder.clone(),
            expires_at_ms: self.expires_at_ms,
            generation: Some(self.generation),
        })
        .unwrap_or_default();
        let version = versions::request_token(name, &value);
        (value, version)
    }

    /// The lease this value, once current as `version`, gives its holder.
    fn lease(&self, token_id: &str, version: String) -> Lease {
        let ttl = self.ttl.as_millis() as u64;
        Lease {
            token_id: token_id.to_owned(),
            generation: self.generation,
            holder: self.holder.clone(),
            version,
            release_by_ms: self.expires_at_ms.saturating_sub(ttl / 3),
            calls_end_by_ms: self.expires_at_ms.saturating_sub(ttl / 6),
        }
    }
}

/// What a read of a lease secret (the lease or a claim) found.
enum Read {
    /// No such secret, or (on LocalStack) one whose current version was lost.
    Absent,
    /// Being deleted: its holder released it a moment ago.
    Deleting,
    /// Its current version, and its value (`None` when unreadable).
    Found {
        version: String,
        value: Option<LeaseValue>,
    },
}

/// What an exclusive create did.
enum Created {
    /// Ours: created now, or by an earlier attempt of the same request whose answer was lost.
    Ours,
    /// Someone else's exists; what a read of it found.
    Theirs(Read),
    /// A deletion of the name is still under way.
    Deleting,
}

/// Runs a call on the lease only until `deadline_ms` (by this host's clock): `None` when it had not
/// answered by then (it was abandoned; it may or may not have landed).
async fn until<T>(deadline_ms: u64, call: impl Future<Output = T>) -> Option<T> {
    let left = deadline_ms.saturating_sub(now_ms());
    if left == 0 {
        return None;
    }
    tokio::time::timeout(Duration::from_millis(left), call)
        .await
        .ok()
}

/// Whether a failed write was refused for the secret's version quota.
fn is_version_quota(e: &Error) -> bool {
    match e {
        Error::Backend { source, .. } => source
            .downcast_ref::<SdkError<PutSecretValueError, HttpResponse>>()
            .and_then(aws_error::code)
            .is_some_and(|code| code == "LimitExceededException"),
        _ => false,
    }
}

/// The nested prefix leases live under.
pub(super) const DIR: &str = "lease/";

/// Whether `rest` (a name under [`DIR`]) is a lease secret this crate makes: `<id>` (a lease) or
/// `<id>/<n>` (a takeover's claim, or a link of an earlier version's chain).
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
    /// The name of a token's lease.
    fn lease_name(&self, token_id: &str) -> Result<String> {
        self.lease_link(token_id, 0)
    }

    /// The name of the claim for generation `n` of a token's lease (`n` > 0; 0 names the lease).
    fn lease_link(&self, token_id: &str, n: u32) -> Result<String> {
        id::validate(token_id)?;
        Ok(match n {
            0 => format!("{}{DIR}{token_id}", self.prefix),
            n => format!("{}{DIR}{token_id}/{n}", self.prefix),
        })
    }

    /// Deletes a token's lease (with the token): the lease, and when it is there, the claims of its
    /// generation and of a takeover under way (and an earlier version's chain): 1 `GetSecretValue`,
    /// and a `DeleteSecret` per secret found. A lease taken a moment later is its holder's to release:
    /// it re-reads the token under it, finds it deleted, and releases.
    pub(crate) async fn delete_lease(&self, token_id: &str) -> Result<()> {
        let name = self.lease_name(token_id)?;
        let generation = match self.read_lease(&name).await? {
            Read::Absent | Read::Deleting => return Ok(()),
            Read::Found { value, .. } => value.and_then(|v| v.generation),
        };
        let mut names = vec![name];
        match generation {
            Some(g) => names.extend(
                (g.max(1)..=g + 1)
                    .map(|n| self.lease_link(token_id, n))
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => names.extend(self.legacy_links(token_id, 1)?),
        }
        futures::future::try_join_all(names.iter().map(|name| self.force_delete(name))).await?;
        Ok(())
    }

    /// Deletes every lease secret of this store (with all its tokens).
    pub(crate) async fn delete_leases(&self) -> Result<usize> {
        self.delete_nested(DIR, std::time::SystemTime::now()).await
    }

    /// The links from `from` on that an earlier version's chain may hold for a token.
    fn legacy_links(&self, token_id: &str, from: u32) -> Result<Vec<String>> {
        (from..LEGACY_LINKS)
            .map(|n| self.lease_link(token_id, n))
            .collect()
    }

    /// The current version and value of a lease secret.
    async fn read_lease(&self, name: &str) -> Result<Read> {
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(current) => Ok(Read::Found {
                version: current.version_id().unwrap_or_default().to_owned(),
                value: current
                    .secret_string()
                    .and_then(|s| serde_json::from_str(s).ok()),
            }),
            Err(e) if aws_error::is_not_found(&e) => Ok(Read::Absent),
            Err(e) if aws_error::is_scheduled_for_deletion(&e) => Ok(Read::Deleting),
            Err(e) => Err(aws_error::backend("GetSecretValue", e)),
        }
    }

    /// Creates a lease secret holding `value` as version `version`, unless it exists.
    async fn create_exclusive(&self, name: &str, value: String, version: &str) -> Result<Created> {
        match self
            .client
            .create_secret()
            .name(name)
            .client_request_token(version)
            .secret_string(value)
            .tags(self.prefix_tag())
            .send()
            .await
        {
            Ok(_) => Ok(Created::Ours),
            Err(e) if aws_error::code(&e) == Some("ResourceExistsException") => {
                // Another process created it first; or the SDK retried our create after its answer
                // was lost and LocalStack refuses the retry (AWS answers it as the first): then the
                // current version is our request token.
                match self.read_lease(name).await? {
                    Read::Found { version: now, .. } if now == version => Ok(Created::Ours),
                    read => Ok(Created::Theirs(read)),
                }
            }
            Err(e) if aws_error::is_scheduled_for_deletion(&e) => Ok(Created::Deleting),
            Err(e) => Err(aws_error::backend("CreateSecret", e)),
        }
    }

    /// Takes a free lease by creating it.
    async fn take_free(&self, token_id: &str, name: &str, ttl: Duration) -> Result<Option<Lease>> {
        let fresh = Fresh::new(id::random(), 0, ttl);
        let (value, version) = fresh.value(name);
        match self.create_exclusive(name, value, &version).await? {
            Created::Ours => Ok(Some(fresh.lease(token_id, version))),
            // It exists but has no current version to read: LocalStack lost it to concurrent writes
            // (AWS never does). Nobody can hold or swap such a lease; deleting it frees the token.
            Created::Theirs(Read::Absent) => {
                if matches!(self.describe_current(name).await?, Some((_, None))) {
                    tracing::warn!(secret = %name, "deleting a lease secret with no current version");
                    self.force_delete(name).await?;
                }
                Ok(None)
            }
            Created::Theirs(_) | Created::Deleting => Ok(None),
        }
    }

    /// Takes over an expired lease, found as `version` holding `value`.
    async fn take_over(
        &self,
        token_id: &str,
        name: &str,
        version: &str,
        value: Option<&LeaseValue>,
        ttl: Duration,
    ) -> Result<Option<Lease>> {
        let from = value.and_then(|v| v.generation);
        let generation = from.unwrap_or(0).saturating_add(1);
        let claim = self.lease_link(token_id, generation)?;
        let fresh = Fresh::new(id::random(), generation, ttl);
        let (claim_value, claim_version) = fresh.value(&claim);
        match self
            .create_exclusive(&claim, claim_value, &claim_version)
            .await?
        {
            Created::Ours => {}
            // A takeover under way, or one whose taker died before swapping (its claim expired):
            // that one serves nobody now, and the next contender claims afresh.
            Created::Theirs(Read::Found { value, .. }) => {
                if value.is_none_or(|v| v.is_free()) {
                    self.force_delete(&claim).await?;
                }
                return Ok(None);
            }
            Created::Theirs(_) | Created::Deleting => return Ok(None),
        }
        // Ours. The claim's name serves every takeover of this generation, so we may have won it long
        // after the takeover we raced for: swap only from the version read, if it is still current.
        match self.read_lease(name).await? {
            Read::Found { version: now, .. } if now == version => {}
            _ => {
                self.force_delete(&claim).await?;
                return Ok(None);
            }
        }
        let (value, new_version) = fresh.value(name);
        match versions::put_if_current(&self.client, name, value, version).await {
            Ok(Cas::Written) => {}
            Ok(Cas::Conflict | Cas::Gone) => {
                self.force_delete(&claim).await?;
                return Ok(None);
            }
            Err(e) if is_version_quota(&e) => {
                // A day of takeovers and renewals without a release: the lease holds all the versions
                // AWS allows. We hold the claim for the expired version still current, so nobody else
                // writes it now: delete it (and its claims), and the next contender creates it afresh.
                tracing::warn!(secret = %name, "lease secret at its version quota: starting it afresh");
                self.force_delete(name).await?;
                let mut names = vec![claim];
                if let Some(g) = from.filter(|g| *g > 0) {
                    names.push(self.lease_link(token_id, g)?);
                }
                futures::future::try_join_all(names.iter().map(|n| self.force_delete(n))).await?;
                return Ok(None);
            }
            Err(e) => {
                let _ = self.force_delete(&claim).await;
                return Err(e);
            }
        }
        // The previous generation's claim serves nobody now; nor do the links of an earlier version's
        // chain when the lease was one (best effort: a link left over counts as a dead claim).
        let stale = match from {
            Some(0) => Vec::new(),
            Some(g) => vec![self.lease_link(token_id, g)?],
            None => self.legacy_links(token_id, 2)?,
        };
        let deleted =
            futures::future::join_all(stale.iter().map(|name| self.force_delete(name))).await;
        if let Some(Err(e)) = deleted.into_iter().find(Result::is_err) {
            tracing::debug!(error = %e, "could not delete an old lease claim; it is swept later");
        }
        Ok(Some(fresh.lease(token_id, new_version)))
    }
}

#[async_trait]
impl RefreshCoordinator for SecretsManagerStore {
    async fn try_acquire(&self, token_id: &str, ttl: Duration) -> Result<Option<Lease>> {
        let name = self.lease_name(token_id)?;
        match self.read_lease(&name).await? {
            Read::Absent => self.take_free(token_id, &name, ttl).await,
            // Its holder deleted it a moment ago (the service deletes asynchronously): the refresh it
            // held has just ended; the caller reads the token again.
            Read::Deleting => Ok(None),
            // Held unless its holder's expiry has passed (an unreadable value counts as expired, as
            // does one released by an older version of this crate).
            Read::Found { value, .. } if value.as_ref().is_some_and(|v| !v.is_free()) => Ok(None),
            Read::Found { version, value } => {
                self.take_over(token_id, &name, &version, value.as_ref(), ttl)
                    .await
            }
        }
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
        let name = self.lease_name(&lease.token_id)?;
        let fresh = Fresh::new(lease.holder.clone(), lease.generation, ttl);
        let (value, version) = fresh.value(&name);
        // Only the holder writes its lease until it expires. A throttled or failed write is an error
        // (retryable), not a lost lease: the caller tries again while there is time. One that has not
        // answered when calls must end may land or not: the holder stops.
        let cas = versions::put_if_current(&self.client, &name, value, &lease.version);
        let Some(written) = until(lease.calls_end_by_ms, cas).await else {
            return Ok(false);
        };
        match written? {
            Cas::Written => {
                *lease = fresh.lease(&lease.token_id, version);
                Ok(true)
            }
            Cas::Gone => Ok(false),
            Cas::Conflict => {
                // Moved by someone else, or by an earlier renewal of ours whose answer was lost (and
                // that the caller retried with a new expiry): then the current value names us.
                let read = until(lease.calls_end_by_ms, self.read_lease(&name)).await;
                match read.transpose()? {
                    Some(Read::Found {
                        version,
                        value: Some(value),
                    }) if value.holder == lease.holder
                        && value.generation == Some(lease.generation) =>
                    {
                        let ours = Fresh {
                            holder: value.holder,
                            generation: lease.generation,
                            expires_at_ms: value.expires_at_ms,
                            ttl,
                        };
                        *lease = ours.lease(&lease.token_id, version);
                        Ok(now_ms() < lease.release_by_ms)
                    }
                    _ => Ok(false),
                }
            }
        }
    }

    async fn release(&self, lease: &Lease) -> Result<()> {
        // Delete it only while it is surely still ours, and abandon a call not answered by the time
        // calls must end; later it may have been taken over, so it is left to expire.
        if now_ms() >= lease.release_by_ms {
            return Ok(());
        }
        let name = self.lease_name(&lease.token_id)?;
        let deleting = async {
            // The claim first: if the lease's deletion then fails, the lease still names its
            // generation, and its next taker deletes that claim.
            if lease.generation > 0 {
                let claim = self.lease_link(&lease.token_id, lease.generation)?;
                if let Err(e) = self.force_delete(&claim).await {
                    tracing::debug!(error = %e, "could not delete a lease claim; it is swept later");
                }
            }
            self.force_delete(&name).await
        };
        match until(lease.calls_end_by_ms, deleting).await {
            Some(deleted) => deleted,
            None => {
                tracing::debug!(secret = %name, "releasing the lease took too long; it expires on its own");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LeaseValue, is_link};

    #[test]
    fn links_are_an_id_or_an_id_and_a_number() {
        assert!(is_link("t1"));
        assert!(is_link("t1/2"));
        assert!(!is_link("t1/"));
        assert!(!is_link("t1/x"));
        assert!(!is_link("t1/2/3"));
        assert!(!is_link("a b"));
    }

    #[test]
    fn leases_of_earlier_versions_read_as_generation_zero_and_released_ones_as_free() {
        let old: LeaseValue = serde_json::from_str(r#"{"holder":"h","expires_at_ms":0}"#).unwrap();
        assert!(old.generation.is_none());
        assert!(old.is_free());
        let held: LeaseValue = serde_json::from_str(&format!(
            r#"{{"holder":"h","expires_at_ms":{},"generation":3}}"#,
            crate::token::now_ms() + 60_000
        ))
        .unwrap();
        assert_eq!(held.generation, Some(3));
        assert!(!held.is_free());
    }
}
