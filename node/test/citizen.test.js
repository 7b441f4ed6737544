'use strict';
// A well-behaved Node citizen: a script that uses the store exits as soon as its work is done (over
// plain HTTP and over TLS, the trap of cachix/secretspec#343: an AWS TLS connection or a runtime task
// kept the process alive); 200 concurrent lookups leave the event loop free; worker threads and
// cluster workers each build their own store.

const assert = require('node:assert/strict');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const test = require('node:test');
const { Worker } = require('node:worker_threads');

const { OAuthToken, UserSignature } = require('..');
const { PACKAGE, endpoint, makeStore, newKeys, newPrefix, runNode } = require('./helpers.js');
const { startTlsProxy } = require('./tls.js');

/**
 * How long a finished script may take to exit: Node's own teardown, far below any hold a leaked handle
 * would cause (an idle pooled connection lives 90 s, an unsettled Promise for good).
 */
const PROMPT_EXIT_MS = 5_000;

function userToken(user, fields = {}) {
  const t = Reflect.construct(OAuthToken, []);
  t.setUserSignature(new UserSignature(user));
  t.setClientId('1000.CLIENT');
  t.setClientSecret('client-secret');
  t.setRefreshToken(fields.refreshToken ?? `1000.refresh-${user}`);
  t.setAccessToken(fields.accessToken ?? `1000.access-${user}`);
  t.setExpiresIn(String(Date.now() + 3_600_000));
  return t;
}

/** A script that saves, finds and lists a token through a store with `options`, then says so. */
function workScript(options) {
  return `
    const { SecretsManagerTokenStore, OAuthToken, UserSignature } = require('zoho-token-store');
    (async () => {
      const store = new SecretsManagerTokenStore(${JSON.stringify(options)});
      const token = Reflect.construct(OAuthToken, []);
      token.setUserSignature(new UserSignature('exit@example.com'));
      token.setClientId('1000.CLIENT');
      token.setClientSecret('client-secret');
      token.setRefreshToken('1000.refresh-exit');
      await store.saveToken(token);
      const query = Reflect.construct(OAuthToken, []);
      query.setUserSignature(new UserSignature('exit@example.com'));
      const found = await store.findToken(query);
      const all = await store.getTokens();
      console.log('work done', found.getId() === token.getId(), all.length, JSON.stringify(store.calls()));
    })();
  `;
}

function assertExitedPromptly(run, t) {
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /work done true 1 /);
  t.diagnostic(`exited ${Math.round(run.lingeredMs)} ms after its last output`);
  assert.ok(run.lingeredMs < PROMPT_EXIT_MS, `lingered ${run.lingeredMs} ms after its work was done`);
}

test('a script exits as soon as its work is done: AWS over plain HTTP', async (t) => {
  endpoint();
  const run = await runNode(workScript({ prefix: newPrefix('exit-http'), keys: newKeys(), recoveryWindowDays: 0 }));
  assertExitedPromptly(run, t);
});

test('a script exits as soon as its work is done: AWS over TLS (a handshake that succeeds)', async (t) => {
  const proxy = await startTlsProxy(endpoint());
  t.after(() => proxy.close());
  const run = await runNode(
    workScript({ prefix: newPrefix('exit-tls'), keys: newKeys(), endpointUrl: proxy.url, recoveryWindowDays: 0 }),
    { env: { SSL_CERT_FILE: proxy.ca } },
  );
  assertExitedPromptly(run, t);
  assert.ok(proxy.handshakes() >= 1, 'the store reached AWS over TLS');
});

test('a script exits promptly with a keyring secret (read, cached and re-read by the store)', async (t) => {
  endpoint();
  const prefix = newPrefix('exit-keyring');
  const keyringSecret = `${prefix.replace(/\/$/, '')}-keyring`;
  const made = await runNode(`
    const { cli } = require('./native.js');
    process.exitCode = cli(['zoho-token-store', '--keyring-secret', ${JSON.stringify(keyringSecret)}, 'init-keyring']);
  `);
  assert.equal(made.code, 0, made.stderr);
  const run = await runNode(workScript({ prefix, keyringSecret, recoveryWindowDays: 0 }));
  assertExitedPromptly(run, t);
});

test('200 concurrent lookups from one process leave the event loop free', async (t) => {
  const store = makeStore('concurrent-lookups');
  const saved = userToken('many@example.com');
  await store.saveToken(saved);
  store.resetCalls();

  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let last = performance.now();
  let longestGap = 0;
  let ticks = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
    ticks += 1;
  }, 5);
  const start = performance.now();
  const found = await Promise.all(
    Array.from({ length: 200 }, () => store.findToken(userToken('many@example.com', { refreshToken: null, accessToken: null }))),
  );
  const elapsed = performance.now() - start;
  clearInterval(ticker);
  delay.disable();

  assert.equal(found.filter((token) => token && token.getId() === saved.getId()).length, 200);
  assert.equal(store.calls().GetSecretValue, 200, 'each lookup was its own AWS call (no cache), all in flight at once');
  t.diagnostic(
    `200 lookups in ${Math.round(elapsed)} ms; event loop: ${ticks} ticks, longest gap ${Math.round(longestGap)} ms, ` +
      `delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms`,
  );
  // A binding that blocked the event loop for its calls would stall it for about the whole run; here it
  // only converts tokens between calls, so the timer keeps ticking throughout.
  assert.ok(longestGap < elapsed * 0.6, `the event loop stalled ${longestGap} ms of ${elapsed} ms`);
  assert.ok(ticks >= 3, `the timer ticked ${ticks} times in ${elapsed} ms`);
});

test('worker threads each build their own store; the main thread\'s store still works after they end', async () => {
  endpoint();
  const prefix = newPrefix('worker-threads');
  const keys = newKeys();
  const options = { prefix, keys, recoveryWindowDays: 0, cacheTtlSeconds: 0 };
  const { SecretsManagerTokenStore } = require('..');
  const main = new SecretsManagerTokenStore(options);
  await main.saveToken(userToken('main@example.com'));

  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { SecretsManagerTokenStore, OAuthToken, UserSignature } = require(${JSON.stringify(PACKAGE)});
    (async () => {
      const store = new SecretsManagerTokenStore(workerData.options);
      const query = Reflect.construct(OAuthToken, []);
      query.setUserSignature(new UserSignature('main@example.com'));
      const found = await store.findToken(query);
      const own = Reflect.construct(OAuthToken, []);
      own.setUserSignature(new UserSignature(workerData.user));
      own.setClientId('1000.CLIENT');
      own.setClientSecret('client-secret');
      own.setRefreshToken('1000.refresh-' + workerData.user);
      await store.saveToken(own);
      parentPort.postMessage({ foundMain: found !== null && found.getRefreshToken() === '1000.refresh-main@example.com', id: own.getId() });
    })();
  `;
  const run = (user) =>
    new Promise((resolve, reject) => {
      const worker = new Worker(source, { eval: true, workerData: { options, user } });
      let message = null;
      worker.on('message', (m) => (message = m));
      worker.on('error', reject);
      worker.on('exit', (code) => (code === 0 && message ? resolve(message) : reject(new Error(`worker exited ${code}`))));
    });
  const results = await Promise.all([run('w1@example.com'), run('w2@example.com')]);
  assert.deepEqual(results.map((r) => r.foundMain), [true, true]);

  // The workers' environments are gone; the runtime the main thread's store uses is not.
  const names = (await main.getTokens()).map((token) => token.getUserSignature().getName()).sort();
  assert.deepEqual(names, ['main@example.com', 'w1@example.com', 'w2@example.com']);
  const ids = new Set((await main.getTokens()).map((token) => token.getId()));
  for (const { id } of results) assert.ok(ids.has(id));
});

test('cluster workers each build their own store, and the primary exits when they are done', async (t) => {
  endpoint();
  const options = { prefix: newPrefix('cluster'), keys: newKeys(), recoveryWindowDays: 0, cacheTtlSeconds: 0 };
  const run = await runNode(`
    const cluster = require('node:cluster');
    const { SecretsManagerTokenStore, OAuthToken, UserSignature } = require(${JSON.stringify(PACKAGE)});
    const options = ${JSON.stringify(options)};
    if (cluster.isPrimary) {
      let saved = 0;
      for (let i = 0; i < 2; i += 1) {
        cluster.fork({ WORKER_USER: 'c' + i + '@example.com' }).on('message', () => (saved += 1));
      }
      cluster.on('exit', (worker, code) => { if (code !== 0) process.exitCode = 1; });
      process.on('beforeExit', async () => {
        if (saved !== 2 || process.exitCode) return;
        saved = -1;
        const tokens = await new SecretsManagerTokenStore(options).getTokens();
        console.log('work done true', tokens.length, 'workers saved', tokens.map((t) => t.getUserSignature().getName()).sort().join(' '));
      });
    } else {
      (async () => {
        const store = new SecretsManagerTokenStore(options);
        const token = Reflect.construct(OAuthToken, []);
        token.setUserSignature(new UserSignature(process.env.WORKER_USER));
        token.setClientId('1000.CLIENT');
        token.setClientSecret('client-secret');
        token.setRefreshToken('1000.refresh-' + process.env.WORKER_USER);
        await store.saveToken(token);
        process.send('saved', () => process.disconnect());
      })();
    }
  `, { file: true });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /work done true 2 workers saved c0@example.com c1@example.com/);
  t.diagnostic(`the primary exited ${Math.round(run.lingeredMs)} ms after its last output`);
  assert.ok(run.lingeredMs < PROMPT_EXIT_MS);
});
