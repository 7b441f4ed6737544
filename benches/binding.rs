//! The Rust half of the Python binding's overhead benchmark (`python/benches/binding.py` runs it): the latency of
//! each store operation from Rust, on tokens the Python side saved, printed as JSON samples in
//! microseconds. The Python side times the same operations through the binding, on the same secrets,
//! in alternating rounds, so the difference is the binding's cost.
//!
//! Environment (set by `python/benches/binding.py`): `AWS_ENDPOINT_URL`, `ZOHO_TOKEN_STORE_PREFIX`,
//! `ZOHO_TOKEN_STORE_KEYS`, `BENCH_ID`, `BENCH_USER`, `BENCH_CLIENT_ID`, `BENCH_REFRESH`,
//! `BENCH_ITERATIONS`; `BENCH_SWEEP=1` first sweeps the lookup bridges, for the steady state.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use zoho_token_store::{Keyring, OAuthToken, SecretsManagerStore, TokenStore};

fn var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run python/benches/binding.py"))
}

async fn build(lag: Option<Duration>, cached: bool) -> SecretsManagerStore {
    // The timeouts the Python store sets (python/src/lib.rs), so the two differ by the binding only.
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(30))
        .build();
    let config = aws_config::from_env().timeout_config(timeouts).load().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let mut builder = SecretsManagerStore::builder(client, Keyring::from_env().unwrap())
        .prefix(var("ZOHO_TOKEN_STORE_PREFIX"));
    if let Some(lag) = lag {
        builder = builder.listing_lag(lag);
    }
    if cached {
        builder = builder.cache(NonZeroUsize::new(1000).unwrap(), Duration::from_secs(300));
    }
    builder.build().unwrap()
}

/// Runs `op` to completion, adding its latency to `samples[name]`; a failure ends the benchmark.
async fn time<T>(
    samples: &mut BTreeMap<&'static str, Vec<u128>>,
    name: &'static str,
    op: impl Future<Output = zoho_token_store::Result<T>>,
) {
    let started = Instant::now();
    op.await.unwrap_or_else(|e| panic!("{name}: {e}"));
    samples
        .entry(name)
        .or_default()
        .push(started.elapsed().as_micros());
}

#[tokio::main]
async fn main() {
    if std::env::var("BENCH_SWEEP").as_deref() == Ok("1") {
        build(Some(Duration::ZERO), false)
            .await
            .sweep_bridges()
            .await
            .unwrap();
    }
    let store = build(None, false).await;
    // The binding's own cost shows where the service's does not: lookups the read cache answers.
    let cached = build(None, true).await;
    let (id, user) = (var("BENCH_ID"), var("BENCH_USER"));
    let by_user = OAuthToken::default().with_user_name(&user);
    let by_refresh = OAuthToken::default()
        .with_client(var("BENCH_CLIENT_ID"), "-")
        .with_refresh_token(var("BENCH_REFRESH"));
    let iterations: usize = var("BENCH_ITERATIONS").parse().unwrap();
    let mut samples: BTreeMap<&str, Vec<u128>> = BTreeMap::new();
    for n in 0..iterations {
        // What the binding's save_token does: the SDK stores' save, which fills from the stored token.
        let mut update = OAuthToken::default()
            .with_id(&id)
            .with_access_token(format!("access-rust-{n}"), 1_900_000_000_000);
        time(
            &mut samples,
            "find_token_by_id",
            store.find_token_by_id(&id),
        )
        .await;
        time(
            &mut samples,
            "find_token by user",
            store.find_token(&by_user),
        )
        .await;
        let refresh = store.find_token(&by_refresh);
        time(&mut samples, "find_token by refresh token", refresh).await;
        let save = store.merge_and_save_token(&mut update);
        time(&mut samples, "save_token (existing)", save).await;
        time(&mut samples, "get_tokens", store.get_tokens()).await;
        let warm = cached.find_token_by_id(&id);
        time(&mut samples, "find_token_by_id, cache warm", warm).await;
        let warm = cached.find_token(&by_user);
        time(&mut samples, "find_token by user, cache warm", warm).await;
    }
    println!("{}", serde_json::to_string(&samples).unwrap());
}
