//! `zoho-token-store import` with files as the Zoho SDKs write them (fixtures made here): nothing is
//! lost or overwritten across files, apps and layouts, and a damaged line costs only itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cli::{Env, HEADER};
use predicates::prelude::*;
use serde_json::Value;

/// The SDK's current layout, ids 1..=n (every FileStore numbers its rows so), for `users`.
fn sdk_file(users: &[&str], tag: &str) -> String {
    let mut csv = format!("{HEADER}\n");
    for (n, user) in users.iter().enumerate() {
        csv += &format!(
            "{},{user},1000.CLIENT,secret-{tag},1000.refresh-{tag}-{n},1000.access-{tag}-{n},,1900000000000,https://app.example.com/cb,https://www.zohoapis.eu\n",
            n + 1
        );
    }
    csv
}

/// Every stored token, by user.
fn stored(env: &Env) -> Vec<Value> {
    let out = env
        .cmd()
        .args(["export", "--reveal"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let mut tokens: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    tokens.sort_by_key(|t| t["user_name"].as_str().unwrap_or_default().to_owned());
    tokens
}

fn field<'a>(tokens: &'a [Value], user: &str, name: &str) -> &'a Value {
    &tokens
        .iter()
        .find(|t| t["user_name"] == user)
        .unwrap_or_else(|| panic!("{user} is stored"))[name]
}

#[test]
fn a_second_apps_file_with_the_same_ids_never_overwrites_the_first() {
    let env = Env::new("import-second-app");
    let first = env.file(
        "app1.txt",
        &sdk_file(&["ann@a.example", "ben@a.example"], "a"),
    );
    env.cmd().arg("import").arg(&first).assert().success();

    // Another app's FileStore also numbers its users 1 and 2.
    let second = env.file(
        "app2.txt",
        &sdk_file(&["cat@b.example", "dan@b.example"], "b"),
    );
    env.cmd()
        .arg("import")
        .arg(&second)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "row 2: id `1` already holds another user's token",
        ))
        .stderr(predicate::str::contains("--new-ids"))
        .stdout(predicate::str::contains(
            "created 0, updated 0, unchanged 0, failed 2",
        ));
    let tokens = stored(&env);
    assert_eq!(tokens.len(), 2, "nothing of the first file was overwritten");
    assert_eq!(
        field(&tokens, "ann@a.example", "refresh_token"),
        "1000.refresh-a-0"
    );

    // Asked for, the second file's users get ids of their own; the first file's stay as they were.
    env.cmd()
        .args(["import", "--new-ids"])
        .arg(&second)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 2"));
    let tokens = stored(&env);
    assert_eq!(tokens.len(), 4);
    assert_eq!(field(&tokens, "ann@a.example", "id"), "1");
    assert_eq!(
        field(&tokens, "cat@b.example", "refresh_token"),
        "1000.refresh-b-0"
    );
    assert_ne!(field(&tokens, "cat@b.example", "id"), "1");
    // And re-importing either file changes nothing.
    for file in [&first, &second] {
        env.cmd()
            .args(["import", "--new-ids"])
            .arg(file)
            .assert()
            .success()
            .stdout(predicate::str::contains("unchanged 2, failed 0"));
    }
}

#[test]
fn the_same_users_from_another_layout_match_by_identity_not_by_id() {
    let env = Env::new("import-layouts");
    let current = env.file("sdk_tokens.txt", &sdk_file(&["alice@example.com"], "c"));
    env.cmd().arg("import").arg(&current).assert().success();

    // SDK 2.1 names its ids after the user; the same user must not become a second token.
    let v21 = env.file(
        "sdk21.csv",
        "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri\n\
         python_alice_us_b927,alice@example.com,1000.CLIENT,secret-c,1000.refresh-c-0,1000.access-c-0,,1900000000000,https://app.example.com/cb\n",
    );
    env.cmd()
        .arg("import")
        .arg(&v21)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 0"));
    let tokens = stored(&env);
    assert_eq!(tokens.len(), 1, "one token for alice");
    assert_eq!(field(&tokens, "alice@example.com", "id"), "1");
    for file in [&current, &v21] {
        env.cmd()
            .arg("import")
            .arg(file)
            .assert()
            .success()
            .stdout(predicate::str::contains("unchanged 1, failed 0"));
    }
}

#[test]
fn every_sdk_21_row_imports_and_an_id_no_secret_name_can_hold_is_mapped_and_given_back() {
    let env = Env::new("import-21-ids");
    // As SDK 2.1 writes them: ids made from the user's name, two of which no secret name can hold.
    let users = [
        ("python_alice_us_b927", "alice@example.com"),
        ("python_O'Brien_us_23bd", "o'brien@example.com"),
        ("python_józef.nowak_us_c654", "józef.nowak@example.com"),
        ("python_bob_us_1a2b", "bob@example.com"),
        ("python_carol_us_3c4d", "carol@example.com"),
        ("python_dan_us_5e6f", "dan@example.com"),
    ];
    let mut csv = "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri\n".to_owned();
    for (n, (id, user)) in users.iter().enumerate() {
        csv += &format!(
            "{id},{user},1000.CLIENT,secret-21,1000.refresh-21-{n},1000.access-21-{n},,1900000000000,https://app.example.com/cb\n"
        );
    }
    let file = env.file("sdk21.csv", &csv);

    env.cmd()
        .args(["import", "--dry-run"])
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "row 3: id `python_O'Brien_us_23bd` cannot name a secret; would get a new id",
        ))
        .stdout(predicate::str::contains(
            "would be: created 6, updated 0, unchanged 0, failed 0",
        ));
    let path = file.to_str().unwrap();
    let json_import = || env.json(&["import", path]);
    let report = json_import();
    assert_eq!(report["created"], 6, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    let mapped = report["mapped"].as_array().unwrap();
    assert_eq!(mapped.len(), 2, "{report}");
    assert_eq!(mapped[0]["row"], 3);
    assert_eq!(mapped[0]["from"], "python_O'Brien_us_23bd");
    assert_eq!(mapped[1]["from"], "python_józef.nowak_us_c654");

    let tokens = stored(&env);
    assert_eq!(tokens.len(), 6);
    for (id, user) in users {
        let (stored_id, source) = (
            field(&tokens, user, "id"),
            field(&tokens, user, "source_id"),
        );
        if id.contains(['\'', 'ó']) {
            // Stored under the id the report named; the file's id comes back with the export.
            let to = mapped.iter().find(|m| m["from"] == id).unwrap()["to"].clone();
            assert_eq!(*stored_id, to, "{user}");
            assert_eq!(source, id, "{user}");
        } else {
            assert_eq!(stored_id, id, "{user}");
            assert!(source.is_null(), "{user}");
        }
    }
    // Deterministic: a re-import maps to the same ids and changes nothing.
    let again = json_import();
    assert_eq!(again["unchanged"], 6, "{again}");
    assert_eq!(again["mapped"], report["mapped"], "{again}");
    assert_eq!(stored(&env), tokens);
}

#[test]
fn a_layout_without_a_column_never_erases_what_is_stored() {
    let env = Env::new("import-absent-columns");
    env.cmd()
        .arg("import")
        .arg(env.file("sdk_tokens.txt", &sdk_file(&["eve@example.com"], "e")))
        .assert()
        .success();
    // The original zcrmsdk layout has no client secret, redirect URL or API domain; a newer access
    // token arrives through it.
    let legacy = env.file(
        "zcrm_oauthtokens.txt",
        "user_mail,client_id,refresh_token,access_token,grant_token,expiry_time\n\
         eve@example.com,1000.CLIENT,1000.refresh-e-0,1000.access-NEW,,1900000000001\n",
    );
    env.cmd()
        .arg("import")
        .arg(&legacy)
        .assert()
        .success()
        .stdout(predicate::str::contains("updated 1"));
    let tokens = stored(&env);
    assert_eq!(
        field(&tokens, "eve@example.com", "access_token"),
        "1000.access-NEW"
    );
    assert_eq!(
        field(&tokens, "eve@example.com", "client_secret"),
        "secret-e"
    );
    assert_eq!(
        field(&tokens, "eve@example.com", "redirect_url"),
        "https://app.example.com/cb"
    );
    assert_eq!(
        field(&tokens, "eve@example.com", "api_domain"),
        "https://www.zohoapis.eu"
    );
    env.cmd()
        .arg("import")
        .arg(&legacy)
        .assert()
        .success()
        .stdout(predicate::str::contains("unchanged 1"));
}

#[test]
fn an_unterminated_quote_costs_its_own_line_only() {
    let env = Env::new("import-damaged-line");
    let mut csv = sdk_file(&["f1@example.com", "f2@example.com"], "f");
    csv += "3,\"f3@example.com,1000.CLIENT,secret-f,1000.refresh-f-2,1000.access-f-2,,1900000000000,https://app.example.com/cb,https://www.zohoapis.eu\n";
    for n in [4, 5] {
        csv += &format!(
            "{n},f{n}@example.com,1000.CLIENT,secret-f,1000.refresh-f-{n},1000.access-f-{n},,1900000000000,https://app.example.com/cb,https://www.zohoapis.eu\n"
        );
    }
    env.cmd()
        .arg("import")
        .arg(env.file("damaged.txt", &csv))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("row 4: unterminated quote"))
        .stdout(predicate::str::contains(
            "created 4, updated 0, unchanged 0, failed 1",
        ));
    let users: Vec<String> = stored(&env)
        .iter()
        .map(|t| t["user_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        users,
        [
            "f1@example.com",
            "f2@example.com",
            "f4@example.com",
            "f5@example.com"
        ],
        "the lines after the damaged one were imported"
    );
}

#[test]
fn an_empty_or_binary_file_is_one_clear_line() {
    let env = Env::new("import-empty-binary");
    for (name, contents) in [
        ("empty.txt", Vec::new()),
        ("header-only.txt", format!("{HEADER}\n").into_bytes()),
    ] {
        let file = env.file(name, "");
        std::fs::write(&file, contents).unwrap();
        let out = env.cmd().arg("import").arg(&file).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains("no token rows in"), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
    }
    let file = env.file("photo.jpg", "");
    let binary: Vec<u8> = (0..4096u32).map(|n| (n * 7919 % 256) as u8).collect();
    std::fs::write(&file, binary).unwrap();
    let out = env.cmd().arg("import").arg(&file).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("is not a Zoho token file: CSV, SQLite or JSON lines expected"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_keyring_whose_index_key_is_not_the_stores_is_named_not_taken_for_an_empty_store() {
    let env = Env::new("import-wrong-index");
    let users = [
        "ann@w.example",
        "ben@w.example",
        "cid@w.example",
        "dee@w.example",
    ];
    let file = env.file("sdk_tokens.txt", &sdk_file(&users, "w"));
    env.cmd().arg("import").arg(&file).assert().success();

    // Another store's keyring pointed at this prefix: every lookup would miss, and a dry run used to
    // promise "created 4".
    let wrong = zoho_token_store::Keyring::generate("k1")
        .unwrap()
        .to_string();
    let one_line = |args: &[&str]| {
        let out = env
            .cmd()
            .env("ZOHO_TOKEN_STORE_KEYS", &wrong)
            .args(args)
            .assert()
            .code(1);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.get_output().stdout).into_owned(),
            String::from_utf8_lossy(&out.get_output().stderr).into_owned(),
        );
        assert!(!stdout.contains("created"), "{stdout}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for want in ["index key", &env.prefix, "ZOHO_TOKEN_STORE_KEYS"] {
            assert!(stderr.contains(want), "`{want}` in {stderr}");
        }
        assert!(!stderr.contains(&wrong[3..20]), "no key text: {stderr}");
    };
    let path = file.to_str().unwrap();
    one_line(&["import", "--dry-run", path]);
    one_line(&["find", "--user", "ann@w.example"]);
    // With the store's own keyring, nothing is new.
    env.cmd()
        .args(["import", "--dry-run", path])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "would be: created 0, updated 0, unchanged 4",
        ));
}

/// The store the CLI of `env` imports into.
async fn store_of(env: &Env) -> zoho_token_store::SecretsManagerStore {
    zoho_token_store::SecretsManagerStore::builder(
        common::client().await,
        zoho_token_store::Keyring::parse(&env.keys).unwrap(),
    )
    .prefix(&env.prefix)
    .build()
    .unwrap()
}

/// One row of the SDK's current layout for `user` under `client`, expiring at `expiry`.
fn sdk_row(user: &str, client: &str, tag: &str, expiry: u64) -> String {
    format!(
        "{HEADER}\n1,{user},{client},secret-{tag},1000.refresh-{tag},1000.access-{tag},,{expiry},https://app.example.com/cb,https://www.zohoapis.eu\n"
    )
}

#[test]
fn another_apps_token_for_the_same_user_is_refused_by_name_and_the_first_stays() {
    let env = Env::new("import-other-client");
    let first = env.file(
        "app1.txt",
        &sdk_row("ann@example.com", "1000.CRM", "crm", 1_900_000_000_000),
    );
    env.cmd().arg("import").arg(&first).assert().success();

    // The same user signed in to a second app: its refresh token works for that client only.
    let second = env.file(
        "app2.txt",
        &sdk_row("ann@example.com", "1000.BOOKS", "books", 1_900_000_000_500),
    );
    env.cmd()
        .arg("import")
        .arg(&second)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "row 2: user `ann@example.com` is stored already for client id `1000.CRM`; this row is for \
             client id `1000.BOOKS`, another app: nothing written",
        ))
        .stderr(predicate::str::contains("--prefix"))
        .stdout(predicate::str::contains("updated 0"));
    let tokens = stored(&env);
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        field(&tokens, "ann@example.com", "refresh_token"),
        "1000.refresh-crm"
    );

    // The way out it names: the second app's tokens under a prefix of their own.
    let books = format!("{}-books/", env.prefix.trim_end_matches('/'));
    env.cmd()
        .args(["import", "--prefix", &books])
        .arg(&second)
        .assert()
        .success()
        .stdout(predicate::str::contains("created 1"));
    assert_eq!(
        field(&stored(&env), "ann@example.com", "refresh_token"),
        "1000.refresh-crm"
    );
}

#[test]
fn an_older_file_never_puts_back_older_tokens() {
    let env = Env::new("import-older-file");
    let old = env.file(
        "old.txt",
        &sdk_row("bo@example.com", "1000.CRM", "old", 1_900_000_000_000),
    );
    env.cmd().arg("import").arg(&old).assert().success();
    // The app refreshed since: a newer token is stored.
    let newer = env.file(
        "new.txt",
        &sdk_row("bo@example.com", "1000.CRM", "new", 1_900_000_003_600),
    );
    env.cmd()
        .arg("import")
        .arg(&newer)
        .assert()
        .success()
        .stdout(predicate::str::contains("updated 1"));

    // Importing the older file again: the stored token expires later, so it stays (not an error).
    env.cmd()
        .arg("import")
        .arg(&old)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "row 2: the stored token is newer (it expires later than the row); it stays",
        ))
        .stdout(predicate::str::contains(
            "created 0, updated 0, unchanged 0, kept 1 newer, failed 0",
        ));
    let report = env.json(&["import", old.to_str().unwrap()]);
    assert_eq!(report["kept"][0]["row"], 2, "{report}");
    let tokens = stored(&env);
    assert_eq!(
        field(&tokens, "bo@example.com", "access_token"),
        "1000.access-new"
    );
    assert_eq!(
        field(&tokens, "bo@example.com", "refresh_token"),
        "1000.refresh-new"
    );
}

#[test]
fn files_are_ordered_by_their_tokens_whatever_the_files_times() {
    let env = Env::new("import-token-order");
    let older = env.file(
        "older.txt",
        &sdk_row("cy@example.com", "1000.CRM", "older", 1_900_000_000_000),
    );
    let newer = env.file(
        "newer.txt",
        &sdk_row("cy@example.com", "1000.CRM", "newer", 1_900_000_003_600),
    );
    // The newer file was copied from a backup: its time says an hour ago, the older file's says now.
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&newer)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    env.cmd().arg("import").arg(&older).assert().success();
    env.cmd()
        .arg("import")
        .arg(&newer)
        .assert()
        .success()
        .stdout(predicate::str::contains("updated 1"));
    assert_eq!(
        field(&stored(&env), "cy@example.com", "access_token"),
        "1000.access-newer"
    );
    // The older file, touched now, still does not put its token back.
    std::fs::File::options()
        .write(true)
        .open(&older)
        .unwrap()
        .set_modified(std::time::SystemTime::now())
        .unwrap();
    env.cmd()
        .arg("import")
        .arg(&older)
        .assert()
        .success()
        .stdout(predicate::str::contains("it expires later than the row"));
    // Same expiry, other values: in doubt, the stored token stays, and the report says why.
    let tie = env.file(
        "tie.txt",
        &sdk_row("cy@example.com", "1000.CRM", "tie", 1_900_000_003_600),
    );
    env.cmd()
        .arg("import")
        .arg(&tie)
        .assert()
        .success()
        .stdout(predicate::str::contains("it expires when the row does"));
    assert_eq!(
        field(&stored(&env), "cy@example.com", "access_token"),
        "1000.access-newer"
    );
}

#[test]
fn reimporting_a_token_keeps_what_the_file_cannot_carry_and_reports_it_unchanged() {
    use zoho_token_store::{TokenStore, ZohoRefusal};
    let env = Env::new("import-keeps-refusal");
    let file = env.file(
        "t.txt",
        &sdk_row("di@example.com", "1000.CRM", "di", 1_900_000_000_000),
    );
    env.cmd().arg("import").arg(&file).assert().success();
    // Zoho throttled this refresh token meanwhile (what a TokenManager records on the stored token).
    let store = || store_of(&env);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mark = ZohoRefusal::Throttled {
        until_ms: 1_900_000_000_000,
    };
    let id = runtime.block_on(async {
        let store = store().await;
        let mut token = store
            .find_token(&zoho_token_store::OAuthToken::default().with_user_name("di@example.com"))
            .await
            .unwrap()
            .unwrap();
        token.refusal = Some(mark);
        store.update_token(&token).await.unwrap();
        token.id.unwrap()
    });
    env.cmd()
        .arg("import")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "created 0, updated 0, unchanged 1, failed 0",
        ));
    let kept = runtime.block_on(async { store().await.find_token_by_id(&id).await.unwrap() });
    assert_eq!(kept.unwrap().refusal, Some(mark));
}

/// A row naming no user is matched by its client and refresh token; the stored token the SDK has named
/// since keeps its user when a newer copy of the row is imported (the row updates it, not refused as a
/// token naming no user over a named one).
#[test]
fn a_row_naming_no_user_updates_its_token_named_since_and_keeps_the_name() {
    use zoho_token_store::{OAuthToken, TokenStore};
    let env = Env::new("import-unnamed-row");
    let first = env.file("t1.txt", &sdk_row("", "1000.CRM", "ed", 1_900_000_000_000));
    env.cmd().arg("import").arg(&first).assert().success();
    let store = || store_of(&env);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The SDK names the token on its first save.
    let id = runtime.block_on(async {
        let store = store().await;
        let [mut token] = <[OAuthToken; 1]>::try_from(store.get_tokens().await.unwrap()).unwrap();
        assert_eq!(token.user_name, None);
        token.user_name = Some("ed@example.com:6001".into());
        store.update_token(&token).await.unwrap();
        token.id.unwrap()
    });
    let newer = env.file("t2.txt", &sdk_row("", "1000.CRM", "ed", 1_900_000_100_000));
    env.cmd()
        .arg("import")
        .arg(&newer)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "created 0, updated 1, unchanged 0, failed 0",
        ));
    let kept = runtime
        .block_on(async { store().await.find_token_by_id(&id).await.unwrap() })
        .unwrap();
    assert_eq!(kept.user_name.as_deref(), Some("ed@example.com:6001"));
    assert_eq!(kept.expires_at_ms, Some(1_900_000_100_000));
}
