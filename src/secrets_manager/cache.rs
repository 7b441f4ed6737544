//! An optional in-process read cache: warm lookups cost no service call.
//!
//! Entries are keyed by secret name, with the token's index digests pointing at them, so lookups by id,
//! user, refresh, grant or access token all hit. Saves and deletes through the same store update or
//! drop entries at once (read-your-writes, and never a token this process deleted); changes made by
//! other processes show once an entry's time to live runs out. The size is bounded: the oldest entry
//! goes first.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::index::IndexKind;
use crate::keyring::Keyring;
use crate::token::OAuthToken;

pub(crate) struct Cache {
    capacity: NonZeroUsize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

/// Sizes only: the entries hold user names, secret names derived from them, and index digests, none of
/// which belongs in a log.
impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("capacity", &self.capacity)
            .field("ttl", &self.ttl)
            .field("entries", &self.lock().by_name.len())
            .finish()
    }
}

#[derive(Default)]
struct Inner {
    by_name: HashMap<String, Entry>,
    by_digest: HashMap<String, String>,
}

struct Entry {
    token: OAuthToken,
    digests: Vec<String>,
    at: Instant,
}

impl Cache {
    pub(crate) fn new(capacity: NonZeroUsize, ttl: Duration) -> Self {
        Self {
            capacity,
            ttl,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached token under `name`, if fresh. Tags are not cached: a write asks the service for them
    /// (`DescribeSecret`), since another process may have retagged the secret, and a write that diffed
    /// its tags against a stale copy would leave the index pointing at values the secret no longer holds.
    pub(crate) fn get(&self, name: &str) -> Option<OAuthToken> {
        let mut inner = self.lock();
        match inner.by_name.get(name) {
            Some(e) if e.at.elapsed() < self.ttl => Some(e.token.clone()),
            Some(_) => {
                inner.remove(name);
                None
            }
            None => None,
        }
    }

    /// The name of a cached secret whose token has one of `digests`.
    pub(crate) fn name_for(&self, digests: &[String]) -> Option<String> {
        let inner = self.lock();
        digests.iter().find_map(|d| inner.by_digest.get(d).cloned())
    }

    pub(crate) fn put(&self, ring: &Keyring, name: &str, token: &OAuthToken) {
        let digests: Vec<String> = IndexKind::ALL
            .iter()
            .filter_map(|k| k.value(token).map(|v| k.digest(ring, v)))
            .collect();
        let mut inner = self.lock();
        inner.remove(name);
        if inner.by_name.len() >= self.capacity.get()
            && let Some(oldest) = inner
                .by_name
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(n, _)| n.clone())
        {
            inner.remove(&oldest);
        }
        for d in &digests {
            inner.by_digest.insert(d.clone(), name.to_owned());
        }
        inner.by_name.insert(
            name.to_owned(),
            Entry {
                token: token.clone(),
                digests,
                at: Instant::now(),
            },
        );
    }

    pub(crate) fn remove(&self, name: &str) {
        self.lock().remove(name);
    }

    pub(crate) fn clear(&self) {
        *self.lock() = Inner::default();
    }
}

impl Inner {
    fn remove(&mut self, name: &str) {
        if let Some(entry) = self.by_name.remove(name) {
            for d in entry.digests {
                if self.by_digest.get(&d).is_some_and(|n| n == name) {
                    self.by_digest.remove(&d);
                }
            }
        }
    }
}
