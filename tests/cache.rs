//! The optional read cache: warm lookups make no call, saves and deletes stay coherent.
#![allow(clippy::unwrap_used)]

mod common;

use std::num::NonZeroUsize;
use std::time::Duration;

use common::{client, keyring, token_for, unique_prefix};
use zoho_token_store::{Error, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore};

async fn cached(test: &str, capacity: usize, ttl: Duration) -> SecretsManagerStore {
    SecretsManagerStore::builder(client().await, keyring())
        .prefix(unique_prefix(test))
        .cache(NonZeroUsize::new(capacity).unwrap(), ttl)
        .build()
        .unwrap()
}

fn by_refresh(tag: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token(format!("refresh-{tag}"))
}

#[tokio::test]
async fn warm_lookups_make_no_call_and_a_warm_save_reads_no_value() {
    let store = cached("cache-warm", 100, Duration::from_secs(60)).await;
    let mut token = token_for("ava@example.com", "a");
    store.save_token(&mut token).await.unwrap();
    let calls = store.calls();

    calls.reset();
    let id = token.id.clone().unwrap();
    for query in [
        OAuthToken::default().with_user_name("ava@example.com"),
        by_refresh("a"),
        OAuthToken::default()
            .with_client("1000.CLIENTID", "cs")
            .with_grant_token("grant-a"),
        OAuthToken::default().with_access_token("access-a", 0),
    ] {
        assert_eq!(
            store.find_token(&query).await.unwrap().unwrap().id,
            token.id
        );
    }
    assert_eq!(store.find_token_by_id(&id).await.unwrap().unwrap(), token);
    assert_eq!(calls.total(), 0, "warm: {:?}", calls.snapshot());

    // Saving a cached token with no index change: the secret's tags as they are now (a cached copy may
    // be stale), one write, no value read.
    token.api_domain = Some("https://www.zohoapis.eu".into());
    store.save_token(&mut token).await.unwrap();
    assert_eq!(
        (
            calls.total(),
            calls.count("DescribeSecret"),
            calls.count("PutSecretValue")
        ),
        (2, 1, 1),
        "{:?}",
        calls.snapshot()
    );
    // Read your writes, without a call.
    let found = store.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(found.api_domain.as_deref(), Some("https://www.zohoapis.eu"));
    assert_eq!(calls.total(), 2);
    // reload_token always asks the service.
    store.reload_token(&id).await.unwrap().unwrap();
    assert_eq!(calls.count("GetSecretValue"), 1);
}

#[tokio::test]
async fn a_deleted_token_is_never_served_and_entries_expire_and_are_bounded() {
    // A long time to live here (eviction and deletion are under test, not expiry), so a slow machine
    // cannot expire an entry between the steps.
    let store = cached("cache-coherent", 2, Duration::from_secs(30)).await;
    let mut tokens = Vec::new();
    for n in 0..3 {
        let mut t = token_for(&format!("u{n}@example.com"), &n.to_string());
        store.save_token(&mut t).await.unwrap();
        tokens.push(t);
    }
    let calls = store.calls();

    // Bounded: the first of three was evicted, the last two are warm.
    calls.reset();
    store
        .find_token_by_id(tokens[2].id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .find_token_by_id(tokens[1].id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(calls.total(), 0);
    store
        .find_token_by_id(tokens[0].id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(calls.total(), 1, "evicted entry read again");

    // Deleted through this store: gone at once, by id and by every index. (tokens[0] was just read,
    // so it is cached; tokens[1], the oldest entry, was evicted to make room.)
    calls.reset();
    store.find_token(&by_refresh("0")).await.unwrap().unwrap();
    assert_eq!(calls.total(), 0, "cached before the delete");
    store
        .delete_token(tokens[0].id.as_deref().unwrap())
        .await
        .unwrap();
    assert!(
        store
            .find_token_by_id(tokens[0].id.as_deref().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_token(&OAuthToken::default().with_user_name("u0@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.find_token(&by_refresh("0")).await.unwrap().is_none());

    // Time to live: a warm entry is asked for again once it expires.
    let ttl = Duration::from_secs(1);
    let short = SecretsManagerStore::builder(client().await, keyring())
        .prefix(store.prefix())
        .cache(NonZeroUsize::new(2).unwrap(), ttl)
        .build()
        .unwrap();
    let id = tokens[2].id.clone().unwrap();
    short.find_token_by_id(&id).await.unwrap().unwrap();
    let filled = std::time::Instant::now();
    let calls = short.calls();
    calls.reset();
    short.find_token_by_id(&id).await.unwrap().unwrap();
    // A hit is certain only if the read ended inside the time to live; a stalled machine proves nothing.
    if filled.elapsed() < ttl {
        assert_eq!(calls.total(), 0, "warm within its time to live");
    }
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    calls.reset();
    short.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(calls.total(), 1, "asked for again once expired");
}

#[tokio::test]
async fn a_cached_save_after_another_process_deleted_the_token_is_refused_and_the_delete_stands() {
    let store = cached("cache-stale", 10, Duration::from_secs(60)).await;
    let mut token = token_for("bo@example.com", "b");
    store.save_token(&mut token).await.unwrap();

    // Another process deletes it (immediately); this store's cache still believes it is live.
    let other = SecretsManagerStore::builder(client().await, keyring())
        .prefix(store.prefix())
        .recovery_window(RecoveryWindow::Immediate)
        .build()
        .unwrap();
    other
        .delete_token(token.id.as_deref().unwrap())
        .await
        .unwrap();

    token.access_token = Some("access-b2".into());
    let err = store.save_token(&mut token).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    assert!(
        other
            .find_token_by_id(token.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_none(),
        "not re-created"
    );
    // Nor does this store's cache still hand it out.
    assert!(
        store
            .find_token_by_id(token.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_cached_save_leaves_the_index_following_its_value_after_another_process_retagged_it() {
    let store = cached("cache-tags", 10, Duration::from_secs(60)).await;
    let mut token = token_for("cy@example.com", "c");
    store.save_token(&mut token).await.unwrap();
    let name = format!("{}{}", store.prefix(), token.id.as_deref().unwrap());
    let indexed_c = tags_of(&name).await;

    // Another process saves the user's token with a new refresh token: the tags now index `refresh-c2`.
    let other = SecretsManagerStore::builder(client().await, keyring())
        .prefix(store.prefix())
        .build()
        .unwrap();
    let mut newer = token.clone();
    newer.refresh_token = Some("refresh-c2".into());
    other.save_token(&mut newer).await.unwrap();
    assert_ne!(tags_of(&name).await, indexed_c);

    // This process saves its copy (its cache still holds the tags of `refresh-c`): the value now holds
    // `refresh-c` again, and the index must say so, or a lookup by it misses until some later save.
    token.api_domain = Some("https://www.zohoapis.eu".into());
    store.save_token(&mut token).await.unwrap();
    // (Lookups would still find it for a while through the bridge the first save left; the tags are
    // what every lookup relies on once bridges are swept.)
    assert_eq!(
        tags_of(&name).await,
        indexed_c,
        "tags follow the value written"
    );
    let found = other
        .find_token(&by_refresh("c"))
        .await
        .unwrap()
        .expect("found by the refresh token its value holds");
    assert_eq!(found.id, token.id);
    assert!(
        other.find_token(&by_refresh("c2")).await.unwrap().is_none(),
        "no longer indexed by the refresh token it no longer holds"
    );
}

/// A secret's tags, sorted, as the service holds them.
async fn tags_of(name: &str) -> Vec<(String, String)> {
    let described = client()
        .await
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<_> = described
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    tags.sort();
    tags
}
