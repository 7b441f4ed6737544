//! The commands that refresh tokens at Zoho: refresh, refresh-due.

use std::time::Duration;

use crate::OAuthToken;
use serde_json::json;

use crate::cli::config::{Global, Zoho};
use crate::cli::tokens::print_token;
use crate::cli::{Failure, Outcome, Who, print_json};

/// `refresh`: one token, now.
pub async fn refresh(g: &Global, who: Who, zoho: Zoho) -> Outcome {
    let manager = g.manager(&zoho).await?;
    let query = match (who.id, who.user) {
        (Some(id), _) => OAuthToken::default().with_id(id),
        (None, Some(user)) => OAuthToken::default().with_user_name(user),
        (None, None) => return Err(Failure::Usage("give --id or --user".into())),
    };
    let token = manager.refresh_now(&query).await.map_err(|e| match e {
        crate::Error::InvalidToken { .. } => Failure::NotFound("no stored token matches".into()),
        other => other.into(),
    })?;
    print_token(g, &token, false);
    Ok(())
}

/// `refresh-due`: every token that expires within the window.
pub async fn refresh_due(g: &Global, within: humantime::Duration, zoho: Zoho) -> Outcome {
    let manager = g.manager(&zoho).await?;
    let report = manager.refresh_due(Duration::from(within)).await?;
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|(id, e)| json!({"id": id, "error": e.message(crate::Api::Cli)}))
        .collect();
    if g.json {
        print_json(
            &json!({"examined": report.examined, "refreshed": report.refreshed, "failed": failed}),
        );
    } else {
        outln!(
            "examined {}, refreshed {}, failed {}",
            report.examined,
            report.refreshed,
            report.failed.len()
        );
        for (id, e) in &report.failed {
            eprintln!(
                "  {}: {}",
                id.as_deref().unwrap_or("?"),
                e.message(crate::Api::Cli)
            );
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
