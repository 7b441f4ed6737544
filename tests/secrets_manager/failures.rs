//! When the service fails: errors that name the call and hide secrets, clear errors for bad input, and
//! writes retried after a lost response applied once.

use zoho_token_store::{Error, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore};

use super::{by_refresh, saved};
use crate::common::{client, keyring, raw_names, store, token_for, unique_prefix};

/// Turns the first successful response of one operation into a connection error, as if the response was
/// lost after the service applied the write: the SDK then sends the identical request again.
#[derive(Debug)]
struct LoseFirstResponse {
    operation: &'static str,
    fired: std::sync::atomic::AtomicBool,
}

impl aws_sdk_secretsmanager::config::Intercept for LoseFirstResponse {
    fn name(&self) -> &'static str {
        "LoseFirstResponse"
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut<'_>,
        _components: &aws_sdk_secretsmanager::config::RuntimeComponents,
        cfg: &mut aws_sdk_secretsmanager::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        use aws_smithy_runtime_api::client::orchestrator::{Metadata, OrchestratorError};
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let target = cfg
            .load::<Metadata>()
            .is_some_and(|m| m.name() == self.operation);
        let succeeded = context.inner().output_or_error().is_some_and(|r| r.is_ok());
        if target && succeeded && !self.fired.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let lost = ConnectorError::io("response lost (injected by the test)".into());
            context
                .inner_mut()
                .set_output_or_error(Err(OrchestratorError::connector(lost)));
        }
        Ok(())
    }
}

async fn store_losing_first(operation: &'static str, prefix: &str) -> SecretsManagerStore {
    let base = client().await;
    let lossy = aws_sdk_secretsmanager::Client::from_conf(
        base.config()
            .to_builder()
            .interceptor(LoseFirstResponse {
                operation,
                fired: false.into(),
            })
            .build(),
    );
    SecretsManagerStore::builder(lossy, keyring())
        .prefix(prefix)
        .build()
        .unwrap()
}

#[tokio::test]
async fn backend_errors_say_which_call_failed_and_never_show_secrets() {
    // Nothing listens on port 9: every call fails at once, as when the endpoint is unreachable.
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "t",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let store =
        SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::new(&config), keyring())
            .build()
            .unwrap();
    let mut token = token_for("mona@example.com", "LEAKCHECK");
    let err = store.save_token(&mut token).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                operation: "DescribeSecret",
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable());
    let shown = format!("{err} {err:?} {store:?} {token:?}");
    assert!(!shown.contains("LEAKCHECK"), "{shown}");
    assert!(
        !shown.contains("EREREREREREREREREREREREREREREREREREQ"),
        "key material: {shown}"
    );
    let err = store
        .find_token(&by_refresh("LEAKCHECK"))
        .await
        .unwrap_err();
    assert!(!format!("{err:?}").contains("LEAKCHECK"));
}

#[tokio::test]
async fn oversized_tokens_and_bad_options_are_clear_errors() {
    let store = store("hostile").await;
    let mut huge = token_for("nina@example.com", "n").with_access_token("a".repeat(70_000), 1);
    let err = store.save_token(&mut huge).await.unwrap_err();
    assert!(err.to_string().contains("at most 65536"), "{err}");
    assert!(
        raw_names(&client().await, store.prefix(), true)
            .await
            .is_empty(),
        "nothing written"
    );

    let err = SecretsManagerStore::builder(client().await, keyring())
        .prefix("has space/")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidConfig { .. }) && err.to_string().contains("' '"),
        "{err}"
    );
    let err = SecretsManagerStore::builder(client().await, keyring())
        .recovery_window(RecoveryWindow::Days(3))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("7 to 30"), "{err}");
}

#[tokio::test]
async fn a_write_retried_after_a_lost_response_is_applied_once() {
    let prefix = unique_prefix("idempotent");
    let raw = client().await;
    let versions = |name: String| {
        let raw = raw.clone();
        async move {
            let out = raw
                .list_secret_version_ids()
                .secret_id(name)
                .include_deprecated(true)
                .send()
                .await
                .unwrap();
            out.versions().len()
        }
    };

    let store = store_losing_first("CreateSecret", &prefix).await;
    let mut token = saved(&store, token_for("oscar@example.com", "o1")).await;
    assert_eq!(
        (
            store.calls().count("CreateSecret"),
            store.calls().retries("CreateSecret")
        ),
        (1, 1),
        "one create, retried once by the SDK"
    );
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    assert_eq!(
        raw_names(&raw, &prefix, true).await,
        std::slice::from_ref(&name)
    );
    assert_eq!(
        versions(name.clone()).await,
        1,
        "the retried create added nothing"
    );

    let store = store_losing_first("PutSecretValue", &prefix).await;
    token.refresh_token = Some("refresh-o2".into());
    store.save_token(&mut token).await.unwrap();
    assert_eq!(
        (
            store.calls().count("PutSecretValue"),
            store.calls().retries("PutSecretValue")
        ),
        (1, 1),
        "one put, retried once by the SDK"
    );
    assert_eq!(
        versions(name).await,
        2,
        "one create and one put, not two puts"
    );
    let got = store
        .find_token(&OAuthToken::default().with_user_name("oscar@example.com"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.refresh_token.unwrap().secret(), "refresh-o2");
}

/// A store whose every call gets `answer` from a local server standing in for the endpoint.
async fn store_answered(
    answer: wiremock::ResponseTemplate,
) -> (wiremock::MockServer, SecretsManagerStore) {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(&server)
        .await;
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(server.uri())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "t", "t", None, None, "t",
        ))
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let store =
        SecretsManagerStore::builder(aws_sdk_secretsmanager::Client::new(&config), keyring())
            .build()
            .unwrap();
    (server, store)
}

#[tokio::test]
async fn a_server_error_from_the_service_is_retryable() {
    let (_server, store) = store_answered(
        wiremock::ResponseTemplate::new(500)
            .insert_header("x-amzn-errortype", "InternalError")
            .set_body_json(serde_json::json!({"__type": "InternalError", "message": "boom"})),
    )
    .await;
    let err = store.find_token_by_id("t1").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                operation: "GetSecretValue",
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn every_aws_failure_is_one_line_that_names_the_fix() {
    // An endpoint that answers HTTP but is not AWS (a web server, a wrong port).
    let (_server, store) = store_answered(
        wiremock::ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"),
    )
    .await;
    let message = store.find_token_by_id("t1").await.unwrap_err().to_string();
    assert!(message.contains("HTTP 404"), "{message}");
    assert!(message.contains("AWS_ENDPOINT_URL"), "{message}");
    assert!(
        !message.contains('\n') && !message.contains("  "),
        "{message}"
    );

    for (code, fix) in [
        ("AccessDeniedException", "minimal IAM policy"),
        ("UnrecognizedClientException", "AWS_ACCESS_KEY_ID"),
        ("LimitExceededException", "100 versions"),
    ] {
        let (_server, store) = store_answered(
            wiremock::ResponseTemplate::new(400)
                .insert_header("x-amzn-errortype", code)
                .set_body_json(serde_json::json!({"__type": code, "message": "as AWS says it"})),
        )
        .await;
        let message = store.find_token_by_id("t1").await.unwrap_err().to_string();
        assert!(message.contains(code) && message.contains(fix), "{message}");
        assert!(
            !message.contains('\n') && !message.contains("  "),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_compare_and_swap_whose_answer_was_lost_is_not_taken_for_a_conflict() {
    use zoho_token_store::RefreshCoordinator;
    // The first stage move lands but its answer is lost: the SDK sends it again, and the service
    // refuses the repeat because AWSCURRENT already moved (to our own version).
    let prefix = unique_prefix("cas-lost-answer");
    let store = store_losing_first("UpdateSecretVersionStage", &prefix).await;
    let mut lease = store
        .try_acquire("t1", std::time::Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .renew(&mut lease, std::time::Duration::from_secs(30))
            .await
            .unwrap(),
        "the renewal landed: the lease is still ours"
    );
    assert_eq!(store.calls().retries("UpdateSecretVersionStage"), 1);
    // And it really is ours: another process cannot take it, and we can renew again.
    let other = SecretsManagerStore::builder(client().await, keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    assert!(
        other
            .try_acquire("t1", std::time::Duration::from_secs(30))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .renew(&mut lease, std::time::Duration::from_secs(30))
            .await
            .unwrap()
    );
}

/// A write's value lands before its tags: when the tagging fails, the secret names a user in its value
/// and not in its tags. A save under its id of another user's token is still refused (the value is read
/// to tell, the one case a save reads it), the same user's save goes through and tags it again, and a
/// save over a tagged secret reads nothing.
#[tokio::test]
async fn a_save_by_id_is_checked_against_the_value_when_the_user_tag_was_not_written() {
    let store = store("untagged-user").await;
    let alice = saved(&store, token_for("alice@example.com", "a1")).await;
    let id = alice.id.clone().unwrap();
    client()
        .await
        .untag_resource()
        .secret_id(store.secret_name(&id).unwrap())
        .tag_keys("zts:user")
        .send()
        .await
        .unwrap();

    let mut bob = token_for("bob@example.com", "b1").with_id(&id);
    let refused = store.save_token(&mut bob).await.unwrap_err();
    assert!(
        refused.to_string().contains("names another user's token"),
        "{refused:?}"
    );
    assert_eq!(
        store
            .find_token_by_id(&id)
            .await
            .unwrap()
            .unwrap()
            .refresh_token,
        alice.refresh_token,
        "nothing written"
    );

    let mut again = token_for("alice@example.com", "a2").with_id(&id);
    store.save_token(&mut again).await.unwrap();
    let described = client()
        .await
        .describe_secret()
        .secret_id(store.secret_name(&id).unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        described.tags().iter().any(|t| t.key() == Some("zts:user")),
        "tagged again: {:?}",
        described.tags()
    );

    let reads = store.calls().count("GetSecretValue");
    let mut tagged = token_for("alice@example.com", "a3").with_id(&id);
    store.save_token(&mut tagged).await.unwrap();
    let mut bob = token_for("bob@example.com", "b2").with_id(&id);
    store.save_token(&mut bob).await.unwrap_err();
    assert_eq!(
        store.calls().count("GetSecretValue"),
        reads,
        "a tagged secret answers from its tags"
    );
}
