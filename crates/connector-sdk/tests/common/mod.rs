//! An in-memory connector: the SDK's own test fixture (a real connector needs a real system;
//! this one keeps its table in a map so the SDK's contracts can be exercised).
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use connector_sdk::{
    Capabilities, Catalog, Checkpoint, Connector, ConnectorError, ErrorKind, Field, FieldType,
    HealthReport, Operation, Page, ReadRequest, ReadStream, Record, RecordOutcome, RetryPolicy,
    StreamDescriptor, WriteCapabilities, WriteMode, WriteReport, WriteRequest, paged_stream,
};
use serde_json::{Value, json};

pub const STREAM: &str = "customers";

pub fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

pub fn customers() -> Vec<Record> {
    (1..=5)
        .map(|i| record(json!({"id": i, "name": format!("customer {i}"), "updated_at": 100 + i, "note": null})))
        .collect()
}

pub fn new_customers() -> Vec<Record> {
    (10..=11)
        .map(|i| record(json!({"id": i, "name": format!("new {i}"), "updated_at": 200 + i, "note": "added"})))
        .collect()
}

/// Faults to inject, by operation.
#[derive(Default)]
pub struct Faults {
    pub check: VecDeque<ConnectorError>,
    pub discover: VecDeque<ConnectorError>,
    pub page: VecDeque<ConnectorError>,
    pub write: VecDeque<ConnectorError>,
}

#[derive(Default)]
pub struct Behaviour {
    /// check fails with an auth error.
    pub broken: bool,
    /// write leaves rejected records out of the report (a bug the kit must catch).
    pub drop_rejects: bool,
    /// read ignores the checkpoint (a bug the kit must catch).
    pub ignore_checkpoint: bool,
    /// discover takes this long.
    pub discover_delay: Option<Duration>,
}

pub struct MemoryConnector {
    rows: std::sync::Arc<Mutex<BTreeMap<i64, Record>>>,
    checkpoints: Mutex<BTreeMap<String, Checkpoint>>,
    pub faults: Mutex<Faults>,
    pub behaviour: Behaviour,
    pub check_calls: AtomicUsize,
    pub discover_calls: AtomicUsize,
    pub page_calls: std::sync::Arc<AtomicUsize>,
    pub write_calls: AtomicUsize,
    pub page_retry: RetryPolicy,
}

impl MemoryConnector {
    pub fn new(records: Vec<Record>) -> Self {
        let rows = records
            .into_iter()
            .map(|r| (r["id"].as_i64().unwrap(), r))
            .collect();
        Self {
            rows: std::sync::Arc::new(Mutex::new(rows)),
            checkpoints: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(Faults::default()),
            behaviour: Behaviour::default(),
            check_calls: AtomicUsize::new(0),
            discover_calls: AtomicUsize::new(0),
            page_calls: std::sync::Arc::new(AtomicUsize::new(0)),
            write_calls: AtomicUsize::new(0),
            page_retry: RetryPolicy {
                initial_backoff: Duration::from_millis(10),
                ..RetryPolicy::default()
            },
        }
    }

    pub fn with_behaviour(mut self, behaviour: Behaviour) -> Self {
        self.behaviour = behaviour;
        self
    }

    pub fn descriptor() -> StreamDescriptor {
        StreamDescriptor::new(
            STREAM,
            vec![
                Field::required("id", FieldType::Integer),
                Field::required("name", FieldType::String),
                Field::required("updated_at", FieldType::Integer),
                Field::nullable("note", FieldType::String),
            ],
        )
        .with_primary_key(["id"])
        .with_cursor_candidates(["updated_at", "id"])
    }

    fn fault(
        &self,
        pick: impl FnOnce(&mut Faults) -> &mut VecDeque<ConnectorError>,
    ) -> Result<(), ConnectorError> {
        match pick(&mut self.faults.lock().unwrap()).pop_front() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    pub fn rows(&self) -> Vec<Record> {
        self.rows.lock().unwrap().values().cloned().collect()
    }

    fn apply(
        &self,
        rows: &mut BTreeMap<i64, Record>,
        mode: WriteMode,
        record: Record,
    ) -> RecordOutcome {
        let descriptor = Self::descriptor();
        let Some(id) = record.get("id").and_then(Value::as_i64) else {
            return RecordOutcome::rejected(ErrorKind::Data, "field `id` must be an integer");
        };
        if mode != WriteMode::Delete
            && let Err(reason) = descriptor.check_record(&record)
        {
            return RecordOutcome::rejected(ErrorKind::Data, reason);
        }
        match mode {
            WriteMode::Insert if rows.contains_key(&id) => {
                RecordOutcome::rejected(ErrorKind::Data, format!("duplicate key id={id}"))
            }
            WriteMode::Update | WriteMode::Delete if !rows.contains_key(&id) => {
                RecordOutcome::rejected(ErrorKind::NotFound, format!("no record with id={id}"))
            }
            WriteMode::Delete => {
                rows.remove(&id);
                RecordOutcome::Ok
            }
            _ => {
                rows.insert(id, record);
                RecordOutcome::Ok
            }
        }
    }
}

#[async_trait]
impl Connector for MemoryConnector {
    fn connector_type(&self) -> &str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            write: WriteCapabilities::ALL.with_checkpoint(),
            ..Capabilities::ALL
        }
    }

    fn spec(&self) -> Value {
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "password": {"type": "string", "x-secret": true}
            },
            "required": ["name"]
        })
    }

    async fn check(&self) -> HealthReport {
        self.check_calls.fetch_add(1, Ordering::SeqCst);
        HealthReport::measure(async {
            self.fault(|f| &mut f.check)?;
            if self.behaviour.broken {
                return Err(ConnectorError::auth(
                    Operation::Check,
                    "password refused for user `demo`",
                ));
            }
            Ok(())
        })
        .await
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        self.discover_calls.fetch_add(1, Ordering::SeqCst);
        if let Some(delay) = self.behaviour.discover_delay {
            tokio::time::sleep(delay).await;
        }
        self.fault(|f| &mut f.discover)?;
        Ok(Catalog::new(vec![Self::descriptor()]))
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        if request.stream != STREAM {
            return Err(ConnectorError::not_found(Operation::Read, "no such stream")
                .with_stream(request.stream));
        }
        let after = match (&request.checkpoint, self.behaviour.ignore_checkpoint) {
            (Some(checkpoint), false) => checkpoint.cursor_value().and_then(Value::as_i64),
            _ => None,
        };
        let mut snapshot: Vec<Record> = self
            .rows()
            .into_iter()
            .filter(|r| after.is_none_or(|a| r["updated_at"].as_i64().unwrap_or(0) > a))
            .collect();
        snapshot.sort_by_key(|r| r["updated_at"].as_i64());
        let snapshot = std::sync::Arc::new(snapshot);
        let faults: Vec<ConnectorError> = self.faults.lock().unwrap().page.drain(..).collect();
        let faults = std::sync::Arc::new(Mutex::new(VecDeque::from(faults)));
        let page_calls = self.page_calls.clone();
        let size = request.batch_size;
        Ok(paged_stream(
            STREAM,
            0usize,
            self.page_retry.clone(),
            move |offset: usize| {
                let snapshot = snapshot.clone();
                let faults = faults.clone();
                let page_calls = page_calls.clone();
                async move {
                    page_calls.fetch_add(1, Ordering::SeqCst);
                    // Faults hit pages after the first, to show a failure mid-stream.
                    let fault = if offset > 0 {
                        faults.lock().unwrap().pop_front()
                    } else {
                        None
                    };
                    if let Some(err) = fault {
                        return Err(err);
                    }
                    let records: Vec<Record> =
                        snapshot.iter().skip(offset).take(size).cloned().collect();
                    let end = offset + records.len();
                    let checkpoint = records
                        .last()
                        .map(|r| Checkpoint::cursor("updated_at", r["updated_at"].clone()));
                    Ok(Page {
                        records,
                        checkpoint,
                        next: (end < snapshot.len()).then_some(end),
                    })
                }
            },
        ))
    }

    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        self.write_calls.fetch_add(1, Ordering::SeqCst);
        self.fault(|f| &mut f.write)?;
        if request.stream != STREAM {
            return Err(
                ConnectorError::not_found(Operation::Write, "no such stream")
                    .with_stream(request.stream),
            );
        }
        // The batch applies to a copy of the table, which replaces it with the checkpoint
        // once the commit hook agreed: all or nothing, like a transaction.
        let mut rows = self.rows.lock().unwrap().clone();
        let outcomes: Vec<RecordOutcome> = request
            .batch
            .to_records()
            .into_iter()
            .map(|r| self.apply(&mut rows, request.mode, r))
            .filter(|o| !self.behaviour.drop_rejects || o.is_ok())
            .collect();
        if let Some(checkpoint) = &request.checkpoint {
            checkpoint.before_commit(&outcomes).await?;
        }
        *self.rows.lock().unwrap() = rows;
        if let Some(checkpoint) = request.checkpoint {
            self.checkpoints
                .lock()
                .unwrap()
                .insert(checkpoint.key, checkpoint.checkpoint);
        }
        Ok(WriteReport::new(outcomes))
    }

    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        Ok(self.checkpoints.lock().unwrap().get(key).cloned())
    }
}
