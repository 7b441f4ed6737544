//! The Zoho accounts client against a mock accounts server (wiremock): lifetimes, the single-use grant,
//! error classes, revocation.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoho_token_store::{AccessToken, AccountsClient, Error, OAuthToken};

fn signing_in() -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "client-secret")
        .with_grant_token("1000.code")
        .with_redirect_url("https://app.example.com/oauth/callback")
}

fn refreshing() -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "client-secret")
        .with_refresh_token("1000.refresh")
}

async fn answering(grant_type: &str, answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains(format!("grant_type={grant_type}")))
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn an_older_answer_in_milliseconds_is_read_in_seconds_and_an_implausible_one_refused() {
    let server = answering(
        "refresh_token",
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "a", "expires_in": 3_600_000, "expires_in_sec": 3600, "token_type": "Bearer",
        })),
    )
    .await;
    let grant = AccountsClient::with_base_url(server.uri())
        .refresh(&refreshing())
        .await
        .unwrap();
    let mut token = refreshing();
    grant.apply_to(&mut token);
    let left = token.expires_at_ms.unwrap() as i64
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
    assert!(
        (3_500_000..=3_600_000).contains(&left),
        "one hour, not 41 days: {left} ms"
    );

    // Milliseconds without expires_in_sec would be 41 days: refused, nothing to save.
    let server = answering(
        "refresh_token",
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": "a", "expires_in": 3_600_000})),
    )
    .await;
    let err = AccountsClient::with_base_url(server.uri())
        .refresh(&refreshing())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::ZohoProtocol { reason } if reason.contains("implausible")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_grant_exchange_is_never_retried_and_says_the_code_may_be_spent() {
    for answer in [
        ResponseTemplate::new(502),
        // Slower than the client's 10 s timeout: the request may have reached Zoho.
        ResponseTemplate::new(200)
            .set_delay(Duration::from_secs(11))
            .set_body_json(json!({"access_token": "a", "expires_in": 3600})),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let err = AccountsClient::with_base_url(server.uri())
            .exchange_grant(&signing_in())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::GrantExchangeUnconfirmed { .. }),
            "{err:?}"
        );
        assert!(!err.is_retryable(), "a caller must not retry it either");
        assert!(err.to_string().contains("sign the user in again"), "{err}");
        // Dropping the server checks it got exactly one request.
    }
}

#[tokio::test]
async fn a_refresh_is_retried_after_a_server_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "a", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    AccountsClient::with_base_url(server.uri())
        .refresh(&refreshing())
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_error_code_is_a_zoho_error_not_a_forced_sign_in() {
    let refresh_answered = |code: &'static str| async move {
        let server = answering(
            "refresh_token",
            ResponseTemplate::new(200).set_body_json(json!({ "error": code })),
        )
        .await;
        AccountsClient::with_base_url(server.uri())
            .refresh(&refreshing())
            .await
            .unwrap_err()
    };
    let err = refresh_answered("general_error").await;
    assert!(
        matches!(&err, Error::ZohoProtocol { reason } if reason.contains("general_error")),
        "{err:?}"
    );
    let err = refresh_answered("invalid_code").await;
    assert!(matches!(err, Error::InvalidGrant { .. }), "{err:?}");
}

#[tokio::test]
async fn a_revocation_counts_only_when_zoho_says_success() {
    for (answer, revoked) in [
        (json!({"status": "success"}), true),
        (json!({"status": "failure"}), false),
        (json!({}), false),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token/revoke"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer.clone()))
            .mount(&server)
            .await;
        let result = AccountsClient::with_base_url(server.uri())
            .revoke(&"1000.refresh".into())
            .await;
        assert_eq!(result.is_ok(), revoked, "{answer}: {result:?}");
        if let Err(err) = result {
            assert!(err.to_string().contains("may still be valid"), "{err}");
            assert!(
                !err.to_string().contains("1000.refresh"),
                "no secret in {err}"
            );
        }
    }
}

#[tokio::test]
async fn the_sdk_user_name_is_the_current_users_email_and_the_orgs_zgid() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/v8/users"))
        .and(wiremock::matchers::query_param("type", "CurrentUser"))
        .and(wiremock::matchers::header(
            "authorization",
            "Zoho-oauthtoken access-1",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"users": [{"email": "ava@example.com"}]})),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/crm/v8/org"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"org": [{"zgid": "7001", "id": "1"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let accounts = AccountsClient::with_base_url(server.uri());
    let access = AccessToken::new("access-1");
    assert_eq!(
        accounts
            .sdk_user_name(&server.uri(), &access)
            .await
            .unwrap(),
        "ava@example.com:7001",
        "as the Zoho SDK 8 names users in its signatures"
    );
    assert_eq!(
        accounts.current_user(&server.uri(), &access).await.unwrap(),
        "ava@example.com"
    );
}
