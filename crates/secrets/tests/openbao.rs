//! The Vault client and resolver against a real OpenBao dev server (see `support/openbao.rs`
//! for how `bao` is found, installed and started).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrets::vault::{TransitMasterKey, VaultAuth};
use secrets::{
    EnvelopeContext, ErrorKind, MasterKey, SecretError, SecretRef, SecretResolver, SecretValue,
    VaultClient, VaultConfig, envelope,
};
use serde_json::json;
use support::openbao::{self, OpenBao, ROOT_TOKEN, unique};

fn root_client(server: &OpenBao) -> VaultClient {
    VaultClient::new(VaultConfig::with_token(&server.address, ROOT_TOKEN.into())).unwrap()
}

fn resolver(client: VaultClient, ttl: Duration) -> SecretResolver {
    SecretResolver::builder()
        .vault(client)
        .cache_ttl(ttl)
        .build()
}

fn reference(text: &str) -> SecretRef {
    text.parse().unwrap()
}

/// Asserts the error's kind, that it names the reference and shows none of `values`.
fn assert_error(error: &SecretError, kind: ErrorKind, reference: &str, values: &[&str]) {
    assert_eq!(error.kind(), kind, "{error}");
    let shown = format!("{error} | {error:?}");
    assert!(
        shown.contains(reference),
        "error should name {reference}: {shown}"
    );
    for value in values {
        assert!(!shown.contains(value), "error leaks a value: {shown}");
    }
}

#[tokio::test]
async fn reads_latest_and_pinned_kv2_versions() {
    let server = openbao::shared();
    let path = unique("app/db");
    let admin = server.admin();
    admin
        .put_kv(
            &path,
            json!({ "password": "pw-one-7781", "user": "grimos" }),
        )
        .await;
    admin
        .put_kv(&path, json!({ "password": "pw-two-7782" }))
        .await;
    let resolver = resolver(root_client(server), Duration::from_secs(60));

    let latest = resolver
        .resolve(&reference(&format!("vault:secret/{path}#password")))
        .await;
    assert_eq!(latest.unwrap().expose(), "pw-two-7782");
    let pinned = resolver
        .resolve(&reference(&format!(
            "vault:secret/{path}#password?version=1"
        )))
        .await;
    assert_eq!(pinned.unwrap().expose(), "pw-one-7781");
    let old_field = resolver
        .resolve(&reference(&format!("vault:secret/{path}#user?version=1")))
        .await;
    assert_eq!(old_field.unwrap().expose(), "grimos");

    let values = ["pw-one-7781", "pw-two-7782", "grimos"];
    let missing_field = format!("vault:secret/{path}#user");
    let error = resolver
        .resolve(&reference(&missing_field))
        .await
        .unwrap_err();
    assert_error(&error, ErrorKind::NotFound, &missing_field, &values);
    assert!(error.message().contains("no field `user`"), "{error}");

    let missing_version = format!("vault:secret/{path}#password?version=99");
    let error = resolver
        .resolve(&reference(&missing_version))
        .await
        .unwrap_err();
    assert_error(&error, ErrorKind::NotFound, &missing_version, &values);

    let missing_path = format!("vault:secret/{path}-absent#password");
    let error = resolver
        .resolve(&reference(&missing_path))
        .await
        .unwrap_err();
    assert_error(&error, ErrorKind::NotFound, &missing_path, &values);
}

#[tokio::test]
async fn rotation_is_picked_up_after_invalidate_or_ttl() {
    let server = openbao::shared();
    let path = unique("rotating");
    let admin = server.admin();
    admin.put_kv(&path, json!({ "token": "first-token" })).await;
    let secret = reference(&format!("vault:secret/{path}#token"));

    let cached = resolver(root_client(server), Duration::from_secs(3600));
    let uncached = resolver(root_client(server), Duration::ZERO);
    assert_eq!(
        cached.resolve(&secret).await.unwrap().expose(),
        "first-token"
    );
    assert_eq!(
        uncached.resolve(&secret).await.unwrap().expose(),
        "first-token"
    );

    admin
        .put_kv(&path, json!({ "token": "second-token" }))
        .await;
    // Within the TTL the cache answers; a zero TTL always reads Vault.
    assert_eq!(
        cached.resolve(&secret).await.unwrap().expose(),
        "first-token"
    );
    assert_eq!(
        uncached.resolve(&secret).await.unwrap().expose(),
        "second-token"
    );
    // After an auth failure the caller invalidates and reads once more.
    cached.invalidate(&secret);
    assert_eq!(
        cached.resolve(&secret).await.unwrap().expose(),
        "second-token"
    );
}

#[tokio::test]
async fn not_found_and_permission_denied_are_told_apart() {
    let server = openbao::shared();
    let admin = server.admin();
    let base = unique("team");
    admin
        .put_kv(
            &format!("{base}/allowed/db"),
            json!({ "password": "allowed-pw" }),
        )
        .await;
    admin
        .put_kv(
            &format!("{base}/private/db"),
            json!({ "password": "private-pw" }),
        )
        .await;
    let policy = unique("reader");
    admin
        .put_policy(
            &policy,
            &format!("path \"secret/data/{base}/allowed/*\" {{ capabilities = [\"read\"] }}"),
        )
        .await;
    let token = admin.create_token(&[&policy]).await;
    let client = VaultClient::new(VaultConfig::with_token(
        &server.address,
        SecretValue::new(token.clone()),
    ))
    .unwrap();
    let resolver = resolver(client, Duration::ZERO);
    let values = ["allowed-pw", "private-pw", token.as_str()];

    let allowed = format!("vault:secret/{base}/allowed/db#password");
    assert_eq!(
        resolver
            .resolve(&reference(&allowed))
            .await
            .unwrap()
            .expose(),
        "allowed-pw"
    );

    let absent = format!("vault:secret/{base}/allowed/nothing#password");
    let error = resolver.resolve(&reference(&absent)).await.unwrap_err();
    assert_error(&error, ErrorKind::NotFound, &absent, &values);

    let denied = format!("vault:secret/{base}/private/db#password");
    let error = resolver.resolve(&reference(&denied)).await.unwrap_err();
    assert_error(&error, ErrorKind::PermissionDenied, &denied, &values);
}

#[tokio::test]
async fn approle_logs_in_and_logs_in_again_after_revocation() {
    let server = openbao::shared();
    let admin = server.admin();
    let mount = unique("approle");
    admin
        .call(
            Method::POST,
            &format!("sys/auth/{mount}"),
            Some(json!({ "type": "approle" })),
        )
        .await;
    let path = unique("approle-app");
    admin
        .put_kv(&path, json!({ "key": "approle-secret-value" }))
        .await;
    let policy = unique("approle-reader");
    admin
        .put_policy(
            &policy,
            &format!("path \"secret/data/{path}\" {{ capabilities = [\"read\"] }}"),
        )
        .await;
    admin
        .call(
            Method::POST,
            &format!("auth/{mount}/role/grimos"),
            Some(json!({ "token_policies": [policy], "token_ttl": "1h" })),
        )
        .await;
    let role_id = admin
        .call(
            Method::GET,
            &format!("auth/{mount}/role/grimos/role-id"),
            None,
        )
        .await["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_id = admin
        .call(
            Method::POST,
            &format!("auth/{mount}/role/grimos/secret-id"),
            None,
        )
        .await["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let secret_id_file = dir.path().join("secret-id");
    std::fs::write(&secret_id_file, format!("{secret_id}\n")).unwrap();

    let mut config = VaultConfig::with_token(&server.address, SecretValue::default());
    config.auth = VaultAuth::AppRole {
        mount: mount.clone(),
        role_id: role_id.clone(),
        secret_id: None,
        secret_id_file: Some(secret_id_file),
    };
    let resolver = resolver(VaultClient::new(config.clone()).unwrap(), Duration::ZERO);
    let secret = reference(&format!("vault:secret/{path}#key"));
    assert_eq!(
        resolver.resolve(&secret).await.unwrap().expose(),
        "approle-secret-value"
    );

    // Revoke every token this login path issued: the client gets 403, logs in again, reads.
    admin
        .call(
            Method::PUT,
            &format!("sys/leases/revoke-prefix/auth/{mount}/login"),
            None,
        )
        .await;
    assert_eq!(
        resolver.resolve(&secret).await.unwrap().expose(),
        "approle-secret-value"
    );

    // A wrong secret id fails the login with a message naming the method, not the secret id.
    config.auth = VaultAuth::AppRole {
        mount,
        role_id,
        secret_id: Some("not-the-secret-id".into()),
        secret_id_file: None,
    };
    let bad = resolver_with(config);
    let error = bad.resolve(&secret).await.unwrap_err();
    assert_ne!(error.kind(), ErrorKind::NotFound, "{error}");
    assert!(error.to_string().contains("AppRole login"), "{error}");
    assert!(!format!("{error:?}").contains("not-the-secret-id"));
    assert!(!format!("{error:?}").contains(&secret_id));
}

fn resolver_with(config: VaultConfig) -> SecretResolver {
    resolver(VaultClient::new(config).unwrap(), Duration::ZERO)
}

#[tokio::test]
async fn namespaces_are_sent_with_every_request() {
    let server = openbao::shared();
    let admin = server.admin();
    let namespace = unique("ns");
    admin
        .call(Method::POST, &format!("sys/namespaces/{namespace}"), None)
        .await;
    let inside = admin.in_namespace(&namespace);
    inside
        .call(
            Method::POST,
            "sys/mounts/kv",
            Some(json!({ "type": "kv", "options": { "version": "2" } })),
        )
        .await;
    inside
        .call(
            Method::POST,
            "kv/data/app",
            Some(json!({ "data": { "pw": "ns-value" } })),
        )
        .await;

    let mut config = VaultConfig::with_token(&server.address, ROOT_TOKEN.into());
    config.namespace = Some(namespace);
    let in_namespace = resolver_with(config);
    let secret = reference("vault:kv/app#pw");
    assert_eq!(
        in_namespace.resolve(&secret).await.unwrap().expose(),
        "ns-value"
    );
    // Without the namespace there is no `kv` mount at the root.
    let at_root = resolver_with(VaultConfig::with_token(&server.address, ROOT_TOKEN.into()));
    assert!(at_root.resolve(&secret).await.is_err());
}

#[tokio::test]
async fn sealed_and_unreachable_servers_are_unavailable() {
    let server = OpenBao::start();
    let admin = server.admin();
    admin
        .put_kv("sealed/app", json!({ "pw": "sealed-value" }))
        .await;
    let client = root_client(&server);
    let secret = reference("vault:secret/sealed/app#pw");
    let resolver = resolver(client.clone(), Duration::ZERO);
    assert_eq!(
        resolver.resolve(&secret).await.unwrap().expose(),
        "sealed-value"
    );

    admin.call(Method::PUT, "sys/seal", None).await;
    assert!(client.health().await.unwrap().sealed);
    let error = resolver.resolve(&secret).await.unwrap_err();
    assert_error(
        &error,
        ErrorKind::Unavailable,
        "vault:secret/sealed/app#pw",
        &["sealed-value"],
    );
    assert!(error.message().contains("sealed"), "{error}");
    drop(server);

    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let mut config = VaultConfig::with_token(format!("http://127.0.0.1:{port}"), ROOT_TOKEN.into());
    config.timeout_secs = 2;
    let unreachable = resolver_with(config);
    let error = unreachable.resolve(&secret).await.unwrap_err();
    assert_error(
        &error,
        ErrorKind::Unavailable,
        "vault:secret/sealed/app#pw",
        &[ROOT_TOKEN],
    );
    assert!(error.message().contains("unreachable"), "{error}");
}

#[tokio::test]
async fn transit_key_wraps_envelopes() {
    let server = openbao::shared();
    let admin = server.admin();
    let mount = unique("transit");
    admin
        .call(
            Method::POST,
            &format!("sys/mounts/{mount}"),
            Some(json!({ "type": "transit" })),
        )
        .await;
    admin
        .call(Method::POST, &format!("{mount}/keys/grimos"), None)
        .await;
    let transit = TransitMasterKey::new(root_client(server), &mount, "grimos");
    let context = EnvelopeContext::new("connectors/1/api_key", 1);

    let sealed = envelope::seal(&transit, &context, b"transit-protected")
        .await
        .unwrap();
    assert_eq!(sealed.key_id, format!("transit:{mount}/grimos"));
    assert!(String::from_utf8_lossy(&sealed.wrapped_key).starts_with("vault:v1:"));
    let opened = envelope::open(&transit, &sealed, &context).await.unwrap();
    assert_eq!(opened.as_slice(), b"transit-protected");
    let swapped = EnvelopeContext::new("connectors/2/api_key", 1);
    assert!(envelope::open(&transit, &sealed, &swapped).await.is_err());

    // Moving from the local key file to Transit: only the data key is re-wrapped.
    let local = MasterKey::generate();
    let local_sealed = envelope::seal(&local, &context, b"moved").await.unwrap();
    let moved = envelope::rewrap(&local_sealed, &local, &transit)
        .await
        .unwrap();
    assert_eq!(moved.ciphertext, local_sealed.ciphertext);
    let opened = envelope::open(&transit, &moved, &context).await.unwrap();
    assert_eq!(opened.as_slice(), b"moved");

    // The local store runs unchanged on a Transit master key.
    let store = secrets::LocalSecretStore::new(
        Arc::new(MemoryRecords::default()),
        Arc::new(transit.clone()),
    );
    store
        .set("db/password", &"store-value".into())
        .await
        .unwrap();
    assert_eq!(
        store.resolve("db/password").await.unwrap().expose(),
        "store-value"
    );
}

/// This test's own record store (the crate's in-memory one needs the `test-support`
/// feature).
#[derive(Default)]
struct MemoryRecords(tokio::sync::Mutex<Vec<secrets::SecretRecord>>);

#[async_trait::async_trait]
impl secrets::SecretRecordStore for MemoryRecords {
    async fn put(&self, record: secrets::SecretRecord) -> Result<(), SecretError> {
        let mut records = self.0.lock().await;
        records.retain(|r| r.name != record.name);
        records.push(record);
        Ok(())
    }
    async fn replace(
        &self,
        expected: &secrets::SecretRecord,
        record: secrets::SecretRecord,
    ) -> Result<bool, SecretError> {
        let mut records = self.0.lock().await;
        let Some(stored) = records.iter_mut().find(|r| {
            r.name == expected.name
                && r.version == expected.version
                && r.envelope == expected.envelope
        }) else {
            return Ok(false);
        };
        *stored = record;
        Ok(true)
    }
    async fn get(&self, name: &str) -> Result<Option<secrets::SecretRecord>, SecretError> {
        Ok(self.0.lock().await.iter().find(|r| r.name == name).cloned())
    }
    async fn list(&self) -> Result<Vec<secrets::SecretRecord>, SecretError> {
        Ok(self.0.lock().await.clone())
    }
    async fn delete(&self, name: &str) -> Result<bool, SecretError> {
        let mut records = self.0.lock().await;
        let before = records.len();
        records.retain(|r| r.name != name);
        Ok(records.len() != before)
    }
}
