//! Refresh ahead, once across the fleet: what keeps many processes of an app on a Zoho SDK (Python or
//! Node.js) from refreshing the same token at once.
//!
//! The Zoho SDKs refresh in every process on their own: each process whose token has less than 5 s
//! left calls Zoho, so N workers at the moment of expiry make N refreshes (and Zoho allows 10 access
//! tokens per refresh token per 10 minutes). So by default (`refresh_ahead_seconds`, 60, 0 turns it
//! off) the store hands the SDK a token that is not about to expire: the crate's
//! `TokenManager::refresh_ahead` refreshes a found token within its margin first (60 s, or a quarter of
//! a shorter token's lifetime, never under [`MIN_MARGIN`]), under its lease in Secrets Manager, so one
//! process refreshes and the others wait and read its result. The SDK then sees a fresh token and never
//! refreshes by itself. This file only wires it: one manager per accounts server, and the SDK's
//! fallback.
//!
//! A sign-in too: the SDK exchanges a grant token in every process that starts with it and finds nothing
//! stored (the README's setup gives every process the same grant), and Zoho accepts a grant once, so
//! all but one would fail with `invalid_code`. Here a lookup that misses with a grant exchanges it
//! through the same manager: one process under the lease named by the grant's keyed digest, the others
//! wait and find the saved token through the grant's bridge.
//!
//! A token Zoho issued is never thrown away: when saving it fails (an IAM permission missing, AWS
//! throttling), the manager keeps it, this process hands it to the SDK (which would otherwise exchange
//! the spent grant again, or refresh again), the crate logs the AWS cause, and a later lookup saves it.
//!
//! Best effort otherwise: if the refresh fails (Zoho down, a revoked token), the stored token is
//! returned as it is and the SDK's own flow goes on as without this (and reports the failure its own
//! way).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::accounts::AccountsClient;
use crate::error::{Error, Result};
use crate::manager::TokenManager;
use crate::secrets_manager::SecretsManagerStore;
use crate::store::TokenStore;
use crate::token::OAuthToken;

/// How close to expiry the SDKs refresh by themselves (Python's `OAuthToken.get_token`, Node's
/// `getToken`): refreshing ahead must start before that.
pub const SDK_MARGIN: Duration = Duration::from_secs(5);

/// The least margin a short-lived token is refreshed at (unless `refresh_ahead_seconds` is smaller):
/// past the SDK's own 5 s, with a second for the time between this lookup and the SDK's check.
const MIN_MARGIN: Duration = Duration::from_secs(6);

/// How long a refresh lease lives without renewal: short, so a crashed holder (a worker killed mid
/// request) holds the others up briefly; the holder renews it while Zoho is slow.
const LEASE_TTL: Duration = Duration::from_secs(10);

/// How long a process waits for another's refresh before handing the SDK the stored token: past a
/// crashed holder's lease (its time to live, clock skew, a poll), so a waiter takes it over and
/// refreshes once for the fleet rather than leaving it to the SDK in every process.
const WAIT: Duration = Duration::from_secs(20);

/// Where these warnings go: the Python logger `zoho_token_store.refresh` (pyo3-log turns `::` into `.`).
const LOG_TARGET: &str = "zoho_token_store::refresh";

/// The SDK's accounts URL ends with the token endpoint; the crate's client takes the server.
const TOKEN_PATH: &str = "/oauth/v2/token";

/// This process's token managers, one per accounts server.
pub(super) struct Refresher {
    store: Arc<SecretsManagerStore>,
    margin: Duration,
    managers: Mutex<HashMap<String, TokenManager>>,
}

impl Refresher {
    pub(super) fn new(store: Arc<SecretsManagerStore>, margin: Duration) -> Self {
        Self {
            store,
            margin,
            managers: Mutex::new(HashMap::new()),
        }
    }

    /// The accounts server of the SDK's accounts URL.
    fn base(accounts_url: &str) -> String {
        accounts_url
            .trim_end_matches('/')
            .trim_end_matches(TOKEN_PATH)
            .to_owned()
    }

    /// The manager for this accounts server, if one was made.
    fn existing(&self, accounts_url: &str) -> Option<TokenManager> {
        let managers = self.managers.lock().unwrap_or_else(PoisonError::into_inner);
        managers.get(&Self::base(accounts_url)).cloned()
    }

    fn manager(&self, accounts_url: &str) -> Result<TokenManager> {
        let base = Self::base(accounts_url);
        let mut managers = self.managers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(manager) = managers.get(&base) {
            return Ok(manager.clone());
        }
        let store: Arc<dyn TokenStore> = self.store.clone();
        let manager = TokenManager::builder(store, AccountsClient::with_base_url(&base))
            .coordinator(self.store.clone())
            .refresh_margin(self.margin)
            .min_refresh_margin(MIN_MARGIN)
            .lease_ttl(LEASE_TTL)
            .wait_timeout(WAIT)
            // A token exchanged or refreshed here without a user is named as the SDK would name it.
            .sdk_user_names()
            .build()?;
        managers.insert(base, manager.clone());
        Ok(manager)
    }

    /// The token a grant gives, exchanged once for the fleet and saved (named as the SDK names users),
    /// also when saving it failed (the crate keeps it, logs why, and saves it again later: the grant is
    /// spent, the SDK's own exchange would only get `invalid_code`); None when the exchange failed
    /// (logged), so the SDK's own exchange runs and reports it its own way. A revoked stored token whose
    /// spent grant is all the caller has is raised (`TokenRevoked`: sign the user in again).
    pub(super) async fn sign_in(
        &self,
        query: &OAuthToken,
        accounts_url: &str,
    ) -> Result<Option<OAuthToken>> {
        let manager = match self.manager(accounts_url) {
            Ok(manager) => manager,
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, error = %e, "cannot exchange the grant for the fleet; the SDK will");
                return Ok(None);
            }
        };
        match manager.token(query).await {
            Ok(token) => Ok(Some(token)),
            Err(Error::SaveAfterRefresh { token, .. }) => Ok(Some(*token)),
            // The stored token is revoked and the grant is the spent one it came from.
            Err(e @ Error::TokenRevoked { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, error = %e, "exchanging the grant for the fleet failed; the SDK will try");
                Ok(None)
            }
        }
    }

    /// The token this process got from Zoho for `query` but could not save yet (the crate's
    /// `TokenManager::holds_unsaved`), saved now if the store takes it (or refreshed when due); None
    /// when no such token is kept, or it was deleted meanwhile: then the store answers.
    pub(super) async fn unsaved(
        &self,
        query: &OAuthToken,
        accounts_url: &str,
    ) -> Option<OAuthToken> {
        let manager = self.existing(accounts_url)?;
        if !manager.holds_unsaved(query) {
            return None;
        }
        match manager.token(query).await {
            Ok(token) => Some(token),
            // Still refused: the crate logged why when it tried.
            Err(Error::SaveAfterRefresh { token, .. }) => Some(*token),
            Err(Error::TokenDeleted { .. }) => None,
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, error = %e, "refreshing a token this process could not save failed");
                None
            }
        }
    }

    /// `found` made fresh by the crate's [`TokenManager::refresh_ahead`]; on failure, `found` as it is
    /// (the SDK's own refresh then runs). None when the token was deleted meanwhile. Zoho's refusals of
    /// the refresh token (throttled with the access token spent, or revoked) are raised instead: the
    /// SDK's own refresh would only ask Zoho again, which the fleet must not.
    pub(super) async fn freshen(
        &self,
        found: OAuthToken,
        accounts_url: &str,
    ) -> Result<Option<OAuthToken>> {
        let manager = match self.manager(accounts_url) {
            Ok(manager) => manager,
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, error = %e, "cannot refresh ahead; the SDK will refresh");
                return Ok(Some(found));
            }
        };
        match manager.refresh_ahead(found.clone()).await {
            Ok(fresh) => Ok(fresh),
            Err(e @ (Error::Throttled { .. } | Error::TokenRevoked { .. })) => Err(e),
            Err(e) => {
                tracing::warn!(target: LOG_TARGET, error = %e, "refreshing ahead failed; the SDK will refresh");
                Ok(Some(found))
            }
        }
    }
}
