// The whole flow of a Node.js app that uses zoho-token-store with the Zoho CRM Node.js SDK, against
// LocalStack and a mock Zoho as strict as Zoho (the repository's zoho-mock/: a grant works once, within 3
// minutes; every CRM call needs a live access token), so you can see it before you touch Zoho. Run it with
// `examples/node/run`.
//
// 1. make a keyring with the package's command (`npx zoho-token-store keygen`), unless
//    ZOHO_TOKEN_STORE_KEYS holds one;
// 2. sign in: the SDK's InitializeBuilder takes the store; the grant token is exchanged (once for the
//    fleet), the SDK asks Zoho who the user is, and the store saves the token encrypted in Secrets Manager;
// 3. one CRM call with the stored token;
// 4. a second process, started as the first was (with the same grant), finds the saved token instead of
//    exchanging the grant again (Zoho accepts a grant once);
// 5. what is in the store, as the operator tool lists it (`npx zoho-token-store list`): no secret shown.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import * as sdk from '@zohocrm/nodejs-sdk-8.0';
import { SecretsManagerTokenStore } from 'zoho-token-store';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const GRANT = '1000.grant-from-the-api-console';
const CLIENT_ID = '1000.EXAMPLE';
const CLIENT_SECRET = 'example-secret';

// LocalStack, for the store and the operator tool (which read the standard AWS variables).
process.env.AWS_ENDPOINT_URL ||= 'http://127.0.0.1:4566';
process.env.AWS_REGION ||= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ||= 'test'; // LocalStack takes any credentials
process.env.AWS_SECRET_ACCESS_KEY ||= 'test';

/** What an app does at start: a store, and the SDK initialized with it. */
async function signIn(prefix, zoho, resourcePath) {
  const store = new SecretsManagerTokenStore({ prefix }); // the README's line: the defaults are the fleet's
  const token = new sdk.OAuthBuilder()
    .clientId(CLIENT_ID)
    .clientSecret(CLIENT_SECRET)
    .grantToken(GRANT)
    .redirectURL('https://app.example.com/callback')
    .build();
  const environment = new sdk.Environment(zoho.url, zoho.accountsUrl, zoho.url);
  const builder = await new sdk.InitializeBuilder();
  await builder.environment(environment).token(token).store(store).resourcePath(resourcePath).initialize();
  return store;
}

async function companyName() {
  const response = await new sdk.Org.OrgOperations().getOrganization();
  if (response.getStatusCode() !== 200) throw new Error(`the CRM answered HTTP ${response.getStatusCode()}`);
  return response.getObject().getOrg()[0].getCompanyName();
}

/** The strict mock Zoho as a child process: the accounts server and the CRM's API domain at once. */
async function startZoho() {
  const child = spawn(
    path.join(ROOT, 'zoho-mock', 'strict-zoho'),
    ['--port', '0', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--email', 'ada@example.com',
      '--company', 'Analytical Engines Ltd'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`zoho-mock/strict-zoho exited (${code}) before it listened`)));
    readline.createInterface({ input: child.stdout }).once('line', (first) => resolve([first]));
  });
  const url = /listening on (\S+)/.exec(line)[1];
  const control = async (route, body) => {
    const response = await fetch(url + route, body ? { method: 'POST', body: JSON.stringify(body) } : {});
    return response.json();
  };
  return {
    url,
    accountsUrl: `${url}/oauth/v2/token`,
    grant: (code) => control('/_zoho/grant', { code }),
    stats: () => control('/_zoho/stats'),
    stop: () => child.kill(),
  };
}

/** The operator tool the package installs, `npx zoho-token-store ...`; its output. */
function operatorTool(...args) {
  return execFileSync('npx', ['--no-install', 'zoho-token-store', ...args], { cwd: HERE, encoding: 'utf8' });
}

/** Step 4, in its own process: sign in as the first did, one CRM call; prints what it saw as JSON. */
async function secondProcess() {
  const [prefix, url, accountsUrl, resourcePath] = process.argv.slice(3);
  const store = await signIn(prefix, { url, accountsUrl }, resourcePath);
  console.log(JSON.stringify({ company: await companyName(), calls: store.calls() }));
}

async function main() {
  if (process.env.ZOHO_TOKEN_STORE_KEYS) {
    console.log('1. keyring: ZOHO_TOKEN_STORE_KEYS, as given');
  } else {
    console.log('1. keyring: npx zoho-token-store keygen (keep it in your secret manager; here, an environment variable)');
    process.env.ZOHO_TOKEN_STORE_KEYS = operatorTool('keygen').trim();
  }
  const prefix = `example-node/${process.pid}/`; // a run of its own: nothing from an earlier run is found
  const zoho = await startZoho();
  try {
    await zoho.grant(GRANT); // what the API console hands you: a grant token, good once, for 3 minutes
    const resourcePath = fs.mkdtempSync(path.join(os.tmpdir(), 'zoho-sdk-')); // the SDK writes field metadata here
    const store = await signIn(prefix, zoho, resourcePath);
    const [token] = await store.getTokens();
    console.log(
      `2. signed in as ${token.getUserSignature().getName()} (the SDK's user name: email:zgid); token id ` +
        `${token.getId()}, grant exchanges at Zoho: ${(await zoho.stats()).exchanges}`,
    );

    console.log(`3. CRM call with the stored token: organization ${JSON.stringify(await companyName())}`);

    const second = JSON.parse(
      execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--second', prefix, zoho.url, zoho.accountsUrl, resourcePath], {
        encoding: 'utf8',
      }),
    );
    let seen = await zoho.stats();
    console.log(
      `4. a second process (a new store and InitializeBuilder) found the token: grant exchanges still ` +
        `${seen.exchanges}, refused grants ${seen.refused_exchanges}; its CRM call: ${JSON.stringify(second.company)}; ` +
        `its AWS calls: ${JSON.stringify(second.calls)}`,
    );

    const listed = operatorTool('list', '--prefix', prefix);
    console.log(`5. npx zoho-token-store list --prefix ${prefix}:\n${listed.trimEnd().replace(/^/gm, '   ')}`);
    if (listed.includes(token.getRefreshToken()) || listed.includes(token.getAccessToken())) {
      throw new Error('the operator tool showed a token');
    }
    await store.deleteTokens();
    console.log('   deleted again (deleteTokens); the example is done');

    seen = await zoho.stats();
    if (seen.exchanges !== 1 || seen.refused_exchanges) throw new Error('the grant should have been exchanged exactly once');
    if (seen.invalid_token) throw new Error(`${seen.invalid_token} CRM calls carried an access token Zoho would refuse`);
  } finally {
    zoho.stop();
  }
}

if (process.argv[2] === '--second') await secondProcess();
else await main();
