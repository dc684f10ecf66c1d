//! Incremental reads by a cursor field.
//!
//! The state is the largest cursor value seen ([`Checkpoint::cursor`]). On the next run it
//! is sent as the configured parameter (or `{incremental}` in a body template), and records
//! whose cursor is not greater than it are dropped client-side too: APIs filter with `>=`
//! (or not at all), and a record must not be delivered twice. Every batch carries the
//! largest value seen so far in the read.

use std::cmp::Ordering;

use connector_sdk::{Checkpoint, Record};
use serde_json::Value;

/// Orders cursor values: numbers numerically, strings lexically (ISO 8601 timestamps in
/// one offset sort correctly as text); other pairs are not comparable.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                Some(x.cmp(&y))
            } else {
                x.as_f64()?.partial_cmp(&y.as_f64()?)
            }
        }
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// The incremental state of one read.
#[derive(Debug, Clone)]
pub(crate) struct Incremental {
    /// The cursor field.
    pub(crate) field: String,
    /// The value the read starts after (from the checkpoint, else the configured start).
    pub(crate) since: Option<Value>,
    /// Whether `since` came from a checkpoint (then records at or below it are dropped).
    pub(crate) resuming: bool,
}

impl Incremental {
    /// The high-water mark a read starts from: the checkpoint's value when resuming.
    pub(crate) fn initial_high(&self) -> Option<Value> {
        self.since.clone().filter(|_| self.resuming)
    }

    /// Drops the records already delivered: cursor at or below the checkpoint (records
    /// without a comparable cursor are kept).
    pub(crate) fn drop_delivered(&self, records: &mut Vec<Record>) {
        if let (true, Some(since)) = (self.resuming, &self.since) {
            records.retain(|record| {
                !record.get(&self.field).is_some_and(|value| {
                    matches!(
                        compare(value, since),
                        Some(Ordering::Less | Ordering::Equal)
                    )
                })
            });
        }
    }

    /// The largest of `high` and the cursors of `records`.
    pub(crate) fn high_after(&self, high: Option<Value>, records: &[Record]) -> Option<Value> {
        let mut high = high;
        for record in records {
            if let Some(value) = record.get(&self.field)
                && !value.is_null()
                && high
                    .as_ref()
                    .is_none_or(|h| compare(value, h) == Some(Ordering::Greater))
            {
                high = Some(value.clone());
            }
        }
        high
    }

    /// The checkpoint for a high-water mark.
    pub(crate) fn checkpoint(&self, high: &Option<Value>) -> Option<Checkpoint> {
        high.as_ref()
            .map(|h| Checkpoint::cursor(self.field.clone(), h.clone()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn records(values: &[Value]) -> Vec<Record> {
        values
            .iter()
            .map(|v| json!({"t": v}).as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn keeps_only_newer_records_and_tracks_the_maximum() {
        let state = Incremental {
            field: "t".into(),
            since: Some(json!("2024-01-02")),
            resuming: true,
        };
        let mut page = records(&[
            json!("2024-01-01"),
            json!("2024-01-02"),
            json!("2024-01-05"),
            json!("2024-01-03"),
        ]);
        state.drop_delivered(&mut page);
        assert_eq!(page.len(), 2);
        assert_eq!(
            state.high_after(state.initial_high(), &page),
            Some(json!("2024-01-05"))
        );
        assert_eq!(
            state.high_after(state.initial_high(), &[]),
            Some(json!("2024-01-02")),
            "an empty page keeps the checkpoint"
        );
        assert_eq!(compare(&json!(10), &json!(9)), Some(Ordering::Greater));
        assert_eq!(compare(&json!(1.5), &json!(2)), Some(Ordering::Less));
        assert_eq!(compare(&json!(1), &json!("1")), None);
    }
}
