//! How things are shown: tables for people, JSON for scripts, secrets masked unless revealed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::OAuthToken;
use serde_json::{Value, json};

/// A secret as shown: the value with `--reveal`, otherwise a short masked suffix.
pub fn secret(value: Option<&str>, reveal: bool) -> Value {
    match value {
        None => Value::Null,
        Some(v) if reveal => Value::String(v.to_owned()),
        Some(v) => {
            // The last four characters at most, and only of values long enough that it reveals little.
            let tail: String = if v.chars().count() >= 16 {
                v.chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect()
            } else {
                String::new()
            };
            Value::String(format!(
                "[redacted]{}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(" ...{tail}")
                }
            ))
        }
    }
}

/// A token as a JSON object, secrets masked unless `reveal`.
pub fn token_json(t: &OAuthToken, reveal: bool) -> Value {
    json!({
        "id": t.id,
        "user_name": t.user_name,
        "client_id": t.client_id,
        "client_secret": secret(t.client_secret.as_ref().map(|s| s.secret()), reveal),
        "grant_token": secret(t.grant_token.as_ref().map(|s| s.secret()), reveal),
        "refresh_token": secret(t.refresh_token.as_ref().map(|s| s.secret()), reveal),
        "access_token": secret(t.access_token.as_ref().map(|s| s.secret()), reveal),
        "expiry_time": t.expires_at_ms,
        "redirect_url": t.redirect_url,
        "api_domain": t.api_domain,
        "source_id": t.source_id,
    })
}

/// A token for people: one `field: value` per line.
pub fn token_text(t: &OAuthToken, reveal: bool) -> String {
    let Value::Object(fields) = token_json(t, reveal) else {
        return String::new();
    };
    let mut out = String::new();
    for (k, v) in fields {
        let shown = match (&k[..], &v) {
            ("expiry_time", Value::Number(n)) => format!("{n} ({})", expiry(n.as_u64())),
            (_, Value::String(s)) => s.clone(),
            (_, Value::Null) => "-".to_owned(),
            (_, other) => other.to_string(),
        };
        out += &format!("{k:<14} {shown}\n");
    }
    out
}

/// "in 41 min", "expired 3 h ago", "-".
pub fn expiry(at_ms: Option<u64>) -> String {
    let Some(at) = at_ms else {
        return "-".to_owned();
    };
    // Read against the clock directly: the library keeps its clock reading to itself.
    match (UNIX_EPOCH + Duration::from_millis(at)).duration_since(SystemTime::now()) {
        Ok(left) if !left.is_zero() => format!("in {}", span(left.as_millis() as u64)),
        Ok(_) => format!("expired {} ago", span(0)),
        Err(past) => format!("expired {} ago", span(past.duration().as_millis() as u64)),
    }
}

/// "3 min ago", "-".
pub fn ago(at: Option<SystemTime>) -> String {
    match at.and_then(|t| SystemTime::now().duration_since(t).ok()) {
        Some(d) => format!("{} ago", span(d.as_millis() as u64)),
        None => "-".to_owned(),
    }
}

fn span(ms: u64) -> String {
    let d = Duration::from_millis(ms);
    match d.as_secs() {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 * 2 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// A plain, aligned text table.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out += &line(row.iter().map(String::as_str).collect());
    }
    out
}
