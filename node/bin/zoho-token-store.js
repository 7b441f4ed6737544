#!/usr/bin/env node
'use strict';
// `npx zoho-token-store ...`: the operator tool, the Rust crate's own (the same as the crate's binary
// and the Python package's command), run in this process through the native module.

const { cli } = require('../native.js');

process.exitCode = cli(['zoho-token-store', ...process.argv.slice(2)]);
