//! The expression language: [CEL](https://cel.dev) through the `cel` crate.
//!
//! Why CEL: it is designed to be embedded and evaluated on untrusted input — no I/O, no
//! loops or recursion (only macros over finite lists: `map`, `filter`, `all`, `exists`), so
//! evaluation is bounded by the size of the expression and of the record; it is the
//! language Kubernetes, Envoy and Google's IAM use, so users may already know it; its
//! operators cover what rules do not (`record.first + ' ' + record.last`, ternaries,
//! arithmetic, `matches`, `size`, timestamps). The `cel` crate (cel-rust) is actively
//! released, pure Rust, and reports parse errors with line and column. JMESPath was the
//! runner-up: good at projections but weak at arithmetic and conditions; the JSONata and
//! Bloblang ports are incomplete or unmaintained.
//!
//! Expressions are compiled once (syntax errors surface when the mapping is compiled) and
//! evaluated per record with the record bound to `record`. Each has a cost budget
//! ([`crate::cost`]): an expression that could not fit it is refused when it is compiled,
//! and a record on which it would exceed it is refused before it is evaluated — an
//! evaluation never runs away. Evaluation runs inside `catch_unwind`, so a bug in the
//! interpreter fails the record instead of the flow.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock};

use cel::{Context, Env, Program};
use serde_json::{Map, Number, Value};

use crate::cost::{self, COST_BUDGET, Poly};

/// The longest expression accepted, in bytes.
pub const MAX_EXPRESSION_LENGTH: usize = 4096;
/// The deepest nesting of brackets accepted (bounds the parser's recursion).
pub const MAX_NESTING: usize = 32;
/// The deepest JSON nesting handed to an expression; deeper values become null.
const MAX_VALUE_DEPTH: usize = 64;

/// The name the source record is bound to.
pub const RECORD_VARIABLE: &str = "record";

static ENVIRONMENT: LazyLock<Option<Arc<Env>>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    env.add_extension(cel::extensions::strings).ok()?;
    Some(Arc::new(env))
});

/// A compiled CEL expression.
pub struct Expression {
    program: Program,
    source: String,
    /// The bound of its cost by the size of the record.
    cost: Poly,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expression")
            .field("source", &self.source)
            .finish()
    }
}

impl Expression {
    /// Compiles an expression; the error is a message for the spec author.
    pub fn compile(source: &str) -> Result<Self, String> {
        if source.trim().is_empty() {
            return Err("the expression is empty".into());
        }
        if source.len() > MAX_EXPRESSION_LENGTH {
            return Err(format!(
                "the expression is longer than {MAX_EXPRESSION_LENGTH} bytes"
            ));
        }
        check_nesting(source)?;
        let env = environment()?;
        let compiled = catch_unwind(AssertUnwindSafe(|| env.compile(source)))
            .map_err(|_| "the expression could not be parsed".to_string())?;
        let program = compiled.map_err(|e| format!("invalid CEL expression: {e}"))?;
        let cost = cost::analyze(program.expression())?;
        Ok(Self {
            program,
            source: source.to_string(),
            cost,
        })
    }

    /// The expression text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the expression in `scope` and converts the result to JSON; refuses,
    /// without evaluating it, when its cost on this record could exceed the budget.
    pub fn evaluate(&self, scope: &Scope) -> Result<Value, String> {
        let bound = self.cost.at(scope.units);
        if bound > COST_BUDGET {
            return Err(format!(
                "the expression is too costly for this record: up to {bound:.0} steps on a \
                 record of {:.0} units, over the budget of {COST_BUDGET} steps",
                scope.units
            ));
        }
        let result = catch_unwind(AssertUnwindSafe(|| self.program.execute(&scope.context)))
            .map_err(|_| "the expression failed unexpectedly".to_string())?;
        let value = result.map_err(|e| format!("expression failed: {e}"))?;
        cel_to_json(&value, 0)
    }

    /// Evaluates a condition: true, false, or an error when the result is not a boolean.
    pub fn evaluate_condition(&self, scope: &Scope) -> Result<bool, String> {
        match self.evaluate(scope)? {
            Value::Bool(flag) => Ok(flag),
            other => Err(format!(
                "the `when` condition returned {}, not a boolean",
                crate::cast::describe(&other)
            )),
        }
    }
}

fn environment() -> Result<Arc<Env>, String> {
    ENVIRONMENT
        .as_ref()
        .cloned()
        .ok_or_else(|| "the CEL environment could not be set up".to_string())
}

fn check_nesting(source: &str) -> Result<(), String> {
    let mut depth = 0usize;
    for c in source.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(format!(
                        "the expression nests deeper than {MAX_NESTING} levels"
                    ));
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The variables of one evaluation: the record bound to `record`, converted once per record.
pub struct Scope {
    context: Context<'static, 'static>,
    /// The record's size as the cost budget counts it: string bytes, plus one per value,
    /// element and key.
    units: f64,
}

impl Scope {
    /// A scope for `record`.
    pub fn new(record: &Map<String, Value>) -> Result<Self, String> {
        let mut context = Context::with_env(environment()?);
        let mut units = 0;
        context.add_variable_from_value(RECORD_VARIABLE, map_to_cel(record, 0, &mut units));
        Ok(Self {
            context,
            units: units as f64,
        })
    }
}

fn json_to_cel(value: &Value, depth: usize, units: &mut usize) -> cel::Value {
    *units += 1;
    if depth > MAX_VALUE_DEPTH {
        return cel::Value::Null;
    }
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(flag) => cel::Value::Bool(*flag),
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                cel::Value::Int(int)
            } else if let Some(unsigned) = number.as_u64() {
                cel::Value::UInt(unsigned)
            } else {
                cel::Value::Float(number.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(text) => {
            *units += text.len();
            cel::Value::String(Arc::new(text.clone()))
        }
        Value::Array(items) => cel::Value::List(Arc::new(
            items
                .iter()
                .map(|v| json_to_cel(v, depth + 1, units))
                .collect(),
        )),
        Value::Object(map) => map_to_cel(map, depth, units),
    }
}

fn map_to_cel(map: &Map<String, Value>, depth: usize, units: &mut usize) -> cel::Value {
    let entries: std::collections::HashMap<String, cel::Value> = map
        .iter()
        .map(|(k, v)| {
            *units += k.len() + 1;
            (k.clone(), json_to_cel(v, depth + 1, units))
        })
        .collect();
    cel::Value::from(entries)
}

fn cel_to_json(value: &cel::Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_VALUE_DEPTH {
        return Err("the expression result nests too deep".into());
    }
    Ok(match value {
        cel::Value::Null => Value::Null,
        cel::Value::Bool(flag) => Value::Bool(*flag),
        cel::Value::Int(int) => Value::from(*int),
        cel::Value::UInt(unsigned) => Value::from(*unsigned),
        cel::Value::Float(float) => Number::from_f64(*float)
            .map(Value::Number)
            .ok_or("the expression returned a number that is not finite")?,
        cel::Value::String(text) => Value::String(text.to_string()),
        cel::Value::List(items) => Value::Array(
            items
                .iter()
                .map(|v| cel_to_json(v, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        cel::Value::Map(map) => {
            let mut object = Map::new();
            for (key, item) in map.map.iter() {
                object.insert(key.to_string(), cel_to_json(item, depth + 1)?);
            }
            Value::Object(object)
        }
        cel::Value::Timestamp(instant) => Value::String(
            instant
                .with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        ),
        other => {
            return Err(format!(
                "the expression returned a {} value, which has no JSON form",
                other.type_of()
            ));
        }
    })
}
