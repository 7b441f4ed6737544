//! The write path: the value first, then tags, lookup bridges and the cache.
//!
//! Create, restore or put a token's value, then the rest; and overwriting without ever re-creating a
//! deleted token.

use std::sync::Arc;
use std::time::Duration;

use super::SecretsManagerStore;
use super::index::{self, IndexKind};
use crate::aws::versions;
use crate::error::{Error, Result};
use crate::keyring::Keyring;
use crate::lookup::{another_users_id, check_stored_user, unnamed_over_named};
use crate::token::OAuthToken;

/// What `DescribeSecret` said about a secret name.
pub(super) enum State {
    /// No secret by that name.
    Absent,
    /// Live, with these tags.
    Live(Vec<(String, String)>),
    /// Scheduled for deletion (in its recovery window), with these tags.
    Deleted(Vec<(String, String)>),
}

pub(super) enum CreateOutcome {
    Created,
    Exists,
}

/// How often a write looks at a secret's state again when it keeps changing under it (other writers, a
/// deletion finishing), and the pauses between looks while a forced deletion of the name completes: about
/// 10 s in all, past the few seconds AWS takes.
const ATTEMPTS: u32 = 8;
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(3);

impl SecretsManagerStore {
    /// Writes `token` to the secret `name`, whose state is `state`: create, update, or restore a secret in
    /// its recovery window and update it. The value is written before the tags, so a failure between the
    /// two leaves the right token readable by id and user (and the next save repairs the tags).
    pub(super) async fn write(
        &self,
        ring: &Keyring,
        name: &str,
        token: &OAuthToken,
        mut state: State,
    ) -> Result<()> {
        let value = self.encrypt(ring, name, token)?;
        let mut restored = false;
        for _ in 0..ATTEMPTS {
            if let State::Live(tags) | State::Deleted(tags) = &state {
                self.check_claimed(name, tags)?;
            }
            match state {
                // Created, or taken meanwhile (another writer, or in its recovery window): go on from
                // the state it is in.
                State::Absent => match self.create_waiting(ring, name, token, &value).await? {
                    None => return Ok(()),
                    Some(taken) => state = taken,
                },
                State::Deleted(tags) => {
                    if !self.restore(name).await? {
                        // Deleted for good between our describe and now: create it afresh.
                        state = State::Absent;
                        continue;
                    }
                    restored = true;
                    state = State::Live(tags);
                }
                State::Live(tags) => {
                    if !self.put(name, value.clone()).await? {
                        state = self.describe(name).await?;
                        continue;
                    }
                    // A restored secret is new to the listings, whatever tags it had before.
                    let listed = if restored { &[][..] } else { &tags[..] };
                    let version = versions::request_token(name, &value);
                    return self
                        .value_written(ring, name, token, &version, &tags, listed)
                        .await;
                }
            }
        }
        Err(changing(name))
    }

    /// Creates the secret `name` holding `token` (sealed as `value`) with its tags, then its lookup
    /// bridges and the cache: `None`. When the name is taken, nothing is written and its state is
    /// returned (live, or in its recovery window). A create refused for a name that is not there is a
    /// forced deletion of it still finishing (AWS completes it in the background and refuses the name
    /// meanwhile): waited out.
    pub(super) async fn create_waiting(
        &self,
        ring: &Keyring,
        name: &str,
        token: &OAuthToken,
        value: &str,
    ) -> Result<Option<State>> {
        let wanted = self.tags_for(ring, token);
        let mut pause = FIRST_PAUSE;
        for _ in 0..ATTEMPTS {
            if let CreateOutcome::Created = self.create(name, value.to_owned(), &wanted).await? {
                self.bridge(ring, name, token, &[]).await;
                if let Some(cache) = &self.cache {
                    cache.put(ring, name, token);
                }
                return Ok(None);
            }
            match self.describe(name).await? {
                State::Absent => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                taken => return Ok(Some(taken)),
            }
        }
        Err(changing(name))
    }

    /// Writes `token` over the live secret `name`, never creating or restoring it: PutSecretValue itself
    /// refuses a secret that is gone or in its recovery window, so a delete that lands at any moment
    /// before the write stands, and the caller learns of it as [`Error::TokenDeleted`].
    pub(super) async fn overwrite(
        &self,
        ring: &Arc<Keyring>,
        name: &str,
        token: &OAuthToken,
    ) -> Result<()> {
        let State::Live(tags) = self.describe(name).await? else {
            if let Some(cache) = &self.cache {
                cache.remove(name);
            }
            return Err(self.deleted(name));
        };
        self.check_claimed(name, &tags)?;
        self.check_same_user(ring, name, &tags, token)?;
        if index::tag_value(&tags, IndexKind::User.tag_key()).is_none()
            && let Some(user) = token.user_name.as_deref()
        {
            self.check_untagged_user(ring, name, user).await?;
        }
        let value = self.encrypt(ring, name, token)?;
        let version = versions::request_token(name, &value);
        if !self.put(name, value).await? {
            if let Some(cache) = &self.cache {
                cache.remove(name);
            }
            return Err(self.deleted(name));
        }
        self.value_written(ring, name, token, &version, &tags, &tags)
            .await
    }

    /// Refuses to write one user's token over another's ([`another_users_id`]): the stored secret's user
    /// tag (a keyed digest, under any index key of the ring) answers it without reading the value. A
    /// secret tagged under an index key this ring lacks cannot be compared: that is the ring's fault,
    /// said as lookups say it ([`Error::WrongIndexKey`]), not another user's token. A token naming no
    /// user is refused over one that names a user ([`unnamed_over_named`]): written, it would drop the
    /// user's tag, and the next save under the id, anyone's, would find nothing to compare with.
    fn check_same_user(
        &self,
        ring: &Keyring,
        name: &str,
        tags: &[(String, String)],
        token: &OAuthToken,
    ) -> Result<()> {
        let Some(stored) = index::tag_value(tags, IndexKind::User.tag_key()) else {
            return Ok(());
        };
        let id = self.id_of(name).unwrap_or(name);
        let Some(user) = token.user_name.as_deref() else {
            return Err(unnamed_over_named(id));
        };
        if let Some(check) = index::tag_value(tags, index::CHECK_KEY)
            && !index::check_values(ring).iter().any(|c| c == check)
        {
            return Err(Error::WrongIndexKey {
                prefix: self.prefix.clone(),
            });
        }
        if IndexKind::User
            .digests(ring, user)
            .iter()
            .any(|d| d == stored)
        {
            return Ok(());
        }
        Err(another_users_id(id))
    }

    /// A secret without a user tag names no user, unless a write's value landed and its tagging failed
    /// (the value goes first): its value then names the user. Read (one call, only for a save that
    /// names a user over a secret without the tag: the first naming of a token, as a rule) and compared
    /// as [`Self::check_same_user`] compares the tag.
    async fn check_untagged_user(&self, ring: &Arc<Keyring>, name: &str, user: &str) -> Result<()> {
        let Some(raw) = self.read_raw(name).await? else {
            return Ok(()); // gone: the write that follows says so
        };
        let mut ring = ring.clone();
        match self.decode(&mut ring, &raw).await? {
            Some(stored) => check_stored_user(
                stored.user_name.as_deref(),
                Some(user),
                self.id_of(name).unwrap_or(name),
            ),
            None => Ok(()),
        }
    }

    /// After a new value (the version `version`) landed on the live secret `name` (whose tags were
    /// `tags`): its tags follow the value, bridges are made for the values the listings (which showed
    /// `listed`) do not know yet, and the cache learns it.
    pub(super) async fn value_written(
        &self,
        ring: &Keyring,
        name: &str,
        token: &OAuthToken,
        version: &str,
        tags: &[(String, String)],
        listed: &[(String, String)],
    ) -> Result<()> {
        let wanted = self.tags_for(ring, token);
        if self.retag_secret(name, tags, &wanted).await? {
            self.follow_later_write(name, version).await?;
        }
        self.bridge(ring, name, token, listed).await;
        if let Some(cache) = &self.cache {
            cache.put(ring, name, token);
        }
        Ok(())
    }

    /// Two saves of one secret at once: A writes its value, B writes its own and retags, then A retags
    /// last, leaving A's tags on B's value (lookups by B's values would miss it). So a save that changed
    /// the tags looks once more (1 `DescribeSecret`): when the current version is no longer the one it
    /// wrote, it brings the tags in line with the current value. Whichever save retags last then leaves
    /// the tags of the value that stands.
    async fn follow_later_write(&self, name: &str, ours: &str) -> Result<()> {
        let Some((tags, current)) = self.describe_current(name).await? else {
            return Ok(());
        };
        if current.as_deref() == Some(ours) {
            return Ok(());
        }
        let Some(raw) = self.read_raw(name).await? else {
            return Ok(());
        };
        let mut ring = self.keys.keyring().await?;
        if let Some(token) = self.decode(&mut ring, &raw).await? {
            tracing::debug!(secret = %name, "another save landed after ours: its tags follow its value");
            let wanted = self.tags_for(&ring, &token);
            self.retag_secret(name, &tags, &wanted).await?;
        }
        Ok(())
    }

    /// Brings a secret's tags from `current` to `wanted`, with no call when they already agree.
    pub(crate) async fn retag_secret(
        &self,
        name: &str,
        current: &[(String, String)],
        wanted: &[(String, String)],
    ) -> Result<bool> {
        let (changed, stale) = tag_diff(current, wanted);
        let any = !changed.is_empty() || !stale.is_empty();
        if !changed.is_empty() {
            self.tag(name, changed).await?;
        }
        if !stale.is_empty() {
            self.untag(name, stale).await?;
        }
        Ok(any)
    }
}

/// The retryable error for a save whose secret kept changing state under it.
fn changing(name: &str) -> Error {
    Error::Backend {
        operation: "CreateSecret",
        retryable: true,
        throttled: false,
        reason: "the secret kept changing state while being saved; try again".into(),
        fix: None,
        source: std::sync::Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(format!(
            "secret `{name}` kept changing state while being saved"
        ))),
    }
}

/// The tag changes that bring a secret from `current` to `wanted`: tags to set, and keys of ours to
/// remove (tags that are not this crate's are left alone).
pub(super) fn tag_diff(
    current: &[(String, String)],
    wanted: &[(String, String)],
) -> (Vec<(String, String)>, Vec<String>) {
    let ours = |k: &str| {
        k == index::MARKER_KEY
            || k == index::PREFIX_KEY
            || k == index::CHECK_KEY
            || IndexKind::ALL.iter().any(|i| i.tag_key() == k)
    };
    let stale = current
        .iter()
        .filter(|(k, _)| ours(k) && !wanted.iter().any(|(w, _)| w == k))
        .map(|(k, _)| k.clone())
        .collect();
    let changed = wanted
        .iter()
        .filter(|w| !current.contains(w))
        .cloned()
        .collect();
    (changed, stale)
}

/// Whether a secret's tags already are `wanted` (as far as this crate's tags go).
pub(crate) fn tags_agree(current: &[(String, String)], wanted: &[(String, String)]) -> bool {
    let (changed, stale) = tag_diff(current, wanted);
    changed.is_empty() && stale.is_empty()
}
