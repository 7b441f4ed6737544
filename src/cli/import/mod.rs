//! The `import` command: every row of a Zoho SDK store's file, stored once per identity, idempotently.
//!
//! Nothing stored is lost to an import: a row never replaces a token of another app (another client id)
//! for the same user, nor one newer than itself (expiring later, or changed since the file was written).

use crate::{OAuthToken, SecretsManagerStore, TokenStore};
use serde_json::json;

use crate::cli::config::Global;
use crate::cli::{Failure, Outcome, print_json, progress};

mod read;

pub use read::Format;

/// What importing one row does to the store.
#[derive(Clone, PartialEq, Eq)]
enum Change {
    Created,
    Updated,
    Unchanged,
    /// The stored token is newer than the row (why): it stays.
    Kept(&'static str),
}

/// `import`: reads every row of `file`, then stores each one (or, with `dry_run`, says what it would do).
pub async fn run(
    g: &Global,
    file: &std::path::Path,
    format: Format,
    dry_run: bool,
    new_ids: bool,
) -> Outcome {
    let rows = read::read(file, format).map_err(Failure::Failed)?;
    // A stored token that changed after the file was written is newer than any row of it.
    let store = g.store().await?;
    // With another store's index key, every row would look new ("would be: created N"): say so once.
    store.check_index_key().await?;
    let mut tally = Tally::default();
    let bar = progress(
        rows.len() as u64,
        if dry_run { "checking" } else { "importing" },
    );
    for row in rows {
        bar.inc(1);
        let number = row.number;
        match import_row(&store, row, dry_run, new_ids).await {
            RowEnd::Done(change, mapped) => tally.count(number, change, mapped),
            RowEnd::Failed(reason) => tally.failures.push((number, reason)),
            RowEnd::Stop(e) => {
                tally.stopped = Some((number, e));
                break;
            }
        }
    }
    bar.finish_and_clear();
    tally.print(g, dry_run);
    tally.outcome()
}

/// How one row ended.
enum RowEnd {
    /// Counted as this change; with the file's id and the id it is stored under when the file's id
    /// could not name a secret.
    Done(Change, Option<(String, Option<String>)>),
    /// Reported with this reason; the other rows go on.
    Failed(String),
    /// The service is unreachable or failing: every row after this one would fail the same way.
    Stop(crate::Error),
}

impl From<crate::Error> for RowEnd {
    fn from(e: crate::Error) -> Self {
        if e.is_retryable() {
            Self::Stop(e)
        } else {
            Self::Failed(e.to_string())
        }
    }
}

/// One row: which stored token it updates, if any, and the write (none for an unchanged or kept row,
/// nor on a dry run). Counted only once its write landed.
async fn import_row(
    store: &SecretsManagerStore,
    row: read::Row,
    dry_run: bool,
    new_ids: bool,
) -> RowEnd {
    let mut token = match row.token {
        Ok(t) => t,
        Err(reason) => return RowEnd::Failed(reason),
    };
    // An SDK 2.1 id such as `python_O'Brien_us_23bd` cannot name a secret: the token is stored under
    // the id the store gives it (the same one on every import) and keeps the file's id inside.
    let remapped = token.move_unusable_id_to_source();
    let existing = match stored_for(store, &mut token, new_ids).await {
        Ok(existing) => existing,
        Err(end) => return end,
    };
    let change = match existing {
        Some(stored) => {
            if let Some(refusal) = another_app(&stored, &token) {
                return RowEnd::Failed(refusal);
            }
            token.id = stored.id.clone();
            // A row naming no user matched by its client and refresh token: the same user, whom the
            // stored token may have learnt since (the SDK names a token on its first save) and keeps.
            if token.user_name.is_none() {
                token.user_name.clone_from(&stored.user_name);
            }
            // A token stored already keeps the id it came with.
            token.source_id.clone_from(&stored.source_id);
            row.absent.keep_stored(&mut token, &stored);
            // What an SDK file cannot carry (when Zoho issued the access token, Zoho's refusal of the
            // refresh token) goes with the stored token's own refresh and access tokens, so a row of the
            // same token is unchanged and a standing refusal is not dropped by an import.
            if token.refresh_token == stored.refresh_token
                && token.access_token == stored.access_token
            {
                token.issued_at_ms = stored.issued_at_ms;
                token.refusal = stored.refusal;
            }
            if stored == token {
                Change::Unchanged
            } else {
                match newer_stored(&stored, &token) {
                    Some(why) => Change::Kept(why),
                    None => Change::Updated,
                }
            }
        }
        None => Change::Created,
    };
    if !dry_run {
        // A new row keeps the file's id (insert_token, which never writes over a token, live or
        // deleted); an update writes only over the live token it updates, so a token an operator
        // deleted during the import stays deleted.
        let written = match change {
            Change::Created => store.insert_token(&mut token).await,
            Change::Updated => store.save_token(&mut token).await,
            Change::Unchanged | Change::Kept(_) => Ok(()),
        };
        if let Err(e) = written {
            return e.into();
        }
    }
    let mapped = remapped.then(|| {
        (
            token.source_id.clone().unwrap_or_default(),
            token.id.clone(),
        )
    });
    RowEnd::Done(change, mapped)
}

/// The refusal for a row of another app than the stored token of the same user: both apps' tokens are
/// needed (each refresh token works for its own client only), and one prefix holds one per user.
fn another_app(stored: &OAuthToken, row: &OAuthToken) -> Option<String> {
    let (Some(theirs), Some(ours)) = (&stored.client_id, &row.client_id) else {
        return None;
    };
    (theirs != ours).then(|| {
        let who = stored
            .user_name
            .as_deref()
            .map_or_else(|| "this token".to_owned(), |u| format!("user `{u}`"));
        format!(
            "{who} is stored already for client id `{theirs}`; this row is for client id `{ours}`, \
             another app: nothing written (import each app's tokens under its own --prefix)"
        )
    })
}

/// Why the stored token is newer than the row, if it is, judged by the tokens themselves (when their
/// access tokens expire), never by the file's time: files are copied, touched and imported out of order.
/// A tie with other values is in doubt, so the stored token stays.
fn newer_stored(stored: &OAuthToken, row: &OAuthToken) -> Option<&'static str> {
    match (stored.expires_at_ms, row.expires_at_ms) {
        (Some(theirs), Some(ours)) if theirs > ours => Some("it expires later than the row"),
        (Some(theirs), Some(ours)) if theirs == ours => {
            Some("it expires when the row does, with other values, so the row is not newer")
        }
        (Some(_), None) => Some("it has an access token and the row has none"),
        _ => None,
    }
}

/// What is stored for this row now: the same identity first (whatever id or layout it came from), then
/// the row's id, which may only be reused by the same identity (with `new_ids`, the row gets a new id).
async fn stored_for(
    store: &SecretsManagerStore,
    token: &mut OAuthToken,
    new_ids: bool,
) -> Result<Option<OAuthToken>, RowEnd> {
    if let Some(stored) = same_identity(store, token).await? {
        return Ok(Some(stored));
    }
    let Some(id) = token.id.clone() else {
        return Ok(None);
    };
    match store.find_token_by_id(&id).await? {
        Some(_) if new_ids => {
            token.id = None;
            Ok(None)
        }
        Some(_) => Err(RowEnd::Failed(format!(
            "id `{id}` already holds another user's token; nothing written \
             (--new-ids stores this row under a new id)"
        ))),
        None => Ok(None),
    }
}

/// What an import did, for its report.
#[derive(Default)]
struct Tally {
    created: usize,
    updated: usize,
    unchanged: usize,
    failures: Vec<(usize, String)>,
    /// Rows whose id cannot name a secret: (row, the file's id, the id stored under).
    mapped: Vec<(usize, String, Option<String>)>,
    /// Rows older than the stored token, which stays: (row, why).
    kept: Vec<(usize, &'static str)>,
    /// The row at which the service failed, and how.
    stopped: Option<(usize, crate::Error)>,
}

impl Tally {
    fn count(&mut self, row: usize, change: Change, mapped: Option<(String, Option<String>)>) {
        if let Some((from, to)) = mapped {
            self.mapped.push((row, from, to));
        }
        match change {
            Change::Created => self.created += 1,
            Change::Updated => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
            Change::Kept(why) => self.kept.push((row, why)),
        }
    }

    fn print(&self, g: &Global, dry_run: bool) {
        let (created, updated, unchanged) = (self.created, self.updated, self.unchanged);
        let (kept, failed) = (self.kept.len(), self.failures.len());
        if g.json {
            let errors: Vec<_> = self
                .failures
                .iter()
                .map(|(n, r)| json!({"row": n, "reason": r}))
                .collect();
            let mapped: Vec<_> = self
                .mapped
                .iter()
                .map(|(n, from, to)| json!({"row": n, "from": from, "to": to}))
                .collect();
            let kept: Vec<_> = self
                .kept
                .iter()
                .map(|(n, why)| json!({"row": n, "reason": why}))
                .collect();
            print_json(
                &json!({"dry_run": dry_run, "created": created, "updated": updated, "unchanged": unchanged, "failed": failed, "errors": errors, "mapped": mapped, "kept": kept}),
            );
            return;
        }
        for (n, from, to) in &self.mapped {
            let verb = if dry_run { "would be stored" } else { "stored" };
            match to {
                Some(to) => outln!("row {n}: id `{from}` cannot name a secret; {verb} as `{to}`"),
                None => outln!("row {n}: id `{from}` cannot name a secret; would get a new id"),
            }
        }
        for (n, why) in &self.kept {
            outln!("row {n}: the stored token is newer ({why}); it stays");
        }
        for (n, reason) in &self.failures {
            eprintln!("row {n}: {reason}");
        }
        let verb = if dry_run { "would be: " } else { "" };
        // Only when it happened: the line most imports print stays as it was.
        let kept = match kept {
            0 => String::new(),
            n => format!(", kept {n} newer"),
        };
        outln!(
            "{verb}created {created}, updated {updated}, unchanged {unchanged}{kept}, failed {failed}"
        );
    }

    fn outcome(self) -> Outcome {
        if let Some((row, e)) = self.stopped {
            return Err(Failure::Failed(format!(
                "stopped at row {row}: {e}; the rows before it are imported, rerun to finish"
            )));
        }
        match self.failures.len() {
            0 => Ok(()),
            failed => Err(Failure::Failed(format!("{failed} row(s) failed"))),
        }
    }
}

/// The stored token of the same identity as `token`: the same user name; for a token without one, the
/// same client id and refresh token.
async fn same_identity(
    store: &SecretsManagerStore,
    token: &OAuthToken,
) -> Result<Option<OAuthToken>, crate::Error> {
    let query = match (&token.user_name, &token.client_id, &token.refresh_token) {
        (Some(user), _, _) => OAuthToken::default().with_user_name(user),
        (None, Some(client_id), Some(refresh)) => OAuthToken::default()
            // The lookup wants client credentials; it matches on the client id alone.
            .with_client(client_id, "-")
            .with_refresh_token(refresh.secret()),
        _ => return Ok(None),
    };
    match store.find_token(&query).await? {
        // The full stored token (find_token fills only what the query left empty).
        Some(found) => match found.id {
            Some(id) => store.find_token_by_id(&id).await,
            None => Ok(None),
        },
        None => Ok(None),
    }
}
