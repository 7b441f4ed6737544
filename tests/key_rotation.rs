//! Key sources and rotation against LocalStack (Secrets Manager and KMS).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_kms::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{OnSend, client, client_with, keyring, kms_client, kms_key, token_for, unique_prefix};
use futures::{StreamExt, TryStreamExt, stream};
use zoho_token_store::{
    BulkOptions, Error, KeySource, Keyring, OAuthToken, SecretKeySource, SecretsManagerStore,
    TokenStore,
};

/// A store on LocalStack, whose listings are consistent: these tests are about keys, not listing lag
/// (tests/fleet.rs covers that), so no lookup bridges.
fn store_on(
    client: aws_sdk_secretsmanager::Client,
    keys: impl KeySource + 'static,
    prefix: &str,
) -> SecretsManagerStore {
    SecretsManagerStore::builder(client, keys)
        .prefix(prefix)
        .listing_lag(Duration::ZERO)
        .build()
        .unwrap()
}

fn by_user(user: &str) -> OAuthToken {
    OAuthToken::default().with_user_name(user)
}

fn by_refresh(tag: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token(format!("refresh-{tag}"))
}

fn by_access(tag: &str) -> OAuthToken {
    OAuthToken::default().with_access_token(format!("access-{tag}"), 0)
}

/// Saves `n` users' tokens (user{i}, tags t{i}) with bounded concurrency.
async fn seed(store: &SecretsManagerStore, n: usize) -> Vec<OAuthToken> {
    stream::iter(0..n)
        .map(|i| async move {
            let mut t = token_for(&format!("user{i:03}@example.com"), &format!("t{i}"));
            store.save_token(&mut t).await.map(|()| t)
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap()
}

fn fast() -> BulkOptions {
    BulkOptions::default()
        .concurrency(NonZeroUsize::new(8).unwrap())
        .writes_per_second(NonZeroU32::new(2_000).unwrap())
}

#[tokio::test]
async fn kms_wrapped_keyring_round_trip_keeps_only_wrapped_keys_at_rest() {
    let kms_arn = kms_key().await;
    let keyring_name = format!("{}keyring", unique_prefix("kms"));
    let prefix = unique_prefix("kms-tokens");
    let source =
        SecretKeySource::new(client().await, &keyring_name).with_kms(kms_client().await, &kms_arn);
    source.create("k1").await.unwrap();
    let store = store_on(client().await, source, &prefix);
    let mut token = token_for("kim@example.com", "kms");
    store.save_token(&mut token).await.unwrap();

    // Another process, its own clients and cache: unwraps through KMS and reads the token.
    let other = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name).with_kms(kms_client().await, &kms_arn),
        &prefix,
    );
    let found = other
        .find_token(&by_user("kim@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.refresh_token, token.refresh_token);

    // At rest, the keyring holds KMS ciphertexts only, bound to their role by the encryption context.
    let doc = client()
        .await
        .get_secret_value()
        .secret_id(&keyring_name)
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(doc.secret_string().unwrap()).unwrap();
    assert_eq!(doc["kms_key_id"], kms_arn.as_str());
    let wrapped = BASE64
        .decode(doc["keys"][0]["key"].as_str().unwrap())
        .unwrap();
    assert!(
        wrapped.len() > 32,
        "a KMS ciphertext, not a raw 32-byte key"
    );
    let kms = kms_client().await;
    let plain = kms
        .decrypt()
        .ciphertext_blob(Blob::new(wrapped.clone()))
        .encryption_context("zoho-token-store", "data:k1")
        .encryption_context("zoho-token-store:keyring", &keyring_name)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref().len(), 32);
    let swapped = kms
        .decrypt()
        .ciphertext_blob(Blob::new(wrapped))
        .encryption_context("zoho-token-store", "index")
        .encryption_context("zoho-token-store:keyring", &keyring_name)
        .send()
        .await;
    assert!(swapped.is_err(), "a data key cannot pass for the index key");
}

#[tokio::test]
async fn wrong_or_missing_kms_key_and_keyring_give_clear_errors() {
    let keyring_name = format!("{}keyring", unique_prefix("kms-errors"));
    let missing = SecretKeySource::new(client().await, &keyring_name)
        .with_kms(kms_client().await, "alias/zts-no-such-key");
    let err = missing.create("k1").await.unwrap_err();
    assert!(
        matches!(err, Error::KeySource { .. }) && err.to_string().contains("was not found"),
        "{err}"
    );

    let store = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
        "zts-test/none/",
    );
    let err = store.find_token_by_id("t1").await.unwrap_err();
    assert!(
        err.to_string().contains("does not exist; create it"),
        "{err}"
    );

    let key_a = kms_key().await;
    let key_b = kms_key().await;
    SecretKeySource::new(client().await, &keyring_name)
        .with_kms(kms_client().await, &key_a)
        .create("k1")
        .await
        .unwrap();
    let wrong = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name).with_kms(kms_client().await, &key_b),
        "zts-test/none/",
    );
    let err = wrong.find_token_by_id("t1").await.unwrap_err();
    assert!(
        matches!(err, Error::KeySource { .. }) && err.to_string().contains("could not unwrap"),
        "{err}"
    );

    let unwrapped = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
        "zts-test/none/",
    );
    let err = unwrapped.find_token_by_id("t1").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("configure SecretKeySource::with_kms"),
        "{err}"
    );
    assert!(
        !format!("{err:?}").contains("\"key\""),
        "no key material in errors: {err:?}"
    );
}

#[tokio::test]
async fn a_keyring_secret_rotated_by_another_instance_is_picked_up_without_restart() {
    let keyring_name = format!("{}keyring", unique_prefix("reload"));
    let prefix = unique_prefix("reload-tokens");
    let admin = Arc::new(SecretKeySource::new(client().await, &keyring_name));
    admin.create("k1").await.unwrap();
    let writer = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
        &prefix,
    );
    let reader = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
        &prefix,
    );

    let mut a = token_for("amy@example.com", "a");
    writer.save_token(&mut a).await.unwrap();
    assert!(
        reader
            .find_token(&by_user("amy@example.com"))
            .await
            .unwrap()
            .is_some(),
        "reader cached k1"
    );

    // Another instance rotates; the writer process restarts with the new ring, the reader does not.
    admin.add_primary_key("k2").await.unwrap();
    let writer = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
        &prefix,
    );
    let mut b = token_for("ben@example.com", "b");
    writer.save_token(&mut b).await.unwrap();
    assert_eq!(
        writer.key_usage().await.unwrap(),
        BTreeMap::from([("k1".into(), 1), ("k2".into(), 1)])
    );

    reader.calls().reset();
    let found = reader
        .find_token(&by_user("ben@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.refresh_token, b.refresh_token,
        "reader reloaded the keyring for k2"
    );
    // The keyring secret is read by the key source's own client; the store itself read one secret.
    assert_eq!(reader.calls().count("GetSecretValue"), 1);
    // The reader now writes under k2 too.
    let mut c = token_for("cal@example.com", "c");
    reader.save_token(&mut c).await.unwrap();
    assert_eq!(reader.key_usage().await.unwrap().get("k2"), Some(&2));
}

#[tokio::test]
async fn rotating_200_tokens_survives_an_outage_midway_and_resumes() {
    let prefix = unique_prefix("rotate200");
    let old = store_on(client().await, keyring(), &prefix);
    let originals = seed(&old, 200).await;
    let rotated = || keyring().with_new_primary("k2", &[0x22; 32]).unwrap();
    let assert_all_readable = |store: SecretsManagerStore| {
        let originals = originals.clone();
        async move {
            let mut all = store.get_tokens().await.unwrap();
            all.sort_by(|a, b| a.user_name.cmp(&b.user_name));
            let mut want = originals;
            want.sort_by(|a, b| a.user_name.cmp(&b.user_name));
            assert_eq!(all, want, "every token readable and unchanged");
        }
    };

    // New writes use the new primary; old tokens still decrypt.
    let new = store_on(client().await, rotated(), &prefix);
    assert_all_readable(store_on(client().await, rotated(), &prefix)).await;

    // The service stops accepting the stage move after 60 tokens.
    let broken = store_on(
        client_with(OnSend::fail_after("UpdateSecretVersionStage", 60)).await,
        rotated(),
        &prefix,
    );
    // One token at a time, so no write is still on its way when the service stops (with several in
    // flight, one sent before the stop could land after the usage count below and skew it).
    let err = broken
        .reencrypt(&fast().concurrency(NonZeroUsize::MIN))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                operation: "UpdateSecretVersionStage",
                ..
            }
        ),
        "{err:?}"
    );
    assert_all_readable(store_on(client().await, rotated(), &prefix)).await;
    let usage = new.key_usage().await.unwrap();
    assert_eq!(usage.values().sum::<usize>(), 200);
    // Exactly the 60 stage moves the service accepted got through.
    assert_eq!((usage["k1"], usage["k2"]), (140, 60), "{usage:?}");
    let err = new.retire_key("k1").await.unwrap_err();
    assert!(
        matches!(err, Error::KeyInUse { ref key_id, tokens } if key_id == "k1" && tokens == usage["k1"]),
        "{err:?}"
    );

    // Rerun: finishes the job, touching only what is left.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let report = new
        .reencrypt(&fast().on_progress(move |p| log.lock().unwrap().push(p)))
        .await
        .unwrap();
    assert_eq!(report.changed, usage["k1"]);
    assert_eq!(report.unchanged, 200 - usage["k1"]);
    let progress = seen.lock().unwrap().clone();
    assert_eq!(progress.len(), 200);
    assert!(progress.iter().any(|p| p.done == 200 && p.total == 200));
    assert_eq!(
        new.key_usage().await.unwrap(),
        BTreeMap::from([("k2".into(), 200)])
    );
    assert_all_readable(store_on(client().await, rotated(), &prefix)).await;

    // Idempotent: a third run changes nothing. Then k1 can go.
    assert_eq!(new.reencrypt(&fast()).await.unwrap().changed, 0);
    let err = new.retire_key("k2").await.unwrap_err();
    assert!(err.to_string().contains("primary"), "{err}");
    new.retire_key("k1").await.unwrap();
    let k2_only = Keyring::new("k2", &[0x22; 32], &[0x99; 32]).unwrap();
    assert_all_readable(store_on(client().await, k2_only, &prefix)).await;
}

#[tokio::test]
async fn retiring_from_a_keyring_secret_removes_the_key_only_when_unused() {
    let keyring_name = format!("{}keyring", unique_prefix("retire"));
    let prefix = unique_prefix("retire-tokens");
    let admin = SecretKeySource::new(client().await, &keyring_name);
    admin.create("k1").await.unwrap();
    let store = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
        &prefix,
    );
    seed(&store, 5).await;
    admin.add_primary_key("k2").await.unwrap();

    // With the defaults (5-minute refresh interval, 5-minute listing lag) a process may still write
    // under k1 for minutes: retiring now is refused, and says how long to wait.
    let store = SecretsManagerStore::builder(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
    )
    .prefix(&prefix)
    .build()
    .unwrap();
    match store.retire_key("k1").await {
        Err(Error::RotationTooSoon { ready_in, .. }) => assert!(
            (590..=611).contains(&ready_in),
            "interval + skew + lag: {ready_in}"
        ),
        other => panic!("retired too soon: {other:?}"),
    }

    // A fleet configured with a 1-second interval, on a backend whose listings are consistent.
    let store = SecretsManagerStore::builder(
        client().await,
        SecretKeySource::new(client().await, &keyring_name)
            .refresh_interval(Duration::from_secs(1)),
    )
    .prefix(&prefix)
    .listing_lag(Duration::ZERO)
    .build()
    .unwrap();
    let retire = || async {
        loop {
            match store.retire_key("k1").await {
                // Wait exactly as long as the store says every process may still be stale.
                Err(Error::RotationTooSoon { ready_in, .. }) => {
                    tokio::time::sleep(Duration::from_secs(ready_in)).await;
                }
                other => return other,
            }
        }
    };
    assert!(matches!(
        retire().await,
        Err(Error::KeyInUse { tokens: 5, .. })
    ));
    store.reencrypt(&fast()).await.unwrap();
    retire().await.unwrap();
    let doc = client()
        .await
        .get_secret_value()
        .secret_id(&keyring_name)
        .send()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(doc.secret_string().unwrap()).unwrap();
    let ids: Vec<_> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["k2"]);
    let fresh = store_on(
        client().await,
        SecretKeySource::new(client().await, &keyring_name),
        &prefix,
    );
    assert_eq!(fresh.get_tokens().await.unwrap().len(), 5);
}

#[tokio::test]
async fn reencryption_never_overwrites_a_save_made_meanwhile() {
    let prefix = unique_prefix("cas");
    let old = store_on(client().await, keyring(), &prefix);
    let mut token = token_for("dora@example.com", "d1");
    old.save_token(&mut token).await.unwrap();

    // The application saves a refreshed token between re-encryption's read and its write.
    let app_prefix = prefix.clone();
    let hook: Box<dyn FnOnce() + Send> = Box::new(move || {
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let app = store_on(client().await, keyring(), &app_prefix);
                let mut refreshed = token_for("dora@example.com", "d2");
                app.save_token(&mut refreshed).await.unwrap();
            })
        })
        .join()
        .unwrap();
    });
    let rotated = keyring().with_new_primary("k2", &[0x22; 32]).unwrap();
    let hook = Mutex::new(Some(hook));
    let before_stage_move = OnSend::new("UpdateSecretVersionStage", move |_| {
        if let Some(hook) = hook.lock().unwrap().take() {
            hook();
        }
        Ok(())
    });
    let store = store_on(client_with(before_stage_move).await, rotated, &prefix);
    let report = store.reencrypt(&fast()).await.unwrap();
    assert_eq!((report.changed, report.skipped), (0, 1), "{report:?}");

    let found = store
        .find_token(&by_user("dora@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.refresh_token.unwrap().secret(),
        "refresh-d2",
        "the application's save survived"
    );
    // The skipped token is still under k1; a rerun picks it up.
    assert_eq!(store.reencrypt(&fast()).await.unwrap().changed, 1);
    assert_eq!(
        store.key_usage().await.unwrap(),
        BTreeMap::from([("k2".into(), 1)])
    );
}

#[tokio::test]
async fn reencryption_keeps_to_its_write_rate() {
    let prefix = unique_prefix("rate");
    let old = store_on(client().await, keyring(), &prefix);
    seed(&old, 12).await;
    let store = store_on(
        client().await,
        keyring().with_new_primary("k2", &[0x22; 32]).unwrap(),
        &prefix,
    );
    let started = Instant::now();
    let options = BulkOptions::default().writes_per_second(NonZeroU32::new(12).unwrap());
    assert_eq!(store.reencrypt(&options).await.unwrap().changed, 12);
    // 24 writes (a put and a stage move per token) at 12 per second: at least about 2 seconds.
    let elapsed = started.elapsed();
    assert!(
        elapsed.as_secs_f64() >= 1.8,
        "finished in {elapsed:?}: the write rate was not honoured"
    );
}

#[tokio::test]
async fn index_key_rotation_keeps_every_lookup_working_at_every_step() {
    let prefix = unique_prefix("index-rotation");
    let users = 30;
    let old_ring = keyring();
    let before = store_on(client().await, old_ring.clone(), &prefix);
    seed(&before, users).await;
    let lookups_all_work = |ring: Keyring, step: &'static str| {
        let prefix = prefix.clone();
        async move {
            let store = store_on(client().await, ring, &prefix);
            for i in [0, 7, 29] {
                let user = format!("user{i:03}@example.com");
                for (how, query) in [
                    ("user", by_user(&user)),
                    ("refresh", by_refresh(&format!("t{i}"))),
                    ("access", by_access(&format!("t{i}"))),
                ] {
                    let found = store.find_token(&query).await.unwrap();
                    assert_eq!(
                        found.and_then(|t| t.user_name),
                        Some(user.clone()),
                        "{step}: by {how}"
                    );
                }
            }
        }
    };
    lookups_all_work(old_ring.clone(), "before").await;

    // Step 1: a new current index key, the old one kept.
    let both = old_ring.clone().with_new_index_key(&[0x77; 32]).unwrap();
    lookups_all_work(both.clone(), "new key added").await;
    let new_only = both.clone().without_previous_index_keys();
    let premature = store_on(client().await, new_only.clone(), &prefix);
    // The tags are still under the old key: a lookup says so instead of missing silently.
    let err = premature.find_token(&by_refresh("t7")).await.unwrap_err();
    assert!(matches!(err, Error::WrongIndexKey { .. }), "{err:?}");

    // Step 2: re-tag, interrupted after 10 tokens, lookups still fine, then resumed.
    let broken = store_on(
        client_with(OnSend::fail_after("TagResource", 10)).await,
        both.clone(),
        &prefix,
    );
    assert!(broken.retag(&fast()).await.is_err());
    lookups_all_work(both.clone(), "re-tag interrupted").await;
    let store = store_on(client().await, both.clone(), &prefix);
    let report = store.retag(&fast()).await.unwrap();
    assert_eq!(report.changed + report.unchanged, users);
    assert!(report.changed >= users - 10, "{report:?}");
    assert_eq!(store.retag(&fast()).await.unwrap().changed, 0, "idempotent");

    // Step 3: drop the old index key. Everything is found under the new one alone.
    lookups_all_work(new_only.clone(), "old key dropped").await;
    let store = store_on(client().await, new_only, &prefix);
    let mut again = token_for("user007@example.com", "t7b");
    store.save_token(&mut again).await.unwrap();
    assert_eq!(
        store.get_tokens().await.unwrap().len(),
        users,
        "saving an old user updates, never duplicates"
    );
}

/// An id stays its user's through an index-key rotation: a token tagged under the old index key is
/// updated by id (save and update) by a process whose ring has a new current key beside the old one,
/// still refused for another user, and a ring without the old key says it is the wrong key rather than
/// blaming another user.
#[tokio::test]
async fn a_save_by_id_is_checked_against_its_user_under_every_index_key_of_the_ring() {
    let prefix = unique_prefix("id-user-rotation");
    let old_ring = keyring();
    let before = store_on(client().await, old_ring.clone(), &prefix);
    let [alice] = <[OAuthToken; 1]>::try_from(seed(&before, 1).await).unwrap();
    let id = alice.id.clone().unwrap();

    let both = old_ring.with_new_index_key(&[0x78; 32]).unwrap();
    // The tags are under the old key (no re-tag ran), which a ring of the new key alone lacks: it says
    // so, and writes nothing.
    let new_only = store_on(
        client().await,
        both.clone().without_previous_index_keys(),
        &prefix,
    );
    let mut same_user = token_for("user000@example.com", "t0-early");
    same_user.id = Some(id.clone());
    let err = new_only.save_token(&mut same_user).await.unwrap_err();
    assert!(matches!(err, Error::WrongIndexKey { .. }), "{err:?}");
    let unchanged = before.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(
        unchanged.refresh_token, alice.refresh_token,
        "nothing written"
    );

    // With both keys: the old key's tag is this user's (the first write), then the new key's.
    let during = store_on(client().await, both, &prefix);
    let mut update = token_for("user000@example.com", "t0-new");
    update.id = Some(id.clone());
    during.save_token(&mut update).await.unwrap();
    let mut again = token_for("user000@example.com", "t0-again");
    again.id = Some(id.clone());
    during.update_token(&again).await.unwrap();

    let mut bob = token_for("bob@example.com", "bob");
    bob.id = Some(id.clone());
    let refused = during.save_token(&mut bob).await.unwrap_err();
    assert!(
        refused.to_string().contains("names another user's token"),
        "{refused:?}"
    );

    let kept = during.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(kept.user_name.as_deref(), Some("user000@example.com"));
    assert_eq!(kept.refresh_token.unwrap().secret(), "refresh-t0-again");
}

/// Copies a keyring secret's document into a new secret `to` (what an operator with write access to
/// both could do: staging's keyring over production's).
async fn copy_keyring(from: &str, to: &str) {
    let raw = client().await;
    let doc = raw
        .get_secret_value()
        .secret_id(from)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_owned();
    raw.create_secret()
        .name(to)
        .secret_string(doc)
        .send()
        .await
        .unwrap();
}

/// Whether `ring` holds the keys `data` (id `k1`) and `index`: a token saved under `ring` is read, and
/// found by user, by a store holding only those bytes.
async fn holds(ring: Arc<Keyring>, data: &[u8], index: &[u8], prefix: &str) -> bool {
    let writer = store_on(client().await, ring, prefix);
    let mut token = token_for("kim@example.com", "kim");
    writer.save_token(&mut token).await.unwrap();
    let reader = store_on(
        client().await,
        Keyring::new("k1", data, index).unwrap(),
        prefix,
    );
    let found = reader
        .find_token(&OAuthToken::default().with_user_name("kim@example.com"))
        .await
        .unwrap();
    found.and_then(|t| t.refresh_token) == token.refresh_token
}

#[tokio::test]
async fn wrapped_keys_are_bound_to_their_keyring_and_an_older_keyring_is_rebound_once() {
    let prefix = unique_prefix("bind");
    let (kms, kms_arn) = (kms_client().await, kms_key().await);
    // Every source in this test wraps with the same KMS key.
    let source = |name: &str| {
        let (name, arn) = (name.to_owned(), kms_arn.clone());
        async move { SecretKeySource::new(client().await, name).with_kms(kms_client().await, arn) }
    };
    let refused_as_moved = |e: Error| {
        matches!(&e, Error::KeySource { .. }) && e.to_string().contains("another keyring secret")
    };

    // Staging's keyring copied over production's: same KMS key, but its keys name staging.
    let (staging, production) = (format!("{prefix}staging"), format!("{prefix}production"));
    source(&staging).await.create("k1").await.unwrap();
    copy_keyring(&staging, &production).await;
    let err = source(&production).await.keyring().await.unwrap_err();
    assert!(refused_as_moved(err.clone()), "{err}");

    // A keyring written before keys were bound (format 1): its keys wrapped with the role alone.
    let (data, index) = ([0x21u8; 32], [0x22u8; 32]);
    let wrap = |key: [u8; 32], role: &'static str| {
        let (kms, kms_arn) = (kms.clone(), kms_arn.clone());
        async move {
            let out = kms
                .encrypt()
                .key_id(kms_arn)
                .plaintext(Blob::new(key.to_vec()))
                .encryption_context("zoho-token-store", role)
                .send()
                .await
                .unwrap();
            BASE64.encode(out.ciphertext_blob().unwrap().as_ref())
        }
    };
    let old = format!("{prefix}old");
    let doc = serde_json::json!({
        "format": 1,
        "kms_key_id": kms_arn,
        "index": [wrap(index, "index").await],
        "keys": [{"id": "k1", "key": wrap(data, "data:k1").await}],
    });
    client()
        .await
        .create_secret()
        .name(&old)
        .secret_string(doc.to_string())
        .send()
        .await
        .unwrap();
    // Refused, naming the way out; read only when allowed (the upgrade window).
    let err = source(&old).await.keyring().await.unwrap_err();
    assert!(
        matches!(&err, Error::KeySource { .. })
            && err.to_string().contains("rebind-keyring")
            && err.to_string().contains("ALLOW_UNBOUND"),
        "{err}"
    );
    let err = source(&old).await.add_primary_key("k2").await.unwrap_err();
    assert!(err.to_string().contains("rebind-keyring"), "{err}");
    let lenient = source(&old).await.allow_unbound_keys(true);
    let ring = lenient.keyring().await.unwrap();
    assert!(holds(ring, &data, &index, &format!("{prefix}t1/")).await);

    // Rebound once: the same keys, now bound to this keyring's name.
    assert!(source(&old).await.rebind().await.unwrap());
    assert!(!source(&old).await.rebind().await.unwrap(), "idempotent");
    let ring = source(&old).await.keyring().await.unwrap();
    assert!(holds(ring, &data, &index, &format!("{prefix}t2/")).await);
    // And no longer movable.
    let moved = format!("{prefix}moved");
    copy_keyring(&old, &moved).await;
    let err = source(&moved)
        .await
        .allow_unbound_keys(true)
        .keyring()
        .await
        .unwrap_err();
    assert!(refused_as_moved(err.clone()), "{err}");
}

#[tokio::test]
async fn retiring_waits_for_a_pending_rotation_version_and_for_tokens_in_their_recovery_window() {
    let prefix = unique_prefix("retire-unseen");
    let rotated = || keyring().with_new_primary("k2", &[0x22; 32]).unwrap();
    let old = store_on(client().await, keyring(), &prefix);
    let mut kept = token_for("kit@example.com", "kept");
    old.save_token(&mut kept).await.unwrap();
    let mut gone = token_for("gus@example.com", "gone");
    old.save_token(&mut gone).await.unwrap();
    let new = SecretsManagerStore::builder(client().await, rotated())
        .prefix(&prefix)
        .listing_lag(Duration::ZERO)
        .recovery_window(zoho_token_store::RecoveryWindow::Days(7))
        .build()
        .unwrap();
    new.reencrypt(&fast()).await.unwrap();
    assert_eq!(
        new.key_usage().await.unwrap(),
        BTreeMap::from([("k2".into(), 2)])
    );

    // A rotation under way left its pending version under k1 (written by a process on the old ring):
    // finishing it would make the token unreadable once k1 is gone.
    let raw = client().await;
    let name = new.secret_name(kept.id.as_deref().unwrap()).unwrap();
    let pending = zoho_token_store::seal_token(&keyring(), &name, &kept).unwrap();
    let staged = raw
        .put_secret_value()
        .secret_id(&name)
        .secret_string(pending)
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let err = new.retire_key("k1").await.unwrap_err();
    assert!(
        matches!(&err, Error::KeyMayBeInUse { key_id, secrets: 1, reason, .. }
            if key_id == "k1" && reason.contains("pending")),
        "{err:?}"
    );
    raw.update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSPENDING")
        .remove_from_version_id(staged.version_id().unwrap())
        .send()
        .await
        .unwrap();

    // A token in its recovery window: its value cannot be read, and restored it would need its key.
    new.delete_token(gone.id.as_deref().unwrap()).await.unwrap();
    let err = new.retire_key("k1").await.unwrap_err();
    assert!(
        matches!(&err, Error::KeyMayBeInUse { secrets: 1, reason, .. } if reason.contains("recovery window")),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("ForceDeleteWithoutRecovery"),
        "{err}"
    );
    // Deleted for good: nothing can need k1 any more.
    raw.delete_secret()
        .secret_id(new.secret_name(gone.id.as_deref().unwrap()).unwrap())
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    new.retire_key("k1").await.unwrap();
}

#[tokio::test]
async fn a_token_under_a_key_the_keyring_lacks_reloads_it_once_per_interval_not_per_read() {
    let keyring_name = format!("{}keyring", unique_prefix("missing-key"));
    let prefix = unique_prefix("missing-key-tokens");
    SecretKeySource::new(client().await, &keyring_name)
        .create("k1")
        .await
        .unwrap();
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&reads);
    let counting = client_with(OnSend::new("GetSecretValue", move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }))
    .await;
    let store = store_on(
        client().await,
        SecretKeySource::new(counting, &keyring_name),
        &prefix,
    );
    // A token written under a key this keyring never had (another keyring's, or one retired).
    let foreign = store_on(
        client().await,
        Keyring::new("kx", &[0x33; 32], &[0x44; 32]).unwrap(),
        &prefix,
    );
    let mut stray = token_for("sid@example.com", "s").with_id("stray1");
    foreign.insert_token(&mut stray).await.unwrap();

    for _ in 0..3 {
        let err = store.find_token_by_id("stray1").await.unwrap_err();
        assert!(matches!(err, Error::UnknownKeyId { .. }), "{err:?}");
    }
    // The first read loads the keyring, and its reload for `kx` reads it once more; then no more.
    assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 2);
}
