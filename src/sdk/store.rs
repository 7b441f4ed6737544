//! The six operations as the Zoho SDKs call them, over one [`SecretsManagerStore`].

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use super::options::SdkConfig;
use super::refresh::Refresher;
use crate::error::{Error, Result};
use crate::fix::Api;
use crate::secrets_manager::SecretsManagerStore;
use crate::store::TokenStore;
use crate::token::OAuthToken;

/// How long one attempt of an AWS call may take before it is abandoned (and retried, if attempts are
/// left). The AWS SDK sets no read timeout by default, so a connection that stops answering would block
/// the caller (and the request the app is serving) for good.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an AWS call may take in all, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// How many tokens the read cache holds.
const CACHE_CAPACITY: NonZeroUsize = match NonZeroUsize::new(10_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

/// A store as the SDKs' bindings use it: built in the process (or thread) that uses it, from an
/// [`SdkConfig`].
pub struct SdkStore {
    api: Api,
    store: Arc<SecretsManagerStore>,
    /// None when refreshing ahead is off: the SDK refreshes in each process.
    refresher: Option<Refresher>,
}

impl std::fmt::Debug for SdkStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SdkStore")
            .field("prefix", &self.store.prefix())
            .field("refreshes_ahead", &self.refresher.is_some())
            .finish_non_exhaustive()
    }
}

impl SdkConfig {
    /// Loads the AWS configuration (credentials and the rest from the standard chain; the endpoint and
    /// region given) and builds the store; no service call is made for a keyring given as text.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a prefix Secrets Manager's names cannot hold.
    pub async fn connect(&self) -> Result<SdkStore> {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        let mut builder = SecretsManagerStore::builder(client, self.keys.key_source(&sdk))
            .prefix(&self.prefix)
            .recovery_window(self.recovery_window);
        if let Some(ttl) = self.cache_ttl {
            builder = builder.cache(CACHE_CAPACITY, ttl);
        }
        let store = Arc::new(builder.build()?);
        let refresher = self
            .refresh_ahead
            .map(|margin| Refresher::new(store.clone(), margin));
        Ok(SdkStore {
            api: self.api,
            store,
            refresher,
        })
    }
}

/// Whether `query` is a sign-in: a grant with client credentials, and nothing a token is already found by.
fn signs_in(query: &OAuthToken) -> bool {
    query.grant_token.is_some()
        && query.refresh_token.is_none()
        && query.access_token.is_none()
        && query.client_id.is_some()
        && query.client_secret.is_some()
}

impl SdkStore {
    /// The prefix of every secret name this store uses.
    pub fn prefix(&self) -> &str {
        self.store.prefix()
    }

    /// The stored token `query` matches (by user; else by access token when it has no client
    /// credentials; else by grant, then refresh token), with the caller's own values winning; None when
    /// nothing matches.
    ///
    /// With `accounts_url` (the SDK environment's token endpoint) and refreshing ahead on, a token
    /// about to expire is refreshed first, once for the fleet; a grant nothing is stored for is
    /// exchanged once for the fleet; a token this process got from Zoho but could not save yet is
    /// handed out (and saved again) in place of the store's.
    ///
    /// # Errors
    /// A store failure; [`Error::Throttled`] or [`Error::TokenRevoked`] when Zoho refused the stored
    /// refresh token and no usable access token is left (the SDK's own refresh would ask Zoho again).
    pub async fn find_token(
        &self,
        query: &OAuthToken,
        accounts_url: Option<&str>,
    ) -> Result<Option<OAuthToken>> {
        let (Some(refresher), Some(url)) = (&self.refresher, accounts_url) else {
            return self.store.find_token(query).await;
        };
        // The caller's own values win the answer, as find_token promises.
        let answer = |token: OAuthToken| {
            let mut answer = query.clone();
            answer.fill_from(&token);
            answer
        };
        if let Some(kept) = refresher.unsaved(query, url).await {
            return Ok(Some(answer(kept)));
        }
        let found = self.store.find_token(query).await?;
        Ok(match found {
            // Zoho revoked the stored refresh token and the caller brings a grant: a new sign-in,
            // exchanged once for the fleet; its token replaces the revoked one. If that exchange fails
            // (a spent grant), the revocation is the answer: the SDK's own exchange of the same grant
            // would only be refused again.
            Some(found) if signs_in(query) && found.refusal.is_some_and(|r| r.is_revoked()) => {
                match refresher.sign_in(query, url).await? {
                    Some(token) => Some(answer(token)),
                    None => {
                        return Err(Error::TokenRevoked {
                            user: found.user_name.clone(),
                        });
                    }
                }
            }
            // Only a token whose access token comes from the store can be helped by refreshing: the
            // caller's own access token wins the answer anyway.
            Some(found) if query.access_token.is_none() => {
                refresher.freshen(found, url).await?.map(answer)
            }
            Some(found) => Some(found),
            // A grant nothing is stored for yet: exchanged once for the fleet (see refresh.rs), so the
            // SDK finds a token and does not exchange it again in every process.
            None if signs_in(query) => refresher.sign_in(query, url).await?.map(answer),
            None => None,
        })
    }

    /// Saves as the SDKs' stores do (see [`SecretsManagerStore::merge_and_save_token`]): `token` is
    /// left holding what was written, id included.
    ///
    /// # Errors
    /// As [`SecretsManagerStore::merge_and_save_token`]: [`Error::TokenDeleted`] when its id names a
    /// token deleted since (deletes stick), [`Error::InvalidToken`] for a token the SDK's rules refuse.
    pub async fn save_token(&self, token: &mut OAuthToken) -> Result<()> {
        self.store.merge_and_save_token(token).await
    }

    /// Deletes the token with this id.
    ///
    /// # Errors
    /// [`Error::TokenNotFound`] when no token has it, as the SDKs' own stores refuse an unknown id; a
    /// store failure.
    pub async fn delete_token(&self, id: &str) -> Result<()> {
        if self.store.remove_token(id).await? {
            Ok(())
        } else {
            Err(self.not_found(id))
        }
    }

    /// Every token under the prefix.
    ///
    /// # Errors
    /// A stored entry that cannot be read (named), or a store failure.
    pub async fn get_tokens(&self) -> Result<Vec<OAuthToken>> {
        self.store.get_tokens().await
    }

    /// Deletes every token under the prefix, and nothing else.
    ///
    /// # Errors
    /// A store failure.
    pub async fn delete_tokens(&self) -> Result<()> {
        self.store.delete_tokens().await
    }

    /// The token with this id, refreshed first as in [`SdkStore::find_token`].
    ///
    /// # Errors
    /// [`Error::TokenNotFound`] when no token has it, as the SDKs' own stores refuse an unknown id; as
    /// [`SdkStore::find_token`] otherwise.
    pub async fn find_token_by_id(
        &self,
        id: &str,
        accounts_url: Option<&str>,
    ) -> Result<OAuthToken> {
        let found = self.store.find_token_by_id(id).await?;
        let found = match (found, &self.refresher, accounts_url) {
            (Some(found), Some(refresher), Some(url)) => refresher.freshen(found, url).await?,
            (found, _, _) => found,
        };
        found.ok_or_else(|| self.not_found(id))
    }

    /// The service calls this store has made, by operation.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.store.calls().snapshot()
    }

    /// Sets the call counts back to zero.
    pub fn reset_calls(&self) {
        self.store.calls().reset();
    }

    /// The error message for `error` in the words of this store's caller (see [`Error::message`]).
    pub fn message(&self, error: &Error) -> String {
        error.message(self.api)
    }

    fn not_found(&self, id: &str) -> Error {
        Error::TokenNotFound {
            id: id.to_owned(),
            prefix: self.store.prefix().to_owned(),
        }
    }
}
