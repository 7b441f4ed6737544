'use strict';
// What the package's tests share: LocalStack (started through the project's `localstack/up`, never
// skipped: a test fails with the reason), a fresh keyring and prefix per test, stores made with them,
// the strict Zoho mock, and child Node processes.

const { execFile, execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const PACKAGE = path.resolve(__dirname, '..');
const ROOT = path.resolve(PACKAGE, '..');

/**
 * LocalStack's URL: `AWS_ENDPOINT_URL` when set (node/run-tests sets it), else the one `localstack/up`
 * starts (idempotent). Sets the standard AWS variables for this process and its children, as a deployed
 * app would have them.
 */
function endpoint() {
  let url = process.env.AWS_ENDPOINT_URL;
  if (!url) {
    try {
      execFileSync(path.join(ROOT, 'localstack', 'up'), { stdio: 'pipe' });
    } catch (error) {
      throw new Error(
        `localstack/up failed; LocalStack is required: ${error.stdout || ''}${error.stderr || error.message}`,
      );
    }
    url = `http://127.0.0.1:${process.env.LOCALSTACK_PORT || '4566'}`;
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    // LocalStack's listings now and then answer a 500 under parallel load; the SDK retries it.
    AWS_MAX_ATTEMPTS: '6',
  });
  return url;
}

/** A fresh keyring in the text format `zoho-token-store keygen` prints. */
function newKeys() {
  const key = () => crypto.randomBytes(32).toString('base64');
  return `index=${key()},k1=${key()}`;
}

/** A prefix no other test (nor any run) uses. */
function newPrefix(name) {
  const slug = name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 40);
  return `zts-node/${slug}/${process.hrtime.bigint().toString(16)}${(process.pid & 0xffff).toString(16)}/`;
}

/**
 * A store on LocalStack with a fresh keyring and prefix unless given; deleted tokens go at once, and
 * nothing is cached (a test reads back at once what another store or process wrote).
 */
function makeStore(name, options = {}) {
  endpoint();
  const { SecretsManagerTokenStore } = require('..');
  return new SecretsManagerTokenStore({
    prefix: newPrefix(name),
    keys: newKeys(),
    recoveryWindowDays: 0,
    cacheTtlSeconds: 0,
    ...options,
  });
}

/** Reads the first line of a child's stdout. */
function firstLine(child, what) {
  return new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    lines.once('line', (line) => {
      lines.close();
      resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it listened: ${stderr}`)));
    child.once('error', reject);
  });
}

/**
 * Starts the strict Zoho mock (`zoho-mock/strict-zoho`, the accounts server and the CRM's API domain at
 * once) with `args`; stop it with `close()`.
 */
async function startZoho(args = []) {
  const child = spawn(path.join(ROOT, 'zoho-mock', 'strict-zoho'), ['--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const line = await firstLine(child, 'strict-zoho');
  const match = /listening on (http:\/\/\S+)/.exec(line);
  if (!match) {
    child.kill();
    throw new Error(`strict-zoho did not say where it listens: ${line}`);
  }
  const url = match[1];
  const call = async (method, route, body) => {
    const response = await fetch(url + route, {
      method,
      headers: body ? { 'content-type': 'application/json' } : undefined,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`strict-zoho ${route}: HTTP ${response.status}`);
    return response.json();
  };
  return {
    url,
    accountsUrl: `${url}/oauth/v2/token`,
    /**
     * Issues grant code `code` now (a user's consent): Zoho accepts it once. For the mock's client
     * (`1000.CLIENT`) unless `client` names another (`{ client_id, client_secret }`, registered with it).
     */
    grant: (code, client = {}) => call('POST', '/_zoho/grant', { code, ...client }),
    /** Registers a refresh token Zoho issued before the test. */
    refreshToken: (token, email) => call('POST', '/_zoho/refresh_token', { refresh_token: token, email }),
    /** Every grant exchanged, refresh token refreshed and CRM call made, in order. */
    journal: () => call('GET', '/_zoho/journal'),
    /** What the mock counted and answered, and every access token it minted (`issued`). */
    stats: () => call('GET', '/_zoho/stats'),
    /** Holds Zoho's time still (`true`) or lets it run on (`false`): see zoho-mock/README.md. */
    pause: (paused) => call('POST', '/_zoho/clock', { paused }),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/**
 * Runs `source` (CommonJS, or an ES module with `esm`) in a child Node process in the package's folder,
 * with this process's environment plus `env`; resolves with its exit code, output and the time from
 * its last line of output to its exit (how long it lingered once its work was done). With `file` the
 * source runs from a file of a temporary folder (for `cluster`, which forks the main module), where
 * it reaches the package by its path.
 */
function runNode(source, { env = {}, esm = false, file = false, cwd = PACKAGE, flags = [], timeoutMs = 120_000 } = {}) {
  let args = [...flags, esm ? '--input-type=module' : '--input-type=commonjs', '-e', source];
  if (file) {
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-')), esm ? 'main.mjs' : 'main.js');
    fs.writeFileSync(script, source);
    args = [...flags, script];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let lastOutput = process.hrtime.bigint();
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      lastOutput = process.hrtime.bigint();
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lingeredMs = Number(process.hrtime.bigint() - lastOutput) / 1e6;
      resolve({ code, signal, stdout, stderr, lingeredMs });
    });
  });
}

/**
 * An app folder with the package installed from this folder (`npm install <path>`, a link, as a user
 * trying a checkout would): its `node_modules/.bin` has the package's command. With `copy`, the package
 * is a copy of what it publishes (package.json's `files`) plus the addon built here, and the app has
 * nothing else: no Zoho SDK.
 */
async function appWithPackage({ copy = false } = {}) {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-app-'));
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  if (copy) {
    const target = path.join(app, 'node_modules', 'zoho-token-store');
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));
    const addons = fs.readdirSync(PACKAGE).filter((name) => name.endsWith('.node'));
    for (const entry of ['package.json', ...manifest.files, ...addons]) {
      fs.cpSync(path.join(PACKAGE, entry), path.join(target, entry), { recursive: true });
    }
    return app;
  }
  return new Promise((resolve, reject) => {
    execFile('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--offline', PACKAGE], { cwd: app }, (error, stdout, stderr) =>
      error ? reject(new Error(`npm install ${PACKAGE} failed: ${stderr}`)) : resolve(app),
    );
  });
}

module.exports = { PACKAGE, ROOT, endpoint, newKeys, newPrefix, makeStore, startZoho, runNode, appWithPackage };
