//! A fleet of processes on "real AWS": each guarantee of the store, checked with several processes at
//! once (each with its own client, store and manager), stale state, AWS as it is (`common::strict`:
//! listings that lag, uneven pages, the version quota), and operators racing applications. LocalStack behind
//! it, and Zoho as strict as Zoho beside it (`common::strict_zoho`: a grant once, the refresh window, the
//! live-token and refresh-token limits); every scenario ends inside Zoho's limits.
//!
//! (a) data-key rotation and (b) index-key rotation with a long-lived process on the old keyring;
//! (c) delete, purge and revoke racing refreshes; (d) cold starts inside the listing lag for each SDK
//! configuration; (e) background writers (rotation finish, re-tag, leases) racing the application.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
};
use common::strict::StrictAws;
use common::strict_zoho::StrictZoho;
use common::{OnSend, client, client_with, keyring, token_names, unique_prefix};
use serde_json::json;
use zoho_token_store::{
    BulkOptions, Error, OAuthToken, RefreshCoordinator, RotationEvent, RotationHandler,
    SecretKeySource, SecretsManagerStore, TokenManager, TokenStore,
};

/// AWS's documented listing lag.
const LAG: Duration = Duration::from_secs(300);
/// Processes that cold-start after the first save.
const K: usize = 6;

/// AWS as a fleet meets it (`localstack/strict-aws` in front of LocalStack): filtered listings that show
/// the state of `LAG` ago and now and then (one in twenty) up to `LAG` more, uneven pages, the version
/// quota, writes to deleted secrets refused, forced deletes that finish two seconds later, and AWS's
/// request rates. Every process of a scenario reaches it through its own client.
fn aws_as_it_is() -> Arc<StrictAws> {
    let lag = LAG.as_secs().to_string();
    Arc::new(StrictAws::start(&[
        "--lag",
        &lag,
        "--lag-floor",
        &lag,
        "--lag-tail-probability",
        "0.05",
        "--force-delete-delay",
        "2",
        "--rate-limits",
        "--uneven-pages",
        "--version-quota",
        "100",
    ]))
}

/// Zoho as the fleet meets it, knowing the fleet's API client (`client_credentials`).
fn strict_zoho() -> StrictZoho {
    StrictZoho::start(&["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET])
}

const CLIENT_ID: &str = "1000.CLIENTID";
const CLIENT_SECRET: &str = "client-secret";

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Runs `work` on a thread of its own with its own runtime, for interceptor hooks (which are sync) that
/// must make another process's change at an exact point of a request. `work` builds that process's own
/// client: a client belongs to the runtime it was made in.
fn meanwhile<F: Future<Output = ()> + Send + 'static>(work: impl FnOnce() -> F + Send + 'static) {
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(work());
    })
    .join()
    .unwrap();
}

// ---- (d) cold starts inside the listing lag -------------------------------------------------------

/// How the application configures the SDK's token.
#[derive(Clone, Copy, Debug)]
enum Config {
    UserAndRefresh,
    RefreshOnly,
    GrantOnly,
    AccessOnly,
}

/// A plain store on LocalStack (another process, an operator).
async fn plain_store(prefix: &str, ring: zoho_token_store::Keyring) -> SecretsManagerStore {
    store_on(client().await, prefix, ring)
}

fn store_on(
    client: aws_sdk_secretsmanager::Client,
    prefix: &str,
    ring: zoho_token_store::Keyring,
) -> SecretsManagerStore {
    SecretsManagerStore::builder(client, ring)
        .prefix(prefix)
        .build()
        .unwrap()
}

/// One process of the fleet on AWS: its own client (with lagging listings), a store with the AWS
/// defaults (5-minute listing lag), and a manager coordinating refreshes through the store.
async fn process(
    lag: &StrictAws,
    prefix: &str,
    zoho: &StrictZoho,
) -> (Arc<SecretsManagerStore>, TokenManager) {
    process_on(lag.client().await, prefix, zoho)
}

fn process_on(
    client: aws_sdk_secretsmanager::Client,
    prefix: &str,
    zoho: &StrictZoho,
) -> (Arc<SecretsManagerStore>, TokenManager) {
    let store = Arc::new(
        SecretsManagerStore::builder(client, keyring())
            .prefix(prefix)
            .build()
            .unwrap(),
    );
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .coordinator(store.clone())
        .build()
        .unwrap();
    (store, manager)
}

fn client_credentials() -> OAuthToken {
    OAuthToken::default()
        .with_client(CLIENT_ID, CLIENT_SECRET)
        .with_redirect_url("https://app.example.com/oauth/callback")
}

/// The token the SDK is configured with, for `config`; `access` is the access token a sign-in got.
fn configured(config: Config, access: &str) -> OAuthToken {
    match config {
        Config::UserAndRefresh => client_credentials()
            .with_user_name("ulla@example.com")
            .with_refresh_token("refresh-seed"),
        Config::RefreshOnly => client_credentials().with_refresh_token("refresh-seed"),
        Config::GrantOnly => client_credentials().with_grant_token("code-signin"),
        Config::AccessOnly => access_only(access),
    }
}

/// A token carrying only an access token (no expiry: the SDK's configuration knows none).
fn access_only(access: &str) -> OAuthToken {
    OAuthToken {
        access_token: Some(access.into()),
        ..OAuthToken::default()
    }
}

/// A sign-in by a process configured with a grant token: what gives an access-token-only fleet the
/// token it is configured with.
async fn sign_in(lag: &StrictAws, prefix: &str, zoho: &StrictZoho) -> OAuthToken {
    let (_, manager) = process(lag, prefix, zoho).await;
    manager
        .token(&configured(Config::GrantOnly, ""))
        .await
        .unwrap()
}

async fn cold_starts_inside_the_lag(config: Config) {
    let zoho = strict_zoho();
    // Zoho takes 0.8 s per refresh: processes that start meanwhile meet a refresh in flight.
    zoho.hooks(&json!({"slow_refreshes": 1_000_000, "refresh_delay": 0.8}));
    zoho.grant("code-signin");
    zoho.refresh_token("refresh-seed", "ulla@example.com");
    let lag = aws_as_it_is();
    let prefix = unique_prefix(&format!("fleet-lag-{config:?}"));

    // The first process stores the token (a sign-in for the access-token fleet).
    let first = match config {
        Config::AccessOnly => sign_in(&lag, &prefix, &zoho).await,
        _ => {
            let (_, manager) = process(&lag, &prefix, &zoho).await;
            manager.token(&configured(config, "")).await.unwrap()
        }
    };
    let access = first.access_token.clone().unwrap().secret().to_owned();
    let (refreshes, exchanges) = (zoho.refreshes(), zoho.exchanges());
    assert_eq!(
        refreshes + exchanges,
        1,
        "{config:?}: one call to get the first token"
    );
    let lagged_before = lag.stat("lagged_answers").await;

    // K processes cold-start at moments spread over the next second and a half: all inside the lag,
    // so no listing shows the token yet.
    let tasks: Vec<_> = (0..K)
        .map(|n| {
            let (lag, prefix, config, access) =
                (lag.clone(), prefix.clone(), config, access.clone());
            let accounts_zoho = zoho.accounts();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis((n as u64 * 7919) % 1500)).await;
                let store = Arc::new(
                    SecretsManagerStore::builder(lag.client().await, keyring())
                        .prefix(&prefix)
                        .build()
                        .unwrap(),
                );
                let manager = TokenManager::builder(store.clone(), accounts_zoho)
                    .coordinator(store)
                    .build()
                    .unwrap();
                manager.token(&configured(config, &access)).await
            })
        })
        .collect();
    for task in tasks {
        let token = task.await.unwrap().unwrap();
        assert_eq!(token.id, first.id, "{config:?}: found the stored token");
        assert_eq!(token.access_token, first.access_token);
    }
    // (A user's token is read by its user-derived name, never through a listing.)
    if !matches!(config, Config::UserAndRefresh) {
        assert!(
            lag.stat("lagged_answers").await > lagged_before,
            "{config:?}: the processes' lookups met the lagging listings"
        );
    }
    assert_eq!(
        (zoho.refreshes(), zoho.exchanges()),
        (refreshes, exchanges),
        "{config:?}: no process refreshed or exchanged the grant again"
    );
    let names = token_names(&client().await, &prefix, true).await;
    assert_eq!(
        names.len(),
        1,
        "{config:?}: one secret for the token: {names:?}"
    );

    // The token expires; K more processes cold-start at once (still inside the lag): one refresh.
    let admin = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    let id = first.id.clone().unwrap();
    let mut expired = admin.find_token_by_id(&id).await.unwrap().unwrap();
    expired.expires_at_ms = Some(now_ms() - 1_000);
    admin.update_token(&expired).await.unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(K));
    let tasks: Vec<_> = (0..K)
        .map(|_| {
            let (lag, prefix, access, barrier) = (
                lag.clone(),
                prefix.clone(),
                access.clone(),
                Arc::clone(&barrier),
            );
            let accounts_zoho = zoho.accounts();
            tokio::spawn(async move {
                let store = Arc::new(
                    SecretsManagerStore::builder(lag.client().await, keyring())
                        .prefix(&prefix)
                        .build()
                        .unwrap(),
                );
                let manager = TokenManager::builder(store.clone(), accounts_zoho)
                    .coordinator(store)
                    .build()
                    .unwrap();
                barrier.wait().await;
                manager.token(&configured(config, &access)).await
            })
        })
        .collect();
    let mut fresh = BTreeSet::new();
    for task in tasks {
        let token = task.await.unwrap().unwrap();
        fresh.insert(token.access_token.unwrap().secret().to_owned());
    }
    assert_eq!(
        zoho.refreshes(),
        refreshes + 1,
        "{config:?}: one refresh for the expiry among {K} processes"
    );
    assert_eq!(fresh.len(), 1, "{config:?}: all use the one fresh token");
    assert_eq!(
        zoho.exchanges(),
        exchanges,
        "{config:?}: no grant exchanged again"
    );
    assert_eq!(token_names(&client().await, &prefix, true).await.len(), 1);
    assert_eq!(zoho.stat("refused_exchanges"), 0, "{config:?}");
    zoho.assert_within_limits();
}

#[tokio::test]
async fn lag_user_and_refresh_token() {
    cold_starts_inside_the_lag(Config::UserAndRefresh).await;
}

#[tokio::test]
async fn lag_refresh_token_only() {
    cold_starts_inside_the_lag(Config::RefreshOnly).await;
}

#[tokio::test]
async fn lag_grant_token_only() {
    cold_starts_inside_the_lag(Config::GrantOnly).await;
}

#[tokio::test]
async fn lag_access_token_only() {
    cold_starts_inside_the_lag(Config::AccessOnly).await;
}

/// The control: a store that trusts the listings (no bridges, as with a zero listing lag) fails under
/// the same lag exactly as the issue describes, so the scenarios above pass because of the store, not
/// because the strict model's lag is toothless.
#[tokio::test]
async fn lag_control_a_store_that_trusts_listings_exchanges_the_grant_twice() {
    let zoho = strict_zoho();
    zoho.grant("code-signin");
    let lag = aws_as_it_is();
    let prefix = unique_prefix("fleet-lag-control");
    let trusting = || async {
        let store = Arc::new(
            SecretsManagerStore::builder(lag.client().await, keyring())
                .prefix(&prefix)
                .listing_lag(Duration::ZERO)
                .build()
                .unwrap(),
        );
        TokenManager::builder(store.clone(), zoho.accounts())
            .coordinator(store)
            .build()
            .unwrap()
    };
    let grant = configured(Config::GrantOnly, "");
    trusting().await.token(&grant).await.unwrap();
    let second = trusting().await.token(&grant).await;
    assert!(
        matches!(second, Err(Error::InvalidGrant { .. })),
        "{second:?}"
    );
    assert_eq!(zoho.exchanges(), 2);
    assert_eq!(zoho.stat("refused_exchanges"), 1, "Zoho refused the second");
}

// ---- (c) deletes that stick -----------------------------------------------------------------------

/// A stored token whose access token has expired; its refresh token Zoho issued before the test.
async fn expired_token(store: &SecretsManagerStore, zoho: &StrictZoho, user: &str) -> OAuthToken {
    zoho.refresh_token(&format!("refresh-{user}"), user);
    let mut token = client_credentials()
        .with_user_name(user)
        .with_refresh_token(format!("refresh-{user}"))
        .with_access_token("access-old", now_ms() - 1_000)
        .with_api_domain("https://www.zohoapis.com");
    store.save_token(&mut token).await.unwrap();
    token
}

/// Waits for `done`: polled, with a bound only against a hang (a loaded machine may take seconds to get
/// a request to the mock or a writer through a few rounds; nothing here is a deadline the design has).
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached in 60 s");
}

/// A refresh is in flight at Zoho (Zoho minted the token; its answer is held) while `operator` removes
/// the token: the refresh ends with `TokenDeleted` and the token stays deleted.
async fn delete_racing_a_refresh<F, Fut>(what: &str, operator: F)
where
    F: FnOnce(Arc<SecretsManagerStore>, TokenManager, OAuthToken) -> Fut,
    Fut: Future<Output = ()>,
{
    // Zoho's answer to the refresh waits until the operator's change has landed.
    let zoho = strict_zoho();
    zoho.hooks(&json!({"hang_next_refresh": true}));
    let prefix = unique_prefix(&format!("fleet-delete-{what}"));
    let app = process_on(client().await, &prefix, &zoho);
    let operator_side = process_on(client().await, &prefix, &zoho);
    let token = expired_token(&app.0, &zoho, &format!("{what}@example.com")).await;
    let id = token.id.clone().unwrap();
    let refreshing = tokio::spawn({
        let manager = app.1.clone();
        let query = OAuthToken::default().with_id(&id);
        async move { manager.token(&query).await }
    });
    until(|| zoho.hung()).await;
    operator(operator_side.0, operator_side.1, token).await;
    zoho.release();
    let result = refreshing.await.unwrap();
    assert!(
        matches!(&result, Err(Error::TokenDeleted { id: gone }) if *gone == id),
        "{what}: {result:?}"
    );
    assert!(
        app.0.find_token_by_id(&id).await.unwrap().is_none(),
        "{what}: still deleted"
    );
    assert!(
        token_names(&client().await, &prefix, false)
            .await
            .is_empty(),
        "{what}: no live token secret"
    );
    // A new sign-in still stores a token, as before.
    zoho.grant(&format!("code-{what}"));
    let signed_in = app
        .1
        .token(
            &client_credentials()
                .with_user_name(format!("{what}@example.com"))
                .with_grant_token(format!("code-{what}")),
        )
        .await
        .unwrap();
    assert_eq!(
        signed_in.refresh_token.unwrap().secret(),
        format!("refresh-for-code-{what}")
    );
    assert_eq!(zoho.stat("refreshes"), 1, "{what}: the one refresh, minted");
    assert_eq!(zoho.stat("invalid_token"), 0, "{what}");
}

#[tokio::test]
async fn delete_racing_a_refresh_sticks() {
    delete_racing_a_refresh("delete", |store, _, token| async move {
        store
            .delete_token(token.id.as_deref().unwrap())
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn purge_racing_a_refresh_sticks() {
    delete_racing_a_refresh("purge", |store, _, _| async move {
        store.delete_tokens().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn revoke_racing_a_refresh_sticks() {
    delete_racing_a_refresh("revoke", |_, manager, token| async move {
        manager
            .revoke(&OAuthToken::default().with_id(token.id.unwrap()))
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn refresh_due_reencrypt_retag_and_rotation_never_bring_a_deleted_token_back() {
    let zoho = strict_zoho();
    let prefix = unique_prefix("fleet-delete-bulk");
    // Consistent listings, but AWS's refusal of writes to a secret scheduled for deletion.
    let aws = Arc::new(StrictAws::start(&[
        "--uneven-pages",
        "--version-quota",
        "100",
    ]));
    let store = Arc::new(
        SecretsManagerStore::builder(aws.client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let a = expired_token(&store, &zoho, "ada@example.com").await;
    let b = expired_token(&store, &zoho, "bob@example.com").await;

    // refresh_due lists both, then one is deleted before its refresh is saved.
    let (victim, hook_prefix, hook_aws) = (a.id.clone().unwrap(), prefix.clone(), aws.clone());
    let hooked = Arc::new(
        SecretsManagerStore::builder(
            aws.client_with(OnSend::new("PutSecretValue", move |n| {
                if n == 0 {
                    let (prefix, id, aws) = (hook_prefix.clone(), victim.clone(), hook_aws.clone());
                    meanwhile(move || async move {
                        let operator = store_on(aws.client().await, &prefix, keyring());
                        operator.delete_token(&id).await.unwrap();
                    });
                }
                Ok(())
            }))
            .await,
            keyring(),
        )
        .prefix(&prefix)
        .build()
        .unwrap(),
    );
    let manager = TokenManager::builder(hooked.clone(), zoho.accounts())
        .concurrency(std::num::NonZeroUsize::MIN)
        .build()
        .unwrap();
    let report = manager.refresh_due(Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.examined, 2);
    // Whichever token's save came first was deleted just before it: that one failed, the other saved.
    assert_eq!(report.refreshed, 1, "{report:?}");
    assert!(
        matches!(report.failed.as_slice(), [(_, Error::TokenDeleted { .. })]),
        "{report:?}"
    );
    assert!(
        store
            .find_token_by_id(a.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // Re-encryption: the token is deleted between the listing and its write.
    let (survivor, hook_prefix, hook_aws) = (b.id.clone().unwrap(), prefix.clone(), aws.clone());
    let rotated = keyring().with_new_primary("k2", &[0x22; 32]).unwrap();
    let reencrypting = SecretsManagerStore::builder(
        aws.client_with(OnSend::new("PutSecretValue", move |n| {
            if n == 0 {
                let (prefix, id, aws) = (hook_prefix.clone(), survivor.clone(), hook_aws.clone());
                meanwhile(move || async move {
                    let operator = store_on(aws.client().await, &prefix, keyring());
                    operator.delete_token(&id).await.unwrap();
                });
            }
            Ok(())
        }))
        .await,
        rotated.clone(),
    )
    .prefix(&prefix)
    .build()
    .unwrap();
    let report = reencrypting
        .reencrypt(&BulkOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.examined, report.deleted, report.changed),
        (1, 1, 0),
        "{report:?}"
    );
    assert!(
        store
            .find_token_by_id(b.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // Re-tag and rotation steps on a deleted token write nothing and say so.
    let mut c = expired_token(&store, &zoho, "cy@example.com").await;
    let name = store.secret_name(c.id.as_deref().unwrap()).unwrap();
    store.delete_token(c.id.as_deref().unwrap()).await.unwrap();
    let report = store.retag(&BulkOptions::default()).await.unwrap();
    assert_eq!(
        report.examined, 0,
        "a deleted token is not listed: {report:?}"
    );
    let handler = RotationHandler::new(Arc::clone(&store), zoho.accounts());
    let event: RotationEvent = serde_json::from_value(serde_json::json!({
        "Step": "createSecret", "SecretId": name, "ClientRequestToken": "0123456789abcdef0123456789abcdef",
    }))
    .unwrap();
    let err = handler.handle(&event).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    c.refresh_token = Some("refresh-late".into());
    let err = store.update_token(&c).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    assert!(
        token_names(&client().await, &prefix, false)
            .await
            .is_empty()
    );
    assert_eq!(
        zoho.refreshes(),
        2,
        "the two listed tokens were refreshed at Zoho, no more"
    );
    zoho.assert_within_limits();
}

// ---- (e) background writers compare-and-swap -------------------------------------------------------

#[tokio::test]
async fn rotation_finish_keeps_an_application_save_made_after_create() {
    let zoho = strict_zoho();
    let prefix = unique_prefix("fleet-finish");
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let mut token = expired_token(&store, &zoho, "fin@example.com").await;
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    let handler = RotationHandler::new(Arc::clone(&store), zoho.accounts());
    let version = "fedcba9876543210fedcba9876543210";
    let step = |step: &str| -> RotationEvent {
        serde_json::from_value(serde_json::json!({
            "Step": step, "SecretId": name, "ClientRequestToken": version,
        }))
        .unwrap()
    };
    handler.handle(&step("createSecret")).await.unwrap();
    handler.handle(&step("testSecret")).await.unwrap();
    // The application rotates its client secret: not a refresh, its expiry is older than the pending one.
    token.client_secret = Some("client-secret-NEW".into());
    store.save_token(&mut token).await.unwrap();
    handler.handle(&step("finishSecret")).await.unwrap();

    let now = store
        .find_token_by_id(token.id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        now.client_secret.unwrap().secret(),
        "client-secret-NEW",
        "the app's save stands"
    );
    assert_eq!(now.access_token.unwrap().secret(), "access-old");
    let described = client()
        .await
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let labels: Vec<String> = described
        .version_ids_to_stages()
        .unwrap()
        .values()
        .flatten()
        .cloned()
        .collect();
    assert!(
        !labels
            .iter()
            .any(|l| l == "AWSPENDING" || l.starts_with("zts-base:")),
        "the pending version was dropped: {labels:?}"
    );
}

#[tokio::test]
async fn retag_racing_a_refresh_never_points_a_lookup_back_at_the_old_token() {
    let prefix = unique_prefix("fleet-retag");
    let old_ring = keyring();
    let new_ring = keyring().with_new_index_key(&[0x77; 32]).unwrap();
    let app = Arc::new(
        SecretsManagerStore::builder(client().await, new_ring.clone())
            .prefix(&prefix)
            .listing_lag(Duration::ZERO)
            .build()
            .unwrap(),
    );
    let mut token = client_credentials()
        .with_user_name("rae@example.com")
        .with_refresh_token("refresh-rae")
        .with_access_token("access-before", now_ms() + 3_600_000);
    SecretsManagerStore::builder(client().await, old_ring)
        .prefix(&prefix)
        .build()
        .unwrap()
        .save_token(&mut token)
        .await
        .unwrap();

    // Just before the re-tag writes its tags (computed from the value it read), the application
    // refreshes the token: its save moves the value and the tags to the new access token.
    let refreshed = Arc::new(AtomicBool::new(false));
    let (hook_prefix, hook_ring, token_hook, flag) = (
        prefix.clone(),
        new_ring.clone(),
        token.clone(),
        Arc::clone(&refreshed),
    );
    let retagger = SecretsManagerStore::builder(
        client_with(OnSend::new("TagResource", move |n| {
            if n == 0 {
                let (prefix, ring, mut token) =
                    (hook_prefix.clone(), hook_ring.clone(), token_hook.clone());
                meanwhile(move || async move {
                    let app = plain_store(&prefix, ring).await;
                    token.access_token = Some("access-after".into());
                    app.update_token(&token).await.unwrap();
                });
                flag.store(true, Ordering::SeqCst);
            }
            Ok(())
        }))
        .await,
        new_ring,
    )
    .prefix(&prefix)
    .listing_lag(Duration::ZERO)
    .build()
    .unwrap();
    let report = retagger.retag(&BulkOptions::default()).await.unwrap();
    assert!(
        refreshed.load(Ordering::SeqCst),
        "the refresh ran inside the re-tag"
    );
    assert_eq!(report.changed, 1, "{report:?}");

    let by_access = access_only;
    let found = app.find_token(&by_access("access-after")).await.unwrap();
    assert_eq!(
        found.and_then(|t| t.id),
        token.id,
        "the new access token finds it"
    );
    assert!(
        app.find_token(&by_access("access-before"))
            .await
            .unwrap()
            .is_none(),
        "the old access token does not"
    );
    assert_eq!(
        retagger
            .retag(&BulkOptions::default())
            .await
            .unwrap()
            .unchanged,
        1,
        "tags and value agree"
    );
}

#[tokio::test]
async fn a_lease_taken_over_is_never_freed_by_its_late_holder_and_expiry_allows_clock_skew() {
    let prefix = unique_prefix("fleet-lease");
    let store = |_: ()| async {
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap()
    };
    let (first, second, third) = (store(()).await, store(()).await, store(()).await);
    let ttl = Duration::from_secs(1);
    let stalled = first.try_acquire("t1", ttl).await.unwrap().unwrap();
    let expires = now_ms() + ttl.as_millis() as u64;
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    // Expired by the holder's clock, but another host's clock may be behind: not yet taken over.
    let asked = now_ms();
    let early = second.try_acquire("t1", ttl).await.unwrap();
    if now_ms() < expires + 5_000 {
        assert!(
            early.is_none(),
            "taken over {} ms after expiry",
            asked - expires
        );
    }
    // After the skew margin it is.
    let mut taken = None;
    for _ in 0..100 {
        taken = second
            .try_acquire("t1", Duration::from_secs(30))
            .await
            .unwrap();
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut taken = taken.expect("taken over after expiry and skew");
    // The stalled first holder wakes up and releases: the new holder keeps its lease.
    first.release(&stalled).await.unwrap();
    assert!(
        third.try_acquire("t1", ttl).await.unwrap().is_none(),
        "still held"
    );
    assert!(
        second
            .renew(&mut taken, Duration::from_secs(30))
            .await
            .unwrap()
    );
    second.release(&taken).await.unwrap();
    assert!(
        third.try_acquire("t1", ttl).await.unwrap().is_some(),
        "free once released"
    );
}

/// Answers the first `PutSecretValue` of a lease secret with a throttling error, after the service
/// acted on it (as a throttled response can).
#[derive(Debug)]
struct ThrottleFirstLeaseWrite(AtomicBool);

impl aws_sdk_secretsmanager::config::Intercept for ThrottleFirstLeaseWrite {
    fn name(&self) -> &'static str {
        "ThrottleFirstLeaseWrite"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueInput;
        let lease_write = context
            .input()
            .downcast_ref::<PutSecretValueInput>()
            .and_then(PutSecretValueInput::secret_id)
            .is_some_and(|id| id.contains("/lease/"));
        if lease_write && !self.0.swap(true, Ordering::SeqCst) {
            cfg.interceptor_state().store_put(Throttle);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if cfg.load::<Throttle>().is_some() {
            let response = context.response_mut();
            *response.status_mut() = 400.try_into()?;
            response
                .headers_mut()
                .insert("x-amzn-errortype", "ThrottlingException");
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"ThrottlingException","message":"Rate exceeded (injected by the test)"}"#,
            );
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Throttle;

impl aws_smithy_types::config_bag::Storable for Throttle {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

#[tokio::test]
async fn a_throttled_renew_is_retried_and_the_lease_kept() {
    // The refresh takes 13 s; the lease lives 6 s and is taken over 5 s of clock skew after that, so
    // from 11 s on only renewal keeps it. The first renewal is throttled, with the SDK's own retries
    // off. The margins are the machine's, not the design's: the accounts client waits 60 s (its default
    // 10 s, once 0.5 s past a 9.5 s refresh, was a race with a loaded machine), and each renewal has
    // 2 s to land (from a third of the time to live to two thirds), a throttled try and its retry
    // included.
    let zoho = strict_zoho();
    zoho.hooks(&json!({"slow_refreshes": 1, "refresh_delay": 13}));
    let prefix = unique_prefix("fleet-renew");
    let throttling = {
        let base = common::sdk_config().await;
        let config = aws_sdk_secretsmanager::config::Builder::from(&base)
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .interceptor(ThrottleFirstLeaseWrite(AtomicBool::new(false)))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    };
    let holder_store = Arc::new(
        SecretsManagerStore::builder(throttling, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let token = expired_token(&holder_store, &zoho, "ren@example.com").await;
    let id = token.id.clone().unwrap();
    let patient = zoho_token_store::reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let holder = TokenManager::builder(holder_store.clone(), zoho.accounts().http_client(patient))
        .coordinator(holder_store.clone())
        .lease_ttl(Duration::from_secs(6))
        .build()
        .unwrap();
    let refreshing = tokio::spawn({
        let query = OAuthToken::default().with_id(&id);
        async move { holder.token(&query).await }
    });
    // Another process tries to take the lease all along the refresh: it never gets it.
    let other = plain_store(&prefix, keyring()).await;
    until(|| zoho.refreshes() == 1).await;
    while !refreshing.is_finished() {
        if let Some(taken) = other
            .try_acquire(&id, Duration::from_secs(6))
            .await
            .unwrap()
        {
            // Free: either the holder is done (it saves before it releases) or it lost the lease.
            let stored = other.reload_token(&id).await.unwrap().unwrap();
            assert!(
                stored.expires_at_ms > Some(now_ms()),
                "the lease was lost while its holder refreshed"
            );
            other.release(&taken).await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    refreshing.await.unwrap().unwrap();
    let snapshot = holder_store.calls().snapshot();
    assert!(
        snapshot["PutSecretValue"] >= 3,
        "the throttled renewal was tried again and renewals went on: {snapshot:?}"
    );
    assert_eq!(zoho.refreshes(), 1);
}

// ---- (a), (b) key rotation with a long-lived process on the old keyring -----------------------------

/// A long-lived application process that keeps saving users, as the SDK does (without ids).
#[derive(Default)]
struct Writer {
    stop: AtomicBool,
    rounds: std::sync::atomic::AtomicUsize,
    users: std::sync::Mutex<BTreeSet<String>>,
}

impl Writer {
    /// Saves through `store` until stopped: each round a new user (the first sixteen rounds) and an
    /// existing one with a new refresh token.
    fn start(self: &Arc<Self>, store: Arc<SecretsManagerStore>) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let mut round = 0;
            while !this.stop.load(Ordering::SeqCst) {
                let new = (round < 16).then(|| format!("user{round}@example.com"));
                let existing = format!("user{}@example.com", round % 4);
                for user in new.into_iter().chain([existing]) {
                    let mut token = client_credentials()
                        .with_user_name(&user)
                        .with_refresh_token(format!("refresh-{user}-{round}"))
                        .with_access_token(format!("access-{round}"), now_ms() + 3_600_000);
                    store.save_token(&mut token).await.unwrap();
                    this.users.lock().unwrap().insert(user);
                }
                round += 1;
                this.rounds.store(round, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }

    fn rounds(&self) -> usize {
        self.rounds.load(Ordering::SeqCst)
    }

    /// Lets it save a few more rounds (with whatever keyring it holds now), then stops it.
    async fn finish(&self, task: tokio::task::JoinHandle<()>) -> BTreeSet<String> {
        let now = self.rounds();
        until(|| self.rounds() >= now + 4).await;
        self.stop.store(true, Ordering::SeqCst);
        task.await.unwrap();
        self.users.lock().unwrap().clone()
    }
}

async fn keyring_fleet(test: &str) -> (String, String, Arc<SecretsManagerStore>) {
    let keyring_name = format!("{}keyring", unique_prefix(test));
    let prefix = unique_prefix(&format!("{test}-tokens"));
    SecretKeySource::new(client().await, &keyring_name)
        .create("k1")
        .await
        .unwrap();
    let long_lived = Arc::new(on_keyring(&keyring_name, &prefix).await);
    (keyring_name, prefix, long_lived)
}

/// A process whose keyring source re-checks every 2 seconds, on LocalStack's consistent listings.
async fn on_keyring(keyring_name: &str, prefix: &str) -> SecretsManagerStore {
    SecretsManagerStore::builder(
        client().await,
        SecretKeySource::new(client().await, keyring_name).refresh_interval(Duration::from_secs(2)),
    )
    .prefix(prefix)
    .listing_lag(Duration::ZERO)
    .build()
    .unwrap()
}

/// Runs `step` until it stops answering "too soon" (waiting as long as it says) or "in use" (running
/// `catch_up`), at most a few rounds.
async fn when_settled<S, SF, C, CF>(mut step: S, mut catch_up: C)
where
    S: FnMut() -> SF,
    SF: Future<Output = Result<(), Error>>,
    C: FnMut() -> CF,
    CF: Future<Output = ()>,
{
    for _ in 0..6 {
        match step().await {
            Ok(()) => return,
            Err(Error::RotationTooSoon { ready_in, .. }) => {
                tokio::time::sleep(Duration::from_secs(ready_in)).await;
            }
            Err(Error::KeyInUse { .. } | Error::IndexKeyInUse { .. }) => catch_up().await,
            Err(e) => panic!("{e:?}"),
        }
    }
    panic!("the rotation step never settled");
}

async fn assert_fleet_state(keyring_name: &str, prefix: &str, users: &BTreeSet<String>) {
    // A fresh process holding only the new keyring reads every token and finds every user.
    let fresh = on_keyring(keyring_name, prefix).await;
    let all = fresh.get_tokens().await.unwrap();
    let stored: BTreeSet<String> = all.iter().map(|t| t.user_name.clone().unwrap()).collect();
    assert_eq!(&stored, users, "every user saved is readable");
    assert_eq!(all.len(), users.len(), "no user has two secrets");
    for user in users {
        let found = fresh
            .find_token(&OAuthToken::default().with_user_name(user))
            .await
            .unwrap();
        assert!(found.is_some(), "{user} found by user name");
    }
}

#[tokio::test]
async fn a_data_key_rotation_reaches_a_long_lived_process_before_the_old_key_is_retired() {
    let (keyring_name, prefix, long_lived) = keyring_fleet("fleet-data-key").await;
    let writer = Arc::new(Writer::default());
    let task = writer.start(long_lived);
    until(|| writer.rounds() >= 4).await;

    let operator = on_keyring(&keyring_name, &prefix).await;
    SecretKeySource::new(client().await, &keyring_name)
        .add_primary_key("k2")
        .await
        .unwrap();
    // Rotate while the long-lived process keeps writing (under k1 until it re-checks the keyring).
    let options = BulkOptions::default();
    operator.reencrypt(&options).await.unwrap();
    when_settled(
        || operator.retire_key("k1"),
        || async {
            operator.reencrypt(&options).await.unwrap();
        },
    )
    .await;
    // The writer goes on after the retirement: it writes under k2 now.
    let users = writer.finish(task).await;
    let usage = operator.key_usage().await.unwrap();
    assert_eq!(usage.keys().collect::<Vec<_>>(), ["k2"], "{usage:?}");
    assert_fleet_state(&keyring_name, &prefix, &users).await;
}

#[tokio::test]
async fn an_index_key_rotation_reaches_a_long_lived_process_before_the_old_key_is_dropped() {
    let (keyring_name, prefix, long_lived) = keyring_fleet("fleet-index-key").await;
    let writer = Arc::new(Writer::default());
    let task = writer.start(long_lived);
    until(|| writer.rounds() >= 4).await;

    let operator = on_keyring(&keyring_name, &prefix).await;
    // A process that loaded the keyring before the change (and will not re-check for a minute).
    let stale = SecretsManagerStore::builder(
        client().await,
        SecretKeySource::new(client().await, &keyring_name)
            .refresh_interval(Duration::from_secs(60)),
    )
    .prefix(&prefix)
    .listing_lag(Duration::ZERO)
    .build()
    .unwrap();
    let late = || OAuthToken::default().with_user_name("late@example.com");
    assert!(stale.find_token(&late()).await.unwrap().is_none());
    // The operator uses the fleet's refresh interval: the new key becomes current once every process
    // must have seen it.
    let active_at = SecretKeySource::new(client().await, &keyring_name)
        .refresh_interval(Duration::from_secs(2))
        .add_index_key()
        .await
        .unwrap();
    // Right after the change, a process that sees it and the stale one save the same new user: the
    // staged key is not written with yet, so the stale process finds that user's token and updates it.
    let fresh = on_keyring(&keyring_name, &prefix).await;
    let mut first = client_credentials()
        .with_user_name("late@example.com")
        .with_refresh_token("refresh-late-1");
    fresh.save_token(&mut first).await.unwrap();
    let mut second = client_credentials()
        .with_user_name("late@example.com")
        .with_refresh_token("refresh-late-2");
    stale.save_token(&mut second).await.unwrap();
    assert_eq!(second.id, first.id, "one secret for the user");
    writer
        .users
        .lock()
        .unwrap()
        .insert("late@example.com".into());
    // Dropping before the new key is current everywhere is refused, and says when to come back.
    let err = operator.drop_previous_index_keys().await.unwrap_err();
    assert!(matches!(err, Error::RotationTooSoon { .. }), "{err:?}");
    // Once every process writes with the new key: re-tag, then drop the old one.
    if let Ok(wait) = active_at.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    let options = BulkOptions::default();
    operator.retag(&options).await.unwrap();
    when_settled(
        || operator.drop_previous_index_keys(),
        || async {
            operator.retag(&options).await.unwrap();
        },
    )
    .await;
    let users = writer.finish(task).await;
    assert_fleet_state(&keyring_name, &prefix, &users).await;
}
