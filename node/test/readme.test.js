'use strict';
// node/README.md's code, taken from the page as it stands, so that it cannot rot unnoticed:
// - "Testing your app against LocalStack": its test file runs as a user's project runs it (a folder of
//   its own with the package and the SDK in node_modules, `node --test`, none of this suite's
//   environment), and afterwards LocalStack holds nothing under the prefix it made;
// - "Plug it in": the app runs whole, with two changes this test states (the mock Zoho's data center
//   for USDataCenter.PRODUCTION(), and a prefix of the test's own), and stores the signed-in token;
// - "TypeScript": `tsc --strict` compiles the snippet as an ES module app.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');

const { PACKAGE, endpoint, newKeys, newPrefix, startZoho, runNode } = require('./helpers.js');

const README = fs.readFileSync(path.join(PACKAGE, 'README.md'), 'utf8');

/** The README's one ```lang block whose first line is `firstLine`. */
function block(lang, firstLine) {
  const blocks = [...README.matchAll(new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((m) => m[1]);
  const found = blocks.filter((code) => code.startsWith(`${firstLine}\n`));
  assert.equal(found.length, 1, `node/README.md has ${found.length} ${lang} blocks beginning ${JSON.stringify(firstLine)}`);
  return found[0];
}

/** `code` with `from` replaced once: the test fails if the page no longer has it. */
function replaceOnce(code, from, to) {
  assert.equal(code.split(from).length, 2, `the README's snippet should hold ${JSON.stringify(from)} once`);
  return code.replace(from, to);
}

/**
 * A user's project folder: `node_modules` holds the package (where this suite runs it from: the source
 * or what npm installed) and `modules` as this package resolves them, linked.
 */
function project(modules) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-readme-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  const link = (name, target) => {
    fs.mkdirSync(path.dirname(path.join(dir, 'node_modules', name)), { recursive: true });
    fs.symlinkSync(target, path.join(dir, 'node_modules', name), 'dir');
  };
  link('zoho-token-store', PACKAGE);
  for (const name of modules) {
    link(name, path.dirname(require.resolve(`${name}/package.json`, { paths: [PACKAGE] })));
  }
  return dir;
}

/** The names of LocalStack's secrets that begin with `prefix`, those scheduled for deletion included. */
async function secretNames(url, prefix) {
  const names = [];
  let token;
  do {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.ListSecrets',
        // LocalStack reads the account and region from the credential scope; it checks no signature.
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: JSON.stringify({ Filters: [{ Key: 'name', Values: [prefix] }], IncludePlannedDeletion: true, NextToken: token }),
    });
    const page = JSON.parse(await response.text());
    assert.equal(response.status, 200, `ListSecrets: ${JSON.stringify(page)}`);
    names.push(...page.SecretList.map((secret) => secret.Name).filter((name) => name.startsWith(prefix)));
    token = page.NextToken;
  } while (token);
  return names;
}

function run(file, args, options) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 300_000, ...options }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("the README's node:test file runs as a user's project and leaves nothing in LocalStack", async () => {
  const url = endpoint();
  const dir = project(['@zohocrm/nodejs-sdk-8.0']);
  fs.mkdirSync(path.join(dir, 'test'));
  fs.writeFileSync(path.join(dir, 'test', 'token-store.test.mjs'), block('js', '// test/token-store.test.mjs: node --test'));
  // Records the UUIDs the page's code draws (its prefixes), so this test can look in LocalStack after;
  // the page's code is not changed.
  fs.writeFileSync(
    path.join(dir, 'record-prefixes.cjs'),
    `const crypto = require('node:crypto');
     const draw = crypto.randomUUID;
     crypto.randomUUID = (...args) => {
       const uuid = draw(...args);
       require('node:fs').appendFileSync(${JSON.stringify(path.join(dir, 'uuids.txt'))}, uuid + '\\n');
       return uuid;
     };`,
  );
  // None of this suite's settings: the page's code brings its own (LocalStack's port is the one thing a
  // user with LocalStack elsewhere would set, and the page reads it).
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_') && !name.startsWith('ZOHO_TOKEN_STORE_') && !name.startsWith('NODE_')),
  );
  env.LOCALSTACK_PORT = new URL(url).port;
  env.NODE_OPTIONS = `--require=${path.join(dir, 'record-prefixes.cjs')}`;
  // TAP, whose summary lines this reads (Node 23+ prints its spec reporter by default).
  const done = await run(process.execPath, ['--test', '--test-reporter=tap'], { cwd: dir, env });
  assert.equal(done.code, 0, `${done.stdout}\n${done.stderr}`);
  assert.match(done.stdout, /^# pass 1$/m, done.stdout);
  assert.match(done.stdout, /^# fail 0$/m, done.stdout);

  const [uuid, ...more] = fs.readFileSync(path.join(dir, 'uuids.txt'), 'utf8').trim().split('\n');
  assert.deepEqual(more, [], 'the page draws one prefix');
  const prefix = `test/${uuid}/`;
  assert.deepEqual(await secretNames(url, prefix), [], "the page's t.after (deleteTokens) left secrets behind");
  // The same look finds a secret that is there, so the empty answer above is not a blind one.
  const { SecretsManagerTokenStore } = require('..');
  const control = new SecretsManagerTokenStore({ prefix, keys: newKeys(), recoveryWindowDays: 0, cacheTtlSeconds: 0 });
  const { OAuthBuilder } = await import('@zohocrm/nodejs-sdk-8.0');
  await control.saveToken(new OAuthBuilder().clientId('1000.C').clientSecret('s').refreshToken('1000.r').build());
  try {
    assert.notDeepEqual(await secretNames(url, prefix), []);
  } finally {
    await control.deleteTokens();
  }
});

test("the README's app (Plug it in) signs in through the SDK and stores the token", async (t) => {
  endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  await zoho.grant('1000.grant...', { client_id: '1000.XXXX', client_secret: '...' }); // the page's client
  const prefix = newPrefix('readme-app');
  const keys = newKeys();
  let app = block('js', '// app.mjs');
  app = replaceOnce(
    app,
    'USDataCenter.PRODUCTION()',
    `new (await import('@zohocrm/nodejs-sdk-8.0')).Environment(${JSON.stringify(zoho.url)}, ${JSON.stringify(zoho.accountsUrl)}, ${JSON.stringify(zoho.url)})`,
  );
  app = replaceOnce(app, "prefix: 'zoho/oauth/'", `prefix: ${JSON.stringify(prefix)}`);
  fs.mkdirSync('/tmp/zoho', { recursive: true }); // the page's resource path, which it says must exist
  const dir = project(['@zohocrm/nodejs-sdk-8.0']);
  fs.writeFileSync(path.join(dir, 'app.mjs'), app);
  const done = await runNode(`await import(${JSON.stringify(path.join(dir, 'app.mjs'))});`, {
    esm: true,
    cwd: dir,
    env: { ZOHO_TOKEN_STORE_KEYS: keys }, // where the page's comment says the keys come from
  });
  assert.equal(done.code, 0, done.stderr);

  const { SecretsManagerTokenStore } = require('..');
  const store = new SecretsManagerTokenStore({ prefix, keys, recoveryWindowDays: 0, cacheTtlSeconds: 0 });
  t.after(() => store.deleteTokens());
  const tokens = await store.getTokens();
  assert.deepEqual(
    tokens.map((token) => [token.getUserSignature()?.getName(), token.getClientId(), Boolean(token.getRefreshToken())]),
    [['alice@example.com:7001', '1000.XXXX', true]],
  );
  assert.deepEqual((await zoho.journal()).exchanges, ['1000.grant...'], 'the grant was exchanged once');
});

test("the README's TypeScript snippet compiles with tsc --strict as an ES module app", async () => {
  const dir = project(['@zohocrm/typescript-sdk-8.0', '@types/node', 'typescript']);
  fs.writeFileSync(path.join(dir, 'app.mts'), block('ts', "import { InitializeBuilder, OAuthBuilder, OAuthToken, TokenStore, USDataCenter } from '@zohocrm/typescript-sdk-8.0';"));
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'ES2020', module: 'node16', moduleResolution: 'node16', types: ['node'] },
      files: ['app.mts'],
    }),
  );
  const tsc = path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
  const done = await run(process.execPath, [tsc, '-p', dir], { cwd: dir });
  assert.equal(done.code, 0, `tsc --strict failed on the README's snippet:\n${done.stdout}${done.stderr}`);
});
