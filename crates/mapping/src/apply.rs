//! Applying a [`CompiledMapping`] to records.
//!
//! Work per record is linear in the size of the record and of the mapping (CEL macros can
//! nest loops over the record's arrays, bounded by the expression's length limit). Nothing
//! here panics: every failure becomes a [`RecordError`] naming the rule and the target.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::cast::describe;
use crate::compile::{CompiledMapping, CompiledRule, Producer, RuleSet};
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
    rules: &RuleSet,
    record: &Record,
    trail: Option<&Trail<'_>>,
    errors: &mut Vec<RecordError>,
) -> Record {
    let mut scope: Option<Result<Scope, String>> = None;
    let fail = |rule: &CompiledRule, errors: &mut Vec<RecordError>, message| {
        errors.push(RecordError {
            rule: rule.index,
            target: Trail::name(trail, &rule.target_text),
            message,
        });
    };
    match &rules.keys {
        Some(keys) => {
            // Fields in rule order; collecting sorts them once and builds the record.
            let mut fields = Vec::with_capacity(keys.len());
            for (rule, key) in rules.rules.iter().zip(keys) {
                // Two closures, so the common one (a one-key target) stays small.
                let added = match rule.target.segments().get(1..) {
                    Some(rest) if !rest.is_empty() => {
                        let put = |value| add_nested(&mut fields, key, rest, value);
                        apply_rule(rule, record, put, &mut scope, trail, errors)
                    }
                    _ => {
                        let put = |value| {
                            fields.push((key.clone(), value));
                            Ok(())
                        };
                        apply_rule(rule, record, put, &mut scope, trail, errors)
                    }
                };
                if let Err(message) = added {
                    fail(rule, errors, message);
                }
            }
            fields.into_iter().collect()
        }
        None => {
            let mut output = Record::new();
            for rule in &rules.rules {
                let put = |value| write(&mut output, rule.target.segments(), value);
                if let Err(message) = apply_rule(rule, record, put, &mut scope, trail, errors) {
                    fail(rule, errors, message);
                }
            }
            output
        }
    }
}

/// Adds the field of a rule whose target is `key` then `rest` (no other rule of the set
/// writes under `key`): an object holding the value at `rest`, as [`write`] makes it in
/// an empty record.
fn add_nested(
    fields: &mut Vec<(String, Value)>,
    key: &str,
    rest: &[Segment],
    value: Value,
) -> Result<(), String> {
    let mut object = Record::new();
    let written = write(&mut object, rest, value);
    fields.push((key.to_string(), Value::Object(object)));
    written
}

/// Evaluates one rule and hands its value (if any) to `put`. Values taken from the
/// record or the spec stay borrowed until then, so transforms and casts read them instead
/// of copying them first.
fn apply_rule(
    rule: &CompiledRule,
    record: &Record,
    put: impl FnOnce(Value) -> Result<(), String>,
    scope: &mut Option<Result<Scope, String>>,
    trail: Option<&Trail<'_>>,
    errors: &mut Vec<RecordError>,
) -> Result<(), String> {
    // The common rule that copies a value as is: no need to go through the steps below.
    if rule.is_plain() {
        match &rule.producer {
            Producer::Source(path) => {
                return path
                    .lookup(record)
                    .map_or(Ok(()), |value| put(value.clone()));
            }
            Producer::Constant(value) => return put(value.clone()),
            _ => {}
        }
    }
    let value = match &rule.condition {
        Some(condition) if !run_condition(&condition.when, record, scope)? => {
            condition.otherwise.as_ref().map(Cow::Borrowed)
        }
        _ => produce(rule, record, scope, trail, errors)?,
    };
    match finish(rule, value)? {
        Some(value) => put(value),
        None => Ok(()),
    }
}

/// What a rule makes of the value it produced (`None`: the source is missing): the
/// default, the transform steps, the cast and the requirement. `Ok(None)` when the rule
/// writes nothing.
pub(crate) fn finish<'a>(
    rule: &'a CompiledRule,
    mut value: Option<Cow<'a, Value>>,
) -> Result<Option<Value>, String> {
    if let Some(default) = &rule.default
        && value.as_deref().is_none_or(Value::is_null)
    {
        value = Some(Cow::Borrowed(default));
    }
    let Some(mut value) = value else {
        return if rule.required {
            Err("the value is missing and the rule is required".into())
        } else {
            Ok(None)
        };
    };
    for (position, step) in rule.steps.iter().enumerate() {
        let stepped = match value {
            Cow::Borrowed(value) => step.apply_ref(value),
            Cow::Owned(value) => step.apply(value),
        };
        value = Cow::Owned(
            stepped
                .map_err(|reason| format!("transform {position} ({}): {reason}", step.name()))?,
        );
    }
    let value = match &rule.cast {
        Some(cast) => cast.apply_ref(&value)?,
        None => value.into_owned(),
    };
    if rule.required && value.is_null() {
        return Err("the value is null and the rule is required".into());
    }
    Ok(Some(value))
}

impl CompiledMapping {
    /// Evaluates the top-level rules at `selected` (indexes into the top-level rules, which
    /// write under distinct keys) on one record, as [`CompiledMapping::apply`] does, sharing
    /// one expression scope: pushes each rule's field value to `fields` (`None` when the
    /// rule writes nothing) and returns whether every rule succeeded.
    pub(crate) fn apply_selected(
        &self,
        selected: &[usize],
        record: &Record,
        fields: &mut Vec<Option<Value>>,
    ) -> bool {
        let mut scope: Option<Result<Scope, String>> = None;
        let mut errors = Vec::new();
        let mut failed = false;
        for rule in selected
            .iter()
            .filter_map(|index| self.rules.rules.get(*index))
        {
            let mut field = None;
            let added = match rule.target.segments().get(1..) {
                Some(rest) if !rest.is_empty() => {
                    let put = |value| {
                        let mut object = Record::new();
                        let written = write(&mut object, rest, value);
                        field = Some(Value::Object(object));
                        written
                    };
                    apply_rule(rule, record, put, &mut scope, None, &mut errors)
                }
                _ => {
                    let put = |value| {
                        field = Some(value);
                        Ok(())
                    };
                    apply_rule(rule, record, put, &mut scope, None, &mut errors)
                }
            };
            failed |= added.is_err();
            fields.push(field);
        }
        !failed && errors.is_empty()
    }
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

fn produce<'a>(
    rule: &'a CompiledRule,
    record: &'a Record,
    scope: &mut Option<Result<Scope, String>>,
    trail: Option<&Trail<'_>>,
    errors: &mut Vec<RecordError>,
) -> Result<Option<Cow<'a, Value>>, String> {
    Ok(match &rule.producer {
        Producer::Source(path) => path.lookup(record).map(Cow::Borrowed),
        Producer::Coalesce(paths) => paths
            .iter()
            .filter_map(|path| path.lookup(record))
            .find(|value| !value.is_null())
            .map(Cow::Borrowed),
        Producer::Concat { sources, separator } => {
            concat(sources, separator, record)?.map(Cow::Owned)
        }
        Producer::Constant(value) => Some(Cow::Borrowed(value)),
        Producer::Expr(expression) => {
            Some(Cow::Owned(expression.evaluate(scope_of(record, scope)?)?))
        }
        Producer::Nothing => None,
        Producer::Nested { source, rules } => {
            let here = Trail {
                parent: trail,
                target: &rule.target_text,
                item: None,
            };
            nested(source.as_ref(), rules, record, &here, errors)?.map(Cow::Owned)
        }
    })
}

/// The value of nested `rules`: applied to the record, or to the object (or each object of
/// the array) at `source`.
fn nested(
    source: Option<&FieldPath>,
    rules: &RuleSet,
    record: &Record,
    here: &Trail<'_>,
    errors: &mut Vec<RecordError>,
) -> Result<Option<Value>, String> {
    let Some(path) = source else {
        return Ok(Some(Value::Object(apply_rules(
            rules,
            record,
            Some(here),
            errors,
        ))));
    };
    Ok(match path.lookup(record) {
        None => None,
        Some(Value::Null) => Some(Value::Null),
        Some(Value::Object(object)) => Some(Value::Object(apply_rules(
            rules,
            object,
            Some(here),
            errors,
        ))),
        Some(Value::Array(items)) => {
            let mut outputs = Vec::with_capacity(items.len());
            for (position, item) in items.iter().enumerate() {
                let element = Trail {
                    item: Some(position),
                    ..*here
                };
                match item {
                    Value::Object(object) => outputs.push(Value::Object(apply_rules(
                        rules,
                        object,
                        Some(&element),
                        errors,
                    ))),
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
fn write(output: &mut Record, target: &[Segment], value: Value) -> Result<(), String> {
    let Some((last, parents)) = target.split_last() else {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::spec::MappingSpec;
    use crate::{Mapping, RecordError};

    fn compile(rules: &Value) -> CompiledMapping {
        let spec = MappingSpec::from_json_value(json!({ "rules": rules }))
            .unwrap_or_else(|errors| panic!("{errors:?}"));
        Mapping::compile(&spec).unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    /// Makes every rule set write field by field, in rule order (the general path).
    fn field_by_field(rules: &mut RuleSet) {
        rules.keys = None;
        for rule in &mut rules.rules {
            if let Producer::Nested { rules, .. } = &mut rule.producer {
                field_by_field(rules);
            }
        }
    }

    fn record(value: Value) -> Record {
        match value {
            Value::Object(record) => record,
            other => panic!("not an object: {other}"),
        }
    }

    /// Applies `rules` with and without the key-by-key shortcut and checks that both give
    /// the same output and the same errors; returns them.
    fn same_both_ways(rules: &Value, value: Value) -> (Record, Vec<RecordError>) {
        let mapping = compile(rules);
        let mut general = compile(rules);
        field_by_field(&mut general.rules);
        let record = record(value);
        let result = mapping.apply_partial(&record);
        assert_eq!(
            result,
            general.apply_partial(&record),
            "{rules} on {record:?}"
        );
        result
    }

    fn error(rule: usize, target: &str, message: &str) -> RecordError {
        RecordError {
            rule,
            target: target.into(),
            message: message.into(),
        }
    }

    #[test]
    fn builds_by_key_only_when_no_two_rules_write_under_one_key() {
        let keys = |rules: Value| compile(&rules).rules.keys;
        assert_eq!(
            keys(json!([
                {"target": "b", "source": "x"},
                {"target": "a.c", "source": "y"},
            ])),
            Some(vec!["b".to_string(), "a".to_string()])
        );
        assert_eq!(keys(json!([])), Some(Vec::new()));
        assert_eq!(
            keys(json!([
                {"target": "a.x", "source": "x"},
                {"target": "a.y", "source": "y"},
            ])),
            None
        );
        assert_eq!(
            keys(json!([
                {"target": "a", "source": "x"},
                {"target": "a", "source": "y"},
            ])),
            None
        );
    }

    #[test]
    fn flow_mapping_is_the_same_both_ways() {
        let rules = json!([
            {"target": "id", "source": "id"},
            {"target": "name", "source": "name", "transform": ["upper"]},
            {"target": "amount", "source": "amount"},
            {"target": "created_at", "source": "created_at"},
            {"target": "payload", "source": "payload"},
            {"target": "source", "constant": "pg"},
        ]);
        let (output, errors) = same_both_ways(
            &rules,
            json!({"amount": "12.34", "created_at": "2024-01-01T00:00:01Z", "id": 1,
                "name": "name 1", "payload": {"k": 1, "tags": ["a", "b"]}}),
        );
        assert_eq!(errors, []);
        assert_eq!(
            Value::Object(output),
            json!({"amount": "12.34", "created_at": "2024-01-01T00:00:01Z", "id": 1,
                "name": "NAME 1", "payload": {"k": 1, "tags": ["a", "b"]}, "source": "pg"})
        );
        let (output, errors) = same_both_ways(&rules, json!({"id": null, "name": "straße"}));
        assert_eq!(errors, []);
        assert_eq!(
            Value::Object(output),
            json!({"id": null, "name": "STRASSE", "source": "pg"})
        );
        let (output, errors) = same_both_ways(&rules, json!({"id": 2, "name": 7}));
        assert_eq!(
            errors,
            [error(
                1,
                "name",
                "transform 0 (upper): upper expects a string, got 7"
            )]
        );
        assert_eq!(Value::Object(output), json!({"id": 2, "source": "pg"}));
    }

    #[test]
    fn nested_targets_and_rule_options_are_the_same_both_ways() {
        let rules = json!([
            {"target": "customer_id", "source": "id", "cast": "int"},
            {"target": "billing.country", "source": "address.country", "default": "US"},
            {"target": "a.b.c", "source": "x", "required": true},
            {"target": "level", "when": "record.vip == true", "then": "gold", "else": "basic"},
            {"target": "note", "when": "record.vip == true"},
            {"target": "tags", "source": "tags", "transform": [{"split": ","}, "trim"]},
            {"target": "first", "coalesce": ["nick", "first"]},
            {"target": "full", "concat": {"sources": ["first", "last"], "separator": " "}},
            {"target": "label", "expr": "record.first + '!'"},
            {"target": "empty", "source": "nothing", "required": true},
            {"target": "null", "source": "none", "required": true},
            {"target": "kept", "source": "kept", "default": 0},
        ]);
        let (output, errors) = same_both_ways(
            &rules,
            json!({"id": " 42 ", "address": {"country": "FR"}, "x": [1], "vip": true,
                "tags": "a, b", "first": "Ada", "last": "L", "none": null, "kept": false}),
        );
        assert_eq!(
            errors,
            [
                error(9, "empty", "the value is missing and the rule is required"),
                error(10, "null", "the value is null and the rule is required"),
            ]
        );
        assert_eq!(
            Value::Object(output),
            json!({"customer_id": 42, "billing": {"country": "FR"}, "a": {"b": {"c": [1]}},
                "level": "gold", "tags": ["a", "b"], "first": "Ada", "full": "Ada L",
                "label": "Ada!", "kept": false})
        );
        let (output, errors) = same_both_ways(
            &rules,
            json!({"id": "abc", "vip": false, "nick": "A", "tags": 3, "none": 0}),
        );
        assert_eq!(
            errors,
            [
                error(0, "customer_id", "cannot cast \"abc\" to int"),
                error(2, "a.b.c", "the value is missing and the rule is required"),
                error(
                    5,
                    "tags",
                    "transform 0 (split): split expects a string, got 3"
                ),
                error(8, "label", "expression failed: No such key: first"),
                error(9, "empty", "the value is missing and the rule is required"),
            ]
        );
        assert_eq!(
            Value::Object(output),
            json!({"billing": {"country": "US"}, "level": "basic", "first": "A",
                "null": 0, "kept": 0})
        );
    }

    #[test]
    fn nested_rules_are_the_same_both_ways() {
        let rules = json!([
            {"target": "order", "rules": [
                {"target": "id", "source": "id", "cast": "int"},
                {"target": "meta.source", "constant": "shop"},
            ]},
            {"target": "lines", "source": "items", "rules": [
                {"target": "sku", "source": "sku", "required": true},
                {"target": "qty", "source": "q", "cast": "int", "default": 1},
            ]},
        ]);
        let (output, errors) = same_both_ways(
            &rules,
            json!({"id": "7", "items": [{"sku": "A", "q": "2"}, {"q": "x"}, {"sku": "C"}]}),
        );
        assert_eq!(
            errors,
            [
                error(
                    1,
                    "lines[1].sku",
                    "the value is missing and the rule is required"
                ),
                error(1, "lines[1].qty", "cannot cast \"x\" to int"),
            ]
        );
        assert_eq!(
            Value::Object(output),
            json!({"order": {"id": 7, "meta": {"source": "shop"}},
                "lines": [{"sku": "A", "qty": 2}, {}, {"sku": "C", "qty": 1}]})
        );
        let (_, errors) = same_both_ways(&rules, json!({"id": 1, "items": [{"sku": "A"}, 3]}));
        assert_eq!(
            errors,
            [error(1, "lines", "item 1 of `items` is 3, not an object")]
        );
    }

    #[test]
    fn conflicting_targets_still_write_in_rule_order() {
        let mapping = compile(&json!([
            {"target": "a", "source": "x"},
            {"target": "a.b", "source": "y"},
            {"target": "c.d", "source": "y"},
            {"target": "c.e", "source": "x"},
        ]));
        let (output, errors) = mapping.apply_partial(&record(json!({"x": 1, "y": 2})));
        assert_eq!(
            errors,
            [error(
                1,
                "a.b",
                "`a` is already set to a value that is not an object"
            )]
        );
        assert_eq!(
            Value::Object(output),
            json!({"a": 1, "c": {"d": 2, "e": 1}})
        );
    }
}
