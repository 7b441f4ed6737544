'use strict';
// The options of `new SecretsManagerTokenStore({...})`, checked for their types in JavaScript's terms
// (a TypeError naming the option). Their values (ranges, a keyring that parses, a region's form) are
// checked by the Rust crate, once for the Python and Node packages, whose messages name the option as
// written here (`recoveryWindowDays: 3 is not ...`). An option left undefined (or null) takes the
// crate's default: the package is fleet-safe by default, as the Python package is.

/** Each option and what it takes. */
const OPTIONS = {
  prefix: ['string', "a string, such as 'zoho/oauth/'"],
  keys: ['string', 'a string (the keyring, as `zoho-token-store keygen` prints it)'],
  keyringSecret: ['string', 'a string (the name or ARN of the secret that holds the keyring)'],
  kmsKeyId: ['string', 'a string (a KMS key id, ARN or alias)'],
  endpointUrl: ['string', "a string, such as 'http://127.0.0.1:4566'"],
  region: ['string', "a string, such as 'us-east-1'"],
  cacheTtlSeconds: ['number', 'a number of seconds'],
  recoveryWindowDays: ['number', 'a whole number of days'],
  refreshAheadSeconds: ['number', 'a number of seconds'],
  allowUnboundKeyring: ['boolean', 'true or false'],
};

/** What `value` is, in a message: its type, never the value (it may be key material). */
function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') {
    const name = value.constructor && value.constructor.name;
    return name && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}

/** `keyring_secret` as `keyringSecret`, for a hint when the Python spelling is used. */
function camel(name) {
  return name.replace(/_([a-z])/g, (_, c) => c.toUpperCase());
}

/**
 * The options as the native store takes them.
 *
 * @throws {TypeError} options that are not an object, an unknown option, or an option of the wrong type
 */
function nativeOptions(options) {
  const where = 'new SecretsManagerTokenStore(options)';
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(
      `${where}: options takes an object such as { prefix: 'zoho/oauth/', keys: process.env.ZOHO_TOKEN_STORE_KEYS }, not ${describe(options)}`,
    );
  }
  const checked = {};
  for (const name of Object.keys(options)) {
    const value = options[name];
    const known = Object.prototype.hasOwnProperty.call(OPTIONS, name) ? OPTIONS[name] : null;
    if (!known) {
      const hint = OPTIONS[camel(name)] ? `; did you mean ${camel(name)}?` : '';
      throw new TypeError(
        `${where}: unknown option ${name}${hint} (the options are ${Object.keys(OPTIONS).join(', ')})`,
      );
    }
    if (value === undefined || value === null) continue;
    const [type, what] = known;
    if (typeof value !== type) {
      throw new TypeError(`${where}: ${name} takes ${what}, not ${describe(value)}`);
    }
    checked[name] = value;
  }
  return checked;
}

module.exports = { nativeOptions, describe, OPTIONS };
