//! The strict AWS model (`localstack/strict-aws`) in front of LocalStack: one proxy per test that asks
//! for it, with the behaviours the test chooses, reached by any client through its endpoint.

use std::process::Child;

use aws_sdk_secretsmanager::Client;
use serde_json::Value;

/// A running strict model; stopped when dropped.
pub struct StrictAws {
    endpoint: String,
    child: Child,
}

impl StrictAws {
    /// Starts a proxy with `options` (see `localstack/strict-aws --help`) in front of the shared
    /// LocalStack, on a free port. Panics with the reason if it cannot start: nothing is skipped.
    pub fn start(options: &[&str]) -> Self {
        let args = [&["--upstream", super::endpoint(), "--port", "0"], options].concat();
        let (child, endpoint) =
            super::spawn_listening("localstack/strict-aws", "strict-aws", &args);
        Self { endpoint, child }
    }

    /// Its endpoint, for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A Secrets Manager client through it (a "process" of the fleet: its own connections).
    pub async fn client(&self) -> Client {
        Client::new(&self.sdk_config().await)
    }

    /// The same with `extra` added (a test's own interceptor).
    pub async fn client_with(
        &self,
        extra: impl aws_sdk_secretsmanager::config::Intercept + 'static,
    ) -> Client {
        let base = self.client().await;
        Client::from_conf(base.config().to_builder().interceptor(extra).build())
    }

    /// SDK configuration through it.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        super::sdk_config_for(&self.endpoint).await
    }

    /// What it did so far: lagged answers, pages, refusals, and versions per secret.
    pub async fn stats(&self) -> Value {
        zoho_token_store::reqwest::get(format!("{}/_strict/stats", self.endpoint))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Moves the model's time on by `seconds`: listings then show what they would that much later.
    pub async fn advance(&self, seconds: f64) {
        let answer = zoho_token_store::reqwest::Client::new()
            .post(format!("{}/_strict/advance", self.endpoint))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "advance: {}", answer.status());
    }

    /// One counter of [`stats`](Self::stats).
    pub async fn stat(&self, name: &str) -> u64 {
        self.stats().await[name].as_u64().unwrap()
    }
}

impl Drop for StrictAws {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
