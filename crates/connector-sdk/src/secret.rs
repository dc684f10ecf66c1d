//! Secret values and the port through which secret references are resolved.
//!
//! A connector configuration never holds a secret, only a reference:
//! `env:NAME`, `file:/path`, `vault:mount/path#field` or `local:name`. The SDK resolves
//! `env:` and `file:` itself ([`EnvFileSecretSource`]); the secrets service plugs its
//! Vault/OpenBao and local-store resolvers in through [`SecretSource`] and
//! [`SchemeSecretSource`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Serialize, Serializer};

use crate::error::{ConnectorError, ErrorKind, Operation};

/// A secret value that never prints: `Debug`, `Display` and `Serialize` all give `***`.
/// Read it only where it is used, with [`Secret::expose`].
#[derive(Clone)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Arc::from(value.into()))
    }

    /// The secret value. Call it only to hand the value to the system that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// Splits a reference into scheme and rest: `env:TOKEN` -> `("env", "TOKEN")`.
pub fn split_reference(reference: &str) -> Result<(&str, &str), ConnectorError> {
    match reference.split_once(':') {
        Some((scheme, rest)) if !scheme.is_empty() && !rest.is_empty() => Ok((scheme, rest)),
        _ => Err(ConnectorError::config(
            Operation::ResolveSecret,
            "a secret reference looks like `scheme:location` (env:, file:, vault:, local:)",
        )),
    }
}

/// Resolves secret references to values. Implemented by the SDK for `env:`/`file:` and by
/// the secrets service for `vault:`/`local:`.
///
/// Called at connection time and again after an authentication failure, so a rotated
/// secret is picked up without rebuilding the connector.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// Resolves one reference. Error details name the reference, never a value.
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError>;
}

#[async_trait]
impl<T: SecretSource + ?Sized> SecretSource for Arc<T> {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        (**self).resolve(reference).await
    }
}

/// Resolves `env:NAME` (an environment variable) and `file:/path` (the file's content,
/// without a trailing newline). Other schemes are a configuration error.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvFileSecretSource;

#[async_trait]
impl SecretSource for EnvFileSecretSource {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        let (scheme, location) = split_reference(reference)?;
        match scheme {
            "env" => match std::env::var(location) {
                Ok(value) => Ok(Secret::new(value)),
                Err(_) => Err(ConnectorError::config(
                    Operation::ResolveSecret,
                    format!("secret reference `env:{location}`: variable is not set or not UTF-8"),
                )),
            },
            "file" => match tokio::fs::read_to_string(location).await {
                Ok(content) => Ok(Secret::new(
                    content.trim_end_matches(['\n', '\r']).to_owned(),
                )),
                Err(err) => {
                    let kind = match err.kind() {
                        std::io::ErrorKind::PermissionDenied => ErrorKind::Permission,
                        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
                        _ => ErrorKind::Config,
                    };
                    Err(ConnectorError::new(
                        kind,
                        Operation::ResolveSecret,
                        format!("secret reference `file:{location}` cannot be read: {err}"),
                    ))
                }
            },
            other => Err(unsupported_scheme(other)),
        }
    }
}

fn unsupported_scheme(scheme: &str) -> ConnectorError {
    ConnectorError::config(
        Operation::ResolveSecret,
        format!("no secret resolver is configured for `{scheme}:` references"),
    )
}

/// Routes references to a source by scheme (`vault` -> the Vault resolver, ...).
#[derive(Clone, Default)]
pub struct SchemeSecretSource {
    sources: HashMap<String, Arc<dyn SecretSource>>,
}

impl SchemeSecretSource {
    /// A router that knows `env:` and `file:`.
    pub fn with_env_and_file() -> Self {
        let builtin: Arc<dyn SecretSource> = Arc::new(EnvFileSecretSource);
        Self::default()
            .route("env", builtin.clone())
            .route("file", builtin)
    }

    /// Sends references with `scheme` to `source`.
    #[must_use]
    pub fn route(mut self, scheme: impl Into<String>, source: Arc<dyn SecretSource>) -> Self {
        self.sources.insert(scheme.into(), source);
        self
    }
}

impl fmt::Debug for SchemeSecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut schemes: Vec<_> = self.sources.keys().collect();
        schemes.sort();
        f.debug_struct("SchemeSecretSource")
            .field("schemes", &schemes)
            .finish()
    }
}

#[async_trait]
impl SecretSource for SchemeSecretSource {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        let (scheme, _) = split_reference(reference)?;
        match self.sources.get(scheme) {
            Some(source) => source.resolve(reference).await,
            None => Err(unsupported_scheme(scheme)),
        }
    }
}

/// Finds the properties of a configuration JSON Schema marked `"x-secret": true`, as JSON
/// pointers into a configuration (`/auth/client_secret`).
pub fn secret_fields(schema: &serde_json::Value) -> Vec<String> {
    fn walk(schema: &serde_json::Value, pointer: &str, found: &mut Vec<String>) {
        if let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, property) in properties {
                let path = format!("{pointer}/{name}");
                if property.get("x-secret").and_then(|v| v.as_bool()) == Some(true) {
                    found.push(path.clone());
                }
                walk(property, &path, found);
            }
        }
        for combinator in ["oneOf", "anyOf", "allOf"] {
            if let Some(variants) = schema.get(combinator).and_then(|v| v.as_array()) {
                for variant in variants {
                    walk(variant, pointer, found);
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(schema, "", &mut found);
    found.sort();
    found.dedup();
    found
}
