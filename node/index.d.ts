// Types of zoho-token-store: Zoho OAuth tokens encrypted in AWS Secrets Manager, as a token store of the
// Zoho CRM Node.js SDK (@zohocrm/nodejs-sdk-8.0) and TypeScript SDK (@zohocrm/typescript-sdk-8.0).
// Written by hand, without importing either SDK (both are optional): the store is structurally the
// TypeScript SDK's `TokenStore`, which `tsc --strict` checks in the package's tests.

/** A Zoho user, named by email (the SDKs' `UserSignature`). */
export interface ZohoUserSignature {
  getName(): string;
}

/** What the store takes as a token: any SDK token (it reads an `OAuthToken`'s getters). */
export interface ZohoToken {
  getId(): string | null;
}

/**
 * A Zoho OAuth token as the store reads and fills it: the SDKs' `OAuthToken` (the installed SDK's
 * class for the tokens the store makes; this package's own without an SDK). `getExpiresIn()` is the
 * access token's expiry in epoch milliseconds, as a string.
 */
export interface ZohoOAuthToken extends ZohoToken {
  setId(id: string | null): void;
  getUserSignature(): ZohoUserSignature | null;
  setUserSignature(userSignature: ZohoUserSignature | null): void;
  getClientId(): string | null;
  setClientId(clientId: string | null): void;
  getClientSecret(): string | null;
  setClientSecret(clientSecret: string | null): void;
  getGrantToken(): string | null;
  setGrantToken(grantToken: string | null): void;
  getRefreshToken(): string | null;
  setRefreshToken(refreshToken: string | null): void;
  getAccessToken(): string | null;
  setAccessToken(accessToken: string | null): void;
  getExpiresIn(): string | null;
  setExpiresIn(expiresIn: string | null): void;
  getRedirectURL(): string | null;
  setRedirectURL(redirectURL: string | null): void;
  getAPIDomain(): string | null;
  setAPIDomain(apiDomain: string | null): void;
}

/** The options of `new SecretsManagerTokenStore(options)`; each left out takes its default. */
export interface SecretsManagerTokenStoreOptions {
  /** The prefix of every secret name (default `'zoho/oauth/'`); stores with different prefixes never see each other's tokens. */
  prefix?: string;
  /** The keyring's text (what `zoho-token-store keygen` prints); default: the `ZOHO_TOKEN_STORE_KEYS` environment variable, unless `keyringSecret` is given. */
  keys?: string;
  /** The name or ARN of a secret that holds the keyring (`zoho-token-store init-keyring`), read and re-read as keys rotate. */
  keyringSecret?: string;
  /** The KMS key that wraps the keys in `keyringSecret`. */
  kmsKeyId?: string;
  /** Read a KMS keyring written before keyrings were bound to their secret's name (during the upgrade, `zoho-token-store rebind-keyring`). */
  allowUnboundKeyring?: boolean;
  /** The AWS endpoint, e.g. LocalStack's `'http://127.0.0.1:4566'`; default `AWS_ENDPOINT_URL`, else AWS. */
  endpointUrl?: string;
  /** The AWS region; default the standard chain (`AWS_REGION`, the profile, ...). */
  region?: string;
  /**
   * Keep tokens read in an in-process cache this long (default 30; the SDK reads the store before every
   * API request, and each uncached read is a `GetSecretValue`); 0 for no cache. Other processes'
   * changes show within it; a token due for refresh, a save and the refresh lease read past it.
   */
  cacheTtlSeconds?: number;
  /** Days a deleted token can still be restored by an operator (7 to 30, default 7), or 0 to delete at once. */
  recoveryWindowDays?: number;
  /**
   * Hand the SDK tokens with at least this long to live (default 60; more than the SDK's own 5 s): a
   * found token closer to expiry is refreshed first, at the accounts server of the SDK's environment,
   * by one process of the fleet while the others wait for it; a grant nothing is stored for is
   * exchanged once for the fleet the same way. 0 leaves refreshing to the SDK in every process (a
   * single-process app).
   */
  refreshAheadSeconds?: number;
}

/**
 * Zoho OAuth tokens, each encrypted in the app (AES-256-GCM) and kept as one AWS Secrets Manager
 * secret. A `TokenStore` of the Zoho Node.js SDK (its subclass when the SDK is installed, so
 * `new InitializeBuilder().store(store)` takes it) and of the TypeScript SDK. Every method returns a
 * Promise; failures reject with a `TokenStoreError` (argument types: a `TypeError`).
 *
 * AWS credentials come from the standard chain, as for the AWS CLI and SDKs.
 *
 * @throws {TypeError} an option of the wrong type, or an unknown option (named)
 * @throws {TokenStoreError} an option's value out of range, a malformed region or endpoint, or a bad
 *   keyring (kind `InvalidConfig`; the message names the option and what to give instead)
 */
export declare class SecretsManagerTokenStore {
  constructor(options?: SecretsManagerTokenStoreOptions);
  /** The prefix of every secret name this store uses. */
  readonly prefix: string;
  /**
   * Fills the fields `token` leaves null from the stored token it matches (by user name; else by
   * access token when it has no client credentials; else by grant, then refresh token) and returns
   * `token` itself; null when nothing matches. Anything but an OAuthToken is returned as given, as the
   * SDK's FileStore does.
   */
  findToken<T>(token: T): Promise<T | null>;
  /**
   * The token with this id, as a new OAuthToken of the SDK the store is plugged into (name its class as
   * `T`: `store.findTokenById<OAuthToken>(id)`); rejects (kind `NotFound`) when no token has it.
   */
  findTokenById<T = ZohoOAuthToken>(id: string | number): Promise<T>;
  /**
   * Saves `token`: over the stored token with its id, or the one it matches as in `findToken`, whose
   * values first fill the fields `token` leaves null; else as a new token. Sets the id on `token`.
   * Deletes stick: a token whose id names a token deleted since is not written again (kind
   * `TokenDeleted`).
   *
   * Typed as loosely as the SDKs' `TokenStore` types it (their `Token`, whose only method is `getId`):
   * a narrower parameter would make the store unassignable to it under `strictFunctionTypes`. Anything
   * but an OAuthToken rejects with a TypeError at run time.
   */
  saveToken(token: ZohoToken): Promise<void>;
  /** Deletes the token with this id; rejects (kind `NotFound`) when no token has it. */
  deleteToken(id: string | number): Promise<void>;
  /** Every token under the prefix, as new OAuthTokens (of the SDK's class `T`, as in `findTokenById`). */
  getTokens<T = ZohoOAuthToken>(): Promise<Array<T>>;
  /** Deletes every token under the prefix, and nothing else. */
  deleteTokens(): Promise<void>;
  /** The AWS calls this store has made, by operation (for budgets and benchmarks). */
  calls(): Record<string, number>;
  /** Sets the call counts back to zero. */
  resetCalls(): void;
  toJSON(): { prefix: string };
}

/**
 * A store operation failed: an `SDKException` of the Zoho SDK when one is installed (code
 * `'TOKEN_STORE'`, as the SDK's own stores throw), else an `Error`. Its message says what failed and
 * how to fix it, in one line, and never holds a secret.
 */
export declare class TokenStoreError extends Error {
  constructor(kind: string, message: string, retryable?: boolean);
  /** Always `'TOKEN_STORE'`. */
  code: string;
  /**
   * The failure class: `'Backend'`, `'Throttled'`, `'KeySource'`, `'Decrypt'`, `'InvalidToken'`,
   * `'InvalidConfig'`, `'NotFound'`, `'TokenDeleted'`, `'TokenRevoked'`, ...
   */
  kind: string;
  /** Whether the same call may succeed later (a throttled or transient AWS failure, Zoho unavailable). */
  retryable: boolean;
  details: null;
}

/** The SDKs' error code for token store failures. */
export declare const TOKEN_STORE: 'TOKEN_STORE';

/** The OAuthToken class apps build tokens with: the installed SDK's, else this package's own. */
export declare const OAuthToken: new () => ZohoOAuthToken;
/** The UserSignature class: the installed SDK's, else this package's own. */
export declare const UserSignature: new (name: string) => ZohoUserSignature;

/** The package's version (the Rust crate's). */
export declare const version: string;

/**
 * Resolves once the store's classes are the Zoho Node SDK's (at once on Node 20.19+ and 22.12+, which
 * require() ES modules); on an older Node a CommonJS app awaits it before handing the store to the
 * SDK's `InitializeBuilder`. Rejects with the SDK's own error when the installed SDK cannot be loaded.
 */
export declare const ready: Promise<void>;
