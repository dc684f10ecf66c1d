//! OIDC/JWT bearer tokens.
//!
//! A JWT is accepted when its signature verifies with a key from the identity provider's
//! JWKS, and its `iss`, `aud` and `exp` are right. The grimOS role comes from a configurable
//! claim (a dotted path such as `grimos_role` or `realm_access.roles`; a string or an array,
//! the most powerful known role wins). Keys are cached and re-fetched when a token names a
//! key id the cache does not know (key rotation), at most once per `REFRESH_COOLDOWN`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kernel::{Error, ErrorKind, Principal, PrincipalKind, Role};
use serde_json::Value;
use tokio::sync::Mutex;

/// How long fetched keys are trusted before a re-fetch.
const KEYS_TTL: Duration = Duration::from_secs(600);
/// The shortest time between two fetches triggered by unknown key ids.
const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);
/// Tolerated clock skew when checking `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

/// Only asymmetric algorithms: a shared-secret (HS*) token could be forged by anyone who
/// can read the JWKS.
const ALLOWED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// OIDC settings, from the configuration file's `[auth.oidc]` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    /// The expected `iss` claim.
    pub issuer: String,
    /// The expected `aud` claim.
    pub audience: String,
    /// Where the identity provider publishes its keys.
    pub jwks_url: String,
    /// The claim holding the grimOS role (dotted path), default `grimos_role`.
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// The claim naming the caller for humans, default `preferred_username` (then `sub`).
    #[serde(default = "default_name_claim")]
    pub name_claim: String,
}

fn default_role_claim() -> String {
    "grimos_role".to_owned()
}

fn default_name_claim() -> String {
    "preferred_username".to_owned()
}

struct CachedKeys {
    keys: HashMap<String, (DecodingKey, Option<Algorithm>)>,
    fetched_at: Instant,
}

/// Verifies OIDC bearer tokens.
pub struct OidcVerifier {
    settings: OidcSettings,
    http: reqwest::Client,
    cache: Mutex<Option<CachedKeys>>,
}

impl std::fmt::Debug for OidcVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcVerifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn unauthenticated(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unauthenticated, "invalid_token", reason)
}

impl OidcVerifier {
    /// A verifier for `settings`, fetching keys with `http`.
    pub fn new(settings: OidcSettings, http: reqwest::Client) -> Arc<Self> {
        Arc::new(Self {
            settings,
            http,
            cache: Mutex::new(None),
        })
    }

    /// Verify `token` and map it to a principal.
    pub async fn verify(&self, token: &str) -> Result<Principal, Error> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            unauthenticated("the bearer token is neither a grimOS token nor a valid JWT")
        })?;
        if !ALLOWED_ALGORITHMS.contains(&header.alg) {
            return Err(unauthenticated(format!(
                "JWT algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| unauthenticated("the JWT header has no key id (kid)"))?;
        let (key, key_algorithm) = self.key(&kid).await?;
        if key_algorithm.is_some_and(|algorithm| algorithm != header.alg) {
            return Err(unauthenticated("the JWT algorithm does not match its key"));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|error| unauthenticated(describe_jwt_error(&error)))?
            .claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| unauthenticated("the JWT has no subject"))?
            .to_owned();
        let role = role_from_claims(&claims, &self.settings.role_claim).ok_or_else(|| {
            Error::new(
                ErrorKind::Forbidden,
                "no_role",
                format!(
                    "the token is valid but its {:?} claim names no grimOS role (admin, operator, viewer, service, member)",
                    self.settings.role_claim
                ),
            )
        })?;
        let display_name = claim_at(&claims, &self.settings.name_claim)
            .and_then(Value::as_str)
            .unwrap_or(&subject)
            .to_owned();
        Ok(Principal {
            subject,
            display_name,
            role,
            kind: PrincipalKind::Oidc,
            token_id: None,
            user_id: None,
        })
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Option<Algorithm>), Error> {
        let mut cache = self.cache.lock().await;
        let fresh = cache
            .as_ref()
            .is_some_and(|cached| cached.fetched_at.elapsed() < KEYS_TTL);
        if fresh && let Some(found) = cache.as_ref().and_then(|cached| cached.keys.get(kid)) {
            return Ok(found.clone());
        }
        let may_refetch = cache
            .as_ref()
            .is_none_or(|cached| !fresh || cached.fetched_at.elapsed() >= REFRESH_COOLDOWN);
        if may_refetch {
            *cache = Some(self.fetch_keys().await?);
        }
        cache
            .as_ref()
            .and_then(|cached| cached.keys.get(kid))
            .cloned()
            .ok_or_else(|| {
                unauthenticated(format!("the JWT is signed with an unknown key {kid:?}"))
            })
    }

    async fn fetch_keys(&self) -> Result<CachedKeys, Error> {
        let unavailable = |source: Box<dyn std::error::Error + Send + Sync>| {
            Error::unavailable(
                "cannot fetch the identity provider's signing keys (JWKS)",
                source,
            )
        };
        let mut headers = http::HeaderMap::new();
        telemetry::propagation::inject_current_context(&mut headers);
        let response = self
            .http
            .get(&self.settings.jwks_url)
            .headers(headers)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|error| unavailable(error.into()))?
            .error_for_status()
            .map_err(|error| unavailable(error.into()))?;
        let jwks: JwkSet = response
            .json()
            .await
            .map_err(|error| unavailable(error.into()))?;
        let mut keys = HashMap::new();
        for jwk in &jwks.keys {
            let (Some(kid), Ok(key)) = (jwk.common.key_id.clone(), DecodingKey::from_jwk(jwk))
            else {
                continue;
            };
            let algorithm = jwk
                .common
                .key_algorithm
                .and_then(|algorithm| algorithm.to_string().parse::<Algorithm>().ok());
            keys.insert(kid, (key, algorithm));
        }
        tracing::info!(keys = keys.len(), jwks_url = %self.settings.jwks_url, "fetched OIDC signing keys");
        Ok(CachedKeys {
            keys,
            fetched_at: Instant::now(),
        })
    }
}

fn describe_jwt_error(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind as Jwt;
    match error.kind() {
        Jwt::ExpiredSignature => "the JWT has expired".to_owned(),
        Jwt::InvalidIssuer => "the JWT was issued by another issuer".to_owned(),
        Jwt::InvalidAudience => "the JWT is meant for another audience".to_owned(),
        Jwt::InvalidSignature => "the JWT signature does not verify".to_owned(),
        Jwt::ImmatureSignature => "the JWT is not valid yet (nbf)".to_owned(),
        Jwt::MissingRequiredClaim(claim) => format!("the JWT lacks the {claim:?} claim"),
        _ => "the JWT is not valid".to_owned(),
    }
}

fn claim_at<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(claims, |value, segment| value.get(segment))
}

/// The most powerful grimOS role named by the claim at `path` (a string or an array).
pub fn role_from_claims(claims: &Value, path: &str) -> Option<Role> {
    let names: Vec<&str> = match claim_at(claims, path)? {
        Value::String(name) => vec![name.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    Role::ALL.into_iter().find(|role| {
        names
            .iter()
            .any(|name| name.eq_ignore_ascii_case(role.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_come_from_strings_arrays_and_nested_claims() {
        let cases = [
            (
                json!({"grimos_role": "viewer"}),
                "grimos_role",
                Some(Role::Viewer),
            ),
            (
                json!({"grimos_role": ["viewer", "admin"]}),
                "grimos_role",
                Some(Role::Admin),
            ),
            (
                json!({"realm_access": {"roles": ["offline", "Operator"]}}),
                "realm_access.roles",
                Some(Role::Operator),
            ),
            (json!({"grimos_role": "root"}), "grimos_role", None),
            (json!({}), "grimos_role", None),
            (json!({"grimos_role": 3}), "grimos_role", None),
        ];
        for (claims, path, expected) in cases {
            assert_eq!(role_from_claims(&claims, path), expected, "{claims}");
        }
    }
}
