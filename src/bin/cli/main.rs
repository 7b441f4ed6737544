//! `zoho-token-store`: see and fix the Zoho OAuth tokens kept encrypted in AWS Secrets Manager.
//!
//! Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found.

/// `print!` and `println!` for this tool: when the reader of standard output has gone
/// (`zoho-token-store list | head -1`), stop quietly, as Unix tools do, instead of panicking.
macro_rules! print {
    ($($arg:tt)*) => { $crate::out(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::out(format_args!("{}\n", format_args!($($arg)*))) };
}

mod config;
mod import;
mod output;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use zoho_token_store::{
    BulkOptions, Keyring, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore,
};

use config::{Global, Zoho};

const ABOUT: &str = "See and fix the Zoho OAuth tokens kept encrypted in AWS Secrets Manager.";
const AFTER_HELP: &str = "\
Configuration: the standard AWS variables (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...) and
AWS_ENDPOINT_URL; keys from ZOHO_TOKEN_STORE_KEYS (see `keygen`) or --keyring-secret.

Examples:
  zoho-token-store keygen                          # a new keyring for ZOHO_TOKEN_STORE_KEYS
  zoho-token-store import sdk_tokens.txt --dry-run # what an import would do
  zoho-token-store import sdk_tokens.txt           # move the Zoho SDK's file store in
  zoho-token-store list
  zoho-token-store find --user alice@example.com
  zoho-token-store keys --json

Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found.";

#[derive(Parser, Debug)]
#[command(name = "zoho-token-store", version, about = ABOUT, after_help = AFTER_HELP)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Table of every token: id, user, client id, expiry, key id, last change (no secrets)
    #[command(after_help = "Example:\n  zoho-token-store list --json | jq '.[].user_name'")]
    List,
    /// One token by id, secrets redacted unless --reveal
    #[command(after_help = "Example:\n  zoho-token-store show u3f2a... --reveal")]
    Show {
        /// The token id
        id: String,
        /// Show the secrets themselves
        #[arg(long)]
        reveal: bool,
    },
    /// One token by user name or by one of its tokens
    #[command(
        after_help = "Examples:\n  zoho-token-store find --user alice@example.com\n  \
                            zoho-token-store find --refresh-token 1000.abc --client-id 1000.XYZ"
    )]
    Find {
        #[command(flatten)]
        by: FindBy,
        /// The client id the token belongs to (needed with --refresh-token or --grant-token)
        #[arg(long)]
        client_id: Option<String>,
        /// Show the secrets themselves
        #[arg(long)]
        reveal: bool,
    },
    /// Delete one token (kept for the recovery window unless the store says otherwise)
    #[command(after_help = "Example:\n  zoho-token-store delete u3f2a...")]
    Delete {
        /// The token id
        id: String,
    },
    /// Delete every token of this store
    #[command(after_help = "Example:\n  zoho-token-store purge --yes --force")]
    Purge {
        /// Confirm: delete them all
        #[arg(long)]
        yes: bool,
        /// Delete at once, skipping the 7-day recovery window
        #[arg(long)]
        force: bool,
    },
    /// Import tokens from a Zoho SDK store: its CSV file, a SQLite `oauthtoken` table, or JSON lines
    #[command(after_help = "\
Idempotent: a row whose token is stored already is updated (or left alone if equal), never duplicated.
A bad row is reported with its number and the others go on; the exit code is 1 if any row failed.

Examples:
  zoho-token-store import sdk_tokens.txt --dry-run
  zoho-token-store import zohooauth.db
  zoho-token-store import old_tokens.csv --format csv-legacy")]
    Import {
        /// The file to read
        file: PathBuf,
        /// What the file is
        #[arg(long, value_enum, default_value = "auto")]
        format: import::Format,
        /// Say what would change without writing anything
        #[arg(long)]
        dry_run: bool,
        /// Store a row whose id holds another user's token under a new id (default: report the row and
        /// write nothing)
        #[arg(long)]
        new_ids: bool,
    },
    /// Write every token, decrypted, as JSON lines (needs --reveal)
    #[command(
        after_help = "Example:\n  zoho-token-store export --reveal --output backup.jsonl   # written owner-only (0600)"
    )]
    Export {
        /// Confirm: the output holds every secret in plaintext
        #[arg(long)]
        reveal: bool,
        /// Write to this file instead of standard output (a new owner-only file renamed into place)
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print a new keyring for ZOHO_TOKEN_STORE_KEYS (a new index key and one data key)
    #[command(
        after_help = "Example:\n  export ZOHO_TOKEN_STORE_KEYS=\"$(zoho-token-store keygen)\""
    )]
    Keygen {
        /// The data key's id
        #[arg(long, default_value = "k1")]
        id: String,
    },
    /// How many tokens each data key encrypts
    #[command(after_help = "Example:\n  zoho-token-store keys --json")]
    Keys,
    /// Re-encrypt every token under the primary key (resumable; at most --writes-per-second)
    #[command(
        after_help = "Example:\n  ZOHO_TOKEN_STORE_KEYS=\"index=...,k2=NEW,k1=OLD\" zoho-token-store rotate"
    )]
    Rotate {
        /// Write calls per second at most (the account allows 50)
        #[arg(long, default_value_t = 40)]
        writes_per_second: u32,
    },
    /// Re-tag every token under the current index key (after adding a new index key)
    Retag,
    /// Retire a data key that no token uses any more
    #[command(after_help = "Example:\n  zoho-token-store retire k1")]
    Retire {
        /// The key id
        key_id: String,
    },
    /// Create the keyring secret (--keyring-secret, KMS-wrapped with --kms-key-id): a fresh index key
    /// and one data key
    #[command(after_help = "\
Keep the keyring secret outside the token prefix. Every process then reads it with the same
--keyring-secret (and --kms-key-id), or the library's SecretKeySource, or the Python package's
SecretsManagerTokenStore(keyring_secret=..., kms_key_id=...).

Example:
  zoho-token-store --keyring-secret prod/zoho-keyring --kms-key-id alias/zoho init-keyring")]
    InitKeyring {
        /// The first data key's id
        #[arg(long, default_value = "k1")]
        key_id: String,
    },
    /// Bind the KMS-wrapped keys of a keyring secret written by an older version to its name (once)
    #[command(after_help = "\
Older versions wrapped keys without naming the keyring secret, so a wrapped key could be moved between
keyrings that share a KMS key. This version refuses such a keyring. Upgrade every process first, reading
it with ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING=1; run this once; then remove that variable.

Example:
  zoho-token-store --keyring-secret prod/zoho-keyring --kms-key-id alias/zoho rebind-keyring")]
    RebindKeyring,
    /// Refresh one token now at Zoho, and save it
    #[command(
        after_help = "Example:\n  zoho-token-store refresh --user alice@example.com --data-center eu"
    )]
    Refresh {
        #[command(flatten)]
        who: Who,
        #[command(flatten)]
        zoho: Zoho,
    },
    /// Refresh every token whose access token expires within --within
    #[command(after_help = "Example:\n  zoho-token-store refresh-due --within 10m")]
    RefreshDue {
        /// The window, e.g. 10m, 1h
        #[arg(long, default_value = "10m")]
        within: humantime::Duration,
        #[command(flatten)]
        zoho: Zoho,
    },
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct FindBy {
    /// By user name
    #[arg(long)]
    user: Option<String>,
    /// By refresh token (with --client-id)
    #[arg(long)]
    refresh_token: Option<String>,
    /// By grant token (with --client-id)
    #[arg(long)]
    grant_token: Option<String>,
    /// By access token
    #[arg(long)]
    access_token: Option<String>,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct Who {
    /// The token id
    #[arg(long)]
    id: Option<String>,
    /// The user name
    #[arg(long)]
    user: Option<String>,
}

/// What importing one row does to the store.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Created,
    Updated,
    Unchanged,
}

/// How a command failed, and so which exit code.
enum Failure {
    Usage(String),
    NotFound(String),
    Failed(String),
}

impl From<zoho_token_store::Error> for Failure {
    fn from(e: zoho_token_store::Error) -> Self {
        // One line: every error of the crate says what failed, why and how to fix it, never a secret.
        // The causes behind it are the SDK's, which can hold whole requests.
        Failure::Failed(e.to_string())
    }
}

type Outcome = Result<(), Failure>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(Failure::NotFound(m)) => {
            eprintln!("not found: {m}");
            ExitCode::from(3)
        }
        Err(Failure::Failed(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}

fn out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        quit_if_reader_gone(&e);
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

/// Ends the process quietly when the error says the reader of a pipe has gone.
fn quit_if_reader_gone(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
}

fn progress(len: u64, what: &str) -> ProgressBar {
    // Bars only for people: hidden when stderr is not a terminal (pipes, CI, scripts).
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(what.to_owned());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

async fn run(cli: Cli) -> Outcome {
    let g = &cli.global;
    match cli.command {
        Command::List => list(g).await,
        Command::Show { id, reveal } => {
            let store = g.store().await?;
            usable_id(&store, &id)?;
            let token = store
                .find_token_by_id(&id)
                .await?
                .ok_or_else(|| Failure::NotFound(format!("no token with id `{id}`")))?;
            show(g, &token, reveal);
            Ok(())
        }
        Command::Find {
            by,
            client_id,
            reveal,
        } => {
            let query = find_query(by, client_id)?;
            let store = g.store().await?;
            let token = store
                .find_token(&query)
                .await?
                .ok_or_else(|| Failure::NotFound("no token matches".into()))?;
            show(g, &token, reveal);
            Ok(())
        }
        Command::Delete { id } => {
            let store = g.store().await?;
            usable_id(&store, &id)?;
            // Checked without decrypting, so a token this store cannot read can still be deleted.
            if !store.contains(&id).await? {
                return Err(Failure::NotFound(format!("no token with id `{id}`")));
            }
            store.delete_token(&id).await?;
            println!("deleted {id}");
            Ok(())
        }
        Command::Purge { yes, force } => {
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
            println!(
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
        Command::Import {
            file,
            format,
            dry_run,
            new_ids,
        } => import_file(g, &file, format, dry_run, new_ids).await,
        Command::Export { reveal, output } => export(g, reveal, output).await,
        Command::Keygen { id } => {
            println!("{}", &*Keyring::generate(&id)?);
            Ok(())
        }
        Command::Keys => {
            let store = g.store().await?;
            let usage = store.key_usage().await?;
            if g.json {
                print_json(&json!(usage));
            } else {
                let rows: Vec<Vec<String>> = usage
                    .iter()
                    .map(|(k, n)| vec![k.clone(), n.to_string()])
                    .collect();
                print!("{}", output::table(&["KEY", "TOKENS"], &rows));
            }
            Ok(())
        }
        Command::Rotate { writes_per_second } => {
            let rate = std::num::NonZeroU32::new(writes_per_second)
                .ok_or_else(|| Failure::Usage("--writes-per-second must be at least 1".into()))?;
            let store = g.store().await?;
            let bar = progress(0, "re-encrypting");
            let shown = bar.clone();
            let options = BulkOptions::default()
                .writes_per_second(rate)
                .on_progress(move |p| {
                    shown.set_length(p.total as u64);
                    shown.set_position(p.done as u64);
                });
            let report = store.reencrypt(&options).await?;
            bar.finish_and_clear();
            report_bulk(g, "re-encrypted", report);
            Ok(())
        }
        Command::Retag => {
            let store = g.store().await?;
            let report = store.retag(&BulkOptions::default()).await?;
            report_bulk(g, "re-tagged", report);
            Ok(())
        }
        Command::Retire { key_id } => {
            g.store().await?.retire_key(&key_id).await?;
            if g.keyring_secret.is_some() {
                println!("retired key {key_id}: removed from the keyring secret");
            } else {
                println!(
                    "retired key {key_id}: no token uses it; remove `{key_id}=...` from ZOHO_TOKEN_STORE_KEYS \
                     in your next deploy"
                );
            }
            Ok(())
        }
        Command::InitKeyring { key_id } => {
            let Some(source) = g.secret_key_source().await else {
                return Err(Failure::Usage(
                    "init-keyring creates a keyring secret: set --keyring-secret (and --kms-key-id)"
                        .into(),
                ));
            };
            source.create(&key_id).await?;
            println!(
                "keyring secret `{}` created: index key and data key `{key_id}` (primary)",
                source.secret_name()
            );
            Ok(())
        }
        Command::RebindKeyring => {
            let Some(source) = g.secret_key_source().await else {
                return Err(Failure::Usage(
                    "rebind-keyring works on a keyring secret: set --keyring-secret (and --kms-key-id)"
                        .into(),
                ));
            };
            if source.rebind().await? {
                println!(
                    "keyring secret `{}`: every key is now bound to its name",
                    source.secret_name()
                );
            } else {
                println!(
                    "keyring secret `{}`: nothing to do (already bound, or not KMS-wrapped)",
                    source.secret_name()
                );
            }
            Ok(())
        }
        Command::Refresh { who, zoho } => {
            let manager = g.manager(&zoho).await?;
            let query = match (who.id, who.user) {
                (Some(id), _) => OAuthToken::default().with_id(id),
                (None, Some(user)) => OAuthToken::default().with_user_name(user),
                (None, None) => return Err(Failure::Usage("give --id or --user".into())),
            };
            let token = manager.refresh_now(&query).await.map_err(|e| match e {
                zoho_token_store::Error::InvalidToken { .. } => {
                    Failure::NotFound("no stored token matches".into())
                }
                other => other.into(),
            })?;
            show(g, &token, false);
            Ok(())
        }
        Command::RefreshDue { within, zoho } => {
            let manager = g.manager(&zoho).await?;
            let report = manager.refresh_due(Duration::from(within)).await?;
            let failed: Vec<_> = report
                .failed
                .iter()
                .map(|(id, e)| json!({"id": id, "error": e.to_string()}))
                .collect();
            if g.json {
                print_json(
                    &json!({"examined": report.examined, "refreshed": report.refreshed, "failed": failed}),
                );
            } else {
                println!(
                    "examined {}, refreshed {}, failed {}",
                    report.examined,
                    report.refreshed,
                    report.failed.len()
                );
                for (id, e) in &report.failed {
                    eprintln!("  {}: {e}", id.as_deref().unwrap_or("?"));
                }
            }
            if report.failed.is_empty() {
                Ok(())
            } else {
                Err(Failure::Failed(format!(
                    "{} token(s) could not be refreshed",
                    report.failed.len()
                )))
            }
        }
    }
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

fn show(g: &Global, token: &OAuthToken, reveal: bool) {
    if g.json {
        print_json(&output::token_json(token, reveal));
    } else {
        print!("{}", output::token_text(token, reveal));
    }
}

fn report_bulk(g: &Global, verb: &str, r: zoho_token_store::BulkReport) {
    if g.json {
        print_json(&json!({
            "examined": r.examined, "changed": r.changed, "unchanged": r.unchanged,
            "skipped": r.skipped, "deleted": r.deleted,
        }));
        return;
    }
    let mut line = format!(
        "{verb} {} of {} token(s); {} already done",
        r.changed, r.examined, r.unchanged
    );
    if r.deleted > 0 {
        line += &format!("; {} deleted meanwhile (left deleted)", r.deleted);
    }
    if r.skipped > 0 {
        line += &format!(
            "; {} changed by the application meanwhile (rerun to finish them)",
            r.skipped
        );
    }
    println!("{line}");
}

/// An id that cannot name a token is a usage error (exit 2), not a failure.
fn usable_id(store: &SecretsManagerStore, id: &str) -> Result<(), Failure> {
    store
        .secret_name(id)
        .map(|_| ())
        .map_err(|e| Failure::Usage(e.to_string()))
}

async fn list(g: &Global) -> Outcome {
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
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &["ID", "USER", "CLIENT ID", "EXPIRES", "KEY", "CHANGED"],
            &rows
        )
    );
    unreadable_at_the_end(&inventory.unreadable)
}

/// Names every secret a whole-store command could not read (after doing the rest), and fails the
/// command if there was any.
fn unreadable_at_the_end(unreadable: &[zoho_token_store::Unreadable]) -> Outcome {
    for entry in unreadable {
        eprintln!("unreadable: {}", entry.error);
    }
    if unreadable.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "{} secret(s) under the prefix could not be read; the rest were handled",
            unreadable.len()
        )))
    }
}

async fn import_file(
    g: &Global,
    file: &std::path::Path,
    format: import::Format,
    dry_run: bool,
    new_ids: bool,
) -> Outcome {
    let rows = import::read(file, format).map_err(Failure::Failed)?;
    let store = g.store().await?;
    // With another store's index key, every row would look new ("would be: created N"): say so once.
    store.check_index_key().await?;
    let (mut created, mut updated, mut unchanged) = (0usize, 0usize, 0usize);
    let mut failures: Vec<(usize, String)> = Vec::new();
    // Rows whose id cannot name a secret: (row, the file's id, the id stored under).
    let mut mapped: Vec<(usize, String, Option<String>)> = Vec::new();
    let mut stopped: Option<(usize, zoho_token_store::Error)> = None;
    let bar = progress(
        rows.len() as u64,
        if dry_run { "checking" } else { "importing" },
    );
    for row in rows {
        bar.inc(1);
        let mut token = match row.token {
            Ok(t) => t,
            Err(reason) => {
                failures.push((row.number, reason));
                continue;
            }
        };
        // An SDK 2.1 id such as `python_O'Brien_us_23bd` cannot name a secret: the token is stored under
        // the id the store gives it (the same one on every import) and keeps the file's id inside.
        let remapped = token.move_unusable_id_to_source();
        // What is stored for this row now: the same identity first (whatever id or layout it came
        // from), then the row's id, which may only be reused by the same identity.
        let existing = match same_identity(&store, &token).await {
            Ok(Some(stored)) => Ok(Some(stored)),
            Ok(None) => match token.id.clone() {
                Some(id) => match store.find_token_by_id(&id).await {
                    Ok(Some(_)) if new_ids => {
                        token.id = None;
                        Ok(None)
                    }
                    Ok(Some(_)) => {
                        failures.push((
                            row.number,
                            format!(
                                "id `{id}` already holds another user's token; nothing written \
                                 (--new-ids stores this row under a new id)"
                            ),
                        ));
                        continue;
                    }
                    other => other,
                },
                None => Ok(None),
            },
            Err(e) => Err(e),
        };
        let existing = match existing {
            Ok(e) => e,
            // The service is unreachable or failing: every row after this one would fail the same way.
            Err(e) if e.is_retryable() => {
                stopped = Some((row.number, e));
                break;
            }
            Err(e) => {
                failures.push((row.number, e.to_string()));
                continue;
            }
        };
        let change = match existing {
            Some(stored) => {
                token.id = stored.id.clone();
                // A token stored already keeps the id it came with.
                token.source_id.clone_from(&stored.source_id);
                row.absent.keep_stored(&mut token, &stored);
                if stored == token {
                    Change::Unchanged
                } else {
                    Change::Updated
                }
            }
            None => Change::Created,
        };
        // Count a row only once its write landed; an unchanged row is not written at all.
        if change != Change::Unchanged
            && !dry_run
            && let Err(e) = store.save_token(&mut token).await
        {
            if e.is_retryable() {
                stopped = Some((row.number, e));
                break;
            }
            failures.push((row.number, e.to_string()));
            continue;
        }
        if remapped {
            let from = token.source_id.clone().unwrap_or_default();
            mapped.push((row.number, from, token.id.clone()));
        }
        match change {
            Change::Created => created += 1,
            Change::Updated => updated += 1,
            Change::Unchanged => unchanged += 1,
        }
    }
    bar.finish_and_clear();
    let failed = failures.len();
    if g.json {
        let errors: Vec<_> = failures
            .iter()
            .map(|(n, r)| json!({"row": n, "reason": r}))
            .collect();
        let mapped: Vec<_> = mapped
            .iter()
            .map(|(n, from, to)| json!({"row": n, "from": from, "to": to}))
            .collect();
        print_json(
            &json!({"dry_run": dry_run, "created": created, "updated": updated, "unchanged": unchanged, "failed": failed, "errors": errors, "mapped": mapped}),
        );
    } else {
        for (n, from, to) in &mapped {
            let verb = if dry_run { "would be stored" } else { "stored" };
            match to {
                Some(to) => println!("row {n}: id `{from}` cannot name a secret; {verb} as `{to}`"),
                None => println!("row {n}: id `{from}` cannot name a secret; would get a new id"),
            }
        }
        for (n, reason) in &failures {
            eprintln!("row {n}: {reason}");
        }
        let verb = if dry_run { "would be: " } else { "" };
        println!(
            "{verb}created {created}, updated {updated}, unchanged {unchanged}, failed {failed}"
        );
    }
    if let Some((row, e)) = stopped {
        return Err(Failure::Failed(format!(
            "stopped at row {row}: {e}; the rows before it are imported, rerun to finish"
        )));
    }
    if failed > 0 {
        Err(Failure::Failed(format!("{failed} row(s) failed")))
    } else {
        Ok(())
    }
}

/// The stored token of the same identity as `token`: the same user name; for a token without one, the
/// same client id and refresh token.
async fn same_identity(
    store: &SecretsManagerStore,
    token: &OAuthToken,
) -> Result<Option<OAuthToken>, zoho_token_store::Error> {
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

async fn export(g: &Global, reveal: bool, output: Option<PathBuf>) -> Outcome {
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
