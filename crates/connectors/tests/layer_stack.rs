#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The registry puts every connector type in the same layer stack: a connector built
//! through it answers with the stack's timeout, whatever its type (the SQL connector used
//! to be built with no layer at all). The peer is a socket that accepts connections and
//! never answers, so only the deadline can end an operation.

use std::sync::Arc;
use std::time::Duration;

use connector_sdk::{BuildContext, EnvFileSecretSource, ErrorKind};
use connectors::builtin_registry;
use serde_json::json;

#[tokio::test]
async fn every_connector_type_runs_inside_the_registrys_timeout() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = silent.local_addr().unwrap();
    let registry = builtin_registry().with_operation_timeout(Duration::from_millis(300));
    let context = BuildContext::new(Arc::new(EnvFileSecretSource));
    let configs = [
        (
            "sql",
            json!({"type": "sql", "url": format!("postgres://grimos@{address}/grimos")}),
        ),
        (
            "rest",
            json!({"type": "rest", "base_url": format!("http://{address}/v1"), "allow_insecure_http": true,
                "streams": [{"name": "items", "path": "/items"}]}),
        ),
    ];
    for (connector_type, config) in configs {
        let connector = registry
            .build(connector_type, config, &context)
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let error = connector.check().await.error;
        let error = error.unwrap_or_else(|| panic!("{connector_type}: no deadline applied"));
        assert_eq!(
            error.kind(),
            ErrorKind::Transient,
            "{connector_type}: {error}"
        );
        assert!(
            error.to_string().contains("timed out after 0.300s"),
            "{connector_type}: {error}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{connector_type}"
        );
    }
    drop(silent);
}
