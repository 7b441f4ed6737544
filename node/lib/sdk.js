'use strict';
// The Zoho SDKs this package speaks to, when installed beside it (both are optional peers):
//
// - `@zohocrm/nodejs-sdk-8.0` (ES modules only). Its `InitializeBuilder.store()` refuses a store that
//   is not `instanceof` its `TokenStore` class, so the package's store must have that class in its
//   prototype chain, whichever entry point (ESM `import` or CommonJS `require`) loaded the package.
//   Node 20.19+ and 22.12+ `require()` an ES module synchronously: the CommonJS entry loads the SDK
//   here, and the classes below extend the SDK's. An older Node cannot (`ERR_REQUIRE_ESM`): the SDK
//   is then `import()`ed and linked in when it arrives (`linked`), by setting the prototypes of the
//   bases below to the SDK's classes; the ESM entry awaits that before the app's code runs, and a
//   CommonJS app on such a Node has `await import()`ed the SDK itself before it can use it.
// - `@zohocrm/typescript-sdk-8.0` (CommonJS). Its `TokenStore` is a TypeScript interface (nothing to
//   extend, no `instanceof` check); its tokens are told apart by their class, and its
//   `SDKException` is the errors' base when it is the only SDK installed.

const NODE_SDK = '@zohocrm/nodejs-sdk-8.0';
const TS_SDK = '@zohocrm/typescript-sdk-8.0';

/** Whether `name` can be found from this package (an app's node_modules included). */
function installed(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Node SDK's exports: loaded now when this Node can `require()` an ES module, `undefined` when it
 * must be imported (see `linked`), `null` when it is not installed.
 */
function loadNodeSdk() {
  if (!installed(NODE_SDK)) return null;
  try {
    return require(NODE_SDK);
  } catch (error) {
    if (error && (error.code === 'ERR_REQUIRE_ESM' || error.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
      return undefined;
    }
    // Installed but broken: the app means to use it, so say so rather than run without it.
    throw error;
  }
}

/** The SDK's `TokenStore` class: its package exports the module namespace that holds it. */
function tokenStoreClass(sdk) {
  const exported = sdk.TokenStore;
  return typeof exported === 'function' ? exported : exported.TokenStore;
}

const nodeSdk = loadNodeSdk();

/** The TypeScript SDK's exports when installed (CommonJS: loaded on first need), else null. */
let tsSdk;
function typescriptSdk() {
  if (tsSdk === undefined) tsSdk = installed(TS_SDK) ? require(TS_SDK) : null;
  return tsSdk;
}

/** Where the TypeScript SDK's entry is (resolved once: a miss is not cached by Node, and every store
 * call asks), or null when it is not installed. */
let tsSdkPath;
function typescriptSdkPath() {
  if (tsSdkPath === undefined) {
    try {
      tsSdkPath = require.resolve(TS_SDK);
    } catch {
      tsSdkPath = null;
    }
  }
  return tsSdkPath;
}

/** The TypeScript SDK's exports if the app has loaded them (never loads them itself). */
function loadedTypescriptSdk() {
  if (tsSdk !== undefined) return tsSdk;
  const path = typescriptSdkPath();
  return path && require.cache[path] ? typescriptSdk() : null;
}

/**
 * The bases of the package's store and error: the Node SDK's classes when it is loaded now; else
 * stand-ins, whose prototypes `link` points at the SDK's classes once they are imported (or, for the
 * error, the TypeScript SDK's `SDKException` when that is the SDK installed; else `Error`).
 */
const TokenStoreBase = nodeSdk ? tokenStoreClass(nodeSdk) : class TokenStore {};
const SDKExceptionBase = nodeSdk
  ? nodeSdk.SDKException
  : nodeSdk === undefined
    ? class SDKException extends Error {}
    : typescriptSdk()?.SDKException ?? Error;

/** The Node SDK once imported on a Node that cannot require() it (see the top of this file). */
let importedNodeSdk = null;

function link(sdk) {
  importedNodeSdk = sdk;
  Object.setPrototypeOf(TokenStoreBase.prototype, tokenStoreClass(sdk).prototype);
  Object.setPrototypeOf(SDKExceptionBase.prototype, sdk.SDKException.prototype);
}

/**
 * Resolves once the store's classes are the SDK's (at once unless the SDK had to be imported); rejects
 * with the import's error when the installed SDK cannot be loaded (a broken install is said, not
 * turned into a store the SDK refuses). The ES entry awaits it; a CommonJS app on a Node that cannot
 * require() an ES module awaits it as `require('zoho-token-store').ready` before it hands the store
 * to the SDK.
 */
const linked =
  nodeSdk === undefined ? import(NODE_SDK).then(link) : Promise.resolve();
// Handled here, so a CommonJS app that never awaits it is not stopped by an unhandled rejection; an
// app that awaits it still sees the error.
linked.catch(() => {});

/** The Node SDK's exports, however it was loaded; null when not installed or not imported yet. */
function node() {
  return nodeSdk || importedNodeSdk;
}

module.exports = {
  NODE_SDK,
  TS_SDK,
  TokenStoreBase,
  SDKExceptionBase,
  linked,
  node,
  typescriptSdk,
  loadedTypescriptSdk,
};
