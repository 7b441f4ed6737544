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
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/zoho-mock");
    let out = std::process::Command::new("python3")
        .args([
            "-m",
            "unittest",
            "discover",
            "-s",
            dir,
            "-p",
            "test_strict_zoho.py",
        ])
        .output()
        .expect("python3 runs the mock's unit tests");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
