#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The layers and the page-level retry, on the in-memory connector. Time is tokio's paused
//! clock: waits are measured exactly, without sleeping.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Behaviour, MemoryConnector, STREAM, customers, new_customers, record};
use connector_sdk::testkit::read_batches;
use connector_sdk::{
    Connector, ConnectorError, ConnectorExt, ErrorKind, ObserveLayer, Operation, RateLimitLayer,
    ReadRequest, RetryLayer, RetryPolicy, TimeoutLayer, TokenBucket, WriteMode,
};
use futures::StreamExt;
use serde_json::json;
use tokio::time::Instant;

fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
        max_elapsed: Some(Duration::from_secs(60)),
        max_retry_after: RetryPolicy::DEFAULT_MAX_RETRY_AFTER,
    }
}

fn transient() -> ConnectorError {
    ConnectorError::transient(Operation::Discover, "connection reset")
}

#[tokio::test(start_paused = true)]
async fn retry_waits_what_a_rate_limited_error_asks_then_succeeds() {
    let inner = Arc::new(MemoryConnector::new(customers()));
    {
        let mut faults = inner.faults.lock().unwrap();
        faults.discover.push_back(ConnectorError::rate_limited(
            Operation::Discover,
            Some(Duration::from_secs(7)),
        ));
        faults.discover.push_back(transient());
    }
    let connector = inner.clone().layer(RetryLayer::new(policy()));
    let started = Instant::now();
    let catalog = connector.discover().await.unwrap();
    assert!(catalog.stream(STREAM).is_some());
    assert_eq!(inner.discover_calls.load(Ordering::SeqCst), 3);
    let waited = started.elapsed();
    // 7 s asked by the server, plus a jittered backoff of at most 200 ms for the second retry.
    assert!(
        waited >= Duration::from_secs(7) && waited <= Duration::from_millis(7200),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_does_not_retry_errors_that_cannot_heal() {
    let inner = Arc::new(MemoryConnector::new(customers()));
    inner
        .faults
        .lock()
        .unwrap()
        .discover
        .push_back(ConnectorError::auth(Operation::Discover, "bad password"));
    let connector = inner.clone().layer(RetryLayer::new(policy()));
    let err = connector.discover().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(inner.discover_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_gives_up_after_max_attempts_with_the_last_error() {
    let inner = Arc::new(MemoryConnector::new(customers()));
    inner
        .faults
        .lock()
        .unwrap()
        .discover
        .extend((0..10).map(|_| transient()));
    let connector = inner.clone().layer(RetryLayer::new(policy()));
    let err = connector.discover().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(inner.discover_calls.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn retry_returns_at_once_when_retry_after_exceeds_the_budget() {
    let inner = Arc::new(MemoryConnector::new(customers()));
    inner
        .faults
        .lock()
        .unwrap()
        .discover
        .push_back(ConnectorError::rate_limited(
            Operation::Discover,
            Some(Duration::from_secs(3600)),
        ));
    let connector = inner.clone().layer(RetryLayer::new(policy()));
    let started = Instant::now();
    let err = connector.discover().await.unwrap_err();
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_secs(3600)),
        "kept for a scheduler"
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(inner.discover_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn retry_retries_idempotent_writes_but_not_inserts() {
    let inner = Arc::new(MemoryConnector::new(customers()));
    let connector = inner.clone().layer(RetryLayer::new(policy()));

    inner.faults.lock().unwrap().write.push_back(transient());
    let err = connector
        .write_records(STREAM, WriteMode::Insert, new_customers())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert_eq!(inner.write_calls.load(Ordering::SeqCst), 1);

    inner.faults.lock().unwrap().write.push_back(transient());
    let report = connector
        .write_records(STREAM, WriteMode::Upsert, new_customers())
        .await
        .unwrap();
    assert_eq!(report.ok_count(), 2);
    assert_eq!(inner.write_calls.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_failed_page_is_retried_alone_not_the_whole_stream() {
    let connector = MemoryConnector::new(customers());
    connector
        .faults
        .lock()
        .unwrap()
        .page
        .push_back(ConnectorError::rate_limited(
            Operation::Read,
            Some(Duration::from_secs(2)),
        ));
    let batches = read_batches(&connector, ReadRequest::full(STREAM).with_batch_size(2))
        .await
        .unwrap();
    let ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.records())
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5], "every record once, in order");
    // 3 pages + 1 retry of page 2 (a restart of the stream would fetch page 1 again: 5).
    assert_eq!(connector.page_calls.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn a_page_error_that_cannot_heal_ends_the_stream_after_the_good_batches() {
    let connector = MemoryConnector::new(customers());
    connector
        .faults
        .lock()
        .unwrap()
        .page
        .push_back(ConnectorError::new(
            ErrorKind::Permission,
            Operation::Read,
            "no SELECT grant",
        ));
    let mut stream = connector
        .read(ReadRequest::full(STREAM).with_batch_size(2))
        .await
        .unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap().batch.len(), 2);
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(
        (err.kind(), err.stream()),
        (ErrorKind::Permission, Some(STREAM))
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn timeout_turns_a_hung_operation_into_a_transient_error() {
    let inner = MemoryConnector::new(customers()).with_behaviour(Behaviour {
        discover_delay: Some(Duration::from_secs(30)),
        ..Behaviour::default()
    });
    let connector = inner.layer(TimeoutLayer::uniform(Duration::from_secs(5)));
    let started = Instant::now();
    let err = connector.discover().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.to_string().contains("timed out after 5"), "{err}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn token_bucket_allows_a_burst_then_paces_concurrent_callers() {
    let bucket = Arc::new(TokenBucket::new(2.0, 2));
    let started = Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let bucket = bucket.clone();
            tokio::spawn(async move {
                bucket.acquire().await;
                Instant::now()
            })
        })
        .collect();
    let mut done: Vec<Duration> = Vec::new();
    for task in tasks {
        done.push(task.await.unwrap() - started);
    }
    done.sort();
    let ms: Vec<u128> = done.iter().map(|d| d.as_millis()).collect();
    assert_eq!(ms, vec![0, 0, 500, 1000, 1500, 2000]);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_layer_paces_operations() {
    let connector = MemoryConnector::new(customers()).layer(RateLimitLayer::new(1.0, 1));
    let started = Instant::now();
    for _ in 0..3 {
        assert!(connector.check().await.is_ok());
    }
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

// --- metrics -----------------------------------------------------------------------------

#[derive(Default)]
struct Counters(Mutex<HashMap<String, Arc<AtomicU64>>>);

struct Cell(Arc<AtomicU64>);

impl metrics::CounterFn for Cell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}
impl metrics::HistogramFn for Cell {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counters {
    fn cell(&self, key: &metrics::Key) -> Arc<AtomicU64> {
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.0.lock().unwrap().entry(name).or_default().clone()
    }
    fn get(&self, name: &str) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |c| c.load(Ordering::SeqCst))
    }
}

struct TestRecorder(Arc<Counters>);

impl metrics::Recorder for TestRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        metrics::Counter::from_arc(Arc::new(Cell(self.0.cell(key))))
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::from_arc(Arc::new(Cell(self.0.cell(key))))
    }
}

#[tokio::test]
async fn observe_counts_requests_errors_and_records_by_connector_type_and_operation() {
    let counters = Arc::new(Counters::default());
    let recorder = TestRecorder(counters.clone());
    let _guard = metrics::set_default_local_recorder(&recorder);

    let inner = Arc::new(MemoryConnector::new(customers()));
    let connector = inner.clone().layer(ObserveLayer::new());

    let bad = record(json!({"id": 50, "name": null, "updated_at": 1}));
    let report = connector
        .write_records(
            STREAM,
            WriteMode::Insert,
            vec![new_customers()[0].clone(), bad],
        )
        .await
        .unwrap();
    assert_eq!(report.rejected_count(), 1);
    assert_eq!(
        counters.get("connector_records_written_total{connector_type=memory,mode=insert}"),
        1
    );
    assert_eq!(
        counters
            .get("connector_records_rejected_total{connector_type=memory,kind=data,mode=insert}"),
        1
    );

    read_batches(&connector, ReadRequest::full(STREAM).with_batch_size(4))
        .await
        .unwrap();
    assert_eq!(
        counters.get("connector_records_read_total{connector_type=memory}"),
        6
    );
    assert_eq!(
        counters.get("connector_requests_total{connector_type=memory,operation=read_batch}"),
        2
    );

    inner
        .faults
        .lock()
        .unwrap()
        .discover
        .push_back(ConnectorError::auth(Operation::Discover, "expired"));
    connector.discover().await.unwrap_err();
    assert_eq!(
        counters.get("connector_errors_total{connector_type=memory,kind=auth,operation=discover}"),
        1
    );
    assert_eq!(
        counters
            .get("connector_operation_duration_seconds{connector_type=memory,operation=discover}"),
        1
    );
}

#[tokio::test]
async fn observe_turns_a_write_report_that_lost_records_into_an_error() {
    let connector = MemoryConnector::new(customers())
        .with_behaviour(Behaviour {
            drop_rejects: true,
            ..Behaviour::default()
        })
        .layer(ObserveLayer::new());
    let bad = record(json!({"id": "x"}));
    let err = connector
        .write_records(
            STREAM,
            WriteMode::Insert,
            vec![new_customers()[0].clone(), bad],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Data);
    assert!(
        err.to_string().contains("1 outcomes for 2 records"),
        "{err}"
    );
}
