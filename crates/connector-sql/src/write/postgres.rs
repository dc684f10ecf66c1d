//! PostgreSQL writes: the rows of a group encoded once into one `COPY` buffer
//! ([`Encoded`]), in the binary format where every column has a binary encoding, and
//! [`PgWriter`], which copies chunks of it (straight into the table, or into a staging
//! table for upsert, update and delete).
//!
//! This module encodes JSON records (deletes, and what the columnar encoder
//! [`super::columns`] leaves to the text format).

use std::ops::Range;

use async_trait::async_trait;
use connector_sdk::{
    ConnectorError, ErrorKind, FieldType, Operation, Record, RecordOutcome, WriteMode,
};

use super::check::check_values;
use super::{ChunkApply, Group, rejected};
use crate::db::sqlx_error;
use crate::dialect::TableName;
use crate::introspect::ColumnInfo;
use crate::transaction;
use crate::values;
use crate::values::postgres_binary::{
    BinaryRowEncoder, BinaryType, COPY_HEADER, COPY_TRAILER, NotEncoded,
};

/// The size of the `CopyData` messages of a PostgreSQL `COPY` (rows may straddle them).
const COPY_MESSAGE_BYTES: usize = 256 * 1024;

/// PostgreSQL: rows encoded once into one `COPY` buffer; a chunk is a slice of it.
pub struct PgWriter<'a> {
    pool: &'a sqlx::PgPool,
    group: &'a Group<'a>,
    /// Whether the rows are in the binary `COPY` format (else the text format).
    binary: bool,
    /// The record index of each encoded row.
    pub rows: Vec<usize>,
    /// The encoded rows, back to back; row `i` is `buffer[offsets[i]..offsets[i + 1]]`.
    buffer: Vec<u8>,
    offsets: Vec<usize>,
}

/// The rows of a group encoded for `COPY`, and the records refused on the way.
#[derive(Debug)]
pub struct Encoded {
    /// Whether the rows are in the binary format (else the text format).
    pub binary: bool,
    /// The record index of each encoded row.
    pub rows: Vec<usize>,
    /// The encoded rows, back to back; row `i` is `buffer[offsets[i]..offsets[i + 1]]`.
    pub buffer: Vec<u8>,
    /// Where each row starts in `buffer`, then where the last one ends.
    pub offsets: Vec<usize>,
    /// The records refused while encoding, with the reason.
    pub refused: Vec<(usize, String)>,
}

impl Encoded {
    /// Room for `rows` rows, in the binary format or not.
    pub fn with_capacity(binary: bool, rows: usize) -> Self {
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

    /// Ends the row of record `index`, just written to the buffer.
    pub fn push(&mut self, index: usize) {
        self.rows.push(index);
        self.offsets.push(self.buffer.len());
    }
}

/// Encodes the rows `indexes` of `records` for the group's `columns`, in the binary format
/// when every column has a binary encoding and every value is one the binary encoder
/// takes, else in the text format; the records refused are in `refused`. `checked`:
/// whether the values were checked against their column types already (else they are
/// checked here).
pub fn encode_group(
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
    pub fn new(pool: &'a sqlx::PgPool, group: &'a Group<'a>, encoded: Encoded) -> Self {
        Self {
            pool,
            group,
            binary: encoded.binary,
            rows: encoded.rows,
            buffer: encoded.buffer,
            offsets: encoded.offsets,
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
        copy.finish().await.map_err(|e| self.error(e))?;
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
pub fn encode_text(
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
