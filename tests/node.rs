//! The Node.js package's tests (`node/test`, node's test runner) as one test of `cargo test`, so the
//! README's one test command covers the npm package too: `node/run-tests` installs its npm
//! devDependencies (the real Zoho Node.js and TypeScript SDKs), builds the addon with napi-rs, and runs
//! them against the LocalStack the Rust tests share. With `ZOHO_TOKEN_STORE_NPM_DIST` naming a folder of
//! npm tarballs (dist/npm, from node/build-packages; passed through from this process's environment, as
//! CI sets it) it builds nothing and runs them against the tarballs installed as a user installs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

#[test]
fn the_node_package_passes_its_tests() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/node/run-tests");
    let out = Command::new(script)
        .env("AWS_ENDPOINT_URL", common::endpoint())
        // The CLI this `cargo test` built, which `npx zoho-token-store` must match (a nested `cargo
        // build` would wait for the lock this run holds; the addon builds in node/target).
        .env(
            "ZOHO_TOKEN_STORE_CLI",
            env!("CARGO_BIN_EXE_zoho-token-store"),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}; it needs bash, Node.js 20+ and npm"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "node/run-tests failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    // node's test runner closes with `# pass N`, `# fail N`, `# skipped N`.
    assert!(
        stdout.contains("\n# fail 0\n")
            && stdout.contains("\n# skipped 0\n")
            && stdout.contains("\n# cancelled 0\n")
            && !stdout.contains("\n# pass 0\n"),
        "every Node test ran and passed:\n{stdout}"
    );
}
