//! Applying a [`CompiledMapping`] to a whole [`Batch`], column by column.
//!
//! Each top-level rule that copies (or renames) a top-level source field or writes a
//! constant — with a default, the transform steps, a cast, `required` — is computed from
//! the source column in one pass; a column copied unchanged is the very same
//! Arrow array. The other rules (CEL `expr` and `when`, nested targets or sources,
//! `coalesce`, `concat`, nested `rules`) are evaluated on the batch's JSON view, converted
//! once and only when such a rule exists (of only the columns they name, unless one of them
//! runs an expression). A row any rule fails on is mapped again by
//! [`CompiledMapping::apply`], which gives its errors: the output, the source rows and the
//! rejects are exactly those of `apply` on each record of the JSON view followed by
//! [`Batch::from_records`], as JSON views (the columns may be typed more precisely: an `int`
//! cast writes `Int64`, a `timestamp` cast `Timestamp(µs, "+00:00")`, a `date` cast
//! `Date32`, a copied column keeps its type).

mod cell;
mod column;
mod kernel;
mod scalar;

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use arrow_schema::{ArrowError, Field, Schema};
use connector_sdk::Batch;
use connector_sdk::batch::is_json;

use crate::apply::Record;
use crate::compile::{CompiledMapping, CompiledRule, Producer};
use crate::error::RecordError;
use crate::path::{FieldPath, Segment};

use self::column::{ColumnBuilder, Slot};
use self::kernel::Input;

/// The result of mapping a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedBatch {
    /// The mapped records, in source order, without the refused ones.
    pub batch: Batch,
    /// For each mapped record, the row of the source batch it was made from.
    pub source_rows: Vec<usize>,
    /// The source rows the mapping refused, in order, with every rule error of each.
    pub rejects: Vec<(usize, Vec<RecordError>)>,
}

/// Why the columnar path gave no result (a bug: [`CompiledMapping::apply_batch`] then maps
/// the batch record by record).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnarError {
    /// A kernel flagged a row as failing that [`CompiledMapping::apply`] maps.
    #[error("the columnar mapping refused row {row}, which the row mapping accepts")]
    RowAccepted {
        /// The source row.
        row: usize,
    },
    /// Arrow refused the output columns.
    #[error("the mapped columns do not make a batch: {0}")]
    Arrow(String),
}

impl CompiledMapping {
    /// Maps every record of `batch`: the same records and errors as [`CompiledMapping::apply`]
    /// on each record of the batch's JSON view (see the [module documentation](self)).
    pub fn apply_batch(&self, batch: &Batch) -> MappedBatch {
        self.apply_batch_columnar(batch)
            .unwrap_or_else(|_| self.apply_batch_by_rows(batch))
    }

    /// [`CompiledMapping::apply_batch`] without its safety net: an error where
    /// `apply_batch` maps the whole batch record by record instead (a kernel flagged a row
    /// that [`CompiledMapping::apply`] maps, or the columns do not make a batch). For tests
    /// that compare the two paths.
    pub fn apply_batch_columnar(&self, batch: &Batch) -> Result<MappedBatch, ColumnarError> {
        let Some(keys) = &self.rules.keys else {
            // Two rules write under one key: they merge into one field, record by record.
            return Ok(self.apply_batch_by_rows(batch));
        };
        if has_duplicate_names(batch) {
            // The JSON view keeps the last of the same-named columns: rows decide which.
            return Ok(self.apply_batch_by_rows(batch));
        }
        let rows = batch.len();
        let mut failed = vec![false; rows];
        let mut columns: Vec<(Field, ArrayRef)> = Vec::with_capacity(keys.len());
        let mut by_rows: Vec<(usize, &str)> = Vec::new();
        for (index, (rule, key)) in self.rules.rules.iter().zip(keys).enumerate() {
            match columnar_input(rule, batch) {
                Some(input) => {
                    columns.extend(kernel::evaluate(rule, key, input, rows, &mut failed))
                }
                None => by_rows.push((index, key)),
            }
        }
        if !by_rows.is_empty() {
            let records = self.records_for(&by_rows, batch);
            columns.extend(self.columns_by_rows(&by_rows, &records, &mut failed));
        }
        let mut rejects = Vec::new();
        for (row, _) in failed.iter().enumerate().filter(|(_, failed)| **failed) {
            match self.apply(&batch.record(row)) {
                Err(errors) => rejects.push((row, errors)),
                Ok(_) => return Err(ColumnarError::RowAccepted { row }),
            }
        }
        let source_rows: Vec<usize> = (0..rows).filter(|row| !failed[*row]).collect();
        Ok(MappedBatch {
            batch: assemble(columns, rows, (!rejects.is_empty()).then_some(&failed))
                .map_err(|error| ColumnarError::Arrow(error.to_string()))?,
            source_rows,
            rejects,
        })
    }

    /// The JSON view the rules at `by_rows` read: of the columns they name, or of the whole
    /// batch when one of them runs an expression (or nested rules read the record).
    fn records_for(&self, by_rows: &[(usize, &str)], batch: &Batch) -> Vec<Record> {
        let mut keys = BTreeSet::new();
        let whole = by_rows.iter().any(|(index, _)| {
            self.rules
                .rules
                .get(*index)
                .is_none_or(|rule| !read_keys(rule, &mut keys))
        });
        if whole {
            return batch.to_records();
        }
        let schema = batch.schema();
        let columns: Vec<usize> = (0..schema.fields().len())
            .filter(|index| keys.contains(schema.field(*index).name().as_str()))
            .collect();
        match batch.arrow().project(&columns) {
            Ok(projected) => Batch::new(projected).to_records(),
            Err(_) => batch.to_records(),
        }
    }

    /// The rules at `by_rows` (index, key) evaluated on each record.
    fn columns_by_rows(
        &self,
        by_rows: &[(usize, &str)],
        records: &[Record],
        failed: &mut [bool],
    ) -> Vec<(Field, ArrayRef)> {
        let selected: Vec<usize> = by_rows.iter().map(|(index, _)| *index).collect();
        let mut builders: Vec<ColumnBuilder> = by_rows
            .iter()
            .map(|_| ColumnBuilder::new(records.len()))
            .collect();
        let mut fields = Vec::with_capacity(selected.len());
        for (record, failed) in records.iter().zip(failed.iter_mut()) {
            fields.clear();
            let mapped = self.apply_selected(&selected, record, &mut fields);
            *failed |= !mapped;
            for (builder, field) in builders.iter_mut().zip(&fields) {
                builder.push(match field {
                    // Refused rows are dropped: a null keeps the column typed meanwhile.
                    _ if !mapped => Slot::Null,
                    Some(value) => Slot::Value(value),
                    None => Slot::Absent,
                });
            }
        }
        builders
            .into_iter()
            .zip(by_rows)
            .map(|(builder, (_, key))| builder.finish(key))
            .collect()
    }

    /// The row path: the JSON view of each record through [`CompiledMapping::apply`], then
    /// [`Batch::from_records`].
    fn apply_batch_by_rows(&self, batch: &Batch) -> MappedBatch {
        let source = batch.to_records();
        let mut mapped: Vec<Record> = Vec::with_capacity(source.len());
        let mut source_rows = Vec::with_capacity(source.len());
        let mut rejects = Vec::new();
        for (row, record) in source.iter().enumerate() {
            match self.apply(record) {
                Ok(output) => {
                    mapped.push(output);
                    source_rows.push(row);
                }
                Err(errors) => rejects.push((row, errors)),
            }
        }
        MappedBatch {
            batch: Batch::from_records(&mapped),
            source_rows,
            rejects,
        }
    }
}

/// Where a rule computed column by column takes its value; `None` for a rule that needs
/// the record (a condition, a nested target, a path into a field, an expression …).
fn columnar_input<'a>(rule: &'a CompiledRule, batch: &'a Batch) -> Option<Input<'a>> {
    if rule.condition.is_some() || rule.target.segments().len() != 1 {
        return None;
    }
    match &rule.producer {
        Producer::Constant(value) => Some(Input::Constant(value)),
        Producer::Source(path) => match path.segments() {
            [Segment::Key(key)] => Some(Input::Column(batch.column(key))),
            _ => None,
        },
        _ => None,
    }
}

/// Adds the top-level fields `rule` reads to `keys`; `false` when it may read any field (an
/// expression, or nested rules applied to the record itself).
fn read_keys<'a>(rule: &'a CompiledRule, keys: &mut BTreeSet<&'a str>) -> bool {
    let mut add = |path: &'a FieldPath| {
        if let Some(Segment::Key(key)) = path.segments().first() {
            keys.insert(key.as_str());
        }
    };
    if rule.condition.is_some() {
        return false;
    }
    match &rule.producer {
        Producer::Source(path) => add(path),
        Producer::Coalesce(paths) | Producer::Concat { sources: paths, .. } => {
            paths.iter().for_each(add);
        }
        Producer::Constant(_) | Producer::Nothing => {}
        Producer::Expr(_) => return false,
        Producer::Nested {
            source: Some(path), ..
        } => add(path),
        Producer::Nested {
            source: None,
            rules,
        } => return rules.rules.iter().all(|rule| read_keys(rule, keys)),
    }
    true
}

fn has_duplicate_names(batch: &Batch) -> bool {
    let schema = batch.schema();
    let mut names = BTreeSet::new();
    !schema
        .fields()
        .iter()
        .all(|field| names.insert(field.name()))
}

/// The output batch: the columns sorted by name (as [`Batch::from_records`] orders them),
/// without the `failed` rows, and without JSON columns no remaining record has.
fn assemble(
    mut columns: Vec<(Field, ArrayRef)>,
    rows: usize,
    failed: Option<&Vec<bool>>,
) -> Result<Batch, ArrowError> {
    columns.sort_by(|(a, _), (b, _)| a.name().cmp(b.name()));
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let mut mapped =
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)?;
    if let Some(failed) = failed {
        let keep: BooleanArray = failed.iter().map(|failed| Some(!failed)).collect();
        mapped = arrow_select::filter::filter_record_batch(&mapped, &keep)?;
    }
    let schema = mapped.schema();
    let present: Vec<usize> = (0..mapped.num_columns())
        .filter(|index| {
            let column = mapped.column(*index);
            !(is_json(schema.field(*index)) && column.null_count() == column.len())
        })
        .collect();
    if present.len() < mapped.num_columns() {
        mapped = mapped.project(&present)?;
    }
    Ok(Batch::new(mapped))
}
