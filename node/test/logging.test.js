'use strict';
// The store's log lines in Node.js: its warnings reach standard error by default (an operator sees
// that the fleet's sign-in failed although the SDK went on), one line each, with no secret in them;
// ZOHO_TOKEN_STORE_LOG filters them (`off`: none), and a malformed filter is named, not a silence.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');

const { endpoint, newKeys, newPrefix, startZoho, runNode } = require('./helpers.js');

// A sign-in with a client Zoho does not know: the store's exchange for the fleet is refused
// (invalid_client), which it logs, then hands over to the SDK, whose own exchange is refused too.
const CLIENT_SECRET = 'client-secret-never-logged';
const GRANT = '1000.grant-never-logged';

async function signInWithUnknownClient(t, env) {
  endpoint();
  const zoho = await startZoho();
  t.after(() => zoho.close());
  const keys = newKeys();
  const resourcePath = fs.mkdtempSync(path.join(os.tmpdir(), 'zts-node-log-'));
  const done = await runNode(
    `
    import * as sdk from '@zohocrm/nodejs-sdk-8.0';
    import { SecretsManagerTokenStore } from 'zoho-token-store';
    const store = new SecretsManagerTokenStore({ prefix: ${JSON.stringify(newPrefix('logging'))}, keys: ${JSON.stringify(keys)}, recoveryWindowDays: 0 });
    const token = new sdk.OAuthBuilder().clientId('1000.UNKNOWN').clientSecret(${JSON.stringify(CLIENT_SECRET)})
      .grantToken(${JSON.stringify(GRANT)}).redirectURL('https://app.example.com/callback').build();
    const environment = new sdk.Environment(${JSON.stringify(zoho.url)}, ${JSON.stringify(zoho.accountsUrl)}, ${JSON.stringify(zoho.url)});
    const builder = await new sdk.InitializeBuilder();
    try {
      await builder.environment(environment).token(token).store(store).resourcePath(${JSON.stringify(resourcePath)}).initialize();
      console.log('signed in');
    } catch (error) {
      console.log('the SDK reported', error.code, error.message);
    }
    `,
    { esm: true, env },
  );
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout, /the SDK reported .*invalid_client/);
  const stats = await zoho.stats();
  assert.equal(stats.invalid_client, 2, 'the store tried once for the fleet, then the SDK once');
  for (const secret of [CLIENT_SECRET, GRANT, ...keys.split(/[=,]/).filter((part) => part.length > 20)]) {
    assert.ok(!done.stderr.includes(secret), 'a secret in the log');
  }
  return done.stderr.split('\n').filter((line) => line.includes('zoho_token_store'));
}

const WARNING = /^ ?WARN zoho_token_store::refresh: exchanging the grant for the fleet failed; the SDK will try error=.*invalid_client/;

test('by default the store warns on standard error, one line, no secret', async (t) => {
  // Unset, or set to nothing: the default.
  for (const value of [undefined, '']) {
    const lines = await signInWithUnknownClient(t, { ZOHO_TOKEN_STORE_LOG: value });
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], WARNING);
  }
});

test('ZOHO_TOKEN_STORE_LOG=off silences it; a malformed filter is named and the warnings stay', async (t) => {
  assert.deepEqual(await signInWithUnknownClient(t, { ZOHO_TOKEN_STORE_LOG: 'off' }), []);
  const lines = await signInWithUnknownClient(t, { ZOHO_TOKEN_STORE_LOG: 'zoho_token_store=loud' });
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /ZOHO_TOKEN_STORE_LOG is not a log filter .*e\.g\. ZOHO_TOKEN_STORE_LOG=info, or off/);
  assert.match(lines[1], WARNING);
});
