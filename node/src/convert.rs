//! Tokens between plain JavaScript objects and [`OAuthToken`]: the SDK's fields in camelCase, read by
//! the crate's `SdkToken` (`expiresIn` as epoch milliseconds in a string, empty strings as absent).

use napi_derive::napi;
use zoho_token_store::sdk::SdkToken;
use zoho_token_store::{Api, OAuthToken};

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

/// The token the fields describe (the rules are the crate's: `SdkToken`).
///
/// # Errors
/// [`zoho_token_store::Error::InvalidToken`] for an `expiresIn` that is not epoch milliseconds.
pub(crate) fn token_from(fields: TokenFields) -> zoho_token_store::Result<OAuthToken> {
    let mut sdk = SdkToken::default();
    sdk.id = fields.id;
    sdk.user_name = fields.user_name;
    sdk.client_id = fields.client_id;
    sdk.client_secret = fields.client_secret;
    sdk.grant_token = fields.grant_token;
    sdk.refresh_token = fields.refresh_token;
    sdk.access_token = fields.access_token;
    sdk.expires_in = fields.expires_in;
    sdk.redirect_url = fields.redirect_url;
    sdk.api_domain = fields.api_domain;
    sdk.into_token(Api::JavaScript)
}

/// The fields of a token (the SDK's, so not its source id, issue time or refusal).
pub(crate) fn token_to(token: &OAuthToken) -> TokenFields {
    let sdk = SdkToken::from(token);
    TokenFields {
        id: sdk.id,
        user_name: sdk.user_name,
        client_id: sdk.client_id,
        client_secret: sdk.client_secret,
        grant_token: sdk.grant_token,
        refresh_token: sdk.refresh_token,
        access_token: sdk.access_token,
        expires_in: sdk.expires_in,
        redirect_url: sdk.redirect_url,
        api_domain: sdk.api_domain,
    }
}
