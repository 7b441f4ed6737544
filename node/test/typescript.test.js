'use strict';
// The TypeScript SDK (@zohocrm/typescript-sdk-8.0): `tsc --strict` accepts the store as its
// `TokenStore` (test/typescript/example.ts, a CommonJS app, and example-esm.mts, an ES module app), and
// the SDK's own flow runs with it: a sign-in, a CRM call, and the store's tokens made as the TypeScript
// SDK's OAuthTokens (the Node SDK is installed too, and loaded by the package); and a fleet of TypeScript
// SDK processes started together with one grant exchanges it once (the store's fleet sign-in).

const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const test = require('node:test');

const { PACKAGE, endpoint, makeStore, newKeys, newPrefix, startZoho, runNode } = require('./helpers.js');
const { refusals, strictAws } = require('./fleet-tools.js');

test('tsc --strict accepts the store as the TypeScript SDK TokenStore, from CommonJS and ES modules', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', path.join(__dirname, 'typescript')], { cwd: PACKAGE, stdio: 'pipe' });
  } catch (error) {
    assert.fail(`tsc --strict failed:\n${error.stdout}${error.stderr}`);
  }
});

test("the TypeScript SDK's flow: sign-in through InitializeBuilder, a CRM call, its own token class", async (t) => {
  endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  await zoho.grant('code-ts');
  const prefix = newPrefix('typescript-sdk');
  const resourcePath = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-ts-'));
  const done = await runNode(`
    const ts = require('@zohocrm/typescript-sdk-8.0');
    const { SecretsManagerTokenStore } = require('zoho-token-store');
    (async () => {
      const store = new SecretsManagerTokenStore({ prefix: ${JSON.stringify(prefix)}, keys: ${JSON.stringify(newKeys())} });
      const token = new ts.OAuthBuilder().clientId('1000.CLIENT').clientSecret('client-secret')
        .grantToken('code-ts').redirectURL('https://app.example.com/callback').build();
      const environment = new ts.Environment(${JSON.stringify(zoho.url)}, ${JSON.stringify(zoho.accountsUrl)}, ${JSON.stringify(zoho.url)});
      await new ts.InitializeBuilder().environment(environment).token(token).store(store)
        .resourcePath(${JSON.stringify(resourcePath)}).initialize();
      const response = await new ts.Org.OrgOperations().getOrganization();
      const [saved] = await store.getTokens();
      const byId = await store.findTokenById(saved.getId());
      console.log(JSON.stringify({
        status: response.getStatusCode(),
        sameId: token.getId() === saved.getId(),
        user: saved.getUserSignature().getName(),
        typescriptTokens: saved instanceof ts.OAuthToken && byId instanceof ts.OAuthToken,
        typescriptUser: saved.getUserSignature() instanceof ts.UserSignature,
      }));
    })().catch((error) => { console.error(error); process.exitCode = 1; });
  `);
  assert.equal(done.code, 0, done.stderr);
  assert.deepEqual(JSON.parse(done.stdout.trim().split('\n').at(-1)), {
    status: 200,
    sameId: true,
    user: 'alice@example.com:7001',
    typescriptTokens: true,
    typescriptUser: true,
  });
  const journal = await zoho.journal();
  assert.deepEqual(journal.exchanges, ['code-ts'], 'exchanged once');
});

/** How many TypeScript SDK processes make the fleet: more than one is the point; each loads the SDK. */
const PROCESSES = 4;

/**
 * A child Node process running `source` (CommonJS, in the package's folder) that prints `ready` when set
 * up and waits for a line on stdin before its work: `ready` resolves on that line, `go()` sends the
 * line, `done` resolves with its exit code and output.
 */
function startHeld(source, env) {
  const child = spawn(process.execPath, ['--input-type=commonjs', '-e', source], {
    cwd: PACKAGE,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  // A child that died before its `go` must not fail the test with EPIPE instead of its own output.
  child.stdin.on('error', () => {});
  // A hung process fails the test (its output shown) rather than hanging the suite.
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const ready = new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => line === 'ready' && (lines.close(), resolve()));
    done.then(({ code }) => reject(new Error(`a TypeScript SDK process exited (${code}) before it was ready: ${stderr}`)));
  });
  // Awaited by the test through Promise.all, which stops at the first failure: the others' are handled.
  ready.catch(() => {});
  return {
    ready,
    done,
    go: () => child.stdin.end('go\n'),
    stop: () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
  };
}

test('a fleet of TypeScript SDK processes started together with one grant exchanges it once', async (t) => {
  const upstream = endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  // The strict AWS model, as the Node SDK fleet's (test/fleet.test.js): exclusive creates for the
  // sign-in's lease, lagging listings.
  const aws = await strictAws(upstream, ['--lag', '2', '--tag-lag', '2']);
  t.after(() => aws.close());
  const grant = '1000.grant-typescript-fleet';
  const prefix = newPrefix('typescript-sdk-fleet');
  const keys = newKeys();
  // Each process: the store on its defaults (refresh ahead on, so the store's fleet sign-in runs), the
  // TypeScript SDK configured with the grant; set up, it says `ready` and waits for the line that
  // starts all of them at once (a barrier, not a sleep), then initializes and makes one CRM call.
  const source = (resourcePath) => `
    const ts = require('@zohocrm/typescript-sdk-8.0');
    const { SecretsManagerTokenStore } = require('zoho-token-store');
    const readline = require('node:readline');
    const store = new SecretsManagerTokenStore({ prefix: ${JSON.stringify(prefix)}, keys: ${JSON.stringify(keys)} });
    const token = new ts.OAuthBuilder().clientId('1000.CLIENT').clientSecret('client-secret')
      .grantToken(${JSON.stringify(grant)}).redirectURL('https://app.example.com/callback').build();
    const environment = new ts.Environment(${JSON.stringify(zoho.url)}, ${JSON.stringify(zoho.accountsUrl)}, ${JSON.stringify(zoho.url)});
    const lines = readline.createInterface({ input: process.stdin });
    lines.once('line', async () => {
      lines.close();
      try {
        await new ts.InitializeBuilder().environment(environment).token(token).store(store)
          .resourcePath(${JSON.stringify(resourcePath)}).initialize();
        const response = await new ts.Org.OrgOperations().getOrganization();
        console.log(JSON.stringify({ status: response.getStatusCode(), id: token.getId() }));
      } catch (error) {
        console.error(error);
        process.exitCode = 1;
      }
    });
    console.log('ready');
  `;
  const processes = Array.from({ length: PROCESSES }, () =>
    startHeld(source(fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-ts-fleet-'))), { AWS_ENDPOINT_URL: aws.url }),
  );
  t.after(() => processes.forEach((p) => p.stop()));
  await Promise.all(processes.map((p) => p.ready));
  await zoho.grant(grant); // the user's consent, as the fleet starts
  processes.forEach((p) => p.go());
  const runs = await Promise.all(processes.map((p) => p.done));

  // What every process said (the store's warnings go to standard error), for any failure below.
  const said = runs.map((run, i) => `process ${i} (exit ${run.code ?? run.signal}):\n${run.stderr}${run.stdout}`).join('\n');
  const results = runs.map((run) => {
    assert.equal(run.code, 0, said);
    return JSON.parse(run.stdout.trim().split('\n').at(-1));
  });
  assert.deepEqual(results.map((r) => r.status), Array(PROCESSES).fill(200), said);
  const journal = await zoho.journal();
  assert.deepEqual(journal.exchanges, [grant], `one exchange for the fleet\n${said}`);
  assert.deepEqual(refusals(await zoho.stats()), { refused_exchanges: 0, refused_refreshes: 0, access_denied: 0, evicted: 0, invalid_token: 0 }, said);
  const [stored, ...others] = await makeStore('unused', { prefix, keys }).getTokens();
  assert.equal(others.length, 0, `one token for the fleet\n${said}`);
  assert.deepEqual([...new Set(results.map((r) => r.id))], [stored.getId()], `every process holds the one stored token\n${said}`);
  const used = new Set(journal.crm_calls.filter(([route]) => route === '/crm/v8/org').map(([, token]) => token));
  assert.deepEqual([...used], [stored.getAccessToken()], 'every process used the one exchanged token');
});
