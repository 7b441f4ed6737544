// One process of a Zoho Node SDK app on this store, for the fleet tests (fleet-tools.js starts it): the
// store on its defaults, `new SecretsManagerTokenStore({ prefix })` with the keys and the AWS endpoint
// from the environment (ZOHO_TOKEN_STORE_KEYS, AWS_ENDPOINT_URL), as the README's setup has it; the SDK
// configured with a grant or a refresh token, initialized on the first request.
//
// Usage: node node-sdk-worker.mjs ZOHO_URL PREFIX RESOURCE_DIR grant|refresh VALUE
// It prints `ready`, then answers each line of stdin with one line (fleet-tools.js has the commands).

import readline from 'node:readline';

import * as sdk from '@zohocrm/nodejs-sdk-8.0';
import { SecretsManagerTokenStore } from 'zoho-token-store';

const [zohoUrl, prefix, resources, credential, value] = process.argv.slice(2);
if (!value) {
  // Not started by fleet-tools.js (a test runner globbing test/): nothing to do.
  console.error('usage: node-sdk-worker.mjs ZOHO_URL PREFIX RESOURCE_DIR grant|refresh VALUE');
  process.exit(0);
}

const store = new SecretsManagerTokenStore({ prefix }); // the README's line: every option at its default
let builder = new sdk.OAuthBuilder().clientId('1000.CLIENT').clientSecret('client-secret').redirectURL('https://app.example.com/cb');
builder = credential === 'grant' ? builder.grantToken(value) : builder.refreshToken(value);
const token = builder.build();
const environment = new sdk.Environment(zohoUrl, `${zohoUrl}/oauth/v2/token`, zohoUrl);
let started = false;

/** A token of the SDK with these fields, the others null. */
function tokenOf(fields) {
  const t = Reflect.construct(sdk.OAuthToken, []);
  for (const name of ['Id', 'ClientId', 'ClientSecret', 'GrantToken', 'RefreshToken', 'AccessToken', 'ExpiresIn', 'RedirectURL', 'APIDomain']) {
    t[`set${name}`](fields[name] ?? null);
  }
  t.setUserSignature(fields.user ? new sdk.UserSignature(fields.user) : null);
  return t;
}

const commands = {
  /** A request the app serves: one CRM call (the SDK finds, refreshes and saves its token). */
  async serve() {
    if (!started) {
      const init = await new sdk.InitializeBuilder();
      await init.environment(environment).token(token).store(store).resourcePath(resources).initialize();
      started = true;
    }
    const response = await new sdk.Org.OrgOperations().getOrganization();
    return String(response.getStatusCode());
  },
  /** The stored token of a user, as another process saved it. */
  async find(user) {
    const found = await store.findToken(tokenOf({ user }));
    return found ? `found ${found.getId()} ${found.getRefreshToken()}` : 'missing';
  },
  /** A token for a user, saved by this process. */
  async save(user, refreshToken, expiresIn) {
    const t = tokenOf({ user, ClientId: '1000.CLIENT', ClientSecret: 'client-secret', RefreshToken: refreshToken, AccessToken: `access-of-${refreshToken}`, ExpiresIn: expiresIn });
    await store.saveToken(t);
    return `saved ${t.getId()}`;
  },
  /** The SDK's own token saved again with a new access token, as the SDK saves after its refresh. */
  async resave() {
    token.setAccessToken(`access-after-delete-${process.pid}`);
    await store.saveToken(token);
    return `saved ${token.getId()}`;
  },
  /** The id the SDK's own token carries (merged in by the store). */
  async id() {
    return `id ${token.getId()}`;
  },
};

console.log('ready');
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [name, ...args] = line.trim().split(' ');
  let answer;
  try {
    answer = await commands[name](...args);
  } catch (error) {
    const kind = error.kind ?? error.code ?? error.name;
    answer = `error ${kind} ${String(error.message).split('\n')[0]}`;
  }
  console.log(answer);
}
