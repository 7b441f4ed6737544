//! What encryption costs per token: the store's envelope (serialize + AES-256-GCM + header) and its
//! reverse, next to raw AES-256-GCM on the same bytes. Run: `cargo bench --bench crypto`.
#![allow(clippy::unwrap_used, missing_docs)]

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use zoho_token_store::{Keyring, OAuthToken, open_token, seal_token};

fn token() -> OAuthToken {
    OAuthToken::default()
        .with_id("u0123456789abcdef0123456789abcdef")
        .with_user_name("alice@example.com:700000123")
        .with_client(
            "1000.ABCDEFGHIJKLMNOPQRSTUVWXYZ0123",
            "0123456789abcdef0123456789abcdef0123456789",
        )
        .with_refresh_token(
            "1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef",
        )
        .with_access_token(
            "1000.fedcba9876543210fedcba9876543210.fedcba9876543210fedcba9876543210",
            1_900_000_000_000,
        )
        .with_redirect_url("https://app.example.com/oauth/callback")
        .with_api_domain("https://www.zohoapis.com")
}

fn bench(c: &mut Criterion) {
    let ring = Keyring::new("k1", &[1; 32], &[2; 32]).unwrap();
    let name = "zoho/oauth/u0123456789abcdef0123456789abcdef";
    let t = token();
    let envelope = BASE64.decode(seal_token(&ring, name, &t).unwrap()).unwrap();
    let json = t.to_json().to_vec();
    let raw = Aes256Gcm::new_from_slice(&[1; 32]).unwrap();
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let sealed = raw.encrypt(&nonce, json.as_slice()).unwrap();

    let mut group = c.benchmark_group("one token");
    // What the store writes: the envelope, base64-encoded as the secret's value.
    group.bench_function("serialize + encrypt + base64 (secret value)", |b| {
        b.iter(|| seal_token(&ring, black_box(name), black_box(&t)).unwrap())
    });
    group.bench_function("decrypt + parse (envelope)", |b| {
        b.iter(|| open_token(&ring, black_box(name), black_box(&envelope)).unwrap())
    });
    group.bench_function("raw AES-256-GCM encrypt (same JSON bytes)", |b| {
        b.iter(|| {
            raw.encrypt(
                &Aes256Gcm::generate_nonce(&mut OsRng),
                black_box(json.as_slice()),
            )
            .unwrap()
        })
    });
    group.bench_function("raw AES-256-GCM decrypt (same JSON bytes)", |b| {
        b.iter(|| {
            raw.decrypt(Nonce::from_slice(&nonce), black_box(sealed.as_slice()))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
