// The same store from an ES module app (the package's `import` entry point and index.d.mts).
import { TokenStore } from '@zohocrm/typescript-sdk-8.0';
import { SecretsManagerTokenStore, TokenStoreError, TOKEN_STORE } from 'zoho-token-store';

const store: TokenStore.TokenStore = new SecretsManagerTokenStore({ prefix: 'zoho/oauth/' });

export async function clear(): Promise<string> {
  try {
    await store.deleteTokens();
    return 'cleared';
  } catch (error) {
    if (error instanceof TokenStoreError && error.code === TOKEN_STORE) return error.kind;
    throw error;
  }
}
