//! The Rust half of the Python binding's overhead benchmark (`python/bench.py` runs it): the latency of
//! each store operation from Rust, on tokens the Python side saved, printed as JSON samples in
//! microseconds. The Python side times the same operations through the binding, on the same secrets,
//! in alternating rounds, so the difference is the binding's cost.
//!
//! Environment (set by `python/bench.py`): `AWS_ENDPOINT_URL`, `ZOHO_TOKEN_STORE_PREFIX`,
//! `ZOHO_TOKEN_STORE_KEYS`, `BENCH_ID`, `BENCH_USER`, `BENCH_CLIENT_ID`, `BENCH_REFRESH`,
//! `BENCH_ITERATIONS`; `BENCH_SWEEP=1` first sweeps the lookup bridges, for the steady state.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use zoho_token_store::{Keyring, OAuthToken, SecretsManagerStore, TokenStore};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run python/bench.py"))
}

async fn build(lag: Option<Duration>, cached: bool) -> SecretsManagerStore {
    let config = aws_config::load_from_env().await;
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
        let mut time = |op: &'static str, started: Instant| {
            samples
                .entry(op)
                .or_default()
                .push(started.elapsed().as_micros());
        };
        let started = Instant::now();
        store.find_token_by_id(&id).await.unwrap().unwrap();
        time("find_token_by_id", started);
        let started = Instant::now();
        store.find_token(&by_user).await.unwrap().unwrap();
        time("find_token by user", started);
        let started = Instant::now();
        store.find_token(&by_refresh).await.unwrap().unwrap();
        time("find_token by refresh token", started);
        // What the binding's save_token does: the SDK stores' save, which fills from the stored token.
        let mut update = OAuthToken::default()
            .with_id(&id)
            .with_access_token(format!("access-rust-{n}"), 1_900_000_000_000);
        let started = Instant::now();
        store.merge_and_save_token(&mut update).await.unwrap();
        time("save_token (existing)", started);
        let started = Instant::now();
        store.get_tokens().await.unwrap();
        time("get_tokens", started);
        let started = Instant::now();
        cached.find_token_by_id(&id).await.unwrap().unwrap();
        time("find_token_by_id, cache warm", started);
        let started = Instant::now();
        cached.find_token(&by_user).await.unwrap().unwrap();
        time("find_token by user, cache warm", started);
    }
    println!("{}", serde_json::to_string(&samples).unwrap());
}
