//! Applies two mappings to 1,000,000 records each and prints records per second:
//!
//! - `crm`: a 6-rule mapping (casts, transforms, concat, lookup, a nested target) over
//!   1,000 generated records applied in turn;
//! - `flow`: the mapping of the PostgreSQL → PostgreSQL flow benchmark (five copied
//!   columns, one of them upper-cased, and a constant) over freshly generated records
//!   (only `apply` is timed, not making the records).
//!
//! `cargo run --release -p mapping --example bench_mapping [records] [crm|flow]`
//! (both cases when the second argument is absent).

use std::time::{Duration, Instant};

use mapping::{CompiledMapping, Mapping, MappingSpec, Record};
use serde_json::{Value, json};

const CODES: [&str; 3] = ["G", "S", "X"];

/// Records made (untimed) and mapped (timed) at a time by the `flow` case.
const FLOW_BATCH: usize = 10_000;

fn main() -> Result<(), String> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let case = std::env::args().nth(2);
    if case.as_deref().is_none_or(|case| case == "crm") {
        bench_crm(count)?;
    }
    if case.as_deref().is_none_or(|case| case == "flow") {
        bench_flow(count)?;
    }
    Ok(())
}

fn compile(rules: Value) -> Result<CompiledMapping, String> {
    let spec =
        MappingSpec::from_json_value(json!({ "rules": rules })).map_err(|e| format!("{e:?}"))?;
    Mapping::compile(&spec).map_err(|e| format!("{e:?}"))
}

fn object(value: Value) -> Record {
    match value {
        Value::Object(record) => record,
        _ => Record::new(),
    }
}

fn bench_crm(count: usize) -> Result<(), String> {
    let mapping = compile(json!([
        {"target": "customer_id", "source": "id", "cast": "int"},
        {"target": "email", "source": "email", "transform": ["trim", "lower"]},
        {"target": "full_name", "concat": {"sources": ["first", "last"], "separator": " "}},
        {"target": "billing.country", "source": "address.country", "default": "US"},
        {"target": "tier", "source": "code", "transform": [{"lookup": {"table": {"G": "gold", "S": "silver"}, "fallback": "basic"}}]},
        {"target": "created_at", "source": "created", "cast": "timestamp", "timezone": "Europe/Paris"},
    ]))?;

    let records: Vec<Record> = (0..1000)
        .map(|i| {
            object(json!({
                "id": i.to_string(),
                "email": format!("  User{i}@Example.COM "),
                "first": "Ada", "last": format!("Lovelace{i}"),
                "address": if i % 3 == 0 { json!({}) } else { json!({"country": "FR"}) },
                "code": CODES[i % 3],
                "created": format!("2024-03-{:02} 10:{:02}:00", 1 + i % 28, i % 60),
            }))
        })
        .collect();

    let started = Instant::now();
    let mut written = 0usize;
    let mut failed = 0usize;
    for index in 0..count {
        match mapping.apply(&records[index % records.len()]) {
            Ok(output) => written += output.len(),
            Err(_) => failed += 1,
        }
    }
    report("crm", count, started.elapsed(), failed, written);
    Ok(())
}

fn bench_flow(count: usize) -> Result<(), String> {
    let mapping = compile(json!([
        {"target": "id", "source": "id"},
        {"target": "name", "source": "name", "transform": ["upper"]},
        {"target": "amount", "source": "amount"},
        {"target": "created_at", "source": "created_at"},
        {"target": "payload", "source": "payload"},
        {"target": "source", "constant": "pg"},
    ]))?;

    let mut elapsed = Duration::ZERO;
    let mut written = 0usize;
    let mut failed = 0usize;
    let mut made = 0usize;
    while made < count {
        let records: Vec<Record> = (made..count.min(made + FLOW_BATCH))
            .map(|i| {
                object(json!({
                    "id": i,
                    "name": format!("name {i}"),
                    "amount": format!("{}.{:02}", i % 10_000, i % 100),
                    "created_at": format!("2024-01-01T{:02}:{:02}:{:02}Z", i / 3600 % 24, i / 60 % 60, i % 60),
                    "payload": {"k": i % 1000, "tags": ["a", "b"]},
                }))
            })
            .collect();
        made += records.len();
        let started = Instant::now();
        for record in &records {
            match mapping.apply(record) {
                Ok(output) => written += output.len(),
                Err(_) => failed += 1,
            }
        }
        elapsed += started.elapsed();
    }
    report("flow", count, elapsed, failed, written);
    Ok(())
}

fn report(case: &str, count: usize, elapsed: Duration, failed: usize, written: usize) {
    let seconds = elapsed.as_secs_f64();
    println!(
        "{case}: {count} records in {seconds:.2} s: {:.0} records/s ({failed} failed, {written} fields)",
        count as f64 / seconds
    );
}
