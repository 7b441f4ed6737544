//! [`TokenManager`]: the Zoho SDK's token flow over any [`TokenStore`], safe under concurrency.

mod margin;
mod refresh;
mod refusals;
mod unsaved;

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, WeakShared};
use futures::{FutureExt, StreamExt, stream};
use reqwest::header::HeaderValue;

use crate::accounts::AccountsClient;
use crate::error::{Error, Result};
use crate::lease::{CLOCK_SKEW, RefreshCoordinator};
use crate::secret::AccessToken;
use crate::store::TokenStore;
use crate::token::OAuthToken;
use refresh::{ClearOnDrop, Found, flight_key};
use unsaved::{Settled, Unsaved};

/// The default refresh margin: refresh when the access token has less than this left. Long enough for
/// slow networks and clock skew, far below Zoho's one-hour lifetime. A token whose lifetime is known is
/// refreshed within a quarter of it when that is shorter (see
/// [`TokenManagerBuilder::min_refresh_margin`]).
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The default least margin for a short-lived token: the Zoho SDKs refresh by themselves within 5 s of
/// expiry, so a token handed to one should have more than that left.
pub const DEFAULT_MIN_REFRESH_MARGIN: Duration = Duration::from_secs(5);
/// The longest accepted margin: a margin near the token's lifetime would refresh on every request.
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(15 * 60);

/// What a waiter needs past a lease's time to live and clock skew to see it expired and take it over
/// (its longest pause between polls, and the takeover's own calls).
const TAKEOVER_POLL: Duration = Duration::from_secs(2);

// The map holds flights weakly: when every caller of a refresh is cancelled, the refresh itself is
// dropped (releasing its lease) instead of lingering half-done for the next caller.
type WeakFlight = WeakShared<BoxFuture<'static, Result<OAuthToken>>>;

/// Hands out valid access tokens: looks the token up, exchanges the grant token or refreshes as the Zoho
/// SDK does, saves, and returns it.
///
/// Within a process, one refresh per token is in flight at a time and every caller shares its result;
/// an error or the cancellation of every caller clears it, so it never sticks. Across processes, give it
/// a [`RefreshCoordinator`] (a [`SecretsManagerStore`](crate::SecretsManagerStore) is one): it takes the
/// token's lease before refreshing and re-reads the stored token first, so a fleet hitting the same
/// expired token makes one call to Zoho.
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use zoho_token_store::{AccountsClient, DataCenter, Keyring, OAuthToken, SecretsManagerStore, TokenManager};
///
/// let config = aws_config::load_from_env().await;
/// let store = Arc::new(SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::new(&config), Keyring::from_env()?).build()?);
/// let manager = TokenManager::builder(store.clone(), AccountsClient::new(DataCenter::Us)).coordinator(store).build()?;
/// let header = manager.authorization_header(&OAuthToken::default().with_user_name("alice@example.com")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn TokenStore>,
    accounts: AccountsClient,
    coordinator: Option<Arc<dyn RefreshCoordinator>>,
    margin: Duration,
    min_margin: Duration,
    lease_ttl: Duration,
    wait_timeout: Duration,
    user_naming: UserNaming,
    concurrency: NonZeroUsize,
    inflight: SyncMutex<HashMap<String, WeakFlight>>,
    /// When this manager last refreshed each token, and the expiry Zoho gave that refresh: the memory
    /// holds for that very token only, not for an older copy of it (see `Inner::is_due`).
    refreshed_at: SyncMutex<HashMap<String, (Instant, Option<u64>)>>,
    /// Tokens Zoho issued that the store refused, kept until a later save succeeds (see unsaved.rs).
    unsaved: SyncMutex<Vec<Unsaved>>,
}

/// The settings and the number of refreshes in flight: the in-flight and recently-refreshed maps are
/// keyed by token id or user name, which do not belong in a log.
impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let in_flight = self
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        let unsaved = self
            .unsaved
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("TokenManager")
            .field("store", &self.store)
            .field("accounts", &self.accounts)
            .field("coordinated", &self.coordinator.is_some())
            .field("margin", &self.margin)
            .field("min_margin", &self.min_margin)
            .field("lease_ttl", &self.lease_ttl)
            .field("wait_timeout", &self.wait_timeout)
            .field("user_naming", &self.user_naming)
            .field("concurrency", &self.concurrency)
            .field("in_flight", &in_flight)
            .field("unsaved", &unsaved)
            .finish()
    }
}

/// Builds a [`TokenManager`]; start with [`TokenManager::builder`].
#[derive(Debug)]
#[must_use]
pub struct TokenManagerBuilder {
    store: Arc<dyn TokenStore>,
    accounts: AccountsClient,
    coordinator: Option<Arc<dyn RefreshCoordinator>>,
    margin: Duration,
    min_margin: Duration,
    lease_ttl: Duration,
    wait_timeout: Duration,
    user_naming: UserNaming,
    concurrency: NonZeroUsize,
}

/// How a new token saved without a user name gets one.
#[derive(Clone, Copy, Debug)]
pub(super) enum UserNaming {
    /// It stays without one.
    Off,
    /// The CRM's current user's email.
    Email,
    /// As the Zoho SDK 8 names users in its signatures: `<email>:<org zgid>`.
    Sdk,
}

impl TokenManagerBuilder {
    /// Coordinates refreshes across processes through `coordinator` (e.g. the same
    /// [`SecretsManagerStore`](crate::SecretsManagerStore)).
    pub fn coordinator(mut self, coordinator: Arc<dyn RefreshCoordinator>) -> Self {
        self.coordinator = Some(coordinator);
        self
    }

    /// Refresh when the access token has less than `margin` left (default 60 s, at most 15 min), or,
    /// for a token whose lifetime is known (it records when Zoho issued it) and a quarter of that is
    /// shorter, less than that quarter: a token living 90 s is refreshed 22.5 s before expiry, not 60 s
    /// (which would make a 40 s token due on arrival, a refresh loop). See
    /// [`min_refresh_margin`](Self::min_refresh_margin) for the least margin.
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The least margin a short token's quarter of life is raised to (default 5 s, the Zoho SDKs' own:
    /// a token handed to an SDK with less than that left is refreshed by the SDK in every process). It
    /// never exceeds the refresh margin, nor half the token's lifetime, so a fresh token is never due.
    pub fn min_refresh_margin(mut self, floor: Duration) -> Self {
        self.min_margin = floor;
        self
    }

    /// How long a refresh lease lasts without renewal (default 30 s). The holder renews it every third
    /// of that, so a slow refresh keeps it; a dead holder's lease frees itself after this long.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// How long to wait for another process's refresh before giving up (default 40 s). It must be longer
    /// than the lease's time to live plus clock skew and a poll, or a waiter would give up before a
    /// crashed holder's lease could be taken over.
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// Do not look up the user's name (`GET /crm/v8/users?type=CurrentUser`) for new tokens saved
    /// without one. By default the manager does, as the Zoho SDK does, so the token is findable by user.
    pub fn without_user_discovery(mut self) -> Self {
        self.user_naming = UserNaming::Off;
        self
    }

    /// Names discovered users as the Zoho SDK 8 does in its user signatures, `<email>:<org zgid>`
    /// ([`AccountsClient::sdk_user_name`]: one more CRM call per discovery), so a token this manager
    /// saves for an SDK app is found by the names that app uses.
    pub fn sdk_user_names(mut self) -> Self {
        self.user_naming = UserNaming::Sdk;
        self
    }

    /// How many tokens [`TokenManager::refresh_due`] refreshes at once (default 4).
    pub fn concurrency(mut self, concurrency: NonZeroUsize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Builds the manager.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a margin or least margin above 15 minutes, a lease time to live under
    /// 3 seconds, or a wait timeout that ends before a crashed holder's lease can be taken over.
    pub fn build(self) -> Result<TokenManager> {
        if self.margin.max(self.min_margin) > MAX_REFRESH_MARGIN {
            return Err(Error::invalid_config(format!(
                "refresh margin {:?} is above {MAX_REFRESH_MARGIN:?}; a margin near the token's one-hour \
                 life would refresh on every request",
                self.margin.max(self.min_margin)
            )));
        }
        if self.lease_ttl < Duration::from_secs(3) {
            return Err(Error::invalid_config(
                "lease time to live must be at least 3 seconds",
            ));
        }
        let takeover = self.lease_ttl + CLOCK_SKEW + TAKEOVER_POLL;
        if self.wait_timeout < takeover {
            return Err(Error::invalid_config(format!(
                "wait timeout {:?} ends before a crashed holder's lease can be taken over ({:?} of lease \
                 time to live, {CLOCK_SKEW:?} of clock skew, {TAKEOVER_POLL:?} to poll): wait at least \
                 {takeover:?}, or shorten the lease time to live",
                self.wait_timeout, self.lease_ttl
            )));
        }
        Ok(TokenManager {
            inner: Arc::new(Inner {
                store: self.store,
                accounts: self.accounts,
                coordinator: self.coordinator,
                margin: self.margin,
                min_margin: self.min_margin,
                lease_ttl: self.lease_ttl,
                wait_timeout: self.wait_timeout,
                user_naming: self.user_naming,
                concurrency: self.concurrency,
                inflight: SyncMutex::default(),
                refreshed_at: SyncMutex::default(),
                unsaved: SyncMutex::default(),
            }),
        })
    }
}

/// What [`TokenManager::refresh_due`] did.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RefreshDueReport {
    /// Stored tokens looked at.
    pub examined: usize,
    /// Tokens refreshed (or found freshly refreshed by another process).
    pub refreshed: usize,
    /// Tokens whose refresh failed, by id, with why.
    pub failed: Vec<(Option<String>, Error)>,
}

impl TokenManager {
    /// Starts a builder over `store`, talking to Zoho through `accounts`.
    pub fn builder(store: Arc<dyn TokenStore>, accounts: AccountsClient) -> TokenManagerBuilder {
        TokenManagerBuilder {
            store,
            accounts,
            coordinator: None,
            margin: DEFAULT_REFRESH_MARGIN,
            min_margin: DEFAULT_MIN_REFRESH_MARGIN,
            lease_ttl: Duration::from_secs(30),
            wait_timeout: Duration::from_secs(40),
            user_naming: UserNaming::Email,
            concurrency: NonZeroUsize::new(4).unwrap_or(NonZeroUsize::MIN),
        }
    }

    /// A token with a valid access token for `partial` (an id, user name, grant, refresh or access token
    /// and client credentials, as the Zoho SDK takes them): found, exchanged or refreshed, and saved.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when nothing is stored and there is no grant or refresh token to get a
    /// token with; the Zoho errors ([`Error::InvalidGrant`], [`Error::Throttled`], ...);
    /// [`Error::SaveAfterRefresh`] (with the fresh token) when saving failed: the manager keeps that
    /// token, hands it out in the same error while the store keeps refusing it (the error names why),
    /// and saves it again on a later call, so a grant's token is not lost and Zoho is not asked again;
    /// [`Error::TokenDeleted`] when the token was deleted meanwhile; store failures.
    pub async fn token(&self, partial: &OAuthToken) -> Result<OAuthToken> {
        let margin = self.inner.margin;
        let found = match self.inner.settle_unsaved(partial).await? {
            Settled::Nothing => self.inner.lookup(partial).await?,
            Settled::Saved(stored) => Found::stored(stored),
            Settled::Unsaved(token, cause) => {
                if !self.inner.is_due(&token, margin) {
                    return Err(Error::SaveAfterRefresh {
                        token: Box::new(token),
                        source: Box::new(cause),
                    });
                }
                // Due itself: refreshed with its own refresh token (a grant's exists nowhere else).
                let stored = token.id.is_some();
                Found { token, stored }
            }
        };
        // A revoked refresh token fails every lookup, whatever its access token's expiry.
        refusals::revoked(&found.token)?;
        if !self.inner.is_due(&found.token, margin) {
            return Ok(found.token);
        }
        // Zoho refused this refresh token (any process may have learnt it): no lease, no call.
        if refusals::standing(&found.token).is_some() {
            return match refusals::refused(&found.token, self.inner.min_margin) {
                Some(e) => Err(e),
                None => Ok(found.token),
            };
        }
        let held = found.token.clone();
        match self.refresh(found, margin).await {
            // Throttled while refreshing ahead: the access token in hand still works, so it is used.
            Err(Error::Throttled { .. }) if refusals::usable(&held, self.inner.min_margin) => {
                Ok(held)
            }
            other => other,
        }
    }

    /// How long before its expiry `token` is refreshed: the refresh margin, or a quarter of the token's
    /// lifetime when that is known and shorter (never under the least margin, nor over half the
    /// lifetime). See [`TokenManagerBuilder::refresh_margin`].
    pub fn refresh_margin(&self, token: &OAuthToken) -> Duration {
        self.inner.margin_for(token, self.inner.margin)
    }

    /// Whether this manager keeps a token matching `partial` (by id; else by user, grant, refresh or
    /// access token) that Zoho issued and the store refused: [`token`](Self::token) hands it out and
    /// saves it again. A binding that looks tokens up in the store first asks `token` for it instead,
    /// since the store does not have it.
    pub fn holds_unsaved(&self, partial: &OAuthToken) -> bool {
        self.inner.holds_unsaved(partial)
    }

    /// `found`, a token as the store returned it, made fresh for at least the refresh margin before it
    /// is handed to code that refreshes by itself (the Zoho SDKs refresh 5 s before expiry, each process
    /// on its own): when its access token expires within the margin, it is refreshed first, once for the
    /// fleet (under the coordinator's lease, the other processes wait and read the result), and the
    /// fresh token is returned, also when saving it failed (the manager keeps it, hands it to the next
    /// callers instead of refreshing again, and saves it again later). A stale copy (a read cache) is
    /// re-read past any cache first, and handed over fresh when another process refreshed it.
    /// Otherwise, and for a token without id, refresh token or expiry, `found` is returned as it is.
    /// `None` when the token was deleted meanwhile.
    ///
    /// # Errors
    /// As [`TokenManager::token`], except [`Error::SaveAfterRefresh`] and [`Error::TokenDeleted`]: the
    /// caller may hand over `found` and let its own refresh run.
    pub async fn refresh_ahead(&self, found: OAuthToken) -> Result<Option<OAuthToken>> {
        refusals::revoked(&found)?;
        let (Some(id), Some(_), Some(_)) = (&found.id, &found.refresh_token, found.expires_at_ms)
        else {
            return Ok(Some(found));
        };
        // A newer token this process could not save yet is handed over (and saved again) instead.
        if !self.inner.holds_unsaved(&found) {
            if !self.inner.is_due(&found, self.inner.margin) {
                return Ok(Some(found));
            }
            // The copy may be stale (a read cache): read past it first, so processes whose copies age
            // together take no lease for a token another process refreshed already.
            match self.inner.store.reload_token(id).await? {
                None => return Ok(None),
                Some(latest) if !self.inner.is_due(&latest, self.inner.margin) => {
                    return Ok(Some(latest));
                }
                Some(_) => {}
            }
        }
        match self.token(&OAuthToken::default().with_id(id.clone())).await {
            Ok(fresh) => Ok(Some(fresh)),
            Err(Error::SaveAfterRefresh { token, .. }) => Ok(Some(*token)),
            Err(Error::TokenDeleted { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Refreshes the token now, whatever its expiry (still one refresh per token in flight, and under
    /// the lease when a coordinator is set): for operators and scheduled jobs.
    ///
    /// # Errors
    /// As [`TokenManager::token`].
    pub async fn refresh_now(&self, partial: &OAuthToken) -> Result<OAuthToken> {
        let token = self.inner.lookup(partial).await?;
        // A margin beyond any lifetime makes the token due, and the lease re-read does not skip it.
        self.refresh(token, Duration::from_secs(u64::from(u32::MAX)))
            .await
    }

    /// The access token alone (see [`TokenManager::token`]).
    ///
    /// # Errors
    /// As [`TokenManager::token`].
    pub async fn access_token(&self, partial: &OAuthToken) -> Result<AccessToken> {
        let token = self.token(partial).await?;
        token.access_token.ok_or_else(|| Error::ZohoProtocol {
            reason: "no access token after refresh".into(),
        })
    }

    /// The `Authorization: Zoho-oauthtoken <token>` header value, marked sensitive so HTTP clients do not
    /// log it.
    ///
    /// # Errors
    /// As [`TokenManager::token`].
    pub async fn authorization_header(&self, partial: &OAuthToken) -> Result<HeaderValue> {
        let access = self.access_token(partial).await?;
        let mut value = HeaderValue::from_str(&format!("Zoho-oauthtoken {}", access.secret()))
            .map_err(|_| Error::ZohoProtocol {
                reason: "access token is not a valid header value".into(),
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Revokes the token's refresh token at Zoho, then deletes the token from the store.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when no stored token has a refresh token; Zoho or store failures.
    pub async fn revoke(&self, partial: &OAuthToken) -> Result<()> {
        let token = self.inner.lookup(partial).await?.token;
        let refresh = token
            .refresh_token
            .as_ref()
            .ok_or_else(|| Error::invalid_token("the token has no refresh token to revoke"))?;
        self.inner.accounts.revoke(refresh).await?;
        if let Some(id) = &token.id {
            self.inner.store.delete_token(id).await?;
        }
        Ok(())
    }

    /// Refreshes every stored token whose access token expires within `within`, a few at a time: for a
    /// scheduled job that keeps tokens warm so requests never wait on Zoho. A window up to 15 minutes
    /// fits short-lived tokens as the margin does: a token living less than four times `within` is
    /// refreshed within a quarter of its lifetime (so never on arrival); a longer window refreshes
    /// every token expiring within it.
    ///
    /// # Errors
    /// Listing the store failed. Per-token failures, and stored entries that cannot be read (named by
    /// their id), are in the report, not errors.
    pub async fn refresh_due(&self, within: Duration) -> Result<RefreshDueReport> {
        let scan = self.inner.store.scan_tokens().await?;
        let unreadable = scan.unreadable;
        let tokens = scan.tokens;
        let examined = tokens.len() + unreadable.len();
        let due: Vec<OAuthToken> = tokens
            .into_iter()
            .filter(|t| t.refresh_token.is_some() && self.inner.is_due(t, within))
            .collect();
        let results: Vec<(Option<String>, Result<OAuthToken>)> = stream::iter(due)
            .map(|token| async move {
                let id = token.id.clone();
                (id, self.refresh(Found::stored(token), within).await)
            })
            .buffer_unordered(self.inner.concurrency.get())
            .collect()
            .await;
        let mut report = RefreshDueReport {
            examined,
            failed: unreadable
                .into_iter()
                .map(|entry| (entry.id, entry.error))
                .collect(),
            ..RefreshDueReport::default()
        };
        for (id, result) in results {
            match result {
                Ok(_) => report.refreshed += 1,
                Err(e) => report.failed.push((id, e)),
            }
        }
        Ok(report)
    }

    /// Joins the refresh in flight for this token, or starts one.
    async fn refresh(&self, token: Found, margin: Duration) -> Result<OAuthToken> {
        let key = flight_key(&token.token);
        let flight = {
            let mut inflight = self
                .inner
                .inflight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match inflight.get(&key).and_then(WeakShared::upgrade) {
                Some(flight) => flight,
                None => {
                    let inner = Arc::clone(&self.inner);
                    // Removes the entry when the refresh ends, fails, or every caller is cancelled.
                    let done = ClearOnDrop {
                        inner: Arc::clone(&self.inner),
                        key: key.clone(),
                    };
                    let flight = async move {
                        let _done = done;
                        inner.refresh(token, margin).await
                    }
                    .boxed()
                    .shared();
                    if let Some(weak) = flight.downgrade() {
                        inflight.insert(key, weak);
                    }
                    flight
                }
            }
        };
        flight.await
    }
}
