//! The `zoho-token-store` command in tests: one isolated store per test, on LocalStack.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;
use zoho_token_store::Keyring;

pub const HEADER: &str = "id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain";

/// One isolated store: its own prefix and keys, on LocalStack.
pub struct Env {
    pub prefix: String,
    pub keys: String,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new(test: &str) -> Self {
        Self {
            prefix: super::unique_prefix(test),
            keys: Keyring::generate("k1").unwrap().to_string(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The command as a plain process (for tests that hold its pipes themselves), on this store.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("zoho-token-store"));
        cmd.env("AWS_ENDPOINT_URL", super::endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            // As the library tests' clients: LocalStack's listing race answers 500s under load.
            .env("AWS_MAX_ATTEMPTS", "6")
            .env("ZOHO_TOKEN_STORE_PREFIX", &self.prefix)
            .env("ZOHO_TOKEN_STORE_KEYS", &self.keys)
            .env_remove("ZOHO_TOKEN_STORE_KEYRING_SECRET")
            .env_remove("ZOHO_ACCOUNTS_URL");
        cmd
    }

    /// The command on this store with its keys in the keyring secret `keyring`, wrapped by `kms_key`
    /// (ZOHO_TOKEN_STORE_KEYS unset, so nothing else could serve them).
    pub fn keyring_cmd(&self, keyring: &str, kms_key: &str) -> Command {
        let mut cmd = self.cmd();
        cmd.env_remove("ZOHO_TOKEN_STORE_KEYS").args([
            "--keyring-secret",
            keyring,
            "--kms-key-id",
            kms_key,
        ]);
        cmd
    }

    pub fn file(&self, name: &str, contents: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self
            .cmd()
            .args(args)
            .arg("--json")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    }
}
