//! A mock Zoho: the accounts server (refresh, grant exchange, revoke) and the CRM current-user call.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_string_contains, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use zoho_token_store::AccountsClient;

/// Answers refreshes with `access-<n>` (n counts calls from 1), after `delay` for the first `slow` calls.
struct Refresher {
    calls: Arc<AtomicUsize>,
    delay: Duration,
    slow: usize,
    expires_in: u64,
    api_domain: String,
}

impl Respond for Refresher {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let body = json!({
            "access_token": format!("access-{n}"),
            "api_domain": self.api_domain,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        });
        let template = ResponseTemplate::new(200).set_body_json(body);
        if n <= self.slow {
            template.set_delay(self.delay)
        } else {
            template
        }
    }
}

pub struct Zoho {
    pub server: MockServer,
    refreshes: Arc<AtomicUsize>,
    exchanges: Arc<AtomicUsize>,
    codes: Arc<Mutex<HashSet<String>>>,
}

impl Zoho {
    pub async fn start() -> Self {
        Self::start_with(Duration::ZERO, 0, 3600).await
    }

    pub async fn start_with(delay: Duration, slow: usize, expires_in: u64) -> Self {
        let server = MockServer::start().await;
        let refreshes = Arc::new(AtomicUsize::new(0));
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token"))
            .and(body_string_contains("grant_type=refresh_token"))
            .respond_with(Refresher {
                calls: Arc::clone(&refreshes),
                delay,
                slow,
                expires_in,
                api_domain: server.uri(),
            })
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/crm/v8/users"))
            .and(query_param("type", "CurrentUser"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"users": [{"email": "discovered@example.com"}]})),
            )
            .mount(&server)
            .await;
        Self {
            server,
            refreshes,
            exchanges: Arc::default(),
            codes: Arc::default(),
        }
    }

    pub fn accounts(&self) -> AccountsClient {
        AccountsClient::with_base_url(self.server.uri())
    }

    pub fn refreshes(&self) -> usize {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// Also answers grant exchanges as Zoho does: each code works once (`refresh-<code>` and
    /// `access-<code>`); a code used again answers `invalid_code`. And accepts revocations.
    pub async fn with_grants(self) -> Self {
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token"))
            .and(body_string_contains("grant_type=authorization_code"))
            .respond_with(Exchanger {
                calls: Arc::clone(&self.exchanges),
                used: Arc::clone(&self.codes),
                api_domain: self.server.uri(),
            })
            .mount(&self.server)
            .await;
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token/revoke"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "success"})))
            .mount(&self.server)
            .await;
        self
    }

    /// Grant exchanges asked for (each code's first one succeeds, any other fails).
    pub fn exchanges(&self) -> usize {
        self.exchanges.load(Ordering::SeqCst)
    }
}

struct Exchanger {
    calls: Arc<AtomicUsize>,
    used: Arc<Mutex<HashSet<String>>>,
    api_domain: String,
}

impl Respond for Exchanger {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let code = body
            .split('&')
            .find_map(|kv| kv.strip_prefix("code="))
            .unwrap_or_default()
            .to_owned();
        if !self.used.lock().unwrap().insert(code.clone()) {
            return ResponseTemplate::new(200).set_body_json(json!({"error": "invalid_code"}));
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("access-{code}"),
            "refresh_token": format!("refresh-{code}"),
            "api_domain": self.api_domain,
            "token_type": "Bearer",
            "expires_in": 3600,
        }))
    }
}
