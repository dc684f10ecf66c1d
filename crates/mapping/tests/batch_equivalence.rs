//! The columnar `apply_batch` against the row path it replaces (`apply` on each record of
//! the batch's JSON view, then `Batch::from_records`), on many generated mappings and
//! batches: typed Arrow columns as SQL readers make them (Int64, Utf8, Decimal128,
//! Timestamp …) and inferred ones, with nulls, absent fields and values casts refuse. The
//! JSON views of the outputs, the source rows and the rejects (with every message) must be
//! equal, and the columnar path must never fall back to the rows.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use connector_sdk::Batch;
use connector_sdk::arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int32Builder, Int64Builder, LargeStringBuilder, StringBuilder,
    StringViewBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use connector_sdk::arrow_array::{ArrayRef, NullArray, RecordBatch, RecordBatchOptions};
use connector_sdk::arrow_schema::{DataType, Field, Schema};
use connector_sdk::batch::{json_field, uuid_field};
use mapping::{CompiledMapping, MappedBatch, Mapping, MappingSpec, Record, RecordError};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// A mapped batch as JSON: the records, the source row of each, the refused rows.
#[derive(Debug, PartialEq)]
struct Mapped {
    records: Vec<Record>,
    source_rows: Vec<usize>,
    rejects: Vec<(usize, Vec<RecordError>)>,
}

impl Mapped {
    /// What became of source row `row`: its record, or its errors.
    fn row(&self, row: usize) -> (Option<&Record>, Option<&Vec<RecordError>>) {
        let record = self
            .source_rows
            .iter()
            .position(|r| *r == row)
            .and_then(|i| self.records.get(i));
        let errors = self
            .rejects
            .iter()
            .find(|(r, _)| *r == row)
            .map(|(_, errors)| errors);
        (record, errors)
    }
}

/// What the row path gives: the old `apply_batch`.
fn by_rows(mapping: &CompiledMapping, batch: &Batch) -> Mapped {
    let mut mapped = Vec::new();
    let mut source_rows = Vec::new();
    let mut rejects = Vec::new();
    for (row, record) in batch.to_records().iter().enumerate() {
        match mapping.apply(record) {
            Ok(output) => {
                mapped.push(output);
                source_rows.push(row);
            }
            Err(errors) => rejects.push((row, errors)),
        }
    }
    Mapped {
        records: Batch::from_records(&mapped).to_records(),
        source_rows,
        rejects,
    }
}

/// Fails with the mapping and the batch when the two paths differ.
fn assert_same(rules: &Value, mapping: &CompiledMapping, batch: &Batch) {
    let expected = by_rows(mapping, batch);
    let columnar = mapping.apply_batch_columnar(batch);
    let Ok(MappedBatch {
        batch: mapped,
        source_rows,
        rejects,
    }) = columnar
    else {
        panic!(
            "{columnar:?}\nrules: {rules:#}\nschema: {:?}\nrecords: {:?}",
            batch.schema(),
            batch.to_records()
        );
    };
    let actual = Mapped {
        records: mapped.to_records(),
        source_rows,
        rejects,
    };
    if actual == expected {
        return;
    }
    let rows = batch.to_records();
    match (0..rows.len()).find(|row| expected.row(*row) != actual.row(*row)) {
        Some(row) => panic!(
            "row {row} differs\nrules: {rules:#}\nsource: {:?}\nschema: {:?}\nrows:     {:?}\ncolumnar: {:?}\noutput schema: {:?}",
            rows[row],
            batch.schema(),
            expected.row(row),
            actual.row(row),
            mapped.schema()
        ),
        None => {
            panic!("outputs differ\nrules: {rules:#}\nexpected: {expected:?}\nactual: {actual:?}")
        }
    }
}

fn compile(rules: &Value) -> Option<CompiledMapping> {
    let spec = MappingSpec::from_json_value(json!({ "rules": rules })).ok()?;
    Mapping::compile(&spec).ok()
}

// ---- generated batches ----

const TEXTS: &[&str] = &[
    "",
    "  ",
    "abc",
    "ABC",
    " Ada@Example.COM ",
    "42",
    " 7 ",
    "-3",
    "1.5",
    "2.0",
    "1e3",
    "12345678901234567890.12",
    "9223372036854775808",
    "true",
    "Yes",
    "off",
    "0",
    "1",
    "NaN",
    "inf",
    "2024-03-10",
    "2024-03-10 07:30:00",
    "2024-03-10T07:30:00+02:00",
    "2024-03-10T07:30:00.123456789Z",
    "2024-03-31 02:30:00",
    "10/03/2024 07:30",
    "ÉCOLE",
    "straße",
    "İstanbul",
    "a,b , c",
    "null",
    "{\"k\": 1}",
    "0001-01-01",
    "+10000-01-01",
];

const TIMEZONES: &[&str] = &["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"];

fn text(rng: &mut StdRng) -> String {
    if rng.random_bool(0.2) {
        format!("x{}", rng.random_range(0..1000))
    } else {
        (*TEXTS.choose(rng).unwrap()).to_string()
    }
}

fn int(rng: &mut StdRng) -> i64 {
    match rng.random_range(0..6) {
        0 => *[0, 1, -1, i64::MAX, i64::MIN, 1_700_000_000]
            .choose(rng)
            .unwrap(),
        1 => rng.random(),
        _ => rng.random_range(-1000..1000),
    }
}

fn float(rng: &mut StdRng) -> f64 {
    match rng.random_range(0..5) {
        0 => *[
            0.0,
            -0.0,
            1.0,
            1.5,
            3.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e20,
            1e-7,
            1.7e9,
        ]
        .choose(rng)
        .unwrap(),
        1 => rng.random::<f64>() * 1e6,
        _ => f64::from(rng.random_range(-100..100)) / 4.0,
    }
}

/// Instants (µs): typical ones, and with probability `edges` one at the edges of what
/// a cast reads back (years 1 and 9999, PostgreSQL's infinities) or far beyond.
fn micros(rng: &mut StdRng, edges: f64) -> i64 {
    if rng.random_bool(edges) {
        return *[
            0,
            -1,
            i64::MAX,
            i64::MIN,
            253_402_300_799_999_999,
            253_402_300_800_000_000,
            300_000_000_000_000_000,
            -62_135_596_800_000_000,
            -62_135_596_800_000_001,
            -62_167_219_200_000_000,
            rng.random_range(-1_000_000_000_000_000_000..1_000_000_000_000_000_000),
        ]
        .choose(rng)
        .unwrap();
    }
    if rng.random_bool(0.3) {
        rng.random_range(1_600_000_000..1_800_000_000) * 1_000_000
    } else {
        rng.random_range(1_600_000_000_000_000..1_800_000_000_000_000)
    }
}

/// Days since 1970: typical ones, and with probability `edges` edge ones.
fn days(rng: &mut StdRng, edges: f64) -> i32 {
    if rng.random_bool(edges) {
        return *[
            0,
            -1,
            i32::MAX,
            i32::MIN,
            2_932_896,
            2_932_897,
            -719_162,
            -719_163,
            -719_528,
            rng.random_range(-3_000_000..3_000_000),
        ]
        .choose(rng)
        .unwrap();
    }
    rng.random_range(18_000..21_000)
}

/// A JSON value of any shape, for inferred and JSON columns.
fn json_value(rng: &mut StdRng, depth: usize) -> Value {
    match rng.random_range(0..if depth > 1 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(int(rng)),
        3 => serde_json::Number::from_f64(float(rng)).map_or(Value::Null, Value::Number),
        4 | 5 => Value::String(text(rng)),
        6 => Value::Array(
            (0..rng.random_range(0..3))
                .map(|_| json_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut object = serde_json::Map::new();
            for key in ["k", "sku", "country"] {
                if rng.random_bool(0.5) {
                    object.insert(key.into(), json_value(rng, depth + 1));
                }
            }
            Value::Object(object)
        }
    }
}

/// One typed column of `rows` values (nulls with probability `nulls`).
fn typed_column(rng: &mut StdRng, name: &str, rows: usize) -> (Field, ArrayRef) {
    let nulls = *[0.0, 0.0, 0.2, 0.9].choose(rng).unwrap();
    let edges = *[0.0, 0.05, 0.3].choose(rng).unwrap();
    let null = |rng: &mut StdRng| rng.random_bool(nulls);
    macro_rules! build {
        ($builder:expr, $data_type:expr, $value:expr) => {{
            let mut builder = $builder;
            for _ in 0..rows {
                if null(rng) {
                    builder.append_null();
                } else {
                    builder.append_value($value(rng));
                }
            }
            (
                Field::new(name, $data_type, true),
                Arc::new(builder.finish()) as ArrayRef,
            )
        }};
    }
    match rng.random_range(0..17) {
        0 | 1 => build!(Int64Builder::new(), DataType::Int64, int),
        2 => build!(Int32Builder::new(), DataType::Int32, |rng: &mut StdRng| rng
            .random_range(-5..5)),
        3 => build!(
            UInt64Builder::new(),
            DataType::UInt64,
            |rng: &mut StdRng| if rng.random_bool(0.3) {
                u64::MAX
            } else {
                rng.random_range(0..3)
            }
        ),
        4 => build!(Float64Builder::new(), DataType::Float64, float),
        5 => build!(
            Float32Builder::new(),
            DataType::Float32,
            |rng: &mut StdRng| *[0.5f32, 1.0, f32::NAN, 2.25, 1e10].choose(rng).unwrap()
        ),
        6 => build!(
            BooleanBuilder::new(),
            DataType::Boolean,
            |rng: &mut StdRng| rng.random::<bool>()
        ),
        7 | 8 => build!(StringBuilder::new(), DataType::Utf8, text),
        9 => build!(LargeStringBuilder::new(), DataType::LargeUtf8, text),
        10 => build!(StringViewBuilder::new(), DataType::Utf8View, text),
        11 => {
            let (precision, scale) = *[(12u8, 2i8), (38, 10), (5, 0), (28, 28), (30, 4), (10, -2)]
                .choose(rng)
                .unwrap();
            let limit = 10i128.pow(u32::from(precision.min(30)));
            let value = |rng: &mut StdRng| {
                if rng.random_bool(0.1) {
                    // Beyond the precision: Arrow's text cuts it.
                    limit * 7 + 1
                } else {
                    rng.random_range(-limit + 1..limit)
                }
            };
            build!(
                Decimal128Builder::new()
                    .with_precision_and_scale(precision, scale)
                    .unwrap(),
                DataType::Decimal128(precision, scale),
                value
            )
        }
        12 => {
            let zone = [Some("+00:00"), Some("UTC"), None]
                .choose(rng)
                .unwrap()
                .map(Arc::<str>::from);
            let builder = TimestampMicrosecondBuilder::new().with_timezone_opt(zone.clone());
            build!(
                builder,
                DataType::Timestamp(connector_sdk::arrow_schema::TimeUnit::Microsecond, zone),
                |rng: &mut StdRng| micros(rng, edges)
            )
        }
        13 => build!(
            Date32Builder::new(),
            DataType::Date32,
            |rng: &mut StdRng| days(rng, edges)
        ),
        14 => build!(
            Time64MicrosecondBuilder::new(),
            DataType::Time64(connector_sdk::arrow_schema::TimeUnit::Microsecond),
            |rng: &mut StdRng| rng.random_range(-10..90_000_000_000)
        ),
        15 => build!(
            BinaryBuilder::new(),
            DataType::Binary,
            |rng: &mut StdRng| text(rng).into_bytes()
        ),
        _ => {
            let mut builder = FixedSizeBinaryBuilder::new(16);
            for _ in 0..rows {
                if null(rng) {
                    builder.append_null();
                } else {
                    builder.append_value(rng.random::<[u8; 16]>()).unwrap();
                }
            }
            (
                uuid_field(name, true),
                Arc::new(builder.finish()) as ArrayRef,
            )
        }
    }
}

/// Columns inferred from records (typed when every record has the field, JSON otherwise),
/// as `Batch::from_records` makes them.
fn inferred_columns(rng: &mut StdRng, names: &[String], rows: usize) -> Vec<(Field, ArrayRef)> {
    let absent = *[0.0, 0.3].choose(rng).unwrap();
    let kind = rng.random_range(0..4);
    let mut records: Vec<Record> = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut record = Record::new();
        for name in names {
            if rng.random_bool(absent) {
                continue;
            }
            let value = match kind {
                0 => Value::String(text(rng)),
                1 => json!(int(rng)),
                _ => json_value(rng, 0),
            };
            record.insert(name.clone(), value);
        }
        records.push(record);
    }
    let batch = Batch::from_records(&records);
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .map(|field| field.as_ref().clone())
        .zip(batch.arrow().columns().iter().cloned())
        .collect()
}

fn generated_batch(rng: &mut StdRng) -> (Batch, Vec<String>) {
    let rows = *[0usize, 1, 3, 17, 40].choose(rng).unwrap();
    let count = rng.random_range(1..7);
    let names: Vec<String> = (0..count).map(|i| format!("c{i}")).collect();
    let mut columns = Vec::new();
    let split = rng.random_range(0..=count);
    for name in &names[..split] {
        columns.push(typed_column(rng, name, rows));
    }
    if rng.random_bool(0.2) {
        let mut builder = StringBuilder::new();
        for _ in 0..rows {
            if rng.random_bool(0.3) {
                builder.append_null();
            } else {
                builder.append_value(json_value(rng, 0).to_string());
            }
        }
        columns.push((json_field("j"), Arc::new(builder.finish())));
    }
    if rng.random_bool(0.1) {
        columns.push((
            Field::new("n", DataType::Null, true),
            Arc::new(NullArray::new(rows)),
        ));
    }
    let inferred: Vec<(Field, ArrayRef)> = inferred_columns(rng, &names[split..], rows)
        .into_iter()
        .collect();
    columns.extend(inferred);
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    let mut all: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let batch =
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options).unwrap();
    all.push("missing".into());
    (Batch::new(batch), all)
}

// ---- generated mappings ----

fn transform(rng: &mut StdRng) -> Value {
    match rng.random_range(0..12) {
        0 | 1 => json!("trim"),
        2 | 3 => json!("lower"),
        4 | 5 => json!("upper"),
        6 => json!({"regex_replace": {"pattern": "[aeiou]", "replacement": "_"}}),
        7 => json!({"regex_extract": "(\\d+)"}),
        8 => json!("hash"),
        9 => json!({"hash": {"salt": "s"}}),
        10 => json!({"lookup": {"table": {"abc": "A", "42": 42, "true": [1]}, "fallback": "?"}}),
        _ => json!({"split": ","}),
    }
}

fn rule(rng: &mut StdRng, columns: &[String], target: String) -> Value {
    let mut rule = serde_json::Map::new();
    rule.insert("target".into(), json!(target));
    let picks: Vec<String> = (0..2)
        .map(|_| columns.choose(rng).cloned().unwrap_or_default())
        .collect();
    let column = |i: usize| picks[i].clone();
    match rng.random_range(0..17) {
        0..=8 => {
            rule.insert("source".into(), json!(columns.choose(rng).unwrap()));
        }
        9 => {
            rule.insert("constant".into(), json_value(rng, 0));
        }
        10 => {
            rule.insert(
                "source".into(),
                json!(format!("{}.k", columns.choose(rng).unwrap())),
            );
        }
        11 => {
            let exprs = [
                format!("record.{}", column(0)),
                "1 + 2".to_string(),
                format!("has(record.{}) ? 'yes' : 'no'", column(1)),
                format!("string(record.{})", column(0)),
            ];
            rule.insert("expr".into(), json!(exprs.choose(rng).unwrap()));
        }
        12 => {
            rule.insert("coalesce".into(), json!([column(0), column(1)]));
        }
        13 => {
            rule.insert(
                "concat".into(),
                json!({"sources": [column(0), column(1)], "separator": "-"}),
            );
        }
        14 => {
            // Nested rules on the record itself: they may read any of its fields.
            let inner = json!([
                {"target": "a", "source": column(0), "cast": "string"},
                {"target": "b.c", "source": column(1), "required": true},
            ]);
            rule.insert("rules".into(), inner);
            return Value::Object(rule);
        }
        15 => {
            // Nested rules on the object (or each object of the array) at a field.
            rule.insert("source".into(), json!(column(0)));
            let inner = json!([{"target": "kk", "source": "k", "cast": "int"}]);
            rule.insert("rules".into(), inner);
            return Value::Object(rule);
        }
        _ => {
            rule.insert("source".into(), json!(columns.choose(rng).unwrap()));
            rule.insert("when".into(), json!(format!("has(record.{})", column(1))));
        }
    }
    if rng.random_bool(0.2) {
        rule.insert("default".into(), json_value(rng, 1));
    }
    if rng.random_bool(0.4) {
        let steps: Vec<Value> = (0..rng.random_range(1..3))
            .map(|_| transform(rng))
            .collect();
        rule.insert("transform".into(), json!(steps));
    }
    if rng.random_bool(0.6) {
        let cast = *[
            "string",
            "int",
            "float",
            "decimal",
            "bool",
            "date",
            "timestamp",
        ]
        .choose(rng)
        .unwrap();
        rule.insert("cast".into(), json!(cast));
        if matches!(cast, "date" | "timestamp") {
            if rng.random_bool(0.3) {
                rule.insert("timezone".into(), json!(TIMEZONES.choose(rng).unwrap()));
            }
            if rng.random_bool(0.15) {
                rule.insert("format".into(), json!("%d/%m/%Y %H:%M"));
            }
        }
    }
    if rng.random_bool(0.2) {
        rule.insert("required".into(), json!(true));
    }
    Value::Object(rule)
}

fn generated_rules(rng: &mut StdRng, columns: &[String]) -> Value {
    let count = rng.random_range(1..8);
    let rules: Vec<Value> = (0..count)
        .map(|i| {
            let target = match rng.random_range(0..12) {
                0 => format!("nested.t{i}"),
                // Sometimes the same key twice (the rows merge them).
                1 => "t0".to_string(),
                _ => format!("t{i}"),
            };
            rule(rng, columns, target)
        })
        .collect();
    json!(rules)
}

#[test]
fn columnar_and_row_paths_agree_on_generated_mappings_and_batches() {
    let mut compared = 0;
    for seed in 0..4000u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let (batch, columns) = generated_batch(&mut rng);
        let rules = generated_rules(&mut rng, &columns);
        let Some(mapping) = compile(&rules) else {
            continue;
        };
        assert_same(&rules, &mapping, &batch);
        compared += 1;
    }
    assert!(
        compared > 3000,
        "only {compared} generated mappings compiled"
    );
}

/// The mappings the flows use most, on typed columns as a SQL reader makes them: every
/// column copied, then casts and string transforms.
#[test]
fn flow_mappings_agree_on_typed_columns() {
    for seed in 0..300u64 {
        let mut rng = StdRng::seed_from_u64(10_000 + seed);
        let (batch, columns) = generated_batch(&mut rng);
        let copies: Vec<Value> = columns
            .iter()
            .map(|name| json!({"target": format!("out_{name}"), "source": name}))
            .collect();
        assert_same(&json!(copies), &compile(&json!(copies)).unwrap(), &batch);
        for cast in [
            "string",
            "int",
            "float",
            "decimal",
            "bool",
            "date",
            "timestamp",
        ] {
            for steps in [json!([]), json!(["trim", "upper"]), json!(["lower"])] {
                let rules: Vec<Value> = columns
                    .iter()
                    .map(|name| json!({"target": name, "source": name, "cast": cast, "transform": steps}))
                    .collect();
                let rules = json!(rules);
                assert_same(&rules, &compile(&rules).unwrap(), &batch);
            }
        }
    }
}

/// Three-row columns (a typical value, an edge value, a null) for every edge value of the
/// types whose kernels take shortcuts.
fn edge_columns() -> Vec<(Field, ArrayRef)> {
    use connector_sdk::arrow_schema::TimeUnit;
    let mut columns: Vec<(Field, ArrayRef)> = Vec::new();
    let instants = [
        0,
        -1,
        1_714_557_600_123_456,
        i64::MAX,
        i64::MIN,
        253_402_300_799_999_999,
        253_402_300_800_000_000,
        300_000_000_000_000_000,
        -62_135_596_800_000_000,
        -62_135_596_800_000_001,
        -62_167_219_200_000_000,
    ];
    for zone in [Some("+00:00"), Some("UTC"), None] {
        for edge in instants {
            let zone = zone.map(Arc::<str>::from);
            let mut builder = TimestampMicrosecondBuilder::new().with_timezone_opt(zone.clone());
            builder.append_value(1_711_848_600_000_000);
            builder.append_value(edge);
            builder.append_null();
            let data_type = DataType::Timestamp(TimeUnit::Microsecond, zone);
            columns.push((Field::new("c", data_type, true), Arc::new(builder.finish())));
        }
    }
    for edge in [
        0,
        -1,
        i32::MAX,
        i32::MIN,
        2_932_896,
        2_932_897,
        -719_162,
        -719_163,
        -719_528,
    ] {
        let mut builder = Date32Builder::new();
        builder.append_value(19_844);
        builder.append_value(edge);
        builder.append_null();
        columns.push((
            Field::new("c", DataType::Date32, true),
            Arc::new(builder.finish()),
        ));
    }
    for (precision, scale, edge) in [
        (12u8, 2i8, 999_999_999_999i128),
        (12, 2, 1_000_000_000_000),
        (28, 28, 10i128.pow(28) - 1),
        (28, 28, 10i128.pow(28)),
        (28, 0, -(10i128.pow(28) - 1)),
        (29, 2, 5),
        (10, -2, 5),
    ] {
        let mut builder = Decimal128Builder::new()
            .with_precision_and_scale(precision, scale)
            .unwrap();
        builder.append_value(-5);
        builder.append_value(edge);
        builder.append_null();
        let data_type = DataType::Decimal128(precision, scale);
        columns.push((Field::new("c", data_type, true), Arc::new(builder.finish())));
    }
    for edge in [f64::NAN, f64::INFINITY, -0.0, 1e300, 2.5] {
        let mut builder = Float64Builder::new();
        builder.append_value(1.0);
        builder.append_value(edge);
        builder.append_null();
        columns.push((
            Field::new("c", DataType::Float64, true),
            Arc::new(builder.finish()),
        ));
    }
    for edge in [u64::MAX, 1 << 63, (1 << 63) - 1, 0] {
        let mut builder = UInt64Builder::new();
        builder.append_value(1);
        builder.append_value(edge);
        builder.append_null();
        columns.push((
            Field::new("c", DataType::UInt64, true),
            Arc::new(builder.finish()),
        ));
    }
    for edge in [i64::MAX, i64::MIN, 0, 1, 1_700_000_000] {
        let mut builder = Int64Builder::new();
        builder.append_value(-1);
        builder.append_value(edge);
        builder.append_null();
        columns.push((
            Field::new("c", DataType::Int64, true),
            Arc::new(builder.finish()),
        ));
    }
    for edge in TEXTS {
        let mut builder = StringBuilder::new();
        builder.append_value("2024-03-10 07:30:00");
        builder.append_value(edge);
        builder.append_null();
        columns.push((
            Field::new("c", DataType::Utf8, true),
            Arc::new(builder.finish()),
        ));
    }
    columns.push((
        Field::new("c", DataType::Null, true),
        Arc::new(NullArray::new(3)),
    ));
    columns
}

#[test]
fn edge_values_agree_under_every_cast_and_option() {
    let options = [
        json!({}),
        json!({"timezone": "Europe/Paris"}),
        json!({"timezone": "UTC"}),
        json!({"format": "%d/%m/%Y %H:%M"}),
        json!({"required": true}),
        json!({"default": "2024-01-01"}),
        json!({"default": 7}),
        json!({"transform": ["trim"]}),
    ];
    for (field, array) in edge_columns() {
        let options_batch = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![array]);
        let batch = Batch::new(options_batch.unwrap());
        for cast in [
            None,
            Some("string"),
            Some("int"),
            Some("float"),
            Some("decimal"),
            Some("bool"),
            Some("date"),
            Some("timestamp"),
        ] {
            for option in &options {
                let mut rule = json!({"target": "out", "source": "c"});
                if let Some(cast) = cast {
                    rule["cast"] = json!(cast);
                }
                for (key, value) in option.as_object().unwrap() {
                    rule[key] = value.clone();
                }
                let rules = json!([rule]);
                if let Some(mapping) = compile(&rules) {
                    assert_same(&rules, &mapping, &batch);
                }
            }
        }
    }
}
