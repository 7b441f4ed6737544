//! AWS Lambda entry point for the Secrets Manager rotation handler (build with `--features lambda`).
//!
//! Configuration, from the function's environment:
//! - `ZOHO_TOKEN_STORE_PREFIX`: the store's prefix (default `zoho/oauth/`);
//! - keys: `ZOHO_TOKEN_STORE_KEYRING_SECRET` (a keyring secret, KMS-wrapped when
//!   `ZOHO_TOKEN_STORE_KMS_KEY_ID` is set), else `ZOHO_TOKEN_STORE_KEYS`;
//! - Zoho: `ZOHO_ACCOUNTS_URL`, else `ZOHO_DATA_CENTER` (`us`, `eu`, `in`, `au`, `jp`, `cn`, `ca`,
//!   `sa`; default `us`).

use std::sync::Arc;

use lambda_runtime::{Diagnostic, Error as LambdaError, LambdaEvent, service_fn};
use zoho_token_store::{
    AccountsClient, DEFAULT_PREFIX, KeysConfig, RotationEvent, RotationHandler, SecretsManagerStore,
};

#[tokio::main]
async fn main() -> Result<(), LambdaError> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let keys = KeysConfig::from_env()?.key_source(&config);
    let prefix =
        std::env::var("ZOHO_TOKEN_STORE_PREFIX").unwrap_or_else(|_| DEFAULT_PREFIX.to_owned());
    let store = SecretsManagerStore::builder(client, keys)
        .prefix(prefix)
        .build()?;
    let accounts = AccountsClient::from_env()?;
    let handler = Arc::new(RotationHandler::new(Arc::new(store), accounts));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<RotationEvent>| {
        let handler = Arc::clone(&handler);
        async move {
            // Secrets Manager and CloudWatch show the error's kind and its one-line message (which
            // names the fix), not the Rust type it travelled in.
            handler
                .handle(&event.payload)
                .await
                .map_err(|e| Diagnostic {
                    error_type: e.kind().to_owned(),
                    error_message: e.to_string(),
                })
        }
    }))
    .await
}
