//! [`Batcher`]: the checkpoint each batch of a read carries.
//!
//! The readers cut the rows into batches; the batcher labels each with the checkpoint
//! reached after it (see the [read module](super) for the resume rules), reading only the
//! cursor and key cells it needs from the batch's columns:
//!
//! - with a key (exact keyset), the cursor and key of the batch's last row with a cursor;
//! - without a key, the last cursor value, unless the first row of the *next* batch
//!   shares it (a tie group continues): then the last value whose rows have all been
//!   seen. A batch therefore waits for the next one (or the end of the read) before it
//!   goes out.

use connector_sdk::{Batch, Checkpoint, ReadBatch};
use serde_json::{Map, Value};

use super::CursorPlan;

/// Labels the batches of one read with their checkpoints.
#[derive(Debug)]
pub struct Batcher {
    stream: String,
    cursor: Option<CursorPlan>,
    /// The checkpoint of the last emitted batch (carried forward when a batch cannot
    /// advance it).
    checkpoint: Option<Checkpoint>,
    /// The last non-null cursor value seen (no-key mode).
    previous: Option<Value>,
    /// The largest cursor value whose rows have all been seen (no-key mode).
    completed: Option<Value>,
    /// No-key mode: the batch waiting for the first cursor value of the next one.
    waiting: Option<Batch>,
}

/// The JSON view of the cell of column `name` at `row` (`None`: no such column or field).
fn cell(batch: &Batch, name: &str, row: usize) -> Option<Value> {
    let (field, array) = batch.column(name)?;
    connector_sdk::batch::cell(field, array.as_ref(), row)
}

impl Batcher {
    /// A batcher of the read of `stream`, with `cursor` when incremental, resuming after
    /// `checkpoint`.
    pub fn new(
        stream: impl Into<String>,
        cursor: Option<CursorPlan>,
        checkpoint: Option<Checkpoint>,
    ) -> Self {
        Self {
            stream: stream.into(),
            cursor,
            checkpoint,
            previous: None,
            completed: None,
            waiting: None,
        }
    }

    /// The stream read.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Takes the next batch of the read; returns the batch (this one, or the one before
    /// it) that can go out now with its checkpoint.
    pub fn push(&mut self, batch: Batch) -> Option<ReadBatch> {
        if batch.is_empty() {
            return None;
        }
        let Some(cursor) = self.cursor.clone() else {
            return Some(ReadBatch::new(
                self.stream.clone(),
                batch,
                self.checkpoint.clone(),
            ));
        };
        if cursor.exact {
            return Some(self.exact(&cursor, batch));
        }
        let next = cell(&batch, &cursor.field, 0);
        self.waiting
            .replace(batch)
            .map(|waiting| self.tie_aware(&cursor, waiting, next.as_ref()))
    }

    /// The last batch (none when the read returned no row).
    pub fn finish(mut self) -> Option<ReadBatch> {
        let waiting = self.waiting.take()?;
        let cursor = self.cursor.clone()?;
        Some(self.tie_aware(&cursor, waiting, None))
    }

    /// The last row of `batch` with a (non-null) cursor, and that cursor value.
    fn last_cursor(field: &str, batch: &Batch) -> Option<(usize, Value)> {
        (0..batch.len()).rev().find_map(|row| {
            cell(batch, field, row)
                .filter(|v| !v.is_null())
                .map(|v| (row, v))
        })
    }

    /// With a key: the cursor and key of the last row with a cursor.
    fn exact(&mut self, cursor: &CursorPlan, batch: Batch) -> ReadBatch {
        if let Some((row, value)) = Self::last_cursor(&cursor.field, &batch) {
            let key: Map<String, Value> = cursor
                .key
                .iter()
                .map(|k| (k.clone(), cell(&batch, k, row).unwrap_or(Value::Null)))
                .collect();
            let mut checkpoint = Checkpoint::cursor(&cursor.field, value);
            if !key.is_empty()
                && let Some(object) = checkpoint.0.as_object_mut()
            {
                object.insert("key".into(), Value::Object(key));
            }
            self.checkpoint = Some(checkpoint);
        }
        ReadBatch::new(self.stream.clone(), batch, self.checkpoint.clone())
    }

    /// Without a key: the last cursor value, unless `next` (the cursor of the row after
    /// the batch) continues its tie group — then the last completed value.
    fn tie_aware(&mut self, cursor: &CursorPlan, batch: Batch, next: Option<&Value>) -> ReadBatch {
        if let Some((row, last)) = Self::last_cursor(&cursor.field, &batch) {
            // The value before the last change of cursor value, in this batch or before.
            let before = (0..row)
                .rev()
                .filter_map(|r| cell(&batch, &cursor.field, r).filter(|v| !v.is_null()))
                .find(|v| *v != last);
            match before {
                Some(value) => self.completed = Some(value),
                None => {
                    if let Some(previous) = self.previous.take().filter(|p| *p != last) {
                        self.completed = Some(previous);
                    }
                }
            }
            self.previous = Some(last.clone());
            let checkpoint = if next == Some(&last) {
                self.completed
                    .clone()
                    .map(|c| Checkpoint::cursor(&cursor.field, c))
            } else {
                Some(Checkpoint::cursor(&cursor.field, last))
            };
            if checkpoint.is_some() {
                self.checkpoint = checkpoint;
            }
        }
        ReadBatch::new(self.stream.clone(), batch, self.checkpoint.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use connector_sdk::Record;
    use serde_json::json;

    use super::*;

    /// Feeds `rows` in batches of `size` (as a reader cuts them) and collects what goes out.
    fn run(batcher: &mut Option<Batcher>, rows: Vec<Value>, size: usize) -> Vec<ReadBatch> {
        let records: Vec<Record> = rows
            .into_iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect();
        let mut out = Vec::new();
        let mut active = batcher.take().unwrap();
        for chunk in records.chunks(size) {
            out.extend(active.push(Batch::from_records(chunk)));
        }
        out.extend(active.finish());
        out
    }

    fn cursor(key: &[&str], exact: bool) -> Option<CursorPlan> {
        Some(CursorPlan {
            field: "c".into(),
            key: key.iter().map(|k| (*k).to_owned()).collect(),
            exact,
        })
    }

    #[test]
    fn without_a_key_checkpoints_never_split_a_tie() {
        let mut batcher = Some(Batcher::new("s", cursor(&[], false), None));
        let rows = [1, 2, 2, 2, 3].iter().map(|c| json!({"c": c})).collect();
        let batches = run(&mut batcher, rows, 2);
        let checkpoints: Vec<Value> = batches
            .iter()
            .map(|b| {
                b.checkpoint
                    .as_ref()
                    .unwrap()
                    .cursor_value()
                    .cloned()
                    .unwrap()
            })
            .collect();
        // [1,2] is followed by another 2: checkpoint 1. [2,2] followed by 3: checkpoint 2.
        assert_eq!(checkpoints, vec![json!(1), json!(2), json!(3)]);
        assert_eq!(
            batches.iter().map(|b| b.batch.len()).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
    }

    #[test]
    fn a_tie_spanning_batches_checkpoints_the_value_before_it() {
        let mut batcher = Some(Batcher::new("s", cursor(&[], false), None));
        let rows = [1, 2, 2, 2, 2, 2, 3]
            .iter()
            .map(|c| json!({"c": c}))
            .collect();
        let checkpoints: Vec<Value> = run(&mut batcher, rows, 2)
            .iter()
            .map(|b| {
                b.checkpoint
                    .as_ref()
                    .unwrap()
                    .cursor_value()
                    .cloned()
                    .unwrap()
            })
            .collect();
        // [1,2] [2,2] [2,2] [3]: the tie of 2 continues past three batches.
        assert_eq!(checkpoints, vec![json!(1), json!(1), json!(2), json!(3)]);
        // Nulls neither start nor end a tie.
        let mut batcher = Some(Batcher::new("s", cursor(&[], false), None));
        let rows = vec![
            json!({"c": 1}),
            json!({"c": null}),
            json!({"c": 2}),
            json!({"c": 2}),
        ];
        let checkpoints: Vec<Value> = run(&mut batcher, rows, 3)
            .iter()
            .map(|b| {
                b.checkpoint
                    .as_ref()
                    .unwrap()
                    .cursor_value()
                    .cloned()
                    .unwrap()
            })
            .collect();
        assert_eq!(checkpoints, vec![json!(1), json!(2)]);
    }

    #[test]
    fn with_a_key_checkpoints_carry_the_last_key() {
        let mut batcher = Some(Batcher::new("s", cursor(&["id"], true), None));
        let rows = vec![
            json!({"c": 1, "id": 1}),
            json!({"c": 2, "id": 2}),
            json!({"c": 2, "id": 3}),
        ];
        let batches = run(&mut batcher, rows, 2);
        assert_eq!(
            batches[0].checkpoint.as_ref().unwrap().0,
            json!({"cursor_field": "c", "cursor": 2, "key": {"id": 2}})
        );
        assert_eq!(batches[1].batch.len(), 1);
        assert_eq!(
            batches[1].checkpoint.as_ref().unwrap().0,
            json!({"cursor_field": "c", "cursor": 2, "key": {"id": 3}})
        );
    }

    #[test]
    fn null_cursors_do_not_move_the_checkpoint() {
        let start = Checkpoint::cursor("c", json!(5));
        for exact in [true, false] {
            let mut batcher = Some(Batcher::new("s", cursor(&[], exact), Some(start.clone())));
            let batches = run(&mut batcher, vec![json!({"c": null})], 1);
            assert_eq!(batches.len(), 1);
            assert_eq!(batches[0].checkpoint, Some(start.clone()));
        }
    }

    #[test]
    fn without_a_cursor_batches_go_out_as_they_come() {
        let mut batcher = Batcher::new("s", None, None);
        let batch = Batch::from_records(&[json!({"a": 1}).as_object().unwrap().clone()]);
        let out = batcher.push(batch.clone()).unwrap();
        assert_eq!(out.batch, batch);
        assert_eq!(out.checkpoint, None);
        assert!(batcher.push(Batch::empty()).is_none());
        assert!(batcher.finish().is_none());
    }
}
