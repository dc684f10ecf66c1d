//! [`SqlConnectorFactory`] (type `sql`) and the [`SqlConnector`] it builds.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::connector::TargetCheckpoint;
use connector_sdk::{
    Batch, BuildContext, Capabilities, Catalog, Checkpoint, Connector, ConnectorError,
    ConnectorFactory, HealthReport, Operation, ReadRequest, ReadStream, SecretSource,
    WriteCapabilities, WriteMode, WriteReport, WriteRequest,
};
use serde_json::Value;
use tokio::sync::{OnceCell, RwLock};

use crate::config::{SqlConfig, StreamSource, spec};
use crate::db::{self, Db};
use crate::dialect::{Dialect, Engine, TableName};
use crate::introspect::{self, ColumnInfo, TableInfo};
use crate::read::{self, Batcher, ReadFrom};
use crate::transaction::Scope;
use crate::{checkpoint, write};

/// Builds [`SqlConnector`]s from configurations (connector type `sql`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqlConnectorFactory;

#[async_trait]
impl ConnectorFactory for SqlConnectorFactory {
    fn connector_type(&self) -> &str {
        "sql"
    }

    fn spec(&self) -> Value {
        spec()
    }

    /// Validates `config`; connects (and resolves the password reference) on first use.
    async fn build(
        &self,
        config: Value,
        context: &BuildContext,
    ) -> Result<Arc<dyn Connector>, ConnectorError> {
        Ok(Arc::new(SqlConnector::new(
            SqlConfig::from_value(config)?,
            context,
        )?))
    }
}

/// A stream resolved against the catalog.
#[derive(Debug, Clone)]
enum Resolved {
    Table {
        info: Arc<TableInfo>,
        cursor: Option<String>,
        key: Vec<String>,
    },
    Query {
        sql: String,
        cursor: Option<String>,
        key: Vec<String>,
    },
}

/// A connection to one SQL database.
pub struct SqlConnector {
    config: Arc<SqlConfig>,
    engine: Engine,
    secrets: Arc<dyn SecretSource>,
    /// Keeps every connection away from the platform's own database.
    guard: db::Guard,
    db: OnceCell<Db>,
    /// SQLite: the read-only pool `query` streams run on (the other engines run them in a
    /// read-only transaction on `db`).
    query_db: OnceCell<Db>,
    tables: RwLock<HashMap<String, Arc<TableInfo>>>,
    /// The quoted checkpoint table, once created.
    checkpoint_table: OnceCell<String>,
}

impl std::fmt::Debug for SqlConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlConnector")
            .field("engine", &self.engine)
            .field("url", &self.config.redacted_url())
            .finish_non_exhaustive()
    }
}

impl SqlConnector {
    /// A connector for a validated configuration (no connection yet) with what `context`
    /// lends it: its secrets (resolved on connect), its egress policy (every host checked,
    /// see [`crate::network`]) and the platform's own database, which it refuses to open
    /// (see [`crate::platform`]).
    pub fn new(config: SqlConfig, context: &BuildContext) -> Result<Self, ConnectorError> {
        let engine = config.engine()?;
        let platform_database = context.platform_database.clone();
        // SQLite: the platform's file is refused at once (and again when connecting).
        if engine == Engine::Sqlite
            && let Some(platform) = &platform_database
            && let Ok(options) =
                <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&config.url)
        {
            crate::platform::check_sqlite_file(options.get_filename(), platform, Operation::Build)?;
        }
        Ok(Self {
            config: Arc::new(config),
            engine,
            secrets: context.secrets.clone(),
            guard: db::Guard::new(
                platform_database,
                context.egress.scope(crate::network::CONNECTOR_TYPE),
            ),
            db: OnceCell::new(),
            query_db: OnceCell::new(),
            tables: RwLock::new(HashMap::new()),
            checkpoint_table: OnceCell::new(),
        })
    }

    /// The engine.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    fn dialect(&self) -> &'static dyn Dialect {
        self.engine.dialect()
    }

    /// The pool, connecting (and resolving the password) on first use.
    async fn db(&self, operation: Operation) -> Result<&Db, ConnectorError> {
        let db = self
            .db
            .get_or_try_init(|| self.connect(operation, false))
            .await?;
        self.refuse_if_tripped(operation)?;
        Ok(db)
    }

    /// Where `query` streams run: the read-only pool on SQLite, else [`Self::db`] (with a
    /// read-only transaction around each query).
    async fn query_db(&self, operation: Operation) -> Result<&Db, ConnectorError> {
        if self.engine != Engine::Sqlite {
            return self.db(operation).await;
        }
        let db = self
            .query_db
            .get_or_try_init(|| self.connect(operation, true))
            .await?;
        self.refuse_if_tripped(operation)?;
        Ok(db)
    }

    async fn connect(&self, operation: Operation, read_only: bool) -> Result<Db, ConnectorError> {
        let password = match &self.config.password {
            Some(reference) => Some(
                self.secrets
                    .resolve(reference)
                    .await
                    .map_err(|e| e.with_operation(operation))?,
            ),
            None => None,
        };
        tracing::debug!(engine = %self.engine, url = %self.config.redacted_url(), read_only, "connecting");
        db::connect(
            &self.config,
            self.engine,
            password,
            operation,
            &self.guard,
            read_only,
        )
        .await
    }

    /// Once any connection turned out to be the platform's database, nothing more runs.
    fn refuse_if_tripped(&self, operation: Operation) -> Result<(), ConnectorError> {
        if self.guard.tripped() {
            return Err(crate::platform::refusal(operation));
        }
        Ok(())
    }

    /// The quoted checkpoint table, created on first use.
    async fn checkpoint_table(&self, operation: Operation) -> Result<&str, ConnectorError> {
        let db = self.db(operation).await?;
        self.checkpoint_table
            .get_or_try_init(|| async {
                let table = self
                    .dialect()
                    .quote_table(&self.config.checkpoint_table()?)
                    .map_err(|e| ConnectorError::config(operation, e.to_string()))?;
                checkpoint::ensure_table(db, self.dialect(), &table, &self.config, operation)
                    .await?;
                Ok(table)
            })
            .await
            .map(String::as_str)
    }

    /// The table info of a writable stream (query streams are read-only).
    async fn writable(&self, stream: &str) -> Result<Arc<TableInfo>, ConnectorError> {
        match self.resolve(stream, Operation::Write).await? {
            Resolved::Table { info, .. } => Ok(info),
            Resolved::Query { .. } => Err(ConnectorError::unsupported(
                Operation::Write,
                "a query stream is read-only",
            )),
        }
    }

    async fn table_info(
        &self,
        db: &Db,
        cache_key: &str,
        table: &TableName,
        operation: Operation,
    ) -> Result<Arc<TableInfo>, ConnectorError> {
        if let Some(info) = self.tables.read().await.get(cache_key) {
            return Ok(info.clone());
        }
        let info = introspect::describe_table(db, table)
            .await
            .map_err(|e| e.with_operation(operation))?
            .ok_or_else(|| {
                ConnectorError::not_found(
                    operation,
                    format!("table or view `{}` does not exist", table.display()),
                )
            })?;
        let info = Arc::new(info);
        self.tables
            .write()
            .await
            .insert(cache_key.to_owned(), info.clone());
        Ok(info)
    }

    async fn resolve(
        &self,
        stream: &str,
        operation: Operation,
    ) -> Result<Resolved, ConnectorError> {
        let db = self.db(operation).await?;
        let configured = self.config.stream(stream);
        let source = match configured {
            Some(config) => config
                .source()
                .map_err(|(_, detail)| ConnectorError::config(operation, detail))?,
            None => StreamSource::Table(TableName::parse(stream).map_err(|e| {
                ConnectorError::not_found(
                    operation,
                    format!("stream `{stream}` is not configured and is no table name: {e}"),
                )
            })?),
        };
        let configured_key = configured.and_then(|c| c.primary_key.clone());
        let cursor = configured.and_then(|c| c.cursor_column.clone());
        Ok(match source {
            StreamSource::Table(table) => {
                let info = self.table_info(db, stream, &table, operation).await?;
                let key = configured_key.unwrap_or_else(|| info.primary_key.clone());
                Resolved::Table { info, cursor, key }
            }
            StreamSource::Query(sql) => Resolved::Query {
                sql,
                cursor,
                key: configured_key.unwrap_or_default(),
            },
        })
    }

    fn stream_name(table: &TableName, default_schema: &str) -> String {
        let part = |p: &str| {
            if p.contains('.') || p.contains('"') {
                format!("\"{}\"", p.replace('"', "\"\""))
            } else {
                p.to_owned()
            }
        };
        match &table.schema {
            Some(schema) if schema != default_schema => {
                format!("{}.{}", part(schema), part(&table.name))
            }
            _ => part(&table.name),
        }
    }
}

#[async_trait]
impl Connector for SqlConnector {
    fn connector_type(&self) -> &str {
        "sql"
    }

    /// Every operation; PostgreSQL, MySQL/MariaDB and SQLite also keep checkpoints in the
    /// target database, committed with the rows (SQL Server does not yet).
    fn capabilities(&self) -> Capabilities {
        let write = match self.engine {
            Engine::Mssql => WriteCapabilities::ALL,
            _ => WriteCapabilities::ALL.with_checkpoint(),
        };
        Capabilities {
            write,
            ..Capabilities::ALL
        }
    }

    fn spec(&self) -> Value {
        spec()
    }

    async fn check(&self) -> HealthReport {
        HealthReport::measure(async {
            let db = self.db(Operation::Check).await?;
            match db {
                Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
                Db::MySql(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
                Db::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()),
                Db::Mssql(session) => return session.probe(Operation::Check).await,
            }
            .map_err(|e| db::sqlx_error(Operation::Check, &e, &self.config))
        })
        .await
    }

    async fn discover(&self) -> Result<Catalog, ConnectorError> {
        let db = self.db(Operation::Discover).await?;
        self.tables.write().await.clear();
        let default_schema = introspect::default_schema(db).await?;
        let mut streams = Vec::new();
        let mut covered = Vec::new();
        for stream in &self.config.streams {
            match self.resolve(&stream.name, Operation::Discover).await? {
                Resolved::Table { info, key, cursor } => {
                    covered.push(info.table.clone());
                    let mut descriptor = introspect::descriptor(
                        &stream.name,
                        info.table.schema.clone(),
                        &info.columns,
                        key,
                    );
                    add_cursor(&mut descriptor, cursor);
                    streams.push(descriptor);
                }
                Resolved::Query { sql, key, cursor } => {
                    let query_db = self.query_db(Operation::Discover).await?;
                    let columns = introspect::describe_query(query_db, &sql).await?;
                    let mut descriptor = introspect::descriptor(&stream.name, None, &columns, key);
                    add_cursor(&mut descriptor, cursor);
                    streams.push(descriptor);
                }
            }
        }
        let schemas = if self.config.schemas.is_empty() {
            vec![default_schema.clone()]
        } else {
            self.config.schemas.clone()
        };
        let checkpoint_table = self.config.checkpoint_table()?;
        for (table, _is_view) in introspect::list_tables(db, &schemas).await? {
            if covered.contains(&table) || is_same_table(&table, &checkpoint_table, &default_schema)
            {
                continue;
            }
            let name = Self::stream_name(&table, &default_schema);
            if streams.iter().any(|s| s.name == name) {
                continue;
            }
            if let Some(info) = introspect::describe_table(db, &table).await? {
                streams.push(introspect::descriptor(
                    &name,
                    info.table.schema.clone(),
                    &info.columns,
                    info.primary_key.clone(),
                ));
            }
        }
        Ok(Catalog::new(streams))
    }

    async fn read(&self, request: ReadRequest) -> Result<ReadStream, ConnectorError> {
        let stream = request.stream.clone();
        let with_stream = |e: ConnectorError| e.with_stream(stream.clone());
        let resolved = self
            .resolve(&stream, Operation::Read)
            .await
            .map_err(with_stream)?;
        let db = match &resolved {
            Resolved::Table { .. } => self.db(Operation::Read).await?.clone(),
            Resolved::Query { .. } => self.query_db(Operation::Read).await?.clone(),
        };
        let dialect = self.dialect();
        let query_columns: Vec<ColumnInfo>;
        let (from, cursor, key) = match &resolved {
            Resolved::Table { info, cursor, key } => {
                let quoted = dialect.quote_table(&info.table).map_err(|e| {
                    with_stream(ConnectorError::config(Operation::Read, e.to_string()))
                })?;
                (
                    ReadFrom::Table {
                        quoted,
                        columns: &info.columns,
                    },
                    request.cursor_field.clone().or(cursor.clone()),
                    key.clone(),
                )
            }
            Resolved::Query { sql, cursor, key } => {
                let cursor = request.cursor_field.clone().or(cursor.clone());
                query_columns = if cursor.is_some() {
                    introspect::describe_query(&db, sql)
                        .await
                        .map_err(with_stream)?
                } else {
                    Vec::new()
                };
                (
                    ReadFrom::Query {
                        sql,
                        columns: &query_columns,
                    },
                    cursor,
                    key.clone(),
                )
            }
        };
        let plan = read::plan(
            dialect,
            from,
            cursor.as_deref(),
            &key,
            request.checkpoint.as_ref(),
        )
        .map_err(with_stream)?;
        let batch_size = request.batch_size.min(self.config.batch_size).max(1);
        let batcher = Batcher::new(&stream, plan.cursor.clone(), request.checkpoint.clone());
        Ok(read::spawn(
            db,
            self.config.clone(),
            plan,
            batcher,
            batch_size,
        ))
    }

    /// Writes the batch; with a checkpoint, upserts it in the same transaction, bad rows
    /// isolated in savepoints (see [`crate::checkpoint`] for why this design).
    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        if request.checkpoint.is_some() && !self.capabilities().write.checkpoint {
            return Err(request.unsupported(format!(
                "{} targets do not keep checkpoints with the rows",
                self.engine
            )));
        }
        let WriteRequest {
            stream,
            mode,
            batch,
            checkpoint,
        } = request;
        self.write_batch(&stream, mode, batch, checkpoint).await
    }

    async fn load_checkpoint(&self, key: &str) -> Result<Option<Checkpoint>, ConnectorError> {
        checkpoint::check_key(key, Operation::Read)?;
        let table = self.checkpoint_table(Operation::Read).await?;
        let db = self.db(Operation::Read).await?;
        checkpoint::load(db, self.dialect(), table, key, &self.config).await
    }
}

impl SqlConnector {
    /// Writes `batch` to `stream` in `mode` and, with a `checkpoint`, upserts it in the
    /// same transaction, bad rows isolated in savepoints; see [`crate::checkpoint`] for why
    /// this design.
    async fn write_batch(
        &self,
        stream: &str,
        mode: WriteMode,
        batch: Batch,
        checkpoint: Option<TargetCheckpoint>,
    ) -> Result<WriteReport, ConnectorError> {
        let with_stream = |e: ConnectorError| e.with_stream(stream);
        if let Some(checkpoint) = &checkpoint {
            checkpoint::check_key(&checkpoint.key, Operation::Write)?;
        }
        let info = match batch.is_empty() {
            true => None,
            false => Some(self.writable(stream).await.map_err(with_stream)?),
        };
        // The CPU work (checks, encoding), done before any connection is taken.
        let prepared = info
            .as_deref()
            .map(|info| write::prepare(self.engine, info, mode, &batch).map_err(with_stream))
            .transpose()?;
        drop(batch);
        let Some(checkpoint) = checkpoint else {
            let (Some(info), Some(prepared)) = (info, prepared) else {
                return Ok(WriteReport::default());
            };
            let db = self.db(Operation::Write).await?;
            let scope = Scope::autocommit();
            return write::apply(db, &self.config, &info, prepared, &scope)
                .await
                .map_err(with_stream);
        };
        let table = self.checkpoint_table(Operation::Write).await?;
        let db = self.db(Operation::Write).await?;
        let scope = Scope::transaction(db, &self.config).await?;
        let report = match (info, prepared) {
            (Some(info), Some(prepared)) => write::apply(db, &self.config, &info, prepared, &scope)
                .await
                .map_err(with_stream)?,
            _ => WriteReport::default(),
        };
        // The caller's hook sees the outcomes before the commit (the flow engine stores the
        // rejects there); its error rolls the batch back with the dropped transaction.
        checkpoint
            .before_commit(&report.outcomes)
            .await
            .map_err(with_stream)?;
        checkpoint::commit_with_rows(scope, self.dialect(), table, &checkpoint, &self.config)
            .await
            .map_err(with_stream)?;
        Ok(report)
    }
}

/// Whether `listed` (schema-qualified by the catalog) is `configured` (schema optional,
/// then the default one).
fn is_same_table(listed: &TableName, configured: &TableName, default_schema: &str) -> bool {
    listed.name == configured.name
        && listed.schema.as_deref().unwrap_or(default_schema)
            == configured.schema.as_deref().unwrap_or(default_schema)
}

fn add_cursor(descriptor: &mut connector_sdk::StreamDescriptor, cursor: Option<String>) {
    if let Some(cursor) = cursor
        && descriptor.field(&cursor).is_some()
        && !descriptor.cursor_candidates.contains(&cursor)
    {
        descriptor.cursor_candidates.insert(0, cursor);
    }
}
