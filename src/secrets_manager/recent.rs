//! Lookups that do not wait for the service's listings: a name-addressed bridge for each value a token
//! was just stored with.
//!
//! Lookups by grant, refresh or access token (and by user, for tokens stored under an explicit id) go
//! through the tag index, that is through filtered `BatchGetSecretValue`, which on AWS "might not reflect
//! changes from the last five minutes". For a token stored moments ago that is exactly when it matters:
//! a second process signing in with the same grant token would exchange it again (Zoho answers
//! `invalid_code`), one holding the same refresh token would refresh again.
//!
//! Reads by name are consistent. So when a write gives a secret a value it did not have (a new token, a
//! restored one, a new grant or refresh token), the store also creates `<prefix>recent/<kind><digest>`
//! holding the token's id: a small immutable secret whose name is computed from the same keyed digest
//! as the tag. A lookup whose filtered batch finds nothing reads that name; the token it points at is
//! read by name and re-checked like every candidate, so a stale bridge can never return a wrong token.
//! A refresh (only the access token changes) makes no bridge: nobody is configured with an access token
//! that did not exist yet.
//!
//! A store configured with a zero listing lag (a backend whose listings are consistent) makes and reads
//! no bridges. Bridges are needed only while the listings lag. Creating bridges first deletes those older than the
//! listing lag (at most one `ListSecrets` per lag period per store), so only the last few minutes' stay
//! (twice the lag and clock skew: see [`SecretsManagerStore::sweep_bridges`]).

use std::time::{Instant, SystemTime};

use super::SecretsManagerStore;
use super::index::{self, IndexKind};
use crate::aws::error as aws_error;
use crate::aws::versions;
use crate::error::Result;
use crate::id;
use crate::keyring::Keyring;
use crate::lease::CLOCK_SKEW;
use crate::lookup::Lookup;
use crate::token::OAuthToken;

/// The nested prefix bridges live under (the store's listings ignore nested prefixes).
pub(super) const DIR: &str = "recent/";

impl SecretsManagerStore {
    fn bridge_name(&self, kind: IndexKind, digest: &str) -> String {
        format!("{}{DIR}{}", self.prefix, kind.short_name(digest))
    }

    /// After `token` was written to secret `name`: a bridge for each indexed value the secret did not
    /// carry before (`previous` tags; empty for a secret that was just created or restored). An access
    /// token gets one only when the secret (re)appeared. Best effort: the token is stored whatever
    /// happens here, and a missing bridge only means its lookups wait for the listing.
    pub(crate) async fn bridge(
        &self,
        ring: &Keyring,
        name: &str,
        token: &OAuthToken,
        previous: &[(String, String)],
    ) {
        // Where listings are consistent (a zero lag), nothing needs a bridge.
        let Some(id) = self.id_of(name).filter(|_| !self.listing_lag.is_zero()) else {
            return;
        };
        let appeared = previous.is_empty();
        let wanted: Vec<String> = IndexKind::ALL
            .into_iter()
            .filter(|kind| match kind {
                IndexKind::Access => appeared,
                // A token at its user-derived name is found by that name already.
                IndexKind::User => {
                    token
                        .user_name
                        .as_deref()
                        .map(|u| index::user_id(ring, u))
                        .as_deref()
                        != Some(id)
                }
                _ => true,
            })
            .filter_map(|kind| {
                let digest = kind.digest(ring, kind.value(token)?);
                let tagged = previous
                    .iter()
                    .any(|(k, v)| k == kind.tag_key() && *v == digest);
                (!tagged).then(|| self.bridge_name(kind, &digest))
            })
            .collect();
        if wanted.is_empty() {
            return;
        }
        if let Err(e) = self.sweep_if_due().await {
            tracing::warn!(error = %e, "could not sweep old lookup bridges; they are swept later");
        }
        // Independent of each other: one round trip, not one per bridge.
        let created = futures::future::join_all(wanted.iter().map(|bridge| {
            self.client
                .create_secret()
                .name(bridge)
                .client_request_token(versions::request_token(bridge, id))
                .secret_string(id)
                .tags(self.prefix_tag())
                .send()
        }))
        .await;
        for created in created {
            match created {
                Ok(_) => {}
                // The same value bridged before (a retry, or the same token saved twice): keep it. A
                // bridge pointing elsewhere is harmless, since every lookup re-checks the token.
                Err(e)
                    if aws_error::code(&e) == Some("ResourceExistsException")
                        || aws_error::is_scheduled_for_deletion(&e) => {}
                Err(e) => {
                    let e = aws_error::backend("CreateSecret", e);
                    tracing::warn!(secret = %name, error = %e, "could not create a lookup bridge; lookups of this token by its new values wait for the listing");
                }
            }
        }
    }

    /// The token a bridge points at for one of `digests` of `kind`, if it matches `lookup`.
    pub(crate) async fn find_bridged(
        &self,
        ring: &mut std::sync::Arc<Keyring>,
        lookup: &Lookup<'_>,
        bridges: &[(IndexKind, String)],
    ) -> Result<Option<OAuthToken>> {
        if self.listing_lag.is_zero() {
            return Ok(None);
        }
        // Bridges come best rank first (a grant before a refresh token): the first match is the answer.
        for (kind, digest) in bridges {
            let bridge = self.bridge_name(*kind, digest);
            let out = match self
                .client
                .get_secret_value()
                .secret_id(&bridge)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e)
                    if aws_error::is_not_found(&e) || aws_error::is_scheduled_for_deletion(&e) =>
                {
                    continue;
                }
                Err(e) => return Err(aws_error::backend("GetSecretValue", e)),
            };
            let Some(id) = out.secret_string().filter(|id| id::validate(id).is_ok()) else {
                continue;
            };
            if let Some(token) = self.read(ring, &self.name_of(id)).await?
                && lookup.rank(&token).is_some()
            {
                return Ok(Some(token));
            }
        }
        Ok(None)
    }

    /// Deletes bridges older than twice the listing lag plus clock skew, at most once per lag period per
    /// store: by then the listings show what they bridged. Returns how many went.
    ///
    /// Why the margins: a bridge's age is the service's creation date against this host's clock, which
    /// may run fast (by up to 5 s of clock skew), and AWS gives no hard bound on its listing lag ("might
    /// not reflect changes from the last five minutes"). Past twice the configured lag, a lookup by grant, refresh or
    /// access token of a token the listing still does not show misses: the Zoho SDK then refreshes once
    /// more (harmless), or exchanges a grant again (Zoho answers `invalid_code`; the user signs in again).
    /// A store expecting longer lags says so with `listing_lag`.
    ///
    /// # Errors
    /// A backend failure.
    pub async fn sweep_bridges(&self) -> Result<usize> {
        let cutoff = SystemTime::now()
            .checked_sub(self.listing_lag * 2 + CLOCK_SKEW)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.delete_bridges(cutoff).await
    }

    /// Deletes the bridges created at or before `cutoff` (all of them, for `delete_tokens`).
    pub(crate) async fn delete_bridges(&self, cutoff: SystemTime) -> Result<usize> {
        self.delete_nested(DIR, cutoff).await
    }

    async fn sweep_if_due(&self) -> Result<()> {
        {
            let mut last = self
                .last_sweep
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < self.listing_lag) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        self.sweep_bridges().await.map(|_| ())
    }
}
