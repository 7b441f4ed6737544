//! The crate's errors as JavaScript sees them: an `Error` whose message is the crate's, worded for
//! JavaScript (options as `kmsKeyId`, never a Rust path; never a secret), with `kind` (the failure
//! class, `"NotFound"`, `"Throttled"`, ...) and `retryable`. The package turns it into its
//! `TokenStoreError`.

use napi::bindgen_prelude::{JsObjectValue, JsValue};
use napi::{Env, Error};
use zoho_token_store::Api;

/// The error a call rejects (or throws) with for `error`.
pub(crate) fn reject(env: &Env, error: &zoho_token_store::Error) -> Error {
    let message = error.message(Api::JavaScript);
    let built = env
        .create_error(Error::from_reason(message.clone()))
        .and_then(|mut object| {
            object.set_named_property("kind", error.kind())?;
            object.set_named_property("retryable", error.is_retryable())?;
            Ok(object.to_unknown())
        });
    match built {
        // Thrown as this very object.
        Ok(object) => Error::from(object),
        // Out of memory, or the environment is going away: the message alone.
        Err(_) => Error::from_reason(message),
    }
}
