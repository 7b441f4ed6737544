//! The deploy recipe, `deploy/template.yaml`: lint clean (cfn-lint on the template and on its SAM
//! translation, and exactly the Secrets Manager actions the store calls), and deployed into LocalStack's
//! CloudFormation as far as LocalStack runs it (the KMS key, the policies, the roles; the keyring written
//! by the stack's own command; a token stored with nothing but the stack's outputs). The scripts under
//! `deploy/` hold the checks, in Python with the pinned cfn-lint and boto3 of `localstack/.venv`, so the
//! crate needs no CloudFormation or IAM SDK; they say what each checks.
//!
//! Neither is skipped: without cfn-lint, or without a LocalStack that runs CloudFormation and IAM, each
//! fails saying what to run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Output};

const LINT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/lint");
const CHECK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/check-localstack");

/// Runs `command`, prints what it said (shown with `--nocapture` or on failure) and fails unless it
/// succeeded.
fn passes(mut command: Command, what: &str) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{said}");
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{said}",
        out.status
    );
    out
}

#[test]
fn the_template_is_lint_clean_and_grants_exactly_the_store_s_calls() {
    // localstack/up installs the pinned cfn-lint into localstack/.venv.
    common::endpoint();
    passes(Command::new(LINT), "deploy/lint");
}

#[test]
fn the_template_deploys_into_localstack_and_its_keyring_command_works() {
    let mut check = Command::new(CHECK);
    check.env("AWS_ENDPOINT_URL", common::endpoint()).env(
        "ZOHO_TOKEN_STORE_CLI",
        env!("CARGO_BIN_EXE_zoho-token-store"),
    );
    passes(check, "deploy/check-localstack");
}
