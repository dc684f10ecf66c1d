//! Applies a 6-rule mapping to 1,000,000 generated records and prints records per second.
//!
//! `cargo run --release -p mapping --example bench_mapping [records]`

use std::time::Instant;

use mapping::{Mapping, MappingSpec, Record};
use serde_json::{Value, json};

const CODES: [&str; 3] = ["G", "S", "X"];

fn main() -> Result<(), String> {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let spec = MappingSpec::from_json_value(json!({"rules": [
        {"target": "customer_id", "source": "id", "cast": "int"},
        {"target": "email", "source": "email", "transform": ["trim", "lower"]},
        {"target": "full_name", "concat": {"sources": ["first", "last"], "separator": " "}},
        {"target": "billing.country", "source": "address.country", "default": "US"},
        {"target": "tier", "source": "code", "transform": [{"lookup": {"table": {"G": "gold", "S": "silver"}, "fallback": "basic"}}]},
        {"target": "created_at", "source": "created", "cast": "timestamp", "timezone": "Europe/Paris"},
    ]}))
    .map_err(|e| format!("{e:?}"))?;
    let mapping = Mapping::compile(&spec).map_err(|e| format!("{e:?}"))?;

    let records: Vec<Record> = (0..1000)
        .map(|i| {
            match json!({
                "id": i.to_string(),
                "email": format!("  User{i}@Example.COM "),
                "first": "Ada", "last": format!("Lovelace{i}"),
                "address": if i % 3 == 0 { json!({}) } else { json!({"country": "FR"}) },
                "code": CODES[i % 3],
                "created": format!("2024-03-{:02} 10:{:02}:00", 1 + i % 28, i % 60),
            }) {
                Value::Object(record) => record,
                _ => Record::new(),
            }
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
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{count} records in {seconds:.2} s: {:.0} records/s ({failed} failed, {written} fields)",
        count as f64 / seconds
    );
    Ok(())
}
