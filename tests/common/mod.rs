//! Shared helpers for the integration tests: LocalStack, clients, stores, fixtures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod cli;
pub mod contract;
pub mod strict;
pub mod strict_zoho;
pub mod zoho;

use std::process::Command;
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::Credentials;
use zoho_token_store::{Keyring, OAuthToken, SecretsManagerStore};

/// The LocalStack endpoint, started through `localstack/up` on first use unless `AWS_ENDPOINT_URL` names
/// one already running. `up` is idempotent and takes a lock, so every test binary shares one LocalStack.
/// If it cannot start, every test that needs it fails with the reason: nothing is skipped.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
            return url;
        }
        let up = concat!(env!("CARGO_MANIFEST_DIR"), "/localstack/up");
        let out = Command::new(up).output().unwrap_or_else(|e| {
            panic!("cannot run {up}: {e}; LocalStack is required for these tests")
        });
        assert!(
            out.status.success(),
            "{up} failed ({}), so LocalStack is not available for these tests:\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::env::var("LOCALSTACK_PORT").unwrap_or_else(|_| "4566".to_owned());
        format!("http://127.0.0.1:{port}")
    })
}

/// SDK configuration for LocalStack, loaded afresh (its own connection pool, as a separate process
/// would have).
///
/// Six attempts per call: LocalStack's listings are not thread-safe and now and then answer a 500
/// ("dictionary changed size during iteration") while other tests write; the SDK retries a 500 as it
/// would on AWS. Budgets count calls, not attempts, so retries never move them.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_for(endpoint()).await
}

/// [`sdk_config`] for another endpoint (the strict AWS model in front of LocalStack).
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(6))
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "zoho-token-store-tests",
        ))
        .load()
        .await
}

/// A fresh Secrets Manager client for LocalStack.
pub async fn client() -> Client {
    Client::new(&sdk_config().await)
}

/// A prefix no other test uses, so tests run in parallel against one LocalStack.
pub fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "zts-test/{test}/{:x}{:04x}/",
        nanos,
        std::process::id() & 0xffff
    )
}

/// The keyring the tests write with.
pub fn keyring() -> Keyring {
    Keyring::new("k1", &[0x11; 32], &[0x99; 32]).unwrap()
}

/// A store with its own prefix and an immediate-deletion policy unless the test says otherwise.
pub async fn store(test: &str) -> SecretsManagerStore {
    SecretsManagerStore::builder(client().await, keyring())
        .prefix(unique_prefix(test))
        .build()
        .unwrap()
}

/// A complete token for `user`, with secret values that carry `tag` so tests can search for leaks.
pub fn token_for(user: &str, tag: &str) -> OAuthToken {
    OAuthToken::default()
        .with_user_name(user)
        .with_client("1000.CLIENTID", format!("client-secret-{tag}"))
        .with_grant_token(format!("grant-{tag}"))
        .with_refresh_token(format!("refresh-{tag}"))
        .with_access_token(format!("access-{tag}"), 1_900_000_000_000)
        .with_redirect_url("https://app.example.com/oauth/callback")
        .with_api_domain("https://www.zohoapis.com")
}

/// Names of every secret under `prefix` (including those scheduled for deletion), read raw.
pub async fn raw_names(client: &Client, prefix: &str, include_deleted: bool) -> Vec<String> {
    use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
    let mut names = Vec::new();
    let mut pages = client
        .list_secrets()
        .include_planned_deletion(include_deleted)
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(prefix)
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for s in page.unwrap().secret_list() {
            let name = s.name().unwrap();
            if name.starts_with(prefix) {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    names
}

/// Names of the token secrets under `prefix` (not its leases or lookup bridges, which live under nested
/// prefixes), including those scheduled for deletion when asked.
pub async fn token_names(client: &Client, prefix: &str, include_deleted: bool) -> Vec<String> {
    raw_names(client, prefix, include_deleted)
        .await
        .into_iter()
        .filter(|name| !name[prefix.len()..].contains('/'))
        .collect()
}

/// A KMS client for LocalStack.
pub async fn kms_client() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&sdk_config().await)
}

/// A fresh symmetric KMS key on LocalStack; returns its ARN.
pub async fn kms_key() -> String {
    let out = kms_client()
        .await
        .create_key()
        .description("zoho-token-store test key")
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().arn().unwrap().to_owned()
}

type SendAction = Box<dyn Fn(usize) -> Result<(), String> + Send + Sync>;

/// An interceptor that runs `action(n)` just before the n-th send (from 0) of `operation`; an `Err`
/// fails that call before it reaches the service, and is not retried.
pub struct OnSend {
    operation: &'static str,
    seen: std::sync::atomic::AtomicUsize,
    action: SendAction,
}

impl OnSend {
    pub fn new(
        operation: &'static str,
        action: impl Fn(usize) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            operation,
            seen: 0.into(),
            action: Box::new(action),
        }
    }

    /// The service "stops" accepting `operation` after `allowed` calls.
    pub fn fail_after(operation: &'static str, allowed: usize) -> Self {
        Self::new(operation, move |n| {
            if n < allowed {
                Ok(())
            } else {
                Err(format!("{operation} is unavailable (injected by the test)"))
            }
        })
    }
}

impl std::fmt::Debug for OnSend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnSend")
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

impl aws_sdk_secretsmanager::config::Intercept for OnSend {
    fn name(&self) -> &'static str {
        "OnSend"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::Metadata;
        if cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation)
        {
            let n = self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            (self.action)(n)?;
        }
        Ok(())
    }
}

/// A LocalStack client with `interceptor` added.
pub async fn client_with(
    interceptor: impl aws_sdk_secretsmanager::config::Intercept + 'static,
) -> Client {
    let base = client().await;
    Client::from_conf(base.config().to_builder().interceptor(interceptor).build())
}

/// Starts one of the repository's local servers (`script`, a path under the crate's root) with `args`,
/// and reads the address it prints first (`<name>: listening on <address>`). Panics with the reason if
/// it cannot start: nothing is skipped.
pub fn spawn_listening(script: &str, name: &str, args: &[&str]) -> (std::process::Child, String) {
    use std::io::{BufRead, BufReader};
    let path = format!("{}/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(&path)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {path}: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .strip_prefix(&format!("{name}: listening on "))
        .unwrap_or_else(|| panic!("{path} did not start: {line:?}"))
        .to_owned();
    (child, address)
}

/// Runs a folder's Python unit tests (`python3 -m unittest discover`), failing with what they printed.
pub fn python_unittests(dir: &str, pattern: &str) {
    let dir = format!("{}/{dir}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .args(["-m", "unittest", "discover", "-s", &dir, "-p", pattern])
        .output()
        .expect("python3 runs the unit tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a language package's suite (`python/run-tests`, `node/run-tests`, relative to the repository)
/// against the LocalStack this run shares, with the CLI this `cargo test` built (a nested `cargo build`
/// would wait for the lock this run holds); returns what it printed once it succeeded. `needs` says
/// what the script needs, for the message when it cannot start.
pub fn package_suite(script: &str, needs: &str) -> String {
    let path = format!("{}/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&path)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env(
            "ZOHO_TOKEN_STORE_CLI",
            env!("CARGO_BIN_EXE_zoho-token-store"),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run {path}: {e}; it needs {needs}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}
