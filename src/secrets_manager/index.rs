//! Blind lookup indexes, kept as secret tags.
//!
//! Tags are not encrypted: anyone with `ListSecrets` sees them. So a tag holds
//! HMAC-SHA256(index key, index name, 0, value) in hex, never the value: equal values give equal
//! digests (which is what makes a lookup possible) and reveal nothing else (CipherSweet's blind index).
//! A 64-digit digest also makes the service's prefix-matching filters behave as exact matches.

use crate::keyring::Keyring;
use crate::token::OAuthToken;

/// Tag marking a secret as written by this crate; its value is the tag-layout version.
pub(crate) const MARKER_KEY: &str = "zoho-token-store";
pub(crate) const MARKER_VALUE: &str = "1";

/// The fields a token can be found by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IndexKind {
    User,
    Refresh,
    Grant,
    Access,
}

impl IndexKind {
    pub(crate) const ALL: [IndexKind; 4] = [Self::User, Self::Refresh, Self::Grant, Self::Access];

    /// The HMAC domain, which is also the tag key's suffix.
    fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Refresh => "refresh",
            Self::Grant => "grant",
            Self::Access => "access",
        }
    }

    pub(crate) fn tag_key(self) -> &'static str {
        match self {
            Self::User => "zts:user",
            Self::Refresh => "zts:refresh",
            Self::Grant => "zts:grant",
            Self::Access => "zts:access",
        }
    }

    /// The token's value for this index, if it has one.
    pub(crate) fn value(self, token: &OAuthToken) -> Option<&str> {
        match self {
            Self::User => token.user_name.as_deref(),
            Self::Refresh => token.refresh_token.as_ref().map(|t| t.secret()),
            Self::Grant => token.grant_token.as_ref().map(|t| t.secret()),
            Self::Access => token.access_token.as_ref().map(|t| t.secret()),
        }
    }

    /// The digest stored in this index's tag for `value`, under the current index key.
    /// A short name for a value of this index, from its digest: a letter for the index and 160 bits of
    /// the digest (ample against collisions), a valid token id. Lookup bridges and the leases of tokens
    /// with no id yet are named so: they show no more than the tag does.
    pub(crate) fn short_name(self, digest: &str) -> String {
        const DIGEST_CHARS: usize = 40;
        let letter = match self {
            Self::User => 'u',
            Self::Refresh => 'r',
            Self::Grant => 'g',
            Self::Access => 'a',
        };
        format!("{letter}{}", &digest[..DIGEST_CHARS.min(digest.len())])
    }

    pub(crate) fn digest(self, keyring: &Keyring, value: &str) -> String {
        hex::encode(keyring.index_digest(self.name(), value))
    }

    /// The digest under every index key the ring holds, current first: during an index-key rotation a
    /// token is tagged under one or the other, and one filter with both values finds it either way.
    pub(crate) fn digests(self, keyring: &Keyring, value: &str) -> Vec<String> {
        keyring
            .index_digests(self.name(), value)
            .iter()
            .map(hex::encode)
            .collect()
    }
}

/// Tag naming the prefix of the store a secret belongs to. A name alone cannot say it: under the prefix
/// `prod/zoho`, the secret `prod/zoho-eu71` may be the token `-eu71` or the token `1` of a store with the
/// prefix `prod/zoho-eu7`. Prefixes are configuration, not secrets, and names show them anyway.
pub(crate) const PREFIX_KEY: &str = "zts:prefix";

/// The value of this crate's tag `key` among a secret's tags.
pub(crate) fn tag_value<'t>(tags: &'t [(String, String)], key: &str) -> Option<&'t str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Tag holding the index key's check value: what tells a keyring whose index key is not the one the
/// store's tokens were tagged with (every lookup would miss, silently) from an empty store.
pub(crate) const CHECK_KEY: &str = "zts:check";

/// The index key's check value: a keyed digest of nothing, so it says which key tagged a token and
/// nothing else (every token tagged under one key carries the same value).
pub(crate) fn check_value(keyring: &Keyring) -> String {
    hex::encode(&keyring.index_digest("check", "")[..16])
}

/// The check value of every index key the ring holds.
pub(crate) fn check_values(keyring: &Keyring) -> Vec<String> {
    keyring
        .index_digests("check", "")
        .iter()
        .map(|d| hex::encode(&d[..16]))
        .collect()
}

/// Every tag a stored token carries: the marker, its store's prefix, the index key's check value and one
/// digest per field it has, sorted by key.
pub(crate) fn tags_for(
    keyring: &Keyring,
    prefix: &str,
    token: &OAuthToken,
) -> Vec<(String, String)> {
    let mut tags = vec![
        (MARKER_KEY.to_owned(), MARKER_VALUE.to_owned()),
        (PREFIX_KEY.to_owned(), prefix.to_owned()),
        (CHECK_KEY.to_owned(), check_value(keyring)),
    ];
    for kind in IndexKind::ALL {
        if let Some(value) = kind.value(token) {
            tags.push((kind.tag_key().to_owned(), kind.digest(keyring, value)));
        }
    }
    tags.sort();
    tags
}

/// The id of a user's token when the caller gave none: derived from the user's index digest, so a
/// lookup by user name can compute the secret's name and read it in one call.
pub(crate) fn user_id(keyring: &Keyring, user_name: &str) -> String {
    user_id_from(&IndexKind::User.digest(keyring, user_name))
}

/// The user ids under every index key, current first (a token keeps the id it was created with).
pub(crate) fn user_ids(keyring: &Keyring, user_name: &str) -> Vec<String> {
    IndexKind::User
        .digests(keyring, user_name)
        .iter()
        .map(|d| user_id_from(d))
        .collect()
}

fn user_id_from(user_digest: &str) -> String {
    format!("u{}", &user_digest[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(index: u8) -> Keyring {
        Keyring::new("k1", &[1; 32], &[index; 32]).unwrap()
    }

    #[test]
    fn digests_are_deterministic_keyed_and_separated_by_index() {
        let a = IndexKind::Refresh.digest(&ring(9), "1000.r");
        assert_eq!(a, IndexKind::Refresh.digest(&ring(9), "1000.r"));
        assert_eq!(a.len(), 64);
        assert_ne!(
            a,
            IndexKind::Refresh.digest(&ring(8), "1000.r"),
            "depends on the index key"
        );
        assert_ne!(
            a,
            IndexKind::Grant.digest(&ring(9), "1000.r"),
            "depends on the index"
        );
        assert_ne!(a, IndexKind::Refresh.digest(&ring(9), "1000.s"));
    }

    #[test]
    fn tags_hold_digests_only() {
        let token = OAuthToken::default()
            .with_user_name("alice@example.com")
            .with_client("cid", "cs-SECRET")
            .with_refresh_token("r-SECRET")
            .with_access_token("a-SECRET", 1);
        let tags = tags_for(&ring(9), "p/", &token);
        let keys: Vec<_> = tags.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "zoho-token-store",
                "zts:access",
                "zts:check",
                "zts:prefix",
                "zts:refresh",
                "zts:user"
            ]
        );
        for (_, v) in &tags {
            assert!(!v.contains("SECRET") && !v.contains("alice"), "{v}");
        }
    }

    #[test]
    fn user_ids_are_stable_valid_ids() {
        let id = user_id(&ring(9), "alice@example.com");
        assert_eq!(id, user_id(&ring(9), "alice@example.com"));
        assert_ne!(id, user_id(&ring(9), "bob@example.com"));
        crate::id::validate(&id).unwrap();
    }
}
