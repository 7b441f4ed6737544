//! TokenManager against a mock Zoho accounts server (wiremock) and LocalStack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use common::strict::StrictAws;
use common::zoho::Zoho;
use common::{client, keyring, sdk_config_for, unique_prefix};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoho_token_store::{
    AccountsClient, Error, MemoryStore, OAuthToken, RefreshCoordinator, SecretsManagerStore,
    TokenManager, TokenStore,
};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A stored token for `user` whose access token expires `in_ms` from now (negative: already expired).
fn stored(user: &str, in_ms: i64) -> OAuthToken {
    OAuthToken::default()
        .with_user_name(user)
        .with_client("1000.CLIENTID", "client-secret")
        .with_refresh_token("refresh-original")
        .with_access_token("access-old", (now_ms() as i64 + in_ms) as u64)
        .with_api_domain("https://www.zohoapis.com")
}

async fn memory_with(token: OAuthToken) -> (Arc<MemoryStore>, OAuthToken) {
    let store = Arc::new(MemoryStore::new());
    let mut token = token;
    store.save_token(&mut token).await.unwrap();
    (store, token)
}

fn by_user(user: &str) -> OAuthToken {
    OAuthToken::default().with_user_name(user)
}

#[tokio::test]
async fn grant_exchange_saves_the_token_and_discovers_its_user() {
    let zoho = Zoho::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=1000.grant-xyz"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "access-from-grant", "refresh_token": "refresh-from-grant",
            "api_domain": zoho.server.uri(), "token_type": "Bearer", "expires_in": 3600
        })))
        .expect(1)
        .mount(&zoho.server)
        .await;
    let store = Arc::new(MemoryStore::new());
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .build()
        .unwrap();
    let first_login = OAuthToken::default()
        .with_client("1000.CLIENTID", "client-secret")
        .with_grant_token("1000.grant-xyz")
        .with_redirect_url("https://app.example.com/cb");

    let token = manager.token(&first_login).await.unwrap();
    assert_eq!(token.access_token.unwrap().secret(), "access-from-grant");
    assert_eq!(
        token.refresh_token.as_ref().unwrap().secret(),
        "refresh-from-grant"
    );
    assert_eq!(token.user_name.as_deref(), Some("discovered@example.com"));
    let saved = store
        .find_token(&by_user("discovered@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        saved.refresh_token, token.refresh_token,
        "saved and findable by the discovered user"
    );
    // The SDK's restart flow: the same grant token again finds the stored token, no second exchange.
    assert!(manager.token(&first_login).await.is_ok());
    let header = manager
        .authorization_header(&by_user("discovered@example.com"))
        .await
        .unwrap();
    assert_eq!(
        header.to_str().unwrap(),
        "Zoho-oauthtoken access-from-grant"
    );
    assert!(header.is_sensitive());
}

#[tokio::test]
async fn refreshes_on_expiry_and_within_the_margin_and_keeps_the_refresh_token() {
    let zoho = Zoho::start().await;
    let (store, _) = memory_with(stored("eve@example.com", -1_000)).await;
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .build()
        .unwrap();

    let token = manager.token(&by_user("eve@example.com")).await.unwrap();
    assert_eq!(token.access_token.unwrap().secret(), "access-1");
    assert_eq!(
        token.refresh_token.unwrap().secret(),
        "refresh-original",
        "Zoho sends no new refresh token"
    );
    assert!(
        token.expires_at_ms.unwrap() > now_ms() + 3_500_000,
        "absolute expiry stored"
    );
    manager.token(&by_user("eve@example.com")).await.unwrap();
    assert_eq!(zoho.refreshes(), 1, "a fresh token is not refreshed again");

    let (store, _) = memory_with(stored("fay@example.com", 30_000)).await;
    let manager = TokenManager::builder(store, zoho.accounts())
        .refresh_margin(Duration::from_secs(60))
        .build()
        .unwrap();
    manager.token(&by_user("fay@example.com")).await.unwrap();
    assert_eq!(zoho.refreshes(), 2, "30 s left is within the 60 s margin");

    let (store, _) = memory_with(stored("gus@example.com", 600_000)).await;
    let manager = TokenManager::builder(store, zoho.accounts())
        .build()
        .unwrap();
    let token = manager.token(&by_user("gus@example.com")).await.unwrap();
    assert_eq!(token.access_token.unwrap().secret(), "access-old");
    assert_eq!(zoho.refreshes(), 2, "ten minutes left: no call");
}

#[tokio::test]
async fn refresh_ahead_hands_over_a_token_fresh_for_the_margin_refreshing_only_one_within_it() {
    let zoho = Zoho::start().await;
    let (store, fresh) = memory_with(stored("ida@example.com", 600_000)).await;
    let mut due = stored("jon@example.com", 30_000);
    store.save_token(&mut due).await.unwrap();
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .refresh_margin(Duration::from_secs(60))
        .build()
        .unwrap();

    let same = manager.refresh_ahead(fresh.clone()).await.unwrap();
    assert_eq!(same, Some(fresh), "ten minutes left: handed over as it is");
    assert_eq!(zoho.refreshes(), 0);

    let refreshed = manager.refresh_ahead(due.clone()).await.unwrap().unwrap();
    assert_eq!(refreshed.access_token.unwrap().secret(), "access-1");
    assert_eq!(refreshed.id, due.id);
    assert_eq!(zoho.refreshes(), 1, "30 s left is within the 60 s margin");
    let saved = store
        .find_token_by_id(due.id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(saved.unwrap().access_token.unwrap().secret(), "access-1");

    // Nothing to refresh with: handed over as it is, whatever its expiry.
    let mut bare = due.clone();
    bare.refresh_token = None;
    assert_eq!(
        manager.refresh_ahead(bare.clone()).await.unwrap(),
        Some(bare)
    );
    assert_eq!(zoho.refreshes(), 1);
}

/// A worker's read cache (30 s by default) can hold a copy older than the token this process has just
/// refreshed. Handed to the SDK as it is, with less than the SDK's own 5 s left, the SDK refreshes by
/// itself: a second Zoho refresh of the same expiry, outside the fleet's lease.
#[tokio::test]
async fn refresh_ahead_never_hands_over_an_older_copy_of_a_token_this_process_just_refreshed() {
    let zoho = Zoho::start().await;
    let (store, due) = memory_with(stored("kim@example.com", 30_000)).await;
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .refresh_margin(Duration::from_secs(60))
        .build()
        .unwrap();
    let fresh = manager.refresh_ahead(due.clone()).await.unwrap().unwrap();
    assert_eq!(fresh.access_token.unwrap().secret(), "access-1");
    assert_eq!(zoho.refreshes(), 1);

    // The copy read before that refresh (a cached entry), within the margin and within the SDK's 5 s.
    let mut older = due.clone();
    older.expires_at_ms = Some(now_ms() + 4_000);
    let handed = manager.refresh_ahead(older).await.unwrap().unwrap();
    assert_eq!(
        handed.access_token.unwrap().secret(),
        "access-1",
        "the stored token this process refreshed, not the older copy the SDK would refresh itself"
    );
    assert_eq!(zoho.refreshes(), 1, "and no second refresh");
}

#[tokio::test]
async fn a_short_lived_token_from_zoho_does_not_start_a_refresh_loop() {
    let zoho = Zoho::start_with(Duration::ZERO, 0, 30).await;
    let (store, _) = memory_with(stored("hal@example.com", -1)).await;
    let manager = TokenManager::builder(store, zoho.accounts())
        .build()
        .unwrap();
    for _ in 0..5 {
        manager.token(&by_user("hal@example.com")).await.unwrap();
    }
    assert_eq!(
        zoho.refreshes(),
        1,
        "30 s left is inside the margin, but it was just refreshed"
    );
}

#[tokio::test]
async fn each_zoho_error_class_is_distinct() {
    let cases = [
        (ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_code"})), 1),
        (ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_client"})), 1),
        (
            ResponseTemplate::new(200).set_body_json(json!({
                "error": "Access Denied",
                "error_description": "You have made too many requests continuously. Please try again after some time.",
                "status": "failure"
            })),
            1,
        ),
        // Called twice below: a failed refresh leaves nothing in flight, so the second call tries again.
        (ResponseTemplate::new(503), 6),
    ];
    let mut errors = Vec::new();
    for (response, expected_calls) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token"))
            .respond_with(response)
            .expect(expected_calls)
            .mount(&server)
            .await;
        let (store, _) = memory_with(stored("ida@example.com", -1)).await;
        let manager =
            TokenManager::builder(store.clone(), AccountsClient::with_base_url(server.uri()))
                .build()
                .unwrap();
        let mut err = manager
            .token(&by_user("ida@example.com"))
            .await
            .unwrap_err();
        if expected_calls == 6 {
            err = manager
                .token(&by_user("ida@example.com"))
                .await
                .unwrap_err();
        }
        let kept = store
            .find_token(&by_user("ida@example.com"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            kept.access_token.unwrap().secret(),
            "access-old",
            "a failed refresh changes nothing stored"
        );
        server.verify().await;
        errors.push(err);
    }
    // A refused refresh token: revoked (recorded on the stored token, see tests/strict_zoho.rs), named
    // by its user.
    assert!(
        matches!(&errors[0], Error::TokenRevoked { user: Some(user) } if user == "ida@example.com"),
        "{:?}",
        errors[0]
    );
    assert!(!errors[0].is_retryable());
    assert!(
        matches!(&errors[1], Error::InvalidClient { .. }),
        "{:?}",
        errors[1]
    );
    assert!(
        matches!(&errors[2], Error::Throttled { .. }) && errors[2].is_retryable(),
        "{:?}",
        errors[2]
    );
    assert!(
        matches!(&errors[3], Error::ZohoUnavailable { .. }) && errors[3].is_retryable(),
        "{:?}",
        errors[3]
    );

    // Nothing listening at all: a transport failure, after the same bounded retries.
    let (store, _) = memory_with(stored("ida@example.com", -1)).await;
    let manager = TokenManager::builder(store, AccountsClient::with_base_url("http://127.0.0.1:9"))
        .build()
        .unwrap();
    let err = manager
        .token(&by_user("ida@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ZohoUnavailable { .. }), "{err:?}");
    assert!(
        !format!("{err} {err:?}").contains("refresh-original"),
        "no token in errors"
    );
}

#[tokio::test]
async fn one_refresh_in_flight_per_token_within_a_process() {
    let zoho = Zoho::start_with(Duration::from_millis(300), 1, 3600).await;
    let (store, _) = memory_with(stored("jan@example.com", -1)).await;
    let manager = TokenManager::builder(store, zoho.accounts())
        .build()
        .unwrap();
    let query = by_user("jan@example.com");
    let results = futures::future::join_all((0..16).map(|_| manager.token(&query))).await;
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().unwrap().access_token.as_ref().unwrap().secret() == "access-1")
    );
    assert_eq!(zoho.refreshes(), 1);
}

#[tokio::test]
async fn processes_started_together_with_one_grant_exchange_it_once_and_all_use_its_token() {
    // The three-line setup: every process of a fleet is configured with the same grant token, and
    // starts at once into an empty store. Zoho accepts a code once.
    let zoho = Zoho::start().await.with_grants().await;
    // Through the strict AWS model: LocalStack's CreateSecret is not exclusive under concurrency, AWS's
    // (and the model's) is, and the lease relies on it.
    let strict = StrictAws::start(&[]);
    let prefix = unique_prefix("grant-fleet");
    let barrier = Arc::new(tokio::sync::Barrier::new(6));
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (prefix, barrier, accounts, endpoint) = (
                prefix.clone(),
                Arc::clone(&barrier),
                zoho.accounts(),
                strict.endpoint().to_owned(),
            );
            tokio::spawn(async move {
                let client = aws_sdk_secretsmanager::Client::new(&sdk_config_for(&endpoint).await);
                let store = Arc::new(
                    SecretsManagerStore::builder(client, keyring())
                        .prefix(prefix)
                        .build()
                        .unwrap(),
                );
                let manager = TokenManager::builder(store.clone(), accounts)
                    .coordinator(store)
                    .without_user_discovery()
                    .build()
                    .unwrap();
                let configured = OAuthToken::default()
                    .with_client("1000.CLIENTID", "client-secret")
                    .with_grant_token("1000.grant-fleet")
                    .with_redirect_url("https://app.example.com/cb");
                barrier.wait().await;
                manager.token(&configured).await
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap().unwrap());
    }
    assert_eq!(zoho.exchanges(), 1, "one exchange for the fleet");
    let ids: std::collections::HashSet<_> = tokens.iter().map(|t| t.id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 1, "one stored token, used by every process");
    assert!(
        tokens
            .iter()
            .all(|t| t.access_token.as_ref().unwrap().secret() == "access-1000.grant-fleet")
    );
}

#[tokio::test]
async fn eight_processes_hitting_one_expired_token_make_one_call_to_zoho() {
    let zoho = Zoho::start_with(Duration::from_millis(800), 1, 3600).await;
    // Through the strict AWS model, whose CreateSecret is exclusive as AWS's is (LocalStack's is not
    // quite, and the lease relies on it).
    let strict = StrictAws::start(&[]);
    let prefix = unique_prefix("stampede");
    let seed = SecretsManagerStore::builder(strict.client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    let mut token = stored("kai@example.com", -1_000);
    seed.save_token(&mut token).await.unwrap();
    let id = token.id.clone().unwrap();

    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (prefix, barrier, accounts, id, endpoint) = (
                prefix.clone(),
                Arc::clone(&barrier),
                zoho.accounts(),
                id.clone(),
                strict.endpoint().to_owned(),
            );
            tokio::spawn(async move {
                // Each "process": its own client, store and manager.
                let client = aws_sdk_secretsmanager::Client::new(&sdk_config_for(&endpoint).await);
                let store = Arc::new(
                    SecretsManagerStore::builder(client, keyring())
                        .prefix(prefix)
                        .build()
                        .unwrap(),
                );
                let manager = TokenManager::builder(store.clone(), accounts)
                    .coordinator(store)
                    .build()
                    .unwrap();
                barrier.wait().await;
                manager
                    .token(&OAuthToken::default().with_id(id))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut access = Vec::new();
    for task in tasks {
        access.push(
            task.await
                .unwrap()
                .access_token
                .unwrap()
                .secret()
                .to_owned(),
        );
    }
    println!(
        "stampede: 8 managers, {} call(s) to the token endpoint",
        zoho.refreshes()
    );
    assert_eq!(zoho.refreshes(), 1, "one call to Zoho for eight processes");
    assert!(access.iter().all(|a| a == "access-1"), "{access:?}");
    // The lease was released: it can be taken at once (without release it would be held for 30 s).
    assert!(
        seed.try_acquire(&id, Duration::from_secs(30))
            .await
            .unwrap()
            .is_some(),
        "the lease was released"
    );
}

#[tokio::test]
async fn a_lease_survives_a_slow_refresh_and_frees_itself_when_its_holder_dies() {
    // Slow: the refresh takes 5 s, the lease lives 3 s, so only renewal keeps it.
    let zoho = Zoho::start_with(Duration::from_secs(5), 1, 3600).await;
    let prefix = unique_prefix("lease");
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let mut token = stored("lia@example.com", -1_000);
    store.save_token(&mut token).await.unwrap();
    let id = token.id.clone().unwrap();
    let manager = |store: Arc<SecretsManagerStore>| {
        TokenManager::builder(store.clone(), zoho.accounts())
            .coordinator(store)
            .lease_ttl(Duration::from_secs(3))
            .build()
            .unwrap()
    };
    let first = manager(Arc::clone(&store));
    let second = manager(Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    ));
    let query = OAuthToken::default().with_id(&id);
    let (a, b) = tokio::join!(first.token(&query), async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        second.token(&query).await
    });
    assert_eq!(a.unwrap().access_token, b.unwrap().access_token);
    assert_eq!(
        zoho.refreshes(),
        1,
        "the waiting process never took over the renewed lease"
    );

    // A holder that dies: a lease taken and never released nor renewed.
    let mut expired = stored("lia@example.com", -1_000);
    expired.id = Some(id.clone());
    store.save_token(&mut expired).await.unwrap();
    let dead = store
        .try_acquire(&id, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(dead.is_some());
    let started = Instant::now();
    let token = manager(Arc::clone(&store)).token(&query).await.unwrap();
    assert_eq!(token.access_token.unwrap().secret(), "access-2");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited for the dead lease to expire"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn a_cancelled_refresh_never_leaves_the_token_stuck() {
    let zoho = Zoho::start_with(Duration::from_secs(3), 1, 3600).await;
    let prefix = unique_prefix("cancel");
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let mut token = stored("max@example.com", -1_000);
    store.save_token(&mut token).await.unwrap();
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .coordinator(store)
        .build()
        .unwrap();
    let query = OAuthToken::default().with_id(token.id.unwrap());

    // Give up once the (slow) refresh has reached Zoho: the lease is held and the call in flight.
    tokio::select! {
        result = manager.token(&query) => panic!("the refresh should still be running: {result:?}"),
        () = async { while zoho.refreshes() == 0 { tokio::time::sleep(Duration::from_millis(20)).await } } => {}
    }
    // The in-flight entry and the lease are gone: the next call refreshes at once (lease ttl is 30 s).
    let started = Instant::now();
    let token = manager.token(&query).await.unwrap();
    assert_eq!(token.access_token.unwrap().secret(), "access-2");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not stuck behind the cancelled refresh"
    );
}

/// A store whose saves always fail.
#[derive(Debug)]
struct BrokenSaves(MemoryStore);

#[async_trait]
impl TokenStore for BrokenSaves {
    async fn find_token(&self, token: &OAuthToken) -> zoho_token_store::Result<Option<OAuthToken>> {
        self.0.find_token(token).await
    }
    async fn save_token(&self, _: &mut OAuthToken) -> zoho_token_store::Result<()> {
        Err(Error::Backend {
            operation: "PutSecretValue",
            retryable: true,
            throttled: false,
            reason: "the service is down (injected by the test)".into(),
            fix: None,
            source: Arc::new(std::io::Error::other("down")),
        })
    }
    async fn delete_token(&self, id: &str) -> zoho_token_store::Result<()> {
        self.0.delete_token(id).await
    }
    async fn get_tokens(&self) -> zoho_token_store::Result<Vec<OAuthToken>> {
        self.0.get_tokens().await
    }
    async fn delete_tokens(&self) -> zoho_token_store::Result<()> {
        self.0.delete_tokens().await
    }
    async fn find_token_by_id(&self, id: &str) -> zoho_token_store::Result<Option<OAuthToken>> {
        self.0.find_token_by_id(id).await
    }
}

#[tokio::test]
async fn a_failed_save_after_refresh_is_an_error_that_carries_the_new_token() {
    let zoho = Zoho::start().await;
    let inner = MemoryStore::new();
    let mut token = stored("ned@example.com", -1);
    inner.save_token(&mut token).await.unwrap();
    let manager = TokenManager::builder(Arc::new(BrokenSaves(inner)), zoho.accounts())
        .build()
        .unwrap();
    let err = manager
        .token(&by_user("ned@example.com"))
        .await
        .unwrap_err();
    let Error::SaveAfterRefresh { token, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        token.access_token.as_ref().unwrap().secret(),
        "access-1",
        "the request can proceed"
    );
    assert!(matches!(**source, Error::Backend { .. }));
    assert!(err.is_retryable());
    assert!(
        !format!("{err:?}").contains("access-1"),
        "the attached token stays redacted"
    );
}

#[tokio::test]
async fn revoke_tells_zoho_then_deletes_the_token() {
    let zoho = Zoho::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token/revoke"))
        .and(body_string_contains("token=refresh-original"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "success"})))
        .expect(1)
        .mount(&zoho.server)
        .await;
    let (store, _) = memory_with(stored("ora@example.com", 600_000)).await;
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .build()
        .unwrap();
    manager.revoke(&by_user("ora@example.com")).await.unwrap();
    assert!(
        store
            .find_token(&by_user("ora@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    zoho.server.verify().await;
}

#[tokio::test]
async fn refresh_due_refreshes_only_tokens_expiring_within_the_window() {
    let zoho = Zoho::start().await;
    let prefix = unique_prefix("due");
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    for (n, in_ms) in [
        (0, -5_000),
        (1, 120_000),
        (2, 3_000_000),
        (3, 3_000_000),
        (4, 3_000_000),
    ] {
        let mut t = stored(&format!("p{n}@example.com"), in_ms);
        store.save_token(&mut t).await.unwrap();
    }
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .coordinator(store.clone())
        .build()
        .unwrap();
    let report = manager.refresh_due(Duration::from_secs(600)).await.unwrap();
    assert_eq!(
        (report.examined, report.refreshed, report.failed.len()),
        (5, 2, 0),
        "{report:?}"
    );
    assert_eq!(zoho.refreshes(), 2);
    let soon = store
        .find_token(&by_user("p1@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert!(soon.access_token.unwrap().secret().starts_with("access-"));
    assert!(soon.expires_at_ms.unwrap() > now_ms() + 3_000_000);
}

#[tokio::test]
async fn debug_of_a_busy_store_and_manager_shows_no_user_names_or_digests() {
    let zoho = Zoho::start().await;
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(unique_prefix("debug-redacted"))
            .cache(
                std::num::NonZeroUsize::new(16).unwrap(),
                Duration::from_secs(60),
            )
            .build()
            .unwrap(),
    );
    let mut token = stored("private.person@example.com", -1_000);
    store.save_token(&mut token).await.unwrap();
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .coordinator(store.clone())
        .build()
        .unwrap();
    manager
        .token(&by_user("private.person@example.com"))
        .await
        .unwrap();
    store
        .find_token(&by_user("private.person@example.com"))
        .await
        .unwrap()
        .unwrap();

    let id = token.id.clone().unwrap();
    let described = client()
        .await
        .describe_secret()
        .secret_id(store.secret_name(&id).unwrap())
        .send()
        .await
        .unwrap();
    let shown = format!("{store:?}\n{manager:?}\n{store:#?}\n{manager:#?}");
    assert!(shown.contains("entries: 1"), "the cache is in use: {shown}");
    let mut secrets = vec![
        "private.person",
        id.as_str(),
        "refresh-original",
        "client-secret",
    ];
    let digests: Vec<String> = described
        .tags()
        .iter()
        .filter_map(|t| t.value())
        .filter(|v| v.len() == 64)
        .map(str::to_owned)
        .collect();
    assert!(!digests.is_empty());
    secrets.extend(digests.iter().map(|d| &d[..16]));
    for secret in secrets {
        assert!(!shown.contains(secret), "`{secret}` in Debug:\n{shown}");
    }
}

#[test]
fn a_wait_timeout_that_ends_before_a_crashed_holders_lease_can_be_taken_over_is_refused() {
    let manager = |ttl: u64, wait: u64| {
        let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
        zoho_token_store::TokenManager::builder(
            store,
            zoho_token_store::AccountsClient::with_base_url("http://127.0.0.1:9"),
        )
        .lease_ttl(Duration::from_secs(ttl))
        .wait_timeout(Duration::from_secs(wait))
        .build()
    };
    // 10 s of lease and 5 s of clock skew: a waiter giving up at 12 s would leave the crashed holder's
    // token to every process's own refresh.
    let refused = manager(10, 12).unwrap_err();
    assert!(refused.to_string().contains("crashed holder"), "{refused}");
    manager(10, 20).unwrap();
    manager(30, 40).unwrap(); // the defaults' proportions
}

/// A stored token whose access token Zoho issued `age_s` ago with a `lifetime_s` lifetime, as the
/// manager saves it (it records the issue time).
fn issued(user: &str, lifetime_s: u64, age_s: u64) -> OAuthToken {
    let issued_at = now_ms() - age_s * 1000;
    stored(user, 0)
        .with_access_token("access-old", issued_at + lifetime_s * 1000)
        .with_issued_at(issued_at)
}

/// Short tokens (a time-scaled Zoho): the default 60 s margin would make a fresh 40 s token due on
/// arrival, and every process of a fleet that reads it would refresh it once more. The margin fits the
/// token: a quarter of its life, known in every process from the issue time the token carries.
#[tokio::test]
async fn a_token_living_seconds_is_refreshed_within_a_quarter_of_its_life_once_for_a_fleet() {
    for lifetime in [90, 40] {
        let zoho = Zoho::start_with(Duration::ZERO, 0, lifetime).await;
        let quarter = Duration::from_millis(lifetime * 250);
        let store = Arc::new(MemoryStore::new());
        // Two processes sharing one store, each with the default margin (60 s).
        let process = || {
            TokenManager::builder(store.clone(), zoho.accounts())
                .build()
                .unwrap()
        };
        let (first, second) = (process(), process());
        let user = format!("short{lifetime}@example.com");

        // Past half its life, more than a quarter left: not due, though under the 60 s margin.
        let mut token = issued(&user, lifetime, lifetime / 2);
        store.save_token(&mut token).await.unwrap();
        assert_eq!(first.refresh_margin(&token), quarter);
        let handed = first.token(&by_user(&user)).await.unwrap();
        assert_eq!(handed.access_token.unwrap().secret(), "access-old");
        assert_eq!(
            zoho.refreshes(),
            0,
            "{lifetime} s: a quarter of its life is left"
        );

        // Within the last quarter: due, refreshed once.
        let mut due = issued(&user, lifetime, lifetime - lifetime / 4 + 2);
        due.id.clone_from(&token.id);
        store.update_token(&due).await.unwrap();
        let fresh = first.token(&by_user(&user)).await.unwrap();
        assert_eq!(fresh.access_token.as_ref().unwrap().secret(), "access-1");
        assert_eq!(zoho.refreshes(), 1);
        assert_eq!(fresh.lifetime(), Some(Duration::from_secs(lifetime)));

        // The fresh token is not due in either process: the other one never refreshed it and still
        // knows its lifetime from the stored token, so no second refresh, in a loop or otherwise.
        for manager in [&second, &first, &second] {
            for _ in 0..3 {
                let handed = manager.token(&by_user(&user)).await.unwrap();
                assert_eq!(handed.access_token.unwrap().secret(), "access-1");
                let ahead = manager
                    .refresh_ahead(handed_copy(&store, &user).await)
                    .await;
                assert_eq!(
                    ahead.unwrap().unwrap().access_token.unwrap().secret(),
                    "access-1"
                );
            }
        }
        assert_eq!(
            zoho.refreshes(),
            1,
            "{lifetime} s tokens: one refresh in all"
        );
    }
}

async fn handed_copy(store: &MemoryStore, user: &str) -> OAuthToken {
    store.find_token(&by_user(user)).await.unwrap().unwrap()
}

/// A store whose writes fail as AWS fails a role without write permission, while `refuse` is set.
#[derive(Debug, Default)]
struct DeniedWrites {
    inner: MemoryStore,
    refuse: std::sync::atomic::AtomicBool,
}

impl DeniedWrites {
    fn refuse(&self, refuse: bool) {
        self.refuse
            .store(refuse, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self, operation: &'static str) -> zoho_token_store::Result<()> {
        if !self.refuse.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        Err(Error::Backend {
            operation,
            retryable: false,
            throttled: false,
            reason: format!(
                "AccessDeniedException: not authorized to perform secretsmanager:{operation} (injected by \
                 the test)"
            ),
            fix: None,
            source: Arc::new(std::io::Error::other("denied")),
        })
    }
}

#[async_trait]
impl TokenStore for DeniedWrites {
    async fn find_token(&self, token: &OAuthToken) -> zoho_token_store::Result<Option<OAuthToken>> {
        self.inner.find_token(token).await
    }
    async fn save_token(&self, token: &mut OAuthToken) -> zoho_token_store::Result<()> {
        self.check("CreateSecret")?;
        self.inner.save_token(token).await
    }
    async fn update_token(&self, token: &OAuthToken) -> zoho_token_store::Result<()> {
        self.check("PutSecretValue")?;
        self.inner.update_token(token).await
    }
    async fn delete_token(&self, id: &str) -> zoho_token_store::Result<()> {
        self.inner.delete_token(id).await
    }
    async fn get_tokens(&self) -> zoho_token_store::Result<Vec<OAuthToken>> {
        self.inner.get_tokens().await
    }
    async fn delete_tokens(&self) -> zoho_token_store::Result<()> {
        self.inner.delete_tokens().await
    }
    async fn find_token_by_id(&self, id: &str) -> zoho_token_store::Result<Option<OAuthToken>> {
        self.inner.find_token_by_id(id).await
    }
}

/// Past the first back-off step of saving a kept token again.
async fn past_backoff() {
    tokio::time::sleep(Duration::from_millis(1_100)).await;
}

fn unsaved(result: zoho_token_store::Result<OAuthToken>) -> (OAuthToken, String) {
    match result {
        Err(Error::SaveAfterRefresh { token, source }) => (*token, source.to_string()),
        other => panic!("expected SaveAfterRefresh, got {other:?}"),
    }
}

/// A Zoho that honours grants, a store refusing writes, and a manager without user discovery over them:
/// a grant's token is got and kept unsaved.
async fn refusing_sign_in() -> (Zoho, Arc<DeniedWrites>, TokenManager) {
    let zoho = Zoho::start().await.with_grants().await;
    let store = Arc::new(DeniedWrites::default());
    store.refuse(true);
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .without_user_discovery()
        .build()
        .unwrap();
    (zoho, store, manager)
}

/// The SDK's sign-in with the grant `code`.
fn grant_sign_in(code: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "client-secret")
        .with_grant_token(code)
        .with_redirect_url("https://app.example.com/cb")
}

#[tokio::test]
async fn a_grants_token_the_store_refused_is_kept_handed_out_and_saved_later_never_exchanged_again()
{
    let (zoho, store, manager) = refusing_sign_in().await;
    let sign_in = grant_sign_in("code-kept");

    let (token, cause) = unsaved(manager.token(&sign_in).await);
    assert_eq!(token.refresh_token.unwrap().secret(), "refresh-code-kept");
    assert!(
        cause.contains("AccessDenied") && cause.contains("CreateSecret"),
        "the AWS cause: {cause}"
    );
    // Asked again (the SDK's next lookup, by the grant or the token it was handed): the same token, the
    // grant not exchanged again (Zoho would refuse it), nothing stored yet.
    for query in [
        sign_in.clone(),
        OAuthToken::default().with_access_token("access-code-kept", 0),
    ] {
        let (again, cause) = unsaved(manager.token(&query).await);
        assert_eq!(again.access_token.unwrap().secret(), "access-code-kept");
        assert!(cause.contains("CreateSecret"), "{cause}");
    }
    assert!(manager.holds_unsaved(&sign_in));
    assert_eq!(zoho.exchanges(), 1);
    assert!(store.inner.get_tokens().await.unwrap().is_empty());

    // Once AWS takes writes again, the next lookup past the back-off saves it.
    store.refuse(false);
    past_backoff().await;
    let saved = manager.token(&sign_in).await.unwrap();
    assert_eq!(saved.access_token.unwrap().secret(), "access-code-kept");
    let [stored] = &store.inner.get_tokens().await.unwrap()[..] else {
        panic!("one token stored")
    };
    assert_eq!(stored.id, saved.id);
    assert_eq!(
        stored.refresh_token.as_ref().unwrap().secret(),
        "refresh-code-kept"
    );
    assert!(!manager.holds_unsaved(&sign_in));
    assert_eq!((zoho.exchanges(), zoho.refreshes()), (1, 0));
}

/// A grant's token kept unsaved names no user (discovery off); a copy of its refresh token stored
/// meanwhile names one (the SDK names a token when it saves it). Saved again, the kept token is that
/// user's update: it takes the stored name (the same refresh token is the same user) rather than being
/// refused as a token naming no user over a named one.
#[tokio::test]
async fn a_kept_token_saved_again_over_its_named_copy_keeps_the_name() {
    let (zoho, store, manager) = refusing_sign_in().await;
    let sign_in = grant_sign_in("code-named");
    let (kept, _) = unsaved(manager.token(&sign_in).await);
    assert_eq!(kept.user_name, None);

    store.refuse(false);
    let mut named = kept.clone();
    named.user_name = Some("wes@example.com".into());
    named.access_token = Some("access-older".into());
    named.expires_at_ms = Some(1);
    store.inner.save_token(&mut named).await.unwrap();
    past_backoff().await;
    let saved = manager.token(&sign_in).await.unwrap();
    assert_eq!(saved.access_token.unwrap().secret(), "access-code-named");
    let [stored] = &store.inner.get_tokens().await.unwrap()[..] else {
        panic!("one token stored")
    };
    assert_eq!(stored.user_name.as_deref(), Some("wes@example.com"));
    assert_eq!(
        stored.access_token.as_ref().unwrap().secret(),
        "access-code-named"
    );
    assert!(!manager.holds_unsaved(&sign_in));
    assert_eq!(zoho.exchanges(), 1);
}

#[tokio::test]
async fn a_refreshed_token_the_store_refused_is_not_refreshed_again_and_a_delete_meanwhile_stands()
{
    let zoho = Zoho::start().await;
    let store = Arc::new(DeniedWrites::default());
    let mut token = stored("uma@example.com", -1_000);
    store.save_token(&mut token).await.unwrap();
    let id = token.id.clone().unwrap();
    store.refuse(true);
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .build()
        .unwrap();

    let (fresh, cause) = unsaved(manager.token(&by_user("uma@example.com")).await);
    assert_eq!(fresh.access_token.unwrap().secret(), "access-1");
    assert!(cause.contains("PutSecretValue"), "{cause}");
    // The stored copy is still the expired one; lookups and refresh-ahead hand over the kept token.
    let stale = store.inner.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(stale.access_token.as_ref().unwrap().secret(), "access-old");
    let ahead = manager.refresh_ahead(stale).await.unwrap().unwrap();
    assert_eq!(ahead.access_token.unwrap().secret(), "access-1");
    unsaved(manager.token(&by_user("uma@example.com")).await);
    assert_eq!(zoho.refreshes(), 1, "one refresh: the kept token is used");

    // Saved again once AWS takes it.
    store.refuse(false);
    past_backoff().await;
    let saved = manager
        .token(&OAuthToken::default().with_id(&id))
        .await
        .unwrap();
    assert_eq!(saved.access_token.unwrap().secret(), "access-1");
    let stored = store.inner.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(stored.access_token.unwrap().secret(), "access-1");

    // Refused again, then deleted by an operator just before the next save: the deletion stands.
    let expired = stored_like(&id, "uma@example.com");
    store.inner.update_token(&expired).await.unwrap();
    store.refuse(true);
    unsaved(manager.token(&OAuthToken::default().with_id(&id)).await);
    assert_eq!(zoho.refreshes(), 2);
    past_backoff().await;
    store.inner.delete_token(&id).await.unwrap();
    store.refuse(false);
    let err = manager
        .token(&OAuthToken::default().with_id(&id))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    assert!(!manager.holds_unsaved(&OAuthToken::default().with_id(&id)));
    assert!(
        store.inner.get_tokens().await.unwrap().is_empty(),
        "not re-created"
    );
    assert_eq!(zoho.refreshes(), 2);
}

#[tokio::test]
async fn a_kept_token_deleted_meanwhile_is_not_handed_out_while_its_save_waits() {
    let zoho = Zoho::start().await;
    let store = Arc::new(DeniedWrites::default());
    let mut token = stored("val@example.com", -1_000);
    store.save_token(&mut token).await.unwrap();
    let id = token.id.clone().unwrap();
    store.refuse(true);
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .build()
        .unwrap();
    unsaved(manager.token(&by_user("val@example.com")).await);

    // Deleted within the save's back-off: the next lookup does not hand the kept token out.
    store.inner.delete_token(&id).await.unwrap();
    let err = manager
        .token(&by_user("val@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    store.refuse(false);
    past_backoff().await;
    assert!(
        manager.token(&by_user("val@example.com")).await.is_err(),
        "nothing to find: it stays deleted"
    );
    assert!(store.inner.get_tokens().await.unwrap().is_empty());
    assert_eq!(zoho.refreshes(), 1);
}

/// `user`'s stored token under `id`, expired.
fn stored_like(id: &str, user: &str) -> OAuthToken {
    stored(user, -1_000).with_id(id)
}
