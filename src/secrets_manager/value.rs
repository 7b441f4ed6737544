//! A secret's value and the token in it.
//!
//! Sealing a token for its secret, and reading it back (the id inside must be the one the name ends
//! with).

use std::sync::Arc;

use aws_sdk_secretsmanager::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::{Listed, SecretsManagerStore};
use crate::envelope;
use crate::error::{Error, Result};
use crate::id;
use crate::key_source::KeySource;
use crate::keyring::Keyring;
use crate::store::Unreadable;
use crate::token::OAuthToken;

/// A secret's value as read, before decryption.
pub(crate) struct Raw {
    pub(crate) name: String,
    /// The version that holds `AWSCURRENT`, for compare-and-swap writes.
    pub(crate) version_id: Option<String>,
    pub(crate) envelope: Vec<u8>,
    /// Why the value cannot be read as an envelope at all (not one, or AWS would not return it), if
    /// so: reported when it is decoded, so a scan can name it and go on.
    unreadable: Option<Error>,
}

impl Raw {
    /// The envelope in a secret's value: base64 in `SecretString` as this crate writes it, or raw in
    /// `SecretBinary`.
    pub(crate) fn new(
        name: &str,
        version_id: Option<&str>,
        string: Option<&str>,
        binary: Option<&Blob>,
    ) -> Self {
        let (envelope, reason) = match (string, binary) {
            (Some(text), _) => match BASE64.decode(text) {
                Ok(bytes) => (bytes, None),
                Err(_) => (
                    Vec::new(),
                    Some("its SecretString is not a base64 envelope"),
                ),
            },
            (None, Some(blob)) => (blob.as_ref().to_vec(), None),
            (None, None) => (Vec::new(), Some("it has no value")),
        };
        Self {
            name: name.to_owned(),
            version_id: version_id.map(str::to_owned),
            envelope,
            unreadable: reason.map(|reason| Error::corrupt(name, reason)),
        }
    }

    /// A secret whose value AWS would not return, with why.
    pub(crate) fn unavailable(name: &str, error: Error) -> Self {
        Self {
            name: name.to_owned(),
            version_id: None,
            envelope: Vec::new(),
            unreadable: Some(error),
        }
    }

    pub(crate) fn key_id(&self) -> Result<&str> {
        if let Some(error) = &self.unreadable {
            return Err(error.clone());
        }
        envelope::key_id(&self.name, &self.envelope)
    }
}

impl SecretsManagerStore {
    /// The secret value for `token` in the secret `name` (see [`envelope::seal_token`]).
    pub(crate) fn encrypt(&self, ring: &Keyring, name: &str, token: &OAuthToken) -> Result<String> {
        // The id inside is the one the name ends with, always: that is how a reader tells this store's
        // secrets from those of a store whose prefix extends this one's (see `decode`).
        let id = self.id_of(name);
        if token.id.as_deref() == id {
            return envelope::seal_token(ring, name, token);
        }
        let mut token = token.clone();
        token.id = id.map(str::to_owned);
        envelope::seal_token(ring, name, &token)
    }

    /// Decrypts a raw value: `None` when it holds another store's token. When it names a key the ring
    /// lacks, the key source reloads once (another process may have rotated keys) and `ring` becomes the
    /// fresh ring.
    pub(crate) async fn decode(
        &self,
        ring: &mut Arc<Keyring>,
        raw: &Raw,
    ) -> Result<Option<OAuthToken>> {
        let key_id = raw.key_id()?;
        if ring.cipher(key_id).is_none() {
            *ring = self.keys.reload(key_id).await?;
        }
        let mut token = envelope::open_token(ring, &raw.name, &raw.envelope)?;
        // Both the name (in the associated data) and the id inside are authenticated, and a token is
        // always written with the id its name ends with. An id that differs is another store's token whose
        // prefix extends ours: `1` under `prod/zoho-eu7` reads as `-eu71` under `prod/zoho`. (A token
        // written without an id predates the rule; its name decides.)
        let id = self.id_of(&raw.name);
        if token.id.is_some() && token.id.as_deref() != id {
            return Ok(None);
        }
        token.id = id.map(str::to_owned);
        Ok(Some(token))
    }

    /// Every secret under the prefix decoded, sorted by token id, with each one that is not a readable
    /// token named apart (what whole-store jobs go on past).
    pub(crate) async fn decode_everything(
        &self,
    ) -> Result<(Vec<(Raw, OAuthToken)>, Vec<Unreadable>)> {
        self.decode_listed(&self.list_tokens().await?).await
    }

    /// The secrets `listed` decoded, as [`Self::decode_everything`].
    pub(crate) async fn decode_listed(
        &self,
        listed: &[Listed],
    ) -> Result<(Vec<(Raw, OAuthToken)>, Vec<Unreadable>)> {
        let raws = self.fetch_listed(listed).await?;
        let mut ring = self.keys.keyring().await?;
        let (mut read, mut unreadable) = (Vec::with_capacity(raws.len()), Vec::new());
        for raw in raws {
            match self.decode(&mut ring, &raw).await {
                Ok(Some(token)) => read.push((raw, token)),
                Ok(None) => {}
                Err(e) if e.is_unreadable_entry() => {
                    unreadable.push(Unreadable::new(&raw.name, self.id_of(&raw.name), e));
                }
                Err(e) => return Err(e),
            }
        }
        read.sort_by(|(_, a), (_, b)| id::order_of(a.id.as_deref(), b.id.as_deref()));
        Ok((read, unreadable))
    }

    /// This store's tokens among `raws`, each with its secret's name.
    pub(super) async fn decode_all(
        &self,
        ring: &mut Arc<Keyring>,
        raws: Vec<Raw>,
    ) -> Result<Vec<(String, OAuthToken)>> {
        let mut tokens = Vec::with_capacity(raws.len());
        for raw in raws {
            if let Some(token) = self.decode(ring, &raw).await? {
                tokens.push((raw.name, token));
            }
        }
        Ok(tokens)
    }
}
