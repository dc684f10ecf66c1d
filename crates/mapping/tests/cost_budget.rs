#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The cost budget of CEL expressions, tested as an attacker writing a mapping would: an
//! expression that would run away is refused when the mapping is compiled, or refused on
//! the record that would make it run away — quickly, with a clear error, never a hang.

use std::time::{Duration, Instant};

use mapping::{Mapping, MappingSpec};
use serde_json::{Value, json};

fn compile_error(expr: &str) -> String {
    let spec =
        MappingSpec::from_json_value(json!({"rules": [{"target": "x", "expr": expr}]})).unwrap();
    let errors = Mapping::compile(&spec).unwrap_err();
    assert_eq!(errors[0].path, "/rules/0/expr", "{errors:?}");
    errors[0].message.clone()
}

/// Applies a one-rule mapping to `record`, asserting it answers within `limit`.
fn apply_within(expr: &str, record: &Value, limit: Duration) -> Result<Value, String> {
    let spec =
        MappingSpec::from_json_value(json!({"rules": [{"target": "x", "expr": expr}]})).unwrap();
    let mapping = Mapping::compile(&spec).unwrap();
    let started = Instant::now();
    let result = mapping
        .apply_value(record)
        .map(|output| output["x"].clone())
        .map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        });
    let took = started.elapsed();
    assert!(took < limit, "{expr}: took {took:?}");
    result
}

#[test]
fn exponential_string_growth_is_refused_at_compile_time() {
    // Each `replace` of the empty string inserts the replacement between every two
    // characters: 40 calls ask for 9^40 bytes. Without the budget this never returns.
    let expr = format!("'abcdefgh'{}", ".replace('', 'abcdefgh')".repeat(40));
    let message = compile_error(&expr);
    assert!(message.contains("too costly"), "{message}");

    // The same doubling written by nesting the record's own text into itself.
    let expr = format!("record.s{}", ".replace('', record.s)".repeat(6));
    let message = compile_error(&expr);
    assert!(message.contains("to the power 4"), "{message}");
}

#[test]
fn joins_built_from_formats_and_splits_are_bounded_too() {
    let expr = format!("record.s{}", ".split('').join(record.s)".repeat(6));
    assert!(compile_error(&expr).contains("too costly"));
}

#[test]
fn deep_nesting_is_refused_at_compile_time() {
    let brackets = format!("{}1{}", "[".repeat(40), "]".repeat(40));
    assert!(compile_error(&brackets).contains("nests deeper"));

    let macros = "record.l.exists(a, record.l.exists(b, record.l.exists(c, \
                  record.l.exists(d, record.l.exists(e, a == e)))))";
    let message = compile_error(macros);
    assert!(message.contains("nests macros"), "{message}");
}

#[test]
fn a_quadratic_expression_runs_on_a_normal_record_and_is_stopped_on_a_huge_one() {
    let expr = "record.a.exists(x, record.b.exists(y, x == y))";
    let small = json!({"a": (0..100).collect::<Vec<_>>(), "b": (100..200).collect::<Vec<_>>()});
    assert_eq!(
        apply_within(expr, &small, Duration::from_secs(5)),
        Ok(json!(false))
    );

    // 20 000 x 20 000 comparisons (minutes in the interpreter): refused before evaluating.
    let huge = json!({
        "a": (0..20_000).collect::<Vec<_>>(),
        "b": (20_000..40_000).collect::<Vec<_>>(),
    });
    let error = apply_within(expr, &huge, Duration::from_secs(5)).unwrap_err();
    assert!(
        error.contains("too costly for this record") && error.contains("over the budget"),
        "{error}"
    );
}

#[test]
fn the_largest_record_the_budget_admits_is_evaluated_in_bounded_time() {
    // Find the largest lists the budget lets through, then time the evaluation there: the
    // budget must mean "seconds at most, even unoptimised", not just "finite". The bound
    // depends on the sizes only, so the search uses lists whose first elements match
    // (`exists` stops at once) and the timing lists that never match (every pair compared).
    let expr = "record.a.exists(x, record.b.exists(y, x == y))";
    let lists = |n: i64, offset: i64| json!({"a": (0..n).collect::<Vec<_>>(), "b": (offset..offset + n).collect::<Vec<_>>()});
    let (mut admitted, mut refused) = (100, 20_000);
    while refused - admitted > 5 {
        let middle = (admitted + refused) / 2;
        match apply_within(expr, &lists(middle, 0), Duration::from_secs(5)) {
            Ok(found) => {
                assert_eq!(found, json!(true));
                admitted = middle;
            }
            Err(error) => {
                assert!(error.contains("over the budget"), "{error}");
                refused = middle;
            }
        }
    }
    assert!(
        admitted >= 500,
        "the budget admits only {admitted} x {admitted}"
    );
    let result = apply_within(expr, &lists(admitted, admitted), Duration::from_secs(20));
    assert_eq!(result, Ok(json!(false)));
}

#[test]
fn everyday_expressions_are_not_refused_on_large_records() {
    // About half a megabyte of line items.
    let items: Vec<Value> = (0..20_000)
        .map(|i| json!({"sku": format!("SKU-{i}"), "qty": i % 7, "price": 2.5}))
        .collect();
    let record = json!({"first": "Ada", "last": "Lovelace", "items": items});
    assert_eq!(
        apply_within(
            "record.first + ' ' + record.last",
            &record,
            Duration::from_secs(10)
        ),
        Ok(json!("Ada Lovelace"))
    );
    let total = apply_within(
        "record.items.map(i, i.qty).filter(q, q > 5).size()",
        &record,
        Duration::from_secs(30),
    );
    assert_eq!(total, Ok(json!(2857)));
    // A record of several megabytes still maps with a plain expression.
    let big = json!({"first": "x".repeat(4_000_000), "last": "y"});
    let joined = apply_within("record.first + record.last", &big, Duration::from_secs(10)).unwrap();
    assert_eq!(joined.as_str().map(str::len), Some(4_000_001));
}
