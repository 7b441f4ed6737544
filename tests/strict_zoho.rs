//! The strict Zoho mock (`zoho-mock/`): its rules on a fake clock (the Python unit tests), and each rule
//! met by the store's own Zoho client through the launcher, as the error kind the store gives it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::strict_zoho::StrictZoho;
use zoho_token_store::{AccountsClient, OAuthToken};

const CLIENT_ID: &str = "1000.CLIENT";
const CLIENT_SECRET: &str = "client-secret";

fn with_grant(code: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client(CLIENT_ID, CLIENT_SECRET)
        .with_grant_token(code)
        .with_redirect_url("https://app.example.com/callback")
}

fn with_refresh(token: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client(CLIENT_ID, CLIENT_SECRET)
        .with_refresh_token(token)
}

#[test]
fn the_mocks_rules_hold_on_a_fake_clock() {
    common::python_unittests("zoho-mock", "test_strict_zoho.py");
}

#[tokio::test]
async fn each_refusal_reaches_the_store_as_its_kind() {
    // 90-second tokens, as the fleet met them: the refresh window is 15 s, a grant lives 4.5 s.
    let zoho = StrictZoho::start(&["--scale", "40", "--email", "ann@example.com"]);
    let accounts = zoho.accounts();

    zoho.grant("code-1");
    let grant = accounts
        .exchange_grant(&with_grant("code-1"))
        .await
        .unwrap();
    assert_eq!(grant.expires_in.as_secs(), 90, "3600 Zoho seconds, scaled");
    let refresh = grant.refresh_token.clone().unwrap().secret().to_owned();
    let domain = grant.api_domain.clone().unwrap();
    assert_eq!(
        accounts
            .sdk_user_name(&domain, &grant.access_token)
            .await
            .unwrap(),
        "ann@example.com:7001"
    );
    let again = accounts.exchange_grant(&with_grant("code-1")).await;
    assert_eq!(
        again.unwrap_err().kind(),
        "InvalidGrant",
        "a grant works once"
    );

    // A grant older than 3 Zoho minutes.
    zoho.grant("code-late");
    zoho.advance(180.0);
    let late = accounts.exchange_grant(&with_grant("code-late")).await;
    assert_eq!(late.unwrap_err().kind(), "InvalidGrant");

    // Ten refreshes in the window, then Zoho's "Access Denied": retryable, not a new sign-in.
    for _ in 0..10 {
        accounts.refresh(&with_refresh(&refresh)).await.unwrap();
    }
    let denied = accounts.refresh(&with_refresh(&refresh)).await.unwrap_err();
    assert_eq!(denied.kind(), "Throttled", "{denied}");
    assert!(denied.is_retryable());
    assert_eq!(zoho.stats()["refresh_tokens"][&refresh]["access_denied"], 1);
    zoho.advance(600.0);
    let fresh = accounts.refresh(&with_refresh(&refresh)).await.unwrap();

    // Wrong client credentials.
    let wrong = OAuthToken::default()
        .with_client(CLIENT_ID, "not-the-secret")
        .with_refresh_token(refresh.as_str());
    let err = accounts.refresh(&wrong).await.unwrap_err();
    assert_eq!(err.kind(), "InvalidClient");

    // An access token past its hour fails its CRM call; a revoked refresh token is refused.
    zoho.advance(3600.0);
    let err = accounts
        .sdk_user_name(&domain, &fresh.access_token)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    accounts
        .revoke(&refresh.as_str().into())
        .await
        .expect("revoked");
    let err = accounts.refresh(&with_refresh(&refresh)).await.unwrap_err();
    assert_eq!(err.kind(), "InvalidGrant");

    let stats = zoho.stats();
    assert_eq!(stats["exchanges"], 1, "{stats}");
    assert_eq!(stats["refused_exchanges"], 2, "{stats}");
    assert_eq!(stats["access_denied"], 1, "{stats}");
    assert_eq!(stats["invalid_token"], 1, "{stats}");
    assert_eq!(stats["revoked"], 1, "{stats}");
}

#[tokio::test]
async fn the_sixteenth_access_token_evicts_the_first_and_the_twenty_first_refresh_token_the_first()
{
    let zoho = StrictZoho::start(&[]);
    let accounts = AccountsClient::with_base_url(zoho.url());
    zoho.grant("code-0");
    let first = accounts
        .exchange_grant(&with_grant("code-0"))
        .await
        .unwrap();
    let refresh = first.refresh_token.clone().unwrap().secret().to_owned();
    let domain = first.api_domain.clone().unwrap();
    // Ten refreshes per 10 Zoho minutes: 14 more live tokens take two windows.
    for n in 0..14 {
        if n == 10 {
            zoho.advance(600.0);
        }
        accounts.refresh(&with_refresh(&refresh)).await.unwrap();
    }
    accounts
        .current_user(&domain, &first.access_token)
        .await
        .expect("15 live: the first still works");
    accounts.refresh(&with_refresh(&refresh)).await.unwrap();
    let err = accounts
        .current_user(&domain, &first.access_token)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(zoho.stat("evicted"), 1);

    for n in 1..=20 {
        zoho.grant(&format!("code-{n}"));
        accounts
            .exchange_grant(&with_grant(&format!("code-{n}")))
            .await
            .unwrap();
    }
    let err = accounts.refresh(&with_refresh(&refresh)).await.unwrap_err();
    assert_eq!(
        err.kind(),
        "InvalidGrant",
        "the first refresh token is gone"
    );
    assert_eq!(zoho.stat("deleted_refresh_tokens"), 1);
}

/// A fleet process: its own store object and token manager (with the store's refresh lease), on the
/// strict mock.
async fn process(zoho: &StrictZoho, prefix: &str) -> zoho_token_store::TokenManager {
    use std::sync::Arc;
    use zoho_token_store::{SecretsManagerStore, TokenManager, TokenStore};
    let store = Arc::new(
        SecretsManagerStore::builder(common::client().await, common::keyring())
            .prefix(prefix)
            .build()
            .unwrap(),
    );
    let as_store: Arc<dyn TokenStore> = store.clone();
    TokenManager::builder(as_store, zoho.accounts())
        .coordinator(store)
        .build()
        .unwrap()
}

/// A stored token for `email` whose access token has expired, refreshed with `refresh`.
async fn stored_expired(prefix: &str, email: &str, refresh: &str) -> String {
    use zoho_token_store::{SecretsManagerStore, TokenStore};
    let store = SecretsManagerStore::builder(common::client().await, common::keyring())
        .prefix(prefix)
        .build()
        .unwrap();
    let mut token = with_refresh(refresh)
        .with_user_name(email)
        .with_access_token("spent", 1_000);
    store.save_token(&mut token).await.unwrap();
    token.id.unwrap()
}

#[tokio::test]
async fn access_denied_is_honoured_by_the_whole_fleet_until_its_window_ends() {
    use zoho_token_store::{Error, TokenStore, ZohoRefusal};
    let zoho = StrictZoho::start(&["--email", "bea@example.com"]);
    let prefix = common::unique_prefix("refusal-throttled");
    zoho.refresh_token("refresh-bea", "bea@example.com");
    let id = stored_expired(&prefix, "bea@example.com", "refresh-bea").await;
    // Another app spent this refresh token's ten access tokens of the window.
    let accounts = zoho.accounts();
    for _ in 0..10 {
        accounts
            .refresh(&with_refresh("refresh-bea"))
            .await
            .unwrap();
    }

    let (a, b) = (process(&zoho, &prefix).await, process(&zoho, &prefix).await);
    let query = OAuthToken::default().with_id(&id);
    let err = a.token(&query).await.unwrap_err();
    assert!(
        matches!(err, Error::Throttled { until: Some(_) }) && err.is_retryable(),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("no process asks again before"),
        "{err}"
    );
    assert_eq!(zoho.stat("access_denied"), 1);
    // Every other process (and this one again) learns it from the store: Zoho is not asked again.
    for manager in [&b, &a] {
        let err = manager.token(&query).await.unwrap_err();
        assert_eq!(err.kind(), "Throttled", "{err}");
    }
    assert_eq!(
        zoho.refreshes(),
        11,
        "one refused request in all, none after it"
    );

    // The window over (Zoho's clock, and the stored mark as a fleet would find it then), a refresh
    // works and clears the mark.
    zoho.advance(600.0);
    let store =
        zoho_token_store::SecretsManagerStore::builder(common::client().await, common::keyring())
            .prefix(&prefix)
            .build()
            .unwrap();
    let mut marked = store.find_token_by_id(&id).await.unwrap().unwrap();
    assert!(matches!(
        marked.refusal,
        Some(ZohoRefusal::Throttled { .. })
    ));
    marked.refusal = Some(ZohoRefusal::Throttled { until_ms: 1 });
    store.update_token(&marked).await.unwrap();
    let fresh = b.token(&query).await.unwrap();
    assert_eq!(fresh.refusal, None);
    assert_eq!(
        store.find_token_by_id(&id).await.unwrap().unwrap().refusal,
        None
    );
}

#[tokio::test]
async fn a_revoked_refresh_token_is_never_refreshed_again_and_a_new_sign_in_clears_it() {
    use zoho_token_store::{Error, TokenStore, ZohoRefusal};
    let zoho = StrictZoho::start(&["--email", "cal@example.com"]);
    let prefix = common::unique_prefix("refusal-revoked");
    zoho.refresh_token("refresh-cal", "cal@example.com");
    let id = stored_expired(&prefix, "cal@example.com", "refresh-cal").await;
    // The user revoked the app's access in Zoho.
    zoho.accounts().revoke(&"refresh-cal".into()).await.unwrap();

    let (a, b) = (process(&zoho, &prefix).await, process(&zoho, &prefix).await);
    let query = OAuthToken::default().with_id(&id);
    let err = a.token(&query).await.unwrap_err();
    assert!(matches!(err, Error::TokenRevoked { .. }), "{err:?}");
    let line = err.to_string();
    assert!(
        line.contains("cal@example.com") && line.contains("sign the user in again"),
        "{line}"
    );
    assert!(
        !line.contains("refresh-cal"),
        "no secret in the message: {line}"
    );
    let by_user = OAuthToken::default().with_user_name("cal@example.com");
    for manager in [&b, &a] {
        assert_eq!(
            manager.token(&by_user).await.unwrap_err().kind(),
            "TokenRevoked"
        );
    }
    assert_eq!(zoho.refreshes(), 1, "Zoho was asked once");
    let store =
        zoho_token_store::SecretsManagerStore::builder(common::client().await, common::keyring())
            .prefix(&prefix)
            .build()
            .unwrap();
    assert!(matches!(
        store.find_token_by_id(&id).await.unwrap().unwrap().refusal,
        Some(ZohoRefusal::Revoked { .. })
    ));

    // The user signs in again: the new grant's token replaces the revoked one, for everyone.
    zoho.grant("code-cal-2");
    let signed_in = b
        .token(&with_grant("code-cal-2").with_user_name("cal@example.com"))
        .await
        .unwrap();
    assert_eq!(
        signed_in.id.as_deref(),
        Some(id.as_str()),
        "the same user's secret"
    );
    assert_eq!(signed_in.refusal, None);
    let found = a.token(&query).await.unwrap();
    assert_eq!(found.refresh_token, signed_in.refresh_token);
    assert_eq!(zoho.exchanges(), 1);
}

#[tokio::test]
async fn a_throttle_met_while_refreshing_ahead_hands_over_the_access_token_that_still_works() {
    use zoho_token_store::{SecretsManagerStore, TokenStore, ZohoRefusal};
    let zoho = StrictZoho::start(&["--email", "dee@example.com"]);
    let prefix = common::unique_prefix("refusal-ahead");
    zoho.refresh_token("refresh-dee", "dee@example.com");
    let store = SecretsManagerStore::builder(common::client().await, common::keyring())
        .prefix(&prefix)
        .build()
        .unwrap();
    // 30 s left: inside the default 60 s margin, so due for a refresh ahead, and still good to use.
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(30);
    let mut token = with_refresh("refresh-dee")
        .with_user_name("dee@example.com")
        .with_access_token("still-good", zoho_token_store_epoch_ms(expires));
    store.save_token(&mut token).await.unwrap();
    let accounts = zoho.accounts();
    for _ in 0..10 {
        accounts
            .refresh(&with_refresh("refresh-dee"))
            .await
            .unwrap();
    }

    let (a, b) = (process(&zoho, &prefix).await, process(&zoho, &prefix).await);
    let query = OAuthToken::default().with_id(token.id.clone().unwrap());
    for manager in [&a, &b] {
        let handed = manager.token(&query).await.unwrap();
        assert_eq!(handed.access_token.unwrap().secret(), "still-good");
    }
    assert_eq!(
        zoho.stat("access_denied"),
        1,
        "asked once, then the mark held"
    );
    assert!(matches!(
        store
            .find_token_by_id(token.id.as_deref().unwrap())
            .await
            .unwrap()
            .unwrap()
            .refusal,
        Some(ZohoRefusal::Throttled { .. })
    ));
}

fn zoho_token_store_epoch_ms(at: std::time::SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}
