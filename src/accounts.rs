//! Zoho's accounts server: grant exchange, refresh, revoke, and discovering the signed-in user.
//!
//! Zoho answers many errors with HTTP 200 and a JSON body such as `{"error":"invalid_code"}`, so every
//! answer is parsed before its status is trusted. Errors come out as distinct [`Error`] variants: a bad
//! grant or refresh token (re-authorize, never retry), bad client credentials, throttling (back off), and
//! an unreachable or failing server (already retried a bounded number of times).

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;

use crate::env::{ACCOUNTS_URL_ENV_VAR, DATA_CENTER_ENV_VAR};
use crate::error::{Error, Result};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::OAuthToken;

/// Zoho's data centres, each with its own accounts server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataCenter {
    /// United States: `accounts.zoho.com`.
    Us,
    /// Europe: `accounts.zoho.eu`.
    Eu,
    /// India: `accounts.zoho.in`.
    In,
    /// Australia: `accounts.zoho.com.au`.
    Au,
    /// Japan: `accounts.zoho.jp`.
    Jp,
    /// China: `accounts.zoho.com.cn`.
    Cn,
    /// Canada: `accounts.zohocloud.ca`.
    Ca,
    /// Saudi Arabia: `accounts.zoho.sa`.
    Sa,
}

impl DataCenter {
    /// The accounts server's base URL.
    pub fn accounts_url(self) -> &'static str {
        match self {
            Self::Us => "https://accounts.zoho.com",
            Self::Eu => "https://accounts.zoho.eu",
            Self::In => "https://accounts.zoho.in",
            Self::Au => "https://accounts.zoho.com.au",
            Self::Jp => "https://accounts.zoho.jp",
            Self::Cn => "https://accounts.zoho.com.cn",
            Self::Ca => "https://accounts.zohocloud.ca",
            Self::Sa => "https://accounts.zoho.sa",
        }
    }
}

impl std::str::FromStr for DataCenter {
    type Err = Error;

    /// Parses `us`, `eu`, `in`, `au`, `jp`, `cn`, `ca` or `sa` (any case).
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "us" | "com" => Self::Us,
            "eu" => Self::Eu,
            "in" => Self::In,
            "au" => Self::Au,
            "jp" => Self::Jp,
            "cn" => Self::Cn,
            "ca" => Self::Ca,
            "sa" => Self::Sa,
            _ => {
                return Err(Error::invalid_config(format!(
                    "unknown Zoho data centre `{s}`; use us, eu, in, au, jp, cn, ca or sa"
                )));
            }
        })
    }
}

/// What Zoho granted: a new access token, and on grant exchange a refresh token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Grant {
    /// The new access token.
    pub access_token: AccessToken,
    /// A refresh token: present after a grant exchange, absent after a refresh (keep the old one).
    pub refresh_token: Option<RefreshToken>,
    /// The API domain to call with it.
    pub api_domain: Option<String>,
    /// How long the access token lives from now.
    pub expires_in: Duration,
}

impl Grant {
    /// Puts what Zoho granted into `token`: the access token with its issue time and its expiry made
    /// absolute, the API domain, and the refresh token only when Zoho sent one (a refresh keeps the old
    /// one).
    pub fn apply_to(self, token: &mut OAuthToken) {
        let now = crate::token::now_ms();
        // Kept with the token, so every process knows its lifetime (the refresh margin fits it).
        token.issued_at_ms = Some(now);
        token.expires_at_ms = Some(now + self.expires_in.as_millis() as u64);
        token.access_token = Some(self.access_token);
        if let Some(refresh) = self.refresh_token {
            token.refresh_token = Some(refresh);
        }
        if let Some(domain) = self.api_domain {
            token.api_domain = Some(domain);
        }
    }
}

/// A client for one Zoho accounts server.
#[derive(Clone, Debug)]
pub struct AccountsClient {
    http: reqwest::Client,
    base: String,
    attempts: u32,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    refresh_token: Option<String>,
    api_domain: Option<String>,
    expires_in: Option<u64>,
    /// Older answers carry this beside `expires_in`, which is then in milliseconds.
    expires_in_sec: Option<u64>,
    error: Option<String>,
    error_description: Option<String>,
    /// `success` on a revocation.
    status: Option<String>,
}

/// The longest access-token lifetime accepted from Zoho, which issues one-hour tokens: a longer one is a
/// misread unit (milliseconds as seconds makes an hour into 41 days), and storing it would keep a dead
/// token "valid" for weeks.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// The access token's lifetime from a token answer, read as the Python SDK does: `expires_in_sec` when
/// present (and `expires_in` is then milliseconds), else `expires_in` in seconds.
fn lifetime(expires_in: Option<u64>, expires_in_sec: Option<u64>) -> Result<Duration> {
    let secs = match (expires_in_sec, expires_in) {
        (Some(secs), _) | (None, Some(secs)) => secs,
        (None, None) => {
            return Err(Error::ZohoProtocol {
                reason: "token response lacks expires_in".into(),
            });
        }
    };
    let lifetime = Duration::from_secs(secs);
    if lifetime.is_zero() || lifetime > MAX_LIFETIME {
        return Err(Error::ZohoProtocol {
            reason: format!(
                "token lifetime of {secs} s is implausible (Zoho issues one-hour tokens); refusing to \
                 store it"
            ),
        });
    }
    Ok(lifetime)
}

impl AccountsClient {
    /// A client for the accounts server an operator configured: `accounts_url` when given (sandboxes,
    /// tests), else the data centre named by `data_center` (`us`, `eu`, ...).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown data centre.
    pub fn for_server(accounts_url: Option<&str>, data_center: &str) -> Result<Self> {
        Ok(match accounts_url {
            Some(url) => Self::with_base_url(url),
            None => Self::new(data_center.parse::<DataCenter>()?),
        })
    }

    /// [`for_server`](Self::for_server) from the environment: `ZOHO_ACCOUNTS_URL`, else
    /// `ZOHO_DATA_CENTER` (default `us`).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for an unknown data centre.
    pub fn from_env() -> Result<Self> {
        Self::for_server(
            std::env::var(ACCOUNTS_URL_ENV_VAR).ok().as_deref(),
            std::env::var(DATA_CENTER_ENV_VAR)
                .as_deref()
                .unwrap_or("us"),
        )
    }

    /// A client for a data centre's accounts server.
    pub fn new(data_center: DataCenter) -> Self {
        Self::with_base_url(data_center.accounts_url())
    }

    /// A client for any accounts server (a sandbox, or a mock in tests), e.g. `http://127.0.0.1:8080`.
    pub fn with_base_url(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            http,
            base: base_url.into().trim_end_matches('/').to_owned(),
            attempts: 3,
        }
    }

    /// Uses your own HTTP client (proxies, timeouts).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Exchanges the token's grant token (authorization code) for a refresh and access token.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when the token lacks the grant token, client id, client secret or
    /// redirect URL; [`Error::InvalidGrant`], [`Error::InvalidClient`], [`Error::Throttled`],
    /// [`Error::ZohoUnavailable`] or [`Error::ZohoProtocol`] from Zoho.
    pub async fn exchange_grant(&self, token: &OAuthToken) -> Result<Grant> {
        let (client_id, client_secret) = credentials(token)?;
        let code = token
            .grant_token
            .as_ref()
            .ok_or_else(|| Error::invalid_token("no grant token to exchange"))?;
        let redirect = token.redirect_url.as_deref().ok_or_else(|| {
            Error::invalid_token("grant exchange needs the redirect URL registered for the client")
        })?;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("redirect_uri", redirect),
            ("code", code.secret()),
        ];
        // Never retried: the code is single-use, and a request that timed out or met a 5xx may have
        // reached Zoho, so a retry would burn the code and orphan the refresh token Zoho issued.
        match self.token_call(&form, "grant token", 1).await {
            Err(Error::ZohoUnavailable { reason, source }) => {
                Err(Error::GrantExchangeUnconfirmed { reason, source })
            }
            other => other,
        }
    }

    /// Gets a new access token with the token's refresh token. Zoho does not return a new refresh token
    /// here: keep the old one.
    ///
    /// # Errors
    /// As [`AccountsClient::exchange_grant`], with the refresh token in place of the grant token.
    pub async fn refresh(&self, token: &OAuthToken) -> Result<Grant> {
        let (client_id, client_secret) = credentials(token)?;
        let refresh = token
            .refresh_token
            .as_ref()
            .ok_or_else(|| Error::invalid_token("no refresh token to refresh with"))?;
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("refresh_token", refresh.secret()),
        ];
        self.token_call(&form, "refresh token", self.attempts).await
    }

    /// Revokes a refresh token (and the access tokens issued with it).
    ///
    /// # Errors
    /// As [`AccountsClient::refresh`].
    pub async fn revoke(&self, refresh: &RefreshToken) -> Result<()> {
        // The token goes in the form body, not the query string, so it never lands in URL logs.
        let url = format!("{}/oauth/v2/token/revoke", self.base);
        let (status, body) = self
            .post(&url, &[("token", refresh.secret())], self.attempts)
            .await?;
        let parsed = serde_json::from_str::<TokenResponse>(&body).ok();
        if let Some(code) = parsed.as_ref().and_then(|p| p.error.as_deref()) {
            return Err(classify(
                code,
                parsed.as_ref().and_then(|p| p.error_description.as_deref()),
                "refresh token",
            ));
        }
        // As the SDK does: only an explicit `"status": "success"` means revoked.
        match parsed.and_then(|p| p.status) {
            Some(answer) if status.is_success() && answer == "success" => Ok(()),
            answer => Err(Error::ZohoProtocol {
                reason: format!(
                    "revoke answered HTTP {status} with status {}; the refresh token may still be valid",
                    answer.as_deref().map_or("(none)".into(), printable)
                ),
            }),
        }
    }

    /// The signed-in user's email, from `GET <api_domain>/crm/v8/users?type=CurrentUser`.
    ///
    /// # Errors
    /// [`Error::ZohoUnavailable`] or [`Error::ZohoProtocol`] when the CRM API cannot answer.
    pub async fn current_user(&self, api_domain: &str, access: &AccessToken) -> Result<String> {
        #[derive(Deserialize)]
        struct Users {
            users: Vec<User>,
        }
        #[derive(Deserialize)]
        struct User {
            email: String,
        }
        let users: Users = self
            .crm_get(api_domain, "users", &[("type", "CurrentUser")], access)
            .await?;
        users
            .users
            .into_iter()
            .next()
            .map(|u| u.email)
            .ok_or_else(|| Error::ZohoProtocol {
                reason: "users API returned no current user".into(),
            })
    }

    /// The signed-in user's name as the Zoho SDK 8 names it in its user signatures, `<email>:<org zgid>`:
    /// [`AccountsClient::current_user`] and `GET <api_domain>/crm/v8/org`.
    ///
    /// # Errors
    /// [`Error::ZohoUnavailable`] or [`Error::ZohoProtocol`] when the CRM API cannot answer.
    pub async fn sdk_user_name(&self, api_domain: &str, access: &AccessToken) -> Result<String> {
        #[derive(Deserialize)]
        struct Orgs {
            org: Vec<Org>,
        }
        #[derive(Deserialize)]
        struct Org {
            zgid: String,
        }
        let email = self.current_user(api_domain, access).await?;
        let orgs: Orgs = self.crm_get(api_domain, "org", &[], access).await?;
        let zgid =
            orgs.org
                .into_iter()
                .next()
                .map(|o| o.zgid)
                .ok_or_else(|| Error::ZohoProtocol {
                    reason: "org API returned no organization".into(),
                })?;
        Ok(format!("{email}:{zgid}"))
    }

    /// `GET <api_domain>/crm/v8/<path>` with the access token, its JSON answer read as `T`.
    async fn crm_get<T: serde::de::DeserializeOwned>(
        &self,
        api_domain: &str,
        path: &str,
        query: &[(&str, &str)],
        access: &AccessToken,
    ) -> Result<T> {
        let url = format!("{}/crm/v8/{path}", api_domain.trim_end_matches('/'));
        let response = self
            .http
            .get(&url)
            .query(query)
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Zoho-oauthtoken {}", access.secret()),
            )
            .send()
            .await
            .map_err(|e| unavailable(&format!("the CRM {path} API"), e))?;
        if !response.status().is_success() {
            return Err(Error::ZohoProtocol {
                reason: format!("{path} API answered HTTP {}", response.status()),
            });
        }
        response.json().await.map_err(|_| Error::ZohoProtocol {
            reason: format!("{path} API answered without the expected JSON"),
        })
    }

    async fn token_call(
        &self,
        form: &[(&str, &str)],
        what: &'static str,
        attempts: u32,
    ) -> Result<Grant> {
        let url = format!("{}/oauth/v2/token", self.base);
        let (status, body) = self.post(&url, form, attempts).await?;
        let parsed: TokenResponse =
            serde_json::from_str(&body).map_err(|_| Error::ZohoProtocol {
                reason: format!("token endpoint answered HTTP {status} without JSON"),
            })?;
        if let Some(code) = parsed.error {
            return Err(classify(&code, parsed.error_description.as_deref(), what));
        }
        let Some(access) = parsed.access_token else {
            return Err(Error::ZohoProtocol {
                reason: "token response lacks access_token".into(),
            });
        };
        Ok(Grant {
            access_token: AccessToken::new(access),
            refresh_token: parsed.refresh_token.map(RefreshToken::new),
            api_domain: parsed.api_domain,
            expires_in: lifetime(parsed.expires_in, parsed.expires_in_sec)?,
        })
    }

    /// POSTs a form, trying up to `attempts` times (with backoff) on transport failures and 5xx.
    async fn post(
        &self,
        url: &str,
        form: &[(&str, &str)],
        attempts: u32,
    ) -> Result<(StatusCode, String)> {
        let mut delay = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let outcome = self.http.post(url).form(form).send().await;
            let retry = match outcome {
                Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                    return Err(Error::Throttled { until: None });
                }
                Ok(response) if response.status().is_server_error() => Error::ZohoUnavailable {
                    reason: format!("HTTP {}", response.status()),
                    source: None,
                },
                Ok(response) => {
                    let status = response.status();
                    let body = response
                        .text()
                        .await
                        .map_err(|e| unavailable("the token endpoint", e))?;
                    return Ok((status, body));
                }
                Err(e) => unavailable("the token endpoint", e),
            };
            if attempt >= attempts {
                return Err(retry);
            }
            tracing::debug!(attempt, "Zoho accounts call failed; retrying");
            tokio::time::sleep(delay).await;
            delay *= 2;
            attempt += 1;
        }
    }
}

fn credentials(token: &OAuthToken) -> Result<(&str, &str)> {
    match (&token.client_id, &token.client_secret) {
        (Some(id), Some(secret)) => Ok((id, secret.secret())),
        _ => Err(Error::invalid_token(
            "talking to Zoho needs the client id and client secret",
        )),
    }
}

fn unavailable(what: &str, e: reqwest::Error) -> Error {
    // reqwest's message can include the URL; ours carry no secrets (they travel in form bodies).
    Error::ZohoUnavailable {
        reason: format!("{what} did not answer"),
        source: Some(std::sync::Arc::new(e.without_url())),
    }
}

/// Maps Zoho's error codes onto error classes (Zoho OAuth docs; throttling arrives as "Access Denied").
fn classify(code: &str, description: Option<&str>, what: &'static str) -> Error {
    let throttled = code.eq_ignore_ascii_case("access denied")
        || description.is_some_and(|d| d.to_ascii_lowercase().contains("too many requests"));
    if throttled {
        return Error::Throttled { until: None };
    }
    match code {
        "invalid_client"
        | "invalid_client_secret"
        | "invalid_redirect_uri"
        | "unauthorized_client" => Error::InvalidClient {
            code: code.to_owned(),
        },
        // A used, expired or revoked grant or refresh token: the user must sign in again.
        "invalid_code" | "invalid_grant" | "invalid_token" => Error::InvalidGrant {
            what,
            code: code.to_owned(),
        },
        // Anything else is not a reason to force a new sign-in.
        other => Error::ZohoProtocol {
            reason: format!("Zoho answered error `{}`", printable(other)),
        },
    }
}

/// Text from Zoho shortened and stripped of control characters, safe to put in an error.
fn printable(text: &str) -> String {
    text.chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_data_center_has_its_accounts_host() {
        let hosts: Vec<_> = [
            DataCenter::Us,
            DataCenter::Eu,
            DataCenter::In,
            DataCenter::Au,
            DataCenter::Jp,
            DataCenter::Cn,
            DataCenter::Ca,
            DataCenter::Sa,
        ]
        .iter()
        .map(|dc| dc.accounts_url())
        .collect();
        assert_eq!(hosts[1], "https://accounts.zoho.eu");
        assert_eq!(hosts[6], "https://accounts.zohocloud.ca");
        assert_eq!(hosts.len(), 8);
    }

    #[test]
    fn lifetimes_are_read_as_the_sdk_reads_them_and_implausible_ones_refused() {
        assert_eq!(
            lifetime(Some(3600), None).unwrap(),
            Duration::from_secs(3600)
        );
        // Older answers: expires_in in milliseconds beside expires_in_sec.
        assert_eq!(
            lifetime(Some(3_600_000), Some(3600)).unwrap(),
            Duration::from_secs(3600)
        );
        for (expires_in, expires_in_sec) in [(Some(3_600_000), None), (Some(0), None), (None, None)]
        {
            let err = lifetime(expires_in, expires_in_sec).unwrap_err();
            assert!(matches!(err, Error::ZohoProtocol { .. }), "{err:?}");
        }
    }

    #[test]
    fn unknown_error_codes_do_not_force_a_new_sign_in() {
        let err = classify("some_new_code\n", None, "refresh token");
        assert!(
            matches!(&err, Error::ZohoProtocol { reason } if reason.contains("some_new_code?")),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn error_codes_map_to_classes() {
        assert!(matches!(
            classify("invalid_code", None, "refresh token"),
            Error::InvalidGrant { .. }
        ));
        assert!(matches!(
            classify("invalid_client", None, "grant token"),
            Error::InvalidClient { .. }
        ));
        assert!(matches!(
            classify(
                "Access Denied",
                Some("You have made too many requests continuously."),
                "refresh token"
            ),
            Error::Throttled { .. }
        ));
    }
}
