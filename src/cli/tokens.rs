//! The commands that read and remove tokens: list, show, find, delete, purge, export.

use std::io::Write;
use std::path::PathBuf;

use crate::{OAuthToken, RecoveryWindow, TokenStore};
use serde_json::json;

use crate::cli::config::Global;
use crate::cli::{
    Failure, FindBy, Outcome, output, print_json, progress, quit_if_reader_gone,
    unreadable_at_the_end, usable_id,
};

pub async fn list(g: &Global) -> Outcome {
    let inventory = g.store().await?.inventory().await?;
    let entries = &inventory.tokens;
    if g.json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({
                    "id": e.token.id, "user_name": e.token.user_name, "client_id": e.token.client_id,
                    "expiry_time": e.token.expires_at_ms, "key_id": e.key_id,
                    "last_changed": e.last_changed.map(|t| humantime::format_rfc3339_seconds(t).to_string()),
                    "zoho": e.token.refusal.map(|r| r.status()),
                })
            })
            .collect();
        print_json(&json!(rows));
        return unreadable_at_the_end(&inventory.unreadable);
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                dash(&e.token.id),
                dash(&e.token.user_name),
                dash(&e.token.client_id),
                output::expiry(e.token.expires_at_ms),
                e.key_id.clone(),
                output::ago(e.last_changed),
                // Zoho's refusal of the refresh token, if any: revoked, or throttled until when.
                e.token
                    .refusal
                    .map_or_else(|| "-".to_owned(), |r| r.status()),
            ]
        })
        .collect();
    out!(
        "{}",
        output::table(
            &[
                "ID",
                "USER",
                "CLIENT ID",
                "EXPIRES",
                "KEY",
                "CHANGED",
                "ZOHO"
            ],
            &rows
        )
    );
    unreadable_at_the_end(&inventory.unreadable)
}

/// `show`: one token by id.
pub async fn show(g: &Global, id: String, reveal: bool) -> Outcome {
    let store = g.store().await?;
    usable_id(&store, &id)?;
    let token = store
        .find_token_by_id(&id)
        .await?
        .ok_or_else(|| Failure::NotFound(format!("no token with id `{id}`")))?;
    print_token(g, &token, reveal);
    Ok(())
}

/// `find`: one token by user name or by one of its tokens.
pub async fn find(g: &Global, by: FindBy, client_id: Option<String>, reveal: bool) -> Outcome {
    let query = find_query(by, client_id)?;
    let store = g.store().await?;
    let token = store
        .find_token(&query)
        .await?
        .ok_or_else(|| Failure::NotFound("no token matches".into()))?;
    print_token(g, &token, reveal);
    Ok(())
}

fn find_query(by: FindBy, client_id: Option<String>) -> Result<OAuthToken, Failure> {
    let with_client = |t: OAuthToken| match &client_id {
        // The contract matches grant and refresh tokens only with client credentials; the id is what
        // is compared, so the secret can be a placeholder here.
        Some(c) => Ok(t.with_client(c.clone(), "-")),
        None => Err(Failure::Usage(
            "--refresh-token and --grant-token need --client-id".into(),
        )),
    };
    match by {
        FindBy { user: Some(u), .. } => Ok(OAuthToken::default().with_user_name(u)),
        FindBy {
            refresh_token: Some(r),
            ..
        } => with_client(OAuthToken::default().with_refresh_token(r)),
        FindBy {
            grant_token: Some(g),
            ..
        } => with_client(OAuthToken::default().with_grant_token(g)),
        FindBy {
            access_token: Some(a),
            ..
        } => Ok(OAuthToken {
            access_token: Some(a.into()),
            ..OAuthToken::default()
        }),
        _ => Err(Failure::Usage(
            "give one of --user, --refresh-token, --grant-token, --access-token".into(),
        )),
    }
}

/// `delete`: one token, by id.
pub async fn delete(g: &Global, id: String, force: bool) -> Outcome {
    let absent = || Failure::NotFound(format!("no token with id `{id}`"));
    if force {
        let store = g.store_with(RecoveryWindow::Immediate).await?;
        usable_id(&store, &id)?;
        // Deleting reads no value: a token this store cannot read goes too, as does one in its
        // recovery window.
        if !store.remove_token(&id).await? {
            return Err(absent());
        }
        outln!("deleted {id} for good");
        return Ok(());
    }
    let store = g.store().await?;
    usable_id(&store, &id)?;
    // Checked without decrypting, so a token this store cannot read can still be deleted.
    if !store.contains(&id).await? {
        return Err(absent());
    }
    store.delete_token(&id).await?;
    outln!("deleted {id} (recoverable for 7 days)");
    Ok(())
}

/// `purge`: every token of this store.
pub async fn purge(g: &Global, yes: bool, force: bool) -> Outcome {
    if !yes {
        return Err(Failure::Usage(
            "purge deletes every token of this store; add --yes to confirm".into(),
        ));
    }
    let window = if force {
        RecoveryWindow::Immediate
    } else {
        RecoveryWindow::default()
    };
    let store = g.store_with(window).await?;
    // Deleting reads no value: a token this store cannot decrypt goes too.
    let before = store.scan_tokens().await?;
    let bar = progress(before.tokens.len() as u64, "purging");
    store.delete_tokens().await?;
    bar.finish_and_clear();
    let left = store.scan_tokens().await?.unreadable;
    let count = before.tokens.len() + before.unreadable.len() - left.len();
    outln!(
        "deleted {count} token(s){}",
        if force {
            ""
        } else {
            " (recoverable for 7 days)"
        }
    );
    // What is left is not this store's (no marker): named, not deleted.
    unreadable_at_the_end(&left)
}

pub async fn export(g: &Global, reveal: bool, output: Option<PathBuf>) -> Outcome {
    if !reveal {
        return Err(Failure::Usage(
            "export writes every token decrypted; add --reveal to confirm".into(),
        ));
    }
    let scan = g.store().await?.scan_tokens().await?;
    let tokens = &scan.tokens;
    let failed = |path: &std::path::Path, e: &dyn std::fmt::Display| {
        Failure::Failed(format!("{}: {e}", path.display()))
    };
    // A file is written as a new owner-only temporary file beside the target and renamed into place:
    // an existing file (or a link planted at the path) is replaced whole, never written through.
    let mut temp = match &output {
        Some(path) => {
            let dir = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => std::path::Path::new("."),
            };
            Some(tempfile::NamedTempFile::new_in(dir).map_err(|e| failed(path, &e))?)
        }
        None => None,
    };
    let mut out: Box<dyn Write + '_> = match temp.as_mut() {
        Some(file) => Box::new(file),
        None => Box::new(std::io::stdout().lock()),
    };
    let bar = progress(tokens.len() as u64, "exporting");
    for token in tokens {
        let line = token.to_json();
        out.write_all(&line)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| {
                quit_if_reader_gone(&e);
                Failure::Failed(format!("writing: {e}"))
            })?;
        bar.inc(1);
    }
    out.flush().map_err(|e| {
        quit_if_reader_gone(&e);
        Failure::Failed(format!("writing: {e}"))
    })?;
    drop(out);
    bar.finish_and_clear();
    if let (Some(temp), Some(path)) = (temp, &output) {
        temp.persist(path).map_err(|e| failed(path, &e.error))?;
    }
    if let Some(path) = output {
        eprintln!(
            "exported {} token(s) to {} (owner-only)",
            tokens.len(),
            path.display()
        );
    }
    unreadable_at_the_end(&scan.unreadable)
}

pub fn print_token(g: &Global, token: &OAuthToken, reveal: bool) {
    if g.json {
        print_json(&output::token_json(token, reveal));
    } else {
        out!("{}", output::token_text(token, reveal));
    }
}
