//! The embedded store over the real database: only ciphertext at rest, and key rotation
//! by one process while another keeps serving.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use secrets::SecretValue;
use storage::{Database, PoolSettings};

async fn database(dir: &std::path::Path) -> Database {
    let db = Database::connect(
        &format!("sqlite://{}", dir.join("grimos.db").display()),
        &PoolSettings::default(),
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    db
}

#[tokio::test]
async fn values_are_encrypted_at_rest_and_rotation_needs_no_restart() {
    let data_dir = tempfile::tempdir().unwrap();
    let db = database(data_dir.path()).await;
    let value = "correct-horse-battery-staple-1f9a";

    // The "server" store.
    let server = secrets_service::open_local_store(&db, data_dir.path(), None).unwrap();
    let first = server
        .set("crm/api-token", &SecretValue::new(value.to_owned()))
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(
        server.resolve("crm/api-token").await.unwrap().expose(),
        value
    );

    // Only ciphertext reaches the disk: the database files never contain the value.
    db.close().await;
    for entry in std::fs::read_dir(data_dir.path()).unwrap().flatten() {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !bytes
                    .windows(value.len())
                    .any(|window| window == value.as_bytes()),
                "{} holds the plaintext",
                entry.path().display()
            );
        }
    }
    let db = database(data_dir.path()).await;
    let server = secrets_service::open_local_store(&db, data_dir.path(), None).unwrap();

    // Another process ("grimos secrets rotate-key") rotates the master key.
    let (new_key, report) = secrets_service::commands::rotate_key(&db, data_dir.path(), None)
        .await
        .unwrap();
    assert_eq!(report.rewrapped, 1);
    assert_ne!(new_key, first.key_id);
    let listed = secrets_service::commands::list(&db, data_dir.path(), None)
        .await
        .unwrap();
    assert_eq!(listed[0].key_id, new_key);
    assert_eq!(listed[0].version, 1, "rewrapping keeps the version");

    // The running server reads the rewrapped secret without a restart ...
    assert_eq!(
        server.resolve("crm/api-token").await.unwrap().expose(),
        value
    );
    // ... and what it writes next (under the new key) opens everywhere.
    let second = server
        .set(
            "crm/api-token",
            &SecretValue::new("second-value".to_owned()),
        )
        .await
        .unwrap();
    assert_eq!(second.key_id, new_key);
    let fresh = secrets_service::open_local_store(&db, data_dir.path(), None).unwrap();
    assert_eq!(
        fresh.resolve("crm/api-token").await.unwrap().expose(),
        "second-value"
    );
    let again = secrets_service::commands::rotate_key(&db, data_dir.path(), None)
        .await
        .unwrap();
    assert_eq!(again.1.rewrapped, 1);
}

#[tokio::test]
async fn a_master_key_from_the_environment_is_used_and_not_rotated_in_place() {
    let data_dir = tempfile::tempdir().unwrap();
    let db = database(data_dir.path()).await;
    let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let store = secrets_service::open_local_store(&db, data_dir.path(), Some(key)).unwrap();
    store
        .set("x", &SecretValue::new("v".to_owned()))
        .await
        .unwrap();
    assert!(
        !data_dir.path().join("keys").exists(),
        "no key file when the key comes from the environment"
    );
    let error = secrets_service::commands::rotate_key(&db, data_dir.path(), Some(key))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "master_key_from_env");
    // A wrong key cannot open what the right one sealed.
    let other = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
    let wrong = secrets_service::open_local_store(&db, data_dir.path(), Some(other)).unwrap();
    assert!(wrong.resolve("x").await.is_err());
}
