//! The operator tool `zoho-token-store` (feature `cli`): see and fix the Zoho OAuth tokens kept
//! encrypted in AWS Secrets Manager. One implementation for the Rust binary and the Python package's
//! `zoho-token-store` command (`python -m zoho_token_store`), which calls [`run`].
//!
//! Exit codes: 0 ok, 1 failure, 2 usage error, 3 not found.

/// `print!` for this tool: when the reader of standard output has gone (`zoho-token-store list | head
/// -1`), it stops quietly, as Unix tools do, instead of panicking as `print!` does. Named apart from
/// `print!` so a reader sees which one a line uses.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!($($arg)*)) };
}

/// `out!` with a newline, as `println!`.
macro_rules! outln {
    () => { $crate::cli::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

mod config;
mod import;
mod keys;
mod output;
mod refresh;
mod tokens;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::SecretsManagerStore;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

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
        /// Delete at once, skipping the 7-day recovery window (also deletes for good a token already in
        /// its recovery window, e.g. so `retire` can go ahead)
        #[arg(long)]
        force: bool,
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
A row never replaces another app's token for the same user (refused: use that app's own --prefix), nor
a stored token newer than itself (expiring later, or changed after the file was written: kept).
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

/// How a command failed, and so which exit code.
enum Failure {
    Usage(String),
    NotFound(String),
    Failed(String),
}

impl From<crate::Error> for Failure {
    fn from(e: crate::Error) -> Self {
        // One line: every error of the crate says what failed, why and how to fix it, never a secret.
        // The causes behind it are the SDK's, which can hold whole requests.
        Failure::Failed(e.message(crate::Api::Cli))
    }
}

type Outcome = Result<(), Failure>;

/// Runs the tool with `args` (the program name first, as `std::env::args_os` gives them) and returns
/// its exit code: 0 ok, 1 failure, 2 usage error, 3 not found. Output goes to this process's standard
/// output and error; `--help`, `--version` and argument errors print and end the process, as command-line
/// tools do.
///
/// # Panics
/// If the I/O runtime cannot start (the operating system refused its threads).
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    #[allow(clippy::expect_used)] // nothing can be done without the runtime; say so
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the I/O runtime");
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => 0,
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            2
        }
        Err(Failure::NotFound(m)) => {
            eprintln!("not found: {m}");
            3
        }
        Err(Failure::Failed(m)) => {
            eprintln!("error: {m}");
            1
        }
    }
}

fn write_stdout(args: std::fmt::Arguments<'_>) {
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
    outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

async fn dispatch(cli: Cli) -> Outcome {
    let g = &cli.global;
    match cli.command {
        Command::List => tokens::list(g).await,
        Command::Show { id, reveal } => tokens::show(g, id, reveal).await,
        Command::Find {
            by,
            client_id,
            reveal,
        } => tokens::find(g, by, client_id, reveal).await,
        Command::Delete { id, force } => tokens::delete(g, id, force).await,
        Command::Purge { yes, force } => tokens::purge(g, yes, force).await,
        Command::Import {
            file,
            format,
            dry_run,
            new_ids,
        } => import::run(g, &file, format, dry_run, new_ids).await,
        Command::Export { reveal, output } => tokens::export(g, reveal, output).await,
        Command::Keygen { id } => keys::keygen(&id),
        Command::Keys => keys::keys(g).await,
        Command::Rotate { writes_per_second } => keys::rotate(g, writes_per_second).await,
        Command::Retag => keys::retag(g).await,
        Command::Retire { key_id } => keys::retire(g, &key_id).await,
        Command::InitKeyring { key_id } => keys::init_keyring(g, &key_id).await,
        Command::RebindKeyring => keys::rebind_keyring(g).await,
        Command::Refresh { who, zoho } => refresh::refresh(g, who, zoho).await,
        Command::RefreshDue { within, zoho } => refresh::refresh_due(g, within, zoho).await,
    }
}

/// An id that cannot name a token is a usage error (exit 2), not a failure.
fn usable_id(store: &SecretsManagerStore, id: &str) -> Result<(), Failure> {
    store
        .secret_name(id)
        .map(|_| ())
        .map_err(|e| Failure::Usage(e.message(crate::Api::Cli)))
}

/// Names every secret a whole-store command could not read (after doing the rest), and fails the
/// command if there was any.
fn unreadable_at_the_end(unreadable: &[crate::Unreadable]) -> Outcome {
    for entry in unreadable {
        eprintln!("unreadable: {}", entry.error.message(crate::Api::Cli));
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
