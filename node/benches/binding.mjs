// The Node binding's overhead: each store operation from Node.js (through SecretsManagerTokenStore, the
// SDK's tokens in and out) against the same operation from Rust (benches/binding.rs, as
// python/benches/binding.py measures the Python binding), on the same 10 secrets in the same LocalStack,
// in alternating rounds so LocalStack's drift falls on both alike; and the AWS calls each side makes for
// those operations, counted by the strict AWS model, which must be the same. Prints the Markdown tables
// BENCHMARKS.md records. Run: node/run-bench.

import { spawn, spawnSync } from 'node:child_process';
import readline from 'node:readline';
import path from 'node:path';

import { SecretsManagerTokenStore } from 'zoho-token-store';

import { CLIENT, EXPIRY, ROOT, byUser, endpoint, median, ms, newKeys, newPrefix, p99, seed, timed } from './common.mjs';
import * as sdk from '@zohocrm/nodejs-sdk-8.0';

const ROUNDS = 10;
const ITERATIONS = 40; // per operation per round
const OPERATIONS = [
  'find_token_by_id',
  'find_token by user',
  'find_token by refresh token',
  'save_token (existing)',
  'get_tokens',
  'find_token_by_id, cache warm',
  'find_token by user, cache warm',
];

/**
 * The stores the Rust side builds (benches/binding.rs): one without a cache, one with a 300 s cache.
 * Otherwise the package's defaults, as an app has them: refreshing ahead stays on (for these tokens, far
 * from expiry, it makes no call: the call counts show it), so its check is part of what is measured.
 */
function stores(prefix, keys, endpointUrl) {
  const options = { prefix, keys, endpointUrl, recoveryWindowDays: 0 };
  return {
    store: new SecretsManagerTokenStore({ ...options, cacheTtlSeconds: 0 }),
    cached: new SecretsManagerTokenStore({ ...options, cacheTtlSeconds: 300 }),
  };
}

/** The operations of one iteration of benches/binding.rs, in its order, through the Node package. */
async function nodeIterations({ store, cached }, id, iterations, samples) {
  for (let n = 0; n < iterations; n++) {
    await timed(samples, 'find_token_by_id', () => store.findTokenById(id));
    await timed(samples, 'find_token by user', () => store.findToken(byUser(0)));
    await timed(samples, 'find_token by refresh token', () =>
      store.findToken(new sdk.OAuthToken(CLIENT, '-', null, 'refresh-0')),
    );
    const update = new sdk.OAuthToken(null, null, null, null, null, id, `access-node-${n}`);
    update.setExpiresIn(EXPIRY);
    await timed(samples, 'save_token (existing)', () => store.saveToken(update));
    await timed(samples, 'get_tokens', () => store.getTokens());
    await timed(samples, 'find_token_by_id, cache warm', () => cached.findTokenById(id));
    await timed(samples, 'find_token by user, cache warm', () => cached.findToken(byUser(0)));
  }
}

/** One run of benches/binding.rs (`cargo bench`, release) with `env`; its samples, in microseconds. */
function rustIterations(env, samples) {
  const done = spawnSync('cargo', ['bench', '--quiet', '--bench', 'binding'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (done.status !== 0) throw new Error(`cargo bench --bench binding failed:\n${done.stderr}`);
  const lines = done.stdout.trim().split('\n');
  for (const [op, values] of Object.entries(JSON.parse(lines.at(-1)))) (samples[op] ||= []).push(...values);
}

/** The strict AWS model in front of LocalStack, without its listing lag: it counts every call. */
async function countingProxy(upstream) {
  const child = spawn(path.join(ROOT, 'localstack', 'strict-aws'), ['--upstream', upstream, '--port', '0', '--lag', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve) => readline.createInterface({ input: child.stdout }).once('line', resolve));
  const url = line.split(/\s+/).at(-1);
  return {
    url,
    calls: async () => (await (await fetch(`${url}/_strict/stats`)).json()).calls,
    stop: () => child.kill(),
  };
}

/** AWS calls per iteration, by operation: (calls for 3 iterations - calls for 1) / 2, so the first
 * iteration's own (the cached store's first reads) cancel out. */
async function callsPerIteration(proxy, run) {
  const counts = [];
  for (const iterations of [1, 3]) {
    const before = await proxy.calls();
    await run(iterations);
    const after = await proxy.calls();
    const made = {};
    for (const [op, n] of Object.entries(after)) {
      if (n - (before[op] || 0)) made[op.split('.').at(-1)] = n - (before[op] || 0);
    }
    counts.push(made);
  }
  const [one, three] = counts;
  const per = {};
  for (const op of new Set([...Object.keys(one), ...Object.keys(three)])) {
    const n = ((three[op] || 0) - (one[op] || 0)) / 2;
    if (n) per[op] = n;
  }
  return per;
}

async function main() {
  const url = endpoint();
  const keys = newKeys();
  const prefix = newPrefix('binding');
  const { store, cached } = stores(prefix, keys, url);
  const ids = await seed(store, 10);
  const rustEnv = {
    AWS_ENDPOINT_URL: url,
    ZOHO_TOKEN_STORE_PREFIX: prefix,
    ZOHO_TOKEN_STORE_KEYS: keys,
    BENCH_ID: ids[0],
    BENCH_USER: 'user0@example.com:1',
    BENCH_CLIENT_ID: CLIENT,
    BENCH_REFRESH: 'refresh-0',
  };

  // The calls, through the model: the same operations on the same secrets from each side.
  const proxy = await countingProxy(url);
  let calls;
  try {
    const rust = await callsPerIteration(proxy, async (iterations) =>
      rustIterations({ ...rustEnv, AWS_ENDPOINT_URL: proxy.url, BENCH_ITERATIONS: String(iterations), BENCH_SWEEP: '0' }, {}),
    );
    const node = await callsPerIteration(proxy, (iterations) =>
      nodeIterations(stores(prefix, keys, proxy.url), ids[0], iterations, {}),
    );
    calls = { rust, node };
  } finally {
    proxy.stop();
  }

  const rust = {};
  const node = {};
  rustIterations({ ...rustEnv, BENCH_ITERATIONS: String(ITERATIONS), BENCH_SWEEP: '1' }, {}); // warm-up; no bridges left
  await nodeIterations({ store, cached }, ids[0], ITERATIONS, {});
  for (let round = 0; round < ROUNDS; round++) {
    rustIterations({ ...rustEnv, BENCH_ITERATIONS: String(ITERATIONS), BENCH_SWEEP: '0' }, rust);
    await nodeIterations({ store, cached }, ids[0], ITERATIONS, node);
  }

  console.log(`Node.js ${process.version}, addon ${process.env.NAPI_RS_NATIVE_LIBRARY_PATH || '(node/, as built last)'}`);
  console.log();
  console.log('| AWS calls per iteration of the seven operations | Rust | Node.js |');
  console.log('|---|---|---|');
  const ops = [...new Set([...Object.keys(calls.rust), ...Object.keys(calls.node)])].sort();
  for (const op of ops) console.log(`| ${op} | ${calls.rust[op] || 0} | ${calls.node[op] || 0} |`);
  const same = ops.every((op) => calls.rust[op] === calls.node[op]);
  console.log(same ? '\nThe same calls from both.' : '\nTHE CALLS DIFFER: the binding makes calls Rust does not, or fewer.');
  console.log();
  console.log('| operation (N = 10) | Rust median ms | Node.js median ms | overhead | overhead ms | Rust p99 ms | Node.js p99 ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const op of OPERATIONS) {
    const r = median(rust[op]);
    const n = median(node[op]);
    const overhead = (100 * (n - r)) / r;
    console.log(
      `| ${op} | ${ms(r)} | ${ms(n)} | ${overhead >= 0 ? '+' : ''}${overhead.toFixed(1)}% | ` +
        `${n >= r ? '+' : ''}${ms(n - r)} | ${ms(p99(rust[op]), 2)} | ${ms(p99(node[op]), 2)} |`,
    );
  }
  await store.deleteTokens();
  if (!same) process.exitCode = 1;
}

await main();
