//! Where the keyring comes from: one small trait, so the store does not care whether keys sit in an
//! environment variable, a Secrets Manager secret, or behind AWS KMS.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::Result;
use crate::keyring::Keyring;

/// A source of the [`Keyring`] a store encrypts and looks up with.
///
/// Implemented by [`Keyring`] itself (keys fixed at start-up, e.g. from `ZOHO_TOKEN_STORE_KEYS`) and by
/// [`SecretKeySource`](crate::SecretKeySource) (a keyring kept in its own secret, optionally wrapped by
/// AWS KMS, reloaded when another process rotates it). Object-safe: stores hold an
/// `Arc<dyn KeySource>`.
#[async_trait]
pub trait KeySource: Send + Sync + fmt::Debug {
    /// The keyring to use now. Called once per store operation, so it must be cheap after the first
    /// call (cache what you load).
    ///
    /// # Errors
    /// The keyring cannot be loaded (missing secret, KMS refusal, malformed keyring).
    async fn keyring(&self) -> Result<Arc<Keyring>>;

    /// Called when a secret names `key_id` and the current keyring lacks it: another process may have
    /// rotated keys. A source that can reload does so and returns the fresh ring; the default returns
    /// the current one (the caller then reports the unknown key id).
    ///
    /// # Errors
    /// As [`KeySource::keyring`].
    async fn reload(&self, key_id: &str) -> Result<Arc<Keyring>> {
        let _ = key_id;
        self.keyring().await
    }

    /// How stale this source's keyring can be in any process that uses it: a keyring change reaches
    /// every process within this long. `None` (the default) when the source cannot tell, as for a
    /// [`Keyring`] fixed at start-up, whose changes reach processes by deployment (the README's two-step
    /// deploy).
    fn staleness_bound(&self) -> Option<Duration> {
        None
    }

    /// When data key `key_id` stopped being primary, if the source records it (`None`: primary, absent,
    /// or not recorded). Retiring waits until every process must have seen that change.
    ///
    /// # Errors
    /// As [`KeySource::keyring`].
    async fn demoted_at(&self, key_id: &str) -> Result<Option<SystemTime>> {
        let _ = key_id;
        Ok(None)
    }

    /// When the previous index keys stopped being current, if the source records it (`None`: no
    /// previous index key, or not recorded). It may lie in the future while a new index key is staged.
    ///
    /// # Errors
    /// As [`KeySource::keyring`].
    async fn index_demoted_at(&self) -> Result<Option<SystemTime>> {
        Ok(None)
    }

    /// Removes a data key that no token uses any more, where the source can store the change. The
    /// default does nothing: remove the key from your configuration yourself.
    ///
    /// # Errors
    /// The change cannot be stored.
    async fn retire(&self, key_id: &str) -> Result<()> {
        let _ = key_id;
        Ok(())
    }

    /// Removes the previous index keys once every token is re-tagged, where the source can store the
    /// change. The default does nothing: remove them from your configuration yourself.
    ///
    /// # Errors
    /// The change cannot be stored.
    async fn drop_previous_index_keys(&self) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl KeySource for Keyring {
    async fn keyring(&self) -> Result<Arc<Keyring>> {
        // Cheap: a keyring's keys are shared, so this clone copies two pointers.
        Ok(Arc::new(self.clone()))
    }
}

/// A shared source is a source: lets a store take `Arc<dyn KeySource>` chosen at run time.
#[async_trait]
impl<T: KeySource + ?Sized> KeySource for Arc<T> {
    async fn keyring(&self) -> Result<Arc<Keyring>> {
        (**self).keyring().await
    }

    async fn reload(&self, key_id: &str) -> Result<Arc<Keyring>> {
        (**self).reload(key_id).await
    }

    async fn retire(&self, key_id: &str) -> Result<()> {
        (**self).retire(key_id).await
    }

    fn staleness_bound(&self) -> Option<Duration> {
        (**self).staleness_bound()
    }

    async fn demoted_at(&self, key_id: &str) -> Result<Option<SystemTime>> {
        (**self).demoted_at(key_id).await
    }

    async fn index_demoted_at(&self) -> Result<Option<SystemTime>> {
        (**self).index_demoted_at().await
    }

    async fn drop_previous_index_keys(&self) -> Result<()> {
        (**self).drop_previous_index_keys().await
    }
}
