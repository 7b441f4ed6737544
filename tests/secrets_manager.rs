//! SecretsManagerStore against LocalStack: call budgets, concurrency, deletion, scale, tampering, and
//! proof that nothing secret reaches the service in plaintext.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use aws_sdk_secretsmanager::types::Tag;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{client, keyring, raw_names, store, token_for, unique_prefix};
use futures::{StreamExt, TryStreamExt, stream};
use zoho_token_store::{
    Error, Keyring, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore,
};

async fn saved(store: &SecretsManagerStore, mut token: OAuthToken) -> OAuthToken {
    store.save_token(&mut token).await.unwrap();
    token
}

fn by_refresh(tag: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token(format!("refresh-{tag}"))
}

#[tokio::test]
async fn lookups_by_id_or_user_cost_one_read_and_by_token_one_batch() {
    let store = store("budgets").await;
    let alice = saved(&store, token_for("alice@example.com", "a")).await;
    let calls = store.calls();

    let cases: [(&str, OAuthToken, &str); 4] = [
        (
            "user",
            OAuthToken::default().with_user_name("alice@example.com"),
            "GetSecretValue",
        ),
        ("refresh", by_refresh("a"), "BatchGetSecretValue"),
        (
            "grant",
            OAuthToken::default()
                .with_client("1000.CLIENTID", "cs")
                .with_grant_token("grant-a"),
            "BatchGetSecretValue",
        ),
        (
            "access",
            OAuthToken::default().with_access_token("access-a", 0),
            "BatchGetSecretValue",
        ),
    ];
    for (what, query, operation) in cases {
        calls.reset();
        let found = store.find_token(&query).await.unwrap();
        assert_eq!(found.unwrap().id, alice.id, "found by {what}");
        assert_eq!(
            (calls.total(), calls.count(operation)),
            (1, 1),
            "by {what}: {:?}",
            calls.snapshot()
        );
    }
    calls.reset();
    assert!(
        store
            .find_token_by_id(alice.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        (calls.total(), calls.count("GetSecretValue")),
        (1, 1),
        "{:?}",
        calls.snapshot()
    );

    calls.reset();
    store
        .delete_token(alice.id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        (calls.total(), calls.count("DeleteSecret")),
        (2, 2),
        "delete of one, with its refresh lease: {:?}",
        calls.snapshot()
    );
}

#[tokio::test]
async fn a_user_saved_under_an_explicit_id_is_found_through_the_user_index() {
    let store = store("explicit-id-user").await;
    saved(&store, token_for("carol@example.com", "c").with_id("42")).await;
    store.calls().reset();
    let found = store
        .find_token(&OAuthToken::default().with_user_name("carol@example.com"))
        .await
        .unwrap();
    assert_eq!(found.unwrap().id.as_deref(), Some("42"));
    // The computed name misses (one read), then the user index finds it (one batch).
    assert_eq!(store.calls().count("GetSecretValue"), 1);
    assert_eq!(store.calls().count("BatchGetSecretValue"), 1);
}

#[tokio::test]
async fn saving_an_unchanged_index_is_one_write_and_a_new_token_one_create() {
    let store = store("save-budget").await;
    let calls = store.calls();
    calls.reset();
    let mut token = saved(&store, token_for("dave@example.com", "d").with_id("dave1")).await;
    // One create for the token, one lookup bridge per value it can be found by (user, as its id is
    // not the user-derived one; grant; refresh; access), and, first in this store, one listing that
    // sweeps old bridges.
    assert_eq!(
        (calls.count("CreateSecret"), calls.count("ListSecrets")),
        (1 + 4, 1),
        "{:?}",
        calls.snapshot()
    );
    assert_eq!(
        calls.count("TagResource") + calls.count("PutSecretValue"),
        0,
        "tags ride on CreateSecret"
    );

    // A new user without an id: the computed name is described (absent), the user index and its
    // bridge are searched for a token saved under another id, then one create and its bridges (grant,
    // refresh, access; none for the user, whose name finds it). The absent name is not read again, and
    // old bridges were swept a moment ago. This store's first miss also checks its index key is the
    // store's: one ListSecrets, never again.
    for (user, checks) in [("erin@example.com", 1), ("fred@example.com", 0)] {
        calls.reset();
        saved(&store, token_for(user, user)).await;
        let snapshot = calls.snapshot();
        assert_eq!(
            [
                calls.count("DescribeSecret"),
                calls.count("BatchGetSecretValue"),
                calls.count("GetSecretValue"),
                calls.count("CreateSecret"),
                calls.count("ListSecrets"),
            ],
            [1, 1, 1, 1 + 3, checks],
            "{snapshot:?}"
        );
        assert_eq!(calls.total(), 7 + checks, "{snapshot:?}");
    }

    calls.reset();
    token.expires_at_ms = Some(1_999_999_999_999);
    token.api_domain = Some("https://www.zohoapis.eu".into());
    store.save_token(&mut token).await.unwrap();
    let snapshot = calls.snapshot();
    assert_eq!(calls.count("PutSecretValue"), 1, "{snapshot:?}");
    assert_eq!(calls.count("DescribeSecret"), 1, "{snapshot:?}");
    assert_eq!(
        calls.total(),
        2,
        "one read, one write, no tagging: {snapshot:?}"
    );
    let got = store.find_token_by_id("dave1").await.unwrap().unwrap();
    assert_eq!(got.api_domain.as_deref(), Some("https://www.zohoapis.eu"));
}

#[tokio::test]
async fn changing_indexed_fields_moves_the_tags() {
    let store = store("retag").await;
    let mut token = saved(&store, token_for("erin@example.com", "e1")).await;
    token.refresh_token = Some("refresh-e2".into());
    token.grant_token = None;
    store.calls().reset();
    store.save_token(&mut token).await.unwrap();
    assert_eq!(store.calls().count("TagResource"), 1);
    assert_eq!(
        store.calls().count("UntagResource"),
        1,
        "the grant tag is removed"
    );

    assert!(
        store.find_token(&by_refresh("e2")).await.unwrap().is_some(),
        "new refresh token finds it"
    );
    assert!(
        store.find_token(&by_refresh("e1")).await.unwrap().is_none(),
        "old refresh token does not"
    );
    let by_grant = OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_grant_token("grant-e1");
    assert!(store.find_token(&by_grant).await.unwrap().is_none());

    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    let described = client()
        .await
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = described.tags().iter().filter_map(Tag::key).collect();
    assert!(!keys.contains(&"zts:grant"), "{keys:?}");
}

#[tokio::test]
async fn thirty_two_concurrent_saves_of_one_user_leave_exactly_one_secret() {
    let prefix = unique_prefix("dedupe");
    // Build every client first, then release all saves at once, so they really race on the create.
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let (prefix, barrier) = (prefix.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                // Each task has its own client, as separate processes would.
                let store = SecretsManagerStore::builder(client().await, keyring())
                    .prefix(prefix)
                    .build()
                    .unwrap();
                let mut token = token_for("frank@example.com", &format!("f{n}"));
                barrier.wait().await;
                store.save_token(&mut token).await.unwrap();
                (token.id.unwrap(), store.calls().count("CreateSecret"))
            })
        })
        .collect();
    let (mut ids, mut creates) = (Vec::new(), 0);
    for task in tasks {
        let (id, created) = task.await.unwrap();
        ids.push(id);
        creates += created;
    }
    assert!(
        creates > 1,
        "the saves raced on CreateSecret ({creates} attempts)"
    );
    ids.dedup();
    assert_eq!(ids.len(), 1, "every task saved to the same id");
    let raw = client().await;
    let names = common::token_names(&raw, &prefix, true).await;
    assert_eq!(names.len(), 1);
    // Every save that returned Ok wrote a version: none was dropped on losing the create race.
    let versions = raw
        .list_secret_version_ids()
        .secret_id(&names[0])
        .include_deprecated(true)
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 32, "one version per save");

    let store = SecretsManagerStore::builder(raw, keyring())
        .prefix(prefix)
        .build()
        .unwrap();
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), 1);
    let refresh = all[0].refresh_token.as_ref().unwrap().secret().to_owned();
    assert!(
        (0..32).any(|n| refresh == format!("refresh-f{n}")),
        "one of the saves won: {refresh}"
    );
}

#[tokio::test]
async fn a_token_in_its_recovery_window_is_invisible_and_its_user_can_save_again() {
    let store = store("recovery").await; // default: 7-day recovery window
    let gina = saved(&store, token_for("gina@example.com", "g1")).await;
    let mut loose = token_for("unused", "loose");
    loose.user_name = None;
    let loose = saved(&store, loose).await;
    for t in [&gina, &loose] {
        store.delete_token(t.id.as_deref().unwrap()).await.unwrap();
    }

    let raw = client().await;
    let name = store.secret_name(gina.id.as_deref().unwrap()).unwrap();
    let described = raw.describe_secret().secret_id(&name).send().await.unwrap();
    assert!(
        described.deleted_date().is_some(),
        "scheduled for deletion, not destroyed"
    );

    assert!(
        store
            .find_token_by_id(gina.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_token(&OAuthToken::default().with_user_name("gina@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_token(&by_refresh("g1")).await.unwrap().is_none());
    assert!(
        store
            .find_token(&by_refresh("loose"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_token(&OAuthToken::default().with_access_token("access-g1", 0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_tokens().await.unwrap().is_empty());
    store
        .delete_token(gina.id.as_deref().unwrap())
        .await
        .unwrap(); // deleting again is fine

    // Saving the same user again works: no "scheduled for deletion" error reaches the caller.
    let again = saved(&store, token_for("gina@example.com", "g2")).await;
    assert_eq!(again.id, gina.id, "the user's computed name is reused");
    let found = store
        .find_token(&OAuthToken::default().with_user_name("gina@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.refresh_token.unwrap().secret(), "refresh-g2");
    assert!(
        store.find_token(&by_refresh("g1")).await.unwrap().is_none(),
        "old index tags are gone"
    );
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);
    let described = raw.describe_secret().secret_id(&name).send().await.unwrap();
    assert!(described.deleted_date().is_none(), "restored");
}

#[tokio::test]
async fn immediate_deletion_removes_the_secret() {
    let store = SecretsManagerStore::builder(client().await, keyring())
        .prefix(unique_prefix("immediate"))
        .recovery_window(RecoveryWindow::Immediate)
        .build()
        .unwrap();
    let t = saved(&store, token_for("hank@example.com", "h")).await;
    store.delete_token(t.id.as_deref().unwrap()).await.unwrap();
    // Only the lookup bridges (ids and keyed digests, nothing secret) wait for their sweep.
    let left = raw_names(&client().await, store.prefix(), true).await;
    assert!(
        left.iter()
            .all(|n| n.starts_with(&format!("{}recent/", store.prefix()))),
        "{left:?}"
    );
    saved(&store, token_for("hank@example.com", "h2")).await;
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);
}

#[tokio::test]
async fn more_than_150_tokens_page_list_and_delete() {
    const N: usize = 160;
    let store = Arc::new(store("many").await);
    stream::iter(0..N)
        .map(|n| {
            let store = Arc::clone(&store);
            async move {
                let mut t = token_for(&format!("user{n:03}@example.com"), &format!("m{n}"));
                store.save_token(&mut t).await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();

    // Every name under the prefix: the tokens and their fresh lookup bridges (3 each).
    let under_prefix = raw_names(&client().await, store.prefix(), false)
        .await
        .len();
    assert_eq!(under_prefix, N * 4);
    store.calls().reset();
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), N);
    let mut users: Vec<_> = all.iter().map(|t| t.user_name.clone().unwrap()).collect();
    users.dedup();
    assert_eq!(users.len(), N, "no duplicates");
    assert_eq!(
        (
            store.calls().count("ListSecrets"),
            store.calls().count("BatchGetSecretValue")
        ),
        (under_prefix.div_ceil(100) as u64, N.div_ceil(20) as u64),
        "100 names per listing, then 20 token values per call (no bridge's value)"
    );

    store.calls().reset();
    store.delete_tokens().await.unwrap();
    assert_eq!(
        store.calls().count("ListSecrets"),
        // Tokens; leases (none, one empty page); bridges.
        (N.div_ceil(100) + 1 + (3 * N).div_ceil(100)) as u64,
        "100 names per page"
    );
    assert_eq!(store.calls().count("DeleteSecret"), (N * 4) as u64);
    assert!(store.get_tokens().await.unwrap().is_empty());
    assert!(
        raw_names(&client().await, store.prefix(), false)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn foreign_secrets_fail_get_tokens_by_name_and_survive_delete_tokens() {
    let store = store("foreign").await;
    saved(&store, token_for("ivan@example.com", "i")).await;
    let raw = client().await;
    let foreign = format!("{}foreign", store.prefix());
    raw.create_secret()
        .name(&foreign)
        .secret_string("{\"not\":\"ours\"}")
        .send()
        .await
        .unwrap();
    // A nested prefix belongs to another store: neither listed nor deleted by this one.
    let nested = format!("{}nested/t1", store.prefix());
    raw.create_secret()
        .name(&nested)
        .secret_string("whatever")
        .tags(Tag::builder().key("zoho-token-store").value("1").build())
        .send()
        .await
        .unwrap();

    let err = store.get_tokens().await.unwrap_err();
    assert!(
        matches!(&err, Error::CorruptSecret { secret, .. } if *secret == foreign),
        "{err:?}"
    );
    assert!(err.to_string().contains(&foreign), "{err}");
    let err = store.find_token_by_id("foreign").await.unwrap_err();
    assert!(matches!(err, Error::CorruptSecret { .. }), "{err:?}");

    store.delete_tokens().await.unwrap();
    assert_eq!(
        raw_names(&raw, store.prefix(), false).await,
        [foreign.clone(), nested]
    );
    // With the foreign secret gone, listing works again (and is empty).
    raw.delete_secret()
        .secret_id(&foreign)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert!(store.get_tokens().await.unwrap().is_empty());
}

#[tokio::test]
async fn tampered_and_moved_values_fail_naming_the_secret() {
    let store = store("tamper").await;
    let a = saved(&store, token_for("judy@example.com", "j")).await;
    let b = saved(&store, token_for("kyle@example.com", "k")).await;
    let (name_a, name_b) = (
        store.secret_name(a.id.as_deref().unwrap()).unwrap(),
        store.secret_name(b.id.as_deref().unwrap()).unwrap(),
    );
    let raw = client().await;
    let value = |name: String| {
        let raw = raw.clone();
        async move {
            raw.get_secret_value()
                .secret_id(name)
                .send()
                .await
                .unwrap()
                .secret_string()
                .unwrap()
                .to_owned()
        }
    };

    // One flipped bit in the ciphertext.
    let mut bytes = BASE64.decode(value(name_a.clone()).await).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 1;
    raw.put_secret_value()
        .secret_id(&name_a)
        .secret_string(BASE64.encode(&bytes))
        .send()
        .await
        .unwrap();
    let err = store
        .find_token_by_id(a.id.as_deref().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { secret, key_id } if *secret == name_a && key_id == "k1"),
        "{err:?}"
    );
    let err = store.get_tokens().await.unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { secret, .. } if *secret == name_a),
        "{err:?}"
    );

    // B's intact value copied into A's secret: authentic bytes, wrong name.
    raw.put_secret_value()
        .secret_id(&name_a)
        .secret_string(value(name_b).await)
        .send()
        .await
        .unwrap();
    let err = store
        .find_token(&OAuthToken::default().with_user_name("judy@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { secret, .. } if *secret == name_a),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_unknown_and_rotated_keys() {
    let store = store("keys").await;
    let t = saved(&store, token_for("lena@example.com", "l")).await;
    let id = t.id.as_deref().unwrap();
    let raw = client().await;
    let with = |ring: Keyring| {
        SecretsManagerStore::builder(raw.clone(), ring)
            .prefix(store.prefix())
            .build()
            .unwrap()
    };

    let wrong = with(Keyring::new("k1", &[0x22; 32], &[0x99; 32]).unwrap());
    let err = wrong.find_token_by_id(id).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { key_id, .. } if key_id == "k1"),
        "{err:?}"
    );

    let unknown = with(Keyring::new("k2", &[0x22; 32], &[0x99; 32]).unwrap());
    let err = unknown.find_token_by_id(id).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKeyId { key_id, .. } if key_id == "k1"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("add that key to the keyring"),
        "{err}"
    );

    // A rotated ring (new primary k2, old k1 kept) reads the old token and writes under k2.
    let rotated = with(
        Keyring::new("k2", &[0x22; 32], &[0x99; 32])
            .unwrap()
            .with_key("k1", &[0x11; 32])
            .unwrap(),
    );
    let mut found = rotated
        .find_token(&OAuthToken::default().with_user_name("lena@example.com"))
        .await
        .unwrap()
        .unwrap();
    rotated.save_token(&mut found).await.unwrap();
    let value = raw
        .get_secret_value()
        .secret_id(store.secret_name(id).unwrap())
        .send()
        .await
        .unwrap();
    let envelope = BASE64.decode(value.secret_string().unwrap()).unwrap();
    assert_eq!(
        &envelope[..7],
        b"ZTS\x01\x02k2",
        "re-saved under the primary key"
    );
    assert!(
        matches!(
            store.find_token_by_id(id).await,
            Err(Error::UnknownKeyId { .. })
        ),
        "k1-only ring cannot read it"
    );
}

#[tokio::test]
async fn the_service_never_sees_a_plaintext_token_secret_or_user() {
    let store = store("scan").await;
    let secrets = [
        "SEKRET1-refresh",
        "SEKRET2-access",
        "SEKRET3-grant",
        "SEKRET4-client",
    ];
    let users = ["pii.person@example.com", "other.pii@example.com"];
    for (n, user) in users.iter().enumerate() {
        let mut t = OAuthToken::default()
            .with_user_name(*user)
            .with_client("1000.CLIENTID", format!("{}{n}", secrets[3]))
            .with_refresh_token(format!("{}{n}", secrets[0]))
            .with_access_token(format!("{}{n}", secrets[1]), 1)
            .with_grant_token(format!("{}{n}", secrets[2]));
        store.save_token(&mut t).await.unwrap();
    }
    let mut loose = token_for("x", "SEKRET5");
    loose.user_name = None;
    saved(&store, loose).await;
    store
        .delete_token(&store.get_tokens().await.unwrap()[0].id.clone().unwrap())
        .await
        .unwrap();

    let raw = client().await;
    let mut seen = String::new();
    // Filtered by name: paging through every secret of a LocalStack that other tests are changing can
    // skip entries.
    let mut pages = raw
        .list_secrets()
        .include_planned_deletion(true)
        .filters(
            aws_sdk_secretsmanager::types::Filter::builder()
                .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                .values(store.prefix())
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for s in page.unwrap().secret_list() {
            let name = s.name().unwrap();
            if !name.starts_with(store.prefix()) {
                continue;
            }
            seen += &format!("{name} {:?} {:?}\n", s.description(), s.tags());
            let d = raw.describe_secret().secret_id(name).send().await.unwrap();
            seen += &format!("{:?} {:?}\n", d.description(), d.tags());
            if d.deleted_date().is_none() {
                let v = raw.get_secret_value().secret_id(name).send().await.unwrap();
                let value = v.secret_string().unwrap();
                seen += value;
                // Tokens hold base64 envelopes; a lookup bridge holds a token id.
                if !name[store.prefix().len()..].contains('/') {
                    seen += &String::from_utf8_lossy(&BASE64.decode(value).unwrap());
                }
            }
        }
    }
    assert!(
        seen.matches("zts:user").count() >= 2,
        "the scan saw the secrets: {seen}"
    );
    for needle in ["SEKRET", "pii.person", "other.pii", "example.com"] {
        assert!(
            !seen.contains(needle),
            "`{needle}` is visible to the service:\n{seen}"
        );
    }
}

#[tokio::test]
async fn backend_errors_say_which_call_failed_and_never_show_secrets() {
    // Nothing listens on port 9: every call fails at once, as when the endpoint is unreachable.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "t",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let store =
        SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::new(&config), keyring())
            .build()
            .unwrap();
    let mut token = token_for("mona@example.com", "LEAKCHECK");
    let err = store.save_token(&mut token).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                operation: "DescribeSecret",
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    let shown = format!("{err} {err:?} {store:?} {token:?}");
    assert!(!shown.contains("LEAKCHECK"), "{shown}");
    assert!(
        !shown.contains("EREREREREREREREREREREREREREREREREREQ"),
        "key material: {shown}"
    );
    let err = store
        .find_token(&by_refresh("LEAKCHECK"))
        .await
        .unwrap_err();
    assert!(!format!("{err:?}").contains("LEAKCHECK"));
}

#[tokio::test]
async fn oversized_tokens_and_bad_options_are_clear_errors() {
    let store = store("hostile").await;
    let mut huge = token_for("nina@example.com", "n").with_access_token("a".repeat(70_000), 1);
    let err = store.save_token(&mut huge).await.unwrap_err();
    assert!(err.to_string().contains("at most 65536"), "{err}");
    assert!(
        raw_names(&client().await, store.prefix(), true)
            .await
            .is_empty(),
        "nothing written"
    );

    let err = SecretsManagerStore::builder(client().await, keyring())
        .prefix("has space/")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfig { .. }) && err.to_string().contains("' '"),
        "{err}"
    );
    let err = SecretsManagerStore::builder(client().await, keyring())
        .recovery_window(RecoveryWindow::Days(3))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("7 to 30"), "{err}");
}

#[tokio::test]
async fn stored_value_is_the_documented_envelope_with_digest_tags() {
    let store = store("layout").await;
    let t = saved(&store, token_for("olga@example.com", "o")).await;
    let name = store.secret_name(t.id.as_deref().unwrap()).unwrap();
    assert!(name.starts_with(store.prefix()) && name.ends_with(t.id.as_deref().unwrap()));
    let raw = client().await;
    let value = raw
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let envelope = BASE64.decode(value.secret_string().unwrap()).unwrap();
    assert_eq!(&envelope[..7], b"ZTS\x01\x02k1");
    let tags = raw
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .unwrap()
        .tags()
        .to_vec();
    let mut keys: Vec<_> = tags.iter().map(|t| t.key().unwrap().to_owned()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "zoho-token-store",
            "zts:access",
            "zts:check",
            "zts:grant",
            "zts:prefix",
            "zts:refresh",
            "zts:user"
        ]
    );
    let prefix_tag = tags.iter().find(|t| t.key() == Some("zts:prefix")).unwrap();
    assert_eq!(prefix_tag.value(), Some(store.prefix()));
    let check = tags.iter().find(|t| t.key() == Some("zts:check")).unwrap();
    assert_eq!(check.value().unwrap().len(), 32);
    for tag in tags.iter().filter(|t| {
        !matches!(
            t.key(),
            Some("zoho-token-store" | "zts:prefix" | "zts:check")
        )
    }) {
        let v = tag.value().unwrap();
        assert!(
            v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()),
            "{v}"
        );
    }
}

/// Turns the first successful response of one operation into a connection error, as if the response was
/// lost after the service applied the write: the SDK then sends the identical request again.
#[derive(Debug)]
struct LoseFirstResponse {
    operation: &'static str,
    fired: std::sync::atomic::AtomicBool,
}

impl aws_sdk_secretsmanager::config::Intercept for LoseFirstResponse {
    fn name(&self) -> &'static str {
        "LoseFirstResponse"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let target = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation);
        let succeeded = context.inner().output_or_error().is_some_and(|r| r.is_ok());
        if target && succeeded && !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let lost = ConnectorError::io("response lost (injected by the test)".into());
            context
                .inner_mut()
                .set_output_or_error(Err(OrchestratorError::connector(lost)));
        }
        Ok(())
    }
}

async fn store_losing_first(operation: &'static str, prefix: &str) -> SecretsManagerStore {
    let base = client().await;
    let lossy = aws_sdk_secretsmanager::Client::from_conf(
        base.config()
            .to_builder()
            .interceptor(LoseFirstResponse {
                operation,
                fired: false.into(),
            })
            .build(),
    );
    SecretsManagerStore::builder(lossy, keyring())
        .prefix(prefix)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_write_retried_after_a_lost_response_is_applied_once() {
    let prefix = unique_prefix("idempotent");
    let raw = client().await;
    let versions = |name: String| {
        let raw = raw.clone();
        async move {
            let out = raw
                .list_secret_version_ids()
                .secret_id(name)
                .include_deprecated(true)
                .send()
                .await
                .unwrap();
            out.versions().len()
        }
    };

    let store = store_losing_first("CreateSecret", &prefix).await;
    let mut token = saved(&store, token_for("oscar@example.com", "o1")).await;
    assert_eq!(
        (
            store.calls().count("CreateSecret"),
            store.calls().retries("CreateSecret")
        ),
        (1, 1),
        "one create, retried once by the SDK"
    );
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    assert_eq!(
        raw_names(&raw, &prefix, true).await,
        std::slice::from_ref(&name)
    );
    assert_eq!(
        versions(name.clone()).await,
        1,
        "the retried create added nothing"
    );

    let store = store_losing_first("PutSecretValue", &prefix).await;
    token.refresh_token = Some("refresh-o2".into());
    store.save_token(&mut token).await.unwrap();
    assert_eq!(
        (
            store.calls().count("PutSecretValue"),
            store.calls().retries("PutSecretValue")
        ),
        (1, 1),
        "one put, retried once by the SDK"
    );
    assert_eq!(
        versions(name).await,
        2,
        "one create and one put, not two puts"
    );
    let got = store
        .find_token(&OAuthToken::default().with_user_name("oscar@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.refresh_token.unwrap().secret(), "refresh-o2");
}

#[tokio::test]
async fn a_server_error_from_the_service_is_retryable() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500)
                .insert_header("x-amzn-errortype", "InternalError")
                .set_body_json(serde_json::json!({"__type": "InternalError", "message": "boom"})),
        )
        .mount(&server)
        .await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(server.uri())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "t", "t", None, None, "t",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let store =
        SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::new(&config), keyring())
            .build()
            .unwrap();
    let err = store.find_token_by_id("t1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                operation: "GetSecretValue",
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_compare_and_swap_whose_answer_was_lost_is_not_taken_for_a_conflict() {
    use zoho_token_store::RefreshCoordinator;
    // The first stage move lands but its answer is lost: the SDK sends it again, and the service
    // refuses the repeat because AWSCURRENT already moved (to our own version).
    let prefix = unique_prefix("cas-lost-answer");
    let store = store_losing_first("UpdateSecretVersionStage", &prefix).await;
    let mut lease = store
        .try_acquire("t1", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .renew(&mut lease, std::time::Duration::from_secs(30))
            .await
            .unwrap(),
        "the renewal landed: the lease is still ours"
    );
    assert_eq!(store.calls().retries("UpdateSecretVersionStage"), 1);
    // And it really is ours: another process cannot take it, and we can renew again.
    let other = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    assert!(
        other
            .try_acquire("t1", std::time::Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .renew(&mut lease, std::time::Duration::from_secs(30))
            .await
            .unwrap()
    );
}

/// Under the prefix `…/zoho`, the secret `…/zoho-eu71` is either this store's token `-eu71` or the token
/// `1` of the store `…/zoho-eu7`: the names cannot say, whatever the prefix ends with. Each store tags its
/// secrets with its prefix, and the id inside the encrypted value decides for secrets written before.
#[tokio::test]
async fn a_store_never_sees_the_secrets_of_a_store_whose_prefix_extends_its_own() {
    let base = unique_prefix("extends");
    let raw = client().await;
    let with = |prefix: String, keys: Keyring| {
        let raw = raw.clone();
        async move {
            SecretsManagerStore::builder(raw, keys)
                .prefix(prefix)
                .recovery_window(RecoveryWindow::Immediate)
                .build()
                .unwrap()
        }
    };
    let other_keys = Keyring::new("k9", &[0x42; 32], &[0x43; 32]).unwrap();
    let a = with(format!("{base}zoho"), keyring()).await;
    // Same keys (it can decrypt a's secrets and digests match), and another keyring altogether.
    let b = with(format!("{base}zoho-eu7"), keyring()).await;
    let c = with(format!("{base}zohoeu"), other_keys).await;
    // The same with prefixes that end in '/'.
    let d = with(format!("{base}z/"), keyring()).await;
    let e = with(format!("{base}z/eu"), keyring()).await;

    let alice = saved(&a, token_for("alice@example.com", "a")).await;
    let bob = saved(&a, token_for("bob@example.com", "b").with_id("1")).await;
    saved(&b, token_for("carol@example.com", "c").with_id("1")).await;
    saved(&b, token_for("dave@example.com", "d")).await;
    saved(&c, token_for("erin@example.com", "e").with_id("1")).await;
    saved(&e, token_for("fay@example.com", "f").with_id("1")).await;

    let ids = |tokens: Vec<OAuthToken>| {
        let mut ids: Vec<String> = tokens.into_iter().filter_map(|t| t.id).collect();
        ids.sort();
        ids
    };
    let mut expected = vec![alice.id.clone().unwrap(), bob.id.clone().unwrap()];
    expected.sort();
    assert_eq!(ids(a.get_tokens().await.unwrap()), expected);
    assert!(a.scan_tokens().await.unwrap().unreadable.is_empty());
    assert!(d.scan_tokens().await.unwrap().tokens.is_empty());
    assert!(d.scan_tokens().await.unwrap().unreadable.is_empty());
    // Lookups by user, by refresh token and by id pass the other store's secrets by.
    for (user, tag) in [("carol@example.com", "c"), ("dave@example.com", "d")] {
        let by_user = OAuthToken::default().with_user_name(user);
        assert!(a.find_token(&by_user).await.unwrap().is_none(), "{user}");
        assert!(
            a.find_token(&by_refresh(tag)).await.unwrap().is_none(),
            "{user}"
        );
    }
    assert!(a.find_token_by_id("-eu71").await.unwrap().is_none());
    assert!(!a.contains("-eu71").await.unwrap());
    assert!(!d.contains("eu1").await.unwrap());
    // Writing through such an id is refused, naming the owner.
    let mut intruder = token_for("mallory@example.com", "m").with_id("-eu71");
    let err = a.save_token(&mut intruder).await.unwrap_err();
    assert!(matches!(err, Error::InvalidToken { .. }), "{err:?}");
    assert!(err.to_string().contains(b.prefix()), "{err}");
    assert!(!err.to_string().contains("refresh-m"), "{err}");

    // A secret written before the prefix tag existed: the id inside still tells.
    let carol_name = b.secret_name("1").unwrap();
    raw.untag_resource()
        .secret_id(&carol_name)
        .tag_keys("zts:prefix")
        .send()
        .await
        .unwrap();
    assert_eq!(ids(a.get_tokens().await.unwrap()), expected);
    assert!(a.find_token_by_id("-eu71").await.unwrap().is_none());
    let report = a.retag(&Default::default()).await.unwrap();
    assert_eq!(report.changed, 0, "a never claims b's token: {report:?}");

    // Purges leave the other stores whole.
    a.delete_tokens().await.unwrap();
    d.delete_tokens().await.unwrap();
    assert!(a.get_tokens().await.unwrap().is_empty());
    assert_eq!(b.get_tokens().await.unwrap().len(), 2);
    assert_eq!(c.get_tokens().await.unwrap().len(), 1);
    assert_eq!(e.get_tokens().await.unwrap().len(), 1);
    // b's own retag gives its old secret the tag back.
    assert_eq!(b.retag(&Default::default()).await.unwrap().changed, 1);
    for store in [b, c, e] {
        store.delete_tokens().await.unwrap();
    }
    assert!(raw_names(&raw, &base, false).await.is_empty());
}

#[tokio::test]
async fn remove_token_tells_whether_a_token_was_there_under_either_deletion_policy() {
    for window in [RecoveryWindow::Days(7), RecoveryWindow::Immediate] {
        let store = SecretsManagerStore::builder(client().await, keyring())
            .prefix(unique_prefix("remove-token"))
            .recovery_window(window)
            .build()
            .unwrap();
        let t = saved(&store, token_for("ivy@example.com", "i")).await;
        let id = t.id.as_deref().unwrap();
        assert!(
            store.remove_token(id).await.unwrap(),
            "{window:?}: it was there"
        );
        assert!(store.find_token_by_id(id).await.unwrap().is_none());
        assert!(
            !store.remove_token(id).await.unwrap(),
            "{window:?}: deleted already (a forced delete of a missing secret succeeds, so it is asked)"
        );
        assert!(
            !store.remove_token("neversaved").await.unwrap(),
            "{window:?}"
        );
        assert!(matches!(
            store.remove_token("no/slash").await,
            Err(Error::InvalidToken { .. })
        ));
    }
}

#[tokio::test]
async fn merge_and_save_fills_what_the_token_leaves_empty_as_the_sdk_stores_do() {
    let store = store("merge-save").await;
    let full = saved(&store, token_for("jay@example.com", "j")).await;
    let id = full.id.clone().unwrap();
    let stored = || async { store.find_token_by_id(&id).await.unwrap().unwrap() };

    // By user: only a new access token given; the stored refresh token, client and domain stay.
    let mut partial = OAuthToken::default()
        .with_user_name("jay@example.com")
        .with_access_token("access-new", 42);
    store.merge_and_save_token(&mut partial).await.unwrap();
    let mut expected = full.clone();
    expected.access_token = Some("access-new".into());
    expected.expires_at_ms = Some(42);
    assert_eq!(
        partial, expected,
        "the caller's token holds what was written"
    );
    assert_eq!(stored().await, expected);

    // By id: the same.
    let mut by_id = OAuthToken::default()
        .with_id(id.clone())
        .with_access_token("access-3", 43);
    store.merge_and_save_token(&mut by_id).await.unwrap();
    assert_eq!(by_id.refresh_token, full.refresh_token);
    assert_eq!(stored().await.access_token, Some("access-3".into()));

    // save_token, by contrast, writes the token as given.
    let mut bare = OAuthToken::default()
        .with_user_name("jay@example.com")
        .with_access_token("access-4", 44);
    store.save_token(&mut bare).await.unwrap();
    assert_eq!(stored().await.refresh_token, None);

    // Nothing matches and nothing to authenticate with: refused, nothing written.
    let mut nobody = OAuthToken::default().with_user_name("nobody@example.com");
    assert!(matches!(
        store.merge_and_save_token(&mut nobody).await,
        Err(Error::InvalidToken { .. })
    ));
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);
}
