//! Key material: the data keys that encrypt tokens, and the separate key behind the lookup indexes.
//!
//! See [`Keyring`] for the model and the text format.

use std::fmt;

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The environment variable [`Keyring::from_env`] reads.
pub const KEYS_ENV_VAR: &str = "ZOHO_TOKEN_STORE_KEYS";

/// Bytes in every key (AES-256 data keys and the index key alike).
pub const KEY_LEN: usize = 32;

/// Longest accepted key id. Key ids appear in every envelope header, so they are kept short.
pub const MAX_KEY_ID_LEN: usize = 32;

const INDEX_ENTRY: &str = "index";

// HKDF info: binds the derived HMAC key to this one purpose and format version.
const INDEX_HKDF_INFO: &[u8] = b"zoho-token-store/v1 lookup-index hmac-sha256";

/// Data keys and the lookup-index key. `Debug` shows key ids only.
///
/// A keyring holds one or more AES-256 data keys, each with an id, and names one of them primary: every
/// new write uses the primary key, and every key in the ring still decrypts what it wrote (the Tink
/// rotation model). The index key is separate material, so rotating data keys never moves the indexes,
/// and it goes through HKDF before use so it serves only as an HMAC key.
///
/// # Text format
/// For environment variables ([`Keyring::from_env`] reads `ZOHO_TOKEN_STORE_KEYS`): comma-separated
/// `name=base64` entries, each base64 (standard alphabet, padded) encoding exactly 32 random bytes. The
/// entry named `index` is the index key; every other entry is a data key, and the FIRST data key listed
/// is primary:
///
/// ```text
/// index=3q2+7w...=,k2=q83vEj...=,k1=ZmFrZS...=
/// ```
///
/// [`Keyring::generate`] makes a fresh one.
#[derive(Clone)]
pub struct Keyring {
    // (id, cipher); the first entry is primary. A handful of keys at most, so a Vec beats a map.
    keys: Vec<(String, Aes256Gcm)>,
    index: Hmac<Sha256>,
}

impl Keyring {
    /// A keyring with one data key, which is primary, and the index key, both as raw bytes.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a key is not exactly 32 bytes or the key id is not 1 to 32 of
    /// ASCII letters, digits, `.`, `_` and `-` (or is the reserved `index`).
    pub fn new(primary_id: &str, primary_key: &[u8], index_key: &[u8]) -> Result<Self> {
        check_key_id(primary_id)?;
        Ok(Self {
            keys: vec![(primary_id.to_owned(), data_cipher(primary_id, primary_key)?)],
            index: index_mac(index_key)?,
        })
    }

    /// Adds an older data key that still decrypts what it wrote but is not used for new writes.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad key id or length, or a key id already in the ring.
    pub fn with_key(mut self, id: &str, key: &[u8]) -> Result<Self> {
        check_key_id(id)?;
        if self.cipher(id).is_some() {
            return Err(Error::invalid_config(format!(
                "key id `{id}` appears twice in the keyring"
            )));
        }
        self.keys.push((id.to_owned(), data_cipher(id, key)?));
        Ok(self)
    }

    /// Parses the [text format](Keyring#text-format).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the entry that is malformed, a missing `index` entry, or a keyring
    /// with no data key. Key material never appears in the message.
    pub fn parse(text: &str) -> Result<Self> {
        let mut index: Option<Zeroizing<Vec<u8>>> = None;
        let mut data: Vec<(&str, Zeroizing<Vec<u8>>)> = Vec::new();
        for (n, entry) in text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let Some((name, b64)) = entry.split_once('=') else {
                return Err(Error::invalid_config(format!(
                    "keyring entry {} has no `=`; write entries as name=base64",
                    n + 1
                )));
            };
            let name = name.trim();
            let bytes = Zeroizing::new(BASE64.decode(b64.trim()).map_err(|_| {
                Error::invalid_config(format!(
                    "keyring entry `{name}` is not valid base64 (standard, padded)"
                ))
            })?);
            if name == INDEX_ENTRY {
                if index.replace(bytes).is_some() {
                    return Err(Error::invalid_config(
                        "keyring has two `index` entries; keep one",
                    ));
                }
            } else {
                data.push((name, bytes));
            }
        }
        let index = index.ok_or_else(|| {
            Error::invalid_config(
                "keyring has no `index=` entry; add the lookup-index key (see Keyring::generate)",
            )
        })?;
        let mut data = data.into_iter();
        let (primary_id, primary_key) = data.next().ok_or_else(|| {
            Error::invalid_config("keyring has no data key; add an entry such as k1=<base64>")
        })?;
        data.try_fold(
            Self::new(primary_id, &primary_key, &index)?,
            |ring, (id, key)| ring.with_key(id, &key),
        )
    }

    /// Reads the keyring from the `ZOHO_TOKEN_STORE_KEYS` environment variable.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the variable is unset or malformed.
    pub fn from_env() -> Result<Self> {
        Self::from_env_var(KEYS_ENV_VAR)
    }

    /// Reads the keyring from the named environment variable.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the variable is unset, not UTF-8, or malformed.
    pub fn from_env_var(name: &str) -> Result<Self> {
        let text = Zeroizing::new(std::env::var(name).map_err(|_| {
            Error::invalid_config(format!(
                "environment variable {name} is not set (or not UTF-8); see Keyring::generate"
            ))
        })?);
        Self::parse(&text)
    }

    /// A fresh keyring in the [text format](Keyring#text-format): a new index key and one data key with id
    /// `primary_id`. The returned string holds key material: treat it as a secret.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad key id.
    pub fn generate(primary_id: &str) -> Result<Zeroizing<String>> {
        check_key_id(primary_id)?;
        Ok(Zeroizing::new(format!(
            "index={},{primary_id}={}",
            &*random_key_b64(),
            &*random_key_b64()
        )))
    }

    /// The id of the key every new write uses.
    pub fn primary_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Every key id in the ring, primary first.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    pub(crate) fn primary(&self) -> (&str, &Aes256Gcm) {
        let (id, cipher) = &self.keys[0];
        (id, cipher)
    }

    pub(crate) fn cipher(&self, id: &str) -> Option<&Aes256Gcm> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, c)| c)
    }

    /// HMAC-SHA256 under the index key of `domain`, a zero byte, and `value`. The domain keeps the
    /// indexes apart: a refresh token and a user name with the same text never share a digest.
    pub(crate) fn index_digest(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = self.index.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary_key_id())
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// A fresh random 32-byte key, base64-encoded (the text format's encoding).
pub(crate) fn random_key_b64() -> Zeroizing<String> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(&mut *key);
    Zeroizing::new(BASE64.encode(*key))
}

fn check_key_id(id: &str) -> Result<()> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !ok_chars {
        return Err(Error::invalid_config(format!(
            "key id `{}` must be 1 to {MAX_KEY_ID_LEN} of ASCII letters, digits, '.', '_' and '-'",
            id.escape_default()
        )));
    }
    if id == INDEX_ENTRY {
        return Err(Error::invalid_config(
            "`index` is reserved for the lookup-index key; name the data key otherwise",
        ));
    }
    Ok(())
}

fn check_len(what: &str, key: &[u8]) -> Result<()> {
    if key.len() != KEY_LEN {
        return Err(Error::invalid_config(format!(
            "{what} must be exactly {KEY_LEN} bytes, got {}",
            key.len()
        )));
    }
    Ok(())
}

fn data_cipher(id: &str, key: &[u8]) -> Result<Aes256Gcm> {
    check_len(&format!("data key `{id}`"), key)?;
    Aes256Gcm::new_from_slice(key)
        .map_err(|_| Error::invalid_config("data key has the wrong length"))
}

fn index_mac(index_key: &[u8]) -> Result<Hmac<Sha256>> {
    check_len("the index key", index_key)?;
    let mut derived = Zeroizing::new([0u8; KEY_LEN]);
    Hkdf::<Sha256>::new(None, index_key)
        .expand(INDEX_HKDF_INFO, &mut *derived)
        .map_err(|_| Error::invalid_config("index key derivation failed"))?;
    <Hmac<Sha256> as Mac>::new_from_slice(&*derived)
        .map_err(|_| Error::invalid_config("index key derivation failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: [u8; 32] = [1; 32];
    const IDX: [u8; 32] = [9; 32];

    #[test]
    fn parse_reads_primary_first_and_older_keys() {
        let text = format!(
            "index={}, k2={} ,k1={}",
            BASE64.encode(IDX),
            BASE64.encode([2u8; 32]),
            BASE64.encode(K1)
        );
        let ring = Keyring::parse(&text).unwrap();
        assert_eq!(ring.primary_key_id(), "k2");
        assert_eq!(ring.key_ids().collect::<Vec<_>>(), ["k2", "k1"]);
        // The same index key gives the same digests whatever the data keys are.
        let other = Keyring::new("k9", &[7; 32], &IDX).unwrap();
        assert_eq!(
            ring.index_digest("user", "a"),
            other.index_digest("user", "a")
        );
        assert_ne!(
            ring.index_digest("user", "a"),
            ring.index_digest("refresh", "a")
        );
    }

    #[test]
    fn generate_round_trips_through_parse() {
        let text = Keyring::generate("k1").unwrap();
        let ring = Keyring::parse(&text).unwrap();
        assert_eq!(ring.primary_key_id(), "k1");
    }

    #[test]
    fn parse_errors_say_what_to_fix_and_never_echo_material() {
        let secret_b64 = BASE64.encode([5u8; 32]);
        let cases = [
            (format!("k1={secret_b64}"), "no `index=` entry"),
            (format!("index={secret_b64}"), "no data key"),
            (format!("index={secret_b64},k1"), "has no `=`"),
            (
                format!("index={secret_b64},k1=not*base64"),
                "not valid base64",
            ),
            (
                format!("index={secret_b64},k1={}", BASE64.encode([1u8; 16])),
                "exactly 32 bytes, got 16",
            ),
            (
                format!("index={secret_b64},k1={secret_b64},k1={secret_b64}"),
                "appears twice",
            ),
            (
                format!("index={secret_b64},bad id={secret_b64}"),
                "must be 1 to 32",
            ),
            (
                format!("index={secret_b64},index={secret_b64},k1={secret_b64}"),
                "two `index`",
            ),
        ];
        for (text, want) in cases {
            let err = Keyring::parse(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
            assert!(
                !err.contains(&secret_b64[..20]),
                "key material leaked: {err}"
            );
        }
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = Keyring::new("k1", &K1, &IDX)
            .unwrap()
            .with_key("k0", &[3; 32])
            .unwrap();
        let shown = format!("{ring:?}");
        assert_eq!(
            shown,
            r#"Keyring { primary: "k1", key_ids: ["k1", "k0"], .. }"#
        );
    }

    #[test]
    fn from_env_var_reports_a_missing_variable() {
        let err = Keyring::from_env_var("ZTS_TEST_SURELY_UNSET_VARIABLE")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ZTS_TEST_SURELY_UNSET_VARIABLE is not set"),
            "{err}"
        );
    }
}
