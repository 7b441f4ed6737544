//! The Python package's tests (`python/tests`, pytest) as one test of `cargo test`, so the README's one
//! test command covers both languages: `python/run-tests` installs the package with pip, as a user
//! would, and runs them against the LocalStack the Rust tests share. With `ZOHO_TOKEN_STORE_WHEEL` (CI
//! sets it to the wheel it built) they run against that wheel, installed with no Rust on PATH.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[test]
fn the_python_package_passes_its_tests() {
    // The CLI this run built serves the cross-language tests.
    let stdout = common::package_suite("python/run-tests", "bash and Python 3.9+ with venv");
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
