//! The Python package's tests (`python/tests`, pytest) as one test of `cargo test`, so the README's one
//! test command covers both languages: `python/run-tests` installs the package with pip, as a user
//! would, and runs them against the LocalStack the Rust tests share. With `ZOHO_TOKEN_STORE_WHEEL` (CI
//! sets it to the wheel it built) they run against that wheel, installed with no Rust on PATH.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

#[test]
fn the_python_package_passes_its_tests() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/python/run-tests");
    let out = Command::new(script)
        .env("AWS_ENDPOINT_URL", common::endpoint())
        // The CLI this `cargo test` built, for the cross-language tests (a nested `cargo build` would
        // wait for the lock this run holds).
        .env(
            "ZOHO_TOKEN_STORE_CLI",
            env!("CARGO_BIN_EXE_zoho-token-store"),
        )
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {script}: {e}; it needs bash and Python 3.9+ with venv")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "python/run-tests failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(" passed") && !stdout.contains(" failed") && !stdout.contains(" skipped"),
        "every Python test ran and passed:\n{stdout}"
    );
    if std::env::var_os("ZOHO_TOKEN_STORE_WHEEL").is_some() {
        assert!(
            stdout.contains("no Rust on PATH"),
            "the wheel was installed without Rust:\n{stdout}"
        );
    }
}
