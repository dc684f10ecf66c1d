//! Configuration of the Vault/OpenBao client (a TOML section, or Vault's environment
//! variables).
//!
//! ```toml
//! [secrets.vault]
//! address = "https://vault.example:8200"
//! namespace = "team-a"            # optional (Vault Enterprise / OpenBao namespaces)
//! ca_cert = "/etc/grimos/vault-ca.pem"  # optional PEM bundle
//! timeout_secs = 10
//! renew_before_secs = 60
//!
//! [secrets.vault.auth]
//! method = "approle"              # or "token", "kubernetes"
//! role_id = "..."
//! secret_id_file = "/run/secrets/vault-secret-id"
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::SecretError;
use crate::value::SecretValue;

/// Default path of a Kubernetes service-account token.
pub const KUBERNETES_JWT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Settings of a [`crate::vault::VaultClient`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// Base address, e.g. `https://vault.example:8200` (no `/v1`).
    pub address: String,
    /// Namespace sent as `X-Vault-Namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// PEM file of extra CA certificates to trust (added to the built-in roots).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// How to log in.
    pub auth: VaultAuth,
    /// Timeout of each HTTP request, in seconds.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Renew (or log in again) when the token has less than this many seconds left.
    #[serde(default = "default_renew_before_secs")]
    pub renew_before_secs: u64,
}

fn default_timeout_secs() -> u64 {
    10
}

fn default_renew_before_secs() -> u64 {
    60
}

/// Authentication method. A credential is given inline (`token`, `secret_id`) or, better,
/// as a file path (`token_file`, `secret_id_file`), read at each login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum VaultAuth {
    /// A token obtained out of band; renewed with `renew-self` while renewable.
    Token {
        /// The token.
        #[serde(default)]
        token: Option<SecretValue>,
        /// File holding the token.
        #[serde(default)]
        token_file: Option<PathBuf>,
    },
    /// AppRole login with a role id and secret id.
    #[serde(rename = "approle")]
    AppRole {
        /// Mount of the AppRole auth method.
        #[serde(default = "default_approle_mount")]
        mount: String,
        /// Role id (not secret by itself).
        role_id: String,
        /// Secret id.
        #[serde(default)]
        secret_id: Option<SecretValue>,
        /// File holding the secret id.
        #[serde(default)]
        secret_id_file: Option<PathBuf>,
    },
    /// Kubernetes auth with the pod's service-account JWT.
    Kubernetes {
        /// Mount of the Kubernetes auth method.
        #[serde(default = "default_kubernetes_mount")]
        mount: String,
        /// Vault role bound to the service account.
        role: String,
        /// File holding the service-account JWT.
        #[serde(default = "default_jwt_path")]
        jwt_path: PathBuf,
    },
}

fn default_approle_mount() -> String {
    "approle".into()
}

fn default_kubernetes_mount() -> String {
    "kubernetes".into()
}

fn default_jwt_path() -> PathBuf {
    PathBuf::from(KUBERNETES_JWT_PATH)
}

impl VaultAuth {
    /// Whether the client can obtain a new token by itself (AppRole, Kubernetes).
    pub fn can_login(&self) -> bool {
        !matches!(self, Self::Token { .. })
    }
}

impl VaultConfig {
    /// A configuration for `address` with token auth and default timeouts.
    pub fn with_token(address: impl Into<String>, token: SecretValue) -> Self {
        Self {
            address: address.into(),
            namespace: None,
            ca_cert: None,
            auth: VaultAuth::Token {
                token: Some(token),
                token_file: None,
            },
            timeout_secs: default_timeout_secs(),
            renew_before_secs: default_renew_before_secs(),
        }
    }

    /// Read Vault's standard variables: `VAULT_ADDR` (required), `VAULT_TOKEN` (required),
    /// `VAULT_NAMESPACE` and `VAULT_CACERT` (optional).
    pub fn from_env() -> Result<Self, SecretError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`VaultConfig::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SecretError> {
        let non_empty = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let address = non_empty("VAULT_ADDR").ok_or_else(|| {
            SecretError::backend("VAULT_ADDR is not set; vault: references need it")
        })?;
        let token = non_empty("VAULT_TOKEN").ok_or_else(|| {
            SecretError::backend("VAULT_TOKEN is not set; vault: references need it")
        })?;
        let mut config = Self::with_token(address, SecretValue::new(token));
        config.namespace = non_empty("VAULT_NAMESPACE");
        config.ca_cert = non_empty("VAULT_CACERT").map(PathBuf::from);
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_vault_environment_variables() {
        let vars: HashMap<&str, &str> = [
            ("VAULT_ADDR", "https://vault:8200"),
            ("VAULT_TOKEN", "s.abc"),
            ("VAULT_NAMESPACE", "team-a"),
            ("VAULT_CACERT", "/etc/ca.pem"),
        ]
        .into();
        let config = VaultConfig::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(config.address, "https://vault:8200");
        assert_eq!(config.namespace.as_deref(), Some("team-a"));
        assert_eq!(config.ca_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert!(
            matches!(config.auth, VaultAuth::Token { token: Some(ref t), .. } if t.expose() == "s.abc")
        );
        // Never printed back.
        assert!(!format!("{config:?}").contains("s.abc"));
        assert!(!serde_json::to_string(&config).unwrap().contains("s.abc"));
    }

    #[test]
    fn missing_address_is_an_error() {
        let error = VaultConfig::from_lookup(|_| None).unwrap_err();
        assert!(error.to_string().contains("VAULT_ADDR"));
    }

    #[test]
    fn parses_auth_methods_from_toml_like_json() {
        let approle: VaultConfig = serde_json::from_value(serde_json::json!({
            "address": "http://127.0.0.1:8200",
            "auth": { "method": "approle", "role_id": "r", "secret_id_file": "/run/s" }
        }))
        .unwrap();
        assert!(matches!(approle.auth, VaultAuth::AppRole { ref mount, .. } if mount == "approle"));
        assert_eq!(approle.timeout_secs, 10);
        let kubernetes: VaultConfig = serde_json::from_value(serde_json::json!({
            "address": "http://127.0.0.1:8200",
            "auth": { "method": "kubernetes", "role": "grimos" }
        }))
        .unwrap();
        assert!(matches!(
            kubernetes.auth,
            VaultAuth::Kubernetes { ref jwt_path, .. } if jwt_path.to_str() == Some(KUBERNETES_JWT_PATH)
        ));
    }
}
