//! Tokens between Python dicts and [`OAuthToken`]: the SDK's field names, read by the crate's
//! `SdkToken` (`expires_in` as epoch milliseconds in a string, empty strings as None).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use zoho_token_store::sdk::SdkToken;
use zoho_token_store::{Api, Error, OAuthToken};

use crate::raise;

/// A field of the dict; None when absent or None.
fn field<'py>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(dict.get_item(key)?.filter(|value| !value.is_none()))
}

/// A string field of the dict; None when absent, None or empty.
fn text(dict: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<String>> {
    let Some(value) = field(dict, key)? else {
        return Ok(None);
    };
    let text: String = value.extract().map_err(|_| {
        raise(Error::InvalidToken {
            reason: format!(
                "`{key}` must be a string or None, not {}",
                value
                    .get_type()
                    .name()
                    .map_or_else(|_| "another type".into(), |n| n.to_string())
            ),
        })
    })?;
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// The SDK's `expires_in` as text (an int is taken too, as epoch milliseconds); its rule is the crate's.
fn expiry(dict: &Bound<'_, PyDict>) -> PyResult<Option<String>> {
    let Some(value) = field(dict, "expires_in")? else {
        return Ok(None);
    };
    if let Ok(ms) = value.extract::<u64>() {
        return Ok(Some(ms.to_string()));
    }
    // Anything else as Python writes it (a float's `1.7e+12` is not epoch milliseconds either): the
    // crate's rule refuses it, in its words.
    Ok(Some(value.str()?.to_string()))
}

/// The token a dict describes (the rules are the crate's: `SdkToken`).
pub(crate) fn token_from(dict: &Bound<'_, PyDict>) -> PyResult<OAuthToken> {
    let mut sdk = SdkToken::default();
    sdk.id = text(dict, "id")?;
    sdk.user_name = text(dict, "user_name")?;
    sdk.client_id = text(dict, "client_id")?;
    sdk.client_secret = text(dict, "client_secret")?;
    sdk.grant_token = text(dict, "grant_token")?;
    sdk.refresh_token = text(dict, "refresh_token")?;
    sdk.access_token = text(dict, "access_token")?;
    sdk.expires_in = expiry(dict)?;
    sdk.redirect_url = text(dict, "redirect_url")?;
    sdk.api_domain = text(dict, "api_domain")?;
    sdk.into_token(Api::Python).map_err(raise)
}

/// The dict of a token: every field, None where absent (and the store's `source_id`).
pub(crate) fn to_py<'py>(py: Python<'py>, token: &OAuthToken) -> PyResult<Bound<'py, PyDict>> {
    let sdk = SdkToken::from(token);
    let dict = PyDict::new(py);
    dict.set_item("id", sdk.id)?;
    dict.set_item("user_name", sdk.user_name)?;
    dict.set_item("client_id", sdk.client_id)?;
    dict.set_item("client_secret", sdk.client_secret)?;
    dict.set_item("grant_token", sdk.grant_token)?;
    dict.set_item("refresh_token", sdk.refresh_token)?;
    dict.set_item("access_token", sdk.access_token)?;
    dict.set_item("expires_in", sdk.expires_in)?;
    dict.set_item("redirect_url", sdk.redirect_url)?;
    dict.set_item("api_domain", sdk.api_domain)?;
    dict.set_item("source_id", token.source_id.as_deref())?;
    Ok(dict)
}
