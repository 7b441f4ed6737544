'use strict';
// Construction: types checked in JavaScript's terms (a TypeError naming the option), values by the
// Rust crate (a TokenStoreError of kind InvalidConfig naming the option as JavaScript writes it), the
// defaults, and no AWS call before the first operation.

const assert = require('node:assert/strict');
const test = require('node:test');

const sdk = require('@zohocrm/nodejs-sdk-8.0');
const { SecretsManagerTokenStore, TokenStoreError } = require('..');
const { endpoint, newKeys, newPrefix } = require('./helpers.js');

endpoint();
const KEYS = newKeys();

function refused(options, pattern) {
  assert.throws(
    () => new SecretsManagerTokenStore(options),
    (error) => {
      assert.ok(error instanceof TokenStoreError, `a TokenStoreError, not ${error}`);
      assert.ok(error instanceof sdk.SDKException);
      assert.equal(error.kind, 'InvalidConfig');
      assert.equal(error.retryable, false);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes(KEYS), 'never the keys');
      return true;
    },
  );
}

function typeError(options, pattern) {
  assert.throws(
    () => new SecretsManagerTokenStore(options),
    (error) => {
      assert.ok(error instanceof TypeError, `a TypeError, not ${error}`);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test('the defaults: prefix zoho/oauth/, the keyring from ZOHO_TOKEN_STORE_KEYS, no AWS call yet', () => {
  const saved = process.env.ZOHO_TOKEN_STORE_KEYS;
  process.env.ZOHO_TOKEN_STORE_KEYS = KEYS;
  try {
    const store = new SecretsManagerTokenStore();
    assert.equal(store.prefix, 'zoho/oauth/');
    assert.deepEqual(store.calls(), {}, 'nothing asked of AWS by the constructor');
    assert.equal(new SecretsManagerTokenStore({ prefix: undefined, cacheTtlSeconds: null }).prefix, 'zoho/oauth/');
  } finally {
    if (saved === undefined) delete process.env.ZOHO_TOKEN_STORE_KEYS;
    else process.env.ZOHO_TOKEN_STORE_KEYS = saved;
  }
});

test('no keyring anywhere is refused, naming each way to give one', () => {
  const saved = process.env.ZOHO_TOKEN_STORE_KEYS;
  delete process.env.ZOHO_TOKEN_STORE_KEYS;
  try {
    refused({ prefix: 'p/' }, /no keyring: give /);
    assert.throws(() => new SecretsManagerTokenStore({ prefix: 'p/' }), (error) =>
      ['keys', 'keyringSecret', 'ZOHO_TOKEN_STORE_KEYS', 'zoho-token-store keygen'].every((named) =>
        error.message.includes(named)));
  } finally {
    if (saved !== undefined) process.env.ZOHO_TOKEN_STORE_KEYS = saved;
  }
});

test('values out of range are refused by the crate, named as JavaScript writes them', () => {
  const keys = KEYS;
  refused({ keys, recoveryWindowDays: 3 }, /^invalid configuration: recoveryWindowDays: 3 is not a recovery window .*recoveryWindowDays: 0/);
  refused({ keys, recoveryWindowDays: 7.5 }, /^invalid configuration: recoveryWindowDays: 7\.5 /);
  refused({ keys, cacheTtlSeconds: -1 }, /^invalid configuration: cacheTtlSeconds: -1 .*cacheTtlSeconds: 0 for no cache/);
  refused({ keys, cacheTtlSeconds: Number.NaN }, /^invalid configuration: cacheTtlSeconds: NaN /);
  refused({ keys, refreshAheadSeconds: 5 }, /refreshAheadSeconds: 0/);
  refused({ keys, region: 'us-east-1 ' }, /^invalid configuration: region: 'us-east-1 ' is not an AWS region name .*spaces/);
  refused({ keys, endpointUrl: '127.0.0.1:4566' }, /^invalid configuration: endpointUrl: '127\.0\.0\.1:4566' .*http:\/\//);
  refused({ keys, prefix: 'bad prefix!' }, /prefix/);
  refused({ keys, keyringSecret: 'zoho/keyring' }, /either keys or keyringSecret, not both/);
  refused({ kmsKeyId: 'alias/zoho' }, /kmsKeyId wraps the keys of a keyring secret: give keyringSecret too/);
  refused({ keys: 'index=c2VjcmV0LXNlY3JldA==' }, /^invalid configuration: keys is not a keyring: /);
});

test('options of the wrong type are TypeErrors naming the option, never showing its value', () => {
  typeError('zoho/oauth/', /options takes an object such as/);
  typeError([], /options takes an object .* not an array/);
  typeError({ keys: 42 }, /^new SecretsManagerTokenStore\(options\): keys takes a string .*not a number$/);
  typeError({ keys: KEYS, prefix: 5 }, /prefix takes a string/);
  typeError({ keys: KEYS, cacheTtlSeconds: '30' }, /cacheTtlSeconds takes a number of seconds, not a string/);
  typeError({ keys: KEYS, recoveryWindowDays: 7n }, /recoveryWindowDays takes a whole number of days, not a bigint/);
  typeError({ keys: KEYS, allowUnboundKeyring: 'yes' }, /allowUnboundKeyring takes true or false/);
  typeError({ keys: Buffer.from(KEYS) }, /keys takes a string .* not a Buffer/);
  typeError({ keys: KEYS, keyring_secret: 'x' }, /unknown option keyring_secret; did you mean keyringSecret\?/);
  typeError({ keys: KEYS, prefx: 'x' }, /unknown option prefx \(the options are prefix, keys, /);
  assert.throws(() => new SecretsManagerTokenStore({ keys: { secret: KEYS } }), (e) => !e.message.includes(KEYS));
});

test('a store is made without AWS: operations reach it, and a bad endpoint fails the operation', async () => {
  const store = new SecretsManagerTokenStore({
    prefix: newPrefix('unreachable'),
    keys: KEYS,
    endpointUrl: 'http://127.0.0.1:9',
    cacheTtlSeconds: 0,
  });
  const previous = process.env.AWS_MAX_ATTEMPTS;
  process.env.AWS_MAX_ATTEMPTS = '1';
  try {
    await assert.rejects(store.getTokens(), (error) => {
      assert.ok(error instanceof TokenStoreError);
      assert.equal(error.kind, 'Backend');
      assert.equal(typeof error.retryable, 'boolean');
      assert.match(error.message, /^AWS \w+ failed: /);
      return true;
    });
  } finally {
    process.env.AWS_MAX_ATTEMPTS = previous;
  }
});
