#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Writes per record and in batches, with one outcome per record.

mod common;

use std::sync::atomic::Ordering;

use common::{build, config, customer, record, spawn};
use connector_sdk::{
    Checkpoint, ConnectorExt, ErrorKind, RecordOutcome, TargetCheckpoint, WriteMode, WriteRequest,
};
use serde_json::{Value, json};

fn stream() -> serde_json::Value {
    json!([{"name": "customers", "path": "/customers", "records": "$.data",
            "write": {"method": "POST",
                      "update": {"method": "PATCH", "path": "/customers/{id}"},
                      "delete": {"method": "DELETE", "path": "/customers/{id}"}}},
           {"name": "bulk", "path": "/customers",
            "write": {"method": "POST", "path": "/customers/batch",
                      "batch": {"size": 2, "wrap": "records", "errors_path": "$.errors"}}}])
}

#[tokio::test]
async fn per_record_writes_reject_only_the_refused_record() {
    let (server, base) = spawn(2).await;
    let connector = build(config(&base, stream())).await;
    let mut bad = customer(11);
    bad["email"] = json!("not-an-email");
    let records = vec![
        record(customer(10)),
        record(bad),
        record(customer(12)),
        record(customer(1)),
    ];
    let report = connector
        .write_records("customers", WriteMode::Insert, records)
        .await
        .unwrap();
    assert_eq!(report.outcomes.len(), 4);
    assert!(report.outcomes[0].is_ok() && report.outcomes[2].is_ok());
    match &report.outcomes[1] {
        RecordOutcome::Rejected { kind, reason } => {
            assert_eq!(*kind, ErrorKind::Data);
            assert!(
                reason.contains("422") && reason.contains("email is invalid"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&report.outcomes[3], RecordOutcome::Rejected { reason, .. } if reason.contains("409"))
    );
    let stored = server.customers.lock().unwrap().clone();
    assert!(stored.contains_key(&10) && stored.contains_key(&12) && !stored.contains_key(&11));
}

#[tokio::test]
async fn path_templates_take_record_fields_and_a_missing_one_rejects_the_record() {
    let (server, base) = spawn(2).await;
    let connector = build(config(&base, stream())).await;
    let report = connector
        .write_records(
            "customers",
            WriteMode::Update,
            vec![
                record(json!({"id": 1, "name": "renamed"})),
                record(json!({"name": "no id"})),
                record(json!({"id": 99, "name": "missing"})),
            ],
        )
        .await
        .unwrap();
    assert!(report.outcomes[0].is_ok());
    assert!(
        matches!(&report.outcomes[1], RecordOutcome::Rejected { kind: ErrorKind::Data, reason } if reason.contains("`id`"))
    );
    assert!(matches!(
        &report.outcomes[2],
        RecordOutcome::Rejected {
            kind: ErrorKind::NotFound,
            ..
        }
    ));
    assert_eq!(server.customers.lock().unwrap()[&1]["name"], "renamed");
    assert_eq!(
        server.data_requests.load(Ordering::SeqCst),
        2,
        "no request for the record without an id"
    );

    let err = connector
        .write_records("customers", WriteMode::Upsert, vec![record(customer(5))])
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unsupported,
        "no upsert endpoint configured"
    );
}

#[tokio::test]
async fn batch_writes_report_per_item_errors() {
    let (server, base) = spawn(0).await;
    let connector = build(config(&base, stream())).await;
    let records = vec![
        record(customer(1)),
        record(json!({"id": "x"})),
        record(customer(3)),
        record(customer(4)),
        record(customer(5)),
    ];
    let report = connector
        .write_records("bulk", WriteMode::Insert, records)
        .await
        .unwrap();
    let ok: Vec<bool> = report.outcomes.iter().map(RecordOutcome::is_ok).collect();
    assert_eq!(ok, vec![true, false, true, true, true]);
    assert!(
        matches!(&report.outcomes[1], RecordOutcome::Rejected { reason, .. } if reason.contains("id must be an integer"))
    );
    let bodies = server.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3, "batches of 2, 2 and 1");
    assert_eq!(bodies[0]["records"].as_array().unwrap().len(), 2);
    assert_eq!(server.customers.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn a_batch_refused_as_a_whole_shares_the_outcome() {
    let (server, base) = spawn(0).await;
    let connector = build(config(&base, stream())).await;
    server.faults.lock().unwrap().push_back((400, None));
    let report = connector
        .write_records(
            "bulk",
            WriteMode::Insert,
            vec![
                record(customer(1)),
                record(customer(2)),
                record(customer(3)),
            ],
        )
        .await
        .unwrap();
    let kinds: Vec<Option<ErrorKind>> = report
        .outcomes
        .iter()
        .map(|o| match o {
            RecordOutcome::Rejected { kind, .. } => Some(*kind),
            RecordOutcome::Ok => None,
        })
        .collect();
    assert_eq!(
        kinds,
        vec![Some(ErrorKind::Data), Some(ErrorKind::Data), None]
    );
}

#[tokio::test]
async fn an_insert_is_not_retried_after_a_server_error_but_an_update_is() {
    let (server, base) = spawn(2).await;
    let connector = build(config(&base, stream())).await;
    server.faults.lock().unwrap().push_back((500, None));
    let report = connector
        .write_records(
            "customers",
            WriteMode::Insert,
            vec![record(customer(7)), record(customer(8))],
        )
        .await
        .unwrap();
    assert!(
        matches!(&report.outcomes[0], RecordOutcome::Rejected { kind: ErrorKind::Transient, reason } if reason.contains("not retried"))
    );
    assert!(report.outcomes[1].is_ok());

    server.faults.lock().unwrap().push_back((503, None));
    let report = connector
        .write_records(
            "customers",
            WriteMode::Update,
            vec![record(json!({"id": 1, "name": "after retry"}))],
        )
        .await
        .unwrap();
    assert!(report.outcomes[0].is_ok());
}

#[tokio::test]
async fn refused_credentials_fail_the_write_as_a_whole() {
    let (server, base) = spawn(0).await;
    *server.auth.lock().unwrap() = Some(common::AuthMode::Bearer);
    let mut cfg = config(&base, stream());
    cfg["auth"]["token"] = json!("local:wrong-token");
    let connector = build(cfg).await;
    let err = connector
        .write_records("customers", WriteMode::Insert, vec![record(customer(1))])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
}

#[tokio::test]
async fn a_write_carrying_a_checkpoint_is_refused_before_anything_is_sent() {
    let (server, base) = spawn(0).await;
    let connector = build(config(&base, stream())).await;
    assert!(!connector.capabilities().write.checkpoint);
    let checkpoint = TargetCheckpoint::new("flow-1", Checkpoint(json!({"cursor": 3})));
    for stream in ["customers", "bulk"] {
        let request = WriteRequest::new(stream, WriteMode::Insert, vec![record(customer(1))])
            .with_checkpoint(checkpoint.clone());
        let err = connector.write(request).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
        assert!(err.detail().contains("checkpoint"), "{err}");
    }
    assert_eq!(server.data_requests.load(Ordering::SeqCst), 0);
    assert!(server.customers.lock().unwrap().is_empty());
}

#[tokio::test]
async fn typed_columns_are_written_as_their_json_view() {
    let (server, base) = spawn(0).await;
    let connector = build(config(&base, stream())).await;
    let written = vec![
        record(
            json!({"id": 30, "name": "a", "email": "a@example.com", "score": 1.5, "tags": ["x"]}),
        ),
        record(
            json!({"id": 31, "name": null, "email": "b@example.com", "score": 2.0, "address": {"city": "Oslo"}}),
        ),
    ];
    let batch = connector_sdk::Batch::from_records(&written);
    assert!(
        !connector_sdk::batch::is_json(batch.column("id").unwrap().0),
        "the id column is typed"
    );
    let report = connector
        .write(WriteRequest::new("bulk", WriteMode::Insert, batch))
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 2);
    let bodies = server.bodies.lock().unwrap().clone();
    assert_eq!(
        bodies,
        vec![
            json!({"records": [Value::Object(written[0].clone()), Value::Object(written[1].clone())]})
        ]
    );
}
