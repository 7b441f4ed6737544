//! The Zoho SDK stores' conventions the Python package relies on: a save that fills what the token
//! leaves empty, and never brings back a token deleted since it was found.

use zoho_token_store::{Error, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore};

use super::saved;
use crate::common::{client, keyring, store, token_for, unique_prefix};

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

/// An app's `UserSignature` beside a token's id may spell its user otherwise than the name the SDK
/// discovered (`<e-mail>:<org id>`): the SDK's save after a refresh is the same user's update, written
/// under the stored name (so the token stays found by it); another org's or another address is not.
#[tokio::test]
async fn the_sdks_save_keeps_the_stored_spelling_of_the_same_user() {
    let store = store("merge-same-user").await;
    let full = saved(&store, token_for("kim@example.com:6001", "k")).await;
    let id = full.id.clone().unwrap();
    for (n, spelling) in ["Kim@Example.com", "kim@example.com", "KIM@example.com:6001"]
        .into_iter()
        .enumerate()
    {
        let access = format!("access-{n}");
        let mut refreshed = OAuthToken::default()
            .with_id(id.clone())
            .with_user_name(spelling)
            .with_access_token(access.as_str(), 50 + n as u64);
        store.merge_and_save_token(&mut refreshed).await.unwrap();
        assert_eq!(refreshed.user_name.as_deref(), Some("kim@example.com:6001"));
        let found = store
            .find_token(&OAuthToken::default().with_user_name("kim@example.com:6001"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            found.access_token,
            Some(access.as_str().into()),
            "{spelling}"
        );
    }
    for other in ["kim@example.com:6002", "kin@example.com"] {
        let mut refreshed = OAuthToken::default()
            .with_id(id.clone())
            .with_user_name(other)
            .with_access_token("access-other", 60);
        let refused = store
            .merge_and_save_token(&mut refreshed)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::InvalidToken { .. }),
            "{other}: {refused:?}"
        );
    }
    let stored = store.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(stored.access_token, Some("access-2".into()));

    // A stored address without an org id may be any organisation's user: an org's name over it is not
    // taken for the same user.
    let plain = saved(&store, token_for("lee@example.com", "l")).await;
    let mut other_org = OAuthToken::default()
        .with_id(plain.id.clone().unwrap())
        .with_user_name("lee@example.com:6002")
        .with_access_token("access-6002", 70);
    let refused = store
        .merge_and_save_token(&mut other_org)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::InvalidToken { .. }), "{refused:?}");
    assert_eq!(store.get_tokens().await.unwrap().len(), 2);
}

/// The merge compares with the stored user as it is now, not as a process's read cache saw it: a token
/// cached while it named no user, named since by another process (the SDK's discovered name), is
/// saved by this one with the app's spelling of that user, written under the name.
#[tokio::test]
async fn the_sdks_save_compares_with_the_user_named_since_the_cache_read() {
    let prefix = unique_prefix("merge-cached");
    let cached = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .cache(
            std::num::NonZeroUsize::new(16).unwrap(),
            std::time::Duration::from_secs(300),
        )
        .build()
        .unwrap();
    let other = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    let mut unnamed = token_for("ignored", "m");
    unnamed.user_name = None;
    let unnamed = saved(&other, unnamed).await;
    let id = unnamed.id.clone().unwrap();
    assert_eq!(
        cached
            .find_token_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .user_name,
        None
    );
    let mut named = unnamed.clone();
    named.user_name = Some("max@example.com:6001".into());
    other.save_token(&mut named).await.unwrap();

    let mut refreshed = OAuthToken::default()
        .with_id(id.clone())
        .with_user_name("Max@Example.com")
        .with_access_token("access-after", 80);
    cached.merge_and_save_token(&mut refreshed).await.unwrap();
    let stored = other.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(stored.user_name.as_deref(), Some("max@example.com:6001"));
    assert_eq!(stored.access_token, Some("access-after".into()));
}

#[tokio::test]
async fn the_sdks_save_after_a_refresh_never_brings_back_a_deleted_token() {
    for window in [RecoveryWindow::Days(7), RecoveryWindow::Immediate] {
        let prefix = unique_prefix("merge-deleted");
        let store = SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .recovery_window(window)
            .build()
            .unwrap();
        // The SDK found the token (so it carries its id), an operator deleted it, the SDK refreshed and
        // now saves what it holds.
        let mut found = saved(&store, token_for("kim@example.com", "k")).await;
        let id = found.id.clone().unwrap();
        store.delete_token(&id).await.unwrap();
        found.access_token = Some("access-after-refresh".into());
        let err = store.merge_and_save_token(&mut found).await.unwrap_err();
        assert!(
            matches!(&err, Error::TokenDeleted { id: gone } if *gone == id),
            "{window:?}: {err:?}"
        );
        assert!(!store.contains(&id).await.unwrap(), "{window:?}: restored");
        assert_eq!(store.find_token(&found).await.unwrap(), None, "{window:?}");
        assert!(store.get_tokens().await.unwrap().is_empty(), "{window:?}");

        // A token never found (a new sign-in, or a bootstrap from a configured refresh token) is still
        // stored, and is found again by the user.
        let mut fresh = token_for("kim@example.com", "k2");
        store.merge_and_save_token(&mut fresh).await.unwrap();
        assert!(fresh.id.is_some());
        let again = store
            .find_token(&OAuthToken::default().with_user_name("kim@example.com"))
            .await
            .unwrap();
        assert_eq!(again.unwrap().refresh_token, fresh.refresh_token);
    }
}
