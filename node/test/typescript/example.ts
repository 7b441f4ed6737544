// A TypeScript app on the Zoho TypeScript SDK with this store, as the README shows it; `tsc --strict`
// checks it in test/typescript.test.js (it is type-checked, not run: running it needs Zoho).
import {
  InitializeBuilder,
  OAuthBuilder,
  OAuthToken,
  SDKException,
  TokenStore,
  USDataCenter,
  UserSignature,
} from '@zohocrm/typescript-sdk-8.0';
import {
  SecretsManagerTokenStore,
  TokenStoreError,
  type SecretsManagerTokenStoreOptions,
} from 'zoho-token-store';

const options: SecretsManagerTokenStoreOptions = {
  prefix: 'zoho/oauth/',
  keyringSecret: 'zoho/keyring',
  region: 'us-east-1',
  refreshAheadSeconds: 60,
};
const store = new SecretsManagerTokenStore(options);

// The store is the TypeScript SDK's TokenStore, as InitializeBuilder.store() takes it.
const asSdkStore: TokenStore.TokenStore = store;

export async function signIn(grantToken: string): Promise<string | null> {
  const token = new OAuthBuilder()
    .clientId('1000.CLIENTID')
    .clientSecret('client-secret')
    .grantToken(grantToken)
    .redirectURL('https://app.example.com/callback')
    .build();
  await new InitializeBuilder()
    .environment(USDataCenter.PRODUCTION())
    .token(token)
    .store(store)
    .initialize();
  return token.getId();
}

export async function operate(id: string): Promise<number> {
  try {
    const found = await store.findTokenById<OAuthToken>(id);
    const expiresIn: string | null = found.getExpiresIn();
    const user = found.getUserSignature()?.getName() ?? 'unknown';
    const query = new OAuthBuilder().userSignature(new UserSignature(user)).build();
    const same = await store.findToken(query);
    if (same !== null) await store.saveToken(same);
    const all = await asSdkStore.getTokens();
    await store.deleteToken(id);
    return (all ?? []).length + (expiresIn === null ? 0 : 1) + (store.calls()['GetSecretValue'] ?? 0);
  } catch (error) {
    if (error instanceof TokenStoreError) {
      const kind: string = error.kind;
      const retryable: boolean = error.retryable;
      throw new Error(`${kind} (${retryable ? 'retry later' : 'fix it'}): ${error.message}`);
    }
    if (error instanceof SDKException) throw error;
    throw error;
  }
}

// What the types refuse (tsc fails if either line compiles): a misspelt option, a number as a string.
// @ts-expect-error: no option `prefx`
export const misspelt = new SecretsManagerTokenStore({ prefx: 'zoho/oauth/' });
// @ts-expect-error: cacheTtlSeconds takes a number
export const stringly = new SecretsManagerTokenStore({ cacheTtlSeconds: '30' });
