//! The deploy recipe, `deploy/template.yaml`: lint clean (cfn-lint on the template and on its SAM
//! translation), and deployed into LocalStack's CloudFormation as far as LocalStack runs it (the KMS key,
//! the policies, the roles; the keyring written by the stack's own command), then the store run as each
//! of the stack's roles through an IAM-enforcing proxy (`deploy/iam_proxy.py`) judging every call against
//! the policies the roles have in LocalStack's IAM: the example function and the Python store as AppRole,
//! the rotation handler as RotationRole. A call the role's policy refuses fails it, and so does a granted
//! action no call used. The scripts under `deploy/` hold the checks, in Python with the pinned cfn-lint
//! and boto3 of `localstack/.venv`; this file drives the Rust half of the IAM check (the keyring re-check,
//! the rotation handler), which `deploy/check-localstack` asks for on its stdout.
//!
//! Nothing is skipped: without cfn-lint, without a LocalStack that runs CloudFormation and IAM, or
//! without the Python package installed (`python/run-tests`, or `ZOHO_TOKEN_STORE_WHEEL`), each fails
//! saying what to run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::config::Credentials;
use serde_json::{Value, json};
use zoho_token_store::{
    AccountsClient, KeySource, RotationEvent, RotationHandler, SecretKeySource, SecretsManagerStore,
};

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
fn the_template_is_lint_clean() {
    // localstack/up installs the pinned cfn-lint into localstack/.venv.
    common::endpoint();
    passes(Command::new(LINT), "deploy/lint");
}

#[test]
fn the_iam_evaluator_judges_as_aws_does() {
    common::python_unittests("deploy", "test_iam_*.py");
}

#[test]
fn the_template_deploys_and_each_role_may_run_the_store_and_no_more() {
    // The app's run needs the Python package: the wheel CI names, else the source install that
    // python/run-tests makes (idempotent: seconds when it is up to date), so a fresh clone's `cargo
    // test` runs this before tests/python.rs has installed it.
    if std::env::var_os("ZOHO_TOKEN_STORE_WHEEL").is_none() {
        let install = concat!(env!("CARGO_MANIFEST_DIR"), "/python/run-tests");
        let mut command = Command::new(install);
        command.arg("--install-only");
        passes(command, "python/run-tests --install-only");
    }
    let mut child = Command::new(CHECK)
        .env("AWS_ENDPOINT_URL", common::endpoint())
        .env(
            "ZOHO_TOKEN_STORE_CLI",
            env!("CARGO_BIN_EXE_zoho-token-store"),
        )
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {CHECK}: {e}"));
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let mut said = String::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        println!("{line}");
        said.push_str(&line);
        said.push('\n');
        if let Some(leg) = line.strip_prefix("rust-leg: ") {
            let answer = match rust_leg(&serde_json::from_str(leg).unwrap()) {
                Ok(()) => "ok".to_owned(),
                Err(e) => e.replace('\n', " "),
            };
            println!("rust half: {answer}");
            let mut stdin = child.stdin.take().unwrap();
            writeln!(stdin, "{answer}").unwrap();
        }
    }
    let status = child.wait().unwrap();
    let errors = errors.join().unwrap();
    println!("{errors}");
    // What it printed is above (the harness shows it with the failure).
    assert!(
        status.success(),
        "deploy/check-localstack failed ({status}): {errors}"
    );
    assert!(
        said.contains("none refused, every action of every statement used"),
        "both roles were checked:\n{said}"
    );
}

/// An SDK configuration for one of the stack's roles, through the IAM proxy: the proxy knows the role by
/// its access key.
async fn as_role(endpoint: &str, access_key: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(6))
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            access_key,
            "not-checked",
            None,
            None,
            "deploy-iam-check",
        ))
        .load()
        .await
}

/// The KMS-wrapped keyring secret as a store reads it, re-checked on every use: a process re-checks it
/// every five minutes ([`zoho_token_store::DEFAULT_REFRESH_INTERVAL`]), which a check cannot wait for.
fn keyring_source(aws: &aws_config::SdkConfig, leg: &Value) -> SecretKeySource {
    SecretKeySource::new(
        aws_sdk_secretsmanager::Client::new(aws),
        leg["keyring"].as_str().unwrap(),
    )
    .with_kms(
        aws_sdk_kms::Client::new(aws),
        leg["kms_key_id"].as_str().unwrap(),
    )
    .refresh_interval(Duration::ZERO)
}

/// The Rust half of the IAM check: as AppRole, the keyring read and re-checked (the Rust key source
/// under the Python store); as RotationRole, the rotation handler's four steps on the token the operator
/// imported, built as the rotation Lambda (`src/bin/rotation_lambda.rs`) builds it.
fn rust_leg(leg: &Value) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let text = |key: &str| leg[key].as_str().unwrap().to_owned();
        let endpoint = text("endpoint");

        let app = as_role(&endpoint, &text("app_access_key")).await;
        let keys = keyring_source(&app, leg);
        for _ in 0..2 {
            keys.keyring()
                .await
                .map_err(|e| format!("AppRole's keyring read: {e}"))?;
        }

        let rotation = as_role(&endpoint, &text("rotation_access_key")).await;
        let store = SecretsManagerStore::builder(
            aws_sdk_secretsmanager::Client::new(&rotation),
            keyring_source(&rotation, leg),
        )
        .prefix(text("prefix"))
        .build()
        .map_err(|e| e.to_string())?;
        let accounts = AccountsClient::for_server(Some(&text("accounts_url")), "us")
            .map_err(|e| e.to_string())?;
        let handler = RotationHandler::new(Arc::new(store), accounts);
        for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
            let event: RotationEvent = serde_json::from_value(json!({
                "Step": step,
                "SecretId": text("secret_id"),
                "ClientRequestToken": text("client_request_token"),
            }))
            .unwrap();
            handler
                .handle(&event)
                .await
                .map_err(|e| format!("the rotation's {step} as RotationRole: {e}"))?;
        }
        Ok(())
    })
}
