//! Call budgets per operation, and the index tags that lookups go through.

use aws_sdk_secretsmanager::types::Tag;
use zoho_token_store::{OAuthToken, TokenStore};

use super::{by_refresh, inserted, saved};
use crate::common::{client, store, token_for};

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
        (
            calls.total(),
            calls.count("DeleteSecret"),
            calls.count("GetSecretValue")
        ),
        (2, 1, 1),
        "delete of one, and a read of its refresh lease (none held): {:?}",
        calls.snapshot()
    );
}

#[tokio::test]
async fn a_user_saved_under_an_explicit_id_is_found_through_the_user_index() {
    let store = store("explicit-id-user").await;
    inserted(&store, token_for("carol@example.com", "c").with_id("42")).await;
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
    let mut token = inserted(&store, token_for("dave@example.com", "d").with_id("dave1")).await;
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
