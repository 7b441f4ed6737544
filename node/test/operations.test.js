'use strict';
// The six operations against LocalStack, as the Node SDK's FileStore answers them: findToken's
// precedence and its merge into the passed token, ids, getTokens, deleteTokens, unknown ids rejected,
// deletes that stick, and values FileStore's CSV cannot hold (commas).

const assert = require('node:assert/strict');
const test = require('node:test');

const sdk = require('@zohocrm/nodejs-sdk-8.0');
const { SecretsManagerTokenStore, TokenStoreError, OAuthToken, UserSignature } = require('..');
const { makeStore } = require('./helpers.js');

/** An SDK token with these fields (others null), built as the SDK's stores build them. */
function token(fields = {}) {
  const t = Reflect.construct(sdk.OAuthToken, []);
  t.setId(fields.id ?? null);
  t.setUserSignature(fields.user ? new sdk.UserSignature(fields.user) : null);
  t.setClientId(fields.clientId ?? null);
  t.setClientSecret(fields.clientSecret ?? null);
  t.setGrantToken(fields.grantToken ?? null);
  t.setRefreshToken(fields.refreshToken ?? null);
  t.setAccessToken(fields.accessToken ?? null);
  t.setExpiresIn(fields.expiresIn ?? null);
  t.setRedirectURL(fields.redirectURL ?? null);
  t.setAPIDomain(fields.apiDomain ?? null);
  return t;
}

const ALICE = {
  user: 'alice@example.com',
  clientId: '1000.CLIENT',
  clientSecret: 'client-secret',
  refreshToken: '1000.refresh-alice',
  accessToken: '1000.access-alice',
  expiresIn: String(Date.now() + 3_600_000),
  redirectURL: 'https://app.example.com/callback',
  apiDomain: 'https://www.zohoapis.com',
};

async function rejectsWith(promise, kind) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof TokenStoreError, `a TokenStoreError, not ${error}`);
    assert.ok(error instanceof sdk.SDKException, 'an SDKException of the SDK');
    assert.equal(error.code, 'TOKEN_STORE');
    assert.equal(error.kind, kind, error.message);
    assert.equal(error.retryable, false);
    return true;
  });
}

test('the package speaks the installed SDK: its TokenStore, OAuthToken and UserSignature', async () => {
  const store = makeStore('speaks-the-sdk');
  assert.ok(store instanceof sdk.TokenStore.TokenStore, 'instanceof the SDK TokenStore class');
  const builder = await new sdk.InitializeBuilder();
  assert.equal(builder.store(store), builder, "the SDK's InitializeBuilder takes it from a CommonJS app");
  assert.equal(OAuthToken, sdk.OAuthToken);
  assert.equal(UserSignature, sdk.UserSignature);
  for (const method of ['findToken', 'findTokenById', 'saveToken', 'deleteToken', 'getTokens', 'deleteTokens']) {
    assert.ok(store[method]('x').catch(() => {}) instanceof Promise, `${method} returns a Promise`);
  }
});

test('saveToken sets the id on the passed token; getTokens and findTokenById give new SDK tokens', async () => {
  const store = makeStore('save-and-read');
  const alice = token(ALICE);
  await store.saveToken(alice);
  const id = alice.getId();
  assert.match(id, /^[A-Za-z0-9_+=.@-]+$/, 'an id was set');

  const [all] = [await store.getTokens()];
  assert.equal(all.length, 1);
  assert.ok(all[0] instanceof sdk.OAuthToken);
  assert.notEqual(all[0], alice);
  const byId = await store.findTokenById(id);
  assert.ok(byId instanceof sdk.OAuthToken);
  for (const got of [all[0], byId]) {
    assert.equal(got.getId(), id);
    assert.equal(got.getUserSignature().getName(), ALICE.user);
    assert.ok(got.getUserSignature() instanceof sdk.UserSignature);
    assert.equal(got.getRefreshToken(), ALICE.refreshToken);
    assert.equal(got.getAccessToken(), ALICE.accessToken);
    assert.equal(got.getExpiresIn(), ALICE.expiresIn);
    assert.equal(got.getClientSecret(), ALICE.clientSecret);
    assert.equal(got.getRedirectURL(), ALICE.redirectURL);
    assert.equal(got.getAPIDomain(), ALICE.apiDomain);
    assert.equal(got.getGrantToken(), null, 'absent fields are null, as FileStore leaves them');
  }
});

test('findToken: by user first, merged into the passed token, the caller\'s values winning', async () => {
  const store = makeStore('find-by-user');
  const saved = token(ALICE);
  await store.saveToken(saved);

  const query = token({ user: ALICE.user, accessToken: 'mine' });
  const found = await store.findToken(query);
  assert.equal(found, query, 'the passed token itself is returned');
  assert.equal(found.getId(), saved.getId(), 'the id is merged in');
  assert.equal(found.getRefreshToken(), ALICE.refreshToken);
  assert.equal(found.getClientId(), ALICE.clientId);
  assert.equal(found.getAccessToken(), 'mine', "the caller's own value wins");

  // A user signature is the whole key: another user with alice's refresh token matches nothing.
  assert.equal(await store.findToken(token({ user: 'bob@example.com', refreshToken: ALICE.refreshToken })), null);
  assert.equal(await store.findToken(token({ user: 'nobody@example.com' })), null, 'a miss is null');
});

test('findToken without a user: by access token (no client credentials), else grant, then refresh token', async () => {
  const store = makeStore('find-precedence');
  const a = token({ clientId: 'c', clientSecret: 's', refreshToken: 'refresh-a', accessToken: 'access-a' });
  const b = token({ clientId: 'c', clientSecret: 's', grantToken: 'grant-b', refreshToken: 'refresh-b' });
  await store.saveToken(a);
  await store.saveToken(b);
  assert.notEqual(a.getId(), b.getId());

  const byAccess = await store.findToken(token({ accessToken: 'access-a' }));
  assert.equal(byAccess.getId(), a.getId());
  assert.equal(byAccess.getRefreshToken(), 'refresh-a');
  // With client credentials an access token is not the key: FileStore then needs a grant or refresh.
  assert.equal(await store.findToken(token({ accessToken: 'access-a', clientId: 'c', clientSecret: 's' })), null);

  const byGrant = await store.findToken(token({ grantToken: 'grant-b', clientId: 'c', clientSecret: 's' }));
  assert.equal(byGrant.getId(), b.getId());
  const byRefresh = await store.findToken(token({ refreshToken: 'refresh-a', clientId: 'c', clientSecret: 's' }));
  assert.equal(byRefresh.getId(), a.getId());
  assert.equal(byRefresh.getAccessToken(), 'access-a');

  // Where the crate differs from FileStore, on purpose (one rule for both SDKs' stores): a grant or
  // refresh token matches only with the client credentials it was saved with. The SDK's OAuthBuilder
  // never builds a grant or refresh token without them; FileStore would match this one.
  assert.equal(await store.findToken(token({ refreshToken: 'refresh-a' })), null);
  assert.equal(await store.findToken(token({ refreshToken: 'refresh-a', clientId: 'other', clientSecret: 's' })), null);
});

test('findToken returns anything but an OAuthToken as given, as FileStore does', async () => {
  const store = makeStore('find-non-token');
  const odd = { not: 'a token' };
  assert.equal(await store.findToken(odd), odd);
  assert.equal(await store.findToken(null), null);
  assert.equal(await store.calls().GetSecretValue, undefined, 'no AWS call for it');
});

test('saveToken without an id updates the token it matches, keeping what the passed one lacks', async () => {
  const store = makeStore('save-merge');
  const first = token(ALICE);
  await store.saveToken(first);
  const later = token({ user: ALICE.user, accessToken: '1000.access-2', expiresIn: String(Date.now() + 7_200_000) });
  await store.saveToken(later);
  assert.equal(later.getId(), first.getId(), 'the same token, not a second one');
  assert.equal(later.getRefreshToken(), ALICE.refreshToken, 'filled with what was written');
  const [only, ...rest] = await store.getTokens();
  assert.equal(rest.length, 0);
  assert.equal(only.getAccessToken(), '1000.access-2');
  assert.equal(only.getRefreshToken(), ALICE.refreshToken);
});

test('a token with a user but no grant, refresh or access token is refused, as FileStore refuses it', async () => {
  const store = makeStore('save-refused');
  await rejectsWith(store.saveToken(token({ user: 'x@example.com', clientId: 'c' })), 'InvalidToken');
  await assert.rejects(store.saveToken({ getId: () => null }), TypeError, 'not an OAuthToken');
  assert.deepEqual(await store.getTokens(), []);
});

test('deleteToken and findTokenById reject an unknown id, as FileStore does', async () => {
  const store = makeStore('unknown-ids');
  await rejectsWith(store.findTokenById('no-such-id'), 'NotFound');
  await rejectsWith(store.deleteToken('no-such-id'), 'NotFound');
  // A number is its text, as FileStore compares ids with ==; anything else is a TypeError.
  await rejectsWith(store.findTokenById(42), 'NotFound');
  await rejectsWith(store.deleteToken(7), 'NotFound');
  await assert.rejects(store.findTokenById({}), (e) => e instanceof TypeError && /findTokenById\(id\): id takes a string/.test(e.message));
  await assert.rejects(store.deleteToken(Number.NaN), TypeError);
  await assert.rejects(store.deleteToken(undefined), TypeError);
});

test('deletes stick: a deleted token is not saved again by its id, and deleteTokens clears the prefix only', async () => {
  const store = makeStore('deletes-stick');
  const other = makeStore('deletes-stick-other');
  const alice = token(ALICE);
  await store.saveToken(alice);
  const bob = token({ ...ALICE, user: 'bob@example.com', refreshToken: '1000.refresh-bob' });
  await store.saveToken(bob);
  const kept = token({ ...ALICE, user: 'carol@example.com' });
  await other.saveToken(kept);

  await store.deleteToken(alice.getId());
  await rejectsWith(store.findTokenById(alice.getId()), 'NotFound');
  alice.setAccessToken('1000.access-after-delete');
  await rejectsWith(store.saveToken(alice), 'TokenDeleted');
  assert.deepEqual((await store.getTokens()).map((t) => t.getId()), [bob.getId()]);

  await store.deleteTokens();
  assert.deepEqual(await store.getTokens(), []);
  assert.deepEqual((await other.getTokens()).map((t) => t.getId()), [kept.getId()], 'another prefix untouched');
});

test('values FileStore cannot hold (commas, newlines, quotes) come back as saved', async () => {
  const store = makeStore('commas');
  const odd = token({
    user: 'o,brien@example.com',
    clientId: '1000,CLIENT',
    clientSecret: 'se,cr"et\nline',
    refreshToken: '1000.re,fresh',
    accessToken: 'ac,cess',
    redirectURL: 'https://app.example.com/cb?a=1,2',
  });
  await store.saveToken(odd);
  const back = await store.findTokenById(odd.getId());
  assert.equal(back.getUserSignature().getName(), 'o,brien@example.com');
  assert.equal(back.getClientId(), '1000,CLIENT');
  assert.equal(back.getClientSecret(), 'se,cr"et\nline');
  assert.equal(back.getRefreshToken(), '1000.re,fresh');
  assert.equal(back.getRedirectURL(), 'https://app.example.com/cb?a=1,2');
  const found = await store.findToken(token({ user: 'o,brien@example.com' }));
  assert.equal(found.getAccessToken(), 'ac,cess');
});

test('a token field of the wrong type is a TypeError naming it, never showing it', async () => {
  const store = makeStore('field-types');
  const bad = token(ALICE);
  bad.setRefreshToken({ secret: 'do-not-show' });
  await assert.rejects(store.saveToken(bad), (e) => {
    assert.ok(e instanceof TypeError);
    assert.match(e.message, /getRefreshToken\(\) returned an object/);
    assert.doesNotMatch(e.message, /do-not-show/);
    return true;
  });
  const numeric = token({ ...ALICE, expiresIn: Date.now() + 1000 });
  await store.saveToken(numeric);
  assert.equal((await store.findTokenById(numeric.getId())).getExpiresIn(), String(numeric.getExpiresIn()));
});

test('SecretsManagerTokenStore is the one class of both entry points', async () => {
  const esm = await import('zoho-token-store');
  assert.equal(esm.SecretsManagerTokenStore, SecretsManagerTokenStore);
  assert.equal(esm.TokenStoreError, TokenStoreError);
});
