//! Rego policies (ABAC), evaluated by `regorus`: compile, test, evaluate, bundle.
//!
//! # Conventions
//!
//! A grimOS policy is one **Rego v1** module (no `import rego.v1` needed) stored under a
//! name matching `[a-z][a-z0-9_]{0,62}`. Its package must be `grimos.policies.<name>`;
//! any other package is refused when the policy is compiled ([`PolicyError`], error code
//! `policy_invalid`, with the line and column of the `package` line).
//!
//! A policy **denies** through the partial set rule `deny`, written
//! `deny contains msg if { ... }`: every element of the set is one denial, and its string
//! is the message shown in the decision's reasons (a non-string element is shown as JSON).
//! `deny` in any other form (`deny if ...`, `deny := ...`, `default deny ...`,
//! `deny[msg] if ...`) is refused at compile time, so a policy cannot deny by accident in a
//! shape the decision point does not read. A policy without `deny` denies nothing (it may
//! hold helpers or tests). Rule names starting with `__grimos` are reserved.
//!
//! The decision point evaluates every policy's `deny` for each decision that a relationship
//! or role allowed; any denial overrides the allow. The **input document** is
//!
//! ```json
//! {
//!   "subject":  {"id": "user:01a2…", "kind": "user", "roles": ["operator"],
//!                "groups": ["group:sre"], "attributes": {"clearance": 2}},
//!   "action":   "edit",
//!   "resource": {"type": "connector", "id": "01a2…", "owner": "user:01b3…",
//!                "attributes": {"classification": "restricted"}},
//!   "context":  {"time": "2025-01-06T20:00:00Z", "ip": "10.0.0.7", "request_id": "…"},
//!   "relationship": {"allowed": true, "path": ["connector:01a2…#editor", "user:01a2…"]}
//! }
//! ```
//!
//! (`context.time` is an RFC 3339 string.) Each denial ([`Denial`]) names the policy, the
//! rule (`grimos.policies.<name>.deny`) and the line of the `deny` rule that produced it.
//!
//! **Tests** are rules named `test_*` (not functions). A test passes when it evaluates to
//! `true` with no input, as in `opa test`; tests give their input with
//! `with input as {...}` (regorus supports `with` on `input`, `data` and functions).
//! [`PolicySet::run_tests`] runs them all; `grimos policy test FILE...` runs those of
//! files.
//!
//! # Examples
//!
//! Operators change nothing outside 09:00–17:00 UTC:
//!
//! ```rego
//! package grimos.policies.business_hours
//!
//! deny contains msg if {
//!     "operator" in input.subject.roles
//!     input.action != "view"
//!     [hour, _, _] := time.clock([time.parse_rfc3339_ns(input.context.time), "UTC"])
//!     not during_business_hours(hour)
//!     msg := sprintf("operators may not %s outside 09:00-17:00 UTC", [input.action])
//! }
//!
//! during_business_hours(hour) if {
//!     hour >= 9
//!     hour < 17
//! }
//!
//! test_operator_denied_at_night if {
//!     count(deny) == 1 with input as {"subject": {"roles": ["operator"]},
//!         "action": "edit", "context": {"time": "2025-01-06T20:00:00Z"}}
//! }
//!
//! test_operator_allowed_at_noon if {
//!     count(deny) == 0 with input as {"subject": {"roles": ["operator"]},
//!         "action": "edit", "context": {"time": "2025-01-06T12:00:00Z"}}
//! }
//! ```
//!
//! Restricted data only for a clearance of 3 or more:
//!
//! ```rego
//! package grimos.policies.clearance
//!
//! deny contains "restricted data needs clearance 3 or more" if {
//!     input.resource.attributes.classification == "restricted"
//!     object.get(input.subject.attributes, "clearance", 0) < 3
//! }
//! ```
//!
//! # Evaluation
//!
//! [`PolicySet::compile`] parses and checks every policy once per change of the stored
//! policies. For evaluation each `deny` rule definition is renamed after its line
//! (`__grimos_deny_<line>`, with `deny` kept as their union so tests and helpers still see
//! it), and one generated rule gathers all of them in a fixed order; that rule is compiled
//! to a program of the regorus virtual machine (RVM), so **one** evaluation answers for all
//! policies and says which rule of which policy denied. Virtual machines are pooled in the
//! set (regorus evaluates through `&mut self`), so a call reuses a loaded machine and
//! never re-adds policies. A policy the RVM compiler does not support falls back to the
//! regorus interpreter, pooled the same way ([`PolicySet::backend`] says which one runs).
//! An evaluation stops with an error after [`MAX_INSTRUCTIONS`] RVM instructions or
//! [`EVAL_TIME_LIMIT`].
//!
//! # OPA interoperability
//!
//! [`bundle`] writes the stored policies and data as an OPA bundle (`.tar.gz` with
//! `.manifest`, `data.json` and one `<name>.rego` per policy); [`RegoFiles`] and
//! [`eval_lines`] are the engines of `grimos policy test` and `grimos policy eval`, which
//! accept modules of any package, like `opa test` and `opa eval`.

mod bundle;
mod engine;
mod error;
mod files;
mod set;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub use bundle::{BundleFile, bundle, read_bundle};
pub use engine::Backend;
pub use files::{EvalSummary, Query, RegoFile, RegoFiles, eval_lines};
pub use regorus::Value as RegoValue;
pub use set::PolicySet;

/// The package every grimOS policy lives under: `grimos.policies.<name>`.
pub const PACKAGE_PREFIX: &str = "grimos.policies";

/// The most RVM instructions one evaluation may execute before it fails.
pub const MAX_INSTRUCTIONS: usize = 5_000_000;

/// The longest one evaluation may run before it fails.
pub const EVAL_TIME_LIMIT: Duration = Duration::from_secs(1);

/// The error code of a policy that does not compile (kind `Validation`, HTTP 422).
pub const POLICY_INVALID: &str = "policy_invalid";

/// The error code of a policy evaluation that failed (kind `Internal`): a runtime error in a
/// policy, or a limit reached.
pub const POLICY_EVAL_FAILED: &str = "policy_eval_failed";

/// One stored policy: its name, its version and its Rego v1 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySource {
    /// The policy's name, `[a-z][a-z0-9_]{0,62}`; its package is `grimos.policies.<name>`.
    pub name: String,
    /// The stored version (informational here; the store counts them).
    pub version: i64,
    /// The Rego v1 source text.
    pub source: String,
}

impl PolicySource {
    /// A policy named `name` at `version` with `source`.
    pub fn new(name: impl Into<String>, version: i64, source: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            version,
            source: source.into(),
        }
    }

    /// The file name the policy has in errors and bundles: `<name>.rego`.
    pub fn file_name(&self) -> String {
        format!("{}.rego", self.name)
    }

    /// The package the policy must declare: `grimos.policies.<name>`.
    pub fn package(&self) -> String {
        format!("{PACKAGE_PREFIX}.{}", self.name)
    }
}

/// One denial: which policy and rule denied, and its message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Denial {
    /// The policy's name.
    pub policy: String,
    /// The rule's path, `grimos.policies.<name>.deny`.
    pub rule: String,
    /// The line of the `deny` rule definition that produced the message (1-based).
    pub line: u32,
    /// The message: the element of the `deny` set (as JSON text when it is not a string).
    pub message: String,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "denied by policy {} ({}, line {}): {}",
            self.policy, self.rule, self.line, self.message
        )
    }
}

/// A policy that does not compile: where and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyError {
    /// The policy's name (or, for files, the file's path); empty when no one policy is at
    /// fault (e.g. the data document).
    pub policy: String,
    /// The 1-based line of the offending text, 0 when unknown.
    pub line: u32,
    /// The 1-based column of the offending text in characters (a tab counts as one, as in
    /// an editor), 0 when unknown.
    pub column: u32,
    /// What is wrong, in regorus's words.
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(
        policy: impl Into<String>,
        line: u32,
        column: u32,
        message: impl Into<String>,
    ) -> Self {
        Self {
            policy: policy.into(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    /// `policy:line:column: message` (the position omitted when unknown).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.policy.is_empty(), self.line) {
            (true, 0) => write!(f, "{}", self.message),
            (false, 0) => write!(f, "{}: {}", self.policy, self.message),
            (true, line) => write!(f, "{line}:{}: {}", self.column, self.message),
            (false, line) => write!(
                f,
                "{}:{line}:{}: {}",
                self.policy, self.column, self.message
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

impl From<PolicyError> for kernel::Error {
    fn from(error: PolicyError) -> Self {
        let at = match error.line {
            0 => String::new(),
            line => format!(" at line {line}, column {}", error.column),
        };
        let message = if error.policy.is_empty() {
            format!("the policies do not compile{at}: {}", error.message)
        } else {
            format!(
                "policy {:?} does not compile{at}: {}",
                error.policy, error.message
            )
        };
        kernel::Error::new(kernel::ErrorKind::Validation, "policy_invalid", message)
    }
}

/// The result of one `test_*` rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TestOutcome {
    /// The policy's name (or, for files, the file's path).
    pub policy: String,
    /// The package of the test, e.g. `grimos.policies.clearance`.
    pub package: String,
    /// The test rule's name, e.g. `test_restricted_denied`.
    pub test: String,
    /// Whether the rule evaluated to `true`.
    pub passed: bool,
    /// Why it failed: `false`, `undefined`, another value, or the evaluation error.
    pub error: Option<String>,
}

impl TestOutcome {
    /// `package.test`, as `opa test` names a test.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.package, self.test)
    }
}

/// Check a policy name: `[a-z][a-z0-9_]{0,62}`.
pub fn validate_name(name: &str) -> Result<(), PolicyError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if first_ok && rest_ok && name.len() <= 63 {
        Ok(())
    } else {
        Err(PolicyError::new(
            name,
            0,
            0,
            "a policy name is a lowercase letter followed by up to 62 lowercase letters, \
             digits or underscores",
        ))
    }
}
