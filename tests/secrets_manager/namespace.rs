//! What a store owns under its prefix: paging past 100 secrets, foreign secrets named and left alone,
//! and a store whose prefix extends another's.

use std::sync::Arc;

use aws_sdk_secretsmanager::types::Tag;
use futures::{StreamExt, TryStreamExt, stream};
use zoho_token_store::{
    Error, Keyring, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore,
};

use super::{by_refresh, inserted, saved};
use crate::common::{client, keyring, raw_names, store, token_for, unique_prefix};

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
    let bob = inserted(&a, token_for("bob@example.com", "b").with_id("1")).await;
    inserted(&b, token_for("carol@example.com", "c").with_id("1")).await;
    saved(&b, token_for("dave@example.com", "d")).await;
    inserted(&c, token_for("erin@example.com", "e").with_id("1")).await;
    inserted(&e, token_for("fay@example.com", "f").with_id("1")).await;

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
