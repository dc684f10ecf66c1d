//! Batched writes with per-record outcomes.
//!
//! - PostgreSQL: `COPY ... FROM STDIN` straight into the table for inserts; for upsert,
//!   update and delete, `COPY` into a temporary staging table inside a transaction, then
//!   one set-based statement (`INSERT ... SELECT ... ON CONFLICT DO UPDATE`,
//!   `UPDATE ... FROM ... RETURNING`, `DELETE ... USING ... RETURNING`). The rows travel
//!   in the binary format when every column written has a type the binary encoder knows
//!   ([`crate::values::postgres_binary`]: the server then skips parsing them), encoded
//!   from the batch's Arrow columns (`columns`; a value whose Arrow type matches its
//!   column's is never formatted nor parsed) and checked while it is encoded; else, or
//!   when a value is one only the server's text parser can judge, in the text format.
//!   Each batch is encoded once into one buffer (a bounded amount of memory per write).
//! - MySQL/MariaDB, SQLite, SQL Server: the batch's JSON view bound as parameters
//!   (`bind`): multi-row `INSERT` / upsert statements sized to the engine's parameter
//!   and row limits; update and delete statement by statement by primary key inside one
//!   transaction (a missing row is rejected as not found).
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

mod bind;
mod check;
mod columns;
mod postgres;

use std::ops::Range;

use async_trait::async_trait;
use connector_sdk::{
    Batch, ConnectorError, ErrorKind, Operation, Record, RecordOutcome, WriteMode, WriteReport,
};

use crate::config::SqlConfig;
use crate::db::Db;
use crate::dialect::{Dialect, Engine, TableName};
use crate::introspect::{ColumnInfo, TableInfo};
use crate::transaction::Scope;
use bind::BindWriter;
use check::ColumnIndex;
use postgres::{Encoded, PgWriter};

/// The most rows one PostgreSQL `COPY` carries.
const COPY_CHUNK_ROWS: usize = 50_000;

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
    /// The records the groups' rows point into, where they are bound as parameters (empty
    /// on PostgreSQL, where the groups are encoded).
    records: Vec<Record>,
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

/// Groups, checks and (PostgreSQL) encodes `batch` for a write in `mode` to `info`:
/// PostgreSQL inserts, upserts and updates from the Arrow columns (`columns`), anything
/// else from the batch's JSON view.
pub fn prepare(
    engine: Engine,
    info: &TableInfo,
    mode: WriteMode,
    batch: &Batch,
) -> Result<PreparedTableWrite, ConnectorError> {
    if mode != WriteMode::Insert && info.primary_key.is_empty() {
        return Err(ConnectorError::unsupported(
            Operation::Write,
            format!(
                "{mode} needs a primary key and `{}` has none",
                info.table.display()
            ),
        ));
    }
    if engine == Engine::Postgres && mode != WriteMode::Delete && columns::can_encode(batch) {
        return Ok(columns::prepare(info, mode, batch));
    }
    Ok(prepare_records(engine, info, mode, batch.to_records()))
}

/// [`prepare`] from JSON records.
fn prepare_records(
    engine: Engine,
    info: &TableInfo,
    mode: WriteMode,
    records: Vec<Record>,
) -> PreparedTableWrite {
    let mut outcomes = vec![RecordOutcome::Ok; records.len()];
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
        match check::columns_of(
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
                    false => check::rejection(&column_index, mode, record).unwrap_or(reason),
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
                let encoded = postgres::encode_group(
                    &info.table,
                    &group_columns,
                    mode,
                    &records,
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
    PreparedTableWrite {
        engine,
        mode,
        table: info.table.clone(),
        outcomes,
        groups,
        records: if postgres { Vec::new() } else { records },
    }
}

/// Writes what [`prepare`] made of a batch (to the same table `info`), committing in
/// `scope`; one outcome per record, in order.
pub async fn apply(
    db: &Db,
    config: &SqlConfig,
    info: &TableInfo,
    prepared: PreparedTableWrite,
    scope: &Scope,
) -> Result<WriteReport, ConnectorError> {
    let PreparedTableWrite {
        engine,
        mode,
        table: prepared_table,
        mut outcomes,
        groups,
        records,
    } = prepared;
    if engine != crate::introspect::engine_of(db) || prepared_table != info.table {
        return Err(ConnectorError::config(
            Operation::Write,
            "a write was prepared for another table",
        ));
    }
    let dialect = engine.dialect();
    let table = dialect
        .quote_table(&info.table)
        .map_err(|e| ConnectorError::config(Operation::Write, e.to_string()))?;
    let partial_commits = !scope.is_transaction();
    for prepared_group in groups {
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
        let (written, local) = match (db, encoded) {
            (Db::Postgres(pool), Some(encoded)) => {
                let writer = PgWriter::new(pool, &group, encoded);
                let mut local = vec![RecordOutcome::Ok; writer.rows.len()];
                isolate(
                    &writer,
                    writer.rows.len(),
                    COPY_CHUNK_ROWS,
                    partial_commits,
                    &mut local,
                )
                .await?;
                (writer.rows, local)
            }
            (Db::Postgres(_), None) => {
                return Err(ConnectorError::config(
                    Operation::Write,
                    "a PostgreSQL write was prepared without its encoding",
                ));
            }
            (Db::MySql(_) | Db::Sqlite(_) | Db::Mssql(_), _) => {
                let writer = BindWriter::new(db, engine, &group, &records, &rows, &mut outcomes);
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
                (writer.rows, local)
            }
        };
        for (row, outcome) in written.into_iter().zip(local) {
            outcomes[row] = outcome;
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
