//! Tests of the policy layer.

use serde_json::json;

use super::error::{char_column, located_text};
use super::*;

const BUSINESS_HOURS: &str = r#"package grimos.policies.business_hours

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

test_operator_denied_at_night if {
	count(deny) == 1 with input as {"subject": {"roles": ["operator"]},
		"action": "edit", "context": {"time": "2025-01-06T20:00:00Z"}}
}

test_operator_allowed_at_noon if {
	count(deny) == 0 with input as {"subject": {"roles": ["operator"]},
		"action": "edit", "context": {"time": "2025-01-06T12:00:00Z"}}
}
"#;

const CLEARANCE: &str = r#"package grimos.policies.clearance

deny contains "restricted data needs clearance 3 or more" if {
	input.resource.attributes.classification == "restricted"
	object.get(input.subject.attributes, "clearance", 0) < 3
}

deny contains msg if {
	input.resource.attributes.classification == "secret"
	msg := {"reason": "secret", "clearance": object.get(input.subject.attributes, "clearance", 0)}
}
"#;

fn examples() -> Vec<PolicySource> {
    vec![
        PolicySource::new("business_hours", 1, BUSINESS_HOURS),
        PolicySource::new("clearance", 3, CLEARANCE),
    ]
}

fn input(roles: &[&str], time: &str, classification: &str, clearance: i64) -> serde_json::Value {
    json!({
        "subject": {"id": "user:ann", "kind": "user", "roles": roles, "groups": ["group:sre"],
                    "attributes": {"clearance": clearance}},
        "action": "edit",
        "resource": {"type": "connector", "id": "c1", "owner": "user:bob",
                     "attributes": {"classification": classification}},
        "context": {"time": time, "ip": "10.0.0.1", "request_id": "r1"},
        "relationship": {"allowed": true, "path": ["connector:c1#editor", "user:ann"]}
    })
}

fn compile_error(name: &str, source: &str) -> PolicyError {
    match PolicySet::compile(vec![PolicySource::new(name, 1, source)]) {
        Ok(set) => unreachable!("compiled: {set:?}"),
        Err(error) => error,
    }
}

#[test]
fn examples_compile_to_the_rvm() {
    let set = PolicySet::compile(examples()).unwrap();
    assert!(!set.is_empty());
    assert_eq!(set.sources().len(), 2);
    assert_eq!(set.deny_rule_count(), 3);
    assert_eq!(set.backend(), Backend::Rvm);
    assert!(PolicySet::empty().is_empty());
    assert!(
        PolicySet::empty()
            .denials(&input(&["operator"], "2025-01-06T20:00:00Z", "x", 0))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn denials_name_the_policy_rule_line_and_message() {
    let set = PolicySet::compile(examples()).unwrap();

    let night = set
        .denials(&input(
            &["operator"],
            "2025-01-06T20:00:00Z",
            "restricted",
            2,
        ))
        .unwrap();
    assert_eq!(
        night,
        vec![
            Denial {
                policy: "business_hours".into(),
                rule: "grimos.policies.business_hours.deny".into(),
                line: 3,
                message: "operators may not edit outside 09:00-17:00 UTC".into(),
            },
            Denial {
                policy: "clearance".into(),
                rule: "grimos.policies.clearance.deny".into(),
                line: 3,
                message: "restricted data needs clearance 3 or more".into(),
            },
        ]
    );

    // The same machine, another input: nothing is left over from the previous call.
    let noon = set
        .denials(&input(
            &["operator"],
            "2025-01-06T12:00:00Z",
            "restricted",
            3,
        ))
        .unwrap();
    assert_eq!(noon, vec![]);

    // A viewer at night, on secret data: the second clearance rule (line 8), as JSON.
    let secret = set
        .denials(&input(&["viewer"], "2025-01-06T20:00:00Z", "secret", 1))
        .unwrap();
    assert_eq!(secret.len(), 1);
    assert_eq!(secret[0].line, 8);
    assert_eq!(secret[0].message, r#"{"clearance":1,"reason":"secret"}"#);
    assert!(secret[0].to_string().contains("policy clearance"));

    // A partial input: the rules are undefined, not errors.
    assert_eq!(set.denials(&json!({"action": "view"})).unwrap(), vec![]);
}

#[test]
fn rvm_and_interpreter_agree() {
    let rvm = PolicySet::compile(examples()).unwrap();
    let interpreter = PolicySet::build(examples(), &json!({}), true).unwrap();
    assert_eq!(interpreter.backend(), Backend::Interpreter);
    let mut denied = 0;
    for roles in [&["operator"][..], &["viewer", "operator"], &["admin"], &[]] {
        for hour in [0, 8, 9, 12, 16, 17, 23] {
            for classification in ["public", "restricted", "secret"] {
                for clearance in [0, 2, 3, 5] {
                    let time = format!("2025-01-06T{hour:02}:30:00Z");
                    let input = input(roles, &time, classification, clearance);
                    let a = rvm.denials(&input).unwrap();
                    let b = interpreter.denials(&input).unwrap();
                    assert_eq!(a, b, "{input}");
                    denied += usize::from(!a.is_empty());
                }
            }
        }
    }
    assert!(denied > 100, "{denied}");
}

#[test]
fn a_syntax_error_has_its_line_and_column() {
    // `===` is not an operator: after `==`, `=` (column 26) is not an expression.
    let error = compile_error(
        "broken",
        "package grimos.policies.broken\n\ndeny contains 1 if { 1 === 2 }\n",
    );
    assert_eq!(error.policy, "broken");
    assert_eq!((error.line, error.column), (3, 26), "{error}");
    assert_eq!(error.message, "expecting expression");
    assert!(!error.message.is_empty());
    assert!(!error.message.contains("-->"), "{}", error.message);

    let kernel: kernel::Error = error.into();
    assert_eq!(kernel.kind(), kernel::ErrorKind::Validation);
    assert_eq!(kernel.code(), POLICY_INVALID);
    assert!(
        kernel.message().contains("line 3, column 26"),
        "{}",
        kernel.message()
    );
}

#[test]
fn a_semantic_error_on_a_deny_line_keeps_its_column() {
    // `nope` is undefined; it sits after the renamed `deny` token on line 3.
    let error = compile_error(
        "unsafe",
        "package grimos.policies.unsafe\n\ndeny contains msg if { msg := nope }\n",
    );
    assert_eq!((error.line, error.column), (3, 31), "{error}");
    assert!(error.message.contains("nope"), "{}", error.message);
    assert!(!error.message.contains("__grimos"), "{}", error.message);

    // An unknown function in a helper rule.
    let error = compile_error(
        "unknown",
        "package grimos.policies.unknown\n\nx := 1\n\nallowed if no_such_function(input)\n",
    );
    assert_eq!((error.line, error.column), (5, 12), "{error}");
}

#[test]
fn the_package_and_deny_shape_are_checked() {
    let error = compile_error(
        "mine",
        "package grimos.policies.other\n\ndeny contains 1 if true\n",
    );
    assert_eq!(error.line, 1);
    assert!(
        error.message.contains("grimos.policies.mine"),
        "{}",
        error.message
    );

    let error = compile_error("mine", "package mine\n");
    assert_eq!(error.line, 1);

    let error = compile_error(
        "mine",
        "package grimos.policies.mine\n\n\ndeny if input.x\n",
    );
    assert_eq!((error.line, error.column), (4, 1), "{error}");
    assert!(error.message.contains("deny contains"), "{}", error.message);

    let error = compile_error(
        "mine",
        "package grimos.policies.mine\n\ndefault deny := false\n",
    );
    assert_eq!(error.line, 3);

    let error = compile_error("mine", "package grimos.policies.mine\n\n__grimos_x := 1\n");
    assert_eq!(error.line, 3);
    assert!(error.message.contains("reserved"));

    let error = compile_error("Mine", "package grimos.policies.Mine\n");
    assert!(error.message.contains("lowercase"), "{error}");

    let error = PolicySet::compile(vec![
        PolicySource::new("a", 1, "package grimos.policies.a\n"),
        PolicySource::new("a", 2, "package grimos.policies.a\n"),
    ])
    .unwrap_err();
    assert!(error.message.contains("two policies"));

    // A policy without deny rules denies nothing but still has its tests.
    let set = PolicySet::compile(vec![PolicySource::new(
        "helpers",
        1,
        "package grimos.policies.helpers\n\nadult(age) if age >= 18\n\ntest_adult if adult(20)\n",
    )])
    .unwrap();
    assert_eq!(set.deny_rule_count(), 0);
    assert_eq!(set.denials(&json!({})).unwrap(), vec![]);
    assert_eq!(set.run_tests().len(), 1);
    assert!(set.run_tests()[0].passed);
}

#[test]
fn validate_name_accepts_the_documented_shape() {
    assert!(validate_name("a").is_ok());
    assert!(validate_name("business_hours_2").is_ok());
    assert!(validate_name(&format!("a{}", "b".repeat(62))).is_ok());
    assert!(validate_name(&format!("a{}", "b".repeat(63))).is_err());
    for bad in ["", "1a", "_a", "A", "a-b", "a.b", "é"] {
        assert!(validate_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn tests_pass_and_fail() {
    let source = r#"package grimos.policies.tested

deny contains "no guests" if input.subject.kind == "guest"

test_guest_denied if {
	deny["no guests"] with input as {"subject": {"kind": "guest"}}
}

test_user_allowed if {
	count(deny) == 0 with input as {"subject": {"kind": "user"}}
}

test_wrong if {
	count(deny) == 1 with input as {"subject": {"kind": "user"}}
}

test_not_boolean := 7

test_uses_no_input if {
	count(deny) == 0
}
"#;
    let mut policies = examples();
    policies.push(PolicySource::new("tested", 1, source));
    let set = PolicySet::compile(policies).unwrap();
    let outcomes = set.run_tests();
    let summary: Vec<(String, bool, Option<String>)> = outcomes
        .iter()
        .map(|o| (o.full_name(), o.passed, o.error.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "grimos.policies.business_hours.test_operator_denied_at_night".to_string(),
                true,
                None
            ),
            (
                "grimos.policies.business_hours.test_operator_allowed_at_noon".to_string(),
                true,
                None
            ),
            (
                "grimos.policies.tested.test_guest_denied".to_string(),
                true,
                None
            ),
            (
                "grimos.policies.tested.test_user_allowed".to_string(),
                true,
                None
            ),
            (
                "grimos.policies.tested.test_wrong".to_string(),
                false,
                Some("undefined".to_string())
            ),
            (
                "grimos.policies.tested.test_not_boolean".to_string(),
                false,
                Some("7".to_string())
            ),
            (
                "grimos.policies.tested.test_uses_no_input".to_string(),
                true,
                None
            ),
        ]
    );
    assert_eq!(outcomes[4].policy, "tested");
}

#[test]
fn the_bundle_loads_in_a_fresh_engine_with_the_same_answers() {
    let data = json!({"limits": {"clearance": 3}});
    let policies = examples();
    let bytes = bundle(&policies, &data, "rev-42").unwrap();
    // Deterministic: the same inputs give the same bytes (a stable ETag).
    assert_eq!(bytes, bundle(&policies, &data, "rev-42").unwrap());

    let files = read_bundle(&bytes).unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            ".manifest",
            "data.json",
            "business_hours.rego",
            "clearance.rego"
        ]
    );
    let manifest: serde_json::Value = serde_json::from_slice(&files[0].contents).unwrap();
    assert_eq!(
        manifest,
        json!({"revision": "rev-42", "roots": ["grimos/policies", "limits"], "rego_version": 1})
    );
    let bundled_data: serde_json::Value = serde_json::from_slice(&files[1].contents).unwrap();
    assert_eq!(bundled_data, data);

    let mut engine = regorus::Engine::new();
    for file in &files[2..] {
        engine
            .add_policy(
                file.path.clone(),
                String::from_utf8(file.contents.clone()).unwrap(),
            )
            .unwrap();
    }
    engine
        .add_data(
            regorus::Value::from_json_str(&String::from_utf8(files[1].contents.clone()).unwrap())
                .unwrap(),
        )
        .unwrap();

    let set = PolicySet::compile_with_data(policies, &data).unwrap();
    for time in ["2025-01-06T03:00:00Z", "2025-01-06T10:00:00Z"] {
        for classification in ["public", "restricted"] {
            for clearance in [1, 4] {
                let input = input(&["operator"], time, classification, clearance);
                engine.set_input(regorus::Value::from_json_str(&input.to_string()).unwrap());
                let mut expected: Vec<String> = Vec::new();
                for package in ["business_hours", "clearance"] {
                    let denied = engine
                        .eval_rule(format!("data.grimos.policies.{package}.deny"))
                        .unwrap();
                    for message in denied.as_set().unwrap().iter() {
                        expected.push(message.as_string().unwrap().to_string());
                    }
                }
                let got: Vec<String> = set
                    .denials(&input)
                    .unwrap()
                    .into_iter()
                    .map(|d| d.message)
                    .collect();
                assert_eq!(got, expected, "{input}");
            }
        }
    }
}

#[test]
fn bundle_roots_follow_the_data() {
    let bytes = bundle(&[], &json!({"grimos": {"x": 1}, "a": 2}), "r").unwrap();
    let files = read_bundle(&bytes).unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&files[0].contents).unwrap();
    assert_eq!(manifest["roots"], json!(["a", "grimos"]));
    assert!(read_bundle(b"not a gzip").is_err());
}

#[test]
fn regorus_error_text_is_located() {
    let text = "while loading:\n--> a/b.rego:12:7\n   |\n12 | x := 1 +\n   |       ^\nerror: unexpected token";
    let place = located_text(text);
    assert_eq!(place.file.as_deref(), Some("a/b.rego"));
    assert_eq!((place.line, place.column), (12, 7));
    assert_eq!(place.message, "while loading: unexpected token");

    // regorus counts a tab as 4 columns and a character as its bytes; editors count both
    // as one.
    let source = "package x\n\tx := \"é\" + nope\n";
    assert_eq!(char_column(source, 2, 5), 2); // x
    assert_eq!(char_column(source, 2, 17), 13); // nope: after a tab and "é" (2 bytes)
    assert_eq!(char_column(source, 1, 9), 9);
    assert_eq!(char_column(source, 9, 3), 3);

    let place = located_text("no location here");
    assert_eq!((place.file, place.line, place.column), (None, 0, 0));
    assert_eq!(place.message, "no location here");
}

const FILE_POLICY: &str = r#"package x

default allow := false

allow if input.user == "root"

allow if input.n % 3 == 0

echo := input.n

test_root if allow with input as {"user": "root"}

test_fails if allow with input as {"user": "bob", "n": 1}
"#;

fn files() -> RegoFiles {
    RegoFiles::compile(
        vec![RegoFile {
            path: "policies/x.rego".into(),
            source: FILE_POLICY.into(),
        }],
        Some(&json!({"limit": 3})),
    )
    .unwrap()
}

#[test]
fn files_of_any_package_run_their_tests() {
    let outcomes = files().run_tests();
    let names: Vec<(String, bool)> = outcomes.iter().map(|o| (o.full_name(), o.passed)).collect();
    assert_eq!(
        names,
        vec![
            ("x.test_root".to_string(), true),
            ("x.test_fails".to_string(), false)
        ]
    );
    assert_eq!(outcomes[0].policy, "policies/x.rego");

    let error = RegoFiles::compile(
        vec![RegoFile {
            path: "bad.rego".into(),
            source: "package bad\n\nallow if {\n\tinput.x ==\n}\n".into(),
        }],
        None,
    )
    .unwrap_err();
    assert_eq!(error.policy, "bad.rego");
    assert_eq!(error.line, 5, "{error}");
    assert!(error.to_string().starts_with("bad.rego:5:"), "{error}");

    // An unsafe variable in a test is a compile error, as in OPA.
    let error = RegoFiles::compile(
        vec![
            RegoFile {
                path: "ok.rego".into(),
                source: FILE_POLICY.into(),
            },
            RegoFile {
                path: "unsafe.rego".into(),
                source: "package u\n\ntest_x if {\n\tx := \"é\" + nope\n}\n".into(),
            },
        ],
        None,
    )
    .unwrap_err();
    assert_eq!(
        (error.policy.as_str(), error.line, error.column),
        ("unsafe.rego", 4, 13),
        "{error}"
    );
}

fn run_lines(query: &Query, text: &str, threads: usize) -> (String, EvalSummary) {
    let mut out = Vec::new();
    let summary = eval_lines(query, text.as_bytes(), &mut out, threads).unwrap();
    (String::from_utf8(out).unwrap(), summary)
}

#[test]
fn eval_lines_prints_one_result_per_line_in_order() {
    let files = files();
    let allow = files.query("data.x.allow").unwrap();
    assert_eq!(allow.backend(), Backend::Rvm);
    let text = "{\"user\": \"root\"}\n\n{\"user\": \"bob\", \"n\": 1}\nnot json\n{\"n\": 9}";
    let (out, summary) = run_lines(&allow, text, 2);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"{"result":true}"#);
    assert_eq!(lines[1], r#"{"result":false}"#);
    assert!(
        lines[2].starts_with(r#"{"error":{"line":4,"message":"invalid JSON"#),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], r#"{"result":true}"#);
    assert_eq!(lines.len(), 4);
    assert_eq!(
        summary,
        EvalSummary {
            lines: 4,
            errors: 1
        }
    );

    // Undefined answers `{}`; a package path is evaluated as a query.
    let echo = files.query("data.x.echo").unwrap();
    let (out, _) = run_lines(&echo, "{\"n\": 5}\n{}\n", 1);
    assert_eq!(out, "{\"result\":5}\n{}\n");
    let package = files.query("data.x").unwrap();
    assert_eq!(package.backend(), Backend::Query);
    let (out, _) = run_lines(&package, "{\"n\": 5}\n", 1);
    let value: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(value["result"]["echo"], json!(5));
    assert_eq!(value["result"]["allow"], json!(false));
    let expression = files.query("data.limit + input.n").unwrap();
    let (out, _) = run_lines(&expression, "{\"n\": 5}\n", 1);
    assert_eq!(out, "{\"result\":8}\n");
}

#[test]
fn eval_lines_survives_a_line_that_is_not_utf8() {
    let files = files();
    let echo = files.query("data.x.echo").unwrap();
    let mut input = b"{\"n\": 1}\n{\"n\": \"".to_vec();
    input.extend_from_slice(&[0xff, 0xfe]);
    input.extend_from_slice(b"\"}\n{\"n\": \"\xc3\xa9\"}\n");
    let mut out = Vec::new();
    let summary = eval_lines(&echo, input.as_slice(), &mut out, 1).unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"{"result":1}"#);
    assert!(
        lines[1].starts_with(r#"{"error":{"line":2,"#),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2], "{\"result\":\"\u{e9}\"}");
    assert_eq!(
        summary,
        EvalSummary {
            lines: 3,
            errors: 1
        }
    );
}

#[test]
fn eval_lines_keeps_the_order_across_workers() {
    let files = files();
    let rvm = files.query("data.x.echo").unwrap();
    let interpreter = files.query_with("data.x.echo", true).unwrap();
    assert_eq!(interpreter.backend(), Backend::Interpreter);
    let count = 10_000;
    let text: String = (0..count).map(|n| format!("{{\"n\": {n}}}\n")).collect();
    let expected: String = (0..count)
        .map(|n| format!("{{\"result\":{n}}}\n"))
        .collect();
    for (query, threads) in [(&rvm, 2), (&rvm, 3), (&interpreter, 2)] {
        let (out, summary) = run_lines(query, &text, threads);
        assert_eq!(
            summary,
            EvalSummary {
                lines: count,
                errors: 0
            }
        );
        assert!(out == expected, "threads {threads}");
    }
}
