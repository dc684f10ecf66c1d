//! The records of a page field by field ([`FieldCells`]): for each field, its value in each
//! record (`None` where the record lacks it), whether the values are parsed JSON
//! ([`Value`]) or the JSON text of each value as the response holds it ([`RawValue`], not
//! parsed until a column needs it). [`crate::columns`] builds Arrow columns from them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use connector_sdk::Record;
use serde_json::value::RawValue;
use serde_json::{Number, Value};

/// What kind of JSON a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array or an object.
    Nested,
}

/// One JSON value of a record, parsed or not.
pub(crate) trait JsonCell<'a>: Copy {
    /// Its kind.
    fn kind(self) -> JsonKind;
    /// The boolean, when it is one.
    fn boolean(self) -> Option<bool>;
    /// The number, when it is one (as serde_json reads it: integer or float).
    fn number(self) -> Option<Number>;
    /// The string, when it is one.
    fn text(self) -> Option<Cow<'a, str>>;
    /// The value as JSON text.
    fn json_text(self) -> Cow<'a, str>;
    /// The value, parsed.
    fn to_value(self) -> Value;
    /// Feeds the value to `hasher` (equal values, equal hashes).
    fn hash_into(self, hasher: &mut ContentHasher);
}

impl<'a> JsonCell<'a> for &'a Value {
    fn kind(self) -> JsonKind {
        match self {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Bool,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) | Value::Object(_) => JsonKind::Nested,
        }
    }

    fn boolean(self) -> Option<bool> {
        self.as_bool()
    }

    fn number(self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(n.clone()),
            _ => None,
        }
    }

    fn text(self) -> Option<Cow<'a, str>> {
        self.as_str().map(Cow::Borrowed)
    }

    fn json_text(self) -> Cow<'a, str> {
        Cow::Owned(self.to_string())
    }

    fn to_value(self) -> Value {
        self.clone()
    }

    fn hash_into(self, hasher: &mut ContentHasher) {
        hash_value(self, hasher);
    }
}

impl<'a> JsonCell<'a> for &'a RawValue {
    fn kind(self) -> JsonKind {
        match self.get().as_bytes().first() {
            Some(b'n') => JsonKind::Null,
            Some(b't' | b'f') => JsonKind::Bool,
            Some(b'"') => JsonKind::String,
            Some(b'[' | b'{') => JsonKind::Nested,
            _ => JsonKind::Number,
        }
    }

    fn boolean(self) -> Option<bool> {
        match self.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    fn number(self) -> Option<Number> {
        if self.kind() == JsonKind::Number {
            serde_json::from_str(self.get()).ok()
        } else {
            None
        }
    }

    fn text(self) -> Option<Cow<'a, str>> {
        let json = self.get();
        let inner = json.strip_prefix('"')?.strip_suffix('"')?;
        if inner.contains('\\') {
            serde_json::from_str::<String>(json).ok().map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(inner))
        }
    }

    fn json_text(self) -> Cow<'a, str> {
        Cow::Borrowed(self.get())
    }

    fn to_value(self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }

    fn hash_into(self, hasher: &mut ContentHasher) {
        hasher.write(self.get().as_bytes());
    }
}

/// The records of a page field by field: each field's value in each record.
#[derive(Debug)]
pub(crate) struct FieldCells<'n, C> {
    rows: usize,
    names: Vec<Cow<'n, str>>,
    cells: Vec<Vec<Option<C>>>,
    positions: HashMap<Cow<'n, str>, usize>,
    /// The field seen at each key position of the previous record: records usually list
    /// their fields in the same order, so the next record's key is checked against it
    /// before it is looked up.
    previous_order: Vec<usize>,
    current_key: usize,
}

impl<C> Default for FieldCells<'_, C> {
    fn default() -> Self {
        Self {
            rows: 0,
            names: Vec::new(),
            cells: Vec::new(),
            positions: HashMap::new(),
            previous_order: Vec::new(),
            current_key: 0,
        }
    }
}

impl<'a> FieldCells<'a, &'a Value> {
    /// The fields of `records`.
    pub(crate) fn of_records(records: &'a [Record]) -> Self {
        let mut cells = Self::default();
        for record in records {
            cells.start_record();
            for (name, value) in record {
                cells.push(Cow::Borrowed(name.as_str()), value);
            }
        }
        cells.finish();
        cells
    }
}

impl<'n, C: Copy> FieldCells<'n, C> {
    /// Starts the next record.
    pub(crate) fn start_record(&mut self) {
        self.rows += 1;
        self.current_key = 0;
    }

    /// Sets field `name` of the current record (a repeated key replaces the earlier value,
    /// as in a parsed JSON object).
    pub(crate) fn push(&mut self, name: Cow<'n, str>, cell: C) {
        let row = self.rows.saturating_sub(1);
        let guess = self.previous_order.get(self.current_key).copied();
        let column = match guess.filter(|g| self.names.get(*g).is_some_and(|n| *n == name)) {
            Some(column) => column,
            None => match self.positions.get(&name) {
                Some(column) => *column,
                None => {
                    let column = self.names.len();
                    self.names.push(name.clone());
                    self.positions.insert(name, column);
                    self.cells.push(Vec::new());
                    column
                }
            },
        };
        match self.previous_order.get_mut(self.current_key) {
            Some(slot) => *slot = column,
            None => self.previous_order.push(column),
        }
        self.current_key += 1;
        if let Some(values) = self.cells.get_mut(column) {
            if values.len() > row {
                values.truncate(row);
            }
            values.resize(row, None);
            values.push(Some(cell));
        }
    }

    /// Pads every field to the number of records (call after the last record).
    pub(crate) fn finish(&mut self) {
        for values in &mut self.cells {
            values.resize(self.rows, None);
        }
    }

    /// How many records there are.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Keeps the first `rows` records.
    pub(crate) fn truncate(&mut self, rows: usize) {
        if rows < self.rows {
            self.rows = rows;
            for values in &mut self.cells {
                values.truncate(rows);
            }
        }
    }

    /// The values of field `name`, one per record (`None` when no record has it).
    pub(crate) fn field(&self, name: &str) -> Option<&[Option<C>]> {
        let column = *self.positions.get(name)?;
        self.cells.get(column).map(Vec::as_slice)
    }

    /// Every field with its values, in the order first seen.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&str, &[Option<C>])> {
        self.names
            .iter()
            .map(|n| n.as_ref())
            .zip(self.cells.iter().map(Vec::as_slice))
    }
}

impl<'a, C: JsonCell<'a>> FieldCells<'_, C> {
    /// A hash of the records' content (`None` without records): equal pages, equal hashes.
    pub(crate) fn content_hash(&self) -> Option<u64> {
        if self.rows == 0 {
            return None;
        }
        let mut hasher = ContentHasher::default();
        hasher.write_usize(self.rows);
        let mut fields: Vec<(&str, &[Option<C>])> = self.fields().collect();
        fields.sort_unstable_by_key(|(name, _)| *name);
        for (name, values) in fields {
            name.hash(&mut hasher);
            for value in values {
                match value {
                    None => hasher.write_u8(0),
                    Some(value) => {
                        hasher.write_u8(1);
                        value.hash_into(&mut hasher);
                    }
                }
            }
        }
        Some(hasher.finish())
    }
}

/// A fast, non-cryptographic 64-bit hasher (the Fx hash: a rotate, xor and multiply per
/// word) for fingerprinting page contents. Nothing here is chosen by an adversary to
/// collide, and a collision would only stop a read with a clear error.
#[derive(Debug, Default)]
pub(crate) struct ContentHasher {
    hash: u64,
}

impl ContentHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for ContentHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59) ^ (bytes.len() as u64));
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

fn hash_value(value: &Value, hasher: &mut ContentHasher) {
    match value {
        Value::Null => 0u8.hash(hasher),
        Value::Bool(b) => (1u8, b).hash(hasher),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => (2u8, 0u8, i).hash(hasher),
            (None, Some(u), _) => (2u8, 1u8, u).hash(hasher),
            (None, None, f) => (2u8, 2u8, f.map(f64::to_bits)).hash(hasher),
        },
        Value::String(s) => (3u8, s).hash(hasher),
        Value::Array(items) => {
            (4u8, items.len()).hash(hasher);
            for item in items {
                hash_value(item, hasher);
            }
        }
        Value::Object(map) => {
            (5u8, map.len()).hash(hasher);
            for (key, value) in map {
                key.hash(hasher);
                hash_value(value, hasher);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn records(value: Value) -> Vec<Record> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn records_are_split_into_fields_with_absent_values() {
        let input = records(json!([{"a": 1, "b": "x"}, {"b": "y"}, {"c": null, "a": 3}]));
        let cells = FieldCells::of_records(&input);
        assert_eq!(cells.rows(), 3);
        let a: Vec<Option<Value>> = cells
            .field("a")
            .unwrap()
            .iter()
            .map(|c| c.cloned())
            .collect();
        assert_eq!(a, vec![Some(json!(1)), None, Some(json!(3))]);
        assert_eq!(cells.field("c").unwrap(), &[None, None, Some(&Value::Null)]);
        assert!(cells.field("d").is_none());
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let mut cells: FieldCells<'_, i32> = FieldCells::default();
        cells.start_record();
        cells.push("a".into(), 1);
        cells.push("a".into(), 2);
        cells.start_record();
        cells.push("b".into(), 3);
        cells.finish();
        assert_eq!(cells.field("a").unwrap(), &[Some(2), None]);
        assert_eq!(cells.field("b").unwrap(), &[None, Some(3)]);
    }

    #[test]
    fn raw_cells_read_as_their_parsed_values() {
        let raw: Vec<Box<RawValue>> = [
            "null",
            "true",
            "-12",
            "1.5e3",
            "18446744073709551615",
            r#""a\"b""#,
            r#""plain""#,
            r#"{"x": [1, 2]}"#,
        ]
        .iter()
        .map(|t| RawValue::from_string((*t).to_owned()).unwrap())
        .collect();
        for cell in &raw {
            let cell: &RawValue = cell;
            let parsed: Value = serde_json::from_str(cell.get()).unwrap();
            assert_eq!(cell.to_value(), parsed);
            assert_eq!(cell.kind(), (&parsed).kind(), "{cell}");
            assert_eq!(cell.boolean(), parsed.as_bool());
            assert_eq!(cell.number(), (&parsed).number());
            assert_eq!(cell.text().as_deref(), parsed.as_str());
        }
    }

    #[test]
    fn the_content_hash_tells_pages_apart_by_every_value() {
        let hash = |value: Value| FieldCells::of_records(&records(value)).content_hash();
        let page = json!([{"id": 1, "name": "a", "tags": [1.5, null, true], "at": {"x": "y"}}]);
        assert_eq!(hash(page.clone()), hash(page.clone()));
        let others = [
            json!([{"id": 1.0, "name": "a", "tags": [1.5, null, true], "at": {"x": "y"}}]),
            json!([{"id": "1", "name": "a", "tags": [1.5, null, true], "at": {"x": "y"}}]),
            json!([{"id": 1, "name": "b", "tags": [1.5, null, true], "at": {"x": "y"}}]),
            json!([{"id": 1, "name": "a", "tags": [1.5, null, false], "at": {"x": "y"}}]),
            json!([{"id": 1, "name": "a", "tags": [1.5, true, null], "at": {"x": "y"}}]),
            json!([{"id": 1, "name": "a", "tags": [1.5, null, true], "at": {"x": "z"}}]),
            json!([{"id": 1, "nam": "a", "tags": [1.5, null, true], "at": {"x": "y"}}]),
            json!([{"id": 18446744073709551615u64, "name": "a", "tags": [1.5, null, true], "at": {"x": "y"}}]),
            json!([{"id": 1, "name": "a", "tags": [1.5, null, true], "at": {"x": "y"}}, {}]),
        ];
        for other in others {
            assert_ne!(hash(page.clone()), hash(other.clone()), "{other}");
        }
        assert_eq!(hash(json!([])), None);
    }
}
