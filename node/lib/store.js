'use strict';
// `SecretsManagerTokenStore`: the Zoho SDKs' `TokenStore` over the native store. Every rule (options'
// values, lookups, merge-and-save, deletes that stick, refreshing ahead once for the fleet, unknown ids)
// is the Rust crate's; this file turns the SDK's tokens into plain objects and back, finds the SDK
// environment's accounts URL, and turns failures into `TokenStoreError`s.

const util = require('node:util');

const native = require('../native.js');
const sdk = require('./sdk.js');
const standalone = require('./standalone.js');
const { fromNative } = require('./errors.js');
const { nativeOptions, describe } = require('./options.js');
const { isOAuthToken, toFields, fill, newToken } = require('./tokens.js');

/** The token classes of the Node SDK, the TypeScript SDK, or this package (see `family`). */
function familyOf(exports) {
  return exports ? { OAuthToken: exports.OAuthToken, UserSignature: exports.UserSignature } : null;
}

/** Runs a native call, its failure as a `TokenStoreError`. */
async function settle(call) {
  try {
    return await call();
  } catch (error) {
    throw fromNative(error);
  }
}

/**
 * The id argument of `method`, checked: a string, or a finite number taken as its text (as a token's
 * own `getId()` may hold one: FileStore compares ids with `==`, and saveToken takes either).
 */
function checkId(method, id) {
  if (Number.isFinite(id)) return String(id);
  if (typeof id !== 'string') {
    throw new TypeError(
      `${method}(id): id takes a string (the token's id, as getId() of a found or saved token returns it) or a number, not ${describe(id)}`,
    );
  }
  return id;
}

/** The initializers of the SDKs loaded in this process that have one. */
function initializers() {
  const found = [];
  for (const exports of [sdk.node(), sdk.loadedTypescriptSdk()]) {
    const current = exports && exports.Initializer && exports.Initializer.initializer;
    if (current) found.push({ exports, initializer: current });
  }
  return found;
}

/**
 * Zoho OAuth tokens, each encrypted in the app (AES-256-GCM) and kept as one AWS Secrets Manager
 * secret: a `TokenStore` of the Zoho Node.js SDK (its subclass, when the SDK is installed) and of the
 * TypeScript SDK. See index.d.ts for the options and each method.
 */
class SecretsManagerTokenStore extends sdk.TokenStoreBase {
  /** The native store (never shown: see `[util.inspect.custom]`). */
  #native;
  /** The SDK of the last token this store was given, for the tokens it makes. */
  #lastFamily = null;

  constructor(options) {
    super();
    const checked = nativeOptions(options);
    try {
      this.#native = new native.NativeStore(checked);
    } catch (error) {
      throw fromNative(error);
    }
  }

  /** The prefix of every secret name this store uses. */
  get prefix() {
    return this.#native.prefix;
  }

  async findToken(token) {
    if (!isOAuthToken(token)) return token;
    const family = this.#remember(token);
    const query = toFields(token, 'findToken(token)');
    const stored = await settle(() => this.#native.findToken(query, this.#accountsUrl()));
    return stored == null ? null : fill(token, stored, family);
  }

  async findTokenById(id) {
    const checked = checkId('findTokenById', id);
    const stored = await settle(() => this.#native.findTokenById(checked, this.#accountsUrl()));
    return newToken(stored, this.#family());
  }

  async saveToken(token) {
    if (!isOAuthToken(token)) {
      // The SDK's FileStore returns such a value unsaved; a save that silently does nothing loses it.
      throw new TypeError(`saveToken(token): token takes an OAuthToken of the Zoho SDK, not ${describe(token)}`);
    }
    const family = this.#remember(token);
    const fields = toFields(token, 'saveToken(token)');
    const saved = await settle(() => this.#native.saveToken(fields));
    fill(token, saved, family);
  }

  async deleteToken(id) {
    const checked = checkId('deleteToken', id);
    await settle(() => this.#native.deleteToken(checked));
  }

  async getTokens() {
    const stored = await settle(() => this.#native.getTokens());
    const family = this.#family();
    return stored.map((fields) => newToken(fields, family));
  }

  async deleteTokens() {
    await settle(() => this.#native.deleteTokens());
  }

  /** The AWS calls this store has made, by operation (for budgets and benchmarks). */
  calls() {
    return this.#native.calls();
  }

  /** Sets the call counts back to zero. */
  resetCalls() {
    this.#native.resetCalls();
  }

  toJSON() {
    return { prefix: this.prefix };
  }

  [util.inspect.custom](depth, options, inspect) {
    return `SecretsManagerTokenStore ${inspect({ prefix: this.prefix }, options)}`;
  }

  /** The token classes of `token`'s SDK, remembered for the tokens this store makes later. */
  #remember(token) {
    const node = sdk.node();
    const ts = sdk.loadedTypescriptSdk();
    let family;
    if (node && token instanceof node.OAuthToken) family = familyOf(node);
    else if (ts && token instanceof ts.OAuthToken) family = familyOf(ts);
    else family = { OAuthToken: token.constructor, UserSignature: this.#defaultFamily().UserSignature };
    this.#lastFamily = family;
    return family;
  }

  /**
   * The token classes for a token this store makes: those of the SDK initialized with this store,
   * else of the last token it was given, else of the SDK installed (this package's without one).
   */
  #family() {
    const mine = initializers().find(({ initializer }) => initializer.getStore() === this);
    if (mine) return familyOf(mine.exports);
    return this.#lastFamily || this.#defaultFamily();
  }

  #defaultFamily() {
    return familyOf(sdk.node()) || familyOf(sdk.typescriptSdk()) || standalone;
  }

  /**
   * Where the SDK refreshes tokens (its environment's accounts URL), when this store refreshes ahead:
   * the environment of the SDK initialized with this store; else, for an app that calls the store
   * itself, of an initialized SDK (the Node SDK's before the TypeScript SDK's).
   */
  #accountsUrl() {
    if (!this.#native.refreshesAhead) return undefined;
    const all = initializers();
    const chosen = all.find(({ initializer }) => initializer.getStore() === this) || all[0];
    const environment = chosen && chosen.initializer.getEnvironment();
    const url = environment && environment.getAccountsUrl();
    return typeof url === 'string' ? url : undefined;
  }
}

module.exports = { SecretsManagerTokenStore };
