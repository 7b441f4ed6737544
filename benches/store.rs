//! Service round trips and latency per operation: this store against a naive port of the seed's
//! sample (list every secret under the prefix, read each, decrypt, match in memory), in one run against
//! LocalStack, for N = 10, 100 and 1,000 stored tokens.
//!
//! Run: `cargo bench --bench store` (starts LocalStack through `localstack/up` unless
//! `AWS_ENDPOINT_URL` is set). Prints a Markdown table; BENCHMARKS.md holds a recorded run.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::{StreamExt, TryStreamExt, stream};
use zoho_token_store::{
    CallCounter, Keyring, OAuthToken, SecretsManagerStore, TokenStore, open_token, seal_token,
};

/// The seed's SQLite sample ported directly to Secrets Manager: no index, so every lookup lists the
/// prefix and reads every secret, one by one, as the sample's `select *` loop does.
struct NaiveStore {
    client: Client,
    keyring: Keyring,
    prefix: String,
}

impl NaiveStore {
    async fn all(&self) -> Vec<OAuthToken> {
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_secrets()
            .filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(&self.prefix)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            names.extend(
                page.unwrap()
                    .secret_list()
                    .iter()
                    .filter_map(|s| s.name().map(str::to_owned)),
            );
        }
        let mut tokens = Vec::new();
        for name in names
            .iter()
            .filter(|n| !n[self.prefix.len()..].contains('/'))
        {
            let out = self
                .client
                .get_secret_value()
                .secret_id(name)
                .send()
                .await
                .unwrap();
            let envelope = BASE64.decode(out.secret_string().unwrap()).unwrap();
            let mut token = open_token(&self.keyring, name, &envelope).unwrap();
            token.id = Some(name[self.prefix.len()..].to_owned());
            tokens.push(token);
        }
        tokens
    }

    async fn find_by_id(&self, id: &str) -> Option<OAuthToken> {
        let name = format!("{}{id}", self.prefix);
        let out = self
            .client
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .ok()?;
        open_token(
            &self.keyring,
            &name,
            &BASE64.decode(out.secret_string()?).ok()?,
        )
        .ok()
    }

    async fn find(&self, query: &OAuthToken) -> Option<OAuthToken> {
        self.all()
            .await
            .into_iter()
            .find(|t| match (&query.user_name, &query.refresh_token) {
                (Some(user), _) => t.user_name.as_ref() == Some(user),
                (None, Some(refresh)) => {
                    t.refresh_token.as_ref() == Some(refresh) && t.client_id == query.client_id
                }
                _ => false,
            })
    }

    async fn save(&self, token: &OAuthToken) {
        let existing = self
            .find(&OAuthToken {
                user_name: token.user_name.clone(),
                ..OAuthToken::default()
            })
            .await
            .unwrap();
        let name = format!("{}{}", self.prefix, existing.id.unwrap());
        let value = seal_token(&self.keyring, &name, token).unwrap();
        self.client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }
}

struct Sample {
    latencies: Vec<Duration>,
    calls: u64,
}

impl Sample {
    fn median(&self) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l[l.len() / 2]
    }

    fn p99(&self) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l[((l.len() as f64 * 0.99).ceil() as usize)
            .saturating_sub(1)
            .min(l.len() - 1)]
    }

    fn calls_per_op(&self) -> f64 {
        self.calls as f64 / self.latencies.len() as f64
    }
}

async fn measure<F, Fut>(iterations: usize, counter: &CallCounter, mut op: F) -> Sample
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    counter.reset();
    let mut latencies = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let started = Instant::now();
        op(i).await;
        latencies.push(started.elapsed());
    }
    Sample {
        latencies,
        calls: counter.total(),
    }
}

fn token(i: usize) -> OAuthToken {
    OAuthToken::default()
        .with_user_name(format!("user{i:04}@example.com"))
        .with_client("1000.CLIENTID", format!("client-secret-{i}"))
        .with_refresh_token(format!("1000.refresh-{i}"))
        .with_access_token(format!("1000.access-{i}"), 1_900_000_000_000)
        .with_api_domain("https://www.zohoapis.com")
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    for n in [10usize, 100, 1000] {
        let prefix = common::unique_prefix(&format!("bench-{n}"));
        let ours = SecretsManagerStore::builder(common::client().await, common::keyring())
            .prefix(&prefix)
            .build()
            .unwrap();
        eprintln!("seeding {n} tokens under {prefix}");
        let mut ids = vec![String::new(); n];
        let seeded: Vec<(usize, String)> = stream::iter(0..n)
            .map(|i| {
                let ours = &ours;
                async move {
                    let mut t = token(i);
                    ours.save_token(&mut t).await.map(|()| (i, t.id.unwrap()))
                }
            })
            // One at a time: LocalStack 4.10's listing is not thread-safe under concurrent creates.
            .buffer_unordered(1)
            .try_collect()
            .await
            .unwrap();
        for (i, id) in seeded {
            ids[i] = id;
        }
        // Measure the steady state, as five minutes after the seeding: the listings show every token by
        // then, and the lookup bridges made for the lag are swept.
        SecretsManagerStore::builder(common::client().await, common::keyring())
            .prefix(&prefix)
            .listing_lag(Duration::ZERO)
            .build()
            .unwrap()
            .sweep_bridges()
            .await
            .unwrap();

        let naive_calls = CallCounter::default();
        let base = common::client().await;
        let naive_client = Client::from_conf(
            base.config()
                .to_builder()
                .interceptor(naive_calls.interceptor())
                .build(),
        );
        let naive = NaiveStore {
            client: naive_client,
            keyring: common::keyring(),
            prefix: prefix.clone(),
        };
        let calls = ours.calls().clone();
        // Naive scans read every secret: fewer iterations where N is large, to keep the run short.
        let slow_iters = match n {
            10 => 20,
            100 => 8,
            _ => 3,
        };
        let pick = |i: usize| (i * 7919) % n;

        let mut run = |op: &str, ours: Sample, naive: Sample| {
            rows.push(format!(
                "| {op} | {n} | {} | {} | {:.1} | {} | {} | {:.1} | {:.0}x | {:.0}x |",
                ms(ours.median()),
                ms(ours.p99()),
                ours.calls_per_op(),
                ms(naive.median()),
                ms(naive.p99()),
                naive.calls_per_op(),
                naive.median().as_secs_f64() / ours.median().as_secs_f64(),
                naive.calls_per_op() / ours.calls_per_op(),
            ));
        };

        eprintln!("N = {n}: find by id");
        let a = measure(50, &calls, |i| {
            let id = ids[pick(i)].clone();
            let ours = &ours;
            async move {
                ours.find_token_by_id(&id).await.unwrap().unwrap();
            }
        })
        .await;
        let b = measure(50, &naive_calls, |i| {
            let id = ids[pick(i)].clone();
            let naive = &naive;
            async move {
                naive.find_by_id(&id).await.unwrap();
            }
        })
        .await;
        run("find_token_by_id", a, b);

        eprintln!("N = {n}: find by user");
        let q = |i: usize| {
            OAuthToken::default().with_user_name(format!("user{:04}@example.com", pick(i)))
        };
        let a = measure(50, &calls, |i| {
            let q = q(i);
            let ours = &ours;
            async move {
                ours.find_token(&q).await.unwrap().unwrap();
            }
        })
        .await;
        let b = measure(slow_iters, &naive_calls, |i| {
            let q = q(i);
            let naive = &naive;
            async move {
                naive.find(&q).await.unwrap();
            }
        })
        .await;
        run("find_token by user", a, b);

        eprintln!("N = {n}: find by refresh token");
        let q = |i: usize| {
            OAuthToken::default()
                .with_client("1000.CLIENTID", "cs")
                .with_refresh_token(format!("1000.refresh-{}", pick(i)))
        };
        let a = measure(50, &calls, |i| {
            let q = q(i);
            let ours = &ours;
            async move {
                ours.find_token(&q).await.unwrap().unwrap();
            }
        })
        .await;
        let b = measure(slow_iters, &naive_calls, |i| {
            let q = q(i);
            let naive = &naive;
            async move {
                naive.find(&q).await.unwrap();
            }
        })
        .await;
        run("find_token by refresh token", a, b);

        eprintln!("N = {n}: save (existing, no index change)");
        let a = measure(50, &calls, |i| {
            let mut t = token(pick(i)).with_id(ids[pick(i)].clone());
            let ours = &ours;
            async move {
                ours.save_token(&mut t).await.unwrap();
            }
        })
        .await;
        let b = measure(slow_iters, &naive_calls, |i| {
            let t = token(pick(i));
            let naive = &naive;
            async move {
                naive.save(&t).await;
            }
        })
        .await;
        run("save_token (existing)", a, b);

        eprintln!("N = {n}: get_tokens");
        let a = measure(slow_iters.min(5), &calls, |_| {
            let ours = &ours;
            async move {
                assert_eq!(ours.get_tokens().await.unwrap().len(), n);
            }
        })
        .await;
        let b = measure(slow_iters.min(3), &naive_calls, |_| {
            let naive = &naive;
            async move {
                assert_eq!(naive.all().await.len(), n);
            }
        })
        .await;
        run("get_tokens", a, b);
    }
    println!(
        "| operation | N | ours median ms | ours p99 ms | ours calls/op | naive median ms | naive p99 ms | naive calls/op | latency ratio | calls ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
