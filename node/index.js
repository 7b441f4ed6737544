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

/** The token classes apps build tokens with: the installed SDK's, else this package's own; asked when
 * read, so a Node SDK imported after this module loaded (a Node without require(esm)) is the one. */
const tokens = () => sdk.node() || sdk.typescriptSdk() || standalone;

module.exports = {
  SecretsManagerTokenStore,
  TokenStoreError,
  TOKEN_STORE,
  get OAuthToken() {
    return tokens().OAuthToken;
  },
  get UserSignature() {
    return tokens().UserSignature;
  },
  /** Resolves once the store's classes are the Node SDK's (see lib/sdk.js): at once on a Node that can
   * require() an ES module; a CommonJS app on an older one awaits it before using the store. */
  ready: sdk.linked,
  version: native.version(),
};
