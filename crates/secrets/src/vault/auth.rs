//! Obtaining and renewing Vault tokens: token, AppRole and Kubernetes auth.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::Transport;
use super::config::VaultAuth;
use crate::error::{ErrorKind, SecretError};
use crate::value::SecretValue;

/// A Vault token and what is known of its lifetime. Its value never prints.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    value: SecretValue,
    /// `None` for a token that does not expire (or whose TTL is unknown).
    expires_at: Option<Instant>,
    ttl: Duration,
    renewable: bool,
}

impl Token {
    pub(crate) fn value(&self) -> &SecretValue {
        &self.value
    }

    /// Whether less than `renew_before` (at most half the TTL) is left.
    pub(crate) fn needs_renewal(&self, now: Instant, renew_before: Duration) -> bool {
        let margin = renew_before.min(self.ttl / 2);
        self.expires_at
            .is_some_and(|expires_at| now + margin >= expires_at)
    }

    fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|expires_at| now >= expires_at)
    }

    fn new(value: SecretValue, ttl_secs: u64, renewable: bool) -> Self {
        let ttl = Duration::from_secs(ttl_secs);
        Self {
            value,
            expires_at: (ttl_secs > 0).then(|| Instant::now() + ttl),
            ttl,
            renewable,
        }
    }
}

/// Get a token: log in (AppRole, Kubernetes) or take the configured token and look up its
/// TTL.
pub(crate) async fn obtain(transport: &Transport, auth: &VaultAuth) -> Result<Token, SecretError> {
    match auth {
        VaultAuth::Token { token, token_file } => {
            let value = match (token, token_file) {
                (Some(token), _) => token.clone(),
                (None, Some(path)) => read_credential_file(path, "token_file")?,
                (None, None) => {
                    return Err(SecretError::backend(
                        "token auth needs `token` or `token_file`",
                    ));
                }
            };
            look_up(transport, value).await
        }
        VaultAuth::AppRole {
            mount,
            role_id,
            secret_id,
            secret_id_file,
        } => {
            let secret_id = match (secret_id, secret_id_file) {
                (Some(secret_id), _) => secret_id.clone(),
                (None, Some(path)) => read_credential_file(path, "secret_id_file")?,
                (None, None) => {
                    return Err(SecretError::backend(
                        "AppRole auth needs `secret_id` or `secret_id_file`",
                    ));
                }
            };
            let body = json!({ "role_id": role_id, "secret_id": secret_id.expose() });
            login(transport, mount, &body, "AppRole").await
        }
        VaultAuth::Kubernetes {
            mount,
            role,
            jwt_path,
        } => {
            let jwt = read_credential_file(jwt_path, "jwt_path")?;
            let body = json!({ "role": role, "jwt": jwt.expose() });
            login(transport, mount, &body, "Kubernetes").await
        }
    }
}

/// Renew a token that is close to expiry; fall back to a fresh login where possible.
pub(crate) async fn refresh(
    transport: &Transport,
    auth: &VaultAuth,
    token: Token,
) -> Result<Token, SecretError> {
    if token.renewable {
        match renew_self(transport, &token).await {
            Ok(renewed) => return Ok(renewed),
            Err(error) => {
                tracing::warn!(error = %error, "renewing the Vault token failed");
            }
        }
    }
    if auth.can_login() {
        return obtain(transport, auth).await;
    }
    if token.is_expired(Instant::now()) {
        return Err(SecretError::permission_denied(
            "the Vault token has expired and token auth cannot log in again",
        ));
    }
    // A token we cannot renew stays usable until it expires.
    Ok(token)
}

async fn login(
    transport: &Transport,
    mount: &str,
    body: &Value,
    method_name: &str,
) -> Result<Token, SecretError> {
    let mut segments = vec!["auth"];
    segments.extend(mount.split('/').filter(|s| !s.is_empty()));
    segments.push("login");
    let answer = transport
        .send(Method::POST, &segments, None, Some(body), None)
        .await
        .map_err(|error| {
            SecretError::new(
                error.kind(),
                format!(
                    "{method_name} login at `auth/{mount}` failed: {}",
                    error.message()
                ),
            )
        })?;
    token_from_auth(&answer).ok_or_else(|| {
        SecretError::backend(format!(
            "{method_name} login answered without a client token"
        ))
    })
}

async fn renew_self(transport: &Transport, token: &Token) -> Result<Token, SecretError> {
    let answer = transport
        .send(
            Method::POST,
            &["auth", "token", "renew-self"],
            None,
            Some(&json!({})),
            Some(&token.value),
        )
        .await?;
    let mut renewed = token_from_auth(&answer)
        .ok_or_else(|| SecretError::backend("renew-self answered without auth data"))?;
    // renew-self may omit the token itself; keep the one we have.
    if renewed.value.is_empty() {
        renewed.value = token.value.clone();
    }
    Ok(renewed)
}

async fn look_up(transport: &Transport, value: SecretValue) -> Result<Token, SecretError> {
    let answer = transport
        .send(
            Method::GET,
            &["auth", "token", "lookup-self"],
            None,
            None,
            Some(&value),
        )
        .await;
    match answer {
        Ok(answer) => {
            let ttl = answer
                .pointer("/data/ttl")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let renewable = answer
                .pointer("/data/renewable")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(Token::new(value, ttl, renewable))
        }
        // A policy may deny lookup-self; then the TTL is unknown and reads will tell.
        Err(error) if error.kind() == ErrorKind::PermissionDenied => {
            tracing::debug!("lookup-self denied; the token's TTL is unknown");
            Ok(Token::new(value, 0, false))
        }
        Err(error) => Err(error),
    }
}

fn token_from_auth(answer: &Value) -> Option<Token> {
    let auth = answer.get("auth")?;
    let value = auth
        .get("client_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ttl = auth
        .get("lease_duration")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let renewable = auth
        .get("renewable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(Token::new(SecretValue::from(value), ttl, renewable))
}

fn read_credential_file(path: &Path, setting: &str) -> Result<SecretValue, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            _ => ErrorKind::Backend,
        };
        SecretError::new(
            kind,
            format!("cannot read {setting} {}: {e}", path.display()),
        )
    })?;
    let value = SecretValue::new(text);
    Ok(SecretValue::from(value.expose().trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn renewal_is_due_near_expiry() {
        let token = Token::new("t".into(), 600, true);
        let now = Instant::now();
        let before = Duration::from_secs(60);
        assert!(!token.needs_renewal(now, before));
        assert!(!token.needs_renewal(now + Duration::from_secs(539), before));
        assert!(token.needs_renewal(now + Duration::from_secs(540), before));
        // A short TTL renews at half-life, not on every request.
        let short = Token::new("t".into(), 30, true);
        assert!(!short.needs_renewal(now + Duration::from_secs(14), before));
        assert!(short.needs_renewal(now + Duration::from_secs(15), before));
        // Tokens without TTL (root) never need renewal.
        assert!(!Token::new("t".into(), 0, false).needs_renewal(now, before));
    }
}
