#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Data-driven cases for compile errors and schema validation: one line per case, each
//! naming the severity, the rule index, the JSON Pointer and a part of the message.

use connector_sdk::{Field, FieldType, StreamDescriptor};
use mapping::{Mapping, MappingSpec, Schema, validate};
use serde_json::{Value, json};

/// Source: a discovered stream.
fn source() -> Schema {
    Schema::from_stream(&StreamDescriptor::new(
        "customers",
        vec![
            Field::required("id", FieldType::Integer),
            Field::nullable("email", FieldType::String).with_native_type("varchar(320)"),
            Field::nullable("code", FieldType::String).with_native_type("varchar(4)"),
            Field::required("active", FieldType::Boolean),
            Field::nullable("score", FieldType::Number),
            Field::nullable("balance", FieldType::decimal(12, 2)),
            Field::nullable("born", FieldType::Date),
            Field::nullable("seen", FieldType::TimestampTz),
            Field::nullable("extra", FieldType::Json),
            Field::nullable(
                "items",
                FieldType::array(FieldType::Object {
                    fields: vec![Field::required("sku", FieldType::String)],
                }),
            ),
        ],
    ))
}

/// Target: a user-supplied JSON Schema.
fn target() -> Schema {
    Schema::from_json_schema(&json!({
        "type": "object",
        "required": ["customer_id", "email"],
        "properties": {
            "customer_id": {"type": "integer"},
            "email": {"type": "string", "maxLength": 100},
            "code": {"type": "string", "maxLength": 10},
            "note": {"type": ["string", "null"]},
            "active": {"type": "boolean"},
            "amount": {"type": "integer"},
            "seen": {"type": "string", "format": "date-time"},
            "lines": {"type": "array", "items": {"type": "object", "required": ["sku"],
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}}}},
            "billing": {"type": "object", "required": ["city"],
                "properties": {"city": {"type": "string"}}}
        }
    }))
    .unwrap()
}

/// The two rules every case starts with, so `customer_id` and `email` are mapped.
const BASE: &str = r#"{"target":"customer_id","source":"id"},{"target":"email","source":"email","required":true,"transform":["hash"]}"#;

// severity (E/W), extra rules (appended after BASE, so the first is rule 2), rule, path, message part
#[rustfmt::skip]
const CASES: &[(&str, &str, Option<usize>, &str, &str)] = &[
    ("E", r#"{"target":"note","source":"nope"}"#, Some(2), "/rules/2/source", "source path `nope` is not in the source schema"),
    ("E", r#"{"target":"note","coalesce":["email","nope"]}"#, Some(2), "/rules/2/coalesce/1", "`nope` is not in the source schema"),
    ("E", r#"{"target":"note","concat":{"sources":["nope","email"]}}"#, Some(2), "/rules/2/concat/sources/0", "not in the source schema"),
    ("E", r#"{"target":"seen","source":"active","cast":"timestamp"}"#, Some(2), "/rules/2/cast", "cannot cast boolean to timestamp"),
    ("E", r#"{"target":"note","source":"items","cast":"string"}"#, Some(2), "/rules/2/cast", "cannot cast array to string"),
    ("W", r#"{"target":"amount","source":"score","cast":"int"}"#, Some(2), "/rules/2/cast", "narrowing cast from number to int"),
    ("W", r#"{"target":"amount","source":"balance","cast":"int"}"#, Some(2), "/rules/2/cast", "narrowing cast from decimal(12,2) to int"),
    ("W", r#"{"target":"amount","source":"code","cast":"int"}"#, Some(2), "/rules/2/cast", "string values are parsed as int at run time"),
    ("W", r#"{"target":"note","source":"seen","cast":"date"}"#, Some(2), "/rules/2/cast", "the time of day is dropped"),
    ("E", r#"{"target":"note","source":"id","transform":["lower"]}"#, Some(2), "/rules/2/transform/0", "`lower` expects a string but gets integer"),
    ("E", r#"{"target":"nowhere","source":"id"}"#, Some(2), "/rules/2/target", "target field `nowhere` is not in the target schema"),
    ("E", r#"{"target":"billing.town","constant":"x"}"#, Some(2), "/rules/2/target", "target field `billing.town` is not in the target schema"),
    ("E", r#"{"target":"amount","source":"score"}"#, Some(2), "/rules/2/target", "rule produces number but target field `amount` is integer (add `cast: int`)"),
    ("E", r#"{"target":"active","source":"code","cast":"date"}"#, Some(2), "/rules/2/cast", "rule produces date but target field `active` is boolean"),
    ("E", r#"{"target":"note","source":"active"}"#, Some(2), "/rules/2/target", "rule produces boolean but target field `note` is string (add `cast: string`)"),
    ("W", r#"{"target":"seen","source":"code"}"#, Some(2), "/rules/2/target", "add `cast: timestamp`"),
    ("E", r#"{"target":"code","constant":"much too long"}"#, Some(2), "/rules/2/target", "the value is 13 characters, longer than the maximum 10"),
    ("W", r#"{"target":"code","source":"email"}"#, Some(2), "/rules/2/target", "values of up to 320 characters may exceed the maximum 10"),
    ("W", r#"{"target":"code","expr":"record.email"}"#, Some(2), "/rules/2/target", "values of unknown length may exceed the maximum 10"),
    ("E", r#"{"target":"email","source":"code"}"#, Some(2), "/rules/2/target", "duplicate target `email`: rule 1 writes it too"),
    ("W", r#"{"target":"email","when":"record.active","then":"x"}"#, Some(2), "/rules/2/target", "duplicate target `email`"),
    ("E", r#"{"target":"billing","constant":{}},{"target":"billing.city","constant":"x"}"#, Some(3), "/rules/3/target", "overlaps `billing` of rule 2"),
    ("E", r#"{"target":"billing.note","constant":"x"}"#, Some(2), "/rules/2/target", "not in the target schema"),
    ("E", r#"{"target":"billing","rules":[{"target":"town","constant":"x"}]}"#, Some(2), "/rules/2/rules/0/target", "target field `billing.town` is not in the target schema"),
    ("E", r#"{"target":"billing","rules":[{"target":"zip","constant":"x"}]}"#, Some(2), "/rules/2/rules", "required target field `billing.city` is not mapped"),
    ("E", r#"{"target":"lines","source":"items","rules":[{"target":"qty","source":"nope"}]}"#, Some(2), "/rules/2/rules/0/source", "source path `nope` is not in the source schema"),
    ("E", r#"{"target":"lines","source":"items","rules":[{"target":"qty","source":"sku"}]}"#, Some(2), "/rules/2/rules/0/target", "rule produces string but target field `lines[].qty` is integer"),
    ("W", r#"{"target":"active","source":"extra.flag"}"#, None, "", ""),
    // compile errors, with the rule index and the key
    ("E", r#"{"target":"note","source":"a..b"}"#, Some(2), "/rules/2/source", "invalid source path"),
    ("E", r#"{"target":"lines[0]","constant":1}"#, Some(2), "/rules/2/target", "cannot contain array indexes"),
    ("E", r#"{"target":"note","expr":"record.a +"}"#, Some(2), "/rules/2/expr", "invalid CEL expression"),
    ("E", r#"{"target":"note","when":"(((","then":1}"#, Some(2), "/rules/2/when", "invalid CEL expression"),
    ("E", r#"{"target":"note","source":"a","expr":"1"}"#, Some(2), "/rules/2/expr", "`source` and `expr` are exclusive"),
    ("E", r#"{"target":"note"}"#, Some(2), "/rules/2", "a rule needs a value"),
    ("E", r#"{"target":"note","source":"code","transform":[{"regex_extract":"(unclosed"}]}"#, Some(2), "/rules/2/transform/0", "invalid regex"),
    ("E", r#"{"target":"note","source":"code","transform":[{"regex_extract":{"pattern":"a","group":1}}]}"#, Some(2), "/rules/2/transform/0", "has no capture group 1"),
    ("E", r#"{"target":"seen","source":"code","cast":"timestamp","timezone":"Mars/Base"}"#, Some(2), "/rules/2/timezone", "unknown IANA time zone"),
    ("E", r#"{"target":"seen","source":"code","cast":"timestamp","format":"%Q"}"#, Some(2), "/rules/2/format", "invalid strftime format"),
    ("E", r#"{"target":"amount","source":"id","cast":"int","format":"%Y"}"#, Some(2), "/rules/2/format", "`format` applies to date and timestamp casts"),
    ("E", r#"{"target":"note","then":"x"}"#, Some(2), "/rules/2/then", "`then` needs `when`"),
    ("E", r#"{"target":"note","coalesce":[]}"#, Some(2), "/rules/2/coalesce", "needs at least one source"),
];

fn report_for(extra: &str) -> mapping::ValidationReport {
    let rules: Value = serde_json::from_str(&format!("[{BASE},{extra}]")).unwrap();
    let spec = MappingSpec::from_json_value(json!({ "rules": rules })).unwrap();
    validate(&spec, Some(&source()), Some(&target()))
}

#[test]
fn every_case_reports_the_expected_issue() {
    let mut failures = Vec::new();
    for (severity, extra, rule, path, message) in CASES {
        let report = report_for(extra);
        if message.is_empty() {
            // A free-form (`json`) source field is not checked.
            if !report.errors.is_empty() {
                failures.push(format!(
                    "{extra}: expected no error, got {:?}",
                    report.errors
                ));
            }
            continue;
        }
        let issues = if *severity == "E" {
            &report.errors
        } else {
            &report.warnings
        };
        let found = issues
            .iter()
            .any(|i| i.rule == *rule && i.path == *path && i.message.contains(message));
        if !found || (*severity == "E") == report.valid {
            failures.push(format!(
                "{extra}: expected {severity} {rule:?} {path} `{message}`, got {report:#?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_clean_mapping_is_valid_without_warnings() {
    let report = report_for(
        r#"{"target":"active","source":"active"},{"target":"billing.city","constant":"Lyon"},
           {"target":"lines","source":"items","rules":[{"target":"sku","source":"sku"}]},
           {"target":"code","source":"code","transform":["trim"]}"#,
    );
    assert!(report.valid, "{report:#?}");
    assert!(report.warnings.is_empty(), "{report:#?}");
}

#[test]
fn unmapped_required_target_fields_are_errors_with_their_path() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "billing.city", "constant": "Lyon"}
    ]}))
    .unwrap();
    let report = validate(&spec, None, Some(&target()));
    let missing: Vec<_> = report
        .errors
        .iter()
        .map(|e| (e.rule, e.path.as_str(), e.field.as_deref()))
        .collect();
    assert_eq!(
        missing,
        vec![
            (None, "/rules", Some("customer_id")),
            (None, "/rules", Some("email")),
        ]
    );
}

#[test]
fn required_target_fed_by_a_nullable_source_is_a_warning() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "customer_id", "source": "id"},
        {"target": "email", "source": "code"},
    ]}))
    .unwrap();
    let report = validate(&spec, Some(&source()), Some(&target()));
    assert!(report.valid, "{report:#?}");
    assert!(report.warnings.iter().any(|w| {
        w.rule == Some(1)
            && w.message
                .contains("is required but the rule may produce no value")
    }));
}

#[test]
fn compile_reports_every_error_at_once() {
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "a", "source": "x", "cast": "int", "format": "%Y"},
        {"target": "b", "expr": "1 +"},
        {"target": "c", "source": "ok"},
        {"target": "d", "source": "items", "rules": [{"target": "e", "source": "[oops"}]},
    ]}))
    .unwrap();
    let errors = Mapping::compile(&spec).unwrap_err();
    let at: Vec<_> = errors.iter().map(|e| (e.rule, e.path.as_str())).collect();
    assert_eq!(
        at,
        vec![
            (Some(0), "/rules/0/format"),
            (Some(1), "/rules/1/expr"),
            (Some(3), "/rules/3/rules/0/source"),
        ]
    );
}

#[test]
fn spec_shape_errors_carry_a_pointer() {
    let cases = [
        (
            json!({"rules": [{"target": "a", "source": "x", "cast": "money"}]}),
            "/rules/0/cast",
        ),
        (
            json!({"rules": [{"target": "a"}, {"target": "b", "sorce": "x"}]}),
            "/rules/1/sorce",
        ),
        (
            json!({"rules": [{"target": "a", "source": "x", "transform": ["trim", "shout"]}]}),
            "/rules/0/transform/1",
        ),
    ];
    for (spec, pointer) in cases {
        let errors = MappingSpec::from_json_value(spec.clone()).unwrap_err();
        assert_eq!(errors[0].path, pointer, "{spec}: {errors:?}");
    }
}
