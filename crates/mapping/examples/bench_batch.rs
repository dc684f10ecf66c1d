//! Maps 1,000,000 rows of 11 typed columns — `id` bigint (`Int64`), 8 text columns
//! (`Utf8`), `created_at` timestamptz (`Timestamp(µs, "+00:00")`) and `amount`
//! numeric(12,2) (`Decimal128(12, 2)`), as the PostgreSQL reader makes them — in batches,
//! with the row path (the JSON view, `apply` per record, `Batch::from_records`) and the
//! columnar path (`apply_batch`) in the same run, and prints rows/s and ns/row of each:
//!
//! - `copy`: every column copied to itself;
//! - `casts`: the same with 3 casts (`id` int, `amount` decimal, `created_at` timestamp)
//!   and 2 string transforms (`trim` on `name`, `upper` on `city`);
//! - `parse`: 3 casts that parse text (three more text columns holding an integer, a
//!   decimal and a timestamp) and the same 2 transforms.
//!
//! Only the mapping is timed, not making the columns. Both paths' outputs are compared on
//! the first batch of each case.
//!
//! `cargo run --release -p mapping --example bench_batch [rows] [batch size] [case] [columnar]`
//! (every case when the third argument is absent or `all`; `columnar` times only the
//! columnar path, for a profiler).

use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_sdk::Batch;
use connector_sdk::arrow_array::builder::{
    Decimal128Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use connector_sdk::arrow_array::{ArrayRef, RecordBatch};
use connector_sdk::arrow_schema::{DataType, Field, Schema, TimeUnit};
use mapping::{CompiledMapping, Mapping, MappingSpec};
use serde_json::{Value, json};

const TEXT_COLUMNS: [&str; 8] = [
    "name", "email", "city", "country", "status", "code", "note", "tag",
];

fn main() -> Result<(), String> {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let batch_size: usize = std::env::args()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let case = std::env::args().nth(3);
    let run = |name: &str| {
        case.as_deref()
            .is_none_or(|case| case == name || case == "all")
    };
    let columnar_only = std::env::args().nth(4).as_deref() == Some("columnar");
    let started = Instant::now();
    let typed = typed_batch(rows, false)?;
    let texts = typed_batch(rows, true)?;
    println!(
        "{rows} rows x 11 columns, batches of {batch_size} (columns built in {:.2} s)",
        started.elapsed().as_secs_f64()
    );

    let copies: Vec<Value> = column_names(false)
        .iter()
        .map(|name| json!({"target": name, "source": name}))
        .collect();
    if run("copy") {
        bench(
            "copy",
            &compile(&json!(copies))?,
            &typed,
            batch_size,
            columnar_only,
        )?;
    }

    let with_casts = |names: &[&str], int: &str, decimal: &str, instant: &str| -> Vec<Value> {
        names
            .iter()
            .map(|name| match *name {
                n if n == int => json!({"target": n, "source": n, "cast": "int"}),
                n if n == decimal => json!({"target": n, "source": n, "cast": "decimal"}),
                n if n == instant => json!({"target": n, "source": n, "cast": "timestamp"}),
                "name" => json!({"target": "name", "source": "name", "transform": ["trim"]}),
                "city" => json!({"target": "city", "source": "city", "transform": ["upper"]}),
                n => json!({"target": n, "source": n}),
            })
            .collect()
    };
    let casts = with_casts(&column_names(false), "id", "amount", "created_at");
    if run("casts") {
        bench(
            "casts",
            &compile(&json!(casts))?,
            &typed,
            batch_size,
            columnar_only,
        )?;
    }
    let parse = with_casts(
        &column_names(true),
        "id_text",
        "amount_text",
        "created_text",
    );
    if run("parse") {
        bench(
            "parse",
            &compile(&json!(parse))?,
            &texts,
            batch_size,
            columnar_only,
        )?;
    }
    Ok(())
}

fn compile(rules: &Value) -> Result<CompiledMapping, String> {
    let spec =
        MappingSpec::from_json_value(json!({ "rules": rules })).map_err(|e| format!("{e:?}"))?;
    Mapping::compile(&spec).map_err(|e| format!("{e:?}"))
}

fn column_names(as_text: bool) -> Vec<&'static str> {
    let mut names = vec![];
    if as_text {
        names.extend(["id_text", "amount_text", "created_text"]);
    } else {
        names.extend(["id", "amount", "created_at"]);
    }
    names.extend(TEXT_COLUMNS);
    names
}

/// The 11 columns; with `as_text`, id, amount and created_at as text columns.
fn typed_batch(rows: usize, as_text: bool) -> Result<Batch, String> {
    let error = |e: connector_sdk::arrow_schema::ArrowError| e.to_string();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    let instant = |i: usize| 1_704_067_200_000_000 + i64::try_from(i).unwrap_or(0) * 1_000_123;
    let cents = |i: usize| i64::try_from(i % 10_000_000).unwrap_or(0) * 7 - 3_000_000;
    if as_text {
        let mut ids = StringBuilder::new();
        let mut amounts = StringBuilder::new();
        let mut instants = StringBuilder::new();
        for i in 0..rows {
            ids.append_value(i.to_string());
            let cents = cents(i);
            let sign = if cents < 0 { "-" } else { "" };
            amounts.append_value(format!(
                "{sign}{}.{:02}",
                cents.abs() / 100,
                cents.abs() % 100
            ));
            let at = chrono::DateTime::from_timestamp_micros(instant(i)).unwrap_or_default();
            instants.append_value(at.format("%Y-%m-%d %H:%M:%S%.6f").to_string());
        }
        for (name, mut builder) in [
            ("id_text", ids),
            ("amount_text", amounts),
            ("created_text", instants),
        ] {
            fields.push(Field::new(name, DataType::Utf8, true));
            columns.push(Arc::new(builder.finish()));
        }
    } else {
        let mut ids = Int64Builder::with_capacity(rows);
        let mut amounts = Decimal128Builder::with_capacity(rows)
            .with_precision_and_scale(12, 2)
            .map_err(error)?;
        let mut instants = TimestampMicrosecondBuilder::with_capacity(rows).with_timezone("+00:00");
        for i in 0..rows {
            ids.append_value(i64::try_from(i).unwrap_or(0));
            amounts.append_value(i128::from(cents(i)));
            instants.append_value(instant(i));
        }
        fields.push(Field::new("id", DataType::Int64, false));
        columns.push(Arc::new(ids.finish()));
        fields.push(Field::new("amount", DataType::Decimal128(12, 2), true));
        columns.push(Arc::new(amounts.finish()));
        fields.push(Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            true,
        ));
        columns.push(Arc::new(instants.finish()));
    }
    for (position, name) in TEXT_COLUMNS.iter().enumerate() {
        let mut builder = StringBuilder::with_capacity(rows, rows * 16);
        for i in 0..rows {
            match position {
                0 => builder.append_value(format!("  Customer {i} ")),
                1 => builder.append_value(format!("user{i}@example.com")),
                2 => builder.append_value(["Paris", "Lyon", "Zürich", "Köln"][i % 4]),
                _ if i % 10 == 0 => builder.append_null(),
                _ => builder.append_value(format!("{name} value {}", i % 1000)),
            }
        }
        fields.push(Field::new(*name, DataType::Utf8, true));
        columns.push(Arc::new(builder.finish()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map(Batch::new)
        .map_err(error)
}

/// The row path: what `apply_batch` did before it ran on columns.
fn by_rows(mapping: &CompiledMapping, batch: &Batch) -> (Batch, usize) {
    let mut mapped = Vec::with_capacity(batch.len());
    let mut rejected = 0;
    for record in batch.to_records() {
        match mapping.apply(&record) {
            Ok(output) => mapped.push(output),
            Err(_) => rejected += 1,
        }
    }
    (Batch::from_records(&mapped), rejected)
}

fn bench(
    case: &str,
    mapping: &CompiledMapping,
    all: &Batch,
    batch_size: usize,
    columnar_only: bool,
) -> Result<(), String> {
    let first = all.slice(0, batch_size);
    let (rows_output, rows_rejected) = by_rows(mapping, &first);
    let columnar = mapping.apply_batch(&first);
    if rows_output.to_records() != columnar.batch.to_records()
        || rows_rejected != columnar.rejects.len()
    {
        return Err(format!("{case}: the two paths disagree on the first batch"));
    }

    let mut row_time = Duration::ZERO;
    let mut columnar_time = Duration::ZERO;
    let mut written = (0usize, 0usize);
    let mut offset = 0;
    while offset < all.len() {
        let batch = all.slice(offset, batch_size);
        offset += batch.len();
        if !columnar_only {
            let started = Instant::now();
            let (output, _) = by_rows(mapping, &batch);
            row_time += started.elapsed();
            written.0 += output.len();
        }
        let started = Instant::now();
        let mapped = mapping.apply_batch(&batch);
        columnar_time += started.elapsed();
        written.1 += mapped.batch.len();
    }
    let rows = all.len();
    let line = |path: &str, elapsed: Duration, written: usize| {
        let seconds = elapsed.as_secs_f64();
        #[allow(clippy::cast_precision_loss)]
        let (per_second, nanos) = (rows as f64 / seconds, seconds * 1e9 / rows as f64);
        println!(
            "{case:>5} {path:>8}: {per_second:>13.0} rows/s {nanos:>9.1} ns/row ({written} rows written)"
        );
    };
    line("rows", row_time, written.0);
    line("columnar", columnar_time, written.1);
    println!(
        "{case:>5}  speed-up: {:.1}x",
        row_time.as_secs_f64() / columnar_time.as_secs_f64()
    );
    Ok(())
}
