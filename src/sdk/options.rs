//! The options of a binding's store, as the caller gave them, and their checks.
//!
//! Each check's message names the option as the caller's language spells it and says what to give
//! instead: a Python user reads `recovery_window_days=3 is outside ...; give 7 to 30, or
//! recovery_window_days=0`, a Node user `recoveryWindowDays: 3 ...`. Types are the binding's business
//! (Python raises `TypeError` before a value reaches here); values are checked here, once for both.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use super::refresh::SDK_MARGIN;
use crate::env::{
    ALLOW_UNBOUND_KEYRING_ENV_VAR, KEYRING_SECRET_ENV_VAR, KEYS_ENV_VAR, KMS_KEY_ID_ENV_VAR,
};
use crate::error::{Error, Result};
use crate::fix::Api;
use crate::keyring::Keyring;
use crate::keys_config::KeysConfig;
use crate::manager::MAX_REFRESH_MARGIN;
use crate::secrets_manager::{DEFAULT_PREFIX, RecoveryWindow, check_prefix};

/// How long a token read stays cached by default. The SDKs read the store before every request:
/// without a cache each request is a `GetSecretValue` (a few milliseconds, and a charge per 10,000).
/// Short enough that another process's change (a delete, a sign-in) shows within it; what the cache
/// could make stale is re-read past it where it matters (a token due for refresh, a save, the lease).
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(30);

/// How long before expiry a found token is refreshed by default, once for the fleet: the crate's
/// default margin (a token that lives only minutes gets a quarter of its lifetime).
pub const DEFAULT_REFRESH_AHEAD: Duration = crate::manager::DEFAULT_REFRESH_MARGIN;

/// How many days a deleted token can be restored by default (Secrets Manager's least window).
pub const DEFAULT_RECOVERY_WINDOW_DAYS: u8 = 7;

/// The options of a binding's store, as the caller gave them (None: not given, the default applies).
///
/// Built with [`SdkOptions::new`] and its fields set one by one; [`SdkOptions::check`] turns them into
/// an [`SdkConfig`] or says, in the caller's words, which option to change.
#[derive(Clone)]
#[non_exhaustive]
pub struct SdkOptions {
    /// The language the caller writes, which names the options in messages.
    pub api: Api,
    /// The prefix of every secret name (default [`DEFAULT_PREFIX`]).
    pub prefix: Option<String>,
    /// The keyring's text (what `zoho-token-store keygen` prints). Key material: never shown by
    /// `Debug`. With neither this nor `keyring_secret`, the environment names the keys as it does for
    /// the operator tool: the keyring secret `ZOHO_TOKEN_STORE_KEYRING_SECRET`, else the keyring in
    /// `ZOHO_TOKEN_STORE_KEYS`.
    pub keys: Option<Zeroizing<String>>,
    /// The name or ARN of the secret that holds the keyring.
    pub keyring_secret: Option<String>,
    /// The KMS key that wraps the keys of the keyring secret (default `ZOHO_TOKEN_STORE_KMS_KEY_ID`).
    pub kms_key_id: Option<String>,
    /// Read a KMS keyring written before keys were bound to their secret's name (for the upgrade;
    /// also `ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING=1`).
    pub allow_unbound_keyring: bool,
    /// The AWS endpoint (LocalStack's `http://127.0.0.1:4566`); None: `AWS_ENDPOINT_URL` or AWS.
    pub endpoint_url: Option<String>,
    /// The AWS region; None: the standard chain (`AWS_REGION`, the profile, ...).
    pub region: Option<String>,
    /// How long a token read stays cached, in seconds (default [`DEFAULT_CACHE_TTL`]); 0: no cache.
    pub cache_ttl_seconds: Option<f64>,
    /// Days a deleted token can be restored (7 to 30, default 7); 0: deleted at once.
    pub recovery_window_days: Option<f64>,
    /// Refresh a found token this long before it expires, once for the fleet (default
    /// [`DEFAULT_REFRESH_AHEAD`]); 0: leave refreshing to the SDK in each process.
    pub refresh_ahead_seconds: Option<f64>,
}

impl fmt::Debug for SdkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SdkOptions")
            .field("api", &self.api)
            .field("prefix", &self.prefix)
            .field("keys", &self.keys.as_ref().map(|_| "<redacted>"))
            .field("keyring_secret", &self.keyring_secret)
            .field("kms_key_id", &self.kms_key_id)
            .field("allow_unbound_keyring", &self.allow_unbound_keyring)
            .field("endpoint_url", &self.endpoint_url)
            .field("region", &self.region)
            .field("cache_ttl_seconds", &self.cache_ttl_seconds)
            .field("recovery_window_days", &self.recovery_window_days)
            .field("refresh_ahead_seconds", &self.refresh_ahead_seconds)
            .finish()
    }
}

/// The checked options: what a process builds its store from ([`SdkConfig::connect`]).
#[derive(Clone, Debug)]
pub struct SdkConfig {
    pub(super) api: Api,
    pub(super) prefix: String,
    /// Read once, at the check: a forked child builds its store from this keyring, not from whatever
    /// the environment holds by then.
    pub(super) keys: KeysConfig,
    pub(super) endpoint_url: Option<String>,
    pub(super) region: Option<String>,
    /// None: no read cache.
    pub(super) cache_ttl: Option<Duration>,
    pub(super) recovery_window: RecoveryWindow,
    /// None: the SDK refreshes in each process.
    pub(super) refresh_ahead: Option<Duration>,
}

impl SdkConfig {
    /// The prefix of every secret name the store uses.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether found tokens are refreshed ahead, once for the fleet (so the binding passes the SDK's
    /// accounts URL to the lookups).
    pub fn refreshes_ahead(&self) -> bool {
        self.refresh_ahead.is_some()
    }
}

impl SdkOptions {
    /// No option given: every default applies, and messages name options as `api` does.
    pub fn new(api: Api) -> Self {
        Self {
            api,
            prefix: None,
            keys: None,
            keyring_secret: None,
            kms_key_id: None,
            allow_unbound_keyring: false,
            endpoint_url: None,
            region: None,
            cache_ttl_seconds: None,
            recovery_window_days: None,
            refresh_ahead_seconds: None,
        }
    }

    /// Checks every option (and reads `ZOHO_TOKEN_STORE_KEYS` when no keyring is given).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the option to change, as the caller's language names it: keys
    /// and a keyring secret both given, a KMS key without a keyring secret, a keyring that does not
    /// parse (or none given and none in the environment), a malformed region or endpoint, or a number
    /// out of range.
    pub fn check(self) -> Result<SdkConfig> {
        let api = self.api;
        let name = |snake: &str| api.setting(snake);
        if self.keys.is_some() && self.keyring_secret.is_some() {
            return Err(Error::invalid_config(format!(
                "give either {} or {}, not both: {0} is the keyring's text, {1} the name of the secret \
                 that holds it",
                name("keys"),
                name("keyring_secret")
            )));
        }
        // As the operator tool reads them: an option given wins, else its environment variable (so a
        // Lambda function configured by environment alone needs no code for it).
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if self.kms_key_id.is_some() && self.keyring_secret.is_none() {
            return Err(Error::invalid_config(format!(
                "{} wraps the keys of a keyring secret: give {} too",
                name("kms_key_id"),
                name("keyring_secret")
            )));
        }
        // The environment names the keys only when no option does, and then whole: a keyring secret
        // given as an option never picks up a KMS key or the unbound-keyring switch from the
        // environment, which may describe another keyring.
        let from_env = match (&self.keyring_secret, &self.keys) {
            (None, None) => env(KEYRING_SECRET_ENV_VAR),
            _ => None,
        };
        let keys = match (self.keyring_secret, self.keys) {
            (Some(secret), _) => KeysConfig::secret(secret)
                .kms_key_id(self.kms_key_id)
                .allow_unbound_keys(self.allow_unbound_keyring),
            (None, Some(text)) => KeysConfig::keyring(keyring(&text, &name("keys"))?),
            (None, None) => match (from_env, env(KEYS_ENV_VAR)) {
                (Some(secret), _) => KeysConfig::secret(secret)
                    .kms_key_id(env(KMS_KEY_ID_ENV_VAR))
                    .allow_unbound_keys(
                        self.allow_unbound_keyring
                            || env(ALLOW_UNBOUND_KEYRING_ENV_VAR).is_some_and(|v| v == "1"),
                    ),
                (None, Some(text)) => {
                    KeysConfig::keyring(keyring(&Zeroizing::new(text), KEYS_ENV_VAR)?)
                }
                (None, None) => {
                    return Err(Error::invalid_config(format!(
                        "no keyring: give {} (a keyring secret made by `zoho-token-store init-keyring`; \
                         or set {KEYRING_SECRET_ENV_VAR}), or {} (the text `zoho-token-store keygen` \
                         prints, kept in your secret manager; or set {KEYS_ENV_VAR} to it)",
                        name("keyring_secret"),
                        name("keys")
                    )));
                }
            },
        };
        let prefix = self.prefix.unwrap_or_else(|| DEFAULT_PREFIX.to_owned());
        check_prefix(&prefix).map_err(|e| match e {
            Error::InvalidConfig { reason } => Error::invalid_config(format!(
                "{} cannot be used: {reason}",
                api.assignment("prefix", &api.quote(&prefix))
            )),
            other => other,
        })?;
        if let Some(region) = &self.region {
            check_region(api, region)?;
        }
        if let Some(url) = &self.endpoint_url {
            check_endpoint(api, url)?;
        }
        Ok(SdkConfig {
            api,
            prefix,
            keys,
            endpoint_url: self.endpoint_url,
            region: self.region,
            cache_ttl: cache_ttl(api, self.cache_ttl_seconds)?,
            recovery_window: recovery_window(api, self.recovery_window_days)?,
            refresh_ahead: refresh_ahead(api, self.refresh_ahead_seconds)?,
        })
    }
}

/// The keyring in `text`, or an error naming where it came from (`keys=`, `ZOHO_TOKEN_STORE_KEYS`).
fn keyring(text: &str, source: &str) -> Result<Arc<Keyring>> {
    Keyring::parse(text).map(Arc::new).map_err(|e| match e {
        Error::InvalidConfig { reason } => {
            Error::invalid_config(format!("{source} is not a keyring: {reason}"))
        }
        other => other,
    })
}

/// A number as the caller wrote it: `30`, `2.5`, `-1`.
fn number(value: f64) -> String {
    format!("{value}")
}

fn cache_ttl(api: Api, seconds: Option<f64>) -> Result<Option<Duration>> {
    match seconds {
        None => Ok(Some(DEFAULT_CACHE_TTL)),
        Some(0.0) => Ok(None),
        // try_from: a number of seconds past what a Duration holds (1e20) is refused, not a panic.
        Some(s) if s > 0.0 && Duration::try_from_secs_f64(s).is_ok() => {
            Ok(Some(Duration::from_secs_f64(s)))
        }
        Some(s) => Err(Error::invalid_config(format!(
            "{} is not a number of seconds: give a positive number (the default, 30, suits most apps), \
             or {} for no cache",
            api.assignment("cache_ttl_seconds", &number(s)),
            api.assignment("cache_ttl_seconds", "0")
        ))),
    }
}

fn refresh_ahead(api: Api, seconds: Option<f64>) -> Result<Option<Duration>> {
    let least = SDK_MARGIN.as_secs_f64();
    let most = MAX_REFRESH_MARGIN.as_secs_f64();
    match seconds {
        None => Ok(Some(DEFAULT_REFRESH_AHEAD)),
        Some(0.0) => Ok(None),
        Some(s) if s.is_finite() && s > least && s <= most => Ok(Some(Duration::from_secs_f64(s))),
        // Past the manager's longest margin a token would be refreshed on every request (Zoho's live an
        // hour): refused here, not left to fail quietly on every find.
        Some(s) => Err(Error::invalid_config(format!(
            "{} is out of range: give more than the {least} s before expiry at which the SDK refreshes \
             by itself and at most {most} (the default, {}, suits Zoho's tokens), or {} to leave \
             refreshing to the SDK in each process (a single-process app)",
            api.assignment("refresh_ahead_seconds", &number(s)),
            DEFAULT_REFRESH_AHEAD.as_secs(),
            api.assignment("refresh_ahead_seconds", "0")
        ))),
    }
}

fn recovery_window(api: Api, days: Option<f64>) -> Result<RecoveryWindow> {
    let Some(days) = days else {
        return Ok(RecoveryWindow::Days(DEFAULT_RECOVERY_WINDOW_DAYS));
    };
    if days == 0.0 {
        return Ok(RecoveryWindow::Immediate);
    }
    if (7.0..=30.0).contains(&days) && days.fract() == 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a whole 7 to 30
        return Ok(RecoveryWindow::Days(days as u8));
    }
    Err(Error::invalid_config(format!(
        "{} is not a recovery window Secrets Manager allows: give a whole number of days from 7 to 30 \
         (a deleted token can be restored that long), or {} to delete at once",
        api.assignment("recovery_window_days", &number(days)),
        api.assignment("recovery_window_days", "0")
    )))
}

/// A region name as AWS writes them (`us-east-1`, `us-gov-west-1`): lowercase letters, digits and
/// inner hyphens. Anything else would only surface later as "no region configured" or a failed
/// connection to a host that does not exist.
fn check_region(api: Api, region: &str) -> Result<()> {
    let well_formed = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if well_formed {
        return Ok(());
    }
    let hint = if region.trim() != region {
        "it has spaces around it"
    } else if region.is_empty() {
        "it is empty"
    } else {
        "a region is lowercase letters, digits and hyphens"
    };
    Err(Error::invalid_config(format!(
        "{} is not an AWS region name such as {} ({hint}); leave it out to use AWS_REGION or your AWS \
         profile's",
        api.assignment("region", &api.quote(region)),
        api.quote("us-east-1")
    )))
}

/// An endpoint URL with a scheme and a host (`http://127.0.0.1:4566`): without one the AWS SDK's error
/// would name only `AWS_ENDPOINT_URL`, or a request would go somewhere unexpected.
fn check_endpoint(api: Api, url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url);
    let fine = parsed.as_ref().is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    });
    if fine && url.trim() == url {
        return Ok(());
    }
    let hint = if url.trim() != url {
        "it has spaces around it"
    } else if !url.contains("://") {
        "it has no scheme: begin it with http:// or https://"
    } else {
        "give http:// or https://, a host, and the port if not the scheme's"
    };
    Err(Error::invalid_config(format!(
        "{} is not an endpoint URL such as {} ({hint}); leave it out to use AWS_ENDPOINT_URL or AWS",
        api.assignment("endpoint_url", &api.quote(url)),
        api.quote("http://127.0.0.1:4566")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python() -> SdkOptions {
        let mut options = SdkOptions::new(Api::Python);
        options.keys = Keyring::generate("k1").ok();
        options
    }

    fn refused(options: SdkOptions) -> String {
        match options.check() {
            Err(Error::InvalidConfig { reason }) => reason,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn each_value_out_of_range_is_named_as_the_caller_wrote_it() {
        let mut o = python();
        o.recovery_window_days = Some(3.0);
        let m = refused(o);
        assert!(m.starts_with("recovery_window_days=3 "), "{m}");
        assert!(m.contains("recovery_window_days=0"), "{m}");

        let mut o = python();
        o.api = Api::JavaScript;
        o.recovery_window_days = Some(7.5);
        let m = refused(o);
        assert!(m.starts_with("recoveryWindowDays: 7.5 "), "{m}");

        let mut o = python();
        o.cache_ttl_seconds = Some(-1.0);
        assert!(refused(o).starts_with("cache_ttl_seconds=-1 "));

        // Past what a Duration holds: refused, not a panic across the binding.
        let mut o = python();
        o.cache_ttl_seconds = Some(1e20);
        assert!(refused(o).starts_with("cache_ttl_seconds=100000000000000000000 "));

        let mut o = python();
        o.refresh_ahead_seconds = Some(5.0);
        assert!(refused(o).contains("refresh_ahead_seconds=0"));

        let mut o = python();
        o.region = Some("us-east-1 ".into());
        let m = refused(o);
        assert!(m.starts_with("region='us-east-1 ' "), "{m}");
        assert!(m.contains("spaces"), "{m}");

        let mut o = python();
        o.endpoint_url = Some("127.0.0.1:4566".into());
        let m = refused(o);
        assert!(m.starts_with("endpoint_url='127.0.0.1:4566' "), "{m}");
        assert!(m.contains("http://"), "{m}");
    }

    #[test]
    fn defaults_are_the_fleet_safe_ones() {
        let config = python().check().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.cache_ttl, Some(DEFAULT_CACHE_TTL));
        assert_eq!(config.refresh_ahead, Some(DEFAULT_REFRESH_AHEAD));
        assert_eq!(
            config.recovery_window,
            RecoveryWindow::Days(DEFAULT_RECOVERY_WINDOW_DAYS)
        );
        assert_eq!(config.prefix, DEFAULT_PREFIX);
    }

    #[test]
    fn keys_never_reach_debug_or_a_message() {
        let mut o = python();
        o.keys = Some(Zeroizing::new("index=c2VjcmV0LXNlY3JldA==".into()));
        assert!(!format!("{o:?}").contains("c2VjcmV0"));
        let m = refused(o);
        assert!(m.starts_with("keys= is not a keyring: "), "{m}");
        assert!(!m.contains("c2VjcmV0"), "{m}");
    }
}
