#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Preview on samples, and robustness: mappings applied to generated JSON never panic.

use mapping::{Mapping, MappingSpec, preview};
use serde_json::{Map, Value, json};

#[test]
fn preview_collects_errors_per_record_without_stopping() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "id", "source": "id", "cast": "int"},
        {"target": "email", "source": "email", "transform": ["lower"]},
    ]}))
    .unwrap();
    let samples = [
        json!({"id": "1", "email": "A@B"}),
        json!({"id": "x", "email": 5}),
        json!("not a record"),
        json!({"id": 3}),
    ];
    let result = preview(&spec, &samples).unwrap();
    assert_eq!(result.outputs.len(), 4);
    assert_eq!(
        result.outputs[0].output,
        Some(json!({"id": 1, "email": "a@b"}))
    );
    assert_eq!(result.outputs[1].output, None);
    let failing: Vec<_> = result.outputs[1].errors.iter().map(|e| e.rule).collect();
    assert_eq!(failing, vec![0, 1]);
    assert!(result.outputs[2].errors[0].message.contains("JSON object"));
    assert_eq!(result.outputs[3].output, Some(json!({"id": 3})));
    assert_eq!(result.outputs[3].index, 3);
}

#[test]
fn preview_of_an_invalid_spec_returns_its_errors() {
    let spec =
        MappingSpec::from_json_value(json!({"rules": [{"target": "a", "expr": "(("}]})).unwrap();
    let errors = preview(&spec, &[json!({})]).unwrap_err();
    assert_eq!(errors[0].path, "/rules/0/expr");
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Generator(u64);

impl Generator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn string(&mut self) -> String {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            " ",
            "1",
            "-",
            ".",
            "é",
            "ß",
            "İ",
            "😀",
            "2024-03-31 02:30:00",
            "12.50",
            "true",
            "1e400",
            "NaN",
            "99999999999999999999",
            "\u{0}",
            "x,y",
            "@",
        ];
        (0..self.below(4))
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }

    fn value(&mut self, depth: u32) -> Value {
        let leaf = depth > 3 || self.below(3) == 0;
        match self.below(if leaf { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!((self.next() as f64) / 1e6 - 9e12),
            4 => Value::String(self.string()),
            5 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            _ => Value::Object(self.object(depth + 1)),
        }
    }

    fn object(&mut self, depth: u32) -> Map<String, Value> {
        const KEYS: &[&str] = &["a", "b", "items", "x.y", "n"];
        (0..self.below(5))
            .map(|_| {
                (
                    KEYS[self.below(KEYS.len() as u64) as usize].to_string(),
                    self.value(depth),
                )
            })
            .collect()
    }
}

#[test]
fn applying_mappings_to_arbitrary_json_never_panics() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "i", "source": "a", "cast": "int"},
        {"target": "f", "source": "a", "cast": "float"},
        {"target": "d", "source": "b", "cast": "decimal"},
        {"target": "bo", "source": "b", "cast": "bool"},
        {"target": "s", "source": "a", "cast": "string"},
        {"target": "dt", "source": "b", "cast": "date", "format": "%d/%m/%Y"},
        {"target": "ts", "source": "a", "cast": "timestamp", "timezone": "Europe/Paris"},
        {"target": "t.x", "source": "items[-1].a", "transform": ["trim", "lower", "upper", {"split": ","}]},
        {"target": "t.y", "coalesce": ["n", "a"], "transform": [{"regex_replace": {"pattern": "\\d", "replacement": "#"}}, "hash"]},
        {"target": "t.z", "concat": {"sources": ["a", "b", "[\"x.y\"]"], "separator": "|"}},
        {"target": "lk", "source": "a", "transform": [{"lookup": {"table": {"a": 1}}}]},
        {"target": "ex", "expr": "has(record.a) ? record.a : record.items"},
        {"target": "cond", "when": "has(record.n) && record.n == true", "then": 1, "else": 0},
        {"target": "rows", "source": "items", "rules": [
            {"target": "v", "source": "a", "cast": "int"},
            {"target": "w", "expr": "record"}
        ]},
    ]}))
    .unwrap();
    let mapping = Mapping::compile(&spec).unwrap();
    let mut generator = Generator(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..500 {
        let record = generator.object(0);
        match mapping.apply(&record) {
            Ok(_) => ok += 1,
            Err(errors) => {
                assert!(
                    errors
                        .iter()
                        .all(|e| e.rule < spec.rules.len() && !e.message.is_empty())
                );
                failed += 1;
            }
        }
        let value = generator.value(0);
        let _ = mapping.apply_value(&value);
    }
    // Both outcomes happen: the generator exercises success and failure paths.
    assert!(ok > 0 && failed > 0, "ok {ok}, failed {failed}");
}
