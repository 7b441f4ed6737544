'use strict';
// A fleet of Zoho Node SDK processes on the README's line and nothing else
// (`new SecretsManagerTokenStore({ prefix })`, keys and AWS endpoint from the environment), through the
// strict AWS model (exclusive creates for the lease, lagging listings) and the strict Zoho mock.
// Started together with one grant they exchange it once; at work they refresh once per expiry, read off
// what Zoho minted (no refresh while the token before had more than the margin left), not as counts tied
// to a schedule a loaded machine can stretch. python/tests/test_fleet_defaults.py is the Python fleet's.

const assert = require('node:assert/strict');
const test = require('node:test');

const { OAuthToken, UserSignature } = require('..');
const { endpoint, makeStore, newKeys, newPrefix, startZoho } = require('./helpers.js');
const { all, earlyRefreshes, lifeLeft, refusals, startWorker, strictAws } = require('./fleet-tools.js');

const PROCESSES = 8;
const GRANT = '1000.grant-node-fleet';
const REFRESH = 'refresh-node-fleet';
// Zoho's hour is 16 s in the refresh test (`--scale 225`): far under the default 60 s margin, so the
// fleet refreshes such a token within a quarter of its life, but at least 6 s before its expiry
// (src/sdk/refresh.rs), every process on the machine's clock. A refresh while the token before it had
// more left is a second refresh of one expiry, however the processes were scheduled.
const LIFETIME_S = 16;
const FRESH_LEFT_S = 6;

/** PROCESSES Node SDK processes on `prefix` through `aws`, configured with credential = value. */
async function fleet(t, zoho, aws, prefix, keys, credential, value) {
  const env = { AWS_ENDPOINT_URL: aws, ZOHO_TOKEN_STORE_KEYS: keys };
  const workers = await Promise.all(
    Array.from({ length: PROCESSES }, () => startWorker('node', { zohoUrl: zoho.url, prefix, credential, value, env })),
  );
  t.after(() => Promise.all(workers.map((w) => w.stop())));
  return workers;
}

test('a fleet on defaults started with one grant exchanges it once', async (t) => {
  const upstream = endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  const aws = await strictAws(upstream, ['--lag', '2', '--tag-lag', '2']);
  t.after(() => aws.close());
  const prefix = newPrefix('node-fleet-grant');
  const keys = newKeys();

  const workers = await fleet(t, zoho, aws.url, prefix, keys, 'grant', GRANT);
  await zoho.grant(GRANT); // the user's consent, as the fleet starts
  assert.deepEqual(await all(workers, 'serve'), Array(PROCESSES).fill('200'));
  assert.deepEqual(await all(workers, 'serve'), Array(PROCESSES).fill('200'));

  const journal = await zoho.journal();
  assert.deepEqual(journal.exchanges, [GRANT], 'one exchange for the fleet');
  assert.deepEqual(journal.refreshes, []);
  assert.deepEqual(refusals(await zoho.stats()), { refused_exchanges: 0, refused_refreshes: 0, access_denied: 0, evicted: 0, invalid_token: 0 });
  const [stored, ...others] = await makeStore('unused', { prefix, keys }).getTokens();
  assert.equal(others.length, 0, 'one token for the fleet');
  assert.ok(stored.getRefreshToken(), 'with the exchange\'s refresh token');
  const ids = new Set(await all(workers, 'id'));
  assert.deepEqual([...ids], [`id ${stored.getId()}`], 'every process holds the one stored token');
  const used = new Set(journal.crm_calls.filter(([route]) => route === '/crm/v8/org').map(([, token]) => token));
  assert.deepEqual([...used], [stored.getAccessToken()], 'every process used the one exchanged token');
});

test('a fleet on defaults refreshes once per expiry a token living seconds', async (t) => {
  const upstream = endpoint();
  const zoho = await startZoho(['--scale', String(3600 / LIFETIME_S)]);
  t.after(() => zoho.close());
  const aws = await strictAws(upstream, ['--lag', '2', '--tag-lag', '2']);
  t.after(() => aws.close());
  const prefix = newPrefix('node-fleet-refresh');
  const keys = newKeys();
  assert.equal((await zoho.stats()).clock.expires_in, LIFETIME_S);

  await zoho.refreshToken(REFRESH, 'fleet@example.com'); // Zoho issued it before the test
  const store = makeStore('unused', { prefix, keys, endpointUrl: aws.url });
  const token = Reflect.construct(OAuthToken, []);
  token.setUserSignature(new UserSignature('fleet@example.com:7001'));
  token.setClientId('1000.CLIENT');
  token.setClientSecret('client-secret');
  token.setRefreshToken(REFRESH);
  token.setAccessToken('access-old');
  token.setRedirectURL('https://app.example.com/cb');
  token.setExpiresIn(String(Date.now() - 1_000)); // expired: every process meets the expiry
  await store.saveToken(token);

  const workers = await fleet(t, zoho, aws.url, prefix, keys, 'refresh', REFRESH);
  assert.deepEqual(await all(workers, 'serve'), Array(PROCESSES).fill('200'));
  assert.ok((await zoho.journal()).refreshes.length > 0, 'the expiry was refreshed');
  // At work: every process serves requests back to back through two more expiries. Each expiry is
  // met by all of them at once, each with its own read cache; the token is refreshed ahead once.
  const first = (await zoho.journal()).refreshes.length;
  const hang = Date.now() + 120_000; // a bound against a hang, not a deadline: two expiries take ~20 s
  let rounds = 0;
  while ((await zoho.journal()).refreshes.length < first + 2) {
    assert.ok(Date.now() < hang, `two more expiries were not refreshed within 120 s (${rounds} rounds)`);
    assert.deepEqual(await all(workers, 'serve'), Array(PROCESSES).fill('200'));
    rounds += 1;
  }
  const journal = await zoho.journal();
  t.diagnostic(`${rounds} rounds of ${PROCESSES} requests`);

  const stats = await zoho.stats();
  assert.deepEqual(refusals(stats), { refused_exchanges: 0, refused_refreshes: 0, access_denied: 0, evicted: 0, invalid_token: 0 });
  t.diagnostic(`${journal.refreshes.length} refreshes; life left (s) on the token each replaced: ${JSON.stringify(lifeLeft(stats, REFRESH))}`);
  // One refresh per expiry, not one per process: none while the token before it was fresh.
  const early = earlyRefreshes(stats, REFRESH, FRESH_LEFT_S);
  assert.deepEqual(early, [], `refreshed with more than ${FRESH_LEFT_S} s left`);
  // AWS's side of it: each refresh wrote at most two versions (the token's secret and its lease).
  const written = (await aws.stats()).versions_written;
  const tokenVersions = written[prefix + token.getId()];
  const leaseVersions = Object.entries(written)
    .filter(([name]) => name.startsWith(`${prefix}lease/`))
    .reduce((sum, [, n]) => sum + n, 0);
  t.diagnostic(`versions written: ${tokenVersions} token, ${leaseVersions} lease`);
  assert.ok(tokenVersions - 1 + leaseVersions <= 2 * journal.refreshes.length, JSON.stringify(written));
  // Every CRM call carried a token Zoho minted for the fleet, never the expired one.
  assert.ok(!journal.crm_calls.some(([, used]) => used === 'access-old'));
});
