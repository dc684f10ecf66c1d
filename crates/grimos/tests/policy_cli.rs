//! `grimos policy test` and `grimos policy eval` as processes: output, order, exit codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const BINARY: &str = env!("CARGO_BIN_EXE_grimos");

const HOURS: &str = r#"package grimos.policies.business_hours

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

const ALLOW: &str = r#"package x

default allow := false

allow if input.user in data.admins

allow if {
	input.action == "view"
	count(data.grimos.policies.business_hours.deny) == 0
}
"#;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn grimos(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BINARY)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn policy_test_prints_pass_and_fail_and_exits_by_result() {
    let dir = tempfile::tempdir().unwrap();
    let hours = write(dir.path(), "hours.rego", HOURS);
    let output = grimos(&["policy", "test", &hours], None);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "PASS grimos.policies.business_hours.test_operator_denied_at_night\n\
         PASS grimos.policies.business_hours.test_operator_allowed_at_noon\n\
         2 tests: 2 passed, 0 failed\n"
    );

    let failing = write(
        dir.path(),
        "failing.rego",
        "package t\n\ntest_ok if true\n\ntest_bad if 1 == 2\n",
    );
    let output = grimos(&["policy", "test", &hours, &failing], None);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("PASS t.test_ok\n"), "{stdout}");
    assert!(
        stdout.contains(&format!("FAIL t.test_bad ({failing}): undefined\n")),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("4 tests: 3 passed, 1 failed\n"),
        "{stdout}"
    );

    // A syntax error on line 3: FILE:LINE:COLUMN on stderr, exit 2.
    let broken = write(
        dir.path(),
        "broken.rego",
        "package b\n\ndeny contains 1 if { 1 === 2 }\n",
    );
    let output = grimos(&["policy", "test", &broken], None);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with(&format!("{broken}:3:26: ")), "{stderr}");
    assert!(text(&output.stdout).is_empty());

    let output = grimos(&["policy", "test", "/nonexistent/x.rego"], None);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn policy_eval_prints_one_result_per_line_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let hours = write(dir.path(), "hours.rego", HOURS);
    let allow = write(dir.path(), "allow.rego", ALLOW);
    let data = write(dir.path(), "data.json", r#"{"admins": ["root"]}"#);
    let mut lines = String::new();
    let mut expected = String::new();
    for n in 0..5000 {
        let (line, result) = match n % 5 {
            0 => (
                r#"{"user": "root"}"#.to_string(),
                r#"{"result":true}"#.to_string(),
            ),
            1 => (
                r#"{"user": "ann", "action": "view", "subject": {"roles": []}}"#.to_string(),
                r#"{"result":true}"#.to_string(),
            ),
            2 => (
                format!(
                    r#"{{"user": "u{n}", "action": "view", "subject": {{"roles": ["operator"]}}, "context": {{"time": "2025-01-06T03:00:00Z"}}}}"#
                ),
                r#"{"result":true}"#.to_string(),
            ),
            3 => (
                r#"{"user": "bob"}"#.to_string(),
                r#"{"result":false}"#.to_string(),
            ),
            _ => (
                "{not json".to_string(),
                format!(r#"{{"error":{{"line":{},"message":"invalid JSON"#, n + 1),
            ),
        };
        lines.push_str(&line);
        lines.push('\n');
        expected.push_str(&result);
        expected.push('\n');
    }
    let inputs = write(dir.path(), "inputs.jsonl", &lines);
    let args = [
        "policy",
        "eval",
        "--policy",
        &hours,
        "--policy",
        &allow,
        "--data",
        &data,
        "--query",
        "data.x.allow",
        "--inputs",
        &inputs,
    ];
    let output = grimos(&args, None);
    assert_eq!(output.status.code(), Some(1), "line errors exit 1");
    assert!(
        text(&output.stderr).contains("1000 of 5000 input lines printed an error"),
        "{}",
        text(&output.stderr)
    );
    let stdout = text(&output.stdout);
    let got: Vec<&str> = stdout.lines().collect();
    let want: Vec<&str> = expected.lines().collect();
    assert_eq!(got.len(), want.len());
    for (index, (got, want)) in got.iter().zip(&want).enumerate() {
        assert!(got.starts_with(want), "line {}: {got} / {want}", index + 1);
    }

    // From stdin, every line valid: exit 0; an undefined query answers {}.
    let stdin = "{\"user\": \"root\"}\n\n{\"user\": \"x\"}\n";
    let args = [
        "policy",
        "eval",
        "--policy",
        &allow,
        "--data",
        &data,
        "--query",
        "data.x.allow",
        "--inputs",
        "-",
        "--threads",
        "1",
    ];
    let output = grimos(&args, Some(stdin));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        text(&output.stdout),
        "{\"result\":true}\n{\"result\":false}\n"
    );
    let args = [
        "policy",
        "eval",
        "--policy",
        &allow,
        "--query",
        "data.x.nothing",
        "--inputs",
        "-",
    ];
    let output = grimos(&args, Some("{}\n"));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout), "{}\n");

    // A policy that does not compile: exit 2 with its position.
    let broken = write(dir.path(), "broken.rego", "package b\n\nallow if {\n");
    let args = [
        "policy",
        "eval",
        "--policy",
        &broken,
        "--query",
        "data.b.allow",
        "--inputs",
        "-",
    ];
    let output = grimos(&args, Some("{}\n"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).starts_with(&format!("{broken}:")),
        "{}",
        text(&output.stderr)
    );
}
