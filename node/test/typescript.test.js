'use strict';
// The TypeScript SDK (@zohocrm/typescript-sdk-8.0): `tsc --strict` accepts the store as its
// `TokenStore` (test/typescript/example.ts, a CommonJS app, and example-esm.mts, an ES module app), and
// the SDK's own flow runs with it: a sign-in, a CRM call, and the store's tokens made as the TypeScript
// SDK's OAuthTokens (the Node SDK is installed too, and loaded by the package).

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');

const { PACKAGE, endpoint, newKeys, newPrefix, startZoho, runNode } = require('./helpers.js');

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
