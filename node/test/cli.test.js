'use strict';
// The operator tool from npm: `npx zoho-token-store ...` in an app that installed the package runs the
// crate's own command-line tool (through the native module), which sees what the store saved.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const test = require('node:test');
const { promisify } = require('node:util');

const { OAuthToken, UserSignature, version } = require('..');
const { appWithPackage, endpoint, makeStore } = require('./helpers.js');

const run = promisify(execFile);

test('npx zoho-token-store runs the crate\'s tool: its version, and the tokens the store saved', async () => {
  endpoint();
  const app = await appWithPackage();
  const npx = (args, env = {}) =>
    run('npx', ['--no-install', 'zoho-token-store', ...args], { cwd: app, env: { ...process.env, ...env } });

  const shown = await npx(['--version']);
  assert.equal(shown.stdout.trim(), `zoho-token-store ${version}`);
  // The same tool as the crate's binary: its version and its whole help, word for word.
  const cli = process.env.ZOHO_TOKEN_STORE_CLI;
  assert.ok(cli, 'ZOHO_TOKEN_STORE_CLI names the crate\'s zoho-token-store binary (node/run-tests and cargo test set it)');
  for (const args of [['--version'], ['--help'], ['import', '--help']]) {
    const [ours, crate] = await Promise.all([npx(args), run(cli, args)]);
    assert.equal(ours.stdout, crate.stdout, `zoho-token-store ${args.join(' ')}: the npm command and the crate's binary differ`);
  }

  const keys = (await npx(['keygen'])).stdout.trim();
  assert.match(keys, /^index=[A-Za-z0-9+/=]+,k1=[A-Za-z0-9+/=]+$/);
  const store = makeStore('cli', { keys });
  const token = Reflect.construct(OAuthToken, []);
  token.setUserSignature(new UserSignature('cli@example.com'));
  token.setClientId('1000.CLIENT');
  token.setClientSecret('client-secret');
  token.setRefreshToken('1000.refresh-cli');
  await store.saveToken(token);

  const env = { ZOHO_TOKEN_STORE_PREFIX: store.prefix, ZOHO_TOKEN_STORE_KEYS: keys };
  const listed = JSON.parse((await npx(['--json', 'list'], env)).stdout);
  const rows = Array.isArray(listed) ? listed : listed.tokens;
  assert.equal(rows.length, 1, JSON.stringify(listed));
  assert.equal(rows[0].id, token.getId());
  const found = await npx(['find', '--user', 'cli@example.com'], env);
  assert.match(found.stdout, new RegExp(token.getId()));
  assert.doesNotMatch(found.stdout, /1000\.refresh-cli/, 'secrets redacted');

  await assert.rejects(npx(['find', '--user', 'nobody@example.com'], env), (error) => error.code === 3);
});
