//! Reading tokens from the Zoho SDK's stores: its CSV file (three layouts), a SQLite database with the
//! seed's `oauthtoken` table, and JSON lines (what `export` writes).
//!
//! A file-level problem (missing file, no table) is an error; a row-level problem (a malformed row, a
//! bad expiry, a token that breaks the SDK's rules) is reported with its row number while the other
//! rows go on.

use std::path::Path;

use crate::OAuthToken;
use clap::ValueEnum;

/// What the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Detect from the file's contents
    Auto,
    /// SDK CSV, layout detected from the header
    Csv,
    /// SDK CSV: id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url[,api_domain]
    CsvCurrent,
    /// SDK 2.1 CSV: id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri
    Csv21,
    /// Original zcrmsdk CSV: user_mail,client_id,refresh_token,access_token,grant_token,expiry_time
    CsvLegacy,
    /// SQLite database with an `oauthtoken` table (the seed's, or the SDK's DBStore schema)
    Sqlite,
    /// One token JSON object per line (what `export` writes)
    Jsonl,
}

/// One input row: its number (line in the file, or row in the table), the token or why not, and the
/// columns its layout does not have.
pub struct Row {
    pub number: usize,
    pub token: Result<OAuthToken, String>,
    pub absent: Absent,
}

/// Columns a file layout lacks (the original zcrmsdk layout has no client secret, redirect URL or API
/// domain; the SDK's 9-column layout no API domain). A column the file does not have says nothing
/// about the token, so it never erases what is stored.
#[derive(Clone, Copy, Default)]
pub struct Absent {
    client_secret: bool,
    redirect_url: bool,
    api_domain: bool,
}

impl Absent {
    /// Takes the stored value of every column the file lacks.
    pub fn keep_stored(self, token: &mut OAuthToken, stored: &OAuthToken) {
        if self.client_secret {
            token.client_secret.clone_from(&stored.client_secret);
        }
        if self.redirect_url {
            token.redirect_url.clone_from(&stored.redirect_url);
        }
        if self.api_domain {
            token.api_domain.clone_from(&stored.api_domain);
        }
    }
}

/// Reads every row of `path`.
pub fn read(path: &Path, format: Format) -> Result<Vec<Row>, String> {
    let shown = path.display();
    if !path.exists() {
        return Err(format!("{shown}: no such file"));
    }
    let format = if format == Format::Auto {
        detect(path)?
    } else {
        format
    };
    let rows = match format {
        Format::Sqlite => read_sqlite(path),
        Format::Jsonl => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: {e}"))?;
            Ok(text
                .lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(n, line)| Row {
                    number: n + 1,
                    token: OAuthToken::from_json(line.as_bytes())
                        .map_err(|e| e.to_string())
                        .and_then(valid),
                    absent: Absent::default(),
                })
                .collect())
        }
        csv => read_csv(path, csv),
    }?;
    if rows.is_empty() {
        return Err(format!("no token rows in {shown}"));
    }
    Ok(rows)
}

fn detect(path: &Path) -> Result<Format, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.starts_with(b"SQLite format 3\0") {
        return Ok(Format::Sqlite);
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Ok(Format::Jsonl);
    }
    // Token files are text: a NUL byte or bytes that are not UTF-8 mean something else entirely, which
    // deserves one line rather than an error per "row".
    if bytes.contains(&0) || std::str::from_utf8(&bytes).is_err() {
        return Err(format!(
            "{} is not a Zoho token file: CSV, SQLite or JSON lines expected",
            path.display()
        ));
    }
    Ok(Format::Csv)
}

/// Column positions of one CSV layout (reads are positional, as the SDK's are).
struct Layout {
    columns: &'static [usize],
    has_id: bool,
    has_secret: bool,
}

const CURRENT: Layout = Layout {
    columns: &[9, 10],
    has_id: true,
    has_secret: true,
};
const LEGACY: Layout = Layout {
    columns: &[6],
    has_id: false,
    has_secret: false,
};

/// Reads the CSV line by line: token fields never span lines, so a damaged line (an unterminated quote,
/// a wrong column count) is reported by its number and every line after it is still read.
fn read_csv(path: &Path, format: Format) -> Result<Vec<Row>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut rows = Vec::new();
    let mut layout = match format {
        Format::CsvLegacy => Some(&LEGACY),
        Format::CsvCurrent | Format::Csv21 => Some(&CURRENT),
        _ => None,
    };
    let mut first_line = true;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let header = std::mem::take(&mut first_line);
        let record = match one_record(line) {
            Ok(record) => record,
            Err(reason) => {
                rows.push(Row {
                    number,
                    token: Err(reason),
                    absent: Absent::default(),
                });
                continue;
            }
        };
        let first = record
            .get(0)
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if header && matches!(first.as_str(), "id" | "user_mail" | "user_name") {
            // The header names the layout: only the original zcrmsdk starts with user_mail.
            layout.get_or_insert(if first == "user_mail" {
                &LEGACY
            } else {
                &CURRENT
            });
            continue;
        }
        let layout = *layout.get_or_insert(if record.len() == 6 { &LEGACY } else { &CURRENT });
        rows.push(Row {
            number,
            token: csv_token(&record, layout),
            absent: Absent {
                client_secret: !layout.has_secret,
                redirect_url: !layout.has_secret,
                api_domain: !layout.has_secret || record.len() < 10,
            },
        });
    }
    Ok(rows)
}

/// One line as one CSV record.
fn one_record(line: &str) -> Result<csv::StringRecord, String> {
    if line.matches('"').count() % 2 == 1 {
        return Err(
            "unterminated quote: token fields never span lines, so this line is damaged; fix or remove it"
                .into(),
        );
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(record)) => Ok(record),
        Some(Err(e)) => Err(format!("malformed CSV: {e}")),
        None => Err("malformed CSV: no fields".into()),
    }
}

fn csv_token(record: &csv::StringRecord, layout: &Layout) -> Result<OAuthToken, String> {
    if !layout.columns.contains(&record.len()) {
        return Err(format!(
            "expected {} columns, found {}",
            columns_text(layout),
            record.len()
        ));
    }
    let field = |i: usize| {
        record
            .get(i)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let token = if layout.has_id && layout.has_secret {
        fields([
            field(0),
            field(1),
            field(2),
            field(3),
            field(4),
            field(5),
            field(6),
            field(7),
            field(8),
            field(9),
        ])?
    } else {
        // user_mail, client_id, refresh_token, access_token, grant_token, expiry_time
        fields([
            None,
            field(0),
            field(1),
            None,
            field(2),
            field(3),
            field(4),
            field(5),
            None,
            None,
        ])?
    };
    valid(token)
}

fn columns_text(layout: &Layout) -> String {
    layout
        .columns
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A token from the ten fields of the SDK's table, in its order.
fn fields(f: [Option<String>; 10]) -> Result<OAuthToken, String> {
    let [
        id,
        user,
        client_id,
        client_secret,
        refresh,
        access,
        grant,
        expiry,
        redirect,
        api_domain,
    ] = f;
    let expires_at_ms = match expiry {
        None => None,
        // The value is described, not shown: in a row whose columns are shifted, this column can
        // hold a token.
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            format!(
                "expiry_time is not a time in epoch milliseconds (a {}-character value that is not a whole \
                 number; not shown, as a shifted row can put a token there): check the row's columns",
                text.chars().count()
            )
        })?),
    };
    Ok(OAuthToken {
        id,
        user_name: user,
        client_id,
        client_secret: client_secret.map(Into::into),
        grant_token: grant.map(Into::into),
        refresh_token: refresh.map(Into::into),
        access_token: access.map(Into::into),
        expires_at_ms,
        redirect_url: redirect,
        api_domain,
        source_id: None,
        issued_at_ms: None,
        refusal: None,
    })
}

fn valid(token: OAuthToken) -> Result<OAuthToken, String> {
    token.validate().map(|()| token).map_err(|e| e.to_string())
}

fn read_sqlite(path: &Path) -> Result<Vec<Row>, String> {
    use rusqlite::{Connection, OpenFlags};
    let shown = path.display();
    let db = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("{shown}: cannot open as SQLite ({e})"))?;
    let has_table: bool = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'oauthtoken'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| format!("{shown}: not a SQLite database ({e})"))?;
    if !has_table {
        return Err(format!(
            "{shown}: no table `oauthtoken` (the Zoho SDK's DBStore / the seed's schema)"
        ));
    }
    let mut statement = db
        .prepare(
            "SELECT id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, \
             CAST(expiry_time AS TEXT), redirect_url, api_domain FROM oauthtoken ORDER BY rowid",
        )
        .map_err(|e| format!("{shown}: the oauthtoken table lacks the SDK's columns ({e})"))?;
    let rows = statement
        .query_map([], |r| {
            let text = |i| {
                r.get::<_, Option<String>>(i)
                    .map(|v| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
            };
            Ok([
                text(0)?,
                text(1)?,
                text(2)?,
                text(3)?,
                text(4)?,
                text(5)?,
                text(6)?,
                text(7)?,
                text(8)?,
                text(9)?,
            ])
        })
        .map_err(|e| format!("{shown}: {e}"))?;
    Ok(rows
        .enumerate()
        .map(|(n, r)| Row {
            number: n + 1,
            token: r
                .map_err(|e| format!("unreadable row ({e})"))
                .and_then(fields)
                .and_then(valid),
            absent: Absent::default(),
        })
        .collect())
}
