// zoho-token-store, the ES module entry point: the CommonJS module's exports (one implementation, so
// an app that reaches the package both ways still has one SecretsManagerTokenStore class).
import sdk from './lib/sdk.js';
import cjs from './index.js';

// On a Node that cannot require() an ES module the Zoho Node SDK is imported instead, and the store's
// classes become its subclasses when it arrives: waited for here, so an app's
// `new InitializeBuilder().store(new SecretsManagerTokenStore(...))` passes the SDK's instanceof check.
await sdk.linked;

const tokens = sdk.node() || cjs;

export const { SecretsManagerTokenStore, TokenStoreError, TOKEN_STORE, version, ready } = cjs;
export const { OAuthToken, UserSignature } = tokens;
