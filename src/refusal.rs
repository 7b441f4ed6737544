//! What Zoho refused a token's refresh token with, kept with the token so a whole fleet honours it.
//!
//! Zoho allows at most 10 access tokens per refresh token per 10 minutes and answers the 11th with
//! `Access Denied` (HTTP 200); a revoked refresh token (the user or an admin revoked it, or the user's
//! 21st sign-in replaced it) is refused with `invalid_code`. A process that learns either tells the
//! others through the stored token itself (in its encrypted value, next to the refresh token it is
//! about): nobody asks Zoho for that refresh token again before the window allows, or ever, for a
//! revoked one. A new sign-in stores a new refresh token, which carries no refusal.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long a fleet leaves a throttled refresh token alone: Zoho counts access tokens over a rolling
/// 10 minutes and does not say when the oldest leaves the window, so the whole window.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(600);

/// Zoho's refusal of a token's refresh token (see the module docs of `refusal.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "refusal", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ZohoRefusal {
    /// `Access Denied`: too many access tokens for this refresh token. Nobody asks Zoho for another
    /// before `until_ms` (epoch milliseconds).
    Throttled {
        /// When the fleet may ask again.
        until_ms: u64,
    },
    /// The refresh token was refused at `at_ms` (epoch milliseconds): revoked, or replaced. Only a new
    /// sign-in (a new grant) gives the user a working token.
    Revoked {
        /// When Zoho refused it.
        at_ms: u64,
    },
}

impl ZohoRefusal {
    /// A throttling refusal learnt now, for [`THROTTLE_WINDOW`].
    pub fn throttled_now() -> Self {
        Self::Throttled {
            until_ms: crate::token::now_ms().saturating_add(THROTTLE_WINDOW.as_millis() as u64),
        }
    }

    /// A revocation learnt now.
    pub fn revoked_now() -> Self {
        Self::Revoked {
            at_ms: crate::token::now_ms(),
        }
    }

    /// Whether it still stands at `now_ms`: a revocation always, a throttle until its window ends.
    pub fn stands_at(&self, now_ms: u64) -> bool {
        match self {
            Self::Throttled { until_ms } => now_ms < *until_ms,
            Self::Revoked { .. } => true,
        }
    }

    /// Whether the refresh token was revoked (only a new sign-in helps).
    pub fn is_revoked(&self) -> bool {
        matches!(self, Self::Revoked { .. })
    }

    /// Until when a throttle holds, as a time.
    pub fn until(&self) -> Option<SystemTime> {
        match self {
            Self::Throttled { until_ms } => Some(UNIX_EPOCH + Duration::from_millis(*until_ms)),
            Self::Revoked { .. } => None,
        }
    }

    /// A short status for listings: `revoked` or `throttled until <time>` (no secret).
    pub fn status(&self) -> String {
        match self {
            Self::Throttled { until_ms } => format!("throttled until {}", rfc3339(*until_ms)),
            Self::Revoked { at_ms } => format!("revoked {}", rfc3339(*at_ms)),
        }
    }
}

/// An epoch-milliseconds time as RFC 3339 UTC, to the second.
pub(crate) fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms.min(LAST_PRINTABLE_MS)))
        .to_string()
}

/// 9999-12-31T23:59:59Z: RFC 3339 has four-digit years, and formatting a later time fails (a panic in
/// `to_string`), so a corrupt or made-up time is printed as this instead.
pub(crate) const LAST_PRINTABLE_MS: u64 = 253_402_300_799_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_ends_with_its_window_and_a_revocation_never() {
        let throttled = ZohoRefusal::Throttled { until_ms: 1_000 };
        assert!(throttled.stands_at(999));
        assert!(!throttled.stands_at(1_000));
        assert!(ZohoRefusal::Revoked { at_ms: 5 }.stands_at(u64::MAX));
    }

    #[test]
    fn times_read_as_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(u64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_900_000_000_000), "2030-03-17T17:46:40Z");
        assert_eq!(
            ZohoRefusal::Throttled {
                until_ms: 951_782_400_000
            }
            .status(),
            "throttled until 2000-02-29T00:00:00Z"
        );
    }
}
