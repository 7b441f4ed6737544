//! How long before expiry a token is refreshed: a margin that fits the token's lifetime.
//!
//! A fixed minute before expiry is right for Zoho's one-hour tokens, and a loop for a token that lives
//! a minute: every fresh token would be due on arrival, in every process of a fleet. So the configured
//! margin is a ceiling, and a token whose lifetime is known (it carries when Zoho issued it, see
//! [`OAuthToken::issued_at_ms`](crate::OAuthToken::issued_at_ms)) is refreshed within a quarter of its
//! life, never later than the floor before expiry (a client that refreshes by itself at 5 s needs more
//! than that left), and never earlier than half its life: a token just issued is never due, whichever
//! process reads it.

use std::time::Duration;

use super::Inner;
use crate::token::OAuthToken;

impl Inner {
    /// The margin `token` is refreshed at when the configured one is `ceiling`.
    pub(super) fn margin_for(&self, token: &OAuthToken, ceiling: Duration) -> Duration {
        fit(ceiling, self.min_margin, token.lifetime())
    }
}

/// The margin for a token living `lifetime` (None: unknown, e.g. saved by the SDK's own refresh or
/// before the issue time was kept): the `ceiling` for a long-lived or unknown one; else a quarter of its
/// life, at least `floor` (itself at most the ceiling), and at most half of its life.
pub(super) fn fit(ceiling: Duration, floor: Duration, lifetime: Option<Duration>) -> Duration {
    let Some(lifetime) = lifetime else {
        return ceiling;
    };
    (lifetime / 4)
        .max(floor.min(ceiling))
        .min(ceiling)
        .min(lifetime / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);
    const FLOOR: Duration = Duration::from_secs(6);

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn zohos_hour_long_tokens_and_unknown_lifetimes_keep_the_configured_margin() {
        assert_eq!(fit(MINUTE, FLOOR, Some(secs(3600.0))), MINUTE);
        assert_eq!(fit(MINUTE, FLOOR, None), MINUTE);
        assert_eq!(fit(secs(5.2), FLOOR, None), secs(5.2));
    }

    #[test]
    fn a_short_token_is_refreshed_within_a_fraction_of_its_life() {
        assert_eq!(fit(MINUTE, FLOOR, Some(secs(90.0))), secs(22.5));
        assert_eq!(fit(MINUTE, FLOOR, Some(secs(40.0))), secs(10.0));
        // A quarter would leave the SDK less than its own 5 s: the floor, still under half its life.
        assert_eq!(fit(MINUTE, FLOOR, Some(secs(16.0))), FLOOR);
        // The configured margin stays the ceiling, also over the floor.
        assert_eq!(fit(secs(5.2), FLOOR, Some(secs(16.0))), secs(5.2));
    }

    #[test]
    fn a_fresh_token_is_never_due_whatever_its_lifetime() {
        for tenths in 1..=40_000u32 {
            let lifetime = Duration::from_millis(u64::from(tenths) * 100);
            let margin = fit(MINUTE, FLOOR, Some(lifetime));
            assert!(margin <= lifetime / 2, "{lifetime:?}: {margin:?}");
            assert!(margin <= MINUTE);
            if lifetime >= FLOOR * 2 {
                assert!(margin >= FLOOR, "{lifetime:?}: {margin:?}");
            }
        }
    }
}
