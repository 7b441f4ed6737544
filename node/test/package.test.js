'use strict';
// What npm publishes: one version for the crate, the addon and package.json; the entry points, types
// and command that package.json names exist; the napi targets for the platform packages.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');

const { version } = require('..');
const { PACKAGE, ROOT } = require('./helpers.js');

const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));

function cargoVersion(file) {
  return /^version = "([^"]+)"/m.exec(fs.readFileSync(file, 'utf8'))[1];
}

test('the package, its native crate and the Rust crate have one version', () => {
  assert.equal(manifest.version, version);
  assert.equal(cargoVersion(path.join(PACKAGE, 'Cargo.toml')), version);
  assert.equal(cargoVersion(path.join(ROOT, 'Cargo.toml')), version);
});

test('package.json names files that exist: both entry points, their types, the command', () => {
  const dot = manifest.exports['.'];
  for (const file of [dot.import.default, dot.import.types, dot.require.default, dot.require.types, manifest.types, manifest.main]) {
    assert.ok(fs.existsSync(path.join(PACKAGE, file)), file);
  }
  const bin = path.join(PACKAGE, manifest.bin['zoho-token-store']);
  assert.match(fs.readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  assert.ok(fs.statSync(bin).mode & 0o111, 'the command is executable');
  assert.deepEqual(manifest.napi.targets, [
    'x86_64-unknown-linux-gnu',
    'aarch64-unknown-linux-gnu',
    'x86_64-unknown-linux-musl',
  ]);
  for (const sdk of Object.keys(manifest.peerDependencies)) {
    assert.equal(manifest.peerDependenciesMeta[sdk].optional, true, `${sdk} is optional`);
  }
});
