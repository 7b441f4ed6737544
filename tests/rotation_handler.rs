//! The Secrets Manager rotation handler, step by step, against LocalStack and a mock Zoho.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{client, keyring, unique_prefix};
use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use zoho_token_store::{
    AccountsClient, OAuthToken, RotationEvent, RotationHandler, RotationStep, SecretsManagerStore,
    TokenStore,
};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

struct Counting(Arc<AtomicUsize>);

impl Respond for Counting {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": format!("rotated-{n}"), "expires_in": 3600}))
    }
}

async fn zoho() -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(Counting(Arc::clone(&calls)))
        .mount(&server)
        .await;
    (server, calls)
}

fn event(step: RotationStep, secret: &str, version: &str) -> RotationEvent {
    let json = json!({
        "Step": match step {
            RotationStep::CreateSecret => "createSecret",
            RotationStep::SetSecret => "setSecret",
            RotationStep::TestSecret => "testSecret",
            RotationStep::FinishSecret => "finishSecret",
        },
        "SecretId": secret,
        "ClientRequestToken": version,
    });
    serde_json::from_value(json).unwrap()
}

async fn stored(store: &SecretsManagerStore, user: &str) -> OAuthToken {
    let mut t = OAuthToken::default()
        .with_user_name(user)
        .with_client("1000.CLIENTID", "client-secret")
        .with_refresh_token("refresh-r")
        .with_access_token("access-before", now_ms() + 60_000);
    store.save_token(&mut t).await.unwrap();
    t
}

async fn stages(name: &str) -> Vec<(String, Vec<String>)> {
    let d = client()
        .await
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    let mut v: Vec<_> = d
        .version_ids_to_stages()
        .unwrap()
        .iter()
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn every_step_works_and_is_safe_to_invoke_again() {
    let (server, zoho_calls) = zoho().await;
    let prefix = unique_prefix("rotation");
    let old = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    let token = stored(&old, "rita@example.com").await;
    let name = old.secret_name(token.id.as_deref().unwrap()).unwrap();

    // The rotation function runs with a rotated keyring: the pending version is re-encrypted under k2.
    let ring = keyring().with_new_primary("k2", &[0x22; 32]).unwrap();
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, ring)
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let handler = RotationHandler::new(
        Arc::clone(&store),
        AccountsClient::with_base_url(server.uri()),
    );
    let version = "0123456789abcdef0123456789abcdef";
    let by_user = OAuthToken::default().with_user_name("rita@example.com");

    for _ in 0..2 {
        handler
            .handle(&event(RotationStep::CreateSecret, &name, version))
            .await
            .unwrap();
    }
    assert_eq!(
        zoho_calls.load(Ordering::SeqCst),
        1,
        "createSecret again does not refresh again"
    );
    let found = store.find_token(&by_user).await.unwrap().unwrap();
    assert_eq!(
        found.access_token.unwrap().secret(),
        "access-before",
        "still current until finishSecret"
    );
    // Pending, and labelled with the version it was refreshed from (what finishSecret compares).
    assert!(stages(&name).await.iter().any(|(v, s)| v == version
        && s.contains(&"AWSPENDING".to_owned())
        && s.iter().any(|l| l.starts_with("zts-base:"))));

    for step in [
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::TestSecret,
    ] {
        handler.handle(&event(step, &name, version)).await.unwrap();
    }
    for _ in 0..2 {
        handler
            .handle(&event(RotationStep::FinishSecret, &name, version))
            .await
            .unwrap();
    }
    let found = store.find_token(&by_user).await.unwrap().unwrap();
    assert_eq!(found.access_token.unwrap().secret(), "rotated-1");
    assert_eq!(
        found.refresh_token.unwrap().secret(),
        "refresh-r",
        "refresh token kept"
    );
    let by_access = OAuthToken::default().with_access_token("rotated-1", 0);
    assert!(
        store.find_token(&by_access).await.unwrap().is_some(),
        "lookup tags follow the rotation"
    );
    assert!(
        store
            .find_token(&OAuthToken::default().with_access_token("access-before", 0))
            .await
            .unwrap()
            .is_none(),
        "the old access token finds nothing"
    );
    let current: Vec<_> = stages(&name)
        .await
        .into_iter()
        .filter(|(_, s)| s.contains(&"AWSCURRENT".to_owned()))
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].0, version);
    assert!(
        stages(&name)
            .await
            .iter()
            .all(|(_, s)| !s.contains(&"AWSPENDING".to_owned())
                && !s.iter().any(|l| l.starts_with("zts-base:"))),
        "the rotation's labels are cleaned up"
    );
    let raw = client()
        .await
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let envelope = BASE64.decode(raw.secret_string().unwrap()).unwrap();
    assert_eq!(
        &envelope[..7],
        b"ZTS\x01\x02k2",
        "re-encrypted under the primary key"
    );
    assert_eq!(store.get_tokens().await.unwrap().len(), 1);
}

#[tokio::test]
async fn finish_keeps_a_token_the_application_saved_during_rotation() {
    let (server, _) = zoho().await;
    let prefix = unique_prefix("rotation-race");
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let mut token = stored(&store, "sam@example.com").await;
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    let handler = RotationHandler::new(
        Arc::clone(&store),
        AccountsClient::with_base_url(server.uri()),
    );
    let version = "fedcba9876543210fedcba9876543210";
    handler
        .handle(&event(RotationStep::CreateSecret, &name, version))
        .await
        .unwrap();

    // The application refreshes and saves a token that lives longer than the pending one.
    token.access_token = Some("app-refreshed".into());
    token.expires_at_ms = Some(now_ms() + 7_200_000);
    store.save_token(&mut token).await.unwrap();

    handler
        .handle(&event(RotationStep::FinishSecret, &name, version))
        .await
        .unwrap();
    let found = store
        .find_token(&OAuthToken::default().with_user_name("sam@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        found.access_token.unwrap().secret(),
        "app-refreshed",
        "the newer save stays current"
    );
    assert!(
        stages(&name)
            .await
            .iter()
            .all(|(_, s)| !s.contains(&"AWSPENDING".to_owned())
                && !s.iter().any(|l| l.starts_with("zts-base:"))),
        "the rotation's labels are cleaned up"
    );
}

#[tokio::test]
async fn test_step_rejects_an_unusable_pending_version_and_foreign_secrets_are_refused() {
    let (server, _) = zoho().await;
    let prefix = unique_prefix("rotation-bad");
    let store = Arc::new(
        SecretsManagerStore::builder(client().await, keyring())
            .prefix(&prefix)
            .build()
            .unwrap(),
    );
    let token = stored(&store, "tia@example.com").await;
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    let handler = RotationHandler::new(
        Arc::clone(&store),
        AccountsClient::with_base_url(server.uri()),
    );

    let version = "00000000000000000000000000000001";
    client()
        .await
        .put_secret_value()
        .secret_id(&name)
        .client_request_token(version)
        .secret_string("bm90IGFuIGVudmVsb3Bl")
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let err = handler
        .handle(&event(RotationStep::TestSecret, &name, version))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&name), "{err}");
    let err = handler
        .handle(&event(
            RotationStep::FinishSecret,
            &name,
            "not-a-pending-version-0000000000",
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not staged AWSPENDING"), "{err}");

    let foreign = format!("{}elsewhere/x", unique_prefix("not-ours"));
    client()
        .await
        .create_secret()
        .name(&foreign)
        .secret_string("x")
        .send()
        .await
        .unwrap();
    let err = handler
        .handle(&event(RotationStep::CreateSecret, &foreign, version))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a token of this store"),
        "{err}"
    );
}
