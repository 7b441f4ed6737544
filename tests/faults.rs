//! Faults and abuse on LocalStack: injected throttling and server errors, the service stopping in the
//! middle of bulk operations, and a concurrency soak with invariants checked afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_types::body::SdkBody;
use common::{OnSend, client, client_with, keyring, raw_names, token_for, unique_prefix};
use zoho_token_store::{Error, OAuthToken, SecretsManagerStore, TokenStore};

/// Turns every `every`-th response into a throttling error or a 500 (alternately) after the service has
/// acted on the request, so the SDK retries a request that may already have taken effect.
#[derive(Debug)]
struct FlakyService {
    every: usize,
    seen: AtomicUsize,
    injected: Arc<AtomicUsize>,
}

impl Intercept for FlakyService {
    fn name(&self) -> &'static str {
        "FlakyService"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !(self.seen.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(self.every) {
            return Ok(());
        }
        let (status, code) = if self
            .injected
            .fetch_add(1, Ordering::SeqCst)
            .is_multiple_of(2)
        {
            (400, "ThrottlingException")
        } else {
            (500, "InternalServiceError")
        };
        let response = context.response_mut();
        *response.status_mut() = status.try_into()?;
        response.headers_mut().insert("x-amzn-errortype", code);
        *response.body_mut() = SdkBody::from(format!(
            "{{\"__type\":\"{code}\",\"message\":\"injected by the test\"}}"
        ));
        Ok(())
    }
}

#[tokio::test]
async fn call_budgets_count_operations_and_report_retries_apart() {
    // Every second response is a throttle or a 500, so the SDK retries every second call once.
    let base = common::sdk_config().await;
    let config = aws_sdk_secretsmanager::config::Builder::from(&base)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(10)),
        )
        .interceptor(FlakyService {
            every: 2,
            seen: 0.into(),
            injected: Arc::default(),
        })
        .build();
    let store =
        SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::from_conf(config), keyring())
            .prefix(unique_prefix("retries-apart"))
            .build()
            .unwrap();
    for n in 0..10 {
        assert!(
            store
                .find_token_by_id(&format!("absent{n}"))
                .await
                .unwrap()
                .is_none()
        );
    }
    let calls = store.calls();
    assert_eq!(calls.count("GetSecretValue"), 10, "one call per lookup");
    assert_eq!(calls.total(), 10);
    assert!(
        calls.retries("GetSecretValue") >= 4,
        "the injected failures were retried and reported apart: {}",
        calls.retries("GetSecretValue")
    );
    assert_eq!(calls.total_retries(), calls.retries("GetSecretValue"));
}

#[tokio::test]
async fn throttling_and_server_errors_on_a_third_of_responses_are_absorbed_by_retries() {
    let injected = Arc::new(AtomicUsize::new(0));
    // Six attempts, as every test client has: LocalStack's own 500s under the parallel soak come on top
    // of the injected third, and four attempts could all meet one or the other.
    let base = common::sdk_config().await;
    let config = aws_sdk_secretsmanager::config::Builder::from(&base)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(6)
                .with_initial_backoff(Duration::from_millis(20)),
        )
        .interceptor(FlakyService {
            every: 3,
            seen: 0.into(),
            injected: Arc::clone(&injected),
        })
        .build();
    // No lookup bridges (a zero listing lag, as LocalStack's listings are): this test is about retries
    // absorbing faults, and every extra call draws on the client's retry quota, which a third of all
    // responses failing (plus LocalStack's own 500s under parallel load) can exhaust.
    let store =
        SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::from_conf(config), keyring())
            .prefix(unique_prefix("flaky"))
            .listing_lag(Duration::ZERO)
            .build()
            .unwrap();

    let started = Instant::now();
    let mut saved = Vec::new();
    for n in 0..15 {
        let mut t = token_for(&format!("f{n}@example.com"), &format!("f{n}"));
        store.save_token(&mut t).await.unwrap();
        saved.push(t);
    }
    for t in &saved {
        let by_user = OAuthToken::default().with_user_name(t.user_name.clone().unwrap());
        assert_eq!(store.find_token(&by_user).await.unwrap().as_ref(), Some(t));
        let by_refresh = OAuthToken::default()
            .with_client("1000.CLIENTID", "cs")
            .with_refresh_token(t.refresh_token.clone().unwrap());
        assert_eq!(
            store.find_token(&by_refresh).await.unwrap().unwrap().id,
            t.id
        );
    }
    for t in &saved[..5] {
        store.delete_token(t.id.as_deref().unwrap()).await.unwrap();
    }
    assert_eq!(store.get_tokens().await.unwrap().len(), 10);
    store.delete_tokens().await.unwrap();
    assert!(store.get_tokens().await.unwrap().is_empty());

    assert!(
        injected.load(Ordering::SeqCst) >= 20,
        "faults were injected: {}",
        injected.load(Ordering::SeqCst)
    );
    assert!(
        store.calls().total() > 70,
        "retries were made: {:?}",
        store.calls().snapshot()
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "bounded time: {:?}",
        started.elapsed()
    );
}

async fn seeded(test: &str, n: usize) -> (SecretsManagerStore, Vec<OAuthToken>) {
    let store = SecretsManagerStore::builder(client().await, keyring())
        .prefix(unique_prefix(test))
        .build()
        .unwrap();
    let mut tokens = Vec::new();
    for i in 0..n {
        let mut t = token_for(&format!("s{i:02}@example.com"), &format!("s{i}"));
        store.save_token(&mut t).await.unwrap();
        tokens.push(t);
    }
    (store, tokens)
}

fn sorted(mut tokens: Vec<OAuthToken>) -> Vec<OAuthToken> {
    tokens.sort_by(|a, b| a.id.cmp(&b.id));
    tokens
}

#[tokio::test]
async fn the_service_stopping_mid_listing_or_mid_deletion_loses_nothing_and_a_rerun_completes() {
    let (store, tokens) = seeded("outage", 50).await;
    let broken = |operation: &'static str, allowed: usize| {
        let prefix = store.prefix().to_owned();
        async move {
            SecretsManagerStore::builder(
                client_with(OnSend::fail_after(operation, allowed)).await,
                keyring(),
            )
            .prefix(prefix)
            .build()
            .unwrap()
        }
    };

    // Listing: the second page of three never comes back.
    let err = broken("BatchGetSecretValue", 1)
        .await
        .get_tokens()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                operation: "BatchGetSecretValue",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        sorted(store.get_tokens().await.unwrap()),
        sorted(tokens.clone()),
        "nothing lost, all readable"
    );

    // Deleting everything: the service stops after ten deletions.
    let err = broken("DeleteSecret", 10)
        .await
        .delete_tokens()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                operation: "DeleteSecret",
                ..
            }
        ),
        "{err:?}"
    );
    let left = store.get_tokens().await.unwrap();
    // Ten deletions were let through; in-flight ones are abandoned when the error ends the run.
    assert!((40..50).contains(&left.len()), "{} left", left.len());
    for t in &left {
        assert!(tokens.contains(t), "every remaining token is intact");
    }
    store.delete_tokens().await.unwrap();
    assert!(store.get_tokens().await.unwrap().is_empty());
    assert!(
        raw_names(&client().await, store.prefix(), false)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrency_soak_keeps_one_consistent_secret_per_user() {
    const TASKS: usize = 64;
    const USERS: u64 = 20;
    let prefix = unique_prefix("soak");
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(Arc::new(
            SecretsManagerStore::builder(client().await, keyring())
                .prefix(&prefix)
                .build()
                .unwrap(),
        ));
    }
    let saved: Arc<Mutex<HashMap<u64, Vec<u64>>>> = Arc::default();
    let sequence = Arc::new(AtomicU64::new(0));
    let transient = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(4);

    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (store, saved, sequence, transient) = (
                Arc::clone(&stores[task % 8]),
                Arc::clone(&saved),
                Arc::clone(&sequence),
                Arc::clone(&transient),
            );
            tokio::spawn(async move {
                let mut state = task as u64 * 2_654_435_761 + 1;
                for _ in 0..40 {
                    if Instant::now() > deadline {
                        break;
                    }
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let user = (state >> 33) % USERS;
                    let name = format!("soak{user}@example.com");
                    let result = match (state >> 20) % 10 {
                        0..=5 => {
                            // Both tokens carry the same sequence number: a torn write would show.
                            let seq = sequence.fetch_add(1, Ordering::SeqCst);
                            let mut t = OAuthToken::default()
                                .with_user_name(&name)
                                .with_client("1000.CLIENTID", "cs")
                                .with_refresh_token(format!("r-{user}-{seq}"))
                                .with_access_token(format!("a-{user}-{seq}"), 1_900_000_000_000);
                            let r = store.save_token(&mut t).await;
                            if r.is_ok() {
                                saved.lock().unwrap().entry(user).or_default().push(seq);
                            }
                            r
                        }
                        6..=8 => store
                            .find_token(&OAuthToken::default().with_user_name(&name))
                            .await
                            .map(|_| ()),
                        _ => match store
                            .find_token(&OAuthToken::default().with_user_name(&name))
                            .await
                        {
                            Ok(Some(t)) => store.delete_token(t.id.as_deref().unwrap()).await,
                            other => other.map(|_| ()),
                        },
                    };
                    match result {
                        Ok(()) => {}
                        // LocalStack's listing is not thread-safe under this load (HTTP 500, already retried).
                        Err(e) if e.is_retryable() => {
                            transient.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => panic!("task {task}: {e:?}"),
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }

    let all = stores[0].get_tokens().await.unwrap();
    let saved = saved.lock().unwrap();
    let mut per_user: HashMap<String, usize> = HashMap::new();
    for t in &all {
        let user = t.user_name.clone().unwrap();
        *per_user.entry(user.clone()).or_default() += 1;
        let refresh = t.refresh_token.as_ref().unwrap().secret();
        let access = t.access_token.as_ref().unwrap().secret();
        let (_, rest) = refresh.split_once('-').unwrap();
        assert_eq!(
            access,
            format!("a-{rest}"),
            "refresh and access token come from the same save"
        );
        let (u, seq) = rest.split_once('-').unwrap();
        assert_eq!(user, format!("soak{u}@example.com"));
        assert!(
            saved[&u.parse::<u64>().unwrap()].contains(&seq.parse().unwrap()),
            "a value some task saved"
        );
    }
    assert!(
        per_user.values().all(|&n| n == 1),
        "at most one secret per user: {per_user:?}"
    );
    let total = sequence.load(Ordering::SeqCst);
    println!(
        "soak: {total} saves, {} tokens left, {} transient LocalStack errors",
        all.len(),
        transient.load(Ordering::SeqCst)
    );
    assert!(total > 50, "the soak did real work");
}

#[tokio::test]
async fn a_throttled_service_is_kind_throttled_and_retryable_and_a_server_error_kind_backend() {
    // Every response fails, alternately throttled and 500, with the SDK's retries off.
    let base = common::sdk_config().await;
    let config = aws_sdk_secretsmanager::config::Builder::from(&base)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .interceptor(FlakyService {
            every: 1,
            seen: 0.into(),
            injected: Arc::default(),
        })
        .build();
    let store =
        SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::from_conf(config), keyring())
            .prefix(unique_prefix("throttled-kind"))
            .build()
            .unwrap();
    let throttled = store.find_token_by_id("t1").await.unwrap_err();
    assert!(
        matches!(
            throttled,
            Error::Backend {
                throttled: true,
                retryable: true,
                ..
            }
        ),
        "{throttled:?}"
    );
    assert_eq!(throttled.kind(), "Throttled");
    assert!(
        throttled.to_string().contains("ThrottlingException"),
        "{throttled}"
    );
    let failed = store.find_token_by_id("t1").await.unwrap_err();
    assert_eq!(failed.kind(), "Backend", "{failed:?}");
    assert!(failed.is_retryable());
    assert_eq!(
        Error::Throttled { until: None }.kind(),
        "Throttled",
        "Zoho's throttling too"
    );
}
