'use strict';
// The package's error: `TokenStoreError`, an `SDKException` of the Zoho SDK when one is installed (code
// `TOKEN_STORE`, as the SDK's own stores throw), else an `Error`. Its message is the Rust crate's, one
// line naming the fix, never a secret; `kind` names the failure class and `retryable` says whether the
// same call may succeed later.

const { SDKExceptionBase } = require('./sdk.js');

/** The SDK's error code for token store failures (its `Constants.TOKEN_STORE`). */
const TOKEN_STORE = 'TOKEN_STORE';

class TokenStoreError extends SDKExceptionBase {
  /**
   * @param {string} kind the failure class (`"Backend"`, `"Throttled"`, `"NotFound"`, ...)
   * @param {string} message what failed and how to fix it
   * @param {boolean} retryable whether the same call may succeed later
   */
  constructor(kind, message, retryable = false) {
    // The SDK's constructor (code, message, details, cause) appends details and cause to the
    // message; this error has neither, so its fields are set here, alike for every base.
    super();
    this.code = TOKEN_STORE;
    this.message = message;
    this.details = null;
    this.cause = null;
    this.kind = kind;
    this.retryable = retryable;
    // The stack's first line was written by super(), before the message was set.
    Error.captureStackTrace(this, TokenStoreError);
  }
}

Object.defineProperty(TokenStoreError.prototype, 'name', {
  value: 'TokenStoreError',
  writable: true,
  configurable: true,
});

/**
 * The native module's rejection as a `TokenStoreError`; anything else (a bug of the package's glue) as
 * it is.
 */
function fromNative(error) {
  if (error && typeof error.kind === 'string' && typeof error.message === 'string') {
    return new TokenStoreError(error.kind, error.message, error.retryable === true);
  }
  return error;
}

module.exports = { TokenStoreError, TOKEN_STORE, fromNative };
