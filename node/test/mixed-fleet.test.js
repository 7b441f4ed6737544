'use strict';
// One store shared across languages on one prefix: Zoho Node SDK processes with this package, Zoho
// Python SDK processes with the Python package, and the operator tool, all at once, through the strict
// AWS model (lagging listings, uneven pages, the version quota) and the strict Zoho mock (16 s tokens).
//
// What must hold, as on AWS: the fleet, cold-started with one grant, exchanges it once; a token saved by
// any of them is found by the others; at work the whole mixed fleet refreshes once per expiry (read off
// what Zoho minted: none while the token before had more than the 6 s margin left), the tool's
// `refresh-due` included; a delete by the tool stays deleted while SDK processes of both languages run
// on with their read caches. python/tests/test_mixed_fleet.py is the Python side's.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');

const { TokenStoreError } = require('..');
const { endpoint, makeStore, newKeys, newPrefix, startZoho } = require('./helpers.js');
const { all, earlyRefreshes, lifeLeft, operatorTool, pythonWithPackage, refusals, startWorker, strictAws } = require('./fleet-tools.js');

const NODE_PROCESSES = 3;
const PYTHON_PROCESSES = 3;
const GRANT = '1000.grant-mixed-fleet';
const USER = 'alice@example.com:7001'; // as both SDKs name the mock's user: email:zgid
// Zoho's hour is 16 s (`--scale 225`); the fleet refreshes such a token at 6 s left (a quarter of its
// life, at least 6 s: src/sdk/refresh.rs), and so does the tool with `refresh-due --within 6s`.
const LIFETIME_S = 16;
const FRESH_LEFT_S = 6;
const LATER = String(Date.now() + 24 * 3_600_000); // tokens saved to be found, never due

test('Node SDK, Python SDK and the operator tool share one store: one exchange, found by each other, one refresh per expiry, deletes stick', async (t) => {
  const python = await pythonWithPackage();
  const upstream = endpoint();
  const zoho = await startZoho(['--scale', String(3600 / LIFETIME_S)]);
  t.after(() => zoho.close());
  assert.equal((await zoho.stats()).clock.expires_in, LIFETIME_S);
  const aws = await strictAws(upstream, ['--seed', '7', '--lag', '3', '--tag-lag', '3', '--uneven-pages', '--version-quota', '100', '--version-window', '86400']);
  t.after(() => aws.close());
  const prefix = newPrefix('node-mixed-fleet');
  const keys = newKeys();
  const cli = operatorTool();
  t.diagnostic(`Python: ${python}; operator tool: ${cli.what}`);
  const env = { AWS_ENDPOINT_URL: aws.url, ZOHO_TOKEN_STORE_KEYS: keys };
  const cliEnv = { ...env, ZOHO_TOKEN_STORE_PREFIX: prefix, ZOHO_ACCOUNTS_URL: zoho.url };
  const tool = async (...args) => {
    const done = await cli(args, cliEnv);
    assert.equal(done.code, 0, `zoho-token-store ${args.join(' ')}: ${done.stdout}${done.stderr}`);
    return done.stdout;
  };

  const config = { zohoUrl: zoho.url, prefix, credential: 'grant', value: GRANT, env, python };
  const workers = await Promise.all([
    ...Array.from({ length: NODE_PROCESSES }, () => startWorker('node', config)),
    ...Array.from({ length: PYTHON_PROCESSES }, () => startWorker('python', config)),
  ]);
  t.after(() => Promise.all(workers.map((w) => w.stop())));
  const [node0, node1, node2] = workers.filter((w) => w.language === 'node');
  const [python0, python1, python2] = workers.filter((w) => w.language === 'python');
  const direct = makeStore('unused', { prefix, keys }); // LocalStack itself: consistent at once, no cache

  // Cold start with one grant, every process of both languages at once. At 225x a grant lives 0.8 s,
  // less than a loaded machine takes to start six SDKs' first requests: Zoho's time stands still
  // meanwhile (afterwards it runs behind the processes' clocks, so tokens outlive the expiry they see).
  await zoho.pause(true);
  await zoho.grant(GRANT);
  assert.deepEqual(await all(workers, 'serve'), Array(workers.length).fill('200'));
  await zoho.pause(false);
  assert.deepEqual((await zoho.journal()).exchanges, [GRANT], 'one exchange for the mixed fleet');
  const [signedIn, ...more] = await direct.getTokens();
  assert.equal(more.length, 0, 'one token for the identity');
  assert.equal(signedIn.getUserSignature().getName(), USER);
  assert.deepEqual(new Set(await all(workers, 'id')), new Set([`id ${signedIn.getId()}`]), 'found by every process');
  const fleetRefresh = signedIn.getRefreshToken();

  // Saved by one, found by the others: the tool imports a token, a Node process saves one, a Python
  // process saves one.
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-mixed-')), 'bob.jsonl');
  fs.writeFileSync(file, `${JSON.stringify({ user_name: 'bob@example.com:7001', client_id: '1000.CLIENT', client_secret: 'client-secret', refresh_token: 'refresh-bob', access_token: 'access-bob', expiry_time: Number(LATER) })}\n`);
  await tool('import', file);
  const cliFind = async (user) => JSON.parse(await tool('--json', 'find', '--user', user)).id;
  const bob = await cliFind('bob@example.com:7001');
  assert.equal(await node0.ask('find bob@example.com:7001'), `found ${bob} refresh-bob`, 'the tool\'s token, in Node');
  assert.equal(await python0.ask('find bob@example.com:7001'), `found ${bob} refresh-bob`, 'the tool\'s token, in Python');

  const [, carol] = (await node1.ask(`save carol@example.com:7001 refresh-carol ${LATER}`)).split(' ');
  assert.equal(await python1.ask('find carol@example.com:7001'), `found ${carol} refresh-carol`, 'Node\'s token, in Python');
  assert.equal(await cliFind('carol@example.com:7001'), carol, 'Node\'s token, in the tool');

  const [, dave] = (await python2.ask(`save dave@example.com:7001 refresh-dave ${LATER}`)).split(' ');
  assert.equal(await node2.ask('find dave@example.com:7001'), `found ${dave} refresh-dave`, 'Python\'s token, in Node');
  assert.equal(await cliFind('dave@example.com:7001'), dave, 'Python\'s token, in the tool');

  // At work: both languages serve requests back to back through two expiries, and the tool refreshes
  // what is due every third round; the one token is refreshed once per expiry for all of them.
  const hang = Date.now() + 150_000; // a bound against a hang, not a deadline: two expiries take ~20 s
  let rounds = 0;
  let toolRuns = 0;
  while ((await zoho.journal()).refreshes.length < 2) {
    assert.ok(Date.now() < hang, `two expiries were not refreshed within 150 s (${rounds} rounds)`);
    const withTool = rounds % 3 === 0 ? tool('refresh-due', '--within', `${FRESH_LEFT_S}s`).then(() => (toolRuns += 1)) : null;
    assert.deepEqual(await all(workers, 'serve'), Array(workers.length).fill('200'));
    await withTool;
    rounds += 1;
  }
  let stats = await zoho.stats();
  t.diagnostic(`${rounds} rounds of ${workers.length} requests, the tool's refresh-due ${toolRuns} times`);
  t.diagnostic(`refreshes: life left (s) on the token each replaced: ${JSON.stringify(lifeLeft(stats, fleetRefresh))}`);
  assert.deepEqual(earlyRefreshes(stats, fleetRefresh, FRESH_LEFT_S), [], `refreshed with more than ${FRESH_LEFT_S} s left`);
  assert.deepEqual(refusals(stats), { refused_exchanges: 0, refused_refreshes: 0, access_denied: 0, evicted: 0, invalid_token: 0 });
  const journal = await zoho.journal();
  assert.deepEqual(journal.exchanges, [GRANT]);
  assert.deepEqual(new Set(journal.refreshes), new Set([fleetRefresh]), 'only the fleet\'s token was refreshed');
  const current = await direct.findTokenById(signedIn.getId());
  const used = new Set(journal.crm_calls.map(([, token]) => token));
  assert.ok(used.has(current.getAccessToken()), 'the stored token is the one the fleet uses');

  // An operator deletes the token with the tool while every process holds it (in its read cache too).
  const beforeDelete = (await aws.stats()).versions_written[prefix + signedIn.getId()];
  const refreshesBeforeDelete = journal.refreshes.length;
  await tool('delete', signedIn.getId());
  // The processes run on through the token's next expiry, each on its read cache: a request may be
  // served from a cached token until it is due, but nothing brings the deleted token back.
  const answers = {};
  const note = (when, answer) => {
    const key = `${when}: ${answer.split(' ').slice(0, 2).join(' ')}`;
    answers[key] = (answers[key] || 0) + 1;
  };
  const until = Number(current.getExpiresIn()) + 1_000;
  while (Date.now() < until) {
    for (const answer of await all(workers, 'serve')) note('until expiry', answer);
  }
  // The SDK's save after its own refresh, in each process: refused, in both languages.
  for (const answer of await all(workers, 'resave')) {
    assert.match(answer, /^error TokenDeleted /, answer);
  }
  // Past its expiry no cached copy serves: each process's lookup finds it deleted (NotFound), or the
  // SDK's own refresh is refused its save (TokenDeleted inside the SDK's error).
  for (const answer of await all(workers, 'serve')) {
    assert.match(answer, /^error /, 'a request past the deleted token\'s expiry is not served');
    note('after expiry', answer);
  }
  t.diagnostic(`after the delete: ${JSON.stringify(answers)}`);
  stats = await zoho.stats();
  const afterDelete = (await zoho.journal()).refreshes.length - refreshesBeforeDelete;
  t.diagnostic(`refreshes after the delete: ${afterDelete}`);
  assert.ok(afterDelete <= 1, `the deleted token's expiry was refreshed ${afterDelete} times`);
  assert.deepEqual(earlyRefreshes(stats, fleetRefresh, FRESH_LEFT_S), [], 'and no second refresh of an expiry');
  await assert.rejects(direct.findTokenById(signedIn.getId()), (e) => e instanceof TokenStoreError && e.kind === 'NotFound');
  const left = (await direct.getTokens()).map((tk) => tk.getId()).sort();
  assert.deepEqual(left, [bob, carol, dave].sort(), 'nothing brought back, nothing else touched');
  assert.equal((await aws.stats()).versions_written[prefix + signedIn.getId()], beforeDelete, 'no version written after the delete');
  assert.equal(await cli(['find', '--user', USER], cliEnv).then((r) => r.code), 3, 'the tool finds no token for the user');
});
