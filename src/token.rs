//! The Zoho SDK's `OAuthToken`, with secrets held in redacting types.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::refusal::ZohoRefusal;
use crate::secret::{AccessToken, ClientSecret, GrantToken, RefreshToken};

/// One user's OAuth token, field for field the Zoho SDK's `OAuthToken`.
///
/// Every field is optional because the SDK passes partially filled tokens to
/// [`TokenStore::find_token`](crate::TokenStore::find_token): whatever the caller knows (a user name, a
/// refresh token, an id) is used to find the rest. An empty string is treated as absent, as in the SDK.
///
/// `Debug` is safe to log: the client secret and the three tokens print as `[redacted]`.
///
/// ```
/// use zoho_token_store::OAuthToken;
///
/// let token = OAuthToken::default()
///     .with_user_name("alice@example.com")
///     .with_client("1000.CLIENTID", "client-secret")
///     .with_refresh_token("1000.refresh");
/// assert!(!format!("{token:?}").contains("1000.refresh"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OAuthToken {
    /// The store's id for this token; also the last part of its secret's name.
    pub id: Option<String>,
    /// The user signature's name (the SDK 8.0 discovers `"<email>:<org_id>"`).
    pub user_name: Option<String>,
    /// The API console client id.
    pub client_id: Option<String>,
    /// The API console client secret.
    pub client_secret: Option<ClientSecret>,
    /// Single-use authorization code, exchanged for the first refresh and access token.
    pub grant_token: Option<GrantToken>,
    /// Long-lived refresh token.
    pub refresh_token: Option<RefreshToken>,
    /// Short-lived access token.
    pub access_token: Option<AccessToken>,
    /// Absolute expiry of the access token, in milliseconds since the Unix epoch (the SDK's
    /// `expires_in`, which despite its name is absolute).
    pub expires_at_ms: Option<u64>,
    /// When Zoho issued the access token, in milliseconds since the Unix epoch: with
    /// [`expires_at_ms`](Self::expires_at_ms) it gives the token's lifetime, which sizes the refresh
    /// margin in every process that reads it (a token living minutes is refreshed within a fraction of
    /// its life, not at a fixed minute before expiry). Set when this crate gets a token from Zoho; not
    /// one of the SDK's fields, so None for tokens the SDK refreshed itself and for older values.
    pub issued_at_ms: Option<u64>,
    /// Zoho's refusal of the refresh token, when it refused it (throttled for a while, or revoked): kept
    /// with the token, in its encrypted value, so no process of a fleet asks Zoho for it again before
    /// that allows. Not one of the SDK's fields; it goes with the refresh token it is about, so a new
    /// sign-in (a new refresh token) clears it.
    pub refusal: Option<ZohoRefusal>,
    /// The redirect URL registered for the client (needed for grant exchange).
    pub redirect_url: Option<String>,
    /// The API domain Zoho returned with the token, e.g. `https://www.zohoapis.com`.
    pub api_domain: Option<String>,
    /// The id the token had in the store it was imported from, when that id cannot name a secret (SDK
    /// 2.1 ids such as `python_O'Brien_us_23bd`): kept, encrypted with the token, so an export gives it
    /// back. Never used to find the token. See [`OAuthToken::move_unusable_id_to_source`].
    pub source_id: Option<String>,
}

impl OAuthToken {
    /// Sets the id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the user name.
    pub fn with_user_name(mut self, user_name: impl Into<String>) -> Self {
        self.user_name = Some(user_name.into());
        self
    }

    /// Sets the client id and client secret.
    pub fn with_client(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<ClientSecret>,
    ) -> Self {
        self.client_id = Some(client_id.into());
        self.client_secret = Some(client_secret.into());
        self
    }

    /// Sets the grant token.
    pub fn with_grant_token(mut self, token: impl Into<GrantToken>) -> Self {
        self.grant_token = Some(token.into());
        self
    }

    /// Sets the refresh token.
    pub fn with_refresh_token(mut self, token: impl Into<RefreshToken>) -> Self {
        self.refresh_token = Some(token.into());
        self
    }

    /// Sets the access token and its absolute expiry (epoch milliseconds).
    pub fn with_access_token(mut self, token: impl Into<AccessToken>, expires_at_ms: u64) -> Self {
        self.access_token = Some(token.into());
        self.expires_at_ms = Some(expires_at_ms);
        self
    }

    /// Sets when Zoho issued the access token (epoch milliseconds; see
    /// [`issued_at_ms`](Self::issued_at_ms)).
    pub fn with_issued_at(mut self, issued_at_ms: u64) -> Self {
        self.issued_at_ms = Some(issued_at_ms);
        self
    }

    /// The access token's lifetime as Zoho gave it, when known: from its issue to its expiry.
    pub fn lifetime(&self) -> Option<std::time::Duration> {
        let (issued, expires) = (self.issued_at_ms?, self.expires_at_ms?);
        (expires > issued).then(|| std::time::Duration::from_millis(expires - issued))
    }

    /// Sets the redirect URL.
    pub fn with_redirect_url(mut self, url: impl Into<String>) -> Self {
        self.redirect_url = Some(url.into());
        self
    }

    /// Sets the API domain.
    pub fn with_api_domain(mut self, domain: impl Into<String>) -> Self {
        self.api_domain = Some(domain.into());
        self
    }

    /// Moves an id that cannot name a secret (a character outside ASCII letters, digits and `_+=.@-`,
    /// more than 64 characters, or a `-` and six characters at the end) to
    /// [`source_id`](Self::source_id), leaving the id for the store to assign. Returns whether it did.
    ///
    /// ```
    /// use zoho_token_store::OAuthToken;
    ///
    /// let mut row = OAuthToken::default().with_id("python_O'Brien_us_23bd");
    /// assert!(row.move_unusable_id_to_source());
    /// assert_eq!((row.id, row.source_id.as_deref()), (None, Some("python_O'Brien_us_23bd")));
    /// ```
    pub fn move_unusable_id_to_source(&mut self) -> bool {
        match self.id.take() {
            Some(id) if !id.is_empty() && crate::id::validate(&id).is_err() => {
                self.source_id = Some(id);
                true
            }
            kept => {
                self.id = kept;
                false
            }
        }
    }

    /// Checks the Zoho SDK's validity rules.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] when the token carries none of grant token, refresh token, id, access
    /// token or user name, or when it carries none of id, access token or user name and lacks the
    /// client id or client secret.
    pub fn validate(&self) -> Result<()> {
        let mut t = self.clone();
        t.normalize();
        let identified = t.id.is_some() || t.access_token.is_some() || t.user_name.is_some();
        if !identified && t.grant_token.is_none() && t.refresh_token.is_none() {
            return Err(Error::invalid_token(
                "it carries none of grant token, refresh token, access token, id or user name; set at least one",
            ));
        }
        if !identified && (t.client_id.is_none() || t.client_secret.is_none()) {
            return Err(Error::invalid_token(
                "a token known only by its grant or refresh token needs client_id and client_secret",
            ));
        }
        Ok(())
    }

    /// Turns empty strings into `None`, as the SDK treats them.
    pub(crate) fn normalize(&mut self) {
        fn clear<T>(field: &mut Option<T>, is_empty: impl Fn(&T) -> bool) {
            if field.as_ref().is_some_and(is_empty) {
                *field = None;
            }
        }
        clear(&mut self.id, |s| s.is_empty());
        clear(&mut self.user_name, |s| s.is_empty());
        clear(&mut self.client_id, |s| s.is_empty());
        clear(&mut self.client_secret, |s| s.secret().is_empty());
        clear(&mut self.grant_token, |s| s.secret().is_empty());
        clear(&mut self.refresh_token, |s| s.secret().is_empty());
        clear(&mut self.access_token, |s| s.secret().is_empty());
        clear(&mut self.redirect_url, |s| s.is_empty());
        clear(&mut self.api_domain, |s| s.is_empty());
        clear(&mut self.source_id, |s| s.is_empty());
    }

    /// Fills every field left empty from `stored`; this token's own values win. What
    /// [`TokenStore::find_token`](crate::TokenStore::find_token) does with what the caller passed.
    pub fn fill_from(&mut self, stored: &OAuthToken) {
        fn fill<T: Clone>(mine: &mut Option<T>, theirs: &Option<T>) {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        fill(&mut self.id, &stored.id);
        fill(&mut self.user_name, &stored.user_name);
        fill(&mut self.client_id, &stored.client_id);
        fill(&mut self.client_secret, &stored.client_secret);
        fill(&mut self.grant_token, &stored.grant_token);
        fill(&mut self.refresh_token, &stored.refresh_token);
        fill(&mut self.access_token, &stored.access_token);
        fill(&mut self.expires_at_ms, &stored.expires_at_ms);
        // The issue time belongs to an access token: taken only with the stored one, never beside a newer
        // access token the caller brings (the SDK's own refresh), whose lifetime it would misstate.
        if self.access_token == stored.access_token {
            fill(&mut self.issued_at_ms, &stored.issued_at_ms);
        }
        // A refusal is about one refresh token: it goes only with the stored one, never onto a token
        // the caller brings with another (a new sign-in clears it).
        // Nor onto a newer access token the caller brings (the SDK's own refresh): Zoho answered it, so
        // the refusal no longer stands.
        if self.refresh_token == stored.refresh_token && self.access_token == stored.access_token {
            fill(&mut self.refusal, &stored.refusal);
        }
        fill(&mut self.redirect_url, &stored.redirect_url);
        fill(&mut self.source_id, &stored.source_id);
        fill(&mut self.api_domain, &stored.api_domain);
    }

    /// The token as one JSON object, field names as in the SDK's `oauthtoken` table (`expiry_time` in
    /// epoch milliseconds), absent fields left out. This is what the store encrypts and what the CLI
    /// exports. The buffer holds secrets in plaintext, so it is zeroized when dropped.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let wire = WireRef {
            id: self.id.as_deref(),
            user_name: self.user_name.as_deref(),
            client_id: self.client_id.as_deref(),
            client_secret: self.client_secret.as_ref().map(ClientSecret::secret),
            grant_token: self.grant_token.as_ref().map(GrantToken::secret),
            refresh_token: self.refresh_token.as_ref().map(RefreshToken::secret),
            access_token: self.access_token.as_ref().map(AccessToken::secret),
            expiry_time: self.expires_at_ms,
            issued_time: self.issued_at_ms,
            refusal: self.refusal,
            redirect_url: self.redirect_url.as_deref(),
            api_domain: self.api_domain.as_deref(),
            source_id: self.source_id.as_deref(),
        };
        // Serializing a struct of strings and integers into a Vec cannot fail.
        Zeroizing::new(serde_json::to_vec(&wire).unwrap_or_default())
    }

    /// Parses the JSON written by [`OAuthToken::to_json`]; empty strings become absent fields.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] naming what is malformed (never echoing a value).
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let w: WireOwned = serde_json::from_slice(bytes).map_err(|e| {
            Error::invalid_token(format!(
                "not a token JSON object ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let mut token = OAuthToken {
            id: w.id,
            user_name: w.user_name,
            client_id: w.client_id,
            client_secret: w.client_secret.map(ClientSecret::new),
            grant_token: w.grant_token.map(GrantToken::new),
            refresh_token: w.refresh_token.map(RefreshToken::new),
            access_token: w.access_token.map(AccessToken::new),
            expires_at_ms: w.expiry_time,
            issued_at_ms: w.issued_time,
            refusal: w.refusal,
            redirect_url: w.redirect_url,
            api_domain: w.api_domain,
            source_id: w.source_id,
        };
        token.normalize();
        Ok(token)
    }
}

/// Milliseconds since the Unix epoch, now: the unit of [`OAuthToken::expires_at_ms`], and the crate's
/// one reading of the clock in that unit.
pub(crate) fn now_ms() -> u64 {
    epoch_ms(std::time::SystemTime::now())
}

/// `at` in milliseconds since the Unix epoch (0 before it).
pub(crate) fn epoch_ms(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Why a mirror of the token and not `#[derive(Serialize)]` on it: the secret types deliberately do not
/// implement `Serialize`, so no secret is ever written out by accident (a log line, a debug dump).
/// [`OAuthToken::to_json`] is the one place a token is serialized, through this struct, which borrows
/// every field (no unzeroized copy of a secret is made) and carries the SDK's wire names
/// (`expiry_time`). [`WireOwned`] is its reading half.
#[derive(Serialize)]
struct WireRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiry_time: Option<u64>,
    /// Not an SDK column: absent from values written before it, and ignored by readers that predate it.
    #[serde(skip_serializing_if = "Option::is_none")]
    issued_time: Option<u64>,
    /// Not an SDK column either (see `issued_time`).
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<ZohoRefusal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_domain: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_id: Option<&'a str>,
}

#[derive(Deserialize)]
struct WireOwned {
    id: Option<String>,
    user_name: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_token: Option<String>,
    refresh_token: Option<String>,
    access_token: Option<String>,
    expiry_time: Option<u64>,
    /// Absent in values written before it was kept: then None.
    #[serde(default)]
    issued_time: Option<u64>,
    #[serde(default)]
    refusal: Option<ZohoRefusal>,
    redirect_url: Option<String>,
    api_domain: Option<String>,
    source_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> OAuthToken {
        OAuthToken::default()
            .with_id("t1")
            .with_user_name("alice@example.com:123")
            .with_client("1000.CID", "csecret-XYZ")
            .with_grant_token("grant-XYZ")
            .with_refresh_token("refresh-XYZ")
            .with_access_token("access-XYZ", 1_900_000_000_000)
            .with_issued_at(1_899_996_400_000)
            .with_redirect_url("https://app.example.com/cb")
            .with_api_domain("https://www.zohoapis.com")
    }

    #[test]
    fn json_round_trip_keeps_every_field() {
        let t = full();
        assert_eq!(OAuthToken::from_json(&t.to_json()).unwrap(), t);
        let empty = OAuthToken::default();
        assert_eq!(&**empty.to_json(), b"{}");
        assert_eq!(OAuthToken::from_json(b"{}").unwrap(), empty);
    }

    #[test]
    fn debug_redacts_every_secret_field() {
        let shown = format!("{:?}", full());
        assert!(!shown.contains("-XYZ"), "{shown}");
        assert!(
            shown.contains("alice@example.com"),
            "non-secret fields stay visible: {shown}"
        );
    }

    #[test]
    fn validity_rules_follow_the_sdk() {
        let err = OAuthToken::default().validate().unwrap_err().to_string();
        assert!(err.contains("none of grant token"), "{err}");
        let err = OAuthToken::default()
            .with_refresh_token("r")
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs client_id and client_secret"), "{err}");
        // Empty strings count as absent.
        let err = OAuthToken::default()
            .with_user_name("")
            .validate()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidToken { .. }));

        OAuthToken::default()
            .with_user_name("u")
            .validate()
            .unwrap();
        OAuthToken::default().with_id("1").validate().unwrap();
        OAuthToken::default()
            .with_access_token("a", 1)
            .validate()
            .unwrap();
        OAuthToken::default()
            .with_refresh_token("r")
            .with_client("c", "s")
            .validate()
            .unwrap();
        OAuthToken::default()
            .with_grant_token("g")
            .with_client("c", "s")
            .validate()
            .unwrap();
    }

    #[test]
    fn fill_from_keeps_the_callers_values() {
        let mut partial = OAuthToken::default()
            .with_user_name("alice@example.com:123")
            .with_access_token("fresh", 5);
        partial.fill_from(&full());
        assert_eq!(partial.access_token.as_ref().unwrap().secret(), "fresh");
        assert_eq!(partial.expires_at_ms, Some(5));
        assert_eq!(
            partial.refresh_token.as_ref().unwrap().secret(),
            "refresh-XYZ"
        );
        assert_eq!(partial.id.as_deref(), Some("t1"));
    }

    #[test]
    fn the_issue_time_travels_with_its_access_token_and_older_values_read_without_it() {
        let stored = full();
        assert_eq!(
            stored.lifetime(),
            Some(std::time::Duration::from_secs(3600))
        );
        // The SDK's own refresh brings a new access token: the stored issue time is not its.
        let mut refreshed = OAuthToken::default()
            .with_id("t1")
            .with_access_token("access-new", 1_900_000_100_000);
        refreshed.fill_from(&stored);
        assert_eq!((refreshed.issued_at_ms, refreshed.lifetime()), (None, None));
        // A lookup that brings no access token gets the stored one, with its issue time.
        let mut found = OAuthToken::default().with_id("t1");
        found.fill_from(&stored);
        assert_eq!(found.issued_at_ms, stored.issued_at_ms);
        // A value written before the field was kept.
        let older = OAuthToken::from_json(br#"{"id":"t1","expiry_time":5}"#).unwrap();
        assert_eq!((older.expires_at_ms, older.issued_at_ms), (Some(5), None));
    }
}
