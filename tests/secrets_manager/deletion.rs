//! Concurrent saves and deletion: one secret per user, the recovery window, immediate deletion, and
//! telling whether a token was there.

use std::sync::Arc;

use zoho_token_store::{Error, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore};

use super::{by_refresh, saved};
use crate::common::{client, keyring, raw_names, store, token_for, unique_prefix};

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
    let names = crate::common::token_names(&raw, &prefix, true).await;
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
async fn a_deleted_token_stays_deleted_when_a_process_with_a_warm_cache_saves_its_copy() {
    // The Python SDK's path: a process with the read cache on finds the token, an operator deletes it
    // elsewhere, and the process saves its refreshed copy (merge-and-save, by id, through the cache).
    let prefix = unique_prefix("delete-sticks-cache");
    let cached = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .cache(
            std::num::NonZeroUsize::new(16).unwrap(),
            std::time::Duration::from_secs(600),
        )
        .build()
        .unwrap();
    let operator = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    let held = saved(&cached, token_for("gia@example.com", "g")).await;
    let id = held.id.clone().unwrap();
    assert!(
        cached.find_token_by_id(&id).await.unwrap().is_some(),
        "cached"
    );
    operator.delete_token(&id).await.unwrap();

    let mut copy = held.clone();
    copy.access_token = Some("access-refreshed".into());
    let err = cached.merge_and_save_token(&mut copy).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    let mut copy = held.clone();
    let err = cached.save_token(&mut copy).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    // Still in its recovery window, not restored; nothing readable under the id or the user.
    assert!(operator.find_token_by_id(&id).await.unwrap().is_none());
    assert!(
        operator
            .find_token(&OAuthToken::default().with_user_name("gia@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    let name = operator.secret_name(&id).unwrap();
    assert!(
        !raw_names(&client().await, &prefix, false)
            .await
            .contains(&name)
    );
    assert!(
        raw_names(&client().await, &prefix, true)
            .await
            .contains(&name)
    );
    // And an insert under the id does not restore it either.
    let mut again = held.clone();
    let err = operator.insert_token(&mut again).await.unwrap_err();
    assert!(matches!(err, Error::InvalidToken { .. }), "{err:?}");
    assert!(operator.find_token_by_id(&id).await.unwrap().is_none());
}

#[tokio::test]
async fn a_token_deleted_for_good_is_not_created_again_by_a_save_of_its_copy() {
    let prefix = unique_prefix("delete-sticks-immediate");
    let store = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .recovery_window(RecoveryWindow::Immediate)
        .build()
        .unwrap();
    let held = saved(&store, token_for("hal@example.com", "h")).await;
    let id = held.id.clone().unwrap();
    store.delete_token(&id).await.unwrap();
    let mut copy = held.clone();
    let err = store.merge_and_save_token(&mut copy).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    let mut copy = held.clone();
    let err = store.save_token(&mut copy).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    let name = store.secret_name(&id).unwrap();
    assert!(
        !raw_names(&client().await, &prefix, true)
            .await
            .contains(&name)
    );
    assert!(store.get_tokens().await.unwrap().is_empty());
}

#[tokio::test]
async fn of_two_saves_at_once_the_tags_follow_the_value_that_stands() {
    // Save A writes its value; before it retags, save B (another process) writes its own value and
    // retags; then A retags. Without a second look, A's tags would sit on B's value.
    let prefix = unique_prefix("save-race-tags");
    let b_prefix = prefix.clone();
    let racer = crate::common::OnSend::new("TagResource", move |n| {
        if n == 0 {
            let prefix = b_prefix.clone();
            std::thread::spawn(move || {
                tokio::runtime::Runtime::new().unwrap().block_on(async {
                    let other = SecretsManagerStore::builder(client().await, keyring())
                        .prefix(prefix)
                        .build()
                        .unwrap();
                    saved(&other, token_for("ivy@example.com", "b")).await;
                });
            })
            .join()
            .unwrap();
        }
        Ok(())
    });
    let store = SecretsManagerStore::builder(crate::common::client_with(racer).await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    let plain = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    // The token exists first, so both saves update it (PutSecretValue, then their tags).
    let first = saved(&plain, token_for("ivy@example.com", "0")).await;
    let name = plain.secret_name(first.id.as_deref().unwrap()).unwrap();
    saved(&store, token_for("ivy@example.com", "a")).await;

    let stored = plain
        .find_token_by_id(first.id.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.refresh_token.unwrap().secret(),
        "refresh-b",
        "B's value stands"
    );
    // The tags are what a save of B's token alone gets (same keyring, so the same digests).
    let alone = store_tags_of_a_lone_save(token_for("ivy@example.com", "b")).await;
    let raced = index_tags(&client().await, &name).await;
    assert_eq!(raced, alone, "the tags describe the value that stands");
}

/// The index tags (every `zts:` tag but the prefix) of a secret.
async fn index_tags(client: &aws_sdk_secretsmanager::Client, name: &str) -> Vec<(String, String)> {
    let out = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = out
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .filter(|(k, _)| k.starts_with("zts:") && k != "zts:prefix")
        .collect();
    tags.sort();
    tags
}

async fn store_tags_of_a_lone_save(token: OAuthToken) -> Vec<(String, String)> {
    let store = SecretsManagerStore::builder(client().await, keyring())
        .prefix(unique_prefix("save-race-alone"))
        .build()
        .unwrap();
    let token = saved(&store, token).await;
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    index_tags(&client().await, &name).await
}
