//! SecretsManagerStore against LocalStack, one file a theme: call budgets, concurrency and deletion,
//! what a prefix owns, encryption and secrecy, failures and retries, and the SDK stores' conventions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod budgets;
mod deletion;
mod encryption;
mod failures;
mod namespace;
mod sdk_conventions;

use zoho_token_store::{OAuthToken, SecretsManagerStore, TokenStore};

pub(crate) async fn saved(store: &SecretsManagerStore, mut token: OAuthToken) -> OAuthToken {
    store.save_token(&mut token).await.unwrap();
    token
}

/// Stores `token` under the id it carries (`save_token` of a token with an id only updates).
pub(crate) async fn inserted(store: &SecretsManagerStore, mut token: OAuthToken) -> OAuthToken {
    store.insert_token(&mut token).await.unwrap();
    token
}

pub(crate) fn by_refresh(tag: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token(format!("refresh-{tag}"))
}
