// The Node SDK's own token flow with this store, from an ES module app, against LocalStack and the
// strict Zoho mock (no network): InitializeBuilder takes the store; the first sign-in exchanges the
// grant once (the store does it for the fleet) and saves the token named as the SDK names users; a CRM
// call carries the stored access token; an expired token is refreshed once; a second process started
// with the same grant finds the saved token instead of exchanging the spent grant again. With
// refreshAheadSeconds: 0 the SDK exchanges and refreshes itself (its multipart requests), the store saving.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'node:test';

import * as sdk from '@zohocrm/nodejs-sdk-8.0';
import { SecretsManagerTokenStore, TokenStoreError } from 'zoho-token-store';
import helpers from './helpers.js';

const { endpoint, newKeys, newPrefix, startZoho, runNode } = helpers;

const USER = 'alice@example.com:7001';

function signInToken(grant) {
  return new sdk.OAuthBuilder()
    .clientId('1000.CLIENT')
    .clientSecret('client-secret')
    .grantToken(grant)
    .redirectURL('https://app.example.com/callback')
    .build();
}

async function initialize(environment, token, store, resourcePath) {
  const builder = await new sdk.InitializeBuilder();
  await builder.environment(environment).token(token).store(store).resourcePath(resourcePath).initialize();
}

async function crmCall() {
  const response = await new sdk.Org.OrgOperations().getOrganization();
  return response.getStatusCode();
}

// First: once a process has initialized, the SDK's InitializeBuilder cannot initialize again with a
// grant-only token (its Initializer.getEncodedKey reads the length of the absent refresh token).
test('a store failure in the SDK flow reaches the app as the SDK reports it, with the store error inside', async (t) => {
  endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  const resourcePath = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-sdk-'));
  // A store whose AWS endpoint answers nothing: the SDK's findToken fails.
  const previous = process.env.AWS_MAX_ATTEMPTS;
  process.env.AWS_MAX_ATTEMPTS = '1';
  t.after(() => (process.env.AWS_MAX_ATTEMPTS = previous));
  const store = new SecretsManagerTokenStore({ prefix: newPrefix('sdk-down'), keys: newKeys(), endpointUrl: 'http://127.0.0.1:9' });
  await zoho.grant('code-2');
  const environment = new sdk.Environment(zoho.url, zoho.accountsUrl, zoho.url);
  await assert.rejects(initialize(environment, signInToken('code-2'), store, resourcePath), (error) => {
    assert.ok(error instanceof sdk.SDKException);
    assert.ok(error instanceof TokenStoreError, `the store's own error, not ${error}`);
    assert.equal(error.kind, 'Backend');
    assert.equal(error.code, 'TOKEN_STORE');
    return true;
  });
  assert.deepEqual((await zoho.journal()).exchanges, [], 'nothing exchanged when the store cannot be read');
});

test('sign-in, a CRM call, expiry and refresh, and a second process: one exchange, one refresh', async (t) => {
  endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  const keys = newKeys();
  const prefix = newPrefix('sdk-flow');
  const resourcePath = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-sdk-'));
  const store = new SecretsManagerTokenStore({ prefix, keys, recoveryWindowDays: 0, cacheTtlSeconds: 0 });
  assert.ok(store instanceof sdk.TokenStore.TokenStore, 'the SDK TokenStore the builder checks for');

  await zoho.grant('code-1');
  const environment = new sdk.Environment(zoho.url, zoho.accountsUrl, zoho.url);
  const token = signInToken('code-1');
  await initialize(environment, token, store, resourcePath);

  let journal = await zoho.journal();
  assert.deepEqual(journal.exchanges, ['code-1'], 'the grant was exchanged once');
  const [saved, ...others] = await store.getTokens();
  assert.equal(others.length, 0);
  assert.equal(saved.getUserSignature().getName(), USER, 'named as the SDK names users');
  assert.equal(saved.getRefreshToken(), 'refresh-for-code-1');
  assert.equal(token.getId(), saved.getId(), "findToken merged the id into the SDK's own token");

  // A CRM call carries the stored access token, with no refresh.
  assert.equal(await crmCall(), 200);
  journal = await zoho.journal();
  assert.deepEqual(journal.crm_calls.at(-1), ['/crm/v8/org', saved.getAccessToken()]);
  assert.deepEqual(journal.refreshes, []);

  // The stored access token expires: the next call (the SDK finds its token by id now) refreshes once,
  // and the fresh token is saved.
  const expired = await store.findTokenById(saved.getId());
  expired.setExpiresIn(String(Date.now() - 1_000));
  await store.saveToken(expired);
  assert.equal(await crmCall(), 200);
  journal = await zoho.journal();
  assert.deepEqual(journal.refreshes, ['refresh-for-code-1'], 'one refresh');
  const fresh = await store.findTokenById(saved.getId());
  assert.notEqual(fresh.getAccessToken(), saved.getAccessToken());
  assert.ok(Number(fresh.getExpiresIn()) > Date.now() + 3_000_000);
  assert.deepEqual(journal.crm_calls.at(-1), ['/crm/v8/org', fresh.getAccessToken()]);
  assert.equal(await crmCall(), 200);
  assert.deepEqual((await zoho.journal()).refreshes, ['refresh-for-code-1'], 'fresh: no second refresh');

  // A second process, started as the first was (with the same grant), finds the saved token: no second
  // exchange (the mock refuses a spent code, which would fail initialize), no refresh.
  const second = await runNode(
    `
    import * as sdk from '@zohocrm/nodejs-sdk-8.0';
    import { SecretsManagerTokenStore } from 'zoho-token-store';
    const store = new SecretsManagerTokenStore({ prefix: ${JSON.stringify(prefix)}, keys: ${JSON.stringify(keys)} });
    const token = new sdk.OAuthBuilder().clientId('1000.CLIENT').clientSecret('client-secret')
      .grantToken('code-1').redirectURL('https://app.example.com/callback').build();
    const environment = new sdk.Environment(${JSON.stringify(zoho.url)}, ${JSON.stringify(zoho.accountsUrl)}, ${JSON.stringify(zoho.url)});
    const builder = await new sdk.InitializeBuilder();
    await builder.environment(environment).token(token).store(store).resourcePath(${JSON.stringify(resourcePath)}).initialize();
    const response = await new sdk.Org.OrgOperations().getOrganization();
    console.log('second process', response.getStatusCode(), token.getId());
    `,
    { esm: true },
  );
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`second process 200 ${saved.getId()}`));
  assert.ok(second.lingeredMs < 5_000, `the app exited ${second.lingeredMs} ms after its work, not at once`);
  journal = await zoho.journal();
  assert.deepEqual(journal.exchanges, ['code-1'], 'the grant was exchanged once in all');
  assert.deepEqual(journal.refreshes, ['refresh-for-code-1']);
});

test("refreshAheadSeconds: 0 leaves Zoho to the SDK, as with FileStore: it exchanges and refreshes itself, the store keeps what it saves", async (t) => {
  endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  await zoho.grant('code-own');
  const keys = newKeys();
  const prefix = newPrefix('sdk-own-refresh');
  const resourcePath = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-sdk-'));
  // In a process of its own: the SDK initializes once per process with a grant-only token.
  const done = await runNode(
    `
    import * as sdk from '@zohocrm/nodejs-sdk-8.0';
    import { SecretsManagerTokenStore } from 'zoho-token-store';
    const store = new SecretsManagerTokenStore({ prefix: ${JSON.stringify(prefix)}, keys: ${JSON.stringify(keys)},
      refreshAheadSeconds: 0, cacheTtlSeconds: 0, recoveryWindowDays: 0 });
    const token = new sdk.OAuthBuilder().clientId('1000.CLIENT').clientSecret('client-secret')
      .grantToken('code-own').redirectURL('https://app.example.com/callback').build();
    const environment = new sdk.Environment(${JSON.stringify(zoho.url)}, ${JSON.stringify(zoho.accountsUrl)}, ${JSON.stringify(zoho.url)});
    const builder = await new sdk.InitializeBuilder();
    await builder.environment(environment).token(token).store(store).resourcePath(${JSON.stringify(resourcePath)}).initialize();
    const statuses = [(await new sdk.Org.OrgOperations().getOrganization()).getStatusCode()];
    // The stored token expires: the SDK, reading it by id before its next call, refreshes it itself.
    const stored = await store.findTokenById(token.getId());
    stored.setExpiresIn(String(Date.now() - 1_000));
    await store.saveToken(stored);
    statuses.push((await new sdk.Org.OrgOperations().getOrganization()).getStatusCode());
    console.log(JSON.stringify({ statuses, id: token.getId(), calls: store.calls() }));
    `,
    { esm: true },
  );
  assert.equal(done.code, 0, done.stderr);
  const { statuses, id } = JSON.parse(done.stdout.trim().split('\n').at(-1));
  assert.deepEqual(statuses, [200, 200]);
  const journal = await zoho.journal();
  assert.deepEqual(journal.exchanges, ['code-own'], "the SDK's own exchange, once");
  assert.deepEqual(journal.refreshes, ['refresh-for-code-own'], "the SDK's own refresh, once");
  const store = new SecretsManagerTokenStore({ prefix, keys, refreshAheadSeconds: 0, cacheTtlSeconds: 0, recoveryWindowDays: 0 });
  t.after(() => store.deleteTokens());
  const [saved, ...others] = await store.getTokens();
  assert.equal(others.length, 0);
  assert.equal(saved.getId(), id);
  assert.equal(saved.getUserSignature().getName(), USER);
  assert.equal(saved.getRefreshToken(), 'refresh-for-code-own');
  assert.ok(Number(saved.getExpiresIn()) > Date.now() + 3_000_000, 'the refreshed token was saved');
  assert.deepEqual(journal.crm_calls.at(-1), ['/crm/v8/org', saved.getAccessToken()]);
});
