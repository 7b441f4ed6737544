//! What the service holds: the documented envelope and digest tags, never a plaintext secret; tampered,
//! moved and wrongly keyed values fail by name.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use zoho_token_store::{Error, Keyring, OAuthToken, SecretsManagerStore, TokenStore};

use super::saved;
use crate::common::{client, store, token_for};

#[tokio::test]
async fn tampered_and_moved_values_fail_naming_the_secret() {
    let store = store("tamper").await;
    let a = saved(&store, token_for("judy@example.com", "j")).await;
    let b = saved(&store, token_for("kyle@example.com", "k")).await;
    let (name_a, name_b) = (
        store.secret_name(a.id.as_deref().unwrap()).unwrap(),
        store.secret_name(b.id.as_deref().unwrap()).unwrap(),
    );
    let raw = client().await;
    let value = |name: String| {
        let raw = raw.clone();
        async move {
            raw.get_secret_value()
                .secret_id(name)
                .send()
                .await
                .unwrap()
                .secret_string()
                .unwrap()
                .to_owned()
        }
    };

    // One flipped bit in the ciphertext.
    let mut bytes = BASE64.decode(value(name_a.clone()).await).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 1;
    raw.put_secret_value()
        .secret_id(&name_a)
        .secret_string(BASE64.encode(&bytes))
        .send()
        .await
        .unwrap();
    let err = store
        .find_token_by_id(a.id.as_deref().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { secret, key_id } if *secret == name_a && key_id == "k1"),
        "{err:?}"
    );
    let err = store.get_tokens().await.unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { secret, .. } if *secret == name_a),
        "{err:?}"
    );

    // B's intact value copied into A's secret: authentic bytes, wrong name.
    raw.put_secret_value()
        .secret_id(&name_a)
        .secret_string(value(name_b).await)
        .send()
        .await
        .unwrap();
    let err = store
        .find_token(&OAuthToken::default().with_user_name("judy@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { secret, .. } if *secret == name_a),
        "{err:?}"
    );
}

#[tokio::test]
async fn wrong_unknown_and_rotated_keys() {
    let store = store("keys").await;
    let t = saved(&store, token_for("lena@example.com", "l")).await;
    let id = t.id.as_deref().unwrap();
    let raw = client().await;
    let with = |ring: Keyring| {
        SecretsManagerStore::builder(raw.clone(), ring)
            .prefix(store.prefix())
            .build()
            .unwrap()
    };

    let wrong = with(Keyring::new("k1", &[0x22; 32], &[0x99; 32]).unwrap());
    let err = wrong.find_token_by_id(id).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decrypt { key_id, .. } if key_id == "k1"),
        "{err:?}"
    );

    let unknown = with(Keyring::new("k2", &[0x22; 32], &[0x99; 32]).unwrap());
    let err = unknown.find_token_by_id(id).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnknownKeyId { key_id, .. } if key_id == "k1"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("add that key to the keyring"),
        "{err}"
    );

    // A rotated ring (new primary k2, old k1 kept) reads the old token and writes under k2.
    let rotated = with(
        Keyring::new("k2", &[0x22; 32], &[0x99; 32])
            .unwrap()
            .with_key("k1", &[0x11; 32])
            .unwrap(),
    );
    let mut found = rotated
        .find_token(&OAuthToken::default().with_user_name("lena@example.com"))
        .await
        .unwrap()
        .unwrap();
    rotated.save_token(&mut found).await.unwrap();
    let value = raw
        .get_secret_value()
        .secret_id(store.secret_name(id).unwrap())
        .send()
        .await
        .unwrap();
    let envelope = BASE64.decode(value.secret_string().unwrap()).unwrap();
    assert_eq!(
        &envelope[..7],
        b"ZTS\x01\x02k2",
        "re-saved under the primary key"
    );
    assert!(
        matches!(
            store.find_token_by_id(id).await,
            Err(Error::UnknownKeyId { .. })
        ),
        "k1-only ring cannot read it"
    );
}

#[tokio::test]
async fn the_service_never_sees_a_plaintext_token_secret_or_user() {
    let store = store("scan").await;
    let secrets = [
        "SEKRET1-refresh",
        "SEKRET2-access",
        "SEKRET3-grant",
        "SEKRET4-client",
    ];
    let users = ["pii.person@example.com", "other.pii@example.com"];
    for (n, user) in users.iter().enumerate() {
        let mut t = OAuthToken::default()
            .with_user_name(*user)
            .with_client("1000.CLIENTID", format!("{}{n}", secrets[3]))
            .with_refresh_token(format!("{}{n}", secrets[0]))
            .with_access_token(format!("{}{n}", secrets[1]), 1)
            .with_grant_token(format!("{}{n}", secrets[2]));
        store.save_token(&mut t).await.unwrap();
    }
    let mut loose = token_for("x", "SEKRET5");
    loose.user_name = None;
    saved(&store, loose).await;
    store
        .delete_token(&store.get_tokens().await.unwrap()[0].id.clone().unwrap())
        .await
        .unwrap();

    let raw = client().await;
    let mut seen = String::new();
    // Filtered by name: paging through every secret of a LocalStack that other tests are changing can
    // skip entries.
    let mut pages = raw
        .list_secrets()
        .include_planned_deletion(true)
        .filters(
            aws_sdk_secretsmanager::types::Filter::builder()
                .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                .values(store.prefix())
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for s in page.unwrap().secret_list() {
            let name = s.name().unwrap();
            if !name.starts_with(store.prefix()) {
                continue;
            }
            seen += &format!("{name} {:?} {:?}\n", s.description(), s.tags());
            let d = raw.describe_secret().secret_id(name).send().await.unwrap();
            seen += &format!("{:?} {:?}\n", d.description(), d.tags());
            if d.deleted_date().is_none() {
                let v = raw.get_secret_value().secret_id(name).send().await.unwrap();
                let value = v.secret_string().unwrap();
                seen += value;
                // Tokens hold base64 envelopes; a lookup bridge holds a token id.
                if !name[store.prefix().len()..].contains('/') {
                    seen += &String::from_utf8_lossy(&BASE64.decode(value).unwrap());
                }
            }
        }
    }
    assert!(
        seen.matches("zts:user").count() >= 2,
        "the scan saw the secrets: {seen}"
    );
    for needle in ["SEKRET", "pii.person", "other.pii", "example.com"] {
        assert!(
            !seen.contains(needle),
            "`{needle}` is visible to the service:\n{seen}"
        );
    }
}

#[tokio::test]
async fn stored_value_is_the_documented_envelope_with_digest_tags() {
    let store = store("layout").await;
    let t = saved(&store, token_for("olga@example.com", "o")).await;
    let name = store.secret_name(t.id.as_deref().unwrap()).unwrap();
    assert!(name.starts_with(store.prefix()) && name.ends_with(t.id.as_deref().unwrap()));
    let raw = client().await;
    let value = raw
        .get_secret_value()
        .secret_id(&name)
        .send()
        .await
        .unwrap();
    let envelope = BASE64.decode(value.secret_string().unwrap()).unwrap();
    assert_eq!(&envelope[..7], b"ZTS\x01\x02k1");
    let tags = raw
        .describe_secret()
        .secret_id(&name)
        .send()
        .await
        .unwrap()
        .tags()
        .to_vec();
    let mut keys: Vec<_> = tags.iter().map(|t| t.key().unwrap().to_owned()).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "zoho-token-store",
            "zts:access",
            "zts:check",
            "zts:grant",
            "zts:prefix",
            "zts:refresh",
            "zts:user"
        ]
    );
    let prefix_tag = tags.iter().find(|t| t.key() == Some("zts:prefix")).unwrap();
    assert_eq!(prefix_tag.value(), Some(store.prefix()));
    let check = tags.iter().find(|t| t.key() == Some("zts:check")).unwrap();
    assert_eq!(check.value().unwrap().len(), 32);
    for tag in tags.iter().filter(|t| {
        !matches!(
            t.key(),
            Some("zoho-token-store" | "zts:prefix" | "zts:check")
        )
    }) {
        let v = tag.value().unwrap();
        assert!(
            v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()),
            "{v}"
        );
    }
}
