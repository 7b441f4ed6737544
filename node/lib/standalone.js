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

/** A Zoho OAuth token with the SDK's getters and setters (the SDK's `OAuthToken`, without its calls). */
class OAuthToken {
  constructor() {
    for (const [, field] of FIELDS) this[field] = null;
  }
}

for (const [name, field] of FIELDS) {
  Object.defineProperty(OAuthToken.prototype, `get${name}`, {
    value() {
      return this[field];
    },
    writable: true,
    configurable: true,
  });
  Object.defineProperty(OAuthToken.prototype, `set${name}`, {
    value(value) {
      this[field] = value;
    },
    writable: true,
    configurable: true,
  });
}

module.exports = { OAuthToken, UserSignature };
