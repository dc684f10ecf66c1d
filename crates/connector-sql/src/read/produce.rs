//! The producer task of a read: runs the query, decodes the rows into batches of Arrow
//! columns, labels them ([`Batcher`]) and sends them through a channel of one batch.

use connector_sdk::{Batch, ConnectorError, Operation, ReadBatch, ReadStream};
use futures::StreamExt as _;
use tokio::sync::mpsc;

use super::{Batcher, ReadPlan, pg_text};
use crate::config::SqlConfig;
use crate::db::{Db, READ_ONLY_TRANSACTION, sqlx_error};
use crate::dialect::Engine;
use crate::values::mssql::MssqlRowReader;
use crate::values::mysql::MySqlRowReader;
use crate::values::postgres_columns::{PgCopyReader, PgRowReader};
use crate::values::sqlite::SqliteRowReader;
use crate::values::{self, BindValue};

type Sender = mpsc::Sender<Result<ReadBatch, ConnectorError>>;

/// Starts a read of batches of up to `batch_size` rows: the producer task runs the query
/// and sends batches.
pub fn spawn(
    db: Db,
    config: std::sync::Arc<SqlConfig>,
    plan: ReadPlan,
    batcher: Batcher,
    batch_size: usize,
) -> ReadStream {
    let (tx, rx) = mpsc::channel(1);
    let stream_name = batcher.stream().to_owned();
    let producer = async move {
        let mut out = Output {
            batcher,
            tx,
            batch_size: batch_size.max(1),
        };
        match produce(&db, &config, plan, &mut out).await {
            Ok(true) => out.finish().await,
            Ok(false) => {}
            Err(err) => {
                let _ = out.tx.send(Err(err.with_stream(stream_name))).await;
            }
        }
    };
    tokio::spawn(producer);
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

/// Where a read's batches go.
struct Output {
    batcher: Batcher,
    tx: Sender,
    batch_size: usize,
}

impl Output {
    /// Sends `batch` (once labelled); `false` when the consumer is gone (the read stops).
    async fn send(&mut self, batch: Batch) -> bool {
        match self.batcher.push(batch) {
            Some(ready) => self.tx.send(Ok(ready)).await.is_ok(),
            None => true,
        }
    }

    /// Sends the batch a reader holds when it is full (`at_end`: when it holds any row).
    async fn send_from(&mut self, reader: &mut dyn RowBatches, at_end: bool) -> bool {
        let rows = reader.rows();
        if rows >= self.batch_size || (at_end && rows > 0) {
            self.send(reader.take_batch()).await
        } else {
            true
        }
    }

    /// Decodes every row of `rows` into the reader `start` builds from the first row (the
    /// result's column types), sending each full batch and then the last one; `false` when
    /// the consumer left.
    async fn drain<Row, E, Reader: RowBatches>(
        &mut self,
        mut rows: impl futures::Stream<Item = Result<Row, E>> + Unpin,
        error: impl Fn(E) -> ConnectorError,
        start: impl Fn(&Row) -> Reader,
        decode: impl Fn(&mut Reader, Row) -> Result<(), String>,
    ) -> Result<bool, ConnectorError> {
        let mut reader = None;
        while let Some(row) = rows.next().await {
            let row = row.map_err(&error)?;
            let reader = reader.get_or_insert_with(|| start(&row));
            decode(reader, row).map_err(decode_error)?;
            if !self.send_from(reader, false).await {
                return Ok(false);
            }
        }
        match reader.as_mut() {
            Some(reader) => Ok(self.send_from(reader, true).await),
            None => Ok(true),
        }
    }

    /// Sends the last batch.
    async fn finish(self) {
        if let Some(last) = self.batcher.finish() {
            let _ = self.tx.send(Ok(last)).await;
        }
    }
}

/// A reader decoding rows into a batch.
trait RowBatches: Send {
    fn rows(&self) -> usize;
    fn take_batch(&mut self) -> Batch;
}

macro_rules! row_batches {
    ($($reader:ty),*) => {$(
        impl RowBatches for $reader {
            fn rows(&self) -> usize {
                <$reader>::rows(self)
            }
            fn take_batch(&mut self) -> Batch {
                <$reader>::take_batch(self)
            }
        }
    )*};
}

row_batches!(PgRowReader, MySqlRowReader, SqliteRowReader, MssqlRowReader);

fn decode_error(detail: String) -> ConnectorError {
    ConnectorError::data(Operation::Read, detail)
}

/// A PostgreSQL read through `COPY (select) TO STDOUT (FORMAT binary)` on one connection:
/// the statement is described first (the column types), then the stream is decoded tuple
/// by tuple into columns. `false` when the consumer went away.
async fn pg_copy_read(
    pool: &sqlx::PgPool,
    config: &SqlConfig,
    plan: &ReadPlan,
    out: &mut Output,
) -> Result<bool, ConnectorError> {
    use sqlx::{Column as _, Executor as _, Statement as _, TypeInfo as _};
    let select = plan.copy_sql.as_deref().unwrap_or_default();
    let read_error = |e: sqlx::Error| sqlx_error(Operation::Read, &e, config);
    let mut conn = CopyConnection {
        conn: pool.acquire().await.map_err(read_error)?,
        complete: false,
    };
    let statement = (&mut *conn.conn)
        .prepare(select)
        .await
        .map_err(read_error)?;
    let mut reader = PgCopyReader::new(
        statement
            .columns()
            .iter()
            .map(|c| (c.name(), c.type_info().name())),
        &plan.hints,
        out.batch_size,
    );
    let copy = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
    // The server sends a message per row: the ones already received are decoded together.
    let mut chunks = conn
        .conn
        .copy_out_raw(&copy)
        .await
        .map_err(read_error)?
        .ready_chunks(1024);
    while let Some(received) = chunks.next().await {
        for chunk in received {
            reader.feed(&chunk.map_err(read_error)?);
        }
        while reader.decode(out.batch_size).map_err(decode_error)? >= out.batch_size {
            if !out.send(reader.take_batch()).await {
                return Ok(false);
            }
        }
    }
    drop(chunks);
    conn.complete = true;
    reader.finish().map_err(decode_error)?;
    if reader.rows() > 0 && !out.send(reader.take_batch()).await {
        return Ok(false);
    }
    Ok(true)
}

/// The connection of a `COPY` read: closed rather than handed back to the pool unless the
/// stream was read to its end (an error, the consumer leaving or the read being dropped
/// leave it inside the `COPY`).
struct CopyConnection {
    conn: sqlx::pool::PoolConnection<sqlx::Postgres>,
    complete: bool,
}

impl Drop for CopyConnection {
    fn drop(&mut self) {
        if !self.complete {
            self.conn.close_on_drop();
        }
    }
}

/// Runs the read to its end, sending every batch but the last (held by the batcher);
/// `false` when the consumer left.
async fn produce(
    db: &Db,
    config: &SqlConfig,
    plan: ReadPlan,
    out: &mut Output,
) -> Result<bool, ConnectorError> {
    let engine = crate::introspect::engine_of(db);
    let cursor_binds = |engine: Engine| -> Result<Vec<BindValue>, ConnectorError> {
        plan.binds
            .iter()
            .map(|(value, column)| {
                BindValue::from_cursor(value, &column.field_type, engine).map_err(|e| {
                    ConnectorError::config(Operation::Read, format!("checkpoint cursor: {e}"))
                })
            })
            .collect()
    };
    let read_error = |e: sqlx::Error| sqlx_error(Operation::Read, &e, config);
    let batch_size = out.batch_size;
    match db {
        Db::Postgres(pool) if plan.copy_sql.is_some() => {
            if !pg_copy_read(pool, config, &plan, out).await? {
                return Ok(false);
            }
        }
        Db::Postgres(pool) => {
            let mut query = sqlx::query(&plan.sql);
            for (value, _) in &plan.binds {
                query = query.bind(pg_text(value));
            }
            let mut read_only = match plan.read_only {
                true => Some(
                    pool.begin_with(READ_ONLY_TRANSACTION)
                        .await
                        .map_err(read_error)?,
                ),
                false => None,
            };
            let rows = match read_only.as_mut() {
                Some(tx) => query.fetch(&mut **tx),
                None => query.fetch(pool),
            };
            let drained = out
                .drain(
                    rows,
                    read_error,
                    |row| PgRowReader::for_row(row, &plan.hints, batch_size),
                    |reader, row| reader.decode(&row),
                )
                .await?;
            if !drained {
                return Ok(false);
            }
            if let Some(transaction) = read_only {
                transaction.rollback().await.map_err(read_error)?;
            }
        }
        Db::MySql(pool) => {
            let mut query = sqlx::query(&plan.sql);
            for bind in cursor_binds(engine)? {
                query = values::mysql::bind(query, bind);
            }
            let mut read_only = match plan.read_only {
                true => Some(
                    pool.begin_with(READ_ONLY_TRANSACTION)
                        .await
                        .map_err(read_error)?,
                ),
                false => None,
            };
            let rows = match read_only.as_mut() {
                Some(tx) => query.fetch(&mut **tx),
                None => query.fetch(pool),
            };
            let drained = out
                .drain(
                    rows,
                    read_error,
                    |row| MySqlRowReader::for_row(row, &plan.hints, batch_size),
                    |reader, row| reader.decode(&row),
                )
                .await?;
            if !drained {
                return Ok(false);
            }
            if let Some(transaction) = read_only {
                transaction.rollback().await.map_err(read_error)?;
            }
        }
        Db::Sqlite(pool) => {
            let mut query = sqlx::query(&plan.sql);
            for bind in cursor_binds(engine)? {
                query = values::sqlite::bind(query, bind);
            }
            // `pool` is the read-only one here (`query_only`); inside a transaction, which
            // SQLite's ATTACH also refuses.
            let mut read_only = match plan.read_only {
                true => Some(pool.begin().await.map_err(read_error)?),
                false => None,
            };
            let rows = match read_only.as_mut() {
                Some(tx) => query.fetch(&mut **tx),
                None => query.fetch(pool),
            };
            let drained = out
                .drain(
                    rows,
                    read_error,
                    |row| SqliteRowReader::for_row(row, &plan.hints, batch_size),
                    |reader, row| reader.decode(&row),
                )
                .await?;
            if !drained {
                return Ok(false);
            }
            if let Some(transaction) = read_only {
                transaction.rollback().await.map_err(read_error)?;
            }
        }
        Db::Mssql(session) => {
            let mut guard = session.client(Operation::Read).await?;
            let client = guard
                .as_mut()
                .ok_or_else(|| ConnectorError::transient(Operation::Read, "not connected"))?;
            let mut query = tiberius::Query::new(plan.sql.clone());
            for bind in cursor_binds(engine)? {
                values::mssql::bind(&mut query, bind);
            }
            let stream = query
                .query(client)
                .await
                .map_err(|e| crate::mssql::error(Operation::Read, &e))?;
            let rows = stream.into_row_stream();
            let drained = out
                .drain(
                    rows,
                    |e| crate::mssql::error(Operation::Read, &e),
                    |row| MssqlRowReader::for_row(row, batch_size),
                    |reader, row| reader.decode(row),
                )
                .await?;
            if !drained {
                return Ok(false);
            }
        }
    }
    Ok(true)
}
