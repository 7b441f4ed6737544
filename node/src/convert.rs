//! Tokens between plain JavaScript objects and [`OAuthToken`]: the SDK's fields in camelCase,
//! `expiresIn` as the SDK's epoch-milliseconds string, empty strings as absent (as the SDK's stores
//! read them).

use napi_derive::napi;
use zoho_token_store::{Error, OAuthToken};

/// A token as the package's JavaScript passes it (from an SDK `OAuthToken`'s getters) and gets it
/// back; absent fields are undefined.
#[napi(object)]
pub struct TokenFields {
    pub id: Option<String>,
    pub user_name: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub grant_token: Option<String>,
    pub refresh_token: Option<String>,
    pub access_token: Option<String>,
    /// Epoch milliseconds, as the SDK keeps it: a string of digits.
    pub expires_in: Option<String>,
    pub redirect_url: Option<String>,
    pub api_domain: Option<String>,
}

/// None for an absent or empty value.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// The SDK's `expiresIn`: epoch milliseconds as a string of digits.
fn expiry(value: Option<String>) -> zoho_token_store::Result<Option<u64>> {
    let Some(text) = value else {
        return Ok(None);
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| Error::InvalidToken {
        reason: "`expiresIn` must be the access token's expiry in epoch milliseconds, as the SDK \
                 sets it (a string of digits such as \"1767225600000\")"
            .to_owned(),
    })
}

/// The token the fields describe.
///
/// # Errors
/// [`Error::InvalidToken`] for an `expiresIn` that is not epoch milliseconds.
pub(crate) fn token_from(fields: TokenFields) -> zoho_token_store::Result<OAuthToken> {
    Ok(OAuthToken {
        id: given(fields.id),
        user_name: given(fields.user_name),
        client_id: given(fields.client_id),
        client_secret: given(fields.client_secret).map(Into::into),
        grant_token: given(fields.grant_token).map(Into::into),
        refresh_token: given(fields.refresh_token).map(Into::into),
        access_token: given(fields.access_token).map(Into::into),
        expires_at_ms: expiry(fields.expires_in)?,
        redirect_url: given(fields.redirect_url),
        api_domain: given(fields.api_domain),
        // The SDK's tokens have no source id; it stays whatever the stored token holds.
        source_id: None,
        // Nor an issue time: the stored one is kept with the stored access token (`fill_from`).
        issued_at_ms: None,
        // Nor a refusal: the stored one is kept with the stored refresh token (`fill_from`).
        refusal: None,
    })
}

/// The fields of a token (the SDK's, so not its source id, issue time or refusal).
pub(crate) fn token_to(token: &OAuthToken) -> TokenFields {
    TokenFields {
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
