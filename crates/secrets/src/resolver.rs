//! [`SecretResolver`]: turns a [`SecretRef`] into a [`SecretValue`] through the configured
//! backends, with a short TTL cache.
//!
//! The cache keeps a value for `cache_ttl` (60 s by default), so a secret rotated in Vault is
//! picked up within that time without a restart; [`SecretResolver::invalidate`] drops one
//! entry at once, for "the credential was rejected, read it again once".
//!
//! Guard rails: `env:` cannot read the server's own credentials ([`PROTECTED_ENV_VARS`]) and
//! can be limited to a prefix; `file:` is off until at least one allowed root directory is
//! configured, and a path (after resolving symlinks) must lie under one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{ErrorKind, SecretError};
use crate::local_store::LocalSecretStore;
use crate::reference::SecretRef;
use crate::value::SecretValue;
use crate::vault::VaultClient;

/// Default time a resolved value is reused.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Environment variables `env:` references may never read: the server's own credentials.
pub const PROTECTED_ENV_VARS: &[&str] = &[
    crate::master_key::MASTER_KEY_ENV,
    "VAULT_TOKEN",
    "BAO_TOKEN",
];
/// Largest file a `file:` reference may read.
const MAX_SECRET_FILE_BYTES: u64 = 1024 * 1024;
/// Above this many cache entries, expired ones are swept on insert.
const CACHE_SWEEP_THRESHOLD: usize = 1024;

type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Resolves secret references. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct SecretResolver {
    inner: Arc<Inner>,
}

struct Inner {
    cache_ttl: Duration,
    env_lookup: EnvLookup,
    env_prefix: Option<String>,
    file_roots: Vec<PathBuf>,
    vault_prefixes: Vec<String>,
    local: Option<LocalSecretStore>,
    vault: Option<VaultClient>,
    cache: Mutex<HashMap<SecretRef, CacheEntry>>,
}

struct CacheEntry {
    value: SecretValue,
    fetched_at: Instant,
}

impl std::fmt::Debug for SecretResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretResolver")
            .field("cache_ttl", &self.inner.cache_ttl)
            .field("env_prefix", &self.inner.env_prefix)
            .field("file_roots", &self.inner.file_roots)
            .field("local", &self.inner.local.is_some())
            .field("vault", &self.inner.vault.is_some())
            .finish_non_exhaustive()
    }
}

/// Builder of a [`SecretResolver`].
pub struct SecretResolverBuilder {
    cache_ttl: Duration,
    env_lookup: EnvLookup,
    env_prefix: Option<String>,
    file_roots: Vec<PathBuf>,
    vault_prefixes: Vec<String>,
    local: Option<LocalSecretStore>,
    vault: Option<VaultClient>,
}

impl Default for SecretResolverBuilder {
    fn default() -> Self {
        Self {
            cache_ttl: DEFAULT_CACHE_TTL,
            env_lookup: Arc::new(|name| std::env::var(name).ok()),
            env_prefix: None,
            file_roots: Vec::new(),
            vault_prefixes: Vec::new(),
            local: None,
            vault: None,
        }
    }
}

impl SecretResolverBuilder {
    /// How long a resolved value is reused; zero disables the cache.
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// Only allow `env:` names starting with `prefix` (e.g. `GRIMOS_SECRET_`).
    #[must_use]
    pub fn env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.env_prefix = Some(prefix.into());
        self
    }

    /// Read `env:` variables through `lookup` instead of the process environment.
    #[must_use]
    pub fn env_lookup(
        mut self,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.env_lookup = Arc::new(lookup);
        self
    }

    /// Allow `file:` references under `root` (e.g. `/run/secrets`). Without any root,
    /// `file:` references are refused.
    #[must_use]
    pub fn allow_file_root(mut self, root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = std::fs::canonicalize(&root).unwrap_or(root);
        self.file_roots.push(root);
        self
    }

    /// Only allow `vault:` references whose `mount/path` starts with `prefix` (e.g.
    /// `secret/grimos/`). Without any prefix, every path the Vault token can read is
    /// allowed.
    #[must_use]
    pub fn allow_vault_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.vault_prefixes.push(prefix.into());
        self
    }

    /// Serve `local:` references from the embedded store.
    #[must_use]
    pub fn local_store(mut self, store: LocalSecretStore) -> Self {
        self.local = Some(store);
        self
    }

    /// Serve `vault:` references from Vault/OpenBao.
    #[must_use]
    pub fn vault(mut self, client: VaultClient) -> Self {
        self.vault = Some(client);
        self
    }

    /// The resolver.
    pub fn build(self) -> SecretResolver {
        SecretResolver {
            inner: Arc::new(Inner {
                cache_ttl: self.cache_ttl,
                env_lookup: self.env_lookup,
                env_prefix: self.env_prefix,
                file_roots: self.file_roots,
                vault_prefixes: self.vault_prefixes,
                local: self.local,
                vault: self.vault,
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl SecretResolver {
    /// A builder with the defaults: 60 s cache, `env:` on, `file:` off, no local store,
    /// no Vault.
    pub fn builder() -> SecretResolverBuilder {
        SecretResolverBuilder::default()
    }

    /// Resolve a reference, from the cache while fresh. Errors name the reference, never
    /// the value.
    pub async fn resolve(&self, reference: &SecretRef) -> Result<SecretValue, SecretError> {
        if let Some(value) = self.cached(reference) {
            return Ok(value);
        }
        let value = self
            .fetch(reference)
            .await
            .map_err(|error| error.with_reference(reference))?;
        tracing::debug!(secret = %reference, "resolved secret");
        self.remember(reference, &value);
        Ok(value)
    }

    /// Parse and resolve. A parse error carries no reference text (the input may be a
    /// pasted secret).
    pub async fn resolve_str(&self, reference: &str) -> Result<SecretValue, SecretError> {
        let reference: SecretRef = reference.parse().map_err(SecretError::from)?;
        self.resolve(&reference).await
    }

    /// Forget the cached value of `reference`, so the next resolve reads the backend.
    pub fn invalidate(&self, reference: &SecretRef) {
        self.lock_cache().remove(reference);
    }

    /// Forget every cached value.
    pub fn clear_cache(&self) {
        self.lock_cache().clear();
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<SecretRef, CacheEntry>> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn cached(&self, reference: &SecretRef) -> Option<SecretValue> {
        let ttl = self.inner.cache_ttl;
        if ttl.is_zero() {
            return None;
        }
        let cache = self.lock_cache();
        cache
            .get(reference)
            .filter(|entry| entry.fetched_at.elapsed() < ttl)
            .map(|entry| entry.value.clone())
    }

    fn remember(&self, reference: &SecretRef, value: &SecretValue) {
        let ttl = self.inner.cache_ttl;
        if ttl.is_zero() {
            return;
        }
        let mut cache = self.lock_cache();
        if cache.len() >= CACHE_SWEEP_THRESHOLD {
            cache.retain(|_, entry| entry.fetched_at.elapsed() < ttl);
        }
        cache.insert(
            reference.clone(),
            CacheEntry {
                value: value.clone(),
                fetched_at: Instant::now(),
            },
        );
    }

    async fn fetch(&self, reference: &SecretRef) -> Result<SecretValue, SecretError> {
        match reference {
            SecretRef::Vault(vault_ref) => match &self.inner.vault {
                Some(_) if !self.vault_path_allowed(vault_ref) => {
                    Err(SecretError::permission_denied(
                        "the Vault path is outside the allowed prefixes (secrets.vault_prefixes)",
                    ))
                }
                Some(client) => client.read_field(vault_ref).await,
                None => Err(SecretError::invalid_reference(
                    "vault: references are not enabled (no Vault/OpenBao is configured)",
                )),
            },
            SecretRef::Env { name } => self.read_env(name),
            SecretRef::File { path } => self.read_file(Path::new(path)).await,
            SecretRef::Local { name } => match &self.inner.local {
                Some(store) => store.resolve(name).await,
                None => Err(SecretError::invalid_reference(
                    "local: references are not enabled (no local store is configured)",
                )),
            },
        }
    }

    fn vault_path_allowed(&self, reference: &crate::reference::VaultRef) -> bool {
        let prefixes = &self.inner.vault_prefixes;
        if prefixes.is_empty() {
            return true;
        }
        let location = format!("{}/{}", reference.mount, reference.path);
        prefixes.iter().any(|prefix| {
            let prefix = prefix.trim_end_matches('/');
            location == prefix || location.starts_with(&format!("{prefix}/"))
        })
    }

    fn read_env(&self, name: &str) -> Result<SecretValue, SecretError> {
        if PROTECTED_ENV_VARS.contains(&name) {
            return Err(SecretError::permission_denied(
                "this variable holds the server's own credential and cannot be referenced",
            ));
        }
        if let Some(prefix) = &self.inner.env_prefix
            && !name.starts_with(prefix.as_str())
        {
            return Err(SecretError::permission_denied(format!(
                "only variables starting with `{prefix}` may be referenced"
            )));
        }
        (self.inner.env_lookup)(name)
            .map(SecretValue::new)
            .ok_or_else(|| SecretError::not_found("the environment variable is not set"))
    }

    async fn read_file(&self, path: &Path) -> Result<SecretValue, SecretError> {
        if self.inner.file_roots.is_empty() {
            return Err(SecretError::invalid_reference(
                "file: references are not enabled (no allowed secret directory is configured)",
            ));
        }
        let canonical = tokio::fs::canonicalize(path)
            .await
            .map_err(|e| io_error(&e))?;
        if !self
            .inner
            .file_roots
            .iter()
            .any(|root| canonical.starts_with(root))
        {
            return Err(SecretError::permission_denied(
                "the file is outside the allowed secret directories",
            ));
        }
        let metadata = tokio::fs::metadata(&canonical)
            .await
            .map_err(|e| io_error(&e))?;
        if !metadata.is_file() {
            return Err(SecretError::not_found("the path is not a regular file"));
        }
        if metadata.len() > MAX_SECRET_FILE_BYTES {
            return Err(SecretError::backend("the file is larger than 1 MiB"));
        }
        let bytes = tokio::fs::read(&canonical)
            .await
            .map_err(|e| io_error(&e))?;
        let mut value = SecretValue::from_utf8(bytes)
            .ok_or_else(|| SecretError::backend("the file is not UTF-8 text"))?;
        // Files written by `echo`/editors end with one newline that is not part of the secret.
        let text = value.expose();
        let trimmed = text
            .strip_suffix("\r\n")
            .or_else(|| text.strip_suffix('\n'))
            .map(str::to_owned);
        if let Some(trimmed) = trimmed {
            value = SecretValue::new(trimmed);
        }
        Ok(value)
    }
}

fn io_error(error: &std::io::Error) -> SecretError {
    let kind = match error.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
        _ => ErrorKind::Backend,
    };
    SecretError::new(kind, format!("cannot read the file: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local_store::InMemoryRecordStore;
    use crate::master_key::MasterKey;
    use crate::vault::VaultConfig;
    use std::collections::HashMap;

    fn reference(text: &str) -> SecretRef {
        text.parse().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn cache_serves_until_ttl_then_rereads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db-password");
        std::fs::write(&path, "v1\n").unwrap();
        let resolver = SecretResolver::builder()
            .cache_ttl(Duration::from_secs(60))
            .allow_file_root(dir.path())
            .build();
        let file_ref = reference(&format!("file:{}", path.display()));

        assert_eq!(resolver.resolve(&file_ref).await.unwrap().expose(), "v1");
        std::fs::write(&path, "v2\n").unwrap();
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(resolver.resolve(&file_ref).await.unwrap().expose(), "v1");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(resolver.resolve(&file_ref).await.unwrap().expose(), "v2");

        std::fs::write(&path, "v3").unwrap();
        assert_eq!(resolver.resolve(&file_ref).await.unwrap().expose(), "v2");
        resolver.invalidate(&file_ref);
        assert_eq!(resolver.resolve(&file_ref).await.unwrap().expose(), "v3");
    }

    #[tokio::test]
    async fn file_references_stay_inside_allowed_roots() {
        let allowed = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("key");
        std::fs::write(&secret, "outside-value").unwrap();
        let link = allowed.path().join("link");
        std::os::unix::fs::symlink(&secret, &link).unwrap();

        let disabled = SecretResolver::builder().build();
        let error = disabled
            .resolve(&reference(&format!("file:{}", secret.display())))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidReference);

        let resolver = SecretResolver::builder()
            .allow_file_root(allowed.path())
            .build();
        for path in [&secret, &link] {
            let error = resolver
                .resolve(&reference(&format!("file:{}", path.display())))
                .await
                .unwrap_err();
            assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{path:?}");
            assert!(!error.to_string().contains("outside-value"));
        }
        let missing = allowed.path().join("missing");
        let error = resolver
            .resolve(&reference(&format!("file:{}", missing.display())))
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert_eq!(
            error.reference(),
            Some(format!("file:{}", missing.display()).as_str())
        );
    }

    #[tokio::test]
    async fn env_references_respect_protection_and_prefix() {
        let vars: HashMap<String, String> = [
            ("GRIMOS_SECRET_DB", "db-value"),
            ("OTHER", "other-value"),
            ("GRIMOS_MASTER_KEY", "master-value"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let resolver = SecretResolver::builder()
            .env_lookup(move |name| vars.get(name).cloned())
            .env_prefix("GRIMOS_")
            .build();
        let ok = resolver
            .resolve(&reference("env:GRIMOS_SECRET_DB"))
            .await
            .unwrap();
        assert_eq!(ok.expose(), "db-value");
        let cases = [
            ("env:GRIMOS_MASTER_KEY", ErrorKind::PermissionDenied),
            ("env:OTHER", ErrorKind::PermissionDenied),
            ("env:GRIMOS_MISSING", ErrorKind::NotFound),
        ];
        for (text, kind) in cases {
            let error = resolver.resolve(&reference(text)).await.unwrap_err();
            assert_eq!(error.kind(), kind, "{text}");
            let shown = format!("{error} {error:?}");
            assert!(shown.contains(text), "{shown}");
            assert!(!shown.contains("-value"), "{shown}");
        }
    }

    #[tokio::test]
    async fn vault_references_stay_inside_allowed_prefixes() {
        // Port 9 (discard) on loopback: a request that got through would fail as
        // unavailable, so a permission refusal proves nothing was sent.
        let config = VaultConfig::from_lookup(|name| match name {
            "VAULT_ADDR" => Some("http://127.0.0.1:9".to_owned()),
            "VAULT_TOKEN" => Some("test-token".to_owned()),
            _ => None,
        })
        .unwrap();
        let resolver = SecretResolver::builder()
            .vault(VaultClient::new(config).unwrap())
            .allow_vault_prefix("secret/grimos/")
            .build();
        for text in [
            "vault:secret/admin#token",
            "vault:secret/grimosx/app#token",
            "vault:other/grimos/app#token",
        ] {
            let error = resolver.resolve_str(text).await.unwrap_err();
            assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{text}");
        }
        let error = resolver
            .resolve_str("vault:secret/grimos/app#token")
            .await
            .unwrap_err();
        assert_ne!(error.kind(), ErrorKind::PermissionDenied);
    }

    #[tokio::test]
    async fn resolves_local_secrets_and_reports_missing_backends() {
        let store = LocalSecretStore::new(
            Arc::new(InMemoryRecordStore::new()),
            Arc::new(MasterKey::generate()),
        );
        store.set("api/key", &"local-value".into()).await.unwrap();
        let resolver = SecretResolver::builder().local_store(store).build();
        let value = resolver.resolve_str("local:api/key").await.unwrap();
        assert_eq!(value.expose(), "local-value");

        let error = resolver
            .resolve_str("vault:secret/app#password")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidReference);
        assert_eq!(error.reference(), Some("vault:secret/app#password"));

        let error = resolver
            .resolve_str("my-literal-password")
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidReference);
        assert!(!error.to_string().contains("my-literal-password"));
    }
}
