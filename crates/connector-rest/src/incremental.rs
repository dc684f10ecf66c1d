//! Incremental reads by a cursor field.
//!
//! The state is the largest cursor value seen ([`Checkpoint::cursor`]). On the next run it
//! is sent as the configured parameter (or `{incremental}` in a body template), and records
//! whose cursor is not greater than it are dropped client-side too: APIs filter with `>=`
//! (or not at all), and a record must not be delivered twice. Every batch carries the
//! largest value seen so far in the read.

use std::cmp::Ordering;

use connector_sdk::Checkpoint;
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

    /// Whether a record with this cursor value was delivered by an earlier read: its
    /// cursor is at or below the checkpoint (a record without a comparable cursor is new).
    pub(crate) fn delivered(&self, cursor: Option<&Value>) -> bool {
        match (self.resuming, &self.since, cursor) {
            (true, Some(since), Some(value)) => matches!(
                compare(value, since),
                Some(Ordering::Less | Ordering::Equal)
            ),
            _ => false,
        }
    }

    /// The largest of `high` and the `cursors` of some records.
    pub(crate) fn high_after<'v>(
        &self,
        high: Option<Value>,
        cursors: impl IntoIterator<Item = Option<&'v Value>>,
    ) -> Option<Value> {
        let mut high = high;
        for value in cursors.into_iter().flatten() {
            if !value.is_null()
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

    #[test]
    fn keeps_only_newer_records_and_tracks_the_maximum() {
        let state = Incremental {
            field: "t".into(),
            since: Some(json!("2024-01-02")),
            resuming: true,
        };
        let page = [
            Some(json!("2024-01-01")),
            Some(json!("2024-01-02")),
            Some(json!("2024-01-05")),
            None,
            Some(json!("2024-01-03")),
        ];
        let new: Vec<Option<&Value>> = page
            .iter()
            .map(Option::as_ref)
            .filter(|cursor| !state.delivered(*cursor))
            .collect();
        assert_eq!(new.len(), 3, "{new:?}");
        assert_eq!(
            state.high_after(state.initial_high(), new),
            Some(json!("2024-01-05"))
        );
        assert_eq!(
            state.high_after(state.initial_high(), []),
            Some(json!("2024-01-02")),
            "an empty page keeps the checkpoint"
        );
        assert_eq!(compare(&json!(10), &json!(9)), Some(Ordering::Greater));
        assert_eq!(compare(&json!(1.5), &json!(2)), Some(Ordering::Less));
        assert_eq!(compare(&json!(1), &json!("1")), None);
    }
}
