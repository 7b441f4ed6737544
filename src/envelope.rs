//! The encrypted form of a token, and the one seal and open of a token.
//!
//! The store, the benchmarks and the fuzz target all seal and open tokens here.
//!
//! ```text
//! offset  size  field
//! 0       3     magic "ZTS"
//! 3       1     format version (1)
//! 4       1     key id length L (1..=32)
//! 5       L     key id (ASCII)
//! 5+L     12    nonce (random)
//! 17+L    n+16  AES-256-GCM ciphertext of the token JSON, then the 16-byte tag
//! ```
//!
//! The associated data is the header (bytes `0..5+L`) followed by the secret's full name. Binding the
//! header stops a key id or version swap; binding the name means a ciphertext copied into another
//! token's secret fails to authenticate instead of impersonating that token.
//!
//! A secret's value is the envelope base64-encoded, as `SecretString` (see [`seal_token`]).

use aes_gcm::aead::{Aead, AeadCore, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keyring::Keyring;
use crate::token::OAuthToken;

/// Secrets Manager's largest secret value.
const MAX_VALUE_LEN: usize = 65_536;

const MAGIC: &[u8; 3] = b"ZTS";
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The secret value that holds `token` in the secret named `secret_name`: the token's JSON in an
/// envelope under the keyring's primary key, base64-encoded, as a
/// [`SecretsManagerStore`](crate::SecretsManagerStore) writes it. The token is sealed as given, id
/// included (the store writes each token with the id its secret's name ends with).
///
/// Kept as `SecretString` rather than `SecretBinary`: the bytes are the same envelope either way (the
/// service's JSON API carries binary as base64 too), and LocalStack 4.10, which the tests run on,
/// cannot return binary values from `BatchGetSecretValue` nor keep them intact through `PutSecretValue`.
///
/// # Errors
/// [`Error::InvalidToken`] when the value would be larger than the 64 KiB a secret holds.
pub fn seal_token(keyring: &Keyring, secret_name: &str, token: &OAuthToken) -> Result<String> {
    let value = BASE64.encode(seal(keyring, secret_name, &token.to_json()));
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::invalid_token(format!(
            "encrypted token is {} bytes; Secrets Manager holds at most {MAX_VALUE_LEN}: shorten its fields",
            value.len()
        )));
    }
    Ok(value)
}

/// The token in an envelope read from the secret named `secret_name` (a `SecretBinary` as it is, a
/// `SecretString` base64-decoded).
///
/// # Errors
/// [`Error::CorruptSecret`], [`Error::UnknownKeyId`] or [`Error::Decrypt`] as the envelope warrants.
pub fn open_token(keyring: &Keyring, secret_name: &str, envelope: &[u8]) -> Result<OAuthToken> {
    let json = open(keyring, secret_name, envelope)?;
    OAuthToken::from_json(&json)
        .map_err(|_| Error::corrupt(secret_name, "decrypted value is not a token"))
}

/// Encrypts `plaintext` for the secret `name` under the keyring's primary key.
fn seal(keyring: &Keyring, name: &str, plaintext: &[u8]) -> Vec<u8> {
    // A fresh random 96-bit nonce per write: safe for about 2^32 writes per key, far beyond what one key
    // sees here, and it needs no counter shared between processes (a repeated nonce under GCM would be
    // catastrophic, and serverless instances cannot coordinate a counter).
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    seal_with_nonce(keyring, name, plaintext, &nonce)
}

fn seal_with_nonce(
    keyring: &Keyring,
    name: &str,
    plaintext: &[u8],
    nonce: &Nonce<aes_gcm::aead::consts::U12>,
) -> Vec<u8> {
    let (key_id, cipher) = keyring.primary();
    let mut out = header(key_id);
    let aad = [out.as_slice(), name.as_bytes()].concat();
    // Encryption with a valid key and in-memory buffers cannot fail (aes-gcm errors only on lengths
    // beyond 2^36 bytes, far above the 64 KiB a secret can hold).
    let ciphertext = cipher
        .encrypt(
            nonce,
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .unwrap_or_default();
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ciphertext);
    out
}

fn header(key_id: &str) -> Vec<u8> {
    let mut h = Vec::with_capacity(5 + key_id.len() + NONCE_LEN);
    h.extend_from_slice(MAGIC);
    h.push(VERSION);
    // Key ids are at most 32 bytes (checked by the keyring), so the length fits one byte.
    h.push(key_id.len() as u8);
    h.extend_from_slice(key_id.as_bytes());
    h
}

/// The parsed header of an envelope.
struct Parsed<'a> {
    key_id: &'a str,
    header: &'a [u8],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

fn parse<'a>(name: &str, envelope: &'a [u8]) -> Result<Parsed<'a>> {
    let not_ours = || Error::corrupt(name, "not a zoho-token-store envelope");
    if envelope.len() < 5 || &envelope[..3] != MAGIC {
        return Err(not_ours());
    }
    if envelope[3] != VERSION {
        return Err(Error::corrupt(
            name,
            format!(
                "envelope format version {} is not one this crate reads (1); upgrade zoho-token-store",
                envelope[3]
            ),
        ));
    }
    let key_len = envelope[4] as usize;
    let header_end = 5 + key_len;
    if key_len == 0 || envelope.len() < header_end + NONCE_LEN + TAG_LEN {
        return Err(Error::corrupt(name, "envelope is truncated"));
    }
    let key_id = std::str::from_utf8(&envelope[5..header_end]).map_err(|_| not_ours())?;
    Ok(Parsed {
        key_id,
        header: &envelope[..header_end],
        nonce: &envelope[header_end..header_end + NONCE_LEN],
        ciphertext: &envelope[header_end + NONCE_LEN..],
    })
}

/// The key id an envelope names, without decrypting it.
///
/// # Errors
/// [`Error::CorruptSecret`] when `envelope` is not a readable envelope.
pub(crate) fn key_id<'a>(name: &str, envelope: &'a [u8]) -> Result<&'a str> {
    parse(name, envelope).map(|p| p.key_id)
}

/// Decrypts an envelope read from the secret `name`.
///
/// # Errors
/// [`Error::CorruptSecret`] for anything that is not an envelope, [`Error::UnknownKeyId`] when the
/// keyring lacks the key, [`Error::Decrypt`] when authentication fails (tampering, a moved ciphertext, or
/// a different key under the same id).
fn open(keyring: &Keyring, name: &str, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let p = parse(name, envelope)?;
    let cipher = keyring
        .cipher(p.key_id)
        .ok_or_else(|| Error::UnknownKeyId {
            secret: name.to_owned(),
            key_id: p.key_id.to_owned(),
        })?;
    let aad = [p.header, name.as_bytes()].concat();
    cipher
        .decrypt(
            Nonce::from_slice(p.nonce),
            Payload {
                msg: p.ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Decrypt {
            secret: name.to_owned(),
            key_id: p.key_id.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use aes_gcm::KeyInit;

    use super::*;

    const NAME: &str = "zoho/oauth/t1";
    const PLAIN: &[u8] = br#"{"refresh_token":"1000.r"}"#;

    fn ring() -> Keyring {
        Keyring::new("k1", &[1; 32], &[9; 32]).unwrap()
    }

    #[test]
    fn round_trip() {
        let env = seal(&ring(), NAME, PLAIN);
        assert_eq!(&*open(&ring(), NAME, &env).unwrap(), PLAIN);
        assert_eq!(parse(NAME, &env).unwrap().key_id, "k1");
        assert_eq!(env.len(), 5 + 2 + 12 + PLAIN.len() + 16);
    }

    #[test]
    fn nonces_are_fresh_per_write() {
        assert_ne!(seal(&ring(), NAME, PLAIN), seal(&ring(), NAME, PLAIN));
    }

    #[test]
    fn layout_is_plain_aes_gcm_as_documented() {
        // Decrypt by hand from the documented layout, with the aes-gcm crate directly: the format is
        // standard AES-256-GCM that any implementation can read with the key.
        let nonce = [7u8; 12];
        let env = seal_with_nonce(&ring(), NAME, PLAIN, Nonce::from_slice(&nonce));
        assert_eq!(&env[..7], b"ZTS\x01\x02k1");
        assert_eq!(&env[7..19], &nonce);
        let aad = [&env[..7], NAME.as_bytes()].concat();
        let plain = Aes256Gcm::new_from_slice(&[1; 32])
            .unwrap()
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &env[19..],
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(plain, PLAIN);
    }

    #[test]
    fn tampering_with_any_byte_fails() {
        let env = seal(&ring(), NAME, PLAIN);
        for i in 0..env.len() {
            let mut bad = env.clone();
            bad[i] ^= 0x01;
            let err = open(&ring(), NAME, &bad).unwrap_err();
            let expected = match i {
                0..=2 => matches!(err, Error::CorruptSecret { .. }), // magic
                3 => matches!(err, Error::CorruptSecret { .. }),     // version
                4 => matches!(
                    err,
                    Error::CorruptSecret { .. } | Error::UnknownKeyId { .. }
                ), // key id length
                5..=6 => matches!(err, Error::UnknownKeyId { .. }),  // key id
                _ => matches!(err, Error::Decrypt { .. }),           // nonce, ciphertext, tag
            };
            assert!(expected, "byte {i}: {err:?}");
        }
        // Truncation and extension fail too.
        assert!(open(&ring(), NAME, &env[..env.len() - 1]).is_err());
        assert!(open(&ring(), NAME, &[env.as_slice(), b"x"].concat()).is_err());
        assert!(open(&ring(), NAME, &env[..10]).is_err());
    }

    #[test]
    fn wrong_key_with_the_same_id_fails_and_names_secret_and_key() {
        let env = seal(&ring(), NAME, PLAIN);
        let other = Keyring::new("k1", &[2; 32], &[9; 32]).unwrap();
        let err = open(&other, NAME, &env).unwrap_err();
        assert!(
            matches!(&err, Error::Decrypt { secret, key_id } if secret == NAME && key_id == "k1"),
            "{err:?}"
        );
    }

    #[test]
    fn unknown_key_id_is_its_own_error() {
        let env = seal(&ring(), NAME, PLAIN);
        let other = Keyring::new("k2", &[1; 32], &[9; 32]).unwrap();
        assert!(matches!(
            open(&other, NAME, &env),
            Err(Error::UnknownKeyId { .. })
        ));
    }

    #[test]
    fn an_older_key_in_the_ring_still_decrypts() {
        let env = seal(&ring(), NAME, PLAIN);
        let rotated = Keyring::new("k2", &[2; 32], &[9; 32])
            .unwrap()
            .with_key("k1", &[1; 32])
            .unwrap();
        assert_eq!(&*open(&rotated, NAME, &env).unwrap(), PLAIN);
        assert_eq!(
            parse(NAME, &seal(&rotated, NAME, PLAIN)).unwrap().key_id,
            "k2"
        );
    }

    #[test]
    fn a_ciphertext_moved_to_another_name_fails() {
        let env = seal(&ring(), NAME, PLAIN);
        assert!(matches!(
            open(&ring(), "zoho/oauth/t2", &env),
            Err(Error::Decrypt { .. })
        ));
    }

    #[test]
    fn foreign_values_are_named_not_panicked_on() {
        for foreign in [&b""[..], b"{}", b"ZTS", b"ZTS\x02\x02k1", &[0xff; 40]] {
            let err = open(&ring(), NAME, foreign).unwrap_err();
            assert!(
                matches!(&err, Error::CorruptSecret { secret, .. } if secret == NAME),
                "{err:?}"
            );
        }
    }
}
