'use strict';
// No secret (the keyring, a token, a client secret) in the message, `util.inspect` or JSON of anything
// the package exports or throws: the store, its errors, and the errors of its checks.

const assert = require('node:assert/strict');
const test = require('node:test');
const util = require('node:util');

const sdk = require('@zohocrm/nodejs-sdk-8.0');
const { SecretsManagerTokenStore, TokenStoreError } = require('..');
const { endpoint, newKeys, newPrefix } = require('./helpers.js');

const SECRETS = {
  clientSecret: 'client-secret-DO-NOT-SHOW',
  refreshToken: '1000.refresh-DO-NOT-SHOW',
  accessToken: '1000.access-DO-NOT-SHOW',
  grantToken: '1000.grant-DO-NOT-SHOW',
};

/** Every rendering of `value` a log line or a response could carry. */
function renderings(value) {
  const shown = [
    util.inspect(value),
    util.inspect(value, { showHidden: true, depth: Infinity, getters: true }),
    JSON.stringify(value) ?? '',
    String(value),
  ];
  if (value instanceof Error) shown.push(value.stack, value.message, value.toString());
  return shown.join('\n');
}

function assertNoSecret(value, secrets) {
  const shown = renderings(value);
  for (const secret of secrets) {
    assert.ok(!shown.includes(secret), `a secret in ${shown}`);
  }
}

/** The keyring's secret parts: the whole text and each key's base64. */
function keyParts(keys) {
  return [keys, ...keys.split(',').map((entry) => entry.split('=').slice(1).join('='))];
}

function token(fields) {
  const t = Reflect.construct(sdk.OAuthToken, []);
  for (const [name, value] of Object.entries(fields)) t[`set${name}`](value);
  return t;
}

test('the store shows its prefix and nothing else, before and after its tokens pass through it', async () => {
  endpoint();
  const keys = newKeys();
  const prefix = newPrefix('secrets-store');
  const store = new SecretsManagerTokenStore({ prefix, keys, recoveryWindowDays: 0, cacheTtlSeconds: 30 });
  assert.equal(util.inspect(store), `SecretsManagerTokenStore { prefix: '${prefix}' }`);
  assert.equal(JSON.stringify(store), JSON.stringify({ prefix }));
  assert.deepEqual(Reflect.ownKeys(store), [], 'no own property to reach the native store or the keys by');
  const saved = token({
    UserSignature: new sdk.UserSignature('alice@example.com'),
    ClientId: '1000.CLIENT',
    ClientSecret: SECRETS.clientSecret,
    RefreshToken: SECRETS.refreshToken,
    AccessToken: SECRETS.accessToken,
  });
  await store.saveToken(saved);
  await store.findToken(token({ UserSignature: new sdk.UserSignature('alice@example.com') }));
  assertNoSecret(store, [...keyParts(keys), ...Object.values(SECRETS)]);
});

test('errors carry no secret: a bad keyring, a refused token, a wrong key, an unknown id', async () => {
  endpoint();
  const keys = newKeys();
  const prefix = newPrefix('secrets-errors');
  const errors = [];
  const collect = async (promise) => {
    try {
      await promise;
    } catch (error) {
      errors.push(error);
      return;
    }
    assert.fail('expected a failure');
  };

  // A keyring that does not parse: its text is key material.
  const broken = `${keys},k2=not-base64-DO-NOT-SHOW`;
  await collect(Promise.resolve().then(() => new SecretsManagerTokenStore({ prefix, keys: broken })));
  await collect(Promise.resolve().then(() => new SecretsManagerTokenStore({ prefix, keys: 12345 })));

  const store = new SecretsManagerTokenStore({ prefix, keys, recoveryWindowDays: 0, cacheTtlSeconds: 0 });
  // A token the SDK's rules refuse, carrying secrets.
  await collect(store.saveToken(token({ Id: 'not a valid id!', ClientSecret: SECRETS.clientSecret, RefreshToken: SECRETS.refreshToken })));
  await store.saveToken(
    token({ UserSignature: new sdk.UserSignature('bob@example.com'), ClientId: 'c', ClientSecret: SECRETS.clientSecret, GrantToken: SECRETS.grantToken, RefreshToken: SECRETS.refreshToken }),
  );
  // The same prefix read with another keyring: nothing decrypts.
  const stranger = new SecretsManagerTokenStore({ prefix, keys: newKeys(), cacheTtlSeconds: 0 });
  await collect(stranger.getTokens());
  await collect(store.findTokenById('no-such-id'));

  assert.equal(errors.length, 5);
  const kinds = errors.map((e) => (e instanceof TokenStoreError ? e.kind : e.name));
  assert.deepEqual(kinds, ['InvalidConfig', 'TypeError', 'InvalidToken', 'Decrypt', 'NotFound']);
  for (const error of errors) {
    assertNoSecret(error, [...keyParts(keys), 'not-base64-DO-NOT-SHOW', ...Object.values(SECRETS)]);
  }
});
