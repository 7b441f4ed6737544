//! The refresh lease on Secrets Manager: it never locks a token out, stays small, goes with its token,
//! never has two holders, and recognises its own retried creates.
//!
//! Dead holders are made by taking the lease and dropping it (never renewed nor released), then
//! writing its value as expired long ago, as it reads once its time to live and the clock skew have
//! passed: a death costs no waiting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
};
use common::strict::StrictAws;
use common::zoho::Zoho;
use common::{client, keyring, raw_names, unique_prefix};
use zoho_token_store::{
    OAuthToken, RecoveryWindow, RefreshCoordinator, SecretsManagerStore, TokenManager, TokenStore,
};

const TTL: Duration = Duration::from_secs(30);

fn store_on(client: Client, prefix: &str) -> SecretsManagerStore {
    SecretsManagerStore::builder(client, keyring())
        .prefix(prefix)
        .recovery_window(RecoveryWindow::Immediate)
        .build()
        .unwrap()
}

async fn plain_store(prefix: &str) -> SecretsManagerStore {
    store_on(client().await, prefix)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A stored token whose access token has expired; its id.
async fn expired_token(store: &SecretsManagerStore, user: &str) -> String {
    let mut token = OAuthToken::default()
        .with_user_name(user)
        .with_client("1000.CLIENTID", "client-secret")
        .with_refresh_token(format!("refresh-{user}"))
        .with_access_token("access-old", now_ms() - 1_000)
        .with_api_domain("https://www.zohoapis.com");
    store.save_token(&mut token).await.unwrap();
    token.id.unwrap()
}

/// Every lease secret of the store under `prefix` that exists now (LocalStack's listing is current).
async fn lease_secrets(raw: &Client, prefix: &str) -> Vec<String> {
    raw_names(raw, &format!("{prefix}lease/"), false).await
}

/// Writes every lease secret's value as expired long ago: its holder is dead, and the time to live
/// and the clock skew have passed.
async fn expire_all(raw: &Client, prefix: &str) {
    for name in lease_secrets(raw, prefix).await {
        let current = raw
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
            .unwrap();
        let mut value: serde_json::Value =
            serde_json::from_str(current.secret_string().unwrap()).unwrap();
        value["expires_at_ms"] = 1.into();
        raw.put_secret_value()
            .secret_id(&name)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap();
    }
}

/// A lease secret as a holder that died long ago left it (`generation`: `None` as an earlier version of
/// the crate wrote it).
async fn write_dead(raw: &Client, name: &str, generation: Option<u32>) {
    let mut value = serde_json::json!({"holder": "dead", "expires_at_ms": 1});
    if let Some(g) = generation {
        value["generation"] = g.into();
    }
    raw.create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap();
}

/// Whether a secret of this name exists (not being deleted).
async fn exists(raw: &Client, name: &str) -> bool {
    match raw.describe_secret().secret_id(name).send().await {
        Ok(out) => out.deleted_date().is_none(),
        Err(e) => {
            let service = e.into_service_error();
            assert!(service.is_resource_not_found_exception(), "{service:?}");
            false
        }
    }
}

// ---- 1. dead holders never lock the token out -----------------------------------------------------

#[tokio::test]
async fn twenty_holders_dying_in_a_row_never_lock_the_token_out() {
    let zoho = Zoho::start().await;
    let prefix = unique_prefix("lease-deaths");
    let store = Arc::new(plain_store(&prefix).await);
    let raw = client().await;
    let id = expired_token(&store, "dee@example.com").await;
    for death in 0..20 {
        let lease = store.try_acquire(&id, TTL).await.unwrap();
        assert!(
            lease.is_some(),
            "holder {death}: the dead holders' lease is taken over"
        );
        expire_all(&raw, &prefix).await;
    }
    // The next process to need the token takes the lease over and refreshes, at once.
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .coordinator(store.clone())
        .build()
        .unwrap();
    let token = manager
        .token(&OAuthToken::default().with_id(&id))
        .await
        .unwrap();
    assert_eq!(token.access_token.unwrap().secret(), "access-1");
    assert_eq!(zoho.refreshes(), 1);
    assert_eq!(
        lease_secrets(&raw, &prefix).await,
        Vec::<String>::new(),
        "released with the refresh, claims included"
    );
}

#[tokio::test]
async fn a_lease_that_reached_the_version_quota_is_started_afresh() {
    // AWS's quota, tightened: a lease secret may hold 4 versions. Each takeover writes one.
    let strict = StrictAws::start(&["--version-quota", "4"]);
    let prefix = unique_prefix("lease-quota");
    // The SDK retries the quota's LimitExceededException as throttling (as it would on AWS), backing
    // off for seconds: here for milliseconds.
    let base = strict.client().await;
    let once = Client::from_conf(
        base.config()
            .to_builder()
            .retry_config(
                aws_config::retry::RetryConfig::standard()
                    .with_max_attempts(6)
                    .with_initial_backoff(Duration::from_millis(5))
                    .with_max_backoff(Duration::from_millis(50)),
            )
            .build(),
    );
    let store = store_on(once, &prefix);
    let raw = client().await;
    let id = "quota1";
    for death in 0..10 {
        // A refused takeover deletes the lease; the next attempt creates it afresh.
        let mut lease = None;
        for _ in 0..3 {
            lease = store.try_acquire(id, TTL).await.unwrap();
            if lease.is_some() {
                break;
            }
        }
        assert!(lease.is_some(), "holder {death}: taken");
        expire_all(&raw, &prefix).await;
    }
    assert!(
        strict.stat("quota_refusals").await >= 1,
        "the quota was met"
    );
}

// ---- 2. bounded, and a takeover costs the same few calls ------------------------------------------

#[tokio::test]
async fn takeovers_keep_the_lease_to_a_few_secrets_and_cost_the_same_few_calls() {
    let prefix = unique_prefix("lease-bounded");
    let store = plain_store(&prefix).await;
    let raw = client().await;
    let id = "bounded1";
    for death in 0..12 {
        store.calls().reset();
        let lease = store.try_acquire(id, TTL).await.unwrap();
        assert!(lease.is_some(), "holder {death}");
        let calls = store.calls().snapshot();
        // Free: read, create. Taken over: read, claim, read again, swap (put, move), and the previous
        // claim deleted.
        assert!(store.calls().total() <= 6, "holder {death}: {calls:?}");
        let secrets = lease_secrets(&raw, &prefix).await;
        assert!(
            secrets.len() <= 2,
            "holder {death}: the lease and its claim, no more: {secrets:?}"
        );
        expire_all(&raw, &prefix).await;
    }
}

#[tokio::test]
async fn an_earlier_versions_chain_of_dead_links_is_taken_over_and_swept() {
    let prefix = unique_prefix("lease-legacy");
    let store = plain_store(&prefix).await;
    let raw = client().await;
    let id = "legacy1";
    let lease = format!("{prefix}lease/{id}");
    write_dead(&raw, &lease, None).await;
    for n in 1..=3 {
        write_dead(&raw, &format!("{lease}/{n}"), None).await;
    }
    let mut held = None;
    for _ in 0..3 {
        held = store.try_acquire(id, TTL).await.unwrap();
        if held.is_some() {
            break;
        }
    }
    let held = held.expect("taken over");
    assert!(
        lease_secrets(&raw, &prefix).await.len() <= 2,
        "{:?}",
        lease_secrets(&raw, &prefix).await
    );
    store.release(&held).await.unwrap();
    assert_eq!(lease_secrets(&raw, &prefix).await, Vec::<String>::new());
}

// ---- 3. the token's deletion takes every secret of its lease --------------------------------------

#[tokio::test]
async fn deleting_a_token_deletes_every_secret_of_its_lease() {
    let prefix = unique_prefix("lease-delete");
    let store = plain_store(&prefix).await;
    let raw = client().await;
    let users = ["del@example.com", "rem@example.com", "all@example.com"];
    let mut ids = Vec::new();
    for user in users {
        let id = expired_token(&store, user).await;
        // Three holders died in a row, and a fourth died as it took the lease over (its claim).
        for _ in 0..3 {
            assert!(store.try_acquire(&id, TTL).await.unwrap().is_some());
            expire_all(&raw, &prefix).await;
        }
        write_dead(&raw, &format!("{prefix}lease/{id}/3"), Some(3)).await;
        ids.push(id);
    }
    let names = |id: &str| {
        let lease = format!("{prefix}lease/{id}");
        std::iter::once(lease.clone())
            .chain((1..=8).map(move |n| format!("{lease}/{n}")))
            .collect::<Vec<_>>()
    };
    assert!(exists(&raw, &names(&ids[0])[0]).await);

    store.delete_token(&ids[0]).await.unwrap();
    assert!(store.remove_token(&ids[1]).await.unwrap());
    for id in &ids[..2] {
        for name in names(id) {
            assert!(!exists(&raw, &name).await, "{name} outlived its token");
        }
    }
    store.delete_tokens().await.unwrap();
    assert_eq!(lease_secrets(&raw, &prefix).await, Vec::<String>::new());

    // Nothing passes to the user's next sign-in: its token's lease is free.
    let id = expired_token(&store, users[0]).await;
    assert_eq!(id, ids[0], "the same user, the same id");
    let lease = store.try_acquire(&id, TTL).await.unwrap();
    assert!(lease.is_some(), "the new token's lease is free");
}

// ---- 4. never two holders ---------------------------------------------------------------------------

/// Holders at this moment, and the most there ever were.
#[derive(Default)]
struct Holders {
    now: AtomicUsize,
    most: AtomicUsize,
    taken: AtomicUsize,
}

impl Holders {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        self.taken.fetch_add(1, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Tries to take the lease until it gets it once (then holds it a moment and releases it).
async fn contend(store: &SecretsManagerStore, id: &str, holders: &Holders) {
    for _ in 0..60 {
        if let Some(lease) = store.try_acquire(id, TTL).await.unwrap() {
            holders.enter();
            tokio::time::sleep(Duration::from_millis(10)).await;
            holders.leave();
            store.release(&lease).await.unwrap();
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One race for the lease `id`, whose last two holders died: with `release`, one process takes it
/// over and releases it while the others poll it; without, they all race to take it over.
async fn race(
    holder: &SecretsManagerStore,
    contenders: &[SecretsManagerStore],
    writer: &Client,
    lease: &str,
    id: &str,
    release: bool,
) -> Holders {
    let holders = Holders::default();
    // The second died as it took the lease over (its claim, or an earlier version's next link).
    write_dead(writer, lease, Some(1)).await;
    write_dead(writer, &format!("{lease}/1"), Some(1)).await;
    let racing =
        futures::future::join_all(contenders.iter().map(|store| contend(store, id, &holders)));
    if release {
        let held = holder.try_acquire(id, TTL).await.unwrap();
        let held = held.expect("the dead holders' lease is taken over");
        holders.enter();
        let releasing = async {
            // While the others are polling it (the release races their reads).
            tokio::time::sleep(Duration::from_millis(50)).await;
            holders.leave();
            holder.release(&held).await.unwrap();
        };
        tokio::join!(releasing, racing);
    } else {
        racing.await;
    }
    holders
}

#[tokio::test]
async fn processes_racing_a_release_or_a_takeover_never_both_hold_the_lease() {
    // Through the strict model: AWS's exclusive CreateSecret (LocalStack's alone is not quite).
    const ROUNDS: usize = 12;
    const RACES: usize = 4;
    const CONTENDERS: usize = 4;
    let strict = StrictAws::start(&[]);
    let prefix = unique_prefix("lease-race");
    let mut stores = Vec::new();
    for _ in 0..=CONTENDERS {
        stores.push(store_on(strict.client().await, &prefix));
    }
    let (holder, contenders) = stores.split_first().unwrap();
    let writer = strict.client().await;
    let (mut most, mut taken) = (0, 0);
    for round in 0..ROUNDS {
        // Several leases at once, each raced by every process.
        let ids: Vec<String> = (0..RACES).map(|n| format!("race{round}x{n}")).collect();
        let leases: Vec<String> = ids.iter().map(|id| format!("{prefix}lease/{id}")).collect();
        let races = ids.iter().zip(&leases).enumerate().map(|(n, (id, lease))| {
            race(holder, contenders, &writer, lease, id, (round + n) % 2 == 0)
        });
        for holders in futures::future::join_all(races).await {
            most = most.max(holders.most.load(Ordering::SeqCst));
            taken += holders.taken.load(Ordering::SeqCst);
        }
    }
    assert_eq!(most, 1, "two processes held a lease at once");
    assert!(
        taken >= ROUNDS * RACES * CONTENDERS / 2,
        "the contenders took the leases in turn: {taken}"
    );
}

/// Holds the first answer to a `GetSecretValue` of `name` until the gate opens: a process paused
/// between two calls of an acquire.
#[derive(Debug)]
struct PauseAfterRead {
    name: String,
    paused: Arc<AtomicBool>,
    gate: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl aws_sdk_secretsmanager::config::Intercept for PauseAfterRead {
    fn name(&self) -> &'static str {
        "PauseAfterRead"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueInput;
        let ours = context
            .input()
            .downcast_ref::<GetSecretValueInput>()
            .and_then(GetSecretValueInput::secret_id)
            .is_some_and(|id| id == self.name);
        if ours {
            cfg.interceptor_state().store_put(Pause);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if cfg.load::<Pause>().is_some() && !self.paused.swap(true, Ordering::SeqCst) {
            let (open, opened) = &*self.gate;
            let guard = open.lock().unwrap();
            let _ = opened
                .wait_timeout_while(guard, Duration::from_secs(20), |open| !*open)
                .unwrap();
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Pause;

impl aws_smithy_types::config_bag::Storable for Pause {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_process_paused_inside_an_acquire_while_the_lease_is_released_never_holds_it_with_another()
 {
    let prefix = unique_prefix("lease-paused");
    let raw = client().await;
    let id = "paused1";
    let lease = format!("{prefix}lease/{id}");
    // Two holders died, the second as it took the lease over; a third took it over and holds it.
    write_dead(&raw, &lease, Some(1)).await;
    write_dead(&raw, &format!("{lease}/1"), Some(1)).await;
    let holder = plain_store(&prefix).await;
    let held = holder.try_acquire(id, TTL).await.unwrap();
    let held = held.expect("the dead holders' lease is taken over");
    let holders = Arc::new(Holders::default());
    holders.enter();

    // A process reads the lease and is paused there (a stalled host, a slow network).
    let (paused, gate) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new())),
    );
    let pausing = Client::from_conf(
        client()
            .await
            .config()
            .to_builder()
            .interceptor(PauseAfterRead {
                name: lease.clone(),
                paused: Arc::clone(&paused),
                gate: Arc::clone(&gate),
            })
            .build(),
    );
    let slow = Arc::new(store_on(pausing, &prefix));
    let slow_side = tokio::spawn({
        let (slow, holders) = (Arc::clone(&slow), Arc::clone(&holders));
        async move { contend(&slow, id, &holders).await }
    });
    for _ in 0..500 {
        if paused.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(paused.load(Ordering::SeqCst), "paused inside its acquire");

    // Meanwhile the holder releases the lease, and another process takes it and holds it.
    holders.leave();
    holder.release(&held).await.unwrap();
    let other = plain_store(&prefix).await;
    let taken = other.try_acquire(id, TTL).await.unwrap().expect("free");
    holders.enter();
    // The paused process goes on with what it read, until that attempt is over: it took the lease,
    // or it has read the lease twice more (two more attempts, each finding it held).
    let reads = slow.calls().count("GetSecretValue");
    {
        let (open, opened) = &*gate;
        *open.lock().unwrap() = true;
        opened.notify_all();
    }
    for _ in 0..500 {
        if holders.most.load(Ordering::SeqCst) > 1
            || slow.calls().count("GetSecretValue") >= reads + 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holders.leave();
    other.release(&taken).await.unwrap();
    slow_side.await.unwrap();
    assert_eq!(
        holders.most.load(Ordering::SeqCst),
        1,
        "the paused process took the lease another held"
    );
}

#[tokio::test]
async fn a_holder_whose_lease_was_taken_over_stops_and_takes_the_new_holders_token() {
    // The holder's call to Zoho takes 4 s; its lease lives 3 s and is renewed every second.
    let zoho = Zoho::start_with(Duration::from_secs(4), 1, 3600).await;
    let prefix = unique_prefix("lease-lost");
    let store = Arc::new(plain_store(&prefix).await);
    let raw = client().await;
    let id = expired_token(&store, "los@example.com").await;
    let manager = TokenManager::builder(store.clone(), zoho.accounts())
        .coordinator(store.clone())
        .lease_ttl(Duration::from_secs(3))
        .build()
        .unwrap();
    let refreshing = tokio::spawn({
        let query = OAuthToken::default().with_id(&id);
        async move { manager.token(&query).await }
    });
    for _ in 0..500 {
        if zoho.refreshes() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(zoho.refreshes(), 1, "the holder is at Zoho");

    // Meanwhile its lease is taken over (as it would be once the holder stalled past its expiry): the
    // new holder refreshes and saves its own token.
    raw.delete_secret()
        .secret_id(format!("{prefix}lease/{id}"))
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    let other = plain_store(&prefix).await;
    let taken = other
        .try_acquire(&id, TTL)
        .await
        .unwrap()
        .expect("taken over");
    let mut fresh = other.reload_token(&id).await.unwrap().unwrap();
    fresh = fresh.with_access_token("access-other", now_ms() + 3_600_000);
    other.update_token(&fresh).await.unwrap();
    other.release(&taken).await.unwrap();

    let token = refreshing.await.unwrap().unwrap();
    assert_eq!(
        token.access_token.unwrap().secret(),
        "access-other",
        "the old holder stopped and took the new holder's token"
    );
    // Past the moment Zoho answered the abandoned call: still the new holder's token.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stored = store.reload_token(&id).await.unwrap().unwrap();
    assert_eq!(stored.access_token.unwrap().secret(), "access-other");
}

// ---- 5. a create retried after a lost answer is our own -------------------------------------------

/// Loses the answer to the first `CreateSecret` of a secret whose name ends with `suffix`, after the
/// service acted on it (a 500, which the SDK retries with the same `ClientRequestToken`).
#[derive(Debug)]
struct LoseFirstCreateAnswer {
    suffix: String,
    lost: AtomicBool,
}

#[derive(Debug)]
struct Lose;

impl aws_smithy_types::config_bag::Storable for Lose {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_sdk_secretsmanager::config::Intercept for LoseFirstCreateAnswer {
    fn name(&self) -> &'static str {
        "LoseFirstCreateAnswer"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_sdk_secretsmanager::operation::create_secret::CreateSecretInput;
        let targeted = context
            .input()
            .downcast_ref::<CreateSecretInput>()
            .and_then(CreateSecretInput::name)
            .is_some_and(|name| name.ends_with(&self.suffix));
        if targeted {
            cfg.interceptor_state().store_put(Lose);
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if cfg.load::<Lose>().is_some() && !self.lost.swap(true, Ordering::SeqCst) {
            let response = context.response_mut();
            *response.status_mut() = 500.try_into()?;
            response
                .headers_mut()
                .insert("x-amzn-errortype", "InternalServiceError");
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"InternalServiceError","message":"answer lost (injected by the test)"}"#,
            );
        }
        Ok(())
    }
}

async fn losing_first_create_answer(base: Client, suffix: &str) -> Client {
    Client::from_conf(
        base.config()
            .to_builder()
            .interceptor(LoseFirstCreateAnswer {
                suffix: suffix.to_owned(),
                lost: AtomicBool::new(false),
            })
            .build(),
    )
}

#[tokio::test]
async fn a_create_retried_after_its_answer_was_lost_is_recognised_as_our_own() {
    // On LocalStack the retry is refused as an existing secret; through the strict model (AWS) it is
    // answered as the first.
    let strict = StrictAws::start(&[]);
    for (backend, base) in [
        ("localstack", client().await),
        ("strict", strict.client().await),
    ] {
        let prefix = unique_prefix(&format!("lease-retry-{backend}"));
        let raw = client().await;
        let other = plain_store(&prefix).await;

        // Taking a free lease: the lease's create.
        let store = store_on(
            losing_first_create_answer(base.clone(), "/free1").await,
            &prefix,
        );
        let held = store.try_acquire("free1", TTL).await.unwrap();
        assert!(
            store.calls().retries("CreateSecret") >= 1,
            "{backend}: the SDK retried"
        );
        let held = held.unwrap_or_else(|| panic!("{backend}: our own create, retried"));
        assert!(
            other.try_acquire("free1", TTL).await.unwrap().is_none(),
            "{backend}: held"
        );
        store.release(&held).await.unwrap();
        assert!(other.try_acquire("free1", TTL).await.unwrap().is_some());

        // Taking over a dead holder's lease: the claim's create.
        write_dead(&raw, &format!("{prefix}lease/dead1"), Some(0)).await;
        let store = store_on(losing_first_create_answer(base, "/dead1/1").await, &prefix);
        let held = store.try_acquire("dead1", TTL).await.unwrap();
        assert!(store.calls().retries("CreateSecret") >= 1);
        let held = held.unwrap_or_else(|| panic!("{backend}: our own claim, retried"));
        assert!(
            other.try_acquire("dead1", TTL).await.unwrap().is_none(),
            "{backend}: held"
        );
        store.release(&held).await.unwrap();
        assert_eq!(lease_secrets(&raw, &prefix).await.len(), 1, "other's free1");
    }
}
