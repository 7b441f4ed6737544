//! The Node.js package's tests (`node/test`, node's test runner) as one test of `cargo test`, so the
//! README's one test command covers the npm package too: `node/run-tests` installs its npm
//! devDependencies (the real Zoho Node.js and TypeScript SDKs), builds the addon with napi-rs, and runs
//! them against the LocalStack the Rust tests share. With `ZOHO_TOKEN_STORE_NPM_DIST` naming a folder of
//! npm tarballs (dist/npm, from node/build-packages; passed through from this process's environment, as
//! CI sets it) it builds nothing and runs them against the tarballs installed as a user installs them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn the_node_package_passes_its_tests() {
    // `npx zoho-token-store` must match the CLI this run built (the addon builds in node/target, or not
    // at all against the tarballs).
    let stdout = common::package_suite("node/run-tests", "bash, Node.js 20.6+ and npm 10.3+");
    // node's test runner closes with `# pass N`, `# fail N`, `# skipped N`.
    assert!(
        stdout.contains("\n# fail 0\n")
            && stdout.contains("\n# skipped 0\n")
            && stdout.contains("\n# cancelled 0\n")
            && !stdout.contains("\n# pass 0\n"),
        "every Node test ran and passed:\n{stdout}"
    );
}
