//! What to change when a failure comes from the caller's configuration, named as the caller's API
//! names it.
//!
//! The crate is reached four ways: its Rust API, the operator tool, and the Python and Node packages.
//! A missing keyring secret is fixed with `SecretKeySource::create` in Rust, `init-keyring` on the
//! command line, and the same command for a Python or Node user, who never sees a Rust path; a KMS key
//! is `with_kms` in Rust, `--kms-key-id`, `kms_key_id=` or `kmsKeyId`. So an error whose fix depends on
//! the API carries the fix as a [`Fix`], and [`Error::message`](crate::Error::message) words it for the
//! API at hand (`Display` words it for Rust).

use std::fmt::Write as _;

/// The API a caller uses, which decides how an error's fix is worded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Api {
    /// This crate's Rust API (the words of [`Display`](std::fmt::Display)).
    Rust,
    /// The operator tool, `zoho-token-store` (flags such as `--kms-key-id`).
    Cli,
    /// The Python package (keyword arguments such as `kms_key_id=`).
    Python,
    /// The Node.js package (option properties such as `kmsKeyId`).
    JavaScript,
}

impl Api {
    /// The name of the store setting written `snake` (`kms_key_id`) in this API: `kms_key_id=` in
    /// Python, `kmsKeyId` in JavaScript, `--kms-key-id` on the command line and `kms_key_id` in Rust.
    pub fn setting(self, snake: &str) -> String {
        match self {
            Self::Rust => snake.to_owned(),
            Self::Python => format!("{snake}="),
            Self::Cli => format!("--{}", snake.replace('_', "-")),
            Self::JavaScript => camel(snake),
        }
    }

    /// The setting written `snake` given `value` (already quoted as the language quotes it):
    /// `recovery_window_days=0`, `recoveryWindowDays: 0`, `--recovery-window-days 0`.
    pub fn assignment(self, snake: &str, value: &str) -> String {
        match self {
            Self::Rust | Self::Python => format!("{snake}={value}"),
            Self::Cli => format!("--{} {value}", snake.replace('_', "-")),
            Self::JavaScript => format!("{}: {value}", camel(snake)),
        }
    }

    /// `text` quoted as a string literal of this API (shell words unquoted on the command line).
    pub fn quote(self, text: &str) -> String {
        match self {
            Self::Rust => format!("{text:?}"),
            Self::Python | Self::JavaScript => {
                let mut quoted = String::from("'");
                for c in text.chars() {
                    match c {
                        '\'' | '\\' => {
                            quoted.push('\\');
                            quoted.push(c);
                        }
                        // `\xNN` and `\uNNNN` read the same in Python and JavaScript.
                        c if c.is_control() && u32::from(c) < 0x100 => {
                            let _ = write!(quoted, "\\x{:02x}", u32::from(c));
                        }
                        c if c.is_control() => {
                            let _ = write!(quoted, "\\u{:04x}", u32::from(c));
                        }
                        c => quoted.push(c),
                    }
                }
                quoted.push('\'');
                quoted
            }
            Self::Cli => text.to_owned(),
        }
    }
}

/// `snake_case` as `camelCase`.
fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A fix that depends on the API the caller uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fix {
    /// The keyring secret does not exist yet: create it.
    CreateKeyring {
        /// The keyring secret's name, as configured.
        name: String,
    },
    /// The keyring secret's keys are wrapped by a KMS key the store was not given.
    UseKmsKey {
        /// The KMS key named in the keyring secret.
        key: String,
    },
    /// The store was given a KMS key but the keyring secret is not wrapped.
    NoKmsKey,
    /// A KMS-wrapped keyring from before wrapped keys were bound to their secret's name.
    RebindKeyring,
    /// Nothing usable answered at the AWS endpoint.
    Endpoint,
    /// No AWS region is configured.
    Region,
}

impl Fix {
    /// The fix in the words of `api`.
    pub fn describe(&self, api: Api) -> String {
        match (self, api) {
            (Self::CreateKeyring { .. }, Api::Rust) => {
                "create it with SecretKeySource::create (or `zoho-token-store init-keyring`)".to_owned()
            }
            (Self::CreateKeyring { name }, _) => format!(
                "create it first: `zoho-token-store --keyring-secret {name} init-keyring` (add \
                 --kms-key-id KEY to wrap its keys with KMS)"
            ),
            (Self::UseKmsKey { key }, Api::Rust) => {
                format!("configure SecretKeySource::with_kms with `{key}`")
            }
            (Self::UseKmsKey { key }, api) => {
                format!("give {}", api.assignment("kms_key_id", &api.quote(key)))
            }
            (Self::NoKmsKey, Api::Rust) => {
                "remove with_kms or create a wrapped keyring".to_owned()
            }
            (Self::NoKmsKey, api) => format!(
                "leave {} out, or create a wrapped keyring",
                api.setting("kms_key_id")
            ),
            (Self::RebindKeyring, Api::Rust) => {
                "once every process runs this version (reading it with allow_unbound_keys, or \
                 ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING=1), run `zoho-token-store rebind-keyring` (or \
                 SecretKeySource::rebind)"
                    .to_owned()
            }
            (Self::RebindKeyring, api) => format!(
                "once every process runs this version (reading it with {}, or \
                 ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING=1), run `zoho-token-store rebind-keyring`",
                api.assignment(
                    "allow_unbound_keyring",
                    match api {
                        Api::Python => "True",
                        _ => "true",
                    }
                )
            ),
            (Self::Endpoint, Api::Rust) => {
                "check AWS_ENDPOINT_URL (if set), the client's endpoint_url, and the network".to_owned()
            }
            (Self::Endpoint, api) => format!(
                "check {} (or AWS_ENDPOINT_URL when it is not given), that the service (AWS Secrets \
                 Manager, or LocalStack) answers there, and the network",
                api.setting("endpoint_url")
            ),
            (Self::Region, Api::Rust) => {
                "set AWS_REGION (or a region in your AWS profile)".to_owned()
            }
            (Self::Region, api) => format!(
                "give {} or set AWS_REGION (or a region in your AWS profile)",
                api.assignment("region", &api.quote("us-east-1"))
            ),
        }
    }
}

/// `"; <fix>"`, or nothing: how a fix ends an error message.
pub(crate) fn suffix(fix: Option<&Fix>, api: Api) -> String {
    fix.map(|f| format!("; {}", f.describe(api)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_named_as_each_api_names_them() {
        assert_eq!(Api::Python.setting("kms_key_id"), "kms_key_id=");
        assert_eq!(Api::JavaScript.setting("kms_key_id"), "kmsKeyId");
        assert_eq!(Api::Cli.setting("kms_key_id"), "--kms-key-id");
        assert_eq!(
            Api::JavaScript.assignment("recovery_window_days", "0"),
            "recoveryWindowDays: 0"
        );
        assert_eq!(Api::Python.quote("a'b\n"), "'a\\'b\\x0a'");
    }

    #[test]
    fn no_fix_names_a_rust_path_outside_rust() {
        let fixes = [
            Fix::CreateKeyring { name: "k".into() },
            Fix::UseKmsKey {
                key: "alias/k".into(),
            },
            Fix::NoKmsKey,
            Fix::RebindKeyring,
            Fix::Endpoint,
            Fix::Region,
        ];
        for fix in &fixes {
            for api in [Api::Cli, Api::Python, Api::JavaScript] {
                let text = fix.describe(api);
                assert!(!text.contains("::"), "{api:?} {fix:?}: {text}");
            }
        }
        assert!(
            Fix::UseKmsKey { key: "k".into() }
                .describe(Api::Python)
                .contains("kms_key_id='k'")
        );
        assert!(
            Fix::Endpoint
                .describe(Api::JavaScript)
                .contains("endpointUrl")
        );
    }
}
