//! Compiling a [`MappingSpec`] into a [`CompiledMapping`]: paths split, regexes built,
//! formats and time zones parsed, expressions compiled — once, reporting every error.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cast::Cast;
use crate::error::MappingError;
use crate::expr::Expression;
use crate::path::{FieldPath, Segment};
use crate::spec::{MappingSpec, RuleSpec};
use crate::transform::Step;

/// The deepest nesting of `rules` inside `rules` accepted.
pub const MAX_RULE_DEPTH: usize = 16;

/// A mapping ready to apply to records. Cheap to share between threads.
#[derive(Debug)]
pub struct CompiledMapping {
    pub(crate) rules: RuleSet,
}

/// Entry point: `Mapping::compile(&spec)`.
#[derive(Debug, Clone, Copy)]
pub struct Mapping;

impl Mapping {
    /// Compiles a spec, returning every error found (each with its rule index and the
    /// JSON Pointer of the offending key).
    pub fn compile(spec: &MappingSpec) -> Result<CompiledMapping, Vec<MappingError>> {
        let mut errors = Vec::new();
        let rules = compile_rules(&spec.rules, None, "/rules", 0, &mut errors);
        if errors.is_empty() {
            Ok(CompiledMapping { rules })
        } else {
            Err(errors)
        }
    }
}

/// The rules that build one record (the output, or the object of nested `rules`).
#[derive(Debug)]
pub(crate) struct RuleSet {
    pub rules: Vec<CompiledRule>,
    /// The first key of each rule's target, when no two rules write under the same key:
    /// the record is then built from all its fields at once (sorted once) rather than by a
    /// search and an insertion per field. Writes cannot conflict, so the result is the same.
    pub keys: Option<Vec<String>>,
}

impl RuleSet {
    fn new(rules: Vec<CompiledRule>) -> Self {
        let keys: Option<Vec<String>> = rules
            .iter()
            .map(|rule| match rule.target.segments().first() {
                Some(Segment::Key(key)) => Some(key.clone()),
                _ => None,
            })
            .collect();
        let distinct =
            |keys: &Vec<String>| keys.iter().collect::<BTreeSet<_>>().len() == keys.len();
        Self {
            keys: keys.filter(distinct),
            rules,
        }
    }
}

/// One compiled rule.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    /// The top-level rule index (nested rules report their top-level rule).
    pub index: usize,
    pub target: FieldPath,
    pub target_text: String,
    pub producer: Producer,
    pub condition: Option<Condition>,
    pub default: Option<Value>,
    pub steps: Vec<Step>,
    pub cast: Option<Cast>,
    pub required: bool,
}

impl CompiledRule {
    /// Whether the rule uses its value as is: no condition, default, transform, cast or
    /// requirement.
    pub fn is_plain(&self) -> bool {
        self.condition.is_none()
            && self.default.is_none()
            && self.steps.is_empty()
            && self.cast.is_none()
            && !self.required
    }
}

/// Where a rule's value comes from.
#[derive(Debug)]
pub(crate) enum Producer {
    Source(FieldPath),
    Coalesce(Vec<FieldPath>),
    Concat {
        sources: Vec<FieldPath>,
        separator: String,
    },
    Constant(Value),
    Expr(Expression),
    /// Only `when` without `then`: nothing when true (the default may apply).
    Nothing,
    Nested {
        source: Option<FieldPath>,
        rules: RuleSet,
    },
}

/// `when` and the value used when it is false.
#[derive(Debug)]
pub(crate) struct Condition {
    pub when: Expression,
    pub otherwise: Option<Value>,
}

fn compile_rules(
    specs: &[RuleSpec],
    top_index: Option<usize>,
    pointer: &str,
    depth: usize,
    errors: &mut Vec<MappingError>,
) -> RuleSet {
    if depth > MAX_RULE_DEPTH {
        errors.push(MappingError::new(
            top_index,
            pointer,
            format!("rules nest deeper than {MAX_RULE_DEPTH} levels"),
        ));
        return RuleSet::new(Vec::new());
    }
    RuleSet::new(
        specs
            .iter()
            .enumerate()
            .filter_map(|(position, spec)| {
                let index = top_index.unwrap_or(position);
                let pointer = format!("{pointer}/{position}");
                compile_rule(spec, index, &pointer, depth, errors)
            })
            .collect(),
    )
}

/// The keys that produce a value; a rule has exactly one (or only nested `rules`).
pub(crate) fn producer_keys(spec: &RuleSpec) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if spec.source.is_some() && spec.rules.is_none() {
        keys.push("source");
    }
    if spec.coalesce.is_some() {
        keys.push("coalesce");
    }
    if spec.concat.is_some() {
        keys.push("concat");
    }
    if spec.constant.is_some() {
        keys.push("constant");
    }
    if spec.expr.is_some() {
        keys.push("expr");
    }
    if spec.then.is_some() {
        keys.push("then");
    }
    keys
}

fn compile_rule(
    spec: &RuleSpec,
    index: usize,
    pointer: &str,
    depth: usize,
    errors: &mut Vec<MappingError>,
) -> Option<CompiledRule> {
    let mut local = Vec::new();
    let mut error = |key: &str, message: String| {
        let path = if key.is_empty() {
            pointer.to_string()
        } else {
            format!("{pointer}/{key}")
        };
        local.push(MappingError::new(Some(index), path, message));
    };

    let target = match FieldPath::parse(&spec.target) {
        Ok(target) if !target.is_keys_only() => {
            error(
                "target",
                "a target path cannot contain array indexes".into(),
            );
            None
        }
        Ok(target) => Some(target),
        Err(reason) => {
            error("target", format!("invalid target path: {reason}"));
            None
        }
    };

    let mut parse_source = |key: String, text: &str| match FieldPath::parse(text) {
        Ok(path) => Some(path),
        Err(reason) => {
            error(&key, format!("invalid source path: {reason}"));
            None
        }
    };

    let keys = producer_keys(spec);
    let producer = if let Some(nested) = &spec.rules {
        let source = spec
            .source
            .as_deref()
            .and_then(|text| parse_source("source".into(), text));
        let rules = compile_rules(
            nested,
            Some(index),
            &format!("{pointer}/rules"),
            depth + 1,
            errors,
        );
        Some(Producer::Nested { source, rules })
    } else if keys.len() > 1 {
        None
    } else {
        match keys.first().copied() {
            Some("source") => spec
                .source
                .as_deref()
                .and_then(|text| parse_source("source".into(), text))
                .map(Producer::Source),
            Some("coalesce") => {
                let sources = spec.coalesce.as_deref().unwrap_or_default();
                let paths: Vec<_> = sources
                    .iter()
                    .enumerate()
                    .filter_map(|(i, text)| parse_source(format!("coalesce/{i}"), text))
                    .collect();
                (paths.len() == sources.len() && !paths.is_empty())
                    .then_some(Producer::Coalesce(paths))
            }
            Some("concat") => spec.concat.as_ref().and_then(|concat| {
                let paths: Vec<_> = concat
                    .sources
                    .iter()
                    .enumerate()
                    .filter_map(|(i, text)| parse_source(format!("concat/sources/{i}"), text))
                    .collect();
                (paths.len() == concat.sources.len() && !paths.is_empty()).then(|| {
                    Producer::Concat {
                        sources: paths,
                        separator: concat.separator.clone(),
                    }
                })
            }),
            Some("constant") => spec.constant.clone().map(Producer::Constant),
            Some("then") => spec.then.clone().map(Producer::Constant),
            Some("expr") => match Expression::compile(spec.expr.as_deref().unwrap_or_default()) {
                Ok(expression) => Some(Producer::Expr(expression)),
                Err(reason) => {
                    error("expr", reason);
                    None
                }
            },
            _ if spec.when.is_some() => Some(Producer::Nothing),
            _ => None,
        }
    };

    if spec.rules.is_some() {
        for key in keys {
            error(
                key,
                format!("`{key}` cannot be combined with nested `rules`"),
            );
        }
        if !spec.transform.is_empty() {
            error(
                "transform",
                "`transform` cannot be combined with nested `rules`".into(),
            );
        }
        if spec.cast.is_some() {
            error(
                "cast",
                "`cast` cannot be combined with nested `rules`".into(),
            );
        }
    } else if keys.len() > 1 {
        error(
            keys[1],
            format!(
                "`{}` and `{}` are exclusive: a rule has one value",
                keys[0], keys[1]
            ),
        );
    } else if keys.is_empty() && spec.when.is_none() {
        error(
            "",
            "a rule needs a value: one of source, coalesce, concat, constant, expr, when/then or rules"
                .into(),
        );
    }
    if spec.coalesce.as_ref().is_some_and(Vec::is_empty) {
        error("coalesce", "`coalesce` needs at least one source".into());
    }
    if spec.concat.as_ref().is_some_and(|c| c.sources.is_empty()) {
        error(
            "concat/sources",
            "`concat` needs at least one source".into(),
        );
    }
    if spec.when.is_none() {
        if spec.then.is_some() {
            error("then", "`then` needs `when`".into());
        }
        if spec.otherwise.is_some() {
            error("else", "`else` needs `when`".into());
        }
    }

    let condition = spec
        .when
        .as_deref()
        .and_then(|when| match Expression::compile(when) {
            Ok(when) => Some(Condition {
                when,
                otherwise: spec.otherwise.clone(),
            }),
            Err(reason) => {
                error("when", reason);
                None
            }
        });

    let steps: Vec<Step> = spec
        .transform
        .iter()
        .enumerate()
        .filter_map(|(i, step)| match Step::compile(step) {
            Ok(step) => Some(step),
            Err(reason) => {
                error(&format!("transform/{i}"), reason);
                None
            }
        })
        .collect();

    let cast = match spec.cast {
        Some(to) => match Cast::new(to, spec.format.as_deref(), spec.timezone.as_deref()) {
            Ok(cast) => Some(cast),
            Err(problems) => {
                for problem in problems {
                    error(problem.key, problem.message);
                }
                None
            }
        },
        None => {
            if spec.format.is_some() {
                error(
                    "format",
                    "`format` needs `cast: date` or `cast: timestamp`".into(),
                );
            }
            if spec.timezone.is_some() {
                error(
                    "timezone",
                    "`timezone` needs `cast: date` or `cast: timestamp`".into(),
                );
            }
            None
        }
    };

    let failed = !local.is_empty();
    errors.extend(local);
    if failed {
        return None;
    }
    Some(CompiledRule {
        index,
        target: target?,
        target_text: spec.target.clone(),
        producer: producer?,
        condition,
        default: spec.default.clone(),
        steps,
        cast,
        required: spec.required,
    })
}
