#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! SQL Server behaviour, run only when `MSSQL_URL` points at a server (none runs on the
//! build machine; the dialect is unit-tested in `src/dialect/mssql.rs`), with the password
//! in `MSSQL_PASSWORD` (a URL holding one is refused). The server's database needs a table
//! `dbo.grimos_items (id int PRIMARY KEY, label nvarchar(50))`.

mod common;

use connector_sdk::ConnectorExt as _;

use connector_sdk::{ErrorKind, ReadRequest, RecordOutcome, WriteMode};
use serde_json::json;

#[tokio::test]
async fn the_connector_reads_and_writes_sql_server_when_one_is_configured() {
    let Ok(url) = std::env::var("MSSQL_URL") else {
        println!(
            "skipped: MSSQL_URL is not set (e.g. mssql://sa@127.0.0.1:1433/master?trust_server_certificate=true, with MSSQL_PASSWORD)"
        );
        return;
    };
    let c = common::connector(json!({"url": url, "password": "env:MSSQL_PASSWORD", "streams": [{"name": "items", "table": "dbo.grimos_items", "cursor_column": "id"}]})).await;
    assert!(c.check().await.is_ok());
    let catalog = c.discover().await.unwrap();
    assert_eq!(catalog.stream("items").unwrap().primary_key, vec!["id"]);
    let rows: Vec<_> = (1..=3)
        .map(|i| common::record(json!({"id": i, "label": format!("item {i}")})))
        .collect();
    assert_eq!(
        c.write_records("items", WriteMode::Upsert, rows.clone())
            .await
            .unwrap()
            .ok_count(),
        3
    );
    let dup = c
        .write_records("items", WriteMode::Insert, rows[..1].to_vec())
        .await
        .unwrap();
    assert!(matches!(
        dup.outcomes[0],
        RecordOutcome::Rejected {
            kind: ErrorKind::Data,
            ..
        }
    ));
    let read = common::read_all(c.as_ref(), ReadRequest::full("items")).await;
    assert!(read.len() >= 3);
    let deleted = c
        .write_records(
            "items",
            WriteMode::Delete,
            rows.iter()
                .map(|r| common::record(json!({"id": r["id"]})))
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(deleted.ok_count(), 3);
}
