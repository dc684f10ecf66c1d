//! Validation of a mapping against optional source and target schemas.
//!
//! Errors make a mapping invalid; warnings are shown to the user but do not block saving.
//!
//! | check | severity | path |
//! |---|---|---|
//! | spec does not compile (syntax, bad regex/format/zone, ...) | error | the key |
//! | source path not in the source schema | error | `/rules/i/source` (`coalesce/k`, `concat/sources/k`) |
//! | incompatible cast (boolean → timestamp, array → int, ...) | error | `/rules/i/cast` |
//! | narrowing cast (number → int, decimal(12,2) → int, timestamp → date, decimal → float) | warning | `/rules/i/cast` |
//! | parsing cast (string → int/float/decimal/bool/date/timestamp) | warning | `/rules/i/cast` |
//! | string transform on a non-string source | error | `/rules/i/transform/k` |
//! | target field not in the target schema | error | `/rules/i/target` |
//! | rule output type vs target field type | error (or warning when a string goes to a date, uuid, ...) | `/rules/i/cast` or `/rules/i/target` |
//! | string longer than `maxLength`/`varchar(n)` | error for a constant, warning when unbounded or longer | `/rules/i/target` |
//! | required target field not mapped | error, with `field` | the `rules` list |
//! | required target fed by a value that may be missing or null | warning | `/rules/i/target` |
//! | duplicate target (or a target inside another rule's target) | error (warning when either rule has `when`) | `/rules/i/target` |

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compile::{Mapping, producer_keys};
use crate::path::FieldPath;
use crate::schema::{Resolved, Schema, SchemaField, ValueKind, resolve_in};
use crate::spec::{CastType, MappingSpec, RuleSpec, TransformSpec};

/// The outcome of [`validate`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// True when there is no error (warnings allowed).
    pub valid: bool,
    /// What must be fixed.
    pub errors: Vec<ValidationIssue>,
    /// What deserves a look.
    pub warnings: Vec<ValidationIssue>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationIssue {
    /// The top-level rule index, when the finding belongs to a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<usize>,
    /// A JSON Pointer into the mapping spec.
    pub path: String,
    /// The target field concerned, for findings about the target schema (`billing.city`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Validates `spec`: that it compiles, and against the schemas given.
pub fn validate(
    spec: &MappingSpec,
    source: Option<&Schema>,
    target: Option<&Schema>,
) -> ValidationReport {
    let mut report = ValidationReport::default();
    if let Err(errors) = Mapping::compile(spec) {
        report
            .errors
            .extend(errors.into_iter().map(|e| ValidationIssue {
                rule: e.rule,
                path: e.path,
                field: None,
                message: e.message,
            }));
    }
    let mut checker = Checker {
        report: &mut report,
    };
    checker.rules(
        &spec.rules,
        None,
        "/rules",
        source.map(|s| &s.root),
        target.map(|s| &s.root),
        "",
    );
    report.valid = report.errors.is_empty();
    report
}

/// What a rule produces, as far as it can be known without data.
#[derive(Debug, Clone)]
struct Inferred {
    kind: ValueKind,
    max_length: Option<usize>,
    may_be_missing: bool,
    is_constant: bool,
}

impl Inferred {
    fn unknown() -> Self {
        Self {
            kind: ValueKind::Any,
            max_length: None,
            may_be_missing: true,
            is_constant: false,
        }
    }

    fn constant(value: &Value) -> Self {
        Self {
            kind: ValueKind::of_value(value),
            max_length: value.as_str().map(|s| s.chars().count()),
            may_be_missing: value.is_null(),
            is_constant: true,
        }
    }

    fn of_field(field: Option<&SchemaField>) -> Self {
        match field {
            Some(field) => Self {
                kind: field.kind.clone(),
                max_length: field.max_length,
                may_be_missing: field.nullable || !field.required,
                is_constant: false,
            },
            None => Self::unknown(),
        }
    }

    fn either(self, other: Self) -> Self {
        Self {
            kind: if self.kind == other.kind {
                self.kind
            } else {
                ValueKind::Any
            },
            max_length: self.max_length.zip(other.max_length).map(|(a, b)| a.max(b)),
            may_be_missing: self.may_be_missing || other.may_be_missing,
            is_constant: self.is_constant && other.is_constant,
        }
    }
}

struct Checker<'r> {
    report: &'r mut ValidationReport,
}

enum Severity {
    Error,
    Warning,
}

impl Checker<'_> {
    fn push(
        &mut self,
        severity: Severity,
        rule: Option<usize>,
        path: String,
        field: Option<String>,
        message: String,
    ) {
        let issue = ValidationIssue {
            rule,
            path,
            field,
            message,
        };
        match severity {
            Severity::Error => self.report.errors.push(issue),
            Severity::Warning => self.report.warnings.push(issue),
        }
    }

    fn error(&mut self, rule: usize, path: String, message: String) {
        self.push(Severity::Error, Some(rule), path, None, message);
    }

    fn warning(&mut self, rule: usize, path: String, message: String) {
        self.push(Severity::Warning, Some(rule), path, None, message);
    }

    /// Checks a list of rules in one scope (the record, or the element of a nested rule).
    fn rules(
        &mut self,
        rules: &[RuleSpec],
        top_index: Option<usize>,
        pointer: &str,
        source: Option<&SchemaField>,
        target: Option<&SchemaField>,
        target_prefix: &str,
    ) {
        let mut written: Vec<(FieldPath, usize, bool)> = Vec::new();
        let mut seen: HashMap<String, (usize, bool)> = HashMap::new();
        for (position, rule) in rules.iter().enumerate() {
            let index = top_index.unwrap_or(position);
            let here = format!("{pointer}/{position}");
            let Ok(target_path) = FieldPath::parse(&rule.target) else {
                continue; // reported by compile
            };
            let conditional = rule.when.is_some();
            let shown = format!("{target_prefix}{target_path}");
            if let Some((other, other_conditional)) = seen.get(&target_path.to_string()).copied() {
                let severity = if conditional || other_conditional {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                self.push(
                    severity,
                    Some(index),
                    format!("{here}/target"),
                    Some(shown.clone()),
                    format!("duplicate target `{shown}`: rule {other} writes it too"),
                );
            } else {
                for (other_path, other, _) in &written {
                    if other_path.is_prefix_of(&target_path) || target_path.is_prefix_of(other_path)
                    {
                        self.push(
                            Severity::Error,
                            Some(index),
                            format!("{here}/target"),
                            Some(shown.clone()),
                            format!(
                                "target `{shown}` overlaps `{target_prefix}{other_path}` of rule {other}: one is inside the other"
                            ),
                        );
                    }
                }
                seen.insert(target_path.to_string(), (index, conditional));
            }
            written.push((target_path.clone(), index, conditional));

            let target_field = match target.map(|t| resolve_in(t, target_path.segments())) {
                Some(Resolved::Missing) => {
                    self.push(
                        Severity::Error,
                        Some(index),
                        format!("{here}/target"),
                        Some(shown.clone()),
                        format!("target field `{shown}` is not in the target schema"),
                    );
                    None
                }
                Some(Resolved::Field(field)) => Some(field),
                _ => None,
            };

            if let Some(nested) = &rule.rules {
                self.nested(rule, nested, index, &here, source, target_field, &shown);
                continue;
            }
            let produced = self.rule(rule, index, &here, source);
            if let Some(field) = target_field {
                self.target_fit(rule, index, &here, &produced, field, &shown);
            }
        }
        if let Some(target) = target {
            self.required(target, &written, top_index, pointer, target_prefix, &[]);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn nested(
        &mut self,
        rule: &RuleSpec,
        nested: &[RuleSpec],
        index: usize,
        here: &str,
        source: Option<&SchemaField>,
        target_field: Option<&SchemaField>,
        shown: &str,
    ) {
        let mut source_is_array = false;
        let element_source = match (&rule.source, source) {
            (None, scope) => scope,
            (Some(text), Some(scope)) => match FieldPath::parse(text) {
                Ok(path) => match resolve_in(scope, path.segments()) {
                    Resolved::Missing => {
                        self.error(
                            index,
                            format!("{here}/source"),
                            format!("source path `{path}` is not in the source schema"),
                        );
                        None
                    }
                    Resolved::Open => None,
                    Resolved::Field(field) => match field.kind {
                        ValueKind::Array => {
                            source_is_array = true;
                            field.items.as_deref()
                        }
                        ValueKind::Object => Some(field),
                        ValueKind::Any => None,
                        ref other => {
                            self.error(
                                index,
                                format!("{here}/source"),
                                format!(
                                    "nested rules need an array or object source, `{path}` is {}",
                                    other.name()
                                ),
                            );
                            None
                        }
                    },
                },
                Err(_) => None,
            },
            (Some(_), None) => None,
        };
        let element_target = match target_field {
            Some(field) => match field.kind {
                ValueKind::Array => field.items.as_deref(),
                ValueKind::Object if source_is_array => {
                    self.push(
                        Severity::Error,
                        Some(index),
                        format!("{here}/target"),
                        Some(shown.to_string()),
                        format!("rule produces array but target field `{shown}` is object"),
                    );
                    None
                }
                ValueKind::Object => Some(field),
                ValueKind::Any => None,
                ref other => {
                    self.push(
                        Severity::Error,
                        Some(index),
                        format!("{here}/target"),
                        Some(shown.to_string()),
                        format!(
                            "nested rules produce objects but target field `{shown}` is {}",
                            other.name()
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let element_prefix = if source_is_array {
            format!("{shown}[].")
        } else {
            format!("{shown}.")
        };
        self.rules(
            nested,
            Some(index),
            &format!("{here}/rules"),
            element_source,
            element_target,
            &element_prefix,
        );
    }

    /// Checks a rule's sources, transforms and cast; returns what it produces.
    fn rule(
        &mut self,
        rule: &RuleSpec,
        index: usize,
        here: &str,
        source: Option<&SchemaField>,
    ) -> Inferred {
        let lookup = |checker: &mut Self, key: String, text: &str| -> Inferred {
            let Some(scope) = source else {
                return Inferred::unknown();
            };
            let Ok(path) = FieldPath::parse(text) else {
                return Inferred::unknown();
            };
            match resolve_in(scope, path.segments()) {
                Resolved::Field(field) => Inferred::of_field(Some(field)),
                Resolved::Open => Inferred::unknown(),
                Resolved::Missing => {
                    checker.error(
                        index,
                        format!("{here}/{key}"),
                        format!("source path `{path}` is not in the source schema"),
                    );
                    Inferred::unknown()
                }
            }
        };
        let keys = producer_keys(rule);
        let mut produced = match keys.first().copied() {
            Some("source") => match &rule.source {
                Some(text) => lookup(self, "source".into(), text),
                None => Inferred::unknown(),
            },
            Some("coalesce") => {
                let parts: Vec<Inferred> = rule
                    .coalesce
                    .iter()
                    .flatten()
                    .enumerate()
                    .map(|(k, text)| lookup(self, format!("coalesce/{k}"), text))
                    .collect();
                let all_missing = parts.iter().all(|p| p.may_be_missing);
                let mut merged = parts
                    .into_iter()
                    .reduce(Inferred::either)
                    .unwrap_or_else(Inferred::unknown);
                merged.may_be_missing = all_missing;
                merged
            }
            Some("concat") => {
                let concat = rule.concat.as_ref();
                let separator = concat.map_or(0, |c| c.separator.chars().count());
                let parts: Vec<Inferred> = concat
                    .map(|c| c.sources.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .map(|(k, text)| lookup(self, format!("concat/sources/{k}"), text))
                    .collect();
                let max_length = parts
                    .iter()
                    .map(|p| match p.kind {
                        ValueKind::Int => Some(20),
                        ValueKind::Bool => Some(5),
                        _ => p.max_length,
                    })
                    .sum::<Option<usize>>()
                    .map(|sum| sum + separator * parts.len().saturating_sub(1));
                Inferred {
                    kind: ValueKind::String,
                    max_length,
                    may_be_missing: parts.iter().all(|p| p.may_be_missing),
                    is_constant: false,
                }
            }
            Some("constant") => rule
                .constant
                .as_ref()
                .map_or_else(Inferred::unknown, Inferred::constant),
            Some("then") => rule
                .then
                .as_ref()
                .map_or_else(Inferred::unknown, Inferred::constant),
            Some("expr") => Inferred {
                may_be_missing: false,
                ..Inferred::unknown()
            },
            _ => Inferred::unknown(),
        };
        if rule.when.is_some() {
            produced = match &rule.otherwise {
                Some(otherwise) => produced.either(Inferred::constant(otherwise)),
                None => Inferred {
                    may_be_missing: true,
                    ..produced
                },
            };
        }
        if let Some(default) = &rule.default {
            let fallback = Inferred::constant(default);
            produced.max_length = produced
                .max_length
                .zip(fallback.max_length)
                .map(|(a, b)| a.max(b));
            produced.may_be_missing = default.is_null();
        }
        for (k, step) in rule.transform.iter().enumerate() {
            produced = self.transform(step, produced, index, &format!("{here}/transform/{k}"));
        }
        if let Some(cast) = rule.cast {
            produced = self.cast(cast, produced, index, &format!("{here}/cast"));
        }
        if rule.required {
            produced.may_be_missing = false;
        }
        produced
    }

    fn transform(
        &mut self,
        step: &TransformSpec,
        input: Inferred,
        index: usize,
        path: &str,
    ) -> Inferred {
        let name = match step {
            TransformSpec::Trim => "trim",
            TransformSpec::Lower => "lower",
            TransformSpec::Upper => "upper",
            TransformSpec::Split { .. } => "split",
            TransformSpec::Lookup { .. } => "lookup",
            TransformSpec::RegexExtract { .. } => "regex_extract",
            TransformSpec::RegexReplace { .. } => "regex_replace",
            TransformSpec::Hash { .. } => "hash",
        };
        let needs_string = !matches!(
            step,
            TransformSpec::Lookup { .. } | TransformSpec::Hash { .. }
        );
        let accepts = match input.kind {
            ValueKind::Any | ValueKind::String => true,
            ValueKind::Array => !matches!(step, TransformSpec::Split { .. }),
            ValueKind::Object => false,
            _ => !needs_string,
        };
        if needs_string && !accepts {
            self.error(
                index,
                path.to_string(),
                format!("`{name}` expects a string but gets {}", input.kind.name()),
            );
        }
        let keeps_array = matches!(input.kind, ValueKind::Array);
        match step {
            TransformSpec::Trim | TransformSpec::RegexExtract { .. } => Inferred {
                kind: if keeps_array {
                    ValueKind::Array
                } else {
                    ValueKind::String
                },
                may_be_missing: input.may_be_missing
                    || matches!(step, TransformSpec::RegexExtract { .. }),
                is_constant: false,
                ..input
            },
            TransformSpec::Lower | TransformSpec::Upper | TransformSpec::RegexReplace { .. } => {
                Inferred {
                    kind: if keeps_array {
                        ValueKind::Array
                    } else {
                        ValueKind::String
                    },
                    // Unicode case mapping can lengthen text (ß → SS).
                    max_length: None,
                    is_constant: false,
                    ..input
                }
            }
            TransformSpec::Split { .. } => Inferred {
                kind: ValueKind::Array,
                max_length: None,
                is_constant: false,
                ..input
            },
            TransformSpec::Hash { .. } => Inferred {
                kind: ValueKind::String,
                max_length: Some(64),
                is_constant: false,
                ..input
            },
            TransformSpec::Lookup { table, fallback } => {
                let outputs: Vec<Inferred> = table
                    .values()
                    .chain(fallback.iter())
                    .map(Inferred::constant)
                    .collect();
                let merged = outputs.into_iter().reduce(Inferred::either);
                Inferred {
                    kind: if keeps_array {
                        ValueKind::Array
                    } else {
                        merged.as_ref().map_or(ValueKind::Any, |m| m.kind.clone())
                    },
                    max_length: merged.and_then(|m| m.max_length),
                    may_be_missing: input.may_be_missing,
                    is_constant: false,
                }
            }
        }
    }

    fn cast(&mut self, cast: CastType, input: Inferred, index: usize, path: &str) -> Inferred {
        match cast_check(&input.kind, cast) {
            CastCheck::Fine => {}
            CastCheck::Narrowing(message) | CastCheck::Parsing(message) => {
                self.warning(index, path.to_string(), message);
            }
            CastCheck::Incompatible(message) => self.error(index, path.to_string(), message),
        }
        let (kind, max_length) = match cast {
            CastType::String => (
                ValueKind::String,
                match &input.kind {
                    ValueKind::Int => Some(20),
                    ValueKind::Bool => Some(5),
                    ValueKind::String => input.max_length,
                    ValueKind::Date => Some(10),
                    ValueKind::Decimal {
                        precision: Some(p), ..
                    } => Some(usize::from(*p) + 2),
                    _ => None,
                },
            ),
            CastType::Int => (ValueKind::Int, None),
            CastType::Float => (ValueKind::Float, None),
            CastType::Decimal => (
                match input.kind {
                    ValueKind::Decimal { .. } => input.kind.clone(),
                    _ => ValueKind::Decimal {
                        precision: None,
                        scale: None,
                    },
                },
                None,
            ),
            CastType::Bool => (ValueKind::Bool, None),
            CastType::Date => (ValueKind::Date, Some(10)),
            CastType::Timestamp => (ValueKind::TimestampTz, None),
        };
        Inferred {
            kind,
            max_length,
            is_constant: false,
            ..input
        }
    }

    fn target_fit(
        &mut self,
        rule: &RuleSpec,
        index: usize,
        here: &str,
        produced: &Inferred,
        field: &SchemaField,
        shown: &str,
    ) {
        let key = if rule.cast.is_some() {
            "cast"
        } else {
            "target"
        };
        let (severity, message) = match assignable(&produced.kind, &field.kind) {
            Fit::Fine => (None, String::new()),
            Fit::Check(hint) => (
                Some(Severity::Warning),
                format!(
                    "rule produces {} but target field `{shown}` is {}{hint}",
                    produced.kind.name(),
                    field.kind.name()
                ),
            ),
            Fit::Mismatch(hint) => (
                Some(Severity::Error),
                format!(
                    "rule produces {} but target field `{shown}` is {}{hint}",
                    produced.kind.name(),
                    field.kind.name()
                ),
            ),
        };
        if let Some(severity) = severity {
            self.push(
                severity,
                Some(index),
                format!("{here}/{key}"),
                Some(shown.to_string()),
                message,
            );
        }
        if let Some(limit) = field.max_length
            && matches!(produced.kind, ValueKind::String | ValueKind::Any)
        {
            {
                match produced.max_length {
                    Some(length) if length <= limit => {}
                    Some(length) if produced.is_constant => self.push(
                        Severity::Error,
                        Some(index),
                        format!("{here}/target"),
                        Some(shown.to_string()),
                        format!(
                            "the value is {length} characters, longer than the maximum {limit} of target field `{shown}`"
                        ),
                    ),
                    Some(length) => self.push(
                        Severity::Warning,
                        Some(index),
                        format!("{here}/target"),
                        Some(shown.to_string()),
                        format!(
                            "values of up to {length} characters may exceed the maximum {limit} of target field `{shown}`"
                        ),
                    ),
                    None => self.push(
                        Severity::Warning,
                        Some(index),
                        format!("{here}/target"),
                        Some(shown.to_string()),
                        format!(
                            "values of unknown length may exceed the maximum {limit} of target field `{shown}`"
                        ),
                    ),
                }
            }
        }
        if field.required && !field.nullable && produced.may_be_missing {
            self.push(
                Severity::Warning,
                Some(index),
                format!("{here}/target"),
                Some(shown.to_string()),
                format!(
                    "target field `{shown}` is required but the rule may produce no value (add `default` or `required: true`)"
                ),
            );
        }
    }

    /// Reports required fields of `scope` that no rule writes.
    fn required(
        &mut self,
        scope: &SchemaField,
        written: &[(FieldPath, usize, bool)],
        top_index: Option<usize>,
        pointer: &str,
        prefix: &str,
        parents: &[crate::path::Segment],
    ) {
        for (name, field) in &scope.fields {
            let mut segments = parents.to_vec();
            segments.push(crate::path::Segment::Key(name.clone()));
            let covered = written.iter().any(|(path, _, _)| {
                path.segments().len() <= segments.len()
                    && segments[..path.segments().len()] == *path.segments()
            });
            let inside = written.iter().any(|(path, _, _)| {
                path.segments().len() > segments.len()
                    && path.segments()[..segments.len()] == segments[..]
            });
            if covered {
                continue;
            }
            if inside {
                self.required(field, written, top_index, pointer, prefix, &segments);
                continue;
            }
            if field.required && !field.nullable {
                let shown = format!("{prefix}{}", display_segments(&segments));
                self.push(
                    Severity::Error,
                    top_index,
                    pointer.to_string(),
                    Some(shown.clone()),
                    format!("required target field `{shown}` is not mapped"),
                );
            }
        }
    }
}

fn display_segments(segments: &[crate::path::Segment]) -> String {
    segments
        .iter()
        .filter_map(|s| match s {
            crate::path::Segment::Key(key) => Some(FieldPath::key(key.clone()).to_string()),
            crate::path::Segment::Index(_) => None,
        })
        .collect::<Vec<_>>()
        .join(".")
}

enum CastCheck {
    Fine,
    Narrowing(String),
    Parsing(String),
    Incompatible(String),
}

/// Whether a value of kind `from` can be cast to `to`.
fn cast_check(from: &ValueKind, to: CastType) -> CastCheck {
    use CastType as C;
    use ValueKind as K;
    let from_name = from.name();
    let to_name = to.name();
    let incompatible = || CastCheck::Incompatible(format!("cannot cast {from_name} to {to_name}"));
    let narrowing = |why: &str| {
        CastCheck::Narrowing(format!(
            "narrowing cast from {from_name} to {to_name}: {why}"
        ))
    };
    match (from, to) {
        (K::Any, _) | (_, C::String) if !matches!(from, K::Array | K::Object) => CastCheck::Fine,
        (K::String, C::String) => CastCheck::Fine,
        (K::String, _) => CastCheck::Parsing(format!(
            "string values are parsed as {to_name} at run time; values that do not parse fail the record"
        )),
        (K::Int, C::Int | C::Float | C::Decimal | C::Timestamp) => CastCheck::Fine,
        (K::Int | K::Float, C::Bool) => {
            narrowing("only 0 and 1 convert, other values fail the record")
        }
        (K::Float, C::Float | C::Decimal | C::Timestamp) => CastCheck::Fine,
        (K::Float, C::Int) => narrowing("values with a fractional part fail the record"),
        (K::Decimal { scale, .. }, C::Int) => {
            if *scale == Some(0) {
                CastCheck::Fine
            } else {
                narrowing("values with a fractional part fail the record")
            }
        }
        (K::Decimal { .. }, C::Float) => narrowing("a float may not hold every digit exactly"),
        (K::Decimal { .. }, C::Decimal) => CastCheck::Fine,
        (K::Decimal { .. }, C::Bool) => {
            narrowing("only 0 and 1 convert, other values fail the record")
        }
        (K::Bool, C::Bool) => CastCheck::Fine,
        (K::Date, C::Date | C::Timestamp) => CastCheck::Fine,
        (K::Timestamp | K::TimestampTz, C::Timestamp) => CastCheck::Fine,
        (K::Timestamp | K::TimestampTz, C::Date) => narrowing("the time of day is dropped"),
        _ => incompatible(),
    }
}

enum Fit {
    Fine,
    Check(&'static str),
    Mismatch(&'static str),
}

/// Whether values of kind `produced` fit a target field of kind `target`.
fn assignable(produced: &ValueKind, target: &ValueKind) -> Fit {
    use ValueKind as K;
    match (produced, target) {
        (K::Any, _) | (_, K::Any) => Fit::Fine,
        (
            K::Decimal {
                precision: p1,
                scale: s1,
            },
            K::Decimal {
                precision: p2,
                scale: s2,
            },
        ) => {
            let integer_digits = |p: &Option<u16>, s: &Option<u16>| {
                p.map(|p| i32::from(p) - i32::from(s.unwrap_or(0)))
            };
            let scale_fits = match (s1, s2) {
                (Some(a), Some(b)) => a <= b,
                (None, Some(_)) => false,
                _ => true,
            };
            let digits_fit = match (integer_digits(p1, s1), integer_digits(p2, s2)) {
                (Some(a), Some(b)) => a <= b,
                (None, Some(_)) => false,
                _ => true,
            };
            if scale_fits && digits_fit {
                Fit::Fine
            } else {
                Fit::Check(": values with more digits fail at the target")
            }
        }
        (a, b) if a == b => Fit::Fine,
        (K::Int, K::Float | K::Decimal { .. }) => Fit::Fine,
        (K::Float, K::Decimal { .. }) => Fit::Fine,
        (K::Decimal { .. }, K::Float) => Fit::Check(": a float may not hold every digit exactly"),
        (K::TimestampTz, K::Timestamp) | (K::Timestamp, K::TimestampTz) => Fit::Fine,
        (K::Date | K::Time | K::Timestamp | K::TimestampTz | K::Uuid, K::String) => Fit::Fine,
        (K::String, K::Date) => Fit::Check(" (add `cast: date` to check the values)"),
        (K::String, K::Timestamp | K::TimestampTz) => {
            Fit::Check(" (add `cast: timestamp` to check the values)")
        }
        (K::String, K::Decimal { .. }) => Fit::Check(" (add `cast: decimal` to check the values)"),
        (K::String, K::Time | K::Uuid | K::Bytes) => Fit::Check(""),
        (K::Int | K::Float | K::Bool | K::Decimal { .. }, K::String) => {
            Fit::Mismatch(" (add `cast: string`)")
        }
        (K::String | K::Float | K::Decimal { .. }, K::Int) => Fit::Mismatch(" (add `cast: int`)"),
        (K::String, K::Float) => Fit::Mismatch(" (add `cast: float`)"),
        (K::String | K::Int, K::Bool) => Fit::Mismatch(" (add `cast: bool`)"),
        _ => Fit::Mismatch(""),
    }
}
