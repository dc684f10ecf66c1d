//! Batched writes with per-record outcomes.
//!
//! - PostgreSQL: `COPY ... FROM STDIN` straight into the table for inserts; for upsert,
//!   update and delete, `COPY` into a temporary staging table inside a transaction, then
//!   one set-based statement (`INSERT ... SELECT ... ON CONFLICT DO UPDATE`,
//!   `UPDATE ... FROM ... RETURNING`, `DELETE ... USING ... RETURNING`). The rows travel
//!   in the binary format when every column written has a type the binary encoder knows
//!   ([`crate::values::postgres_binary`]: the server then skips parsing them), each value
//!   checked while it is encoded; else, or when a value is one only the server's text
//!   parser can judge, in the text format.
//! - MySQL/MariaDB, SQLite, SQL Server: multi-row `INSERT` / upsert statements sized to the
//!   engine's parameter and row limits; update and delete statement by statement by primary
//!   key inside one transaction (a missing row is rejected as not found).
//!
//! ## Isolating bad records
//!
//! Records are first checked against the catalog (unknown fields, missing keys, values of
//! the wrong shape) and rejected alone, before any SQL. A chunk the database refuses with a
//! *data* error (constraint, conversion, duplicate key) is split in halves and each half
//! retried, down to single rows: only the rows the database refuses are rejected, each with
//! the database's own message, and everything else is written (about `k·log2(n)` extra
//! statements for `k` bad rows in a chunk of `n`). Each chunk commits on its own. An error
//! that is not about the data (connection lost) fails the whole write if nothing was
//! committed yet, and otherwise rejects the rows not yet written as `transient`, so the
//! report stays exact and nothing is dropped.
//!
//! ## Inside one transaction
//!
//! With [`Scope::transaction`] (writes that commit a checkpoint, see [`crate::checkpoint`])
//! the same chunks and the same bisection run in savepoints of one enclosing transaction: a
//! refused chunk is rolled back to its savepoint and split, the rows that pass are kept, and
//! nothing is visible until the caller commits. Any error that is not about the data then
//! fails the whole write, since nothing of it is committed.

use std::collections::HashMap;
use std::ops::Range;

use async_trait::async_trait;
use connector_sdk::{
    ConnectorError, ErrorKind, FieldType, Operation, Record, RecordOutcome, WriteMode, WriteReport,
};
use serde_json::Value;

use crate::config::SqlConfig;
use crate::db::{Db, sqlx_error};
use crate::dialect::{self, Dialect, Engine, TableName};
use crate::introspect::{ColumnInfo, TableInfo};
use crate::transaction::{self, Scope};
use crate::values::postgres_binary::{
    BinaryRowEncoder, BinaryType, COPY_HEADER, COPY_TRAILER, NotEncoded,
};
use crate::values::{self, BindValue};

/// The most rows one PostgreSQL `COPY` carries.
const COPY_CHUNK_ROWS: usize = 50_000;

/// The size of the `CopyData` messages of a PostgreSQL `COPY` (rows may straddle them).
const COPY_MESSAGE_BYTES: usize = 256 * 1024;

/// Rows per multi-row statement for `width` columns: the parameter limit divided by the
/// width, capped by the engine's row limit, at least one.
pub fn rows_per_statement(dialect: &dyn Dialect, width: usize) -> usize {
    (dialect.max_parameters() / width.max(1))
        .min(dialect.max_rows_per_statement())
        .max(1)
}

fn rejected(kind: ErrorKind, reason: impl Into<String>) -> RecordOutcome {
    RecordOutcome::rejected(kind, reason)
}

/// The catalog facts `columns_of` needs, computed once per write.
struct ColumnIndex<'a> {
    info: &'a TableInfo,
    by_name: HashMap<&'a str, usize>,
    is_key: Vec<bool>,
}

impl<'a> ColumnIndex<'a> {
    fn new(info: &'a TableInfo) -> Self {
        Self {
            info,
            by_name: info
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| (c.name.as_str(), i))
                .collect(),
            is_key: info
                .columns
                .iter()
                .map(|c| info.primary_key.contains(&c.name))
                .collect(),
        }
    }
}

/// Checks a record for `mode` and fills `columns` with the indexes (into `info.columns`,
/// in the record's field order) of the columns it writes, or returns the reason to reject it.
/// `hint` holds the columns of the previous record: records of one batch almost always
/// carry the same fields, so the `i`-th field is looked for there first. Without
/// `check_types` the (non-null) values are not checked against their column types: the
/// caller checks them later, in field order, with [`check_values`].
fn columns_of(
    index: &ColumnIndex<'_>,
    mode: WriteMode,
    record: &Record,
    hint: &[usize],
    columns: &mut Vec<usize>,
    check_types: bool,
) -> Result<(), String> {
    let info = index.info;
    columns.clear();
    let mut keys_present = 0;
    for (field, (name, value)) in record.iter().enumerate() {
        let hinted = hint
            .get(field)
            .copied()
            .filter(|&p| info.columns[p].name == *name);
        let Some(position) = hinted.or_else(|| index.by_name.get(name.as_str()).copied()) else {
            return Err(format!(
                "unknown field `{name}`: table `{}` has no such column",
                info.table.display()
            ));
        };
        let column = &info.columns[position];
        let is_key = index.is_key[position];
        if value.is_null() {
            if !column.nullable || (is_key && mode != WriteMode::Insert) {
                return Err(format!("field `{name}` must not be null"));
            }
        } else {
            if check_types {
                column
                    .field_type
                    .check_value(value)
                    .map_err(|e| format!("field `{name}`: {e}"))?;
            }
            if is_key {
                keys_present += 1;
            }
        }
        if mode != WriteMode::Delete || is_key {
            columns.push(position);
        }
    }
    if mode != WriteMode::Insert && keys_present < info.primary_key.len() {
        let missing = info
            .primary_key
            .iter()
            .find(|k| record.get(k.as_str()).is_none_or(Value::is_null))
            .map(String::as_str)
            .unwrap_or_default();
        return Err(format!("primary key field `{missing}` is missing or null"));
    }
    if columns.is_empty() {
        return Err("the record has no field to write".into());
    }
    Ok(())
}

/// Checks the non-null values of a record against their column types, in field order, as
/// [`columns_of`] does; `columns` are the record's fields (name and type) in that order.
fn check_values(record: &Record, columns: &[(&str, &FieldType)]) -> Result<(), String> {
    let check = |name: &str, value: &Value, field_type: &FieldType| {
        if value.is_null() {
            return Ok(());
        }
        field_type
            .check_value(value)
            .map_err(|e| format!("field `{name}`: {e}"))
    };
    let in_order =
        record.len() == columns.len() && record.keys().zip(columns).all(|(k, (name, _))| k == name);
    if in_order {
        for (value, (name, field_type)) in record.values().zip(columns) {
            check(name, value, field_type)?;
        }
    } else {
        for (name, value) in record {
            if let Some((_, field_type)) = columns.iter().find(|(n, _)| n == name) {
                check(name, value, field_type)?;
            }
        }
    }
    Ok(())
}

/// The CPU work of a write, done before any I/O: the records grouped by the columns they
/// carry and checked, on PostgreSQL encoded for `COPY`; the records refused on the way.
#[derive(Debug)]
pub struct PreparedTableWrite {
    engine: Engine,
    mode: WriteMode,
    /// The table the groups' column indexes point into.
    table: TableName,
    outcomes: Vec<RecordOutcome>,
    groups: Vec<PreparedGroup>,
}

#[derive(Debug)]
struct PreparedGroup {
    /// Indexes into the table's columns.
    columns: Vec<usize>,
    /// The records of the group.
    rows: Vec<usize>,
    /// PostgreSQL: the rows encoded (some may have been refused).
    encoded: Option<Encoded>,
}

/// Groups, checks and (PostgreSQL) encodes `records` for a write in `mode` to `info`.
pub fn prepare(
    engine: Engine,
    info: &TableInfo,
    mode: WriteMode,
    records: &[Record],
) -> Result<PreparedTableWrite, ConnectorError> {
    let mut outcomes = vec![RecordOutcome::Ok; records.len()];
    if mode != WriteMode::Insert && info.primary_key.is_empty() {
        return Err(ConnectorError::unsupported(
            Operation::Write,
            format!(
                "{mode} needs a primary key and `{}` has none",
                info.table.display()
            ),
        ));
    }
    // Group the valid records by the set of columns they carry (usually one group). On
    // PostgreSQL the values of the fields written are checked while they are encoded (in
    // one pass with the binary encoding), except on delete, which writes only the key.
    let postgres = engine == Engine::Postgres;
    let check_early = !postgres || mode == WriteMode::Delete;
    let column_index = ColumnIndex::new(info);
    let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    let mut scratch = Vec::new();
    let mut hint = Vec::new();
    for (index, record) in records.iter().enumerate() {
        match columns_of(
            &column_index,
            mode,
            record,
            &hint,
            &mut scratch,
            check_early,
        ) {
            Ok(()) => {
                match groups.iter_mut().find(|(columns, _)| *columns == scratch) {
                    Some((_, rows)) => rows.push(index),
                    None => groups.push((scratch.clone(), vec![index])),
                }
                std::mem::swap(&mut scratch, &mut hint);
            }
            Err(reason) => {
                // The reason a full check gives: a value of the wrong shape in an earlier
                // field comes first.
                let reason = match check_early {
                    true => reason,
                    false => columns_of(&column_index, mode, record, &hint, &mut scratch, true)
                        .err()
                        .unwrap_or(reason),
                };
                outcomes[index] = rejected(ErrorKind::Data, reason);
            }
        }
    }
    let groups = groups
        .into_iter()
        .map(|(columns, rows)| {
            let encoded = postgres.then(|| {
                let group_columns: Vec<&ColumnInfo> =
                    columns.iter().map(|i| &info.columns[*i]).collect();
                let encoded = encode_group(
                    &info.table,
                    &group_columns,
                    mode,
                    records,
                    &rows,
                    check_early,
                );
                for (index, reason) in &encoded.refused {
                    outcomes[*index] = rejected(ErrorKind::Data, reason.clone());
                }
                encoded
            });
            PreparedGroup {
                columns,
                rows,
                encoded,
            }
        })
        .collect();
    Ok(PreparedTableWrite {
        engine,
        mode,
        table: info.table.clone(),
        outcomes,
        groups,
    })
}

impl PreparedTableWrite {
    /// Whether [`apply`] needs the records again (only the PostgreSQL encoding does
    /// without).
    pub fn needs_records(&self) -> bool {
        self.groups.iter().any(|group| group.encoded.is_none())
    }
}

/// Writes what [`prepare`] made of `records` (the same records, to the same table
/// `info`; none when [`PreparedTableWrite::needs_records`] says so), committing in
/// `scope`; one outcome per record, in order.
pub async fn apply(
    db: &Db,
    config: &SqlConfig,
    info: &TableInfo,
    prepared: PreparedTableWrite,
    records: Vec<Record>,
    scope: &Scope,
) -> Result<WriteReport, ConnectorError> {
    let PreparedTableWrite {
        engine,
        mode,
        table: prepared_table,
        mut outcomes,
        groups,
    } = prepared;
    let records_given = records.len() == outcomes.len()
        || (records.is_empty() && groups.iter().all(|group| group.encoded.is_some()));
    if engine != crate::introspect::engine_of(db) || prepared_table != info.table || !records_given
    {
        return Err(ConnectorError::config(
            Operation::Write,
            "a write was prepared for another table or batch",
        ));
    }
    let dialect = engine.dialect();
    let table = dialect
        .quote_table(&info.table)
        .map_err(|e| ConnectorError::config(Operation::Write, e.to_string()))?;
    let last_group = groups.len().saturating_sub(1);
    let mut records = Some(records);
    for (group_index, prepared_group) in groups.into_iter().enumerate() {
        let all = records.as_deref().unwrap_or_default();
        let PreparedGroup {
            columns: column_indexes,
            rows,
            encoded,
        } = prepared_group;
        let columns: Vec<&ColumnInfo> = column_indexes.iter().map(|i| &info.columns[*i]).collect();
        let group = Group {
            dialect,
            config,
            table: &table,
            columns,
            key: info.primary_key.clone(),
            mode,
            scope,
        };
        let partial_commits = !scope.is_transaction();
        match (db, encoded) {
            (Db::Postgres(pool), Some(encoded)) => {
                let mut writer = PgWriter::new(pool, &group, encoded);
                if group_index == last_group {
                    // Encoded: the records are no longer needed.
                    writer.garbage = std::sync::Mutex::new(records.take());
                }
                let chunk = COPY_CHUNK_ROWS;
                let mut local = vec![RecordOutcome::Ok; writer.rows.len()];
                isolate(
                    &writer,
                    writer.rows.len(),
                    chunk,
                    partial_commits,
                    &mut local,
                )
                .await?;
                for (position, outcome) in local.into_iter().enumerate() {
                    outcomes[writer.rows[position]] = outcome;
                }
            }
            (Db::Postgres(_), None) => {
                return Err(ConnectorError::config(
                    Operation::Write,
                    "a PostgreSQL write was prepared without its encoding",
                ));
            }
            (Db::MySql(_) | Db::Sqlite(_) | Db::Mssql(_), _) => {
                let writer = BindWriter::new(db, engine, &group, all, &rows, &mut outcomes);
                let chunk = match mode {
                    WriteMode::Insert | WriteMode::Upsert => {
                        rows_per_statement(dialect, group.columns.len())
                    }
                    WriteMode::Update | WriteMode::Delete => 1_000,
                };
                let mut local = vec![RecordOutcome::Ok; writer.rows.len()];
                isolate(
                    &writer,
                    writer.rows.len(),
                    chunk,
                    partial_commits,
                    &mut local,
                )
                .await?;
                for (position, outcome) in local.into_iter().enumerate() {
                    outcomes[writer.rows[position]] = outcome;
                }
            }
        }
    }
    Ok(WriteReport::new(outcomes))
}

/// What all chunks of one group share.
struct Group<'a> {
    dialect: &'static dyn Dialect,
    config: &'a SqlConfig,
    table: &'a str,
    columns: Vec<&'a ColumnInfo>,
    key: Vec<String>,
    mode: WriteMode,
    scope: &'a Scope,
}

impl Group<'_> {
    fn quote(&self, name: &str) -> Result<String, ConnectorError> {
        self.dialect
            .quote_identifier(name)
            .map_err(|e| ConnectorError::config(Operation::Write, e.to_string()))
    }

    fn quoted_columns(&self) -> Result<Vec<String>, ConnectorError> {
        self.columns.iter().map(|c| self.quote(&c.name)).collect()
    }

    fn quoted_key(&self) -> Result<Vec<String>, ConnectorError> {
        self.key.iter().map(|k| self.quote(k)).collect()
    }

    fn set_columns(&self) -> Vec<&ColumnInfo> {
        self.columns
            .iter()
            .copied()
            .filter(|c| !self.key.contains(&c.name))
            .collect()
    }
}

/// Applies one chunk (a range of the group's rows) and returns the outcomes that are not
/// `Ok` (rows an update or delete did not find).
#[async_trait]
trait ChunkApply: Sync {
    async fn apply(
        &self,
        rows: Range<usize>,
    ) -> Result<Vec<(usize, RecordOutcome)>, ConnectorError>;
}

/// Applies chunks of `chunk` rows, splitting chunks refused with a data error down to the
/// rows at fault. With `partial_commits` (each chunk commits on its own), an error that is
/// not about the data after a first commit rejects the rows not written instead of failing.
async fn isolate(
    writer: &dyn ChunkApply,
    len: usize,
    chunk: usize,
    partial_commits: bool,
    outcomes: &mut [RecordOutcome],
) -> Result<(), ConnectorError> {
    let chunk = chunk.max(1);
    let mut work: Vec<Range<usize>> = (0..len)
        .step_by(chunk)
        .map(|start| start..(start + chunk).min(len))
        .rev()
        .collect();
    let mut committed = false;
    while let Some(range) = work.pop() {
        match writer.apply(range.clone()).await {
            Ok(special) => {
                committed = partial_commits;
                for (index, outcome) in special {
                    outcomes[index] = outcome;
                }
            }
            Err(err) if err.kind() == ErrorKind::Data => {
                if range.len() == 1 {
                    outcomes[range.start] = rejected(ErrorKind::Data, err.detail());
                } else {
                    let middle = range.start + range.len() / 2;
                    work.push(middle..range.end);
                    work.push(range.start..middle);
                }
            }
            Err(err) if committed => {
                tracing::warn!(error = %err, "write failed midway; rejecting the rows not written");
                let reason = format!("not written: {}", err.detail());
                for rest in std::iter::once(range).chain(work.drain(..)) {
                    for index in rest {
                        outcomes[index] = rejected(err.kind(), reason.clone());
                    }
                }
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// PostgreSQL: rows encoded once into one `COPY` buffer; a chunk is a slice of it.
struct PgWriter<'a> {
    pool: &'a sqlx::PgPool,
    group: &'a Group<'a>,
    /// Whether the rows are in the binary `COPY` format (else the text format).
    binary: bool,
    /// The record index of each encoded row.
    rows: Vec<usize>,
    /// The encoded rows, back to back; row `i` is `buffer[offsets[i]..offsets[i + 1]]`.
    buffer: Vec<u8>,
    offsets: Vec<usize>,
    /// The records once encoded, dropped while the server processes the first `COPY`
    /// (freeing a batch is not free: it is done in a time the write waits anyway).
    garbage: std::sync::Mutex<Option<Vec<Record>>>,
}

/// The rows of a group encoded for `COPY`, and the records refused on the way.
#[derive(Debug)]
struct Encoded {
    binary: bool,
    rows: Vec<usize>,
    buffer: Vec<u8>,
    offsets: Vec<usize>,
    refused: Vec<(usize, String)>,
}

impl Encoded {
    fn with_capacity(binary: bool, rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            binary,
            rows: Vec::with_capacity(rows),
            buffer: Vec::with_capacity(rows * 64),
            offsets,
            refused: Vec::new(),
        }
    }

    fn push(&mut self, index: usize) {
        self.rows.push(index);
        self.offsets.push(self.buffer.len());
    }
}

/// Encodes the rows `indexes` of `records` for the group's `columns`, in the binary format
/// when every column has a binary encoding and every value is one the binary encoder
/// takes, else in the text format; the records refused are in `refused`. `checked`:
/// whether the values were checked against their column types already (else they are
/// checked here).
fn encode_group(
    table: &TableName,
    group_columns: &[&ColumnInfo],
    mode: WriteMode,
    records: &[Record],
    indexes: &[usize],
    checked: bool,
) -> Encoded {
    let columns: Vec<(&str, &FieldType)> = group_columns
        .iter()
        .map(|c| (c.name.as_str(), &c.field_type))
        .collect();
    let with_ordinal = matches!(mode, WriteMode::Update | WriteMode::Delete);
    let binary_types: Option<Vec<(&str, BinaryType)>> = group_columns
        .iter()
        .map(|c| Some((c.name.as_str(), BinaryType::of(&c.field_type, c.pg_type?)?)))
        .collect();
    let text = || encode_text(&columns, records, indexes, with_ordinal, checked);
    match binary_types {
        Some(types) => encode_binary(types, &columns, records, indexes, with_ordinal)
            .unwrap_or_else(|| {
                tracing::debug!(
                    table = %table.display(),
                    "a value only the server's text parser reads: COPY in the text format"
                );
                text()
            }),
        None => text(),
    }
}

impl<'a> PgWriter<'a> {
    /// A writer of the rows `encoded` for `group`.
    fn new(pool: &'a sqlx::PgPool, group: &'a Group<'a>, encoded: Encoded) -> Self {
        Self {
            pool,
            group,
            binary: encoded.binary,
            rows: encoded.rows,
            buffer: encoded.buffer,
            offsets: encoded.offsets,
            garbage: std::sync::Mutex::new(None),
        }
    }

    fn error(&self, err: sqlx::Error) -> ConnectorError {
        sqlx_error(Operation::Write, &err, self.group.config)
    }

    async fn copy(
        &self,
        conn: &mut sqlx::PgConnection,
        target: &str,
        columns: &str,
        range: &Range<usize>,
    ) -> Result<(), ConnectorError> {
        let statement = match self.binary {
            true => format!("COPY {target} ({columns}) FROM STDIN (FORMAT binary)"),
            false => format!("COPY {target} ({columns}) FROM STDIN"),
        };
        let mut copy = conn
            .copy_in_raw(&statement)
            .await
            .map_err(|e| self.error(e))?;
        let bytes = &self.buffer[self.offsets[range.start]..self.offsets[range.end]];
        let (header, trailer) = match self.binary {
            true => (COPY_HEADER, COPY_TRAILER),
            false => (&[][..], &[][..]),
        };
        // In pieces: the server takes in a whole `CopyData` message before parsing it, so
        // smaller messages let it parse while the rest is still being sent.
        let pieces = std::iter::once(header)
            .chain(bytes.chunks(COPY_MESSAGE_BYTES))
            .chain(std::iter::once(trailer))
            .filter(|piece| !piece.is_empty());
        for piece in pieces {
            if let Err(err) = copy.send(piece).await {
                let _ = copy.abort("send failed").await;
                return Err(self.error(err));
            }
        }
        let garbage = self.garbage.lock().ok().and_then(|mut g| g.take());
        let (finished, ()) = futures::join!(copy.finish(), async move { drop(garbage) });
        finished.map_err(|e| self.error(e))?;
        Ok(())
    }
}

#[async_trait]
impl ChunkApply for PgWriter<'_> {
    async fn apply(
        &self,
        range: Range<usize>,
    ) -> Result<Vec<(usize, RecordOutcome)>, ConnectorError> {
        let group = self.group;
        let columns = group.quoted_columns()?.join(", ");
        let mut outer = group.scope.lock().await;
        if group.mode == WriteMode::Insert && outer.is_none() {
            // One `COPY` is atomic on its own: no transaction around it (two round trips
            // fewer per chunk).
            let mut conn = self.pool.acquire().await.map_err(|e| self.error(e))?;
            self.copy(&mut conn, group.table, &columns, &range).await?;
            return Ok(Vec::new());
        }
        let mut tx = transaction::begin(self.pool, outer.as_deref_mut().and_then(|o| o.postgres()))
            .await
            .map_err(|e| self.error(e))?;
        if group.mode == WriteMode::Insert {
            self.copy(&mut tx, group.table, &columns, &range).await?;
            tx.commit().await.map_err(|e| self.error(e))?;
            return Ok(Vec::new());
        }
        let key = group.quoted_key()?;
        let stage = "grimos_stage";
        sqlx::query(&format!(
            "CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {columns} FROM {} WITH NO DATA",
            group.table
        ))
        .execute(&mut *tx)
        .await
        .map_err(|e| self.error(e))?;
        let mut staged_columns = columns.clone();
        if group.mode != WriteMode::Upsert {
            sqlx::query(&format!("ALTER TABLE {stage} ADD COLUMN grimos_ord bigint"))
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error(e))?;
            staged_columns.push_str(", grimos_ord");
        }
        self.copy(&mut tx, stage, &staged_columns, &range).await?;
        let join: Vec<String> = key
            .iter()
            .map(|k| format!("grimos_t.{k} = s.{k}"))
            .collect();
        let mut found = Vec::new();
        match group.mode {
            WriteMode::Upsert => {
                let quoted = group.quoted_columns()?;
                let sql = format!(
                    "INSERT INTO {} ({columns}) SELECT {columns} FROM {stage} {}",
                    group.table,
                    crate::dialect::postgres_on_conflict(&quoted, &key)
                );
                sqlx::query(&sql)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            WriteMode::Update => {
                let set: Vec<String> = match group.set_columns().as_slice() {
                    [] => key.iter().map(|k| format!("{k} = grimos_t.{k}")).collect(),
                    columns => columns
                        .iter()
                        .map(|c| {
                            let q = group.quote(&c.name)?;
                            Ok(format!("{q} = s.{q}"))
                        })
                        .collect::<Result<_, ConnectorError>>()?,
                };
                let sql = format!(
                    "UPDATE {} AS grimos_t SET {} FROM {stage} AS s WHERE {} RETURNING s.grimos_ord",
                    group.table,
                    set.join(", "),
                    join.join(" AND ")
                );
                found = sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            WriteMode::Delete => {
                let sql = format!(
                    "DELETE FROM {} AS grimos_t USING {stage} AS s WHERE {} RETURNING s.grimos_ord",
                    group.table,
                    join.join(" AND ")
                );
                found = sqlx::query_scalar::<_, i64>(&sql)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| self.error(e))?;
            }
            WriteMode::Insert => {}
        }
        // `ON COMMIT DROP` drops it only with the outermost transaction: drop it now so the
        // next chunk (in the next savepoint) can stage again.
        sqlx::query(&format!("DROP TABLE {stage}"))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error(e))?;
        tx.commit().await.map_err(|e| self.error(e))?;
        if group.mode == WriteMode::Upsert {
            return Ok(Vec::new());
        }
        let found: std::collections::HashSet<i64> = found.into_iter().collect();
        Ok(range
            .filter(|i| !found.contains(&(*i as i64)))
            .map(|i| {
                (
                    i,
                    rejected(ErrorKind::NotFound, "no row with this primary key"),
                )
            })
            .collect())
    }
}

/// Encodes the rows in the binary `COPY` format, checking each value in the same pass;
/// `None` when a row holds a value that only the server can judge (the group then goes in
/// the text format, where the server judges it as before).
fn encode_binary(
    types: Vec<(&str, BinaryType)>,
    columns: &[(&str, &FieldType)],
    records: &[Record],
    indexes: &[usize],
    with_ordinal: bool,
) -> Option<Encoded> {
    let mut encoder = BinaryRowEncoder::new(types);
    let mut encoded = Encoded::with_capacity(true, indexes.len());
    let mut text = Vec::new();
    for &index in indexes {
        let record = &records[index];
        let ordinal = with_ordinal.then_some(encoded.rows.len() as i64);
        match encoder.encode_row(&mut encoded.buffer, record, ordinal) {
            Ok(()) => encoded.push(index),
            Err(NotEncoded) => {
                // What the text path makes of the record: refused (with its reason), or
                // taken, its values left to the server.
                text.clear();
                let verdict = check_values(record, columns).and_then(|()| {
                    values::postgres::encode_copy_row_with(&mut text, record, columns, false)
                });
                match verdict {
                    Err(reason) => encoded.refused.push((index, reason)),
                    Ok(()) => return None,
                }
            }
        }
    }
    Some(encoded)
}

/// Encodes the rows in the `COPY` text format; `checked`: whether their values were
/// checked against their column types already.
fn encode_text(
    columns: &[(&str, &FieldType)],
    records: &[Record],
    indexes: &[usize],
    with_ordinal: bool,
    checked: bool,
) -> Encoded {
    let mut encoded = Encoded::with_capacity(false, indexes.len());
    for &index in indexes {
        let record = &records[index];
        let result = match checked {
            true => Ok(()),
            false => check_values(record, columns),
        }
        .and_then(|()| {
            values::postgres::encode_copy_row_with(&mut encoded.buffer, record, columns, false)
        });
        match result {
            Ok(()) => {
                if with_ordinal {
                    encoded.buffer.pop();
                    let ordinal = encoded.rows.len();
                    encoded
                        .buffer
                        .extend_from_slice(format!("\t{ordinal}\n").as_bytes());
                }
                encoded.push(index);
            }
            Err(reason) => encoded.refused.push((index, reason)),
        }
    }
    encoded
}

/// MySQL, SQLite, SQL Server: rows converted once to typed parameters.
struct BindWriter<'a> {
    db: &'a Db,
    group: &'a Group<'a>,
    rows: Vec<usize>,
    /// The parameters of each row: for insert/upsert the columns in order; for update the
    /// columns to set then the key; for delete the key.
    binds: Vec<Vec<BindValue>>,
}

impl<'a> BindWriter<'a> {
    fn new(
        db: &'a Db,
        engine: Engine,
        group: &'a Group<'a>,
        records: &[Record],
        indexes: &[usize],
        outcomes: &mut [RecordOutcome],
    ) -> Self {
        let ordered: Vec<&ColumnInfo> = match group.mode {
            WriteMode::Insert | WriteMode::Upsert => group.columns.clone(),
            WriteMode::Update => {
                let mut columns = group.set_columns();
                columns.extend(
                    group
                        .key
                        .iter()
                        .filter_map(|k| group.columns.iter().copied().find(|c| &c.name == k)),
                );
                columns
            }
            WriteMode::Delete => group
                .key
                .iter()
                .filter_map(|k| group.columns.iter().copied().find(|c| &c.name == k))
                .collect(),
        };
        let mut rows = Vec::with_capacity(indexes.len());
        let mut binds = Vec::with_capacity(indexes.len());
        for &index in indexes {
            let converted: Result<Vec<BindValue>, String> = ordered
                .iter()
                .map(|c| {
                    let value = records[index].get(&c.name).unwrap_or(&Value::Null);
                    BindValue::from_json(value, &c.field_type, engine)
                        .map_err(|e| format!("field `{}`: {e}", c.name))
                })
                .collect();
            match converted {
                Ok(values) => {
                    rows.push(index);
                    binds.push(values);
                }
                Err(reason) => outcomes[index] = rejected(ErrorKind::Data, reason),
            }
        }
        Self {
            db,
            group,
            rows,
            binds,
        }
    }

    fn sql(&self, rows: usize) -> Result<String, ConnectorError> {
        let group = self.group;
        let columns = group.quoted_columns()?;
        let key = group.quoted_key()?;
        Ok(match group.mode {
            WriteMode::Insert => dialect::insert_sql(group.dialect, group.table, &columns, rows),
            WriteMode::Upsert => group.dialect.upsert_sql(group.table, &columns, &key, rows),
            WriteMode::Update => {
                let set = group
                    .set_columns()
                    .iter()
                    .map(|c| group.quote(&c.name))
                    .collect::<Result<Vec<_>, _>>()?;
                dialect::update_sql(group.dialect, group.table, &set, &key)
            }
            WriteMode::Delete => dialect::delete_sql(group.dialect, group.table, &key),
        })
    }

    fn sqlx_error(&self, err: sqlx::Error) -> ConnectorError {
        sqlx_error(Operation::Write, &err, self.group.config)
    }

    /// One multi-row statement (insert, upsert).
    async fn apply_batch(&self, range: Range<usize>) -> Result<(), ConnectorError> {
        let sql = self.sql(range.len())?;
        let binds = range.flat_map(|i| self.binds[i].iter().cloned());
        let mut outer = self.group.scope.lock().await;
        match self.db {
            Db::MySql(pool) => {
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = values::mysql::bind(query, bind);
                }
                let mut tx = transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.mysql()))
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                query
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Sqlite(pool) => {
                let mut query = sqlx::query(&sql);
                for bind in binds {
                    query = values::sqlite::bind(query, bind);
                }
                let mut tx =
                    transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.sqlite()))
                        .await
                        .map_err(|e| self.sqlx_error(e))?;
                query
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Mssql(session) => {
                let mut guard = session.client(Operation::Write).await?;
                let client = guard
                    .as_mut()
                    .ok_or_else(|| ConnectorError::transient(Operation::Write, "not connected"))?;
                let mut query = tiberius::Query::new(sql);
                for bind in binds {
                    values::mssql::bind(&mut query, bind);
                }
                query
                    .execute(client)
                    .await
                    .map_err(|e| crate::mssql::error(Operation::Write, &e))?;
            }
            Db::Postgres(_) => {
                return Err(ConnectorError::unsupported(
                    Operation::Write,
                    "PostgreSQL writes go through COPY",
                ));
            }
        }
        Ok(())
    }

    /// Statement by statement in one transaction (update, delete): a row not found or
    /// refused is rejected alone.
    async fn apply_each(
        &self,
        range: Range<usize>,
    ) -> Result<Vec<(usize, RecordOutcome)>, ConnectorError> {
        let sql = self.sql(1)?;
        let mut special = Vec::new();
        let mut record =
            |index: usize, result: Result<u64, ConnectorError>| -> Result<(), ConnectorError> {
                match result {
                    Ok(0) => special.push((
                        index,
                        rejected(ErrorKind::NotFound, "no row with this primary key"),
                    )),
                    Ok(_) => {}
                    Err(err) if err.kind() == ErrorKind::Data => {
                        special.push((index, rejected(ErrorKind::Data, err.detail())))
                    }
                    Err(err) => return Err(err),
                }
                Ok(())
            };
        let mut outer = self.group.scope.lock().await;
        match self.db {
            Db::MySql(pool) => {
                let mut tx = transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.mysql()))
                    .await
                    .map_err(|e| self.sqlx_error(e))?;
                for index in range {
                    let mut query = sqlx::query(&sql);
                    for bind in self.binds[index].iter().cloned() {
                        query = values::mysql::bind(query, bind);
                    }
                    let result = query
                        .execute(&mut *tx)
                        .await
                        .map(|r| r.rows_affected())
                        .map_err(|e| self.sqlx_error(e));
                    record(index, result)?;
                }
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Sqlite(pool) => {
                let mut tx =
                    transaction::begin(pool, outer.as_deref_mut().and_then(|o| o.sqlite()))
                        .await
                        .map_err(|e| self.sqlx_error(e))?;
                for index in range {
                    let mut query = sqlx::query(&sql);
                    for bind in self.binds[index].iter().cloned() {
                        query = values::sqlite::bind(query, bind);
                    }
                    let result = query
                        .execute(&mut *tx)
                        .await
                        .map(|r| r.rows_affected())
                        .map_err(|e| self.sqlx_error(e));
                    record(index, result)?;
                }
                tx.commit().await.map_err(|e| self.sqlx_error(e))?;
            }
            Db::Mssql(session) => {
                let mut guard = session.client(Operation::Write).await?;
                let client = guard
                    .as_mut()
                    .ok_or_else(|| ConnectorError::transient(Operation::Write, "not connected"))?;
                for index in range {
                    let mut query = tiberius::Query::new(sql.clone());
                    for bind in self.binds[index].iter().cloned() {
                        values::mssql::bind(&mut query, bind);
                    }
                    let result = query
                        .execute(&mut *client)
                        .await
                        .map(|r| r.total())
                        .map_err(|e| crate::mssql::error(Operation::Write, &e));
                    record(index, result)?;
                }
            }
            Db::Postgres(_) => {}
        }
        Ok(special)
    }
}

#[async_trait]
impl ChunkApply for BindWriter<'_> {
    async fn apply(
        &self,
        range: Range<usize>,
    ) -> Result<Vec<(usize, RecordOutcome)>, ConnectorError> {
        match self.group.mode {
            WriteMode::Insert | WriteMode::Upsert => {
                self.apply_batch(range).await?;
                Ok(Vec::new())
            }
            WriteMode::Update | WriteMode::Delete => self.apply_each(range).await,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::sync::Mutex;

    use super::*;

    /// Refuses any chunk containing a "bad" row, like a database with a constraint.
    struct Picky {
        bad: Vec<usize>,
        calls: Mutex<Vec<Range<usize>>>,
        fail_transiently_after: Option<usize>,
    }

    #[async_trait]
    impl ChunkApply for Picky {
        async fn apply(
            &self,
            rows: Range<usize>,
        ) -> Result<Vec<(usize, RecordOutcome)>, ConnectorError> {
            let mut calls = self.calls.lock().unwrap();
            calls.push(rows.clone());
            if self.fail_transiently_after.is_some_and(|n| calls.len() > n) {
                return Err(ConnectorError::transient(
                    Operation::Write,
                    "connection reset",
                ));
            }
            match self.bad.iter().find(|b| rows.contains(b)) {
                Some(b) => Err(ConnectorError::data(
                    Operation::Write,
                    format!("row {b} violates check"),
                )),
                None => Ok(Vec::new()),
            }
        }
    }

    #[tokio::test]
    async fn only_the_bad_rows_are_rejected_with_the_database_reason() {
        let picky = Picky {
            bad: vec![3, 700],
            calls: Mutex::new(vec![]),
            fail_transiently_after: None,
        };
        let mut outcomes = vec![RecordOutcome::Ok; 1000];
        isolate(&picky, 1000, 1000, true, &mut outcomes)
            .await
            .unwrap();
        let rejected: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.is_ok())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(rejected, vec![3, 700]);
        assert_eq!(
            outcomes[3],
            RecordOutcome::rejected(ErrorKind::Data, "row 3 violates check")
        );
        // Bisection, not row by row: about 2 * log2(1000) statements per bad row.
        assert!(
            picky.calls.lock().unwrap().len() < 45,
            "{}",
            picky.calls.lock().unwrap().len()
        );
    }

    #[tokio::test]
    async fn a_connection_loss_before_any_commit_fails_the_write() {
        let picky = Picky {
            bad: vec![],
            calls: Mutex::new(vec![]),
            fail_transiently_after: Some(0),
        };
        let mut outcomes = vec![RecordOutcome::Ok; 10];
        let err = isolate(&picky, 10, 5, true, &mut outcomes)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
    }

    #[tokio::test]
    async fn in_one_transaction_a_connection_loss_midway_fails_the_write() {
        let picky = Picky {
            bad: vec![],
            calls: Mutex::new(vec![]),
            fail_transiently_after: Some(1),
        };
        let mut outcomes = vec![RecordOutcome::Ok; 10];
        let err = isolate(&picky, 10, 5, false, &mut outcomes)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient);
    }

    #[tokio::test]
    async fn a_connection_loss_midway_rejects_only_the_unwritten_rows() {
        let picky = Picky {
            bad: vec![],
            calls: Mutex::new(vec![]),
            fail_transiently_after: Some(1),
        };
        let mut outcomes = vec![RecordOutcome::Ok; 10];
        isolate(&picky, 10, 5, true, &mut outcomes).await.unwrap();
        assert!(outcomes[..5].iter().all(RecordOutcome::is_ok));
        assert!(outcomes[5..].iter().all(|o| matches!(
            o,
            RecordOutcome::Rejected {
                kind: ErrorKind::Transient,
                ..
            }
        )));
    }
}
