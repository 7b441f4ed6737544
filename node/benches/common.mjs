// What the Node package's benchmarks share: LocalStack, throwaway keyrings, the SDK's tokens, timing and
// the statistics BENCHMARKS.md reports. Run them with node/run-bench.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as sdk from '@zohocrm/nodejs-sdk-8.0';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLIENT = '1000.BENCHCLIENT';
/** Far in the future: no token is ever due for refresh while measured. */
export const EXPIRY = '1900000000000';

/** LocalStack's URL (AWS_ENDPOINT_URL, else started by localstack/up), with the standard AWS variables set. */
export function endpoint() {
  let url = process.env.AWS_ENDPOINT_URL;
  if (!url) {
    execFileSync(path.join(ROOT, 'localstack', 'up'), { stdio: ['ignore', 'inherit', 'inherit'] });
    url = `http://127.0.0.1:${process.env.LOCALSTACK_PORT || '4566'}`;
  }
  process.env.AWS_ENDPOINT_URL = url;
  process.env.AWS_REGION ||= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ||= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ||= 'test';
  // LocalStack now and then answers a 500 under parallel load (other clients of the same LocalStack);
  // the AWS SDK retries it, on both sides of a comparison alike (benches/binding.rs reads it too).
  process.env.AWS_MAX_ATTEMPTS ||= '6';
  return url;
}

/** A fresh keyring in the text format `zoho-token-store keygen` prints. */
export function newKeys() {
  const key = () => crypto.randomBytes(32).toString('base64');
  return `index=${key()},k1=${key()}`;
}

/** A prefix of its own for one benchmark run. */
export function newPrefix(name) {
  return `zts-bench/node-${name}/${process.hrtime.bigint().toString(16)}/`;
}

export function userName(n) {
  return `user${n}@example.com:1`;
}

/** Token n as the SDK holds it after a sign-in (every field a store keeps). */
export function token(n) {
  const t = new sdk.OAuthToken(CLIENT, `secret-${n}`, null, `refresh-${n}`, 'https://app.example.com/cb', null,
    `access-${n}`, new sdk.UserSignature(userName(n)));
  t.setExpiresIn(EXPIRY);
  t.setAPIDomain('https://www.zohoapis.com');
  return t;
}

/** A token that only names its user: what the SDK looks up by. */
export function byUser(n) {
  return new sdk.OAuthToken(null, null, null, null, null, null, null, new sdk.UserSignature(userName(n)));
}

/** Saves tokens 0..n-1 one after the other (LocalStack's listing is not safe under concurrent creates); their ids. */
export async function seed(store, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const t = token(i);
    await store.saveToken(t);
    ids.push(t.getId());
  }
  return ids;
}

/** Runs `call`, adding its latency in microseconds to `samples[op]`. */
export async function timed(samples, op, call) {
  const started = process.hrtime.bigint();
  await call();
  (samples[op] ||= []).push(Number(process.hrtime.bigint() - started) / 1000);
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The 99th percentile as python/benches/binding.py takes it (the value at index floor(0.99 n)). */
export function p99(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))];
}

/** Milliseconds from microseconds, with `digits` decimals. */
export function ms(us, digits = 3) {
  return (us / 1000).toFixed(digits);
}
