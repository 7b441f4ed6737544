//! The strict Zoho mock (`zoho-mock/strict-zoho`): one process per test that asks for it, enforcing
//! Zoho's OAuth limits (a grant once and for 3 minutes, 10 refreshes per refresh token per 10 minutes, 15
//! live access tokens, 20 refresh tokens per user and client, revocation) on a clock the test may scale,
//! and reached by the store's own Zoho client.
//!
//! Its control calls are synchronous (plain HTTP/1.0 over a `TcpStream`) so a test can poll them from a
//! closure, as in `until(|| zoho.refreshes() == 1)`; each is one local round trip.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Child;

use serde_json::{Value, json};
use zoho_token_store::AccountsClient;

/// A running strict Zoho mock; stopped when dropped.
pub struct StrictZoho {
    url: String,
    child: Child,
}

impl StrictZoho {
    /// Starts the mock with `options` (see `zoho-mock/strict-zoho --help`: `--scale`, `--client-id`,
    /// `--client-secret`, `--email`, `--org`, ...) on a free port. Panics with the reason if it cannot
    /// start: nothing is skipped.
    pub fn start(options: &[&str]) -> Self {
        let args = [&["--port", "0"], options].concat();
        let (child, url) = super::spawn_listening("zoho-mock/strict-zoho", "strict-zoho", &args);
        Self { url, child }
    }

    /// Its address: the accounts server's base URL and the CRM's API domain alike.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store's Zoho accounts client, pointed at it (a "process" of the fleet).
    pub fn accounts(&self) -> AccountsClient {
        AccountsClient::with_base_url(&self.url)
    }

    /// Issues grant code `code` now, for the mock's client and user (a user's consent): accepted once,
    /// within 180 Zoho seconds.
    pub fn grant(&self, code: &str) {
        self.post("/_zoho/grant", &json!({ "code": code }));
    }

    /// Registers `token` as a refresh token Zoho issued before the test, for `email` and the mock's client.
    pub fn refresh_token(&self, token: &str, email: &str) {
        self.post(
            "/_zoho/refresh_token",
            &json!({ "refresh_token": token, "email": email }),
        );
    }

    /// Sets hooks (`hold_refreshes_until`, `hold_exchanges_until`, `hang_next_refresh`,
    /// `slow_refreshes` with `refresh_delay`); answers the hooks as they are now.
    pub fn hooks(&self, settings: &Value) -> Value {
        self.post("/_zoho/hooks", settings)
    }

    /// Whether the refresh `hang_next_refresh` holds has arrived (Zoho has acted on it already).
    pub fn hung(&self) -> bool {
        self.stats()["hooks"]["hung"].as_bool().unwrap()
    }

    /// Lets the hung refresh answer.
    pub fn release(&self) {
        self.post("/_zoho/release", &json!({}));
    }

    /// Moves Zoho's clock on `seconds` Zoho (unscaled) seconds.
    pub fn advance(&self, seconds: f64) {
        self.post("/_zoho/advance", &json!({ "seconds": seconds }));
    }

    /// Holds Zoho's time still (`paused`) or lets it run again: for harness latency that is not Zoho's.
    pub fn pause(&self, paused: bool) {
        self.post("/_zoho/clock", &json!({ "paused": paused }));
    }

    /// What it was asked and answered: counts (`exchanges`, `refused_exchanges`, `refreshes`,
    /// `access_denied`, `evicted`, `invalid_token`, ...), per refresh token, the clock and the hooks.
    pub fn stats(&self) -> Value {
        self.call("GET", "/_zoho/stats", None)
    }

    /// One counter of [`stats`](Self::stats).
    pub fn stat(&self, name: &str) -> u64 {
        let stats = self.stats();
        stats[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no counter {name} in {stats}"))
    }

    /// Refresh requests it received, whatever it answered.
    pub fn refreshes(&self) -> usize {
        self.stat("refresh_requests") as usize
    }

    /// Grant exchange requests it received, whatever it answered.
    pub fn exchanges(&self) -> usize {
        self.stat("exchange_requests") as usize
    }

    /// Every access token it minted, in order, each with the one it replaced and the life that one had
    /// left (`zoho-mock/README.md`, "issued").
    pub fn issued(&self) -> Vec<Value> {
        self.stats()["issued"].as_array().unwrap().clone()
    }

    /// The refreshes of `refresh_token` made while the access token minted before it was unexpired and
    /// had more than `within` seconds left as its clients count it (from its issue, in real time): each
    /// one a second refresh of one expiry, whatever the scheduling. `within` is the fleet's refresh margin
    /// plus how far its processes' clocks disagree.
    pub fn early_refreshes(&self, refresh_token: &str, within: f64) -> Vec<Value> {
        self.issued()
            .into_iter()
            .filter(|minted| {
                minted["refresh_token"] == refresh_token
                    && minted["by"] == "refresh"
                    && minted["replaced_left"]
                        .as_f64()
                        .is_some_and(|left| left > 0.0)
                    && minted["replaced_left_real"]
                        .as_f64()
                        .is_some_and(|left| left > within)
            })
            .collect()
    }

    /// Asserts Zoho's limits held: nothing throttled, evicted, refused, and every CRM call's token live.
    pub fn assert_within_limits(&self) {
        let stats = self.stats();
        for counter in [
            "access_denied",
            "evicted",
            "refused_refreshes",
            "invalid_token",
            "deleted_refresh_tokens",
        ] {
            assert_eq!(stats[counter], 0, "{counter}: {stats}");
        }
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        self.call("POST", path, Some(body))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let address = self.url.strip_prefix("http://").unwrap();
        let mut stream = TcpStream::connect(address).unwrap();
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // HTTP/1.0: the mock closes the connection after its answer.
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, json) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
        assert!(
            head.split_whitespace().nth(1) == Some("200"),
            "{method} {path}: {head}\n{json}"
        );
        serde_json::from_str(json).unwrap()
    }
}

impl Drop for StrictZoho {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
