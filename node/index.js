'use strict';
// zoho-token-store: Zoho OAuth tokens encrypted (AES-256-GCM) in AWS Secrets Manager, as a token store
// of the Zoho CRM Node.js and TypeScript SDKs. The CommonJS entry point (`require`); index.mjs is the
// ES module one, with the same exports. Every rule of the store lives in the Rust crate
// `zoho-token-store`, shared with the Python package and the command-line tool; lib/ converts and
// wires. See index.d.ts for the API.

const sdk = require('./lib/sdk.js');
const standalone = require('./lib/standalone.js');
const { SecretsManagerTokenStore } = require('./lib/store.js');
const { TokenStoreError, TOKEN_STORE } = require('./lib/errors.js');
const native = require('./native.js');

/** The token classes apps build tokens with: the installed SDK's, else this package's own. */
const tokens = sdk.node() || sdk.typescriptSdk() || standalone;

module.exports = {
  SecretsManagerTokenStore,
  TokenStoreError,
  TOKEN_STORE,
  OAuthToken: tokens.OAuthToken,
  UserSignature: tokens.UserSignature,
  version: native.version(),
};
