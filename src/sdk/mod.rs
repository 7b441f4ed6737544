//! What the Zoho SDKs' bindings share: the Python package and the Node.js package are conversions and
//! glue over this module, so a rule of either SDK's calling convention is written once, here.
//!
//! - [`SdkOptions`]: the options a binding's `SecretsManagerTokenStore` takes, as the caller gave them,
//!   checked by [`SdkOptions::check`] with messages that name each option as the caller's language
//!   does (`recovery_window_days=` in Python, `recoveryWindowDays` in JavaScript: see [`Api`]).
//! - [`SdkConfig`]: the checked options, kept by a binding so a process (a forked worker, a Node worker
//!   thread) builds its own store with [`SdkConfig::connect`].
//! - [`SdkToken`]: a token as the SDKs hold it (text fields, `expires_in` in epoch milliseconds), the
//!   form a binding hands over, and the rules for reading it.
//! - [`SdkStore`]: the six operations as the SDKs call them: `find_token` fills the caller's token from
//!   the stored one (refreshing ahead, once for the fleet, and exchanging a grant once for the fleet
//!   when nothing is stored: see `refresh.rs`), `save_token` merges and saves as the SDKs' FileStore
//!   does (deletes stick), and an unknown id is refused as the SDKs' stores refuse it.
//!
//! A Rust app uses [`SecretsManagerStore`](crate::SecretsManagerStore) and
//! [`TokenManager`](crate::TokenManager) directly; this module is their composition for the SDKs,
//! which refresh tokens themselves in every process.
//!
//! [`Api`]: crate::Api

mod options;
mod refresh;
mod store;
mod token;

pub use options::{
    DEFAULT_CACHE_TTL, DEFAULT_RECOVERY_WINDOW_DAYS, DEFAULT_REFRESH_AHEAD, SdkConfig, SdkOptions,
};
pub use refresh::SDK_MARGIN;
pub use store::SdkStore;
pub use token::SdkToken;
