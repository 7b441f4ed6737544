'use strict';
// What node/test-arm64 and node/test-musl run on the platform they check, in an app folder where npm
// installed the package (and only its platform package): loads `zoho-token-store` as the app would, shows
// which native addon napi's loader picked, saves a token to LocalStack and looks it up by its user and by
// its id, removes it, and runs the package's command (`zoho-token-store --version`, in this process).
// Prints one line of JSON, then the command's version line; exits non-zero with the reason when anything
// differs.
//
// Usage: node test-lookup.js APP_DIR PLATFORM   (AWS_ENDPOINT_URL names LocalStack)

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { createRequire } = require('node:module');
const path = require('node:path');

const [app, platform] = process.argv.slice(2);
const appRequire = createRequire(path.join(path.resolve(app), 'app.js'));

(async () => {
  const { SecretsManagerTokenStore, OAuthToken, UserSignature, version } = appRequire('zoho-token-store');
  // napi's loader requires the addon like a module: the one it picked is in require's cache.
  const addons = Object.keys(require.cache).filter((file) => file.endsWith('.node'));
  assert.deepEqual(
    addons.map((file) => path.basename(file)),
    [`zoho-token-store.${platform}.node`],
    `napi's loader picked ${addons.join(', ') || 'no addon'} for ${platform}`,
  );
  assert.ok(
    addons[0].includes(`${path.sep}node_modules${path.sep}zoho-token-store-${platform}${path.sep}`),
    `the addon comes from the platform package npm installed: ${addons[0]}`,
  );

  const key = () => crypto.randomBytes(32).toString('base64');
  const store = new SecretsManagerTokenStore({
    prefix: `zts-node/${platform}/${process.hrtime.bigint().toString(16)}/`,
    keys: `index=${key()},k1=${key()}`,
    recoveryWindowDays: 0,
    cacheTtlSeconds: 0,
  });
  const token = new OAuthToken();
  token.setUserSignature(new UserSignature(`${platform}@example.com`));
  token.setClientId('1000.CLIENT');
  token.setClientSecret('client-secret');
  token.setRefreshToken(`1000.refresh-${platform}`);
  await store.saveToken(token);

  const query = new OAuthToken();
  query.setUserSignature(new UserSignature(`${platform}@example.com`));
  query.setClientId('1000.CLIENT');
  const found = await store.findToken(query);
  assert.ok(found, 'findToken found the token saved for the user');
  assert.equal(found.getRefreshToken(), `1000.refresh-${platform}`);
  const byId = await store.findTokenById(token.getId());
  assert.equal(byId.getRefreshToken(), `1000.refresh-${platform}`);
  await store.deleteTokens();
  assert.deepEqual(await store.getTokens(), []);

  console.log(
    JSON.stringify({
      platform,
      node: process.version,
      arch: process.arch,
      glibc: process.report.getReport().header.glibcVersionRuntime || null,
      addon: path.relative(path.resolve(app), addons[0]),
      version,
      found: found.getId() === token.getId() && byId.getId() === token.getId(),
    }),
  );

  // Last, the package's command through the same addon, in this process (under qemu-user nothing may
  // exec another foreign binary): it prints its version line and ends the process, as the command does.
  const native = appRequire(path.join(path.dirname(appRequire.resolve('zoho-token-store')), 'native.js'));
  process.exitCode = native.cli(['zoho-token-store', '--version']);
})().catch((error) => {
  console.error(`${platform}: ${error.stack || error}`);
  process.exit(1);
});
