//! Secret string types: a token or client secret is never a bare `String`.
//!
//! `Debug` and `Display` print `Type([redacted])`, the value is zeroized on drop, and equality is
//! constant-time so comparing a caller's token with a stored one leaks nothing through timing.

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(Zeroizing::new(value.into()))
            }

            /// The secret value itself. Be careful: whatever you do with it (log, format, send) is
            /// outside the redaction this type gives you.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl Eq for $name {}

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::new(value)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self::new(value)
            }
        }
    };
}

secret_type!(
    /// The OAuth client secret of a Zoho API console client.
    ClientSecret
);
secret_type!(
    /// A single-use grant token (authorization code), valid for a few minutes.
    GrantToken
);
secret_type!(
    /// A long-lived refresh token: whoever holds it (with the client credentials) acts as the user.
    RefreshToken
);
secret_type!(
    /// A one-hour access token, sent as `Authorization: Zoho-oauthtoken <token>`.
    AccessToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let value = "1000.abcdef0123456789.secretvalue";
        let shown = [
            format!("{:?}", RefreshToken::new(value)),
            format!("{:#?}", AccessToken::new(value)),
            format!("{}", GrantToken::new(value)),
            format!("{:?}", Some(ClientSecret::new(value))),
        ];
        for s in &shown {
            assert!(!s.contains("secretvalue"), "leaked in {s}");
        }
        assert_eq!(shown[0], "RefreshToken([redacted])");
        assert_eq!(shown[2], "[redacted]");
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(RefreshToken::new("a"), RefreshToken::new("a"));
        assert_ne!(RefreshToken::new("a"), RefreshToken::new("ab"));
        assert_eq!(RefreshToken::new("a").secret(), "a");
    }
}
