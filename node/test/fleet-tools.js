'use strict';
// What the fleet tests share (python/tests/fleet_tools.py is the Python side's): the strict AWS model
// (`localstack/strict-aws`) as a process and its stats; SDK processes in Node and in Python
// (test/fleet/*-worker.*) driven line by line; the Python that runs the Python package; the operator
// tool; and one refresh per expiry read off what the strict Zoho mock minted.

const { execFile, execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { promisify } = require('node:util');

const { PACKAGE, ROOT } = require('./helpers.js');

const run = promisify(execFile);

/** How long a worker may stay silent before the test fails with what it said: a bound against a hang,
 * not a deadline (a loaded machine's slowest answer is seconds). */
const SILENCE_MS = 120_000;

/**
 * Starts the strict model in front of `upstream` with `options`; resolves with its URL and `close()`.
 */
async function strictAws(upstream, options = []) {
  const child = spawn(path.join(ROOT, 'localstack', 'strict-aws'), ['--upstream', upstream, '--port', '0', ...options], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const lines = readline.createInterface({ input: child.stdout });
  const line = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`strict-aws exited (${code}) before it listened: ${stderr}`)));
  });
  lines.close();
  const match = /^strict-aws: listening on (\S+)/.exec(line);
  if (!match) {
    child.kill();
    throw new Error(`strict-aws did not start: ${line}`);
  }
  const url = match[1];
  return {
    url,
    /** What the model did so far (`GET /_strict/stats`): versions written per secret, lagged answers... */
    stats: async () => (await fetch(`${url}/_strict/stats`)).json(),
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

/**
 * An SDK process (`node` or `python`) on `prefix`, configured with `credential` ('grant' or 'refresh')
 * = `value`, talking to Zoho at `zohoUrl` and to AWS at `env.AWS_ENDPOINT_URL`. `ask(line)` sends a
 * command and resolves with its one-line answer (see test/fleet/node-sdk-worker.mjs).
 */
async function startWorker(language, { zohoUrl, prefix, credential, value, env, python }) {
  const resources = fs.mkdtempSync(path.join(os.tmpdir(), `zts-node-fleet-${language}-`));
  const script = path.join(__dirname, 'fleet', language === 'node' ? 'node-sdk-worker.mjs' : 'python-sdk-worker.py');
  const program = language === 'node' ? process.execPath : python;
  // The working directory is the worker's own (the Python SDK writes its resources there); imports
  // resolve from the script's folder, in the package.
  const child = spawn(program, [script, zohoUrl, prefix, resources, credential, value], {
    cwd: resources,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const answers = [];
  const waiting = [];
  const lines = readline.createInterface({ input: child.stdout });
  lines.on('line', (line) => (waiting.length ? waiting.shift().resolve(line) : answers.push(line)));
  child.once('exit', (code, signal) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`the ${language} worker ended (${code ?? signal}): ${stderr}`));
  });
  const next = () =>
    new Promise((resolve, reject) => {
      if (answers.length) return resolve(answers.shift());
      if (child.exitCode !== null) return reject(new Error(`the ${language} worker ended (${child.exitCode}): ${stderr}`));
      const timer = setTimeout(() => reject(new Error(`the ${language} worker was silent for ${SILENCE_MS / 1000} s: ${stderr}`)), SILENCE_MS);
      waiting.push({
        resolve: (line) => (clearTimeout(timer), resolve(line)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
    });
  const worker = {
    language,
    pid: child.pid,
    stderr: () => stderr,
    ask: (line) => {
      child.stdin.write(`${line}\n`);
      return next();
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
  const first = await next();
  if (first !== 'ready') throw new Error(`the ${language} worker did not start: ${first}\n${stderr}`);
  return worker;
}

/** Every worker answers `line` at once (each request served concurrently); their answers in order. */
function all(workers, line) {
  return Promise.all(workers.map((w) => w.ask(line)));
}

/** Whether `python` imports the Python package and the Zoho Python SDK (run outside python/, whose
 * source tree would shadow the installed package). */
function hasPackages(python) {
  try {
    execFileSync(python, ['-c', 'import zoho_token_store, zohocrmsdk'], { cwd: os.tmpdir(), stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A Python with the Python package (zoho_token_store) and the Zoho Python SDK, to run Python SDK
 * processes: ZOHO_TOKEN_STORE_SDK_PYTHON when set; else python/.venv, which `python/run-tests` installs
 * the package into from source; else, with ZOHO_TOKEN_STORE_WHEEL (a built wheel, as .ci/run sets it),
 * a virtual environment with that wheel and its `sdk` extra, made once per wheel in the temporary
 * folder. Throws with what to do when there is none.
 */
async function pythonWithPackage() {
  const given = process.env.ZOHO_TOKEN_STORE_SDK_PYTHON;
  if (given) {
    if (!hasPackages(given)) throw new Error(`ZOHO_TOKEN_STORE_SDK_PYTHON=${given} cannot import zoho_token_store and zohocrmsdk`);
    return given;
  }
  const venv = path.join(ROOT, 'python', '.venv', 'bin', 'python');
  if (fs.existsSync(venv) && hasPackages(venv)) return venv;
  const wheel = process.env.ZOHO_TOKEN_STORE_WHEEL;
  if (wheel) {
    const digest = crypto.createHash('sha256').update(fs.readFileSync(wheel)).digest('hex').slice(0, 16);
    const home = path.join(os.tmpdir(), `zts-node-python-${digest}`);
    const python = path.join(home, 'bin', 'python');
    if (fs.existsSync(python) && hasPackages(python)) return python;
    // Made beside its final place and renamed into it, so an interrupted install is never taken.
    const building = `${home}.${process.pid}`;
    fs.rmSync(building, { recursive: true, force: true });
    await run('python3', ['-m', 'venv', building]);
    await run(path.join(building, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--only-binary', ':all:', `${wheel}[sdk]`], { maxBuffer: 1 << 24 });
    fs.rmSync(home, { recursive: true, force: true });
    fs.renameSync(building, home);
    if (hasPackages(python)) return python;
  }
  throw new Error(
    'no Python with the Python package and the Zoho Python SDK for the Python SDK processes: run ' +
      'python/run-tests once (it installs the package into python/.venv), or set ZOHO_TOKEN_STORE_WHEEL ' +
      'to a wheel python/build-wheels made, or ZOHO_TOKEN_STORE_SDK_PYTHON to a Python that imports ' +
      'zoho_token_store and zohocrmsdk',
  );
}

/**
 * The operator tool: the crate's binary when ZOHO_TOKEN_STORE_CLI names it (`cargo test` sets it), else
 * the package's own `zoho-token-store` command (bin/, the same tool through the native module).
 * Resolves `cli(args, env)` with its exit code and output.
 */
function operatorTool() {
  const binary = process.env.ZOHO_TOKEN_STORE_CLI;
  const [program, first] = binary ? [binary, []] : [process.execPath, [path.join(PACKAGE, 'bin', 'zoho-token-store.js')]];
  const cli = (args, env = {}) =>
    new Promise((resolve) => {
      execFile(program, [...first, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
        resolve({ code: error ? error.code ?? 1 : 0, stdout, stderr }),
      );
    });
  cli.what = binary ? `the crate's binary ${binary}` : 'the package\'s bin/zoho-token-store.js';
  return cli;
}

/**
 * The refreshes of `refreshToken` Zoho answered while the access token it minted before was unexpired
 * and had more than `withinS` real seconds left, as its clients count it: each one a second refresh of
 * one expiry, however the processes were scheduled (the strict mock's `early_refreshes`, from its
 * stats' `issued`). `withinS` is the fleet's refresh margin plus how far its clocks disagree.
 */
function earlyRefreshes(stats, refreshToken, withinS) {
  const lifetime = stats.clock.expires_in * stats.clock.scale; // Zoho seconds
  const early = [];
  let previous = null;
  for (const record of stats.issued) {
    if (record.refresh_token !== refreshToken) continue;
    if (record.by === 'refresh' && previous) {
      const left = previous.real + previous.expires_in - record.real;
      const expired = record.at >= previous.at + lifetime;
      if (left > withinS && !expired) early.push({ ...record, previous: previous.access_token, previous_left_real: left });
    }
    previous = record;
  }
  return early;
}

/** The life (real seconds) each refresh of `refreshToken` left on the token it replaced. */
function lifeLeft(stats, refreshToken) {
  return stats.issued
    .filter((r) => r.refresh_token === refreshToken && r.by === 'refresh')
    .map((r) => Math.round((r.replaced_left_real ?? 0) * 10) / 10);
}

/** Zoho's refusals: none of them may happen to a fleet that shares its tokens. */
function refusals(stats) {
  const { refused_exchanges, refused_refreshes, access_denied, evicted, invalid_token } = stats;
  return { refused_exchanges, refused_refreshes, access_denied, evicted, invalid_token };
}

module.exports = { strictAws, startWorker, all, pythonWithPackage, operatorTool, earlyRefreshes, lifeLeft, refusals };
