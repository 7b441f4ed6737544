//! A token as the Zoho SDKs hold it: their fields as text, the form both bindings hand over.
//!
//! The SDKs keep `expires_in` as epoch milliseconds in a string and read an empty string as absent; the
//! rules for turning that into an [`OAuthToken`] (and which of the crate's own fields an SDK token
//! never carries) are written here once, for Python and Node alike.

use std::fmt;

use crate::error::{Error, Result};
use crate::fix::Api;
use crate::token::OAuthToken;

/// The SDKs' token fields, each as text (None when absent). Holds secrets as plain strings, because
/// that is how a binding hands them over: `Debug` shows only which are set.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SdkToken {
    /// The store's id of the token.
    pub id: Option<String>,
    /// The user's name, as the SDK's `UserSignature` holds it (`email:zgid` from the SDKs' sign-in).
    pub user_name: Option<String>,
    /// The Zoho API client's id.
    pub client_id: Option<String>,
    /// The Zoho API client's secret.
    pub client_secret: Option<String>,
    /// A grant token (the first sign-in's).
    pub grant_token: Option<String>,
    /// The refresh token.
    pub refresh_token: Option<String>,
    /// The access token.
    pub access_token: Option<String>,
    /// When the access token expires, in epoch milliseconds, as the SDKs keep it: a string of digits.
    pub expires_in: Option<String>,
    /// The client's redirect URL.
    pub redirect_url: Option<String>,
    /// The API domain Zoho named with the token.
    pub api_domain: Option<String>,
}

impl fmt::Debug for SdkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("SdkToken")
            .field("id", &self.id)
            .field("user_name", &self.user_name)
            .field("client_id", &self.client_id)
            .field("client_secret", &set(&self.client_secret))
            .field("grant_token", &set(&self.grant_token))
            .field("refresh_token", &set(&self.refresh_token))
            .field("access_token", &set(&self.access_token))
            .field("expires_in", &self.expires_in)
            .field("redirect_url", &self.redirect_url)
            .field("api_domain", &self.api_domain)
            .finish()
    }
}

/// None for an absent or empty value, as the SDKs' stores read them.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl SdkToken {
    /// The token these fields describe, as the SDKs' stores read them: empty text is absent.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] for an `expires_in` that is not epoch milliseconds, naming the field as
    /// the caller's SDK does (`expires_in`, `expiresIn`).
    pub fn into_token(self, api: Api) -> Result<OAuthToken> {
        let expires_at_ms = match self.expires_in.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse().map_err(|_| Error::InvalidToken {
                reason: format!(
                    "`{}` must be the access token's expiry in epoch milliseconds, as the SDK sets it \
                     (a string of digits such as \"1767225600000\")",
                    match api {
                        Api::JavaScript => "expiresIn",
                        _ => "expires_in",
                    }
                ),
            })?),
        };
        Ok(OAuthToken {
            id: given(self.id),
            user_name: given(self.user_name),
            client_id: given(self.client_id),
            client_secret: given(self.client_secret).map(Into::into),
            grant_token: given(self.grant_token).map(Into::into),
            refresh_token: given(self.refresh_token).map(Into::into),
            access_token: given(self.access_token).map(Into::into),
            expires_at_ms,
            redirect_url: given(self.redirect_url),
            api_domain: given(self.api_domain),
            // The SDKs' tokens have no source id; it stays whatever the stored token holds.
            source_id: None,
            // Nor an issue time: the stored one is kept with the stored access token (`fill_from`).
            issued_at_ms: None,
            // Nor a refusal: the stored one is kept with the stored refresh token (`fill_from`).
            refusal: None,
        })
    }
}

impl From<&OAuthToken> for SdkToken {
    /// The SDK's fields of `token` (not its source id, issue time or refusal, which SDKs do not hold).
    fn from(token: &OAuthToken) -> Self {
        Self {
            id: token.id.clone(),
            user_name: token.user_name.clone(),
            client_id: token.client_id.clone(),
            client_secret: token.client_secret.as_ref().map(|s| s.secret().to_owned()),
            grant_token: token.grant_token.as_ref().map(|s| s.secret().to_owned()),
            refresh_token: token.refresh_token.as_ref().map(|s| s.secret().to_owned()),
            access_token: token.access_token.as_ref().map(|s| s.secret().to_owned()),
            expires_in: token.expires_at_ms.map(|ms| ms.to_string()),
            redirect_url: token.redirect_url.clone(),
            api_domain: token.api_domain.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_is_absent_and_expiry_is_digits() {
        let mut fields = SdkToken {
            user_name: Some("a@example.com".into()),
            refresh_token: Some(String::new()),
            expires_in: Some(" 1767225600000 ".into()),
            ..SdkToken::default()
        };
        let token = fields.clone().into_token(Api::Python).unwrap_or_default();
        assert_eq!(token.refresh_token, None);
        assert_eq!(token.expires_at_ms, Some(1_767_225_600_000));
        assert_eq!(
            SdkToken::from(&token).expires_in.as_deref(),
            Some("1767225600000")
        );
        fields.expires_in = Some("soon".into());
        let err = fields.into_token(Api::JavaScript).map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("`expiresIn`"), "{err}");
    }

    #[test]
    fn debug_shows_which_secrets_are_set_never_them() {
        let fields = SdkToken {
            refresh_token: Some("1000.secret-refresh".into()),
            ..SdkToken::default()
        };
        let shown = format!("{fields:?}");
        assert!(
            !shown.contains("secret-refresh") && shown.contains("<set>"),
            "{shown}"
        );
    }
}
