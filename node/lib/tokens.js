'use strict';
// The Zoho SDKs' `OAuthToken` objects and the plain objects the native store takes and gives back
// (the same fields in camelCase, `expiresIn` as the SDK's epoch-milliseconds string). Which SDK a new
// token belongs to is the caller's business (`family`): the two SDKs' tokens are different classes,
// and each SDK checks `instanceof` its own.

const { describe } = require('./options.js');

/** The SDK's getter and setter suffix for each plain field. */
const FIELDS = [
  ['id', 'Id'],
  ['clientId', 'ClientId'],
  ['clientSecret', 'ClientSecret'],
  ['grantToken', 'GrantToken'],
  ['refreshToken', 'RefreshToken'],
  ['accessToken', 'AccessToken'],
  ['expiresIn', 'ExpiresIn'],
  ['redirectUrl', 'RedirectURL'],
  ['apiDomain', 'APIDomain'],
];

/** What a token must have for the store to read and fill it. */
const METHODS = FIELDS.flatMap(([, name]) => [`get${name}`, `set${name}`]).concat([
  'getUserSignature',
  'setUserSignature',
]);

/**
 * Whether `value` is an OAuthToken of either SDK (or of this package, without one): anything with the
 * SDK token's getters and setters. The SDK's FileStore asks `instanceof` its own class; a method check
 * also takes the other SDK's tokens and a second copy of the SDK in the tree.
 */
function isOAuthToken(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    METHODS.every((method) => typeof value[method] === 'function')
  );
}

/** A getter's value as the native store takes it: a string, or undefined when absent. */
function text(token, name, where) {
  const value = token[`get${name}`]();
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  // The SDK keeps ids and expiry times as strings; a number given for either means the same.
  if ((name === 'ExpiresIn' || name === 'Id') && Number.isFinite(value)) return String(value);
  throw new TypeError(`${where}: the token's get${name}() returned ${describe(value)}; it takes a string`);
}

/**
 * The token's fields as a plain object.
 *
 * @throws {TypeError} a field of the wrong type (named, never shown)
 */
function toFields(token, where) {
  const fields = {};
  for (const [field, name] of FIELDS) fields[field] = text(token, name, where);
  const signature = token.getUserSignature();
  if (signature !== null && signature !== undefined) {
    const name = typeof signature.getName === 'function' ? signature.getName() : undefined;
    if (typeof name !== 'string') {
      throw new TypeError(`${where}: the token's user signature has no name (a string, the user's email)`);
    }
    fields.userName = name;
  }
  return fields;
}

/**
 * Sets the fields `token` leaves null or undefined from `stored`, as the SDK's FileStore merges a
 * stored row into the token it was asked for; returns `token`.
 */
function fill(token, stored, family) {
  for (const [field, name] of FIELDS) {
    const value = stored[field];
    if (value !== null && value !== undefined && token[`get${name}`]() == null) {
      token[`set${name}`](value);
    }
  }
  if (stored.userName && token.getUserSignature() == null) {
    token.setUserSignature(new family.UserSignature(stored.userName));
  }
  return token;
}

/**
 * A new token of `family` holding `stored`, built as the SDK's FileStore builds them (without its
 * constructor's arguments, which a stored token may not have), every absent field null.
 */
function newToken(stored, family) {
  const token = Reflect.construct(family.OAuthToken, []);
  for (const [field, name] of FIELDS) token[`set${name}`](stored[field] ?? null);
  token.setUserSignature(stored.userName ? new family.UserSignature(stored.userName) : null);
  return token;
}

module.exports = { isOAuthToken, toFields, fill, newToken };
