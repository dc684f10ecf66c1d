//! Applying a [`CompiledMapping`] to records.
//!
//! Work per record is linear in the size of the record and of the mapping (CEL macros can
//! nest loops over the record's arrays, bounded by the expression's length limit). Nothing
//! here panics: every failure becomes a [`RecordError`] naming the rule and the target.

use serde_json::{Map, Value};

use crate::cast::describe;
use crate::compile::{CompiledMapping, CompiledRule, Producer};
use crate::error::RecordError;
use crate::expr::{Expression, Scope};
use crate::path::{FieldPath, Segment};

/// A source or target record: a JSON object.
pub type Record = Map<String, Value>;

impl CompiledMapping {
    /// Maps one record, returning every rule error (the record is not written when any).
    pub fn apply(&self, record: &Record) -> Result<Record, Vec<RecordError>> {
        let mut errors = Vec::new();
        let output = apply_rules(&self.rules, record, None, &mut errors);
        if errors.is_empty() {
            Ok(output)
        } else {
            Err(errors)
        }
    }

    /// Maps any JSON value: an object is a record; anything else is an error.
    pub fn apply_value(&self, value: &Value) -> Result<Value, Vec<RecordError>> {
        match value {
            Value::Object(record) => self.apply(record).map(Value::Object),
            other => Err(vec![RecordError {
                rule: 0,
                target: String::new(),
                message: format!("a record must be a JSON object, got {}", describe(other)),
            }]),
        }
    }

    /// Maps one record, returning what could be built along with the errors.
    pub fn apply_partial(&self, record: &Record) -> (Record, Vec<RecordError>) {
        let mut errors = Vec::new();
        let output = apply_rules(&self.rules, record, None, &mut errors);
        (output, errors)
    }
}

/// Where nested rules are, to name targets like `lines[3].sku` only when an error needs it.
#[derive(Clone, Copy)]
struct Trail<'a> {
    parent: Option<&'a Trail<'a>>,
    target: &'a str,
    item: Option<usize>,
}

impl Trail<'_> {
    fn name(trail: Option<&Trail<'_>>, target: &str) -> String {
        let mut parts = Vec::new();
        let mut current = trail;
        while let Some(step) = current {
            parts.push(match step.item {
                Some(item) => format!("{}[{item}]", step.target),
                None => step.target.to_string(),
            });
            current = step.parent;
        }
        parts.reverse();
        parts.push(target.to_string());
        parts.join(".")
    }
}

fn apply_rules(
    rules: &[CompiledRule],
    record: &Record,
    trail: Option<&Trail<'_>>,
    errors: &mut Vec<RecordError>,
) -> Record {
    let mut output = Record::new();
    let mut scope: Option<Result<Scope, String>> = None;
    for rule in rules {
        let fail = |errors: &mut Vec<RecordError>, message: String| {
            errors.push(RecordError {
                rule: rule.index,
                target: Trail::name(trail, &rule.target_text),
                message,
            });
        };
        match evaluate(rule, record, &mut scope, trail, errors) {
            Ok(Some(value)) if rule.required && value.is_null() => {
                fail(errors, "the value is null and the rule is required".into());
            }
            Ok(Some(value)) => {
                if let Err(message) = write(&mut output, &rule.target, value) {
                    fail(errors, message);
                }
            }
            Ok(None) if rule.required => {
                fail(
                    errors,
                    "the value is missing and the rule is required".into(),
                );
            }
            Ok(None) => {}
            Err(message) => fail(errors, message),
        }
    }
    output
}

fn evaluate(
    rule: &CompiledRule,
    record: &Record,
    scope: &mut Option<Result<Scope, String>>,
    trail: Option<&Trail<'_>>,
    errors: &mut Vec<RecordError>,
) -> Result<Option<Value>, String> {
    let mut value = match &rule.condition {
        Some(condition) if !run_condition(&condition.when, record, scope)? => {
            condition.otherwise.clone()
        }
        _ => produce(rule, record, scope, trail, errors)?,
    };
    if let Some(default) = &rule.default
        && value.as_ref().is_none_or(Value::is_null)
    {
        value = Some(default.clone());
    }
    let Some(mut value) = value else {
        return Ok(None);
    };
    for (position, step) in rule.steps.iter().enumerate() {
        value = step
            .apply(value)
            .map_err(|reason| format!("transform {position} ({}): {reason}", step.name()))?;
    }
    if let Some(cast) = &rule.cast {
        value = cast.apply(value)?;
    }
    Ok(Some(value))
}

fn scope_of<'s>(
    record: &Record,
    scope: &'s mut Option<Result<Scope, String>>,
) -> Result<&'s Scope, String> {
    scope
        .get_or_insert_with(|| Scope::new(record))
        .as_ref()
        .map_err(Clone::clone)
}

fn run_condition(
    when: &Expression,
    record: &Record,
    scope: &mut Option<Result<Scope, String>>,
) -> Result<bool, String> {
    when.evaluate_condition(scope_of(record, scope)?)
}

fn produce(
    rule: &CompiledRule,
    record: &Record,
    scope: &mut Option<Result<Scope, String>>,
    trail: Option<&Trail<'_>>,
    errors: &mut Vec<RecordError>,
) -> Result<Option<Value>, String> {
    Ok(match &rule.producer {
        Producer::Source(path) => path.lookup(record).cloned(),
        Producer::Coalesce(paths) => paths
            .iter()
            .filter_map(|path| path.lookup(record))
            .find(|value| !value.is_null())
            .cloned(),
        Producer::Concat { sources, separator } => concat(sources, separator, record)?,
        Producer::Constant(value) => Some(value.clone()),
        Producer::Expr(expression) => Some(expression.evaluate(scope_of(record, scope)?)?),
        Producer::Nothing => None,
        Producer::Nested { source, rules } => {
            let here = Trail {
                parent: trail,
                target: &rule.target_text,
                item: None,
            };
            match source {
                None => Some(Value::Object(apply_rules(
                    rules,
                    record,
                    Some(&here),
                    errors,
                ))),
                Some(path) => {
                    match path.lookup(record) {
                        None => None,
                        Some(Value::Null) => Some(Value::Null),
                        Some(Value::Object(object)) => Some(Value::Object(apply_rules(
                            rules,
                            object,
                            Some(&here),
                            errors,
                        ))),
                        Some(Value::Array(items)) => {
                            let mut outputs = Vec::with_capacity(items.len());
                            for (position, item) in items.iter().enumerate() {
                                let element = Trail {
                                    item: Some(position),
                                    ..here
                                };
                                match item {
                                    Value::Object(object) => outputs.push(Value::Object(
                                        apply_rules(rules, object, Some(&element), errors),
                                    )),
                                    other => {
                                        return Err(format!(
                                            "item {position} of `{path}` is {}, not an object",
                                            describe(other)
                                        ));
                                    }
                                }
                            }
                            Some(Value::Array(outputs))
                        }
                        Some(other) => {
                            return Err(format!(
                                "`{path}` is {}, not an array or object",
                                describe(other)
                            ));
                        }
                    }
                }
            }
        }
    })
}

fn concat(
    sources: &[FieldPath],
    separator: &str,
    record: &Record,
) -> Result<Option<Value>, String> {
    let mut joined: Option<String> = None;
    for path in sources {
        let part = match path.lookup(record) {
            None | Some(Value::Null) => continue,
            Some(Value::String(text)) => text.as_str(),
            Some(value @ (Value::Number(_) | Value::Bool(_))) => {
                let text = value.to_string();
                push_part(&mut joined, &text, separator);
                continue;
            }
            Some(other) => {
                return Err(format!("cannot concat `{path}`: it is {}", describe(other)));
            }
        };
        push_part(&mut joined, part, separator);
    }
    Ok(joined.map(Value::String))
}

fn push_part(joined: &mut Option<String>, part: &str, separator: &str) {
    match joined {
        Some(text) => {
            text.push_str(separator);
            text.push_str(part);
        }
        None => *joined = Some(part.to_string()),
    }
}

/// Writes `value` at a keys-only `target`, creating intermediate objects.
fn write(output: &mut Record, target: &FieldPath, value: Value) -> Result<(), String> {
    let Some((last, parents)) = target.segments().split_last() else {
        return Err("the target path is empty".into());
    };
    let mut current = output;
    for segment in parents {
        let Segment::Key(key) = segment else {
            return Err("a target path cannot contain array indexes".into());
        };
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        current = match entry {
            Value::Object(object) => object,
            _ => {
                return Err(format!(
                    "`{key}` is already set to a value that is not an object"
                ));
            }
        };
    }
    let Segment::Key(key) = last else {
        return Err("a target path cannot contain array indexes".into());
    };
    current.insert(key.clone(), value);
    Ok(())
}
