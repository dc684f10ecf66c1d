//! How long one `PolicySet::denials` call takes, on one thread, for a policy of two attribute
//! rules (restricted resources need clearance ≥ 3; operators change nothing outside
//! 09:00–17:00 UTC, from `context.time`).
//!
//! Inputs: 1,024 decision inputs of the documented shape (subjects with roles, groups and a
//! clearance; resources with a classification; times across the day), about a third of them
//! denied. Printed, in ns per call and calls per second:
//! - `denials(&serde_json::Value)`: the JSON input converted to a regorus value, then one
//!   evaluation of every `deny` rule (the RVM program);
//! - `denials_value(Value)`: the same with the input already a regorus value (a clone is a
//!   reference count), i.e. the evaluation alone;
//! - the conversion alone;
//! - `denials_value` on the interpreter backend (the fallback), for comparison.
//!
//! The example checks that both backends give the same denials on every input.
//!
//! `cargo run --release -p authz --example policy_eval_speed [seconds per measure]`

use std::time::{Duration, Instant};

use authz::policy::{Backend, PolicySet, PolicySource, RegoValue};
use serde::Deserialize as _;
use serde_json::{Value, json};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const POLICY: &str = r#"package grimos.policies.attributes

deny contains "restricted data needs clearance 3 or more" if {
	input.resource.attributes.classification == "restricted"
	object.get(input.subject.attributes, "clearance", 0) < 3
}

deny contains msg if {
	"operator" in input.subject.roles
	input.action != "view"
	[hour, _, _] := time.clock([time.parse_rfc3339_ns(input.context.time), "UTC"])
	not during_business_hours(hour)
	msg := sprintf("operators may not %s outside 09:00-17:00 UTC", [input.action])
}

during_business_hours(hour) if {
	hour >= 9
	hour < 17
}
"#;

fn inputs() -> Vec<Value> {
    let roles = ["member", "operator", "viewer", "admin"];
    let actions = ["view", "edit", "run", "delete"];
    (0..1024u32)
        .map(|i| {
            let classification = if i % 7 == 0 { "restricted" } else { "internal" };
            json!({
                "subject": {
                    "id": format!("user:{i:04}"),
                    "kind": "user",
                    "roles": [roles[(i % 4) as usize]],
                    "groups": [format!("group:g{}#member", i % 10)],
                    "attributes": {"clearance": i % 6}
                },
                "action": actions[(i / 4 % 4) as usize],
                "resource": {
                    "type": "connector",
                    "id": format!("{i:08x}"),
                    "owner": "user:0001",
                    "attributes": {"classification": classification}
                },
                "context": {
                    "time": format!("2025-01-06T{:02}:{:02}:00Z", i % 24, i % 60),
                    "ip": "10.0.0.7",
                    "request_id": format!("req-{i}")
                },
                "relationship": {"allowed": true, "path": ["connector:x#editor", "user:x"]}
            })
        })
        .collect()
}

/// Run `f` over the inputs for about `budget`; return ns per call.
fn measure<T>(count: usize, budget: Duration, mut f: impl FnMut(usize) -> T) -> f64 {
    // Warm-up: fills the worker pool and the caches.
    for i in 0..count {
        std::hint::black_box(f(i));
    }
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < budget {
        for i in 0..count {
            std::hint::black_box(f(i));
        }
        calls += count as u64;
    }
    start.elapsed().as_nanos() as f64 / calls as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 2.0,
    };
    let budget = Duration::from_secs_f64(seconds);
    let policies = vec![PolicySource::new("attributes", 1, POLICY)];
    let start = Instant::now();
    let rvm = PolicySet::compile(policies.clone())?;
    let compile = start.elapsed();
    let interpreter = PolicySet::compile_with_backend(policies, &json!({}), Backend::Interpreter)?;
    assert_eq!(rvm.backend(), Backend::Rvm);

    let json_inputs = inputs();
    let values: Vec<RegoValue> = json_inputs
        .iter()
        .map(RegoValue::deserialize)
        .collect::<Result<_, _>>()?;
    let mut denied = 0;
    for (json, value) in json_inputs.iter().zip(&values) {
        let a = rvm.denials(json)?;
        let b = interpreter.denials_value(value.clone())?;
        if a != b {
            return Err(format!("the backends disagree on {json}: {a:?} / {b:?}").into());
        }
        denied += usize::from(!a.is_empty());
    }

    let n = json_inputs.len();
    let from_json = measure(n, budget, |i| rvm.denials(&json_inputs[i]).map(|d| d.len()));
    let from_value = measure(n, budget, |i| {
        rvm.denials_value(values[i].clone()).map(|d| d.len())
    });
    let convert = measure(n, budget, |i| {
        RegoValue::deserialize(&json_inputs[i]).is_ok()
    });
    let interpreted = measure(n, budget, |i| {
        interpreter
            .denials_value(values[i].clone())
            .map(|d| d.len())
    });

    println!(
        "policy of two attribute rules, {n} inputs ({denied} denied), compiled in {:.2} ms",
        compile.as_secs_f64() * 1e3
    );
    for (label, ns) in [
        ("denials(&serde_json::Value), RVM", from_json),
        ("denials_value(RegoValue), RVM   ", from_value),
        ("serde_json::Value -> RegoValue  ", convert),
        ("denials_value, interpreter      ", interpreted),
    ] {
        println!("{label}: {ns:>8.0} ns/eval  {:>10.0} evals/s", 1e9 / ns);
    }
    Ok(())
}
