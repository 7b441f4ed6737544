//! The `zoho-token-store` command against LocalStack, with fixtures the tests create.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::cli::{Env, HEADER};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zoho_token_store::Keyring;

/// The SDK's current file layout with ids "1" to "12" (the seed's max-id collision case).
fn twelve_rows() -> String {
    let mut csv = format!("{HEADER}\n");
    for n in 1..=12 {
        csv += &format!(
            "{n},user{n}@example.com,1000.CLIENT,secret-{n},1000.refresh-{n}-abcdefghijkl,1000.access-{n},,1900000000000,https://app.example.com/cb,https://www.zohoapis.com\n"
        );
    }
    csv
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn help_reads_well_for_every_command() {
    let mut cmd = Command::cargo_bin("zoho-token-store").unwrap();
    cmd.arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:").and(predicate::str::contains("Exit codes")));
    for sub in [
        "list",
        "show",
        "find",
        "delete",
        "purge",
        "import",
        "export",
        "keygen",
        "keys",
        "rotate",
        "retag",
        "retire",
        "refresh",
        "refresh-due",
    ] {
        let mut cmd = Command::cargo_bin("zoho-token-store").unwrap();
        cmd.args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: zoho-token-store"));
    }
    let mut cmd = Command::cargo_bin("zoho-token-store").unwrap();
    cmd.arg("no-such-command").assert().code(2);
}

#[test]
fn keygen_prints_a_keyring_the_library_reads() {
    let env = Env::new("cli-keygen");
    let out = env
        .cmd()
        .args(["keygen", "--id", "prod1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ring = Keyring::parse(String::from_utf8(out).unwrap().trim()).unwrap();
    assert_eq!(ring.primary_key_id(), "prod1");
}

#[test]
fn import_the_sdk_file_twice_never_duplicates_and_reports_bad_rows() {
    let env = Env::new("cli-import");
    let mut csv = twelve_rows();
    csv += "13,O'Brien@example.com,1000.CLIENT,secret-13,1000.refresh-13,,,,,\n"; // a quote; empty means none
    // Line 15: a row shifted by one column, so its expiry_time holds a token (never to be echoed).
    csv += "14,bad@example.com,1000.CLIENT,secret-14,1000.refresh-14,,,1000.access-shifted,,\n";
    csv += "15,short@example.com,1000.CLIENT\n"; // line 16: too few columns
    let file = env.file("sdk_tokens.txt", &csv);

    env.cmd()
        .args(["import"])
        .arg(&file)
        .arg("--dry-run")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "would be: created 13, updated 0, unchanged 0, failed 2",
        ));
    assert_eq!(
        env.json(&["list"]).as_array().unwrap().len(),
        0,
        "a dry run writes nothing"
    );

    env.cmd()
        .arg("import")
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "created 13, updated 0, unchanged 0, failed 2",
        ))
        .stderr(
            predicate::str::contains("row 15: expiry_time is not a time in epoch milliseconds")
                .and(predicate::str::contains("row 16: expected 9 or 10 columns"))
                .and(predicate::str::contains("access-shifted").not()),
        );
    let list = env.json(&["list"]);
    let mut want: Vec<String> = (1..=13).map(|n| n.to_string()).collect();
    want.sort();
    assert_eq!(ids(&list), want);

    // Re-running: nothing new; one row refreshed since (a new access token, expiring later) is an
    // update. (A row as late with other values is in doubt, and stays out: see tests/import.rs.)
    let changed = csv.replace(
        "1000.access-5,,1900000000000",
        "1000.access-5b,,1900000003600",
    );
    let file = env.file("sdk_tokens_2.txt", &changed);
    let summary = env
        .cmd()
        .args(["import", "--json"])
        .arg(&file)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let summary: Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(
        (
            summary["created"].as_u64(),
            summary["updated"].as_u64(),
            summary["unchanged"].as_u64()
        ),
        (Some(0), Some(1), Some(12))
    );
    assert_eq!(summary["errors"][0]["row"], 15);
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 13);

    let obrien = env.json(&["find", "--user", "O'Brien@example.com"]);
    assert_eq!(obrien["id"], "13");
    assert_eq!(
        obrien["access_token"],
        Value::Null,
        "an empty field is none"
    );
}

#[test]
fn import_older_layouts_sqlite_and_json_lines() {
    let env = Env::new("cli-formats");
    let v21 = env.file(
        "v21.csv",
        "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri\n\
         21,v21@example.com,1000.C,s,1000.refresh-21,,,,https://x/cb\n",
    );
    let legacy = env.file("legacy.csv", "user_mail,client_id,refresh_token,access_token,grant_token,expiry_time\nlegacy@example.com,1000.C,1000.refresh-l,1000.access-l,,1900000000000\n");
    env.cmd()
        .arg("import")
        .arg(&v21)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 1"));
    env.cmd()
        .arg("import")
        .arg(&legacy)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 1"));
    let found = env.json(&["find", "--user", "legacy@example.com", "--reveal"]);
    assert_eq!(found["refresh_token"], "1000.refresh-l");
    assert!(
        found["id"].as_str().unwrap().starts_with('u'),
        "no id in that layout: one is assigned"
    );

    let db = env.dir.path().join("zohooauth.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE oauthtoken (id varchar(10) NOT NULL, user_name varchar(255), client_id varchar(255), \
         client_secret varchar(255), refresh_token varchar(255), access_token varchar(255), grant_token varchar(255), \
         expiry_time varchar(20), redirect_url varchar(255), api_domain varchar(255), primary key (id));
         INSERT INTO oauthtoken VALUES ('10', 'db1@example.com', '1000.C', 's', '1000.refresh-db1', '1000.access-db1', NULL, '1900000000000', NULL, 'https://www.zohoapis.eu');
         INSERT INTO oauthtoken VALUES ('11', 'db2@example.com', '1000.C', 's', '1000.refresh-db2', '', '', '', '', '');",
    )
    .unwrap();
    drop(conn);
    env.cmd()
        .arg("import")
        .arg(&db)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 2"));
    assert_eq!(
        env.json(&["show", "10"])["api_domain"],
        "https://www.zohoapis.eu"
    );

    let exported = env.dir.path().join("out.jsonl");
    env.cmd()
        .args(["export", "--reveal", "--output"])
        .arg(&exported)
        .assert()
        .success();
    let other = Env::new("cli-formats-copy");
    other
        .cmd()
        .arg("import")
        .arg(&exported)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 4"));
    assert_eq!(
        other.json(&["show", "11", "--reveal"])["refresh_token"],
        "1000.refresh-db2"
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let env = Env::new("cli-bad");
    env.cmd()
        .args(["import", "/nonexistent/sdk_tokens.txt"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no such file"));
    let empty_db = env.dir.path().join("empty.db");
    rusqlite::Connection::open(&empty_db)
        .unwrap()
        .execute_batch("CREATE TABLE other (x int);")
        .unwrap();
    env.cmd()
        .arg("import")
        .arg(&empty_db)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no table `oauthtoken`"));
    env.cmd()
        .args(["find", "--refresh-token", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--client-id"));
    env.cmd()
        .args(["purge"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    env.cmd()
        .args(["export"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--reveal"));

    // A wrong key, and an unreachable endpoint: exit 1 with what failed, never a secret.
    let file = env.file(
        "one.csv",
        &format!("{HEADER}\n1,u@example.com,1000.C,s,1000.refresh-SECRETVALUE,,,,,\n"),
    );
    env.cmd().arg("import").arg(&file).assert().success();
    env.cmd()
        .env(
            "ZOHO_TOKEN_STORE_KEYS",
            Keyring::generate("k1").unwrap().as_str(),
        )
        .args(["show", "1"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("cannot decrypt")
                .and(predicate::str::contains("SECRETVALUE").not()),
        );
    env.cmd()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .args(["show", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("AWS GetSecretValue failed"));
    env.cmd()
        .env_remove("ZOHO_TOKEN_STORE_KEYS")
        .args(["list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ZOHO_TOKEN_STORE_KEYS is not set"));
}

#[test]
fn list_show_find_delete_purge_and_export() {
    let env = Env::new("cli-crud");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();

    let table = env
        .cmd()
        .arg("list")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8(table).unwrap();
    assert!(
        table.starts_with("ID")
            && table.contains("user7@example.com")
            && table.contains("in ")
            && table.contains("k1")
    );
    assert!(!table.contains("refresh-7"), "no secrets in the list");

    let shown = env
        .cmd()
        .args(["show", "7"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let shown = String::from_utf8(shown).unwrap();
    assert!(
        shown.contains("[redacted] ...ijkl") && !shown.contains("1000.refresh-7"),
        "{shown}"
    );
    assert_eq!(
        env.json(&["show", "7", "--reveal"])["refresh_token"],
        "1000.refresh-7-abcdefghijkl"
    );
    assert_eq!(
        env.json(&[
            "find",
            "--refresh-token",
            "1000.refresh-3-abcdefghijkl",
            "--client-id",
            "1000.CLIENT"
        ])["id"],
        "3"
    );
    assert_eq!(
        env.json(&["find", "--access-token", "1000.access-4"])["id"],
        "4"
    );
    env.cmd()
        .args(["find", "--user", "nobody@example.com"])
        .assert()
        .code(3);
    env.cmd().args(["show", "99"]).assert().code(3);

    let out = env.dir.path().join("backup.jsonl");
    env.cmd()
        .args(["export", "--reveal", "-o"])
        .arg(&out)
        .assert()
        .success();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let lines = std::fs::read_to_string(&out).unwrap();
    assert_eq!(lines.lines().count(), 12);
    assert!(lines.contains("\"refresh_token\":\"1000.refresh-12-abcdefghijkl\""));

    env.cmd().args(["delete", "7"]).assert().success();
    env.cmd().args(["show", "7"]).assert().code(3);
    env.cmd().args(["delete", "7"]).assert().code(3);
    env.cmd()
        .args(["purge", "--yes", "--force"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deleted 11"));
    assert_eq!(env.json(&["list"]).as_array().unwrap().len(), 0);
    assert!(Path::new(&out).exists());
}

#[test]
fn ids_list_in_order_bad_ids_are_usage_errors_and_a_missing_key_names_keygen() {
    let env = Env::new("cli-order");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();
    let listed: Vec<String> = env
        .json(&["list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let numeric: Vec<String> = (1..=12).map(|n| n.to_string()).collect();
    assert_eq!(listed, numeric, "1, 2, ..., 10, not 1, 10, 11, 12, 2");

    for command in ["show", "delete"] {
        env.cmd()
            .args([command, "O'Brien"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("ids may use"));
    }
    env.cmd()
        .env_remove("ZOHO_TOKEN_STORE_KEYS")
        .arg("list")
        .assert()
        .failure()
        .stderr(predicate::str::contains("zoho-token-store keygen"));
}

#[test]
fn reading_commands_stop_quietly_when_the_reader_goes_away() {
    let env = Env::new("cli-pipe");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();
    for args in [
        &["list"][..],
        &["list", "--json"],
        &["keys"],
        &["export", "--reveal"],
    ] {
        // `zoho-token-store list | head -0`: the reader is gone before the first line is written.
        let mut child = env
            .std_cmd()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn export_to_a_file_replaces_it_whole_and_never_writes_through_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("cli-export-file");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();
    let victim = env.file("victim.txt", "precious\n");
    let planted = env.dir.path().join("backup.jsonl");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();
    env.cmd()
        .args(["export", "--reveal", "-o"])
        .arg(&planted)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "precious\n",
        "the link's target is untouched"
    );
    let meta = std::fs::symlink_metadata(&planted).unwrap();
    assert!(
        meta.file_type().is_file(),
        "a new regular file, not the link"
    );
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "owner-only");
    assert_eq!(
        std::fs::read_to_string(&planted).unwrap().lines().count(),
        12
    );

    // An existing, longer file is replaced whole (no stale tail), still owner-only.
    let existing = env.file("old.jsonl", &"x".repeat(100_000));
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    env.cmd()
        .args(["export", "--reveal", "-o"])
        .arg(&existing)
        .assert()
        .success();
    let text = std::fs::read_to_string(&existing).unwrap();
    assert!(!text.contains("xxx") && text.lines().count() == 12);
    assert_eq!(
        std::fs::metadata(&existing).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn a_deleted_token_in_its_recovery_window_holds_retire_until_deleted_for_good() {
    let env = Env::new("cli-force-delete");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();
    env.cmd()
        .args(["delete", "7"])
        .assert()
        .success()
        .stdout(predicate::str::contains("recoverable for 7 days"));
    let rotated = Keyring::parse(&env.keys)
        .unwrap()
        .with_new_primary("k2", &[7; 32])
        .unwrap()
        .to_text()
        .to_string();
    let with_k2 = |args: &[&str]| {
        let mut cmd = env.cmd();
        cmd.env("ZOHO_TOKEN_STORE_KEYS", &rotated).args(args);
        cmd
    };
    with_k2(&["rotate", "--writes-per-second", "500"])
        .assert()
        .success();
    // The deleted token may be restored, and nothing tells which key it needs: retire waits.
    with_k2(&["retire", "k1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("recovery window"))
        .stderr(predicate::str::contains("zoho-token-store delete --force"));
    with_k2(&["delete", "--force", "7"])
        .assert()
        .success()
        .stdout(predicate::str::contains("deleted 7 for good"));
    with_k2(&["delete", "--force", "7"]).assert().code(3);
    with_k2(&["retire", "k1"]).assert().success();
    // A live token goes for good at once too.
    with_k2(&["delete", "--force", "8"]).assert().success();
    with_k2(&["show", "8"]).assert().code(3);
}

#[test]
fn keys_rotate_and_retire() {
    let env = Env::new("cli-keys");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();
    assert_eq!(env.json(&["keys"])["k1"], 12);

    // A new primary key first in the ring, the old one kept.
    let ring = Keyring::parse(&env.keys).unwrap();
    let rotated = ring.with_new_primary("k2", &[7; 32]).unwrap();
    let rotated = rotated.to_text().to_string();
    let with_k2 = |cmd: &mut Command| {
        cmd.env("ZOHO_TOKEN_STORE_KEYS", &rotated);
    };
    let mut cmd = env.cmd();
    with_k2(&mut cmd);
    cmd.args(["retire", "k1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("still encrypts 12 token(s)"))
        .stderr(predicate::str::contains("zoho-token-store rotate"));
    let mut cmd = env.cmd();
    with_k2(&mut cmd);
    cmd.args(["rotate", "--writes-per-second", "500"])
        .assert()
        .success()
        .stdout(predicate::str::contains("re-encrypted 12 of 12"))
        .stdout(predicate::str::contains("rerun").not());
    let mut cmd = env.cmd();
    with_k2(&mut cmd);
    let usage: Value = serde_json::from_slice(
        &cmd.args(["keys", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    )
    .unwrap();
    assert_eq!(usage, serde_json::json!({"k2": 12}));
    let mut cmd = env.cmd();
    with_k2(&mut cmd);
    cmd.args(["retire", "k1"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "remove `k1=...` from ZOHO_TOKEN_STORE_KEYS",
        ));
    let mut cmd = env.cmd();
    with_k2(&mut cmd);
    cmd.args(["retag"])
        .assert()
        .success()
        .stdout(predicate::str::contains("re-tagged 0 of 12"));
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_and_refresh_due_talk_to_zoho() {
    let zoho = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/v2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": "1000.fresh-access", "expires_in": 3600}),
        ))
        .mount(&zoho)
        .await;
    let env = Env::new("cli-refresh");
    let csv = format!(
        "{HEADER}\n1,due@example.com,1000.C,s,1000.refresh-1,1000.old,,1000,,\n2,fine@example.com,1000.C,s,1000.refresh-2,1000.ok,,1900000000000,,\n"
    );
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &csv))
        .assert()
        .success();
    let url = zoho.uri();
    let out = tokio::task::spawn_blocking(move || {
        let run = |args: Vec<&'static str>| {
            let mut cmd = env.cmd();
            cmd.env("ZOHO_ACCOUNTS_URL", &url).args(args);
            cmd
        };
        let due = run(vec!["refresh-due", "--within", "10m", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let one = run(vec!["refresh", "--user", "fine@example.com", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let missing = run(vec!["refresh", "--user", "nobody@example.com"])
            .assert()
            .get_output()
            .status
            .code();
        (due, one, missing)
    })
    .await
    .unwrap();
    let due: Value = serde_json::from_slice(&out.0).unwrap();
    assert_eq!(
        (due["examined"].as_u64(), due["refreshed"].as_u64()),
        (Some(2), Some(1))
    );
    let one: Value = serde_json::from_slice(&out.1).unwrap();
    assert_eq!(one["user_name"], "fine@example.com");
    let shown = one["access_token"].as_str().unwrap();
    assert!(
        shown.starts_with("[redacted]") && !shown.contains("fresh-access"),
        "refresh output stays redacted: {shown}"
    );
    assert_eq!(out.2, Some(3));
    assert_eq!(zoho.received_requests().await.unwrap().len(), 2);
}

/// A TCP proxy to LocalStack that lets `allowed` connections through, then refuses all others: the
/// service "stops" in the middle of a command run in another process. (LocalStack closes the
/// connection after every response, so each request is one connection.)
async fn proxy_that_stops_after(allowed: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let upstream = common::endpoint().trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        for _ in 0..allowed {
            let (mut inbound, _) = listener.accept().await.unwrap();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let mut outbound = tokio::net::TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
        // Dropping the listener: every later connection is refused.
    });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_cut_off_midway_loses_nothing_and_a_rerun_completes() {
    let env = Env::new("cli-import-outage");
    let file = env.file("t.csv", &twelve_rows());
    let endpoint = proxy_that_stops_after(14).await;
    let env = std::sync::Arc::new(env);
    let (cut, rerun, list) = tokio::task::spawn_blocking({
        let env = std::sync::Arc::clone(&env);
        move || {
            let cut = env
                .cmd()
                .env("AWS_ENDPOINT_URL", &endpoint)
                .env("AWS_MAX_ATTEMPTS", "1")
                .arg("import")
                .arg(&file)
                .assert()
                .code(1)
                .get_output()
                .clone();
            let rerun = env
                .cmd()
                .arg("import")
                .arg(&file)
                .assert()
                .success()
                .get_output()
                .stdout
                .clone();
            let list = env.json(&["list"]);
            (cut, rerun, list)
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8(cut.stderr).unwrap();
    // The import stops at the outage with one line, instead of failing every row after it.
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("stopped at row ") && stderr.contains("AWS") && stderr.contains("rerun"),
        "the outage is named once: {stderr}"
    );
    let first = String::from_utf8(cut.stdout).unwrap();
    let created_first: usize = first
        .split("created ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..12).contains(&created_first),
        "some rows landed before the cut: {first}"
    );
    assert!(
        first.contains("updated 0, unchanged 0, failed 0"),
        "the rows after the outage were not attempted: {first}"
    );
    let rerun = String::from_utf8(rerun).unwrap();
    assert!(
        rerun.contains(&format!(
            "created {}, updated 0, unchanged {created_first}, failed 0",
            12 - created_first
        )),
        "{rerun}"
    );
    assert_eq!(
        list.as_array().unwrap().len(),
        12,
        "every row imported once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_unreadable_secret_blocks_nothing_and_delete_removes_it() {
    let env = Env::new("cli-unreadable");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();
    // A foreign secret under the prefix, and a token of this store written under other keys.
    let foreign = format!("{}foreign1", env.prefix);
    common::client()
        .await
        .create_secret()
        .name(&foreign)
        .secret_string("not an envelope")
        .send()
        .await
        .unwrap();
    let other_keys = Keyring::parse(&Keyring::generate("k1").unwrap()).unwrap();
    let other = zoho_token_store::SecretsManagerStore::builder(common::client().await, other_keys)
        .prefix(&env.prefix)
        .build()
        .unwrap();
    // Saved by id: a save that looks the user up first would find this store's index key foreign.
    let mut stranger = common::token_for("wrong.key@example.com", "w").with_id("stranger");
    zoho_token_store::TokenStore::insert_token(&other, &mut stranger)
        .await
        .unwrap();
    let stranger_id = stranger.id.unwrap();

    // Whole-store commands do the rest, name each unreadable secret, and exit 1.
    let out = env.cmd().args(["list", "--json"]).assert().code(1);
    let listed: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(ids(&listed).len(), 12);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&foreign) && stderr.contains(&stranger_id),
        "{stderr}"
    );
    let out = env.cmd().args(["export", "--reveal"]).assert().code(1);
    assert_eq!(
        String::from_utf8_lossy(&out.get_output().stdout)
            .lines()
            .count(),
        12
    );

    let store = Arc::new(
        zoho_token_store::SecretsManagerStore::builder(
            common::client().await,
            Keyring::parse(&env.keys).unwrap(),
        )
        .prefix(&env.prefix)
        .build()
        .unwrap(),
    );
    let manager = zoho_token_store::TokenManager::builder(
        store,
        zoho_token_store::AccountsClient::with_base_url("http://127.0.0.1:9"),
    )
    .build()
    .unwrap();
    let report = manager.refresh_due(Duration::from_secs(60)).await.unwrap();
    assert_eq!(report.examined, 14, "{report:?}");
    let failed: Vec<_> = report.failed.iter().map(|(id, _)| id.clone()).collect();
    assert!(failed.contains(&Some(stranger_id.clone())), "{failed:?}");
    assert!(failed.contains(&Some("foreign1".into())), "{failed:?}");

    // The token this store cannot decrypt can still be deleted by id.
    env.cmd().args(["delete", &stranger_id]).assert().success();
    // Purge deletes every token of this store and names what it leaves (not this store's).
    env.cmd()
        .args(["purge", "--yes", "--force"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("deleted 12 token(s)"))
        .stderr(predicate::str::contains(&foreign));
}

#[test]
fn service_and_configuration_errors_are_one_line_that_names_the_fix() {
    let env = Env::new("cli-one-line");
    let one_line = |cmd: &mut assert_cmd::Command, wants: &[&str], retryable: bool| {
        let out = cmd.assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for want in wants {
            assert!(stderr.contains(want), "`{want}` in {stderr}");
        }
        assert_eq!(stderr.contains("retryable"), retryable, "{stderr}");
        assert!(!stderr.contains("Request {"), "{stderr}");
    };
    let mut unreachable = env.cmd();
    unreachable
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .arg("list");
    one_line(
        &mut unreachable,
        &["could not connect", "AWS_ENDPOINT_URL"],
        true,
    );
    let mut no_region = env.cmd();
    no_region
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .arg("list");
    one_line(&mut no_region, &["no AWS region", "AWS_REGION"], false);
    let mut no_credentials = env.cmd();
    no_credentials
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .arg("list");
    one_line(&mut no_credentials, &["no AWS credentials"], false);
    let mut not_a_url = env.cmd();
    not_a_url.env("AWS_ENDPOINT_URL", "notaurl").arg("list");
    one_line(&mut not_a_url, &["AWS_ENDPOINT_URL", "not a URL"], false);

    // An import meeting an outage stops at once with one line (here at its first call, the index-key
    // check; midway: `an_import_cut_off_midway_loses_nothing_and_a_rerun_completes`), and a rerun
    // completes.
    let file = env.file("five.csv", &{
        let mut csv = format!("{HEADER}\n");
        for n in 1..=5 {
            csv += &format!(
                "{n},o{n}@example.com,1000.C,s,1000.refresh-o{n},1000.access-o{n},,1900000000000,,\n"
            );
        }
        csv
    });
    let mut outage = env.cmd();
    outage
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .arg("import")
        .arg(&file);
    one_line(&mut outage, &["ListSecrets", "could not connect"], true);
    env.cmd()
        .arg("import")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 5"));
}

#[tokio::test]
async fn rebind_keyring_needs_a_keyring_secret_and_leaves_a_bound_one_alone() {
    let env = Env::new("cli-rebind");
    env.cmd()
        .arg("rebind-keyring")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--keyring-secret"));
    // A keyring this version created is bound already: nothing to do, and it still loads.
    // Outside the token prefix, as the README says.
    let keyring = format!("{}-keyring", env.prefix.trim_end_matches('/'));
    let kms_key = common::kms_key().await;
    zoho_token_store::SecretKeySource::new(common::client().await, &keyring)
        .with_kms(common::kms_client().await, &kms_key)
        .create("k1")
        .await
        .unwrap();
    let with_keyring = |args: &[&str]| {
        let mut cmd = env.keyring_cmd(&keyring, &kms_key);
        cmd.args(args);
        cmd
    };
    with_keyring(&["rebind-keyring"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to do"));
    with_keyring(&["keys"]).assert().success();
}

#[tokio::test]
async fn init_keyring_creates_a_keyring_secret_once_that_the_other_commands_read() {
    let env = Env::new("cli-init-keyring");
    env.cmd()
        .arg("init-keyring")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--keyring-secret"));
    let keyring = format!("{}-keyring", env.prefix.trim_end_matches('/'));
    let kms_key = common::kms_key().await;
    let with_keyring = |args: &[&str]| {
        let mut cmd = env.keyring_cmd(&keyring, &kms_key);
        cmd.args(args);
        cmd
    };
    with_keyring(&["init-keyring", "--key-id", "k7"])
        .assert()
        .success()
        .stdout(predicate::str::contains("created"));
    // Once: a second run refuses instead of replacing the keys tokens are encrypted with.
    with_keyring(&["init-keyring"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    let file = env.file(
        "one.csv",
        &format!("{}\n1,amy@example.com,1000.C,cs,refresh-amy,,,,,\n", HEADER),
    );
    with_keyring(&["import"]).arg(&file).assert().success();
    let keys = with_keyring(&["keys", "--json"]).assert().success();
    let usage: serde_json::Value = serde_json::from_slice(&keys.get_output().stdout).unwrap();
    assert_eq!(usage["k7"], 1, "{usage}");
}

#[test]
fn list_shows_a_refresh_token_zoho_refused_and_no_secret() {
    use zoho_token_store::{Keyring, SecretsManagerStore, TokenStore, ZohoRefusal};
    let env = Env::new("cli-refusal");
    env.cmd()
        .arg("import")
        .arg(env.file("t.csv", &twelve_rows()))
        .assert()
        .success();
    // What a TokenManager records when Zoho refuses token 7's refresh token.
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SecretsManagerStore::builder(
            common::client().await,
            Keyring::parse(&env.keys).unwrap(),
        )
        .prefix(&env.prefix)
        .build()
        .unwrap();
        let mut seven = store.find_token_by_id("7").await.unwrap().unwrap();
        seven.refusal = Some(ZohoRefusal::Revoked {
            at_ms: 1_900_000_000_000,
        });
        store.update_token(&seven).await.unwrap();
    });
    let table = String::from_utf8(
        env.cmd()
            .arg("list")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    let row = table
        .lines()
        .find(|l| l.contains("user7@example.com"))
        .unwrap();
    assert!(row.contains("revoked 2030-03-17T17:46:40Z"), "{table}");
    assert!(
        table.lines().filter(|l| l.contains("revoked")).count() == 1,
        "{table}"
    );
    assert!(!table.contains("refresh-7"), "no secrets in the list");
    let listed = env.json(&["list"]);
    let seven = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "7")
        .unwrap();
    assert_eq!(seven["zoho"], "revoked 2030-03-17T17:46:40Z", "{seven}");
}
