//! The strict AWS model (`localstack/strict-aws`) and the store behind it: each behaviour AWS has and
//! LocalStack lacks is shown to bite (a store that ignored it would fail here), and the store to hold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use common::strict::StrictAws;
use common::strict_zoho::StrictZoho;
use common::{keyring, token_for, unique_prefix};
use zoho_token_store::{
    Error, Keyring, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore,
};

async fn store_via(strict: &StrictAws, prefix: &str) -> SecretsManagerStore {
    SecretsManagerStore::builder(strict.client().await, keyring())
        .prefix(prefix)
        .build()
        .unwrap()
}

fn by_refresh(tag: &str) -> OAuthToken {
    OAuthToken::default()
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token(format!("refresh-{tag}"))
}

#[test]
fn the_models_rules_hold_on_a_fake_clock() {
    common::python_unittests("localstack", "test_strict_aws.py");
}

#[tokio::test]
async fn a_token_saved_a_moment_ago_is_missing_from_lagged_listings_and_found_through_its_bridge() {
    let strict = StrictAws::start(&["--lag", "60", "--lag-floor", "60"]);
    let prefix = unique_prefix("strict-lag");
    let store = store_via(&strict, &prefix).await;
    let mut token = token_for("ann@example.com", "lag");
    store.save_token(&mut token).await.unwrap();

    // The listing does not show it, a read by name does.
    let client = strict.client().await;
    let listed = client
        .list_secrets()
        .filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(&prefix)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(listed.secret_list().is_empty(), "{listed:?}");
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    client
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();

    // A second process finds it by refresh token: the filtered batch misses, the bridge does not.
    let other = store_via(&strict, &prefix).await;
    let found = other.find_token(&by_refresh("lag")).await.unwrap();
    assert_eq!(found.unwrap().id, token.id);
    // A store that trusts the listings (no bridges) misses it: what AWS would do to it.
    let trusting = SecretsManagerStore::builder(strict.client().await, keyring())
        .prefix(&prefix)
        .listing_lag(Duration::ZERO)
        .build()
        .unwrap();
    assert_eq!(trusting.find_token(&by_refresh("lag")).await.unwrap(), None);
    assert!(strict.stat("lagged_answers").await >= 3);
}

#[tokio::test]
async fn uneven_pages_lose_no_token() {
    let strict = StrictAws::start(&["--uneven-pages", "--seed", "5"]);
    let prefix = unique_prefix("strict-pages");
    let store = store_via(&strict, &prefix).await;
    for n in 0..25 {
        let mut token = token_for(&format!("user{n}@example.com"), &format!("p{n}"));
        store.save_token(&mut token).await.unwrap();
    }
    let tokens = store.get_tokens().await.unwrap();
    assert_eq!(tokens.len(), 25);
    assert!(
        strict.stat("empty_pages").await > 0,
        "{}",
        strict.stats().await
    );
}

#[tokio::test]
async fn a_foreign_index_key_is_named_even_when_the_first_page_is_empty() {
    // Before the check paged on, an empty first page passed it: every lookup then missed for good.
    let strict = StrictAws::start(&["--empty-first-pages"]);
    let prefix = unique_prefix("strict-indexkey");
    let store = store_via(&strict, &prefix).await;
    let mut token = token_for("bea@example.com", "ik");
    store.save_token(&mut token).await.unwrap();

    let foreign = Keyring::new("k1", &[0x11; 32], &[0x42; 32]).unwrap();
    let other = SecretsManagerStore::builder(strict.client().await, foreign)
        .prefix(&prefix)
        .build()
        .unwrap();
    let err = other.check_index_key().await.unwrap_err();
    assert!(matches!(err, Error::WrongIndexKey { .. }), "{err:?}");
    assert!(strict.stat("empty_pages").await >= 1);
    store.check_index_key().await.unwrap();
}

#[tokio::test]
async fn the_version_quota_refuses_the_write_past_it() {
    let strict = StrictAws::start(&["--version-quota", "3", "--version-window", "3600"]);
    let prefix = unique_prefix("strict-quota");
    let store = store_via(&strict, &prefix).await;
    let mut token = token_for("cal@example.com", "q");
    store.save_token(&mut token).await.unwrap();
    for n in 0..2 {
        token.access_token = Some(format!("access-{n}").into());
        store.save_token(&mut token).await.unwrap();
    }
    token.access_token = Some("access-over".into());
    let err = store.save_token(&mut token).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("PutSecretValue") && text.contains("LimitExceededException"),
        "{text}"
    );
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    assert_eq!(strict.stats().await["versions"][&name], 3);
}

#[tokio::test]
async fn a_secret_aws_will_not_return_is_isolated_by_whole_store_reads_and_named() {
    let strict = StrictAws::start(&["--decryption-failure", "/broken", "--deny-read", "/locked"]);
    let prefix = unique_prefix("strict-unreadable");
    let store = store_via(&strict, &prefix).await;
    for (id, user) in [("ok1", "ok"), ("broken1", "br"), ("locked1", "lo")] {
        let mut token = token_for(&format!("{user}@example.com"), user).with_id(id);
        store.insert_token(&mut token).await.unwrap();
    }
    // The store's name for `broken1` is `<prefix>broken1`: the patterns match those two only.
    let scan = store.scan_tokens().await.unwrap();
    let ids: Vec<_> = scan.tokens.iter().map(|t| t.id.clone().unwrap()).collect();
    assert_eq!(ids, ["ok1"]);
    let mut named: Vec<_> = scan
        .unreadable
        .iter()
        .map(|u| (u.id.clone().unwrap(), u.error.kind()))
        .collect();
    named.sort();
    assert_eq!(
        named,
        [
            ("broken1".to_owned(), "SecretUnavailable"),
            ("locked1".to_owned(), "SecretUnavailable")
        ]
    );
    for entry in &scan.unreadable {
        let text = entry.error.to_string();
        assert!(
            text.contains("DecryptionFailure") || text.contains("AccessDeniedException"),
            "{text}"
        );
        assert!(
            !text.contains("refresh-") && !text.contains("client-secret-"),
            "{text}"
        );
    }
    // get_tokens and the key-usage scan (which retire relies on) fail by name, as for any secret they
    // cannot read; before, the whole batch failed with a bare backend error.
    let err = store.get_tokens().await.unwrap_err();
    assert_eq!(err.kind(), "SecretUnavailable", "{err}");
    let err = store.key_usage().await.unwrap_err();
    assert_eq!(err.kind(), "SecretUnavailable", "{err}");
    assert!(strict.stat("read_refusals").await >= 2);
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_refuses_new_values() {
    let strict = StrictAws::start(&[]);
    let prefix = unique_prefix("strict-deleted");
    let store = SecretsManagerStore::builder(strict.client().await, keyring())
        .prefix(&prefix)
        .recovery_window(RecoveryWindow::Days(7))
        .build()
        .unwrap();
    let mut token = token_for("dee@example.com", "del");
    store.save_token(&mut token).await.unwrap();
    let name = store.secret_name(token.id.as_deref().unwrap()).unwrap();
    store
        .delete_token(token.id.as_deref().unwrap())
        .await
        .unwrap();

    let err = strict
        .client()
        .await
        .put_secret_value()
        .secret_id(&name)
        .secret_string("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&err),
        Some("InvalidRequestException")
    );
    let err = store.update_token(&token).await.unwrap_err();
    assert!(matches!(err, Error::TokenDeleted { .. }), "{err:?}");
    assert_eq!(strict.stat("deleted_write_refusals").await, 1);
}

#[tokio::test]
async fn throttling_past_the_retries_is_kind_throttled_and_retryable() {
    let strict = StrictAws::start(&["--throttle", "1.0"]);
    let store = store_via(&strict, &unique_prefix("strict-throttle")).await;
    let err = store.find_token_by_id("t1").await.unwrap_err();
    assert_eq!(err.kind(), "Throttled", "{err}");
    assert!(err.is_retryable());
    assert!(strict.stat("throttled").await >= 1);
}

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn a_fleet_refreshing_every_expiry_for_a_simulated_day_stays_far_inside_the_version_quota() {
    use std::sync::Arc;
    use zoho_token_store::{RefreshCoordinator, TokenManager};

    // A simulated day: 24 expiries (Zoho's tokens live 5 s here, the strict Zoho mock at 720x, refreshed
    // 1 s before they expire), 8 processes asking at every expiry, and once a holder that takes the lease
    // and dies. AWS's quota, in a window longer than the run: 100 versions per secret.
    //
    // A fresh token stays fresh for 4 s. A loaded machine may take longer than that to serve an expiry's
    // eight lookups (a waiter polls at up to 1 s), and a token that came due again meanwhile is rightly
    // refreshed again: so "one refresh per expiry" is read off what Zoho minted (no refresh while the
    // token before it had more than the 1 s margin left), not off the rounds, and the version counts are
    // per refresh made.
    const EXPIRIES: usize = 24;
    const MARGIN: Duration = Duration::from_secs(1);
    let strict = StrictAws::start(&["--version-quota", "100", "--version-window", "86400"]);
    let zoho = StrictZoho::start(&[
        "--scale",
        "720",
        "--client-id",
        "1000.CLIENTID",
        "--client-secret",
        "cs",
    ]);
    zoho.refresh_token("refresh-day", "day@example.com");
    let prefix = unique_prefix("strict-day");
    let mut fleet = Vec::new();
    for _ in 0..8 {
        let store = Arc::new(store_via(&strict, &prefix).await);
        let manager = TokenManager::builder(store.clone(), zoho.accounts())
            .coordinator(store.clone())
            .refresh_margin(MARGIN)
            .lease_ttl(Duration::from_secs(3))
            .wait_timeout(Duration::from_secs(15))
            .build()
            .unwrap();
        fleet.push((store, manager));
    }
    let mut token = OAuthToken::default()
        .with_user_name("day@example.com")
        .with_client("1000.CLIENTID", "cs")
        .with_refresh_token("refresh-day")
        .with_access_token("access-old", now_ms() - 1_000);
    fleet[0].0.save_token(&mut token).await.unwrap();
    let id = token.id.clone().unwrap();
    let query = OAuthToken::default().with_id(&id);

    for expiry in 0..EXPIRIES {
        if expiry == EXPIRIES / 2 {
            // A holder that takes the lease and dies: the others wait it out and one takes it over.
            let crashed = fleet[7]
                .0
                .try_acquire(&id, Duration::from_secs(3))
                .await
                .unwrap();
            assert!(crashed.is_some(), "the lease was free between refreshes");
        }
        let minted_before = zoho.issued().len();
        let tokens = futures::future::join_all(fleet.iter().map(|(_, m)| m.token(&query))).await;
        let mut seen = BTreeSet::new();
        for token in tokens {
            let token = token.unwrap_or_else(|e| panic!("expiry {expiry}: {e}"));
            seen.insert(token.access_token.unwrap().secret().to_owned());
        }
        // The token was due for every process as they asked: each got one Zoho minted for this expiry
        // (one, unless it came due again while they asked).
        let minted: BTreeSet<String> = zoho.issued()[minted_before..]
            .iter()
            .map(|m| m["access_token"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            !minted.is_empty() && seen.is_subset(&minted),
            "expiry {expiry}: every process got a token refreshed for it: {seen:?} of {minted:?}"
        );
        // Until it is due again (the clock the managers read).
        let stored = fleet[0].0.reload_token(&id).await.unwrap().unwrap();
        let due_at = stored.expires_at_ms.unwrap() - 1_000 + 100;
        tokio::time::sleep(Duration::from_millis(due_at.saturating_sub(now_ms()))).await;
    }

    // One refresh per expiry: none while the token before it had more than the margin left (the
    // processes share one clock).
    let early = zoho.early_refreshes("refresh-day", MARGIN.as_secs_f64());
    assert!(early.is_empty(), "refreshed a fresh token: {early:?}");
    zoho.assert_within_limits();
    let refreshes = zoho.refreshes() as u64;
    println!("{refreshes} refreshes for {EXPIRIES} expiries");

    let stats = strict.stats().await;
    assert_eq!(stats["quota_refusals"], 0, "{stats}");
    let written = stats["versions_written"].as_object().unwrap();
    let token_name = fleet[0].0.secret_name(&id).unwrap();
    let lease_name = format!("{prefix}lease/{id}");
    // Versions written per refresh, all secrets of the token together: 2. One to the token's secret,
    // one to a lease link that lives for that refresh (created, then deleted); now and then one more,
    // in a link of its own, by a process that reached the lease just as its holder deleted it (it reads
    // the fresh token under it and deletes it). The dead holder's link took the lease's version in its
    // refresh; its taker wrote the next link once.
    let lease_versions = written[&lease_name].as_u64().unwrap();
    assert_eq!(written[&token_name], refreshes + 1, "{stats}");
    assert!(
        (refreshes..=2 * refreshes).contains(&lease_versions),
        "{stats}"
    );
    assert_eq!(written[&format!("{lease_name}/1")], 1, "{stats}");
    // What AWS counts against the quota: the versions each secret holds now. The token's secret holds
    // 25 of 100 after a day (a refresh each expiry); the lease links are gone.
    let held = stats["versions"].as_object().unwrap();
    assert_eq!(held[&token_name], refreshes + 1, "{stats}");
    assert!(
        held.keys().all(|name| !name.starts_with(&lease_name)),
        "{stats}"
    );
    // What a waiter costs: one CreateSecret when it meets a refresh (the race for the free link, which
    // one process wins), then reads only while it waits. So at most one create per process per refresh,
    // plus the rare late one and the dead holder's.
    let creates: u64 = fleet
        .iter()
        .map(|(store, _)| store.calls().count("CreateSecret"))
        .sum();
    let bound = (fleet.len() as u64 + 1) * refreshes + 1;
    assert!(
        creates <= bound,
        "{creates} CreateSecret, more than {bound}"
    );
}

#[tokio::test]
async fn a_bridge_outlives_the_configured_lag_by_the_clock_skew_and_as_much_again() {
    // The saving process lists at once (so its sweep sees every bridge); the looking-up one lags a
    // minute. The store expects a 2 s lag; this listing lags longer, as AWS may.
    let (saver_aws, reader_aws) = (
        StrictAws::start(&[]),
        StrictAws::start(&["--lag", "60", "--lag-floor", "60"]),
    );
    let prefix = unique_prefix("strict-bridge-age");
    let lagging = |client| {
        SecretsManagerStore::builder(client, keyring())
            .prefix(&prefix)
            .listing_lag(Duration::from_secs(2))
            .build()
            .unwrap()
    };
    let saver = lagging(saver_aws.client().await);
    let mut first = token_for("eli@example.com", "e1");
    saver.save_token(&mut first).await.unwrap();
    // Past the configured lag, another save sweeps old bridges: the first token's must stay (it was
    // 2 s old; a sweep at the bare lag deleted it, and the lookup below then missed).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut second = token_for("fay@example.com", "e2");
    saver.save_token(&mut second).await.unwrap();

    let reader = lagging(reader_aws.client().await);
    let found = reader.find_token(&by_refresh("e1")).await.unwrap();
    assert_eq!(found.map(|t| t.id), Some(first.id));
}

#[tokio::test]
async fn retiring_a_key_counts_a_token_deleted_within_the_listing_lag() {
    // Every listing answers from exactly 5 minutes ago, so a token deleted a moment ago still shows
    // as live in it, and its value is gone when read.
    let strict = StrictAws::start(&["--lag", "300", "--lag-floor", "300"]);
    let prefix = unique_prefix("strict-retire-lag");
    let old = store_via(&strict, &prefix).await;
    let mut kept = token_for("kay@example.com", "kept");
    old.save_token(&mut kept).await.unwrap();
    let mut gone = token_for("gil@example.com", "gone");
    old.save_token(&mut gone).await.unwrap();
    strict.advance(301.0).await;
    let new = SecretsManagerStore::builder(
        strict.client().await,
        keyring().with_new_primary("k2", &[0x22; 32]).unwrap(),
    )
    .prefix(&prefix)
    .recovery_window(RecoveryWindow::Days(7))
    .build()
    .unwrap();
    new.reencrypt(&zoho_token_store::BulkOptions::default())
        .await
        .unwrap();

    new.delete_token(gone.id.as_deref().unwrap()).await.unwrap();
    let err = new.retire_key("k1").await.unwrap_err();
    assert!(
        matches!(&err, Error::KeyMayBeInUse { secrets: 1, reason, .. } if reason.contains("recovery window")),
        "{err:?}"
    );
}
