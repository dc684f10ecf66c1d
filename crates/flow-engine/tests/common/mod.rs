//! Shared fixtures of the integration tests: a REST API (axum, bearer auth, cursor
//! pagination), PostgreSQL and MariaDB tables with unique names, connectors built by the
//! real factories, and test doubles for what cannot fail on demand (a target whose writes
//! fail transiently, an in-memory target that commits checkpoints atomically, a journal
//! that cancels the run after N batches).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use connector_sdk::{
    Capabilities, Checkpoint, Connector, ConnectorError, ConnectorFactory, HealthReport, Operation,
    ReadRequest, ReadStream, Record, RecordOutcome, Secret, SecretSource, WriteCapabilities,
    WriteMode, WriteReport, WriteRequest,
};
use flow_engine::{
    DeadLetter, EngineError, EventLevel, MemoryJournal, RunCounts, RunJournal, RunRequest,
};
use mapping::{CompiledMapping, Mapping, MappingSpec};
use serde_json::{Value, json};
use sqlx::{MySqlPool, PgPool};
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "test-token";
pub const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const MARIADB_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// Resolves `local:api-token` to [`TOKEN`] and `env:`-less `local:hook` to `hook-secret`.
pub struct TestSecrets;

#[async_trait]
impl SecretSource for TestSecrets {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        match reference {
            "local:api-token" => Ok(Secret::new(TOKEN)),
            "local:hook" => Ok(Secret::new("hook-secret")),
            other => Err(ConnectorError::config(
                Operation::ResolveSecret,
                format!("unknown reference {other}"),
            )),
        }
    }
}

pub fn secrets() -> Arc<dyn SecretSource> {
    Arc::new(TestSecrets)
}

pub fn registry() -> connectors::ConnectorRegistry {
    connectors::ConnectorRegistry::new()
        .with(Arc::new(connector_rest::RestConnectorFactory::new()))
        .with(Arc::new(connector_sql::SqlConnectorFactory))
}

/// A unique lower-case identifier.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

// ---------------------------------------------------------------- REST API

/// The customer records of the API: `count` of them, ids from 1.
pub fn customer(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "first_name": format!("Ada{id}"),
        "last_name": "Lovelace",
        "email": format!("  User{id}@Example.COM "),
        "address": if id.is_multiple_of(2) { json!({"country": "FR"}) } else { json!({}) },
        "score": format!("{}.5", id % 100),
        "created": "2024-03-10T07:30:00Z",
    })
}

pub struct Api {
    pub records: Mutex<Vec<Value>>,
    pub page_size: usize,
    pub requests: AtomicUsize,
}

async fn customers(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    if !authorized {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    api.requests.fetch_add(1, Ordering::SeqCst);
    let offset: usize = query
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let records = api.records.lock().unwrap();
    let end = (offset + api.page_size).min(records.len());
    let data = records[offset.min(end)..end].to_vec();
    let next = (end < records.len()).then(|| end.to_string());
    axum::Json(json!({"data": data, "next_cursor": next})).into_response()
}

/// Starts the API with `records`; returns its base URL and state.
pub async fn start_api(records: Vec<Value>, page_size: usize) -> (String, Arc<Api>) {
    let api = Arc::new(Api {
        records: Mutex::new(records),
        page_size,
        requests: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/v1/customers", get(customers))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, api)
}

pub fn rest_config(base: &str, page_size: usize) -> Value {
    json!({
        "type": "rest",
        "base_url": base,
        "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": "local:api-token"},
        "streams": [{
            "name": "customers",
            "path": "/customers",
            "params": {"limit": page_size},
            "records": "$.data",
            "primary_key": ["id"],
            "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}
        }]
    })
}

/// The six-rule customer mapping.
pub fn customer_mapping_spec() -> MappingSpec {
    MappingSpec::from_json_value(json!({"rules": [
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "email", "source": "email", "transform": ["trim", "lower"]},
        {"target": "full_name", "expr": "record.first_name + ' ' + record.last_name"},
        {"target": "country", "source": "address.country", "default": "US"},
        {"target": "score", "source": "score", "cast": "float"},
        {"target": "created_at", "source": "created", "cast": "timestamp"},
    ]}))
    .unwrap()
}

pub fn compile(spec: &MappingSpec) -> Arc<CompiledMapping> {
    Arc::new(Mapping::compile(spec).unwrap())
}

pub fn compile_json(rules: Value) -> Arc<CompiledMapping> {
    compile(&MappingSpec::from_json_value(json!({ "rules": rules })).unwrap())
}

// ---------------------------------------------------------------- databases

pub async fn pg() -> PgPool {
    PgPool::connect(PG_URL).await.unwrap()
}

pub async fn mariadb() -> MySqlPool {
    MySqlPool::connect(MARIADB_URL).await.unwrap()
}

pub async fn pg_exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

pub async fn pg_count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

pub async fn sql_connector(url: &str, streams: Value) -> Arc<dyn Connector> {
    connector_sql::SqlConnectorFactory
        .build(
            json!({"type": "sql", "url": url, "streams": streams}),
            &connector_sdk::BuildContext::new(secrets()),
        )
        .await
        .unwrap()
}

/// The customer table of the REST tests.
pub async fn create_customer_table(pool: &PgPool, table: &str) {
    pg_exec(
        pool,
        &format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, email text NOT NULL, full_name text, \
             country text, score double precision, created_at timestamptz)"
        ),
    )
    .await;
}

/// A source table of `count` rows (`id` 1..=count, `name`, `amount`).
pub async fn create_source_table(pool: &PgPool, table: &str, count: i64) {
    pg_exec(
        pool,
        &format!(
            "CREATE TABLE {table} (id bigint PRIMARY KEY, name text, amount text); \
             INSERT INTO {table} SELECT g, 'name ' || g, (g % 50)::text FROM generate_series(1, {count}) g"
        ),
    )
    .await;
}

// ---------------------------------------------------------------- requests

#[allow(clippy::too_many_arguments)]
pub fn request(
    flow_key: &str,
    source: Arc<dyn Connector>,
    source_stream: &str,
    target: Arc<dyn Connector>,
    target_stream: &str,
    mode: WriteMode,
    mapping: Arc<CompiledMapping>,
    batch_size: usize,
    journal: Arc<dyn RunJournal>,
) -> RunRequest {
    RunRequest {
        flow_key: flow_key.to_owned(),
        source,
        source_stream: source_stream.to_owned(),
        target,
        target_stream: target_stream.to_owned(),
        mode,
        mapping,
        batch_size,
        max_attempts: 5,
        cancel: CancellationToken::new(),
        journal,
        cursor_field: None,
        timeout: None,
    }
}

// ---------------------------------------------------------------- test doubles

/// A journal that fires `cancel` once `after` batches have been reported.
pub struct CancellingJournal {
    pub inner: Arc<MemoryJournal>,
    pub cancel: CancellationToken,
    pub after: usize,
    pub batches: AtomicUsize,
}

#[async_trait]
impl RunJournal for CancellingJournal {
    async fn event(&self, level: EventLevel, message: &str, fields: Value) {
        self.inner.event(level, message, fields).await;
    }
    async fn progress(&self, counts: RunCounts) -> Result<(), EngineError> {
        if self.batches.fetch_add(1, Ordering::SeqCst) + 1 >= self.after {
            self.cancel.cancel();
        }
        self.inner.progress(counts).await
    }
    async fn dead_letters(&self, letters: Vec<DeadLetter>) -> Result<(), EngineError> {
        self.inner.dead_letters(letters).await
    }
    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        self.inner.load_checkpoint().await
    }
    async fn commit_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), EngineError> {
        self.inner.commit_checkpoint(checkpoint).await
    }
    async fn stage_dead_letters(
        &self,
        checkpoint: &Checkpoint,
        letters: Vec<DeadLetter>,
    ) -> Result<(), EngineError> {
        self.inner.stage_dead_letters(checkpoint, letters).await
    }
    async fn staged_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        self.inner.staged_checkpoint().await
    }
    async fn settle_staged(&self, committed: bool) -> Result<u64, EngineError> {
        self.inner.settle_staged(committed).await
    }
}

/// Wraps a target: its first `failures` writes fail with a transient error (nothing
/// written). It does not commit checkpoints, whatever the target does: the run keeps them.
pub struct FlakyTarget {
    pub inner: Arc<dyn Connector>,
    pub failures: AtomicU32,
    pub attempts: AtomicU32,
}

impl FlakyTarget {
    pub fn new(inner: Arc<dyn Connector>, failures: u32) -> Arc<Self> {
        Arc::new(Self {
            inner,
            failures: AtomicU32::new(failures),
            attempts: AtomicU32::new(0),
        })
    }
}

#[async_trait]
impl Connector for FlakyTarget {
    fn connector_type(&self) -> &str {
        "flaky"
    }
    fn capabilities(&self) -> Capabilities {
        let inner = self.inner.capabilities();
        Capabilities {
            write: WriteCapabilities {
                checkpoint: false,
                ..inner.write
            },
            ..inner
        }
    }
    fn spec(&self) -> Value {
        json!({})
    }
    async fn check(&self) -> HealthReport {
        self.inner.check().await
    }
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(ConnectorError::transient(
                Operation::Write,
                "connection reset by peer (injected)",
            ));
        }
        self.inner.write(request).await
    }
}

/// An in-memory target keyed by `id` that stores checkpoints in the same "transaction" as
/// the rows, rejects records without an `email`, and fails its first `failures` writes
/// transiently (writing nothing). It only writes with a checkpoint: a plain write is
/// refused as unsupported.
#[derive(Default)]
pub struct AtomicMemoryTarget {
    pub state: Mutex<(BTreeMap<i64, Record>, HashMap<String, Checkpoint>)>,
    pub failures: AtomicU32,
    pub attempts: AtomicU32,
}

#[async_trait]
impl Connector for AtomicMemoryTarget {
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
        json!({})
    }
    async fn check(&self) -> HealthReport {
        HealthReport::measure(async { Ok(()) }).await
    }
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        if request.checkpoint.is_none() {
            return Err(request.unsupported("this target writes only with a checkpoint"));
        }
        let mode = request.mode;
        let records = request.batch.to_records();
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(ConnectorError::transient(
                Operation::Write,
                "deadlock detected (injected)",
            ));
        }
        // The "transaction": rows applied to a copy, committed (swapped in) after the hook.
        let mut rows = self.state.lock().unwrap().0.clone();
        let mut outcomes = Vec::new();
        for record in records {
            let id = record.get("id").and_then(Value::as_i64);
            match (id, record.get("email")) {
                (Some(id), Some(Value::String(_))) => {
                    if mode == WriteMode::Insert && rows.contains_key(&id) {
                        outcomes.push(RecordOutcome::rejected(
                            connector_sdk::ErrorKind::Data,
                            format!("duplicate key {id}"),
                        ));
                    } else {
                        rows.insert(id, record);
                        outcomes.push(RecordOutcome::Ok);
                    }
                }
                _ => outcomes.push(RecordOutcome::rejected(
                    connector_sdk::ErrorKind::Data,
                    "email must not be null",
                )),
            }
        }
        if let Some(checkpoint) = &request.checkpoint {
            checkpoint.before_commit(&outcomes).await?;
        }
        let mut state = self.state.lock().unwrap();
        state.0 = rows;
        if let Some(checkpoint) = request.checkpoint {
            state.1.insert(checkpoint.key, checkpoint.checkpoint);
        }
        Ok(WriteReport::new(outcomes))
    }
    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        Ok(self.state.lock().unwrap().1.get(key).cloned())
    }
}

/// A source of `batches` batches of `size` records (`id` counting from 1) with cursor
/// checkpoints (record 13 has no `email`); then it fails with `error` when given, or stalls forever when `stall`.
pub struct ScriptedSource {
    pub batches: u64,
    pub size: u64,
    pub error: Option<ConnectorError>,
    pub stall: bool,
}

#[async_trait]
impl Connector for ScriptedSource {
    fn connector_type(&self) -> &str {
        "scripted"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }
    fn spec(&self) -> Value {
        json!({})
    }
    async fn check(&self) -> HealthReport {
        HealthReport::measure(async { Ok(()) }).await
    }
    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        use futures::StreamExt as _;
        let start = request
            .checkpoint
            .as_ref()
            .and_then(|c| c.cursor_value())
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let size = self.size;
        let batches: Vec<Result<connector_sdk::ReadBatch, ConnectorError>> = (0..self.batches)
            .map(|b| {
                let first = start + b * size + 1;
                let records: Vec<Record> = (first..first + size)
                    .map(|id| {
                        let mut record = Record::new();
                        record.insert("id".into(), json!(id));
                        if id != 13 {
                            record.insert("email".into(), json!(format!("u{id}@example.com")));
                        }
                        record
                    })
                    .collect();
                Ok(connector_sdk::ReadBatch::new(
                    request.stream.clone(),
                    records,
                    Some(Checkpoint::cursor("id", json!(first + size - 1))),
                ))
            })
            .collect();
        let tail: ReadStream = match (&self.error, self.stall) {
            (Some(error), _) => futures::stream::iter(vec![Err(error.clone())]).boxed(),
            (None, true) => futures::stream::pending().boxed(),
            (None, false) => futures::stream::empty().boxed(),
        };
        Ok(futures::stream::iter(batches).chain(tail).boxed())
    }
}
