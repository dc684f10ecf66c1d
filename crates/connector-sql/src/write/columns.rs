//! PostgreSQL inserts, upserts and updates from a batch's Arrow columns.
//!
//! The rows are grouped by the fields they carry (a typed column is carried by every row;
//! a JSON column's null slot is a field the row lacks, so the column's default applies),
//! checked on the columns (unknown fields, the primary key, nulls in required columns)
//! and encoded by [`ColumnEncoder`] into one binary `COPY` buffer. Only a row that fails
//! is turned into its JSON record, to be rejected with exactly the reason the JSON path
//! gives ([`check::rejection`], [`check_values`]); and a value only the server's text
//! parser can judge sends its group in the text format, from the JSON records, as
//! before. The outcomes are those of the JSON records, record for record.

use connector_sdk::arrow_array::{Array, ArrayRef};
use connector_sdk::arrow_schema::{DataType, Field};
use connector_sdk::{Batch, ErrorKind, FieldType, Record, RecordOutcome, WriteMode};

use super::check::{self, ColumnIndex, check_values};
use super::postgres::{Encoded, encode_text};
use super::{PreparedGroup, PreparedTableWrite, rejected};
use crate::dialect::Engine;
use crate::introspect::{ColumnInfo, TableInfo};
use crate::values::postgres::encode_copy_row_with;
use crate::values::postgres_binary::BinaryType;
use crate::values::postgres_binary_columns::ColumnEncoder;

/// Whether `batch` can be written from its columns: its fields have distinct names (the
/// JSON view keeps the last of equal names; the JSON path handles that).
pub fn can_encode(batch: &Batch) -> bool {
    let schema = batch.schema();
    let mut names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    names.sort_unstable();
    names.windows(2).all(|pair| pair[0] != pair[1])
}

/// One column of the batch and the table column it writes.
struct BatchColumn<'a> {
    field: &'a Field,
    array: &'a ArrayRef,
    /// The table column's position (`None`: the table has no such column).
    position: Option<usize>,
    json: bool,
}

impl BatchColumn<'_> {
    /// Whether the value at `row` is null (a JSON column holding `null` included).
    fn is_null(&self, row: usize) -> bool {
        match self.array.data_type() {
            DataType::Null => true,
            _ if self.json => connector_sdk::batch::cell(self.field, self.array.as_ref(), row)
                .is_none_or(|v| v.is_null()),
            _ => self.array.is_null(row),
        }
    }
}

/// The rows of `batch` grouped by the columns they carry (indexes into `columns`, in
/// batch order), groups in order of first appearance.
fn group_rows(columns: &[BatchColumn<'_>], rows: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
    let sparse: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].json && columns[i].array.null_count() > 0)
        .collect();
    if sparse.is_empty() {
        return vec![((0..columns.len()).collect(), (0..rows).collect())];
    }
    let mut groups: Vec<(Vec<bool>, Vec<usize>)> = Vec::new();
    let mut mask = Vec::with_capacity(sparse.len());
    for row in 0..rows {
        mask.clear();
        mask.extend(sparse.iter().map(|&i| columns[i].array.is_valid(row)));
        match groups.iter_mut().find(|(carried, _)| *carried == mask) {
            Some((_, members)) => members.push(row),
            None => groups.push((mask.clone(), vec![row])),
        }
    }
    groups
        .into_iter()
        .map(|(carried, members)| {
            let present = (0..columns.len())
                .filter(|i| match sparse.iter().position(|s| s == i) {
                    Some(at) => carried[at],
                    None => true,
                })
                .collect();
            (present, members)
        })
        .collect()
}

/// Checks and encodes `batch` for a write in `mode` (insert, upsert or update) to `info`.
pub fn prepare(info: &TableInfo, mode: WriteMode, batch: &Batch) -> PreparedTableWrite {
    let index = ColumnIndex::new(info);
    let schema = batch.schema();
    let columns: Vec<BatchColumn<'_>> = schema
        .fields()
        .iter()
        .zip(batch.arrow().columns())
        .map(|(field, array)| BatchColumn {
            field,
            array,
            position: index.position(field.name()),
            json: connector_sdk::batch::is_json(field),
        })
        .collect();
    let mut outcomes = vec![RecordOutcome::Ok; batch.len()];
    let mut groups = Vec::new();
    for (present, rows) in group_rows(&columns, batch.len()) {
        let group = Group {
            info,
            index: &index,
            mode,
            batch,
            columns: present.iter().map(|&i| &columns[i]).collect(),
        };
        if let Some(prepared) = group.prepare(rows, &mut outcomes) {
            groups.push(prepared);
        }
    }
    PreparedTableWrite {
        engine: Engine::Postgres,
        mode,
        table: info.table.clone(),
        outcomes,
        groups,
        records: Vec::new(),
    }
}

/// The rows of a batch that carry the same columns.
struct Group<'a> {
    info: &'a TableInfo,
    index: &'a ColumnIndex<'a>,
    mode: WriteMode,
    batch: &'a Batch,
    columns: Vec<&'a BatchColumn<'a>>,
}

impl Group<'_> {
    /// Rejects `row` with the reason its JSON record gets.
    fn reject(&self, row: usize, outcomes: &mut [RecordOutcome]) {
        let reason = check::rejection(self.index, self.mode, &self.batch.record(row))
            .unwrap_or_else(|| "the record cannot be written to this table".into());
        outcomes[row] = rejected(ErrorKind::Data, reason);
    }

    /// Checks and encodes the group's `rows`; `None` when every row is rejected.
    fn prepare(&self, rows: Vec<usize>, outcomes: &mut [RecordOutcome]) -> Option<PreparedGroup> {
        let positions: Option<Vec<usize>> = self.columns.iter().map(|c| c.position).collect();
        let key_carried = self.mode == WriteMode::Insert
            || self
                .info
                .primary_key
                .iter()
                .all(|key| self.columns.iter().any(|c| c.field.name() == key));
        let (Some(positions), true, false) = (positions, key_carried, self.columns.is_empty())
        else {
            // An unknown field, a missing key, no field at all: every row, alike.
            rows.iter().for_each(|&row| self.reject(row, outcomes));
            return None;
        };
        // Columns that must hold a value: NOT NULL ones, and the key beyond inserts.
        let required: Vec<&BatchColumn<'_>> = self
            .columns
            .iter()
            .zip(&positions)
            .filter(|(_, position)| {
                !self.info.columns[**position].nullable
                    || (self.index.is_key(**position) && self.mode != WriteMode::Insert)
            })
            .map(|(column, _)| *column)
            .filter(|column| {
                column.array.null_count() > 0
                    || column.json
                    || column.array.data_type() == &DataType::Null
            })
            .collect();
        let mut valid = Vec::with_capacity(rows.len());
        for row in rows {
            if required.iter().any(|column| column.is_null(row)) {
                self.reject(row, outcomes);
            } else {
                valid.push(row);
            }
        }
        if valid.is_empty() {
            return None;
        }
        let table_columns: Vec<&ColumnInfo> =
            positions.iter().map(|p| &self.info.columns[*p]).collect();
        let encoded = self.encode(&table_columns, &valid);
        for (row, reason) in &encoded.refused {
            outcomes[*row] = rejected(ErrorKind::Data, reason.clone());
        }
        Some(PreparedGroup {
            columns: positions,
            rows: valid,
            encoded: Some(encoded),
        })
    }

    /// Encodes `rows` in the binary format from the columns when every table column has a
    /// binary encoding and every value is one the encoder takes, else in the text format
    /// from the JSON records.
    fn encode(&self, table_columns: &[&ColumnInfo], rows: &[usize]) -> Encoded {
        let typed: Vec<(&str, &FieldType)> = table_columns
            .iter()
            .map(|c| (c.name.as_str(), &c.field_type))
            .collect();
        let binary_types: Option<Vec<BinaryType>> = table_columns
            .iter()
            .map(|c| BinaryType::of(&c.field_type, c.pg_type?))
            .collect();
        if let Some(encoded) =
            binary_types.and_then(|types| self.encode_binary(types, &typed, rows))
        {
            return encoded;
        }
        tracing::debug!(
            table = %self.info.table.display(),
            "a column or a value only the server's text parser reads: COPY in the text format"
        );
        let records: Vec<Record> = rows.iter().map(|&row| self.batch.record(row)).collect();
        let local: Vec<usize> = (0..rows.len()).collect();
        let mut encoded = encode_text(&typed, &records, &local, self.with_ordinal(), false);
        for row in &mut encoded.rows {
            *row = rows[*row];
        }
        for (row, _) in &mut encoded.refused {
            *row = rows[*row];
        }
        encoded
    }

    fn with_ordinal(&self) -> bool {
        self.mode == WriteMode::Update
    }

    /// The binary encoding of `rows`, checking each value in the same pass; `None` when a
    /// row holds a value only the server can judge.
    fn encode_binary(
        &self,
        types: Vec<BinaryType>,
        typed: &[(&str, &FieldType)],
        rows: &[usize],
    ) -> Option<Encoded> {
        let mut encoders: Vec<ColumnEncoder<'_>> = self
            .columns
            .iter()
            .zip(types)
            .map(|(column, target)| ColumnEncoder::new(column.field, column.array.as_ref(), target))
            .collect();
        let with_ordinal = self.with_ordinal();
        let fields = i16::try_from(encoders.len() + usize::from(with_ordinal)).ok()?;
        let mut encoded = Encoded::with_capacity(true, rows.len());
        encoded.buffer.reserve(self.estimated_bytes(rows.len()));
        let mut text = Vec::new();
        for &row in rows {
            let start = encoded.buffer.len();
            encoded.buffer.extend_from_slice(&fields.to_be_bytes());
            let written = encoders
                .iter_mut()
                .try_for_each(|encoder| encoder.encode(&mut encoded.buffer, row));
            if written.is_ok() {
                if with_ordinal {
                    let ordinal = encoded.rows.len() as i64;
                    encoded.buffer.extend_from_slice(&8i32.to_be_bytes());
                    encoded.buffer.extend_from_slice(&ordinal.to_be_bytes());
                }
                encoded.push(row);
                continue;
            }
            encoded.buffer.truncate(start);
            // What the text path makes of the record: refused (with its reason), or taken,
            // its values left to the server (the whole group then goes as text).
            let record = self.batch.record(row);
            text.clear();
            match check_values(&record, typed)
                .and_then(|()| encode_copy_row_with(&mut text, &record, typed, false))
            {
                Err(reason) => encoded.refused.push((row, reason)),
                Ok(()) => return None,
            }
        }
        Some(encoded)
    }

    /// About the bytes `rows` rows take in the binary format (to size the buffer once).
    fn estimated_bytes(&self, rows: usize) -> usize {
        let total = self.batch.len().max(1);
        let per_row: usize = self
            .columns
            .iter()
            .map(|c| c.array.get_buffer_memory_size() / total + 4)
            .sum();
        (per_row + 2) * rows
    }
}
