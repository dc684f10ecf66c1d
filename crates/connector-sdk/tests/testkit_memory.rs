#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The behaviour test kit run against the in-memory connector: it passes when the contract
//! holds and names the broken check when it does not.

mod common;

use common::{Behaviour, MemoryConnector, STREAM, customers, new_customers};
use connector_sdk::testkit::{self, Fixture};
use connector_sdk::{ConnectorExt, ObserveLayer, RetryLayer, RetryPolicy, TimeoutLayer};
use serde_json::json;

fn fixture() -> Fixture {
    Fixture::new(STREAM, customers())
        .with_primary_key(["id"])
        .with_cursor_field("updated_at")
        .with_write_records(new_customers())
        .with_bad_record(json!({"id": 99, "name": 42, "updated_at": 300}))
        .with_config(json!({"name": "demo", "password": "env:DEMO_PASSWORD"}))
}

fn broken() -> MemoryConnector {
    MemoryConnector::new(customers()).with_behaviour(Behaviour {
        broken: true,
        ..Behaviour::default()
    })
}

#[tokio::test]
async fn a_correct_connector_passes_the_whole_kit() {
    let good = MemoryConnector::new(customers());
    testkit::run_all(&good, &broken(), &fixture())
        .await
        .unwrap();
    // The writes cleaned up after themselves: the table holds the fixture again.
    assert_eq!(good.rows(), customers());
}

#[tokio::test]
async fn a_connector_wrapped_in_layers_still_passes_the_kit() {
    let good = MemoryConnector::new(customers())
        .layer(TimeoutLayer::default())
        .layer(RetryLayer::new(RetryPolicy::default()))
        .layer(ObserveLayer::new())
        .into_dyn();
    testkit::run_all(good.as_ref(), &broken(), &fixture())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_kit_catches_a_connector_that_drops_rejected_records() {
    let good = MemoryConnector::new(customers()).with_behaviour(Behaviour {
        drop_rejects: true,
        ..Behaviour::default()
    });
    let failure = testkit::assert_rejects_bad_record(&good, &fixture())
        .await
        .unwrap_err();
    assert_eq!(failure.check, "reject");
    assert!(failure.message.contains("returned 1 outcomes"), "{failure}");
}

#[tokio::test]
async fn the_kit_catches_a_connector_that_ignores_checkpoints() {
    let good = MemoryConnector::new(customers()).with_behaviour(Behaviour {
        ignore_checkpoint: true,
        ..Behaviour::default()
    });
    let failure = testkit::assert_incremental_read(&good, &fixture())
        .await
        .unwrap_err();
    assert_eq!(failure.check, "incremental_read");
}

#[tokio::test]
async fn the_kit_catches_a_check_that_passes_on_a_broken_configuration() {
    let good = MemoryConnector::new(customers());
    let also_good = MemoryConnector::new(customers());
    let failure = testkit::assert_check(&good, &also_good).await.unwrap_err();
    assert!(
        failure
            .message
            .contains("passed on the broken configuration")
    );
}

#[tokio::test]
async fn the_kit_catches_missing_records_and_unmarked_secrets() {
    let good = MemoryConnector::new(customers());
    let mut expecting_more = fixture();
    expecting_more.records.push(common::record(
        json!({"id": 6, "name": "ghost", "updated_at": 106}),
    ));
    let failure = testkit::assert_read(&good, &expecting_more)
        .await
        .unwrap_err();
    assert!(failure.message.contains("missing"), "{failure}");

    let bad_config = fixture().with_config(json!({"password": "env:X"}));
    let failure = testkit::assert_spec(&good, &bad_config).await.unwrap_err();
    assert!(
        failure.message.contains("does not satisfy the spec"),
        "{failure}"
    );
}

#[tokio::test]
async fn reads_span_several_batches_each_with_its_checkpoint() {
    let good = MemoryConnector::new(customers());
    let request = connector_sdk::ReadRequest::full(STREAM).with_batch_size(2);
    let batches = testkit::read_batches(&good, request).await.unwrap();
    let sizes: Vec<usize> = batches.iter().map(|b| b.batch.len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    let cursors: Vec<_> = batches
        .iter()
        .map(|b| {
            b.checkpoint
                .as_ref()
                .unwrap()
                .cursor_value()
                .cloned()
                .unwrap()
        })
        .collect();
    assert_eq!(cursors, vec![json!(102), json!(104), json!(105)]);
}
