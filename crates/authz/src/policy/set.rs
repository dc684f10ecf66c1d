//! [`PolicySet`]: the stored policies compiled once, evaluated for every decision.

use std::collections::BTreeSet;
use std::fmt;

use regorus::unstable::{Module, Rule, RuleHead};
use regorus::{Engine, Value};
use serde::Deserialize as _;

use super::engine::{Backend, Evaluator, timer_config};
use super::error::{char_column, located};
use super::{Denial, PolicyError, PolicySource, TestOutcome, validate_name};

/// The package of the generated rule gathering every policy's denials.
const DECISION_PACKAGE: &str = "grimos.__decision";
/// The generated rule: an array with one set per `deny` rule definition.
const DECISION_RULE: &str = "data.grimos.__decision.denials";
/// The file name of the generated module.
const DECISION_FILE: &str = "__grimos_decision.rego";
/// Prefix of the renamed `deny` definitions (`__grimos_deny_<line>`) and reserved names.
const RESERVED_PREFIX: &str = "__grimos";

/// The stored policies, compiled: evaluate their denials for a decision, run their tests.
///
/// Built once per change of the stored policies ([`PolicySet::compile`]); `Send + Sync`,
/// cheap to share in an `Arc`. See the [module documentation](super) for the conventions.
pub struct PolicySet {
    sources: Vec<PolicySource>,
    /// Absent when there are no policies.
    evaluator: Option<Evaluator>,
    /// For each element of the generated array: the policy (index into `sources`) and the
    /// line of its `deny` definition.
    deny_rules: Vec<(usize, u32)>,
    /// For each policy, its tests in source order.
    tests: Vec<Vec<String>>,
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet")
            .field(
                "policies",
                &self.sources.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("deny_rules", &self.deny_rules.len())
            .field("backend", &self.backend().as_str())
            .finish()
    }
}

impl Default for PolicySet {
    fn default() -> Self {
        Self::empty()
    }
}

/// What the analysis of one policy found.
struct Analysed {
    /// The source with each `deny` definition renamed after its line and `deny` redefined
    /// as their union.
    transformed: String,
    /// The lines of the `deny` definitions, ascending, deduplicated.
    deny_lines: Vec<u32>,
    /// The `test_*` rules, in source order.
    tests: Vec<String>,
    /// The names of the rules that are not functions (`deny` once), to check.
    rules: Vec<String>,
    /// Renamed tokens: (line, column, added length), to map error columns back.
    renames: Vec<(u32, u32, u32)>,
    /// Lines appended after the source: (first appended line, the deny lines in order).
    appended_from: u32,
}

impl PolicySet {
    /// No policies: denies nothing, has no tests.
    pub fn empty() -> Self {
        Self {
            sources: Vec::new(),
            evaluator: None,
            deny_rules: Vec::new(),
            tests: Vec::new(),
        }
    }

    /// Compile `policies` with an empty data document.
    pub fn compile(policies: Vec<PolicySource>) -> Result<Self, PolicyError> {
        Self::compile_with_data(policies, &serde_json::Value::Object(Default::default()))
    }

    /// Compile `policies` with `data` (a JSON object, `data.*` in the policies).
    ///
    /// Errors: a bad name, a duplicate name, a package other than `grimos.policies.<name>`,
    /// a `deny` that is not a partial set, a reserved rule name, a syntax or semantic error
    /// (with the line and column of the offending text), data that is not an object or
    /// conflicts with a rule.
    pub fn compile_with_data(
        policies: Vec<PolicySource>,
        data: &serde_json::Value,
    ) -> Result<Self, PolicyError> {
        Self::build(policies, data, false)
    }

    /// [`PolicySet::compile_with_data`] on a chosen backend: [`Backend::Interpreter`]
    /// skips the RVM (to compare, or to work around an RVM difference); [`Backend::Rvm`]
    /// is the default, with the interpreter as fallback.
    pub fn compile_with_backend(
        policies: Vec<PolicySource>,
        data: &serde_json::Value,
        backend: Backend,
    ) -> Result<Self, PolicyError> {
        Self::build(policies, data, backend != Backend::Rvm)
    }

    pub(crate) fn build(
        policies: Vec<PolicySource>,
        data: &serde_json::Value,
        force_interpreter: bool,
    ) -> Result<Self, PolicyError> {
        if policies.is_empty() {
            return Ok(Self::empty());
        }
        let data = data_value(data)?;
        let mut names = BTreeSet::new();
        let mut analysed = Vec::with_capacity(policies.len());
        for policy in &policies {
            validate_name(&policy.name)?;
            if !names.insert(policy.name.as_str()) {
                return Err(PolicyError::new(
                    &policy.name,
                    0,
                    0,
                    "two policies have this name",
                ));
            }
            analysed.push(analyse(policy)?);
        }

        let mut engine = new_engine();
        for (policy, analysis) in policies.iter().zip(&analysed) {
            engine
                .add_policy(policy.file_name(), analysis.transformed.clone())
                .map_err(|error| map_error(&error, &policies, &analysed))?;
        }
        let mut deny_rules = Vec::new();
        let mut decision = format!("package {DECISION_PACKAGE}\n\ndenials := [\n");
        for (index, (policy, analysis)) in policies.iter().zip(&analysed).enumerate() {
            for &line in &analysis.deny_lines {
                decision.push_str(&format!(
                    "\tdata.{}.{RESERVED_PREFIX}_deny_{line},\n",
                    policy.package()
                ));
                deny_rules.push((index, line));
            }
        }
        decision.push_str("]\n");
        engine
            .add_policy(DECISION_FILE.to_string(), decision)
            .map_err(|error| map_error(&error, &policies, &analysed))?;
        engine
            .add_data(data.clone())
            .map_err(|error| PolicyError::new("", 0, 0, format!("the data document: {error}")))?;
        let check: Vec<String> = policies
            .iter()
            .zip(&analysed)
            .flat_map(|(policy, analysis)| {
                analysis
                    .rules
                    .iter()
                    .map(move |rule| format!("data.{}.{rule}", policy.package()))
            })
            .collect();
        let evaluator = Evaluator::new(
            engine,
            DECISION_RULE.to_string(),
            data,
            true,
            &check,
            force_interpreter,
        )
        .map_err(|error| map_error(&error, &policies, &analysed))?;
        Ok(Self {
            tests: analysed.into_iter().map(|a| a.tests).collect(),
            sources: policies,
            evaluator: Some(evaluator),
            deny_rules,
        })
    }

    /// Evaluate every policy's `deny` for one decision input (see the module documentation
    /// for its shape). An empty list: no policy denies.
    pub fn denials(&self, input: &serde_json::Value) -> Result<Vec<Denial>, kernel::Error> {
        if self.deny_rules.is_empty() {
            return Ok(Vec::new());
        }
        let input = Value::deserialize(input).map_err(|error| {
            kernel::Error::new(
                kernel::ErrorKind::Validation,
                "validation_failed",
                format!("the policy input is not a JSON document regorus accepts: {error}"),
            )
        })?;
        self.denials_value(input)
    }

    /// [`PolicySet::denials`] for an input already built as a regorus value (cheaper: a
    /// caller can keep the subject's and resource's parts as values, whose clones are
    /// reference counts, and skip the JSON conversion).
    pub fn denials_value(&self, input: Value) -> Result<Vec<Denial>, kernel::Error> {
        let Some(evaluator) = self
            .evaluator
            .as_ref()
            .filter(|_| !self.deny_rules.is_empty())
        else {
            return Ok(Vec::new());
        };
        let result = evaluator
            .session()
            .and_then(|mut session| session.eval(input))
            .map_err(|error| self.eval_error(&error))?;
        let Value::Array(sets) = &result else {
            return Err(self.eval_error(&anyhow::anyhow!(
                "the denials evaluated to {result} instead of an array"
            )));
        };
        let mut denials = Vec::new();
        for (&(index, line), set) in self.deny_rules.iter().zip(sets.iter()) {
            let Value::Set(messages) = set else {
                continue;
            };
            let policy = &self.sources[index];
            for message in messages.iter() {
                denials.push(Denial {
                    policy: policy.name.clone(),
                    rule: format!("{}.deny", policy.package()),
                    line,
                    message: match message {
                        Value::String(text) => text.to_string(),
                        other => other.to_string(),
                    },
                });
            }
        }
        Ok(denials)
    }

    fn eval_error(&self, error: &anyhow::Error) -> kernel::Error {
        let place = located(error);
        let policy = place
            .file
            .as_deref()
            .and_then(|file| self.sources.iter().find(|s| s.file_name() == file))
            .map(|s| format!("policy {:?} ", s.name))
            .unwrap_or_default();
        let at = match place.line {
            0 => String::new(),
            line => format!(" at line {line}"),
        };
        kernel::Error::new(
            kernel::ErrorKind::Internal,
            "policy_eval_failed",
            format!("{policy}failed to evaluate{at}: {}", place.message),
        )
    }

    /// Run every `test_*` rule of every policy, with no input (tests give theirs with
    /// `with input as ...`). A test passes when it evaluates to `true`.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        let Some(evaluator) = &self.evaluator else {
            return Vec::new();
        };
        let mut outcomes = Vec::new();
        for (policy, tests) in self.sources.iter().zip(&self.tests) {
            for test in tests {
                let mut engine = evaluator.engine();
                let result = engine.eval_rule(format!("data.{}.{test}", policy.package()));
                outcomes.push(test_outcome(&policy.name, &policy.package(), test, result));
            }
        }
        outcomes
    }

    /// No policies.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The policies, as given to [`PolicySet::compile`].
    pub fn sources(&self) -> &[PolicySource] {
        &self.sources
    }

    /// How many `deny` rule definitions the set evaluates.
    pub fn deny_rule_count(&self) -> usize {
        self.deny_rules.len()
    }

    /// Which regorus engine evaluates the denials: `rvm` (the default) or `interpreter` (the
    /// fallback for policies the RVM compiler does not support).
    pub fn backend(&self) -> Backend {
        self.evaluator
            .as_ref()
            .map_or(Backend::Rvm, Evaluator::backend)
    }
}

/// The outcome of one test rule's evaluation.
pub(crate) fn test_outcome(
    policy: &str,
    package: &str,
    test: &str,
    result: anyhow::Result<Value>,
) -> TestOutcome {
    let (passed, error) = match result {
        Ok(Value::Bool(true)) => (true, None),
        Ok(Value::Undefined) => (false, Some("undefined".to_string())),
        Ok(other) => (false, Some(other.to_string())),
        Err(error) => {
            let place = located(&error);
            let at = match place.line {
                0 => String::new(),
                line => format!("line {line}: "),
            };
            (false, Some(format!("{at}{}", place.message)))
        }
    };
    TestOutcome {
        policy: policy.to_string(),
        package: package.to_string(),
        test: test.to_string(),
        passed,
        error,
    }
}

/// A Rego v1 engine with the evaluation time limit.
pub(crate) fn new_engine() -> Engine {
    let mut engine = Engine::new();
    engine.set_rego_v0(false);
    engine.set_execution_timer_config(timer_config());
    engine
}

/// The data document as a regorus value: a JSON object.
pub(crate) fn data_value(data: &serde_json::Value) -> Result<Value, PolicyError> {
    if !data.is_object() {
        return Err(PolicyError::new(
            "",
            0,
            0,
            "the data document must be a JSON object",
        ));
    }
    Value::deserialize(data)
        .map_err(|error| PolicyError::new("", 0, 0, format!("the data document: {error}")))
}

/// Parse `policy` alone: check its package and `deny` rules, find its tests, and rename its
/// `deny` definitions after their lines.
fn analyse(policy: &PolicySource) -> Result<Analysed, PolicyError> {
    let name = policy.name.as_str();
    let mut probe = new_engine();
    let package = probe
        .add_policy(policy.file_name(), policy.source.clone())
        .map_err(|error| {
            let place = located(&error);
            let column = char_column(&policy.source, place.line, place.column);
            PolicyError::new(name, place.line, column, place.message)
        })?;
    let expected = format!("data.{}", policy.package());
    let module = probe
        .get_modules()
        .first()
        .cloned()
        .ok_or_else(|| PolicyError::new(name, 0, 0, "the policy has no module"))?;
    if package != expected {
        let span = &module.package.span;
        return Err(PolicyError::new(
            name,
            span.line,
            char_column(&policy.source, span.line, span.col),
            format!(
                "the package must be `{}` (the policy's name under grimos.policies), not `{}`",
                policy.package(),
                package.trim_start_matches("data.")
            ),
        ));
    }

    // (start, end, line, column) of each `deny` token to rename.
    let mut deny_heads: Vec<(usize, usize, u32, u32)> = Vec::new();
    let rules = rules_of(&module);
    for rule in &module.policy {
        let (refr, is_set, is_default) = match rule.as_ref() {
            Rule::Spec { head, .. } => match head {
                RuleHead::Set { refr, key, .. } => (refr, key.is_some(), false),
                RuleHead::Compr { refr, .. } | RuleHead::Func { refr, .. } => (refr, false, false),
            },
            Rule::Default { refr, .. } => (refr, false, true),
        };
        let span = refr.span();
        let text = span.text();
        let root = text.split(['.', '[']).next().unwrap_or(text).trim();
        if root.starts_with(RESERVED_PREFIX) {
            return Err(PolicyError::new(
                name,
                span.line,
                char_column(&policy.source, span.line, span.col),
                format!("rule names starting with `{RESERVED_PREFIX}` are reserved"),
            ));
        }
        if root == "deny" {
            if text == "deny" && is_set && !is_default {
                deny_heads.push((span.start as usize, span.end as usize, span.line, span.col));
            } else {
                return Err(PolicyError::new(
                    name,
                    span.line,
                    char_column(&policy.source, span.line, span.col),
                    "`deny` must be a partial set of messages: write `deny contains msg if { ... }`",
                ));
            }
        }
    }
    let tests = tests_of(&module);

    // Rename from the end so earlier offsets stay valid.
    let mut transformed = policy.source.clone();
    let mut renames = Vec::new();
    deny_heads.sort_unstable();
    for &(start, end, line, column) in deny_heads.iter().rev() {
        let replacement = format!("{RESERVED_PREFIX}_deny_{line}");
        if transformed.get(start..end) != Some("deny") {
            return Err(PolicyError::new(
                name,
                line,
                char_column(&policy.source, line, column),
                "could not locate this `deny` rule in the source",
            ));
        }
        transformed.replace_range(start..end, &replacement);
        let added = u32::try_from(replacement.len().saturating_sub(4)).unwrap_or(0);
        renames.push((line, column, added));
    }
    let deny_lines: Vec<u32> = deny_heads
        .iter()
        .map(|&(_, _, line, _)| line)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let appended_from = u32::try_from(transformed.lines().count())
        .unwrap_or(u32::MAX)
        .saturating_add(2);
    if !transformed.ends_with('\n') {
        transformed.push('\n');
    }
    transformed.push('\n');
    for line in &deny_lines {
        transformed.push_str(&format!(
            "deny contains {RESERVED_PREFIX}_m if {{ some {RESERVED_PREFIX}_m in {RESERVED_PREFIX}_deny_{line} }}\n"
        ));
    }
    Ok(Analysed {
        transformed,
        deny_lines,
        tests,
        rules,
        renames,
        appended_from,
    })
}

/// The names of a module's rules that are not functions (each once), in source order.
pub(crate) fn rules_of(module: &Module) -> Vec<String> {
    let mut rules: Vec<String> = Vec::new();
    for rule in &module.policy {
        if let Rule::Spec {
            head: RuleHead::Compr { refr, .. } | RuleHead::Set { refr, .. },
            ..
        } = rule.as_ref()
        {
            let name = refr.span().text();
            if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !rules.iter().any(|r| r == name)
            {
                rules.push(name.to_string());
            }
        }
    }
    rules
}

/// The `test_*` rules of a module (plain rules, not functions), in source order.
pub(crate) fn tests_of(module: &Module) -> Vec<String> {
    let mut tests: Vec<String> = Vec::new();
    for rule in &module.policy {
        let Rule::Spec {
            head: RuleHead::Compr { refr, .. },
            ..
        } = rule.as_ref()
        else {
            continue;
        };
        let name = refr.span().text();
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain && name.starts_with("test_") && !tests.iter().any(|t| t == name) {
            tests.push(name.to_string());
        }
    }
    tests
}

/// A compile error of the transformed policies, located in the policy as written.
fn map_error(
    error: &anyhow::Error,
    policies: &[PolicySource],
    analysed: &[Analysed],
) -> PolicyError {
    let place = located(error);
    let found = place.file.as_deref().and_then(|file| {
        policies
            .iter()
            .zip(analysed)
            .find(|(policy, _)| policy.file_name() == file)
    });
    let message = unrename(&place.message);
    let Some((policy, analysis)) = found else {
        return PolicyError::new("", place.line, place.column, message);
    };
    let mut line = place.line;
    let mut column = place.column;
    if line >= analysis.appended_from {
        // An error in the generated union of the `deny` definitions: point at the first one.
        let index = usize::try_from(line - analysis.appended_from).unwrap_or(0);
        line = analysis
            .deny_lines
            .get(index)
            .or(analysis.deny_lines.first())
            .copied()
            .unwrap_or(0);
        column = 1;
    } else {
        // Columns after a renamed `deny` on the same line moved right.
        let shift: u32 = analysis
            .renames
            .iter()
            .filter(|&&(l, c, _)| l == line && c < column)
            .map(|&(_, c, added)| added.min(column.saturating_sub(c)))
            .sum();
        column = column.saturating_sub(shift);
    }
    let column = char_column(&policy.source, line, column);
    PolicyError::new(&policy.name, line, column, message)
}

/// Error messages name the renamed rules as they were written.
fn unrename(message: &str) -> String {
    let prefix = format!("{RESERVED_PREFIX}_deny_");
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(&prefix) {
        out.push_str(&rest[..at]);
        out.push_str("deny");
        let after = &rest[at + prefix.len()..];
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// A `PolicySet` is shared across request threads.
const _: fn() = || {
    fn check<T: Send + Sync>() {}
    check::<PolicySet>();
};
