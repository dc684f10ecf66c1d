//! Reading a JSON page in one pass without building its tree.
//!
//! When every place a read looks in a body is a JSON Pointer of object keys (the records,
//! the next cursor or URL, `has_more`, `total` — `$.data` is such a pointer), the body is
//! walked once: the records are split into their fields, each value kept as the JSON text
//! the response holds ([`RawValue`], borrowed, not parsed until a column needs it), the
//! values pagination needs are parsed into a small document holding only them, and the rest
//! is skipped. No record becomes a JSON object, so no key or string is allocated for it.
//! A body whose shape the walk cannot follow (an array where a key was expected) is read
//! through the tree instead ([`RawError::Unsupported`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::cells::FieldCells;
use crate::selector::Selector;

/// Where a one-pass read looks in a body: a tree of object keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawPlan {
    root: Node,
}

#[derive(Debug, Clone, Default)]
struct Node {
    /// The records are here.
    records: bool,
    /// A value pagination reads is here: keep it (and everything below it) in the document.
    captured: bool,
    children: HashMap<String, Node>,
}

impl RawPlan {
    /// The plan for records at `records` with pagination reading `others`, when every one
    /// is a JSON Pointer and none is inside the records or holds them.
    pub(crate) fn new(records: &Selector, others: &[&Selector]) -> Option<Self> {
        let records = pointer_tokens(records)?;
        let mut root = Node::default();
        root.at(&records).records = true;
        for other in others {
            let tokens = pointer_tokens(other)?;
            let overlaps =
                tokens.starts_with(&records) || records.starts_with(&tokens) || tokens.is_empty();
            if overlaps {
                return None;
            }
            root.at(&tokens).captured = true;
        }
        Some(Self { root })
    }
}

impl Node {
    fn at(&mut self, tokens: &[String]) -> &mut Node {
        tokens.iter().fold(self, |node, token| {
            node.children.entry(token.clone()).or_default()
        })
    }
}

/// The reference tokens of a JSON Pointer selector (`/a~1b/c` -> `["a/b", "c"]`).
fn pointer_tokens(selector: &Selector) -> Option<Vec<String>> {
    match selector {
        Selector::Pointer(pointer) if pointer.is_empty() => Some(Vec::new()),
        Selector::Pointer(pointer) => Some(
            pointer
                .strip_prefix('/')?
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect(),
        ),
        Selector::Path(_) => None,
    }
}

/// A page read in one pass.
#[derive(Debug)]
pub(crate) struct RawPage<'a> {
    /// The records, field by field, as JSON text.
    pub(crate) cells: FieldCells<'a, &'a RawValue>,
    /// How many items the records location held (what the paginator counts).
    pub(crate) count: usize,
    /// The values pagination reads, at their places; nothing else.
    pub(crate) document: Value,
}

/// Why a body was not read in one pass.
#[derive(Debug)]
pub(crate) enum RawError {
    /// The body is not JSON.
    Json(serde_json::Error),
    /// An item at the records location is not an object.
    NotAnObject {
        /// Its position.
        index: usize,
        /// What it is (`a number`).
        kind: &'static str,
    },
    /// A shape the walk does not follow; read the page through the tree.
    Unsupported,
}

/// Reads `body` in one pass along `plan`.
pub(crate) fn parse<'a>(plan: &RawPlan, body: &'a [u8]) -> Result<RawPage<'a>, RawError> {
    let mut state = State {
        page: RawPage {
            cells: FieldCells::default(),
            count: 0,
            document: Value::Null,
        },
        error: None,
        path: Vec::new(),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let walked = if plan.root.records {
        RecordsSeed { state: &mut state }.deserialize(&mut deserializer)
    } else {
        NodeSeed {
            node: &plan.root,
            state: &mut state,
        }
        .deserialize(&mut deserializer)
    };
    if let Some(error) = state.error {
        return Err(error);
    }
    walked
        .and_then(|()| deserializer.end())
        .map_err(RawError::Json)?;
    let mut page = state.page;
    page.cells.finish();
    Ok(page)
}

struct State<'de> {
    page: RawPage<'de>,
    /// The first problem found (the walk then stops with a placeholder error).
    error: Option<RawError>,
    /// The keys from the root to where the walk is.
    path: Vec<String>,
}

impl State<'_> {
    fn stop<E: de::Error>(&mut self, error: RawError) -> E {
        self.error.get_or_insert(error);
        E::custom("the walk stopped")
    }

    /// Puts `value` at the current path of the document.
    fn capture(&mut self, value: Value) {
        let mut here = &mut self.page.document;
        for key in &self.path {
            if !here.is_object() {
                *here = Value::Object(serde_json::Map::new());
            }
            let Value::Object(object) = here else { return };
            here = object.entry(key.clone()).or_insert(Value::Null);
        }
        *here = value;
    }
}

/// Walks an object along the plan.
struct NodeSeed<'p, 's, 'de> {
    node: &'p Node,
    state: &'s mut State<'de>,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match self.node.children.get(key.as_ref()) {
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some(child) => {
                    self.state.path.push(key.into_owned());
                    if child.records {
                        map.next_value_seed(RecordsSeed {
                            state: &mut *self.state,
                        })?;
                    } else if child.captured {
                        let value: Value = map.next_value()?;
                        self.state.capture(value);
                    } else {
                        map.next_value_seed(NodeSeed {
                            node: child,
                            state: &mut *self.state,
                        })?;
                    }
                    self.state.path.pop();
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<(), A::Error> {
        // A pointer token may index an array: the tree reads it.
        Err(self.state.stop(RawError::Unsupported))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The records location: an array of records, one record, or null.
struct RecordsSeed<'s, 'de> {
    state: &'s mut State<'de>,
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> RecordsSeed<'_, 'de> {
    fn not_an_object<E: de::Error>(self, kind: &'static str) -> Result<(), E> {
        Err(self.state.stop(RawError::NotAnObject { index: 0, kind }))
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let index = self.state.page.count;
            let seed = RecordSeed {
                state: &mut *self.state,
                index,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(());
            }
            self.state.page.count += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.state.page.count = 1;
        read_record(self.state, map)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }
}

/// One record: its fields as JSON text.
struct RecordSeed<'s, 'de> {
    state: &'s mut State<'de>,
    index: usize,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, 'de> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> RecordSeed<'_, 'de> {
    fn not_an_object<E: de::Error>(self, kind: &'static str) -> Result<(), E> {
        let index = self.index;
        Err(self.state.stop(RawError::NotAnObject { index, kind }))
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a record")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        read_record(self.state, map)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object("an array")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }
}

fn read_record<'de, A: MapAccess<'de>>(state: &mut State<'de>, mut map: A) -> Result<(), A::Error> {
    state.page.cells.start_record();
    while let Some(key) = map.next_key_seed(KeySeed)? {
        let value: &'de RawValue = map.next_value()?;
        state.page.cells.push(key, value);
    }
    Ok(())
}

/// An object key, borrowed from the body unless it has escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::cells::JsonCell;
    use connector_sdk::Record;
    use serde_json::json;

    fn plan(records: &str, others: &[&str]) -> Option<RawPlan> {
        let others: Vec<Selector> = others.iter().map(|o| Selector::parse(o).unwrap()).collect();
        RawPlan::new(
            &Selector::parse(records).unwrap(),
            &others.iter().collect::<Vec<_>>(),
        )
    }

    /// The records of a raw page, parsed, to compare with the tree's.
    fn records(page: &RawPage<'_>) -> Vec<Record> {
        let mut out = vec![Record::new(); page.cells.rows()];
        for (name, values) in page.cells.fields() {
            for (record, value) in out.iter_mut().zip(values) {
                if let Some(value) = value {
                    record.insert(name.to_owned(), value.to_value());
                }
            }
        }
        out
    }

    #[test]
    fn records_and_pagination_values_are_found_in_one_pass() {
        let body = json!({
            "meta": {"next": "c2", "other": [1, 2], "has_more": true},
            "data": [{"id": 1, "name": "a\"b", "nested": {"x": [1, {"y": null}]}, "id": 2},
                     {"name": "c", "t": 1.5e3}],
            "total": 10, "ignored": {"deep": [{"a": 1}]}
        })
        .to_string();
        let plan = plan(
            "$.data",
            &["$.meta.next", "/meta/has_more", "/total", "/absent/x"],
        )
        .unwrap();
        let page = parse(&plan, body.as_bytes()).unwrap();
        assert_eq!(page.count, 2);
        assert_eq!(
            records(&page),
            vec![
                json!({"id": 2, "name": "a\"b", "nested": {"x": [1, {"y": null}]}}),
                json!({"name": "c", "t": 1500.0})
            ]
            .into_iter()
            .map(|v| v.as_object().unwrap().clone())
            .collect::<Vec<_>>()
        );
        assert_eq!(
            page.document,
            json!({"meta": {"next": "c2", "has_more": true}, "total": 10})
        );
    }

    #[test]
    fn the_records_location_may_be_the_body_one_object_or_absent() {
        let root = plan("$", &[]).unwrap();
        let page = parse(&root, br#"[{"a": 1}, {"a": 2}]"#).unwrap();
        assert_eq!(page.cells.rows(), 2);
        let page = parse(&root, br#"{"a": 1}"#).unwrap();
        assert_eq!((page.count, page.cells.rows()), (1, 1));
        let data = plan("/data", &[]).unwrap();
        for body in [
            &br#"{"other": 1}"#[..],
            br#"{"data": null}"#,
            br#"{"data": []}"#,
        ] {
            let page = parse(&data, body).unwrap();
            assert_eq!((page.count, page.cells.rows()), (0, 0));
        }
    }

    #[test]
    fn bad_bodies_are_told_apart() {
        let data = plan("/data", &["/next"]).unwrap();
        match parse(&data, br#"{"data": [{"a": 1}, 3]}"#) {
            Err(RawError::NotAnObject {
                index: 1,
                kind: "a number",
            }) => {}
            other => panic!("{other:?}"),
        }
        match parse(&data, br#"{"data": [{"a": 1}, "#) {
            Err(RawError::Json(e)) => assert_eq!(e.line(), 1),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&data, br#"{"data": [{"a": 1}]} trailing"#),
            Err(RawError::Json(_))
        ));
        let nested = plan("/page/items", &[]).unwrap();
        assert!(matches!(
            parse(&nested, br#"{"page": [{"items": []}]}"#),
            Err(RawError::Unsupported)
        ));
    }

    #[test]
    fn only_pointer_plans_that_keep_records_apart_are_made() {
        assert!(plan("$.data[*].node", &[]).is_none());
        assert!(plan("$.data", &["$.data[-1].id"]).is_none());
        assert!(plan("/data", &["/data/0/id"]).is_none());
        assert!(plan("/data/items", &["/data"]).is_none());
        assert!(plan("$", &["/next"]).is_none());
        assert!(plan("$.data", &["$.next_cursor"]).is_some());
    }
}
