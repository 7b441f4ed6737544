//! The TokenStore contract, as one suite that every store implementation must pass
//! (`tests/contract.rs` runs it against `MemoryStore` and `SecretsManagerStore`).

use std::sync::Arc;

use zoho_token_store::{Error, OAuthToken, TokenStore};

use super::token_for;

type Store = Arc<dyn TokenStore>;

async fn saved(store: &Store, mut token: OAuthToken) -> OAuthToken {
    store.save_token(&mut token).await.unwrap();
    assert!(token.id.is_some(), "save_token assigns an id");
    token
}

/// Stores `token` under the id it carries (`insert_token`: `save_token` of a token with an id only
/// updates the token stored under it).
async fn inserted(store: &Store, mut token: OAuthToken) -> OAuthToken {
    store.insert_token(&mut token).await.unwrap();
    token
}

fn refresh(t: &OAuthToken) -> &str {
    t.refresh_token.as_ref().unwrap().secret()
}

pub async fn find_by_user_fills_empty_fields_and_caller_wins(store: Store) {
    let stored = saved(&store, token_for("alice@example.com", "a1")).await;
    let query = OAuthToken::default()
        .with_user_name("alice@example.com")
        .with_access_token("caller-access", 42);
    let found = store
        .find_token(&query)
        .await
        .unwrap()
        .expect("found by user");
    assert_eq!(
        found.access_token.as_ref().unwrap().secret(),
        "caller-access",
        "caller's value wins"
    );
    assert_eq!(found.expires_at_ms, Some(42));
    assert_eq!(refresh(&found), "refresh-a1", "stored value fills the gap");
    assert_eq!(found.id, stored.id);
    assert_eq!(found.client_secret, stored.client_secret);
    assert_eq!(found.api_domain, stored.api_domain);
}

pub async fn find_by_user_does_not_fall_back_to_other_fields(store: Store) {
    saved(&store, token_for("alice@example.com", "a1")).await;
    let query = OAuthToken::default()
        .with_user_name("bob@example.com")
        .with_client("1000.CLIENTID", "client-secret-a1")
        .with_refresh_token("refresh-a1");
    assert!(store.find_token(&query).await.unwrap().is_none());
}

pub async fn find_by_access_token_only_without_client_credentials(store: Store) {
    saved(&store, token_for("alice@example.com", "a1")).await;
    let bare = OAuthToken::default().with_access_token("access-a1", 0);
    let found = store
        .find_token(&bare)
        .await
        .unwrap()
        .expect("found by access token");
    assert_eq!(found.user_name.as_deref(), Some("alice@example.com"));
    // With client credentials the access token is not a lookup key (and no grant/refresh is given).
    let with_client = bare.with_client("1000.CLIENTID", "client-secret-a1");
    assert!(store.find_token(&with_client).await.unwrap().is_none());
}

pub async fn find_by_grant_or_refresh_needs_the_same_client_id(store: Store) {
    saved(&store, token_for("alice@example.com", "a1")).await;
    let by_refresh = OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token("refresh-a1");
    let found = store
        .find_token(&by_refresh)
        .await
        .unwrap()
        .expect("found by refresh token");
    assert_eq!(found.user_name.as_deref(), Some("alice@example.com"));
    let by_grant = OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_grant_token("grant-a1");
    assert!(
        store.find_token(&by_grant).await.unwrap().is_some(),
        "found by grant token"
    );

    let other_client = OAuthToken::default()
        .with_client("1000.OTHER", "cs")
        .with_refresh_token("refresh-a1");
    assert!(
        store.find_token(&other_client).await.unwrap().is_none(),
        "client id must match"
    );
    let no_client = OAuthToken::default().with_refresh_token("refresh-a1");
    assert!(
        store.find_token(&no_client).await.unwrap().is_none(),
        "no client credentials, no match"
    );
}

pub async fn grant_match_wins_over_refresh_match(store: Store) {
    let mut by_refresh = token_for("x", "r");
    by_refresh.user_name = None;
    by_refresh.grant_token = None;
    let by_refresh = saved(&store, by_refresh).await;
    let mut by_grant = token_for("y", "g");
    by_grant.user_name = None;
    by_grant.refresh_token = None;
    let by_grant = saved(&store, by_grant).await;
    let query = OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_grant_token("grant-g")
        .with_refresh_token("refresh-r");
    let found = store.find_token(&query).await.unwrap().unwrap();
    assert_eq!(found.id, by_grant.id);
    // Without the grant token, the refresh match is found.
    let query = OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token("refresh-r");
    assert_eq!(
        store.find_token(&query).await.unwrap().unwrap().id,
        by_refresh.id
    );
}

pub async fn find_absent_is_none_not_error(store: Store) {
    let query = OAuthToken::default().with_user_name("nobody@example.com");
    assert!(store.find_token(&query).await.unwrap().is_none());
    assert!(
        store
            .find_token(&OAuthToken::default())
            .await
            .unwrap()
            .is_none(),
        "nothing to match on"
    );
    assert!(store.find_token_by_id("absent").await.unwrap().is_none());
}

pub async fn save_is_an_upsert_that_never_duplicates(store: Store) {
    let first = saved(&store, token_for("alice@example.com", "a1")).await;
    // The SDK saves again after every refresh, without the id when it came from find_token's caller.
    let second = saved(&store, token_for("alice@example.com", "a2")).await;
    assert_eq!(first.id, second.id, "same user, same entry");
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(refresh(&all[0]), "refresh-a2");
}

pub async fn save_by_id_replaces_that_token(store: Store) {
    let first = saved(&store, token_for("alice@example.com", "a1")).await;
    let mut update = token_for("alice@example.com", "a3");
    update.id = first.id.clone();
    saved(&store, update).await;
    let got = store
        .find_token_by_id(first.id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refresh(&got), "refresh-a3");
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);
}

/// An id names one user's token: a save under it that names another user is refused and writes
/// nothing (FileStore would replace the row), and so is one that names no user; the same user updates it.
pub async fn save_by_id_never_puts_another_users_token_there(store: Store) {
    let alice = saved(&store, token_for("alice@example.com", "a1")).await;
    let id = alice.id.clone().unwrap();
    let mut bob = token_for("bob@example.com", "b1");
    bob.id = Some(id.clone());
    let refused = store.save_token(&mut bob).await.unwrap_err();
    assert!(matches!(refused, Error::InvalidToken { .. }), "{refused:?}");
    let message = refused.to_string();
    assert!(
        message.contains(&format!("id `{id}` names another user's token"))
            && message.contains("without an id"),
        "{message}"
    );
    assert!(
        !message.contains("bob") && !message.contains("alice"),
        "{message}"
    );
    let kept = store.find_token_by_id(&id).await.unwrap().unwrap();
    assert_eq!(kept.user_name.as_deref(), Some("alice@example.com"));
    assert_eq!(refresh(&kept), "refresh-a1");
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);

    // A token that names no user is refused too: written, it would leave alice without a token found
    // by her name, and the next save under the id (bob's) with no user to compare with.
    let mut unnamed = token_for("alice@example.com", "a2");
    unnamed.user_name = None;
    unnamed.id = Some(id.clone());
    let refused = store.save_token(&mut unnamed).await.unwrap_err();
    assert!(matches!(refused, Error::InvalidToken { .. }), "{refused:?}");
    assert!(
        refused.to_string().contains(&format!(
            "id `{id}` holds a token that names its user, and this one names none"
        )),
        "{refused}"
    );
    let kept = store
        .find_token(&OAuthToken::default().with_user_name("alice@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refresh(&kept), "refresh-a1", "found by her name, unchanged");
    let refused = store.save_token(&mut bob).await.unwrap_err();
    assert!(matches!(refused, Error::InvalidToken { .. }), "{refused:?}");
    // The same user: an update.
    let mut again = token_for("alice@example.com", "a3");
    again.id = Some(id.clone());
    saved(&store, again).await;
    assert_eq!(
        refresh(&store.find_token_by_id(&id).await.unwrap().unwrap()),
        "refresh-a3"
    );
}

/// A token saved without an id or user, matched by its refresh token, is the same user's: it updates
/// that user's token and keeps the user (written without, the user's lookups would miss it and a save
/// under its id, anyone's, would find no user to compare with).
pub async fn a_save_matched_by_its_refresh_token_keeps_the_user(store: Store) {
    let alice = saved(&store, token_for("alice@example.com", "a1")).await;
    let id = alice.id.clone().unwrap();
    let mut by_refresh = token_for("ignored", "a1");
    by_refresh.user_name = None;
    by_refresh.access_token = Some("access-renewed".into());
    let by_refresh = saved(&store, by_refresh).await;
    assert_eq!(by_refresh.id.as_deref(), Some(id.as_str()));
    assert_eq!(by_refresh.user_name.as_deref(), Some("alice@example.com"));
    let found = store
        .find_token(&OAuthToken::default().with_user_name("alice@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.access_token, Some("access-renewed".into()));
    let mut bob = token_for("bob@example.com", "b1");
    bob.id = Some(id.clone());
    let refused = store.save_token(&mut bob).await.unwrap_err();
    assert!(matches!(refused, Error::InvalidToken { .. }), "{refused:?}");
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);
}

/// A stored token naming no user (a grant exchanged before the SDK learned whose it is) takes a user
/// by a save under its id; and a token naming none still updates a stored one naming none.
pub async fn a_save_by_id_names_the_user_of_a_token_that_named_none(store: Store) {
    let mut first = token_for("ignored", "n1");
    first.user_name = None;
    let first = saved(&store, first).await;
    let id = first.id.clone().unwrap();
    let mut unnamed = token_for("ignored", "n2");
    unnamed.user_name = None;
    unnamed.id = Some(id.clone());
    saved(&store, unnamed).await;
    let mut named = token_for("carol@example.com", "n3");
    named.id = Some(id.clone());
    saved(&store, named).await;
    let found = store
        .find_token(&OAuthToken::default().with_user_name("carol@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id.as_deref(), refresh(&found)),
        (Some(id.as_str()), "refresh-n3")
    );
}

pub async fn save_matches_by_refresh_token_and_client(store: Store) {
    let mut t = token_for("ignored", "r1");
    t.user_name = None;
    let first = saved(&store, t.clone()).await;
    t.access_token = Some("access-new".into());
    let second = saved(&store, t).await;
    assert_eq!(first.id, second.id);
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].access_token.as_ref().unwrap().secret(), "access-new");
}

pub async fn different_users_are_kept_apart(store: Store) {
    let a = saved(&store, token_for("alice@example.com", "a")).await;
    let b = saved(&store, token_for("bob@example.com", "b")).await;
    assert_ne!(a.id, b.id);
    let found = store
        .find_token(&OAuthToken::default().with_user_name("bob@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refresh(&found), "refresh-b");
    // A user name that is a prefix of another must not match it.
    assert!(
        store
            .find_token(&OAuthToken::default().with_user_name("bob"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn save_refuses_a_named_token_without_credentials(store: Store) {
    let mut t = OAuthToken::default().with_user_name("alice@example.com");
    let err = store.save_token(&mut t).await.unwrap_err();
    assert!(
        err.to_string().contains("authentication details not found"),
        "{err}"
    );
    let mut t = OAuthToken::default().with_id("12");
    assert!(matches!(
        store.save_token(&mut t).await,
        Err(Error::InvalidToken { .. })
    ));
    assert!(
        store.get_tokens().await.unwrap().is_empty(),
        "nothing was stored"
    );
}

pub async fn save_rejects_invalid_tokens_and_ids(store: Store) {
    let mut none = OAuthToken::default();
    assert!(matches!(
        store.save_token(&mut none).await,
        Err(Error::InvalidToken { .. })
    ));
    let mut no_client = OAuthToken::default().with_refresh_token("r");
    let err = store.save_token(&mut no_client).await.unwrap_err();
    assert!(
        err.to_string().contains("client_id and client_secret"),
        "{err}"
    );
    let mut bad_id = token_for("alice@example.com", "a").with_id("a/b");
    let err = store.save_token(&mut bad_id).await.unwrap_err();
    assert!(err.to_string().contains("'/'"), "{err}");
    assert!(matches!(
        store.find_token_by_id("bad id").await,
        Err(Error::InvalidToken { .. })
    ));
    assert!(matches!(
        store.delete_token("").await,
        Err(Error::InvalidToken { .. })
    ));
    assert!(store.get_tokens().await.unwrap().is_empty());
}

pub async fn explicit_ids_one_to_twelve_never_collide(store: Store) {
    // The seed generated ids as max(id)+1 over a text column, so the 11th collided with "10".
    for n in 1..=12 {
        inserted(
            &store,
            token_for(&format!("user{n}@example.com"), &n.to_string()).with_id(n.to_string()),
        )
        .await;
    }
    let fresh = saved(&store, token_for("new@example.com", "new")).await;
    let mut ids: Vec<_> = store
        .get_tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id.unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 13);
    assert!(ids.contains(fresh.id.as_ref().unwrap()));
    assert_eq!(
        refresh(&store.find_token_by_id("11").await.unwrap().unwrap()),
        "refresh-11"
    );
    // A user saved under an explicit id is still found by user name.
    let found = store
        .find_token(&OAuthToken::default().with_user_name("user7@example.com"))
        .await
        .unwrap();
    assert_eq!(found.unwrap().id.as_deref(), Some("7"));
    // And saving that user again without an id updates the same entry.
    let again = saved(&store, token_for("user7@example.com", "7b")).await;
    assert_eq!(again.id.as_deref(), Some("7"));
    assert_eq!(store.get_tokens().await.unwrap().len(), 13);
}

pub async fn delete_token_removes_only_that_token(store: Store) {
    let a = saved(&store, token_for("alice@example.com", "a")).await;
    let b = saved(&store, token_for("bob@example.com", "b")).await;
    store.delete_token(a.id.as_deref().unwrap()).await.unwrap();
    assert!(
        store
            .find_token_by_id(a.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_token(&OAuthToken::default().with_user_name("alice@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_token_by_id(b.id.as_deref().unwrap())
            .await
            .unwrap()
            .is_some()
    );
    store.delete_token(a.id.as_deref().unwrap()).await.unwrap();
    store.delete_token("never-existed").await.unwrap();
}

pub async fn a_save_by_id_never_brings_back_a_deleted_token(store: Store) {
    // What the SDK does after its own refresh: save the copy it holds, id and all. An operator deleted
    // the token meanwhile: the save is refused and the token stays deleted.
    let held = saved(&store, token_for("alice@example.com", "a")).await;
    let id = held.id.clone().unwrap();
    store.delete_token(&id).await.unwrap();
    let mut copy = held.clone();
    copy.access_token = Some("access-after-delete".into());
    let err = store.save_token(&mut copy).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    assert!(store.find_token_by_id(&id).await.unwrap().is_none());
    assert!(store.get_tokens().await.unwrap().is_empty());
    // An id that never named a token is no way in either: nothing is created under it.
    let mut made_up = token_for("bob@example.com", "b").with_id("made-up");
    let err = store.save_token(&mut made_up).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    assert!(store.get_tokens().await.unwrap().is_empty());
    // A new sign-in (no id) for the same user is stored as new.
    let again = saved(&store, token_for("alice@example.com", "a2")).await;
    assert_eq!(
        store
            .find_token_by_id(again.id.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap()
            .refresh_token,
        again.refresh_token
    );
}

pub async fn insert_creates_under_a_chosen_id_and_never_overwrites(store: Store) {
    let bob = inserted(&store, token_for("bob@example.com", "b").with_id("bob1")).await;
    assert_eq!(bob.id.as_deref(), Some("bob1"));
    let mut other = token_for("carol@example.com", "c").with_id("bob1");
    let err = store.insert_token(&mut other).await.unwrap_err();
    assert!(matches!(err, Error::InvalidToken { .. }), "{err:?}");
    assert!(err.to_string().contains("bob1"), "{err}");
    let stored = store.find_token_by_id("bob1").await.unwrap().unwrap();
    assert_eq!(stored.user_name.as_deref(), Some("bob@example.com"));
    // Without an id, insert is save.
    let dan = inserted(&store, token_for("dan@example.com", "d")).await;
    assert!(dan.id.is_some());
}

pub async fn get_tokens_and_delete_tokens(store: Store) {
    for n in 0..5 {
        saved(
            &store,
            token_for(&format!("u{n}@example.com"), &n.to_string()),
        )
        .await;
    }
    let all = store.get_tokens().await.unwrap();
    assert_eq!(all.len(), 5);
    let mut users: Vec<_> = all.iter().map(|t| t.user_name.clone().unwrap()).collect();
    users.sort();
    assert_eq!(
        users,
        [
            "u0@example.com",
            "u1@example.com",
            "u2@example.com",
            "u3@example.com",
            "u4@example.com"
        ]
    );
    assert!(
        all.iter()
            .all(|t| t.client_secret.is_some() && t.id.is_some()),
        "complete tokens"
    );
    store.delete_tokens().await.unwrap();
    assert!(store.get_tokens().await.unwrap().is_empty());
    store.delete_tokens().await.unwrap();
}

pub async fn empty_strings_mean_none(store: Store) {
    let mut t = token_for("alice@example.com", "a");
    t.redirect_url = Some(String::new());
    t.grant_token = Some("".into());
    let t = saved(&store, t).await;
    let got = store
        .find_token_by_id(t.id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.redirect_url, None);
    assert_eq!(got.grant_token, None);
    let query = OAuthToken::default()
        .with_user_name("")
        .with_access_token("access-a", 0);
    assert!(
        store.find_token(&query).await.unwrap().is_some(),
        "empty user name is absent: access lookup"
    );
}

pub async fn works_as_a_shared_trait_object(store: Store) {
    let tasks: Vec<_> = (0..4)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut t = token_for(&format!("t{n}@example.com"), &n.to_string());
                store.save_token(&mut t).await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.get_tokens().await.unwrap().len(), 4);
}
