//! Tokens between Python dicts and [`OAuthToken`]: the SDK's field names, `expires_in` as the SDK's
//! epoch-milliseconds string, empty strings as None (as the SDK's stores read them).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use zoho_token_store::{Error, OAuthToken};

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

/// The SDK's `expires_in`: epoch milliseconds, as a string of digits (an int is taken too).
fn expiry(dict: &Bound<'_, PyDict>) -> PyResult<Option<u64>> {
    let Some(value) = field(dict, "expires_in")? else {
        return Ok(None);
    };
    let bad = || {
        raise(Error::InvalidToken {
            reason:
                "`expires_in` must be the access token's expiry in epoch milliseconds, as the SDK \
                     sets it (a string of digits such as \"1767225600000\")"
                    .to_owned(),
        })
    };
    if let Ok(ms) = value.extract::<u64>() {
        return Ok(Some(ms));
    }
    let text: String = value.extract().map_err(|_| bad())?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| bad())
}

/// The token a dict describes.
pub(crate) fn token_from(dict: &Bound<'_, PyDict>) -> PyResult<OAuthToken> {
    Ok(OAuthToken {
        id: text(dict, "id")?,
        user_name: text(dict, "user_name")?,
        client_id: text(dict, "client_id")?,
        client_secret: text(dict, "client_secret")?.map(Into::into),
        grant_token: text(dict, "grant_token")?.map(Into::into),
        refresh_token: text(dict, "refresh_token")?.map(Into::into),
        access_token: text(dict, "access_token")?.map(Into::into),
        expires_at_ms: expiry(dict)?,
        redirect_url: text(dict, "redirect_url")?,
        api_domain: text(dict, "api_domain")?,
        // The SDK's tokens have no source id; it stays whatever the stored token holds.
        source_id: None,
        // Nor an issue time: the stored one is kept with the stored access token (`fill_from`).
        issued_at_ms: None,
        // Nor a refusal: the stored one is kept with the stored refresh token (`fill_from`).
        refusal: None,
    })
}

/// The dict of a token: every field, None where absent.
pub(crate) fn to_py<'py>(py: Python<'py>, token: &OAuthToken) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("id", token.id.as_deref())?;
    dict.set_item("user_name", token.user_name.as_deref())?;
    dict.set_item("client_id", token.client_id.as_deref())?;
    dict.set_item(
        "client_secret",
        token.client_secret.as_ref().map(|s| s.secret()),
    )?;
    dict.set_item(
        "grant_token",
        token.grant_token.as_ref().map(|s| s.secret()),
    )?;
    dict.set_item(
        "refresh_token",
        token.refresh_token.as_ref().map(|s| s.secret()),
    )?;
    dict.set_item(
        "access_token",
        token.access_token.as_ref().map(|s| s.secret()),
    )?;
    dict.set_item("expires_in", token.expires_at_ms.map(|ms| ms.to_string()))?;
    dict.set_item("redirect_url", token.redirect_url.as_deref())?;
    dict.set_item("api_domain", token.api_domain.as_deref())?;
    dict.set_item("source_id", token.source_id.as_deref())?;
    Ok(dict)
}
