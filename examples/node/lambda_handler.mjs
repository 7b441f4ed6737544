// An AWS Lambda function (nodejs20.x or nodejs22.x, x86_64 or arm64) that calls Zoho CRM through the Zoho
// Node.js SDK, its OAuth tokens kept by zoho-token-store in Secrets Manager instead of a file the function
// cannot write.
//
// Deploy: the layer `node/build-lambda` builds for the function's architecture (dist/lambda/: the store,
// its native addon for that architecture and the Zoho SDK), this file as the function's code, handler
// `lambda_handler.handler`. `node/simulate-lambda` runs it here as Lambda would (read-only filesystem but
// /tmp, the layer under /opt, Lambda's environment) and measures its cold start.
//
// Environment:
//   ZOHO_TOKEN_STORE_KEYRING_SECRET, ZOHO_TOKEN_STORE_KMS_KEY_ID   the keyring secret and the KMS key
//                              that wraps it (`zoho-token-store init-keyring` writes the secret once)
//   ZOHO_TOKEN_STORE_KEYS      else the keyring itself (`zoho-token-store keygen`)
//   ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, ZOHO_REDIRECT_URL   the Zoho API client
//   ZOHO_GRANT_TOKEN           the first sign-in's grant: exchanged once for the whole fleet; later cold
//                              starts find the saved token by it instead of exchanging it again
//   ZOHO_TOKEN_STORE_PREFIX    where the tokens live (default zoho/oauth/)
//   ZOHO_API_URL, ZOHO_ACCOUNTS_URL   another Zoho than US production (the simulation's mock Zoho)
//
// The function's role needs the IAM policy in node/README.md ("Lambda and containers").

import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

import * as sdk from '@zohocrm/nodejs-sdk-8.0';
import { SecretsManagerTokenStore } from 'zoho-token-store';

const began = performance.now();

// Once per execution environment (the cold start), outside the handler: the store, shared by every
// invocation this environment serves. Its defaults are what a fleet of functions needs: a 30 s cache makes
// the SDK's reads before each request free, a token about to expire is refreshed once for every function
// and process that uses it, and a fleet of cold starts with one grant exchanges it once.
// The keyring comes from the environment: the keyring secret ZOHO_TOKEN_STORE_KEYRING_SECRET names
// (KMS-wrapped with ZOHO_TOKEN_STORE_KMS_KEY_ID), else ZOHO_TOKEN_STORE_KEYS.
const store = new SecretsManagerTokenStore({ prefix: process.env.ZOHO_TOKEN_STORE_PREFIX || 'zoho/oauth/' });
const stored = performance.now();

// The SDK writes field metadata under its resource path: on Lambda only /tmp is writable.
const RESOURCE_PATH = '/tmp/zoho';
fs.mkdirSync(RESOURCE_PATH, { recursive: true });

const environment = process.env.ZOHO_API_URL
  ? new sdk.Environment(process.env.ZOHO_API_URL, process.env.ZOHO_ACCOUNTS_URL, process.env.ZOHO_API_URL)
  : sdk.USDataCenter.PRODUCTION();

// Finds the saved token (or exchanges the grant, the first time anywhere). A top-level await: Lambda
// runs it in the init phase, before the first invocation.
const token = new sdk.OAuthBuilder()
  .clientId(process.env.ZOHO_CLIENT_ID)
  .clientSecret(process.env.ZOHO_CLIENT_SECRET)
  .grantToken(process.env.ZOHO_GRANT_TOKEN)
  .redirectURL(process.env.ZOHO_REDIRECT_URL)
  .build();
const builder = await new sdk.InitializeBuilder();
await builder.environment(environment).token(token).store(store).resourcePath(RESOURCE_PATH).initialize();
const initialized = performance.now();

// One line for the logs (CloudWatch): what the cold start cost past the imports, in milliseconds.
console.log(
  JSON.stringify({
    cold_start_ms: {
      store: Math.round((stored - began) * 10) / 10,
      initialize: Math.round((initialized - stored) * 10) / 10,
    },
  }),
);

/** One CRM call with the stored token: the organization's name. */
export async function handler(event, context) {
  const response = await new sdk.Org.OrgOperations().getOrganization();
  if (response.getStatusCode() !== 200) return { statusCode: response.getStatusCode() };
  const [org] = response.getObject().getOrg();
  return { statusCode: 200, company: org.getCompanyName() };
}
