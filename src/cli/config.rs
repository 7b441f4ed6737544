//! Turning flags and the environment into a store, a key source and a token manager.

use std::sync::Arc;

use crate::{
    AccountsClient, DEFAULT_PREFIX, Keyring, KeysConfig, RecoveryWindow, SecretKeySource,
    SecretsManagerStore, TokenManager,
};
use aws_config::{BehaviorVersion, Region};
use clap::Args;

/// Options every command shares.
#[derive(Args, Debug)]
pub struct Global {
    /// AWS endpoint, e.g. LocalStack's http://127.0.0.1:4566 [default: AWS]
    #[arg(
        long,
        global = true,
        hide_env_values = true,
        env = "AWS_ENDPOINT_URL",
        value_name = "URL"
    )]
    pub endpoint_url: Option<String>,
    /// AWS region [default: from the AWS configuration]
    #[arg(long, global = true, hide_env_values = true, env = "AWS_REGION")]
    pub region: Option<String>,
    /// Prefix of the store's secret names
    #[arg(long, global = true, hide_env_values = true, env = "ZOHO_TOKEN_STORE_PREFIX", default_value = DEFAULT_PREFIX)]
    pub prefix: String,
    /// Keep keys in this keyring secret instead of ZOHO_TOKEN_STORE_KEYS
    #[arg(
        long,
        global = true,
        hide_env_values = true,
        env = "ZOHO_TOKEN_STORE_KEYRING_SECRET",
        value_name = "NAME"
    )]
    pub keyring_secret: Option<String>,
    /// KMS key (id, ARN or alias) that wraps the keyring secret's keys
    #[arg(
        long,
        global = true,
        hide_env_values = true,
        env = "ZOHO_TOKEN_STORE_KMS_KEY_ID",
        value_name = "KEY"
    )]
    pub kms_key_id: Option<String>,
    /// Read a KMS-wrapped keyring secret written before its keys were bound to its name (for the
    /// upgrade only: then run `rebind-keyring`)
    #[arg(long, global = true, env = "ZOHO_TOKEN_STORE_ALLOW_UNBOUND_KEYRING")]
    pub allow_unbound_keyring: bool,
    /// Machine-readable JSON output on reading commands
    #[arg(long, global = true)]
    pub json: bool,
}

/// Where Zoho's accounts server is, for commands that refresh.
#[derive(Args, Debug)]
pub struct Zoho {
    /// Zoho data centre: us, eu, in, au, jp, cn, ca or sa
    #[arg(
        long,
        hide_env_values = true,
        env = "ZOHO_DATA_CENTER",
        default_value = "us"
    )]
    pub data_center: String,
    /// Accounts server URL, overriding --data-center (sandboxes, tests)
    #[arg(
        long,
        hide_env_values = true,
        env = "ZOHO_ACCOUNTS_URL",
        value_name = "URL"
    )]
    pub accounts_url: Option<String>,
}

impl Global {
    async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        loader.load().await
    }

    /// Where the keys are: the keyring secret (KMS-wrapped with --kms-key-id) or ZOHO_TOKEN_STORE_KEYS.
    fn keys(&self) -> crate::Result<KeysConfig> {
        match &self.keyring_secret {
            Some(name) => Ok(self.keyring_secret(name)),
            None => Ok(KeysConfig::keyring(Keyring::from_env()?)),
        }
    }

    fn keyring_secret(&self, name: &str) -> KeysConfig {
        KeysConfig::secret(name)
            .kms_key_id(self.kms_key_id.clone())
            .allow_unbound_keys(self.allow_unbound_keyring)
    }

    /// The keyring secret's source, when one is configured.
    pub async fn secret_key_source(&self) -> Option<SecretKeySource> {
        let name = self.keyring_secret.as_ref()?;
        self.keyring_secret(name)
            .secret_source(&self.sdk_config().await)
    }

    pub async fn store(&self) -> crate::Result<Arc<SecretsManagerStore>> {
        self.store_with(RecoveryWindow::default()).await
    }

    pub async fn store_with(
        &self,
        window: RecoveryWindow,
    ) -> crate::Result<Arc<SecretsManagerStore>> {
        let keys = self.keys()?;
        let aws = self.sdk_config().await;
        let client = aws_sdk_secretsmanager::Client::new(&aws);
        let store = SecretsManagerStore::builder(client, keys.key_source(&aws))
            .prefix(&self.prefix)
            .recovery_window(window)
            .build()?;
        Ok(Arc::new(store))
    }

    pub async fn manager(&self, zoho: &Zoho) -> crate::Result<TokenManager> {
        let store = self.store().await?;
        let accounts = AccountsClient::for_server(zoho.accounts_url.as_deref(), &zoho.data_center)?;
        TokenManager::builder(store.clone(), accounts)
            .coordinator(store)
            .build()
    }
}
