//! The commands that make and rotate keys.
//!
//! keygen, keys, rotate, retag, retire, init-keyring, rebind-keyring.

use crate::{BulkOptions, Keyring};
use serde_json::json;

use crate::cli::config::Global;
use crate::cli::{Failure, Outcome, output, print_json, progress};

/// `keygen`: a new keyring for `ZOHO_TOKEN_STORE_KEYS`.
pub fn keygen(id: &str) -> Outcome {
    outln!("{}", &*Keyring::generate(id)?);
    Ok(())
}

/// `keys`: how many tokens each data key encrypts.
pub async fn keys(g: &Global) -> Outcome {
    let store = g.store().await?;
    let usage = store.key_usage().await?;
    if g.json {
        print_json(&json!(usage));
    } else {
        let rows: Vec<Vec<String>> = usage
            .iter()
            .map(|(k, n)| vec![k.clone(), n.to_string()])
            .collect();
        out!("{}", output::table(&["KEY", "TOKENS"], &rows));
    }
    Ok(())
}

/// `rotate`: re-encrypt every token under the primary key.
pub async fn rotate(g: &Global, writes_per_second: u32) -> Outcome {
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

/// `retag`: re-tag every token under the current index key.
pub async fn retag(g: &Global) -> Outcome {
    let store = g.store().await?;
    let report = store.retag(&BulkOptions::default()).await?;
    report_bulk(g, "re-tagged", report);
    Ok(())
}

/// `retire`: drop a data key no token uses.
pub async fn retire(g: &Global, key_id: &str) -> Outcome {
    g.store().await?.retire_key(key_id).await?;
    if g.keyring_secret.is_some() {
        outln!("retired key {key_id}: removed from the keyring secret");
    } else {
        outln!(
            "retired key {key_id}: no token uses it; remove `{key_id}=...` from ZOHO_TOKEN_STORE_KEYS \
             in your next deploy"
        );
    }
    Ok(())
}

/// `init-keyring`: create the keyring secret.
pub async fn init_keyring(g: &Global, key_id: &str) -> Outcome {
    let Some(source) = g.secret_key_source().await else {
        return Err(Failure::Usage(
            "init-keyring creates a keyring secret: set --keyring-secret (and --kms-key-id)".into(),
        ));
    };
    source.create(key_id).await?;
    outln!(
        "keyring secret `{}` created: index key and data key `{key_id}` (primary)",
        source.secret_name()
    );
    Ok(())
}

/// `rebind-keyring`: bind an older keyring's wrapped keys to its name.
pub async fn rebind_keyring(g: &Global) -> Outcome {
    let Some(source) = g.secret_key_source().await else {
        return Err(Failure::Usage(
            "rebind-keyring works on a keyring secret: set --keyring-secret (and --kms-key-id)"
                .into(),
        ));
    };
    if source.rebind().await? {
        outln!(
            "keyring secret `{}`: every key is now bound to its name",
            source.secret_name()
        );
    } else {
        outln!(
            "keyring secret `{}`: nothing to do (already bound, or not KMS-wrapped)",
            source.secret_name()
        );
    }
    Ok(())
}

fn report_bulk(g: &Global, verb: &str, r: crate::BulkReport) {
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
    outln!("{line}");
}
