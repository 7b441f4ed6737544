//! Quickstart: save two users' tokens in Secrets Manager (LocalStack), find them by user and by refresh
//! token, list, delete. Every line printed is redacted.
//!
//! ```text
//! ./localstack/up && cargo run -p quickstart
//! ```
//!
//! Uses `AWS_ENDPOINT_URL` (default `http://127.0.0.1:$LOCALSTACK_PORT`, LocalStack on 4566 unless that
//! variable says otherwise, as `localstack/up` reads it), `AWS_REGION` (default
//! `us-east-1`) and the standard credential chain (LocalStack's `test`/`test` when none is set). Keys come
//! from `ZOHO_TOKEN_STORE_KEYS` when set; otherwise a throwaway keyring is generated for this run.

use std::error::Error;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_secretsmanager::config::Credentials;
use zoho_token_store::{
    KEYS_ENV_VAR, Keyring, OAuthToken, RecoveryWindow, SecretsManagerStore, TokenStore,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The LocalStack that `localstack/up` starts, on LOCALSTACK_PORT as it does.
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        let port = std::env::var("LOCALSTACK_PORT").unwrap_or_else(|_| "4566".to_owned());
        format!("http://127.0.0.1:{port}")
    });
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).endpoint_url(&endpoint);
    if std::env::var_os("AWS_REGION").is_none() {
        loader = loader.region(Region::new("us-east-1"));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        loader =
            loader.credentials_provider(Credentials::new("test", "test", None, None, "quickstart"));
    }
    let client = aws_sdk_secretsmanager::Client::new(&loader.load().await);

    let keyring = match Keyring::from_env() {
        Ok(ring) => ring,
        Err(_) => {
            println!("{KEYS_ENV_VAR} is not set: using a throwaway keyring for this run");
            Keyring::parse(&Keyring::generate("k1")?)?
        }
    };
    // A prefix of its own per run, so runs never see each other's tokens (or keys).
    let run = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let store = SecretsManagerStore::builder(client, keyring)
        .prefix(format!("quickstart/{run}/"))
        .recovery_window(RecoveryWindow::Immediate)
        .build()?;
    println!("store: {endpoint}, prefix {}", store.prefix());

    for (user, tag) in [("alice@example.com", "alice"), ("bob@example.com", "bob")] {
        let mut token = OAuthToken::default()
            .with_user_name(user)
            .with_client("1000.QUICKSTARTCLIENT", format!("client-secret-{tag}"))
            .with_refresh_token(format!("1000.refresh-{tag}"))
            .with_access_token(format!("1000.access-{tag}"), (run + 3600) * 1000)
            .with_api_domain("https://www.zohoapis.com");
        store.save_token(&mut token).await?;
        println!(
            "saved   {user} as id {}",
            token.id.as_deref().unwrap_or("?")
        );
    }

    let by_user = store
        .find_token(&OAuthToken::default().with_user_name("alice@example.com"))
        .await?;
    println!("by user    -> {by_user:?}");

    let query = OAuthToken::default()
        .with_client("1000.QUICKSTARTCLIENT", "client-secret-bob")
        .with_refresh_token("1000.refresh-bob");
    let by_refresh = store.find_token(&query).await?;
    println!(
        "by refresh -> user {:?}",
        by_refresh.as_ref().and_then(|t| t.user_name.as_deref())
    );

    let all = store.get_tokens().await?;
    println!("listed {} tokens:", all.len());
    for token in &all {
        println!("  {token:?}");
    }

    if let Some(id) = by_user.and_then(|t| t.id) {
        store.delete_token(&id).await?;
        println!(
            "deleted alice; {} token(s) left",
            store.get_tokens().await?.len()
        );
    }
    store.delete_tokens().await?;
    println!("deleted all; {} left", store.get_tokens().await?.len());
    println!("service calls: {:?}", store.calls().snapshot());
    Ok(())
}
