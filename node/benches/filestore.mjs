// findToken and findTokenById at N = 1,000 tokens: this store (without its read cache, and with it cold
// and warm) against the Zoho Node.js SDK's FileStore, which reads its whole CSV file on every call (and
// the SDK reads the store before every API request). Prints the Markdown table BENCHMARKS.md records.
// Run: node/run-bench.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import * as sdk from '@zohocrm/nodejs-sdk-8.0';
import { SecretsManagerTokenStore } from 'zoho-token-store';

import { CLIENT, EXPIRY, byUser, endpoint, median, ms, newKeys, newPrefix, p99, seed, timed, userName } from './common.mjs';

const N = 1000;
const LOOKUPS = 100;

/** Rows i in [from, to) as the SDK's FileStore writes them (its column order), joined as it joins them. */
function rows(from, to) {
  const lines = [];
  for (let i = from; i < to; i++) {
    // id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, expiry_time,
    // redirect_url, api_domain
    lines.push(
      [i + 1, userName(i), CLIENT, `secret-${i}`, `refresh-${i}`, `access-${i}`, '', EXPIRY,
        'https://app.example.com/cb', 'https://www.zohoapis.com'].join(','),
    );
  }
  return lines;
}

/** `LOOKUPS` lookups by user and by id of tokens spread over `n` (`step` coprime with n: all distinct). */
async function lookups(store, idOf, n, step) {
  const samples = {};
  for (let k = 0; k < LOOKUPS; k++) {
    const i = (k * step) % n;
    await timed(samples, 'user', () => store.findToken(byUser(i)));
    await timed(samples, 'id', () => store.findTokenById(idOf(i)));
  }
  return samples;
}

/** As `lookups`, by user only or by id only: a cold cache's lookups, each token's first. */
async function coldLookups(store, idOf, n, step, by) {
  const samples = {};
  for (let k = 0; k < LOOKUPS; k++) {
    const i = (k * step) % n;
    if (by === 'user') await timed(samples, 'user', () => store.findToken(byUser(i)));
    else await timed(samples, 'id', () => store.findTokenById(idOf(i)));
  }
  return samples;
}

function row(name, user, id) {
  console.log(`| ${name} | ${ms(median(user), 2)} | ${ms(p99(user), 2)} | ${ms(median(id), 2)} | ${ms(p99(id), 2)} |`);
}

async function main() {
  const url = endpoint();
  const keys = newKeys();
  const prefix = newPrefix('filestore');
  const options = { prefix, keys, endpointUrl: url, recoveryWindowDays: 0 };
  const ours = new SecretsManagerTokenStore({ ...options, cacheTtlSeconds: 0 });
  console.error(`seeding ${N} tokens`);
  const ids = await seed(ours, N);
  const idOf = (i) => ids[i];

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-bench-filestore-'));
  const file = path.join(dir, 'sdk_tokens.txt');
  const fileStore = new sdk.FileStore(file); // writes the header
  fs.appendFileSync(file, `\n${rows(0, N).join('\n')}`);
  const fileId = (i) => String(i + 1);

  console.log(`Node.js ${process.version}, addon ${process.env.NAPI_RS_NATIVE_LIBRARY_PATH || '(node/, as built last)'}`);
  console.log();
  console.log(`| store (N = ${N.toLocaleString('en')}) | findToken by user median ms | p99 ms | findTokenById median ms | p99 ms |`);
  console.log('|---|---|---|---|---|');
  // FileStore and the uncached store: a first round warms the OS's page cache and the connections.
  for (const [name, store, ids_] of [
    ['FileStore (local file)', fileStore, fileId],
    ['ours, no read cache (cacheTtlSeconds: 0)', ours, idOf],
  ]) {
    await lookups(store, ids_, N, 37);
    const samples = await lookups(store, ids_, N, 37);
    row(name, samples.user, samples.id);
  }
  // The read cache (the package's default is 30 s; 300 here so nothing expires while measured). Cold: a
  // store's first lookup of each token (one by user, one by id, in stores of their own, since a lookup by
  // user caches the token by id too); warm: the same lookups again.
  const cold = new SecretsManagerTokenStore({ ...options, cacheTtlSeconds: 300 });
  const coldById = new SecretsManagerTokenStore({ ...options, cacheTtlSeconds: 300 });
  // Each store's first call loads the AWS configuration and connects: made first, on a token not
  // looked up below, so that a cold lookup is a lookup only.
  const looked = new Set(Array.from({ length: LOOKUPS }, (_, k) => (k * 37) % N));
  const spare = ids.find((_, i) => !looked.has(i));
  await cold.findTokenById(spare);
  await coldById.findTokenById(spare);
  const coldUser = await coldLookups(cold, idOf, N, 37, 'user');
  const coldId = await coldLookups(coldById, idOf, N, 37, 'id');
  row('ours, read cache cold (each token\'s first lookup)', coldUser.user, coldId.id);
  const warm = await lookups(cold, idOf, N, 37);
  row('ours, read cache warm', warm.user, warm.id);

  // FileStore's cost grows with N; ours does not.
  fs.appendFileSync(file, `\n${rows(N, 10 * N).join('\n')}`);
  const big = await lookups(fileStore, fileId, 10 * N, 373);
  row(`FileStore (local file), N = ${(10 * N).toLocaleString('en')}`, big.user, big.id);
  fs.rmSync(dir, { recursive: true });
  await ours.deleteTokens();
}

await main();
