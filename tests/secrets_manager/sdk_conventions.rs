//! The Zoho SDK stores' conventions the Python package relies on: a save that fills what the token
//! leaves empty.

use zoho_token_store::{Error, OAuthToken, TokenStore};

use super::saved;
use crate::common::{store, token_for};

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
