//! Key material: the data keys that encrypt tokens, and the separate key behind the lookup indexes.
//!
//! See [`Keyring`] for the model and the text format.

use std::fmt;
use std::sync::Arc;

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::env::KEYS_ENV_VAR;
use crate::error::{Error, Result};

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
    // The first entry is primary. A handful of keys at most, so a Vec beats a map.
    // Shared, copied on write: a store clones its keyring for every operation, and the builder-style
    // changes below are rare. Clones cost two reference counts, not the AES key schedules.
    keys: Arc<Vec<DataKey>>,
    // The first entry is current; the others are previous index keys, still tried by lookups while
    // an index-key rotation re-tags the store.
    index: Arc<Vec<IndexKey>>,
}

/// One AES-256 data key. The raw material is kept (zeroized on drop) so the ring can be saved or
/// wrapped by a [`KeySource`](crate::KeySource).
#[derive(Clone)]
struct DataKey {
    id: String,
    material: Zeroizing<[u8; KEY_LEN]>,
    cipher: Aes256Gcm,
}

#[derive(Clone)]
struct IndexKey {
    material: Zeroizing<[u8; KEY_LEN]>,
    mac: Hmac<Sha256>,
}

impl Keyring {
    /// A keyring with one data key, which is primary, and the index key, both as raw bytes.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when a key is not exactly 32 bytes or the key id is not 1 to 32 of
    /// ASCII letters, digits, `.`, `_` and `-` (or is the reserved `index`).
    pub fn new(primary_id: &str, primary_key: &[u8], index_key: &[u8]) -> Result<Self> {
        Ok(Self {
            keys: Arc::new(vec![DataKey::new(primary_id, primary_key)?]),
            index: Arc::new(vec![IndexKey::new(index_key)?]),
        })
    }

    /// Adds an older data key that still decrypts what it wrote but is not used for new writes.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad key id or length, or a key id already in the ring.
    pub fn with_key(mut self, id: &str, key: &[u8]) -> Result<Self> {
        let key = self.fresh(id, key)?;
        Arc::make_mut(&mut self.keys).push(key);
        Ok(self)
    }

    /// Adds a new data key and makes it primary: every new write uses it, and the previous primary
    /// still decrypts what it wrote. Step one of a key rotation.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad key id or length, or a key id already in the ring.
    pub fn with_new_primary(mut self, id: &str, key: &[u8]) -> Result<Self> {
        let key = self.fresh(id, key)?;
        Arc::make_mut(&mut self.keys).insert(0, key);
        Ok(self)
    }

    /// Removes a data key that no token uses any more (see
    /// [`SecretsManagerStore::retire_key`](crate::SecretsManagerStore::retire_key)).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the key is the primary or not in the ring.
    pub fn without_key(mut self, id: &str) -> Result<Self> {
        if self.primary_key_id() == id {
            return Err(Error::invalid_config(format!(
                "key `{id}` is primary; make another key primary before retiring it"
            )));
        }
        let before = self.keys.len();
        Arc::make_mut(&mut self.keys).retain(|k| k.id != id);
        if self.keys.len() == before {
            return Err(Error::invalid_config(format!(
                "key `{id}` is not in the keyring"
            )));
        }
        Ok(self)
    }

    /// Makes `index_key` the current lookup-index key and keeps the old one as previous, so lookups
    /// find tokens tagged under either while
    /// [`SecretsManagerStore::retag`](crate::SecretsManagerStore::retag) moves every tag to the new key.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] when the key is not 32 bytes.
    pub fn with_new_index_key(mut self, index_key: &[u8]) -> Result<Self> {
        Arc::make_mut(&mut self.index).insert(0, IndexKey::new(index_key)?);
        Ok(self)
    }

    /// Drops every previous index key: the last step of an index-key rotation, once the store is
    /// re-tagged.
    pub fn without_previous_index_keys(mut self) -> Self {
        Arc::make_mut(&mut self.index).truncate(1);
        self
    }

    /// How many index keys the ring holds (1 unless an index-key rotation is under way).
    pub fn index_key_count(&self) -> usize {
        self.index.len()
    }

    /// The keyring in the [text format](Keyring#text-format). It holds key material: treat it as a
    /// secret.
    pub fn to_text(&self) -> Zeroizing<String> {
        let index =
            (self.index.iter()).map(|k| format!("{INDEX_ENTRY}={}", BASE64.encode(*k.material)));
        let keys = (self.keys.iter()).map(|k| format!("{}={}", k.id, BASE64.encode(*k.material)));
        Zeroizing::new(index.chain(keys).collect::<Vec<_>>().join(","))
    }

    /// Builds a ring from raw material: index keys current first, data keys primary first.
    pub(crate) fn from_material(index: &[&[u8]], keys: &[(&str, &[u8])]) -> Result<Self> {
        let (Some((current, previous)), Some(((primary_id, primary), older))) =
            (index.split_first(), keys.split_first())
        else {
            return Err(Error::invalid_config(
                "a keyring needs an index key and at least one data key",
            ));
        };
        let mut ring = Self::new(primary_id, primary, current)?;
        for key in previous {
            Arc::make_mut(&mut ring.index).push(IndexKey::new(key)?);
        }
        older
            .iter()
            .try_fold(ring, |ring, (id, key)| ring.with_key(id, key))
    }

    fn fresh(&self, id: &str, key: &[u8]) -> Result<DataKey> {
        if self.cipher(id).is_some() {
            return Err(Error::invalid_config(format!(
                "key id `{id}` appears twice in the keyring"
            )));
        }
        DataKey::new(id, key)
    }

    /// Parses the [text format](Keyring#text-format).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the entry that is malformed, a missing `index` entry, or a keyring
    /// with no data key. Key material never appears in the message.
    pub fn parse(text: &str) -> Result<Self> {
        let mut index: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut data: Vec<(&str, Zeroizing<Vec<u8>>)> = Vec::new();
        for (n, entry) in text
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            // Errors name an entry by its position, never by its text: a malformed entry may be key
            // material (a bare key is split at its base64 padding).
            let position = n + 1;
            let Some((name, b64)) = entry.split_once('=') else {
                return Err(Error::invalid_config(format!(
                    "keyring entry {position} has no `=`; write entries as name=base64"
                )));
            };
            let name = name.trim();
            if name != INDEX_ENTRY && check_key_id(name).is_err() {
                return Err(Error::invalid_config(format!(
                    "keyring entry {position} does not start with a key name (1 to {MAX_KEY_ID_LEN} of ASCII \
                     letters, digits, '.', '_' and '-', then `=`); write entries as name=base64, e.g. \
                     k1=<base64> (a key without its name cannot be used)"
                )));
            }
            let bytes = Zeroizing::new(BASE64.decode(b64.trim()).map_err(|_| {
                Error::invalid_config(format!(
                    "keyring entry {position} (`{name}`) is not valid base64 (standard, padded)"
                ))
            })?);
            if name == INDEX_ENTRY {
                index.push(bytes);
            } else {
                data.push((name, bytes));
            }
        }
        if index.is_empty() {
            return Err(Error::invalid_config(
                "keyring has no `index=` entry; add the lookup-index key (`zoho-token-store keygen` \
                 makes a complete keyring)",
            ));
        }
        if data.is_empty() {
            return Err(Error::invalid_config(
                "keyring has no data key; add an entry such as k1=<base64>",
            ));
        }
        let index: Vec<&[u8]> = index.iter().map(|k| k.as_slice()).collect();
        let data: Vec<(&str, &[u8])> = data.iter().map(|(id, k)| (*id, k.as_slice())).collect();
        Self::from_material(&index, &data)
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
                "environment variable {name} is not set (or not UTF-8); make a keyring with \
                 `zoho-token-store keygen` (the command comes with `pip install zoho-token-store` and \
                 with the Rust crate; also `python -m zoho_token_store keygen`, or \
                 Keyring::generate in Rust) and keep it in your secret manager"
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
        &self.keys[0].id
    }

    /// Every key id in the ring, primary first.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    pub(crate) fn primary(&self) -> (&str, &Aes256Gcm) {
        (&self.keys[0].id, &self.keys[0].cipher)
    }

    pub(crate) fn cipher(&self, id: &str) -> Option<&Aes256Gcm> {
        self.keys.iter().find(|k| k.id == id).map(|k| &k.cipher)
    }

    /// HMAC-SHA256 under the current index key of `domain`, a zero byte, and `value`. The domain keeps
    /// the indexes apart: a refresh token and a user name with the same text never share a digest.
    pub(crate) fn index_digest(&self, domain: &str, value: &str) -> [u8; 32] {
        self.index[0].digest(domain, value)
    }

    /// The same digest under every index key, current first (lookups during an index-key rotation).
    pub(crate) fn index_digests(&self, domain: &str, value: &str) -> Vec<[u8; 32]> {
        self.index.iter().map(|k| k.digest(domain, value)).collect()
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

#[cfg(test)]
mod parse_errors {
    use super::*;

    /// Every malformed form of an entry: the error names the entry's position and shows none of its
    /// text beyond a valid key name.
    #[test]
    fn no_error_echoes_an_entrys_text() {
        let key = BASE64.encode([0xA7_u8; KEY_LEN]); // 44 characters, `=`-padded
        let index = BASE64.encode([0x3C_u8; KEY_LEN]);
        let short = BASE64.encode([0xA7_u8; 16]);
        let texts = [
            key.clone(),                                       // a bare key, alone
            format!("index={index},{key}"),                    // a bare key: split at its padding
            format!("index={index},={key}"),                   // no name
            format!("index={index},{key}={key}"),              // a key where the name goes
            format!("index={index},k 1={key}"),                // a space in the name
            format!("index={index},{}={key}", "k".repeat(40)), // a name too long
            format!("index={index},k1={}", &key[..30]),        // truncated base64
            format!("index={index},k1=!{}", &key[1..]),        // not base64
            format!("index={index},k1={short}"),               // 16 bytes
            format!("index={short},k1={key}"),                 // a 16-byte index key
            format!("index={index},k1={key},k1={key}"),        // a name twice
            format!("index={index}"),                          // no data key
            format!("k1={key}"),                               // no index key
        ];
        for text in texts {
            let err = Keyring::parse(&text).unwrap_err().to_string();
            for secret in [&key, &index, &short] {
                for start in 0..secret.len() - 8 {
                    let piece = &secret[start..start + 8];
                    assert!(!err.contains(piece), "{text:?}: `{piece}` echoed in: {err}");
                }
            }
        }
    }
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

fn material(what: &str, key: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let array: [u8; KEY_LEN] = key.try_into().map_err(|_| {
        Error::invalid_config(format!(
            "{what} must be exactly {KEY_LEN} bytes, got {}",
            key.len()
        ))
    })?;
    Ok(Zeroizing::new(array))
}

impl DataKey {
    fn new(id: &str, key: &[u8]) -> Result<Self> {
        check_key_id(id)?;
        let material = material(&format!("data key `{id}`"), key)?;
        let cipher = Aes256Gcm::new_from_slice(&*material)
            .map_err(|_| Error::invalid_config("data key has the wrong length"))?;
        Ok(Self {
            id: id.to_owned(),
            material,
            cipher,
        })
    }
}

impl IndexKey {
    fn new(key: &[u8]) -> Result<Self> {
        let material = material("the index key", key)?;
        let mut derived = Zeroizing::new([0u8; KEY_LEN]);
        Hkdf::<Sha256>::new(None, &*material)
            .expand(INDEX_HKDF_INFO, &mut *derived)
            .map_err(|_| Error::invalid_config("index key derivation failed"))?;
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&*derived)
            .map_err(|_| Error::invalid_config("index key derivation failed"))?;
        Ok(Self { material, mac })
    }

    fn digest(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
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
                "entry 2 does not start with a key name",
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
    fn rotation_steps_keep_old_keys_readable_and_round_trip_as_text() {
        let ring = Keyring::new("k1", &K1, &IDX).unwrap();
        let rotated = ring
            .clone()
            .with_new_primary("k2", &[2; 32])
            .unwrap()
            .with_new_index_key(&[8; 32])
            .unwrap();
        assert_eq!(rotated.key_ids().collect::<Vec<_>>(), ["k2", "k1"]);
        assert_eq!(rotated.index_key_count(), 2);
        let digests = rotated.index_digests("user", "a");
        assert_eq!(
            digests[1],
            ring.index_digest("user", "a"),
            "the previous index key still computes"
        );
        assert_ne!(digests[0], digests[1]);

        let reparsed = Keyring::parse(&rotated.to_text()).unwrap();
        assert_eq!(reparsed.key_ids().collect::<Vec<_>>(), ["k2", "k1"]);
        assert_eq!(reparsed.index_digests("user", "a"), digests);

        let err = rotated.clone().without_key("k2").unwrap_err().to_string();
        assert!(err.contains("is primary"), "{err}");
        let retired = rotated
            .without_key("k1")
            .unwrap()
            .without_previous_index_keys();
        assert_eq!(retired.key_ids().collect::<Vec<_>>(), ["k2"]);
        assert_eq!(retired.index_key_count(), 1);
        assert!(retired.clone().without_key("k1").is_err());
        assert!(
            retired
                .with_new_primary("k2", &[3; 32])
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
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
