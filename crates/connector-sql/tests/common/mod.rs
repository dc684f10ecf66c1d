//! Shared helpers for the behaviour tests: a uniquely named schema / database / file per
//! test on the real engines of this machine, dropped at the end.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use connector_sdk::{
    Connector, ConnectorFactory, EnvFileSecretSource, ReadRequest, Record, WriteMode, WriteReport,
    WriteRequest,
};
use connector_sql::SqlConnectorFactory;
use futures::StreamExt;
use serde_json::{Value, json};
use sqlx::Executor;

pub const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MARIADB_ADMIN: &str = "mysql://root@127.0.0.1:3306/test";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name unique to this process and call.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// One engine's scratch space.
pub enum TestDb {
    Postgres {
        pool: sqlx::PgPool,
        schema: String,
    },
    MariaDb {
        pool: sqlx::MySqlPool,
        database: String,
    },
    Sqlite {
        pool: sqlx::SqlitePool,
        _dir: tempfile::TempDir,
        path: String,
    },
}

impl TestDb {
    pub async fn postgres() -> Self {
        let pool = sqlx::PgPool::connect(PG_ADMIN).await.unwrap();
        let schema = unique("grimos_t");
        pool.execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        Self::Postgres { pool, schema }
    }

    pub async fn mariadb() -> Self {
        let admin = sqlx::MySqlPool::connect(MARIADB_ADMIN).await.unwrap();
        let database = unique("grimos_t");
        admin
            .execute(format!("CREATE DATABASE {database}").as_str())
            .await
            .unwrap();
        let pool = sqlx::MySqlPool::connect(&format!("mysql://root@127.0.0.1:3306/{database}"))
            .await
            .unwrap();
        Self::MariaDb { pool, database }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.db").display().to_string();
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}?mode=rwc"))
            .await
            .unwrap();
        Self::Sqlite {
            pool,
            _dir: dir,
            path,
        }
    }

    /// The connection URL the connector uses.
    pub fn url(&self) -> String {
        match self {
            Self::Postgres { .. } => PG_ADMIN.to_owned(),
            Self::MariaDb { database, .. } => format!("mysql://root@127.0.0.1:3306/{database}"),
            Self::Sqlite { path, .. } => format!("sqlite://{path}"),
        }
    }

    /// Where tables live (`schema.` prefix for PostgreSQL, nothing elsewhere).
    pub fn qualify(&self, table: &str) -> String {
        match self {
            Self::Postgres { schema, .. } => format!("{schema}.{table}"),
            _ => table.to_owned(),
        }
    }

    /// A configuration with these streams (and the scratch schema to discover).
    pub fn config(&self, streams: Value) -> Value {
        let mut config = json!({"type": "sql", "url": self.url(), "streams": streams});
        if let Self::Postgres { schema, .. } = self {
            config["schemas"] = json!([schema]);
        }
        config
    }

    /// Runs one statement (PostgreSQL: in the scratch schema).
    pub async fn exec(&self, sql: &str) {
        match self {
            Self::Postgres { pool, schema } => {
                let mut conn = pool.acquire().await.unwrap();
                conn.execute(format!("SET search_path TO {schema}").as_str())
                    .await
                    .unwrap();
                conn.execute(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
                conn.execute("RESET search_path").await.unwrap();
            }
            Self::MariaDb { pool, .. } => {
                pool.execute(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            Self::Sqlite { pool, .. } => {
                pool.execute(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// Counts the rows of a table (name as written in SQL, in the scratch space).
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {}", self.qualify(table));
        match self {
            Self::Postgres { pool, .. } => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap(),
            Self::MariaDb { pool, .. } => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap(),
            Self::Sqlite { pool, .. } => sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap(),
        }
    }

    pub async fn drop_all(self) {
        match self {
            Self::Postgres { pool, schema } => {
                pool.execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                    .await
                    .unwrap();
            }
            Self::MariaDb { pool, database } => {
                pool.execute(format!("DROP DATABASE {database}").as_str())
                    .await
                    .unwrap();
            }
            Self::Sqlite { .. } => {}
        }
    }
}

/// Builds a connector through the factory, as the engine would.
pub async fn connector(config: Value) -> Arc<dyn Connector> {
    SqlConnectorFactory
        .build(
            config,
            &connector_sdk::BuildContext::new(Arc::new(EnvFileSecretSource)),
        )
        .await
        .unwrap()
}

pub fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// Reads a whole stream.
pub async fn read_all(connector: &dyn Connector, request: ReadRequest) -> Vec<Record> {
    let mut stream = connector.read(request).await.unwrap();
    let mut records = Vec::new();
    while let Some(batch) = stream.next().await {
        records.extend(batch.unwrap().records());
    }
    records
}

/// The Arrow type of each column of the first batch of a read (`json` for JSON columns,
/// `uuid` for UUID ones), by name.
pub async fn column_types(
    connector: &dyn Connector,
    request: ReadRequest,
) -> std::collections::BTreeMap<String, String> {
    let mut stream = connector.read(request).await.unwrap();
    let batch = stream.next().await.unwrap().unwrap().batch;
    batch
        .schema()
        .fields()
        .iter()
        .map(|field| {
            let kind = if connector_sdk::batch::is_json(field) {
                "json".to_owned()
            } else if connector_sdk::batch::is_uuid(field) {
                "uuid".to_owned()
            } else {
                field.data_type().to_string()
            };
            (field.name().clone(), kind)
        })
        .collect()
}

/// The customers fixture of the behaviour kit.
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

/// Creates the customers table with `ddl` (engine-specific types) and fills it.
pub async fn load_customers(db: &TestDb, ddl: &str) {
    db.exec(ddl).await;
    for c in customers() {
        db.exec(&format!(
            "INSERT INTO customers (id, name, updated_at, note) VALUES ({}, '{}', {}, NULL)",
            c["id"],
            c["name"].as_str().unwrap(),
            c["updated_at"]
        ))
        .await;
    }
}

/// Runs the SDK's behaviour kit unchanged against this engine.
pub async fn run_kit(db: &TestDb, broken_config: Value) {
    use connector_sdk::testkit::{self, Fixture};
    let config = db.config(json!([
        {"name": "customers", "table": db.qualify("customers"), "cursor_column": "updated_at"}
    ]));
    let good = connector(config.clone()).await;
    let broken = connector(broken_config).await;
    let fixture = Fixture::new("customers", customers())
        .with_primary_key(["id"])
        .with_cursor_field("updated_at")
        .with_write_records(new_customers())
        .with_bad_record(json!({"id": 99, "name": null, "updated_at": 300}))
        .with_config(config);
    testkit::run_all(good.as_ref(), broken.as_ref(), &fixture)
        .await
        .unwrap();
    assert_eq!(
        db.count("customers").await,
        5,
        "the kit's writes cleaned up"
    );
}

/// The peak resident set size of this process (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Writes `records` with `checkpoint` committed in the same transaction.
pub async fn write_with_checkpoint(
    connector: &dyn Connector,
    stream: &str,
    mode: WriteMode,
    records: Vec<Record>,
    checkpoint: connector_sdk::connector::TargetCheckpoint,
) -> Result<WriteReport, connector_sdk::ConnectorError> {
    connector
        .write(WriteRequest::new(stream, mode, records).with_checkpoint(checkpoint))
        .await
}

/// A checkpoint under `key` for a cursor value.
pub fn target_checkpoint(key: &str, cursor: i64) -> connector_sdk::connector::TargetCheckpoint {
    connector_sdk::connector::TargetCheckpoint::new(
        key,
        connector_sdk::Checkpoint::cursor("id", json!(cursor)),
    )
}

fn items(ids: std::ops::RangeInclusive<i64>) -> Vec<Record> {
    ids.map(|i| record(json!({"id": i, "label": format!("item {i}")})))
        .collect()
}

/// The checkpoint table name this engine's tests use (PostgreSQL: in the scratch schema, so
/// parallel tests do not share it).
fn checkpoint_table(db: &TestDb) -> String {
    db.qualify("grimos_checkpoints")
}

fn checkpoint_config(db: &TestDb) -> Value {
    let mut config = db.config(json!([{"name": "items", "table": db.qualify("items")}]));
    if matches!(db, TestDb::Postgres { .. }) {
        config["checkpoint_table"] = json!(checkpoint_table(db));
    }
    config
}

const ITEMS: &str = "CREATE TABLE items (id int PRIMARY KEY, label varchar(50) NOT NULL)";

/// Checkpoints written with a batch are read back, per key, and the table is created on
/// demand in the connection's default schema.
pub async fn checkpoints_round_trip(db: &TestDb) {
    db.exec(ITEMS).await;
    let c = connector(checkpoint_config(db)).await;
    assert!(c.capabilities().write.checkpoint);
    assert_eq!(c.load_checkpoint("flow-a").await.unwrap(), None);
    let report = write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(1..=3),
        target_checkpoint("flow-a", 3),
    )
    .await
    .unwrap();
    assert_eq!(report.ok_count(), 3);
    assert_eq!(db.count("items").await, 3);
    assert_eq!(
        c.load_checkpoint("flow-a").await.unwrap(),
        Some(target_checkpoint("flow-a", 3).checkpoint)
    );
    // Another key is independent, and an upsert replaces only its own key's state.
    write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Upsert,
        items(3..=4),
        target_checkpoint("flow-b", 40),
    )
    .await
    .unwrap();
    write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Upsert,
        vec![],
        target_checkpoint("flow-b", 41),
    )
    .await
    .unwrap();
    assert_eq!(
        c.load_checkpoint("flow-a").await.unwrap(),
        Some(target_checkpoint("flow-a", 3).checkpoint)
    );
    assert_eq!(
        c.load_checkpoint("flow-b").await.unwrap(),
        Some(target_checkpoint("flow-b", 41).checkpoint)
    );
    assert_eq!(db.count("items").await, 4);
    assert_eq!(db.count("grimos_checkpoints").await, 2);
    // A new connector (a resumed flow) finds the stored checkpoint.
    let resumed = connector(checkpoint_config(db)).await;
    assert_eq!(
        resumed.load_checkpoint("flow-a").await.unwrap(),
        Some(target_checkpoint("flow-a", 3).checkpoint)
    );
}

/// Rows the database refuses are rejected alone; the others and the checkpoint commit.
pub async fn bad_rows_commit_the_good_rows_and_the_checkpoint(db: &TestDb) {
    use connector_sdk::{ErrorKind, RecordOutcome};
    db.exec(ITEMS).await;
    db.exec("INSERT INTO items (id, label) VALUES (5, 'existing')")
        .await;
    let c = connector(checkpoint_config(db)).await;
    // 1..=10 with 5 already there (refused by the database, not by validation) and 7 twice.
    let mut batch = items(1..=10);
    batch.insert(7, record(json!({"id": 7, "label": "again"})));
    let report = write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        batch,
        target_checkpoint("flow", 10),
    )
    .await
    .unwrap();
    let rejected: Vec<usize> = report
        .outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(rejected, vec![4, 7], "{report:?}");
    assert!(matches!(
        report.outcomes[4],
        RecordOutcome::Rejected {
            kind: ErrorKind::Data,
            ..
        }
    ));
    assert_eq!(
        db.count("items").await,
        10,
        "9 new rows and the existing one"
    );
    assert_eq!(
        c.load_checkpoint("flow").await.unwrap(),
        Some(target_checkpoint("flow", 10).checkpoint)
    );
}

/// A batch that fails as a whole changes neither the rows nor the checkpoint.
pub async fn a_failed_batch_keeps_the_previous_checkpoint(db: &TestDb) {
    db.exec(ITEMS).await;
    let c = connector(checkpoint_config(db)).await;
    write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(1..=2),
        target_checkpoint("flow", 2),
    )
    .await
    .unwrap();
    // The target table disappears: the write fails before any row.
    db.exec("DROP TABLE items").await;
    let err = write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(3..=4),
        target_checkpoint("flow", 4),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), connector_sdk::ErrorKind::NotFound, "{err}");
    assert_eq!(
        c.load_checkpoint("flow").await.unwrap(),
        Some(target_checkpoint("flow", 2).checkpoint)
    );
}

/// The checkpoint cannot be stored after the rows went in: the rows are rolled back too.
pub async fn rows_roll_back_when_the_checkpoint_fails(db: &TestDb) {
    db.exec(ITEMS).await;
    let c = connector(checkpoint_config(db)).await;
    write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(1..=2),
        target_checkpoint("flow", 2),
    )
    .await
    .unwrap();
    db.exec(&format!("DROP TABLE {}", checkpoint_table(db)))
        .await;
    write_with_checkpoint(
        c.as_ref(),
        "items",
        WriteMode::Insert,
        items(3..=6),
        target_checkpoint("flow", 6),
    )
    .await
    .unwrap_err();
    assert_eq!(db.count("items").await, 2, "no row beyond the checkpoint");
}
