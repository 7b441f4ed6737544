'use strict';
// Both entry points on every Node the package supports: the store is the Node SDK's TokenStore and its
// error an SDKException whether the app imports or requires the package, also on a Node that cannot
// require() an ES module (before 20.19 and 22.12: simulated with --no-experimental-require-module),
// where the SDK is imported and linked in; and without any SDK the package works on its own classes.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');

const { PACKAGE, appWithPackage, endpoint, newKeys, newPrefix, runNode } = require('./helpers.js');

const NO_REQUIRE_ESM = ['--no-experimental-require-module'];

test('an ES module app on a Node without require(esm): the SDK is linked before the app runs', async () => {
  const run = await runNode(
    `
    import * as sdk from '@zohocrm/nodejs-sdk-8.0';
    import { SecretsManagerTokenStore, TokenStoreError, OAuthToken } from 'zoho-token-store';
    const store = new SecretsManagerTokenStore({ keys: ${JSON.stringify(newKeys())} });
    const builder = await new sdk.InitializeBuilder();
    builder.store(store);
    console.log(JSON.stringify({
      store: store instanceof sdk.TokenStore.TokenStore,
      error: new TokenStoreError('NotFound', 'm') instanceof sdk.SDKException,
      tokens: OAuthToken === sdk.OAuthToken,
    }));
    `,
    { esm: true, flags: NO_REQUIRE_ESM },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { store: true, error: true, tokens: true });
});

test('a CommonJS app on a Node without require(esm): linked once it has awaited ready, whichever imports first', async () => {
  // The app's own import first, then `ready` (the order in which a bare microtask race would decide).
  const run = await runNode(
    `
    const pkg = require('zoho-token-store');
    (async () => {
      const sdk = await import('@zohocrm/nodejs-sdk-8.0');
      await pkg.ready;
      const store = new pkg.SecretsManagerTokenStore({ keys: ${JSON.stringify(newKeys())} });
      (await new sdk.InitializeBuilder()).store(store);
      console.log(JSON.stringify({
        store: store instanceof sdk.TokenStore.TokenStore,
        error: new pkg.TokenStoreError('NotFound', 'm') instanceof sdk.SDKException,
        tokens: pkg.OAuthToken === sdk.OAuthToken && pkg.UserSignature === sdk.UserSignature,
      }));
    })();
    `,
    { flags: NO_REQUIRE_ESM },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { store: true, error: true, tokens: true });
});

test('without an SDK installed the store works on its own token classes, its error an Error', async () => {
  endpoint();
  const app = await appWithPackage({ copy: true });
  const source = (entry) => `
    ${entry}
    (async () => {
      const store = new SecretsManagerTokenStore({ prefix: ${JSON.stringify(newPrefix('no-sdk'))}, keys: ${JSON.stringify(newKeys())}, recoveryWindowDays: 0 });
      const token = new OAuthToken();
      token.setUserSignature(new UserSignature('solo@example.com'));
      token.setClientId('1000.CLIENT');
      token.setClientSecret('client-secret');
      token.setRefreshToken('1000.refresh-solo');
      await store.saveToken(token);
      const [saved] = await store.getTokens();
      const error = await store.findTokenById('missing').catch((e) => e);
      console.log(JSON.stringify({
        saved: saved instanceof OAuthToken && saved.getId() === token.getId(),
        user: saved.getUserSignature().getName(),
        error: [error instanceof TokenStoreError, error instanceof Error, error.kind, error.code],
        noSdk: Object.getPrototypeOf(TokenStoreError.prototype) === Error.prototype,
        // The package's own token shows no secret when inspected or serialised.
        hidden: [process.getBuiltinModule('node:util').inspect(saved), JSON.stringify(saved), JSON.stringify(token)].every(
          (text) => !text.includes('client-secret') && !text.includes('refresh-solo') && text.includes('solo@example.com'),
        ),
      }));
      await store.deleteTokens();
    })();
  `;
  const expected = {
    saved: true,
    user: 'solo@example.com',
    error: [true, true, 'NotFound', 'TOKEN_STORE'],
    noSdk: true,
    hidden: true,
  };
  const cjs = await runNode(
    source("const { SecretsManagerTokenStore, TokenStoreError, OAuthToken, UserSignature } = require('zoho-token-store');"),
    { cwd: app },
  );
  assert.equal(cjs.code, 0, cjs.stderr);
  assert.deepEqual(JSON.parse(cjs.stdout), expected);
  const esm = await runNode(
    source("import { SecretsManagerTokenStore, TokenStoreError, OAuthToken, UserSignature } from 'zoho-token-store';"),
    { cwd: app, esm: true },
  );
  assert.equal(esm.code, 0, esm.stderr);
  assert.deepEqual(JSON.parse(esm.stdout), expected);
});

test('with only the TypeScript SDK installed, its SDKException and OAuthToken are the package\'s', async () => {
  endpoint();
  const app = await appWithPackage({ copy: true });
  // The SDK as a link to the copy installed here (its own dependencies resolve from there).
  const sdkDir = path.join(app, 'node_modules', '@zohocrm');
  fs.mkdirSync(sdkDir, { recursive: true });
  fs.symlinkSync(path.join(PACKAGE, 'node_modules', '@zohocrm', 'typescript-sdk-8.0'), path.join(sdkDir, 'typescript-sdk-8.0'));
  const run = await runNode(
    `
    const ts = require('@zohocrm/typescript-sdk-8.0');
    const { SecretsManagerTokenStore, TokenStoreError, OAuthToken } = require('zoho-token-store');
    (async () => {
      const store = new SecretsManagerTokenStore({ prefix: ${JSON.stringify(newPrefix('ts-only'))}, keys: ${JSON.stringify(newKeys())}, recoveryWindowDays: 0 });
      const token = new ts.OAuthBuilder().clientId('1000.CLIENT').clientSecret('client-secret').refreshToken('1000.refresh-ts').build();
      await store.saveToken(token);
      const [saved] = await store.getTokens();
      const error = await store.deleteToken('missing').catch((e) => e);
      console.log(JSON.stringify({
        tokens: OAuthToken === ts.OAuthToken && saved instanceof ts.OAuthToken && saved.getId() === token.getId(),
        error: error instanceof TokenStoreError && error instanceof ts.SDKException && error.kind,
        nodeSdk: (() => { try { require.resolve('@zohocrm/nodejs-sdk-8.0'); return true; } catch { return false; } })(),
      }));
      await store.deleteTokens();
    })();
    `,
    { cwd: app },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { tokens: true, error: 'NotFound', nodeSdk: false });
});
