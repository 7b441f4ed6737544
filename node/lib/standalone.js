'use strict';
// What the package's tokens are made of when neither Zoho SDK is installed: the SDK's `OAuthToken`
// and `UserSignature` reduced to the fields a store reads and fills (the SDK's getter and setter names,
// so the same code serves both), for apps and tools that use the store without the SDK.

const FIELDS = [
  ['Id', 'id'],
  ['ClientId', 'clientID'],
  ['ClientSecret', 'clientSecret'],
  ['GrantToken', 'grantToken'],
  ['RefreshToken', 'refreshToken'],
  ['AccessToken', 'accessToken'],
  ['ExpiresIn', 'expiresIn'],
  ['RedirectURL', 'redirectURL'],
  ['APIDomain', 'apiDomain'],
  ['UserSignature', 'userSignature'],
];

/** A Zoho user, named by email (the SDK's `UserSignature`). */
class UserSignature {
  constructor(name) {
    if (typeof name !== 'string') {
      throw new TypeError(`UserSignature(name): name takes a string (the user's email), not ${typeof name}`);
    }
    this.name = name;
  }

  getName() {
    return this.name;
  }
}

/** The fields that hold a secret: never shown by `util.inspect` or `JSON.stringify` of a token. */
const SECRET = new Set(['clientSecret', 'grantToken', 'refreshToken', 'accessToken']);

/** Each token's values, out of its own properties so that nothing enumerates them by accident. */
const VALUES = new WeakMap();

/** A Zoho OAuth token with the SDK's getters and setters (the SDK's `OAuthToken`, without its calls). */
class OAuthToken {
  constructor() {
    VALUES.set(this, Object.fromEntries(FIELDS.map(([, field]) => [field, null])));
  }

  /** What `JSON.stringify` writes: the fields, secrets shown only as set or not. */
  toJSON() {
    const values = VALUES.get(this);
    return Object.fromEntries(
      FIELDS.map(([, field]) => {
        const value = values[field];
        if (SECRET.has(field) && value != null) return [field, '<redacted>'];
        return [field, field === 'userSignature' && value ? value.getName() : value];
      }),
    );
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `OAuthToken ${JSON.stringify(this.toJSON())}`;
  }
}

for (const [name, field] of FIELDS) {
  Object.defineProperty(OAuthToken.prototype, `get${name}`, {
    value() {
      return VALUES.get(this)[field];
    },
    writable: true,
    configurable: true,
  });
  Object.defineProperty(OAuthToken.prototype, `set${name}`, {
    value(value) {
      VALUES.get(this)[field] = value;
    },
    writable: true,
    configurable: true,
  });
}

module.exports = { OAuthToken, UserSignature };
