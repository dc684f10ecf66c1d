//! The routes' document, and the bundle's decision module against the decision point.

use serde_json::{Value, json};

use super::bundle::{bundle_data, decision_module};
use super::refs::{OBJECT_PATTERN, SUBJECT_PATTERN};
use crate::graph::{Graph, Subject};
use crate::model::{ObjectRef, Relationship, Revision, SubjectRef};
use crate::policy::{PolicySet, PolicySource};
use crate::service::{CheckRequest, Context, decide};

fn document() -> Value {
    serde_json::to_value(super::router().split_for_parts().1).unwrap()
}

fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            found.push((path.clone(), method.clone(), operation.clone()));
        }
    }
    found
}

#[test]
fn every_route_is_documented_under_authz_with_bearer_security_and_problem_errors() {
    let document = document();
    let operations = operations(&document);
    assert_eq!(
        operations.len(),
        24,
        "{:?}",
        operations.iter().map(|o| (&o.0, &o.1)).collect::<Vec<_>>()
    );
    for (path, method, operation) in &operations {
        assert!(path.starts_with("/api/v1/authz/"), "{path}");
        assert_eq!(operation["tags"], json!(["authz"]), "{method} {path}");
        assert_eq!(
            operation["security"],
            json!([{"bearer": []}]),
            "{method} {path}"
        );
        for status in ["400", "401", "403", "422", "500", "503"] {
            let response = &operation["responses"][status];
            assert!(
                response["content"]["application/problem+json"].is_object(),
                "{method} {path} documents no {status} problem"
            );
        }
    }
}

#[test]
fn every_reference_field_states_the_pattern_the_parsers_accept() {
    let text = serde_json::to_string(&document()).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    let mut seen = 0;
    let mut check = |name: &str, schema: &Value| {
        let expected = match name {
            "subject" => SUBJECT_PATTERN,
            "resource" | "object" => OBJECT_PATTERN,
            _ => return,
        };
        if let Some(pattern) = schema["pattern"].as_str() {
            seen += 1;
            // The member path also names group usersets and roles only.
            if !pattern.contains("#member|platform:grimos#(admin") {
                assert_eq!(pattern, expected, "{name}");
            }
        }
    };
    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            check(field, property);
            let _ = name;
        }
    }
    for (_, _, operation) in operations(&document) {
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            check(parameter["name"].as_str().unwrap(), &parameter["schema"]);
        }
    }
    assert!(seen >= 8, "only {seen} reference fields");
}

#[test]
fn references_outside_the_patterns_are_refused_and_inside_them_read() {
    for text in [
        "user:ann",
        "service:ci",
        "group:sre#member",
        "platform:grimos#operator",
    ] {
        assert!(super::refs::subject(text, "/subject").is_ok(), "{text}");
    }
    for text in [
        "user:ann#X",
        "user:#",
        "user:ann#member",
        "connector:1",
        "group:sre#Member",
    ] {
        let error = super::refs::subject(text, "/subject").unwrap_err();
        assert_eq!(error.code(), "invalid_authz_reference", "{text}");
        assert!(
            error.message().starts_with("/subject: "),
            "{}",
            error.message()
        );
    }
    assert!(super::refs::revision("12", "/at_least").is_ok());
    for text in ["+1", "-1", "", "1234567890123456789", "1e3"] {
        assert!(super::refs::revision(text, "/at_least").is_err(), "{text}");
    }
}

fn tuple(text: &str) -> Relationship {
    let (resource, subject) = text.split_once('@').unwrap();
    let (resource, relation) = resource.rsplit_once('#').unwrap();
    Relationship {
        resource: ObjectRef::parse(resource).unwrap(),
        relation: relation.to_owned(),
        subject: SubjectRef::parse(subject).unwrap(),
    }
}

const BUSINESS_HOURS: &str = r#"package grimos.policies.business_hours

deny contains msg if {
    "operator" in input.subject.roles
    input.action != "view"
    [hour, _, _] := time.clock([time.parse_rfc3339_ns(input.context.time), "UTC"])
    not hour in {9, 10, 11, 12, 13, 14, 15, 16}
    msg := sprintf("operators may not %s outside 09:00-17:00 UTC", [input.action])
}
"#;

const CLEARANCE: &str = r#"package grimos.policies.clearance

deny contains "restricted data needs clearance 3 or more" if {
    input.resource.attributes.classification == "restricted"
    object.get(input.subject.attributes, "clearance", 0) < 3
}

deny contains "sre members may not delete" if {
    "sre" in input.subject.groups
    input.action == "delete"
}
"#;

#[test]
fn the_bundles_decision_module_decides_as_the_decision_point() {
    let tuples: Vec<Relationship> = [
        "platform:grimos#operator@user:olga",
        "platform:grimos#viewer@user:vic",
        "platform:grimos#admin@user:ada",
        "platform:grimos#viewer@group:auditors#member",
        "group:auditors#member@user:ann",
        "connector:c1#editor@group:sre#member",
        "group:sre#member@group:oncall#member",
        "group:oncall#member@user:ann",
        "connector:c2#owner@user:bob",
        "connector:c3#viewer@user:bob",
        "flow:f1#operator@user:ann",
        "secret:vault:secret/crm/*#user@user:bob",
        "secret:vault:secret/crm/token#owner@user:ann",
    ]
    .into_iter()
    .map(tuple)
    .collect();
    let attributes = vec![
        (
            ObjectRef::parse("connector:c2").unwrap(),
            json!({"classification": "restricted"}),
        ),
        (
            ObjectRef::parse("user:bob").unwrap(),
            json!({"clearance": 2}),
        ),
        (
            ObjectRef::parse("user:ada").unwrap(),
            json!({"clearance": 5}),
        ),
    ];
    let mut graph = Graph::new(Revision(7));
    for tuple in &tuples {
        graph.insert(tuple.clone());
    }
    for (object, value) in &attributes {
        graph.set_attributes(object.clone(), value.clone());
    }
    let sources = vec![
        PolicySource::new("business_hours", 1, BUSINESS_HOURS),
        PolicySource::new("clearance", 1, CLEARANCE),
    ];
    let policies = PolicySet::compile(sources.clone()).unwrap();
    let data = bundle_data(Revision(7), &tuples, &attributes);
    let mut engine = regorus::Engine::new();
    for source in &sources {
        engine
            .add_policy(source.file_name(), source.source.clone())
            .unwrap();
    }
    engine
        .add_policy("_authz.rego".into(), decision_module(&sources))
        .unwrap();
    engine
        .add_data(regorus::Value::from_json_str(&data.to_string()).unwrap())
        .unwrap();

    let subjects = [
        "user:olga",
        "user:vic",
        "user:ada",
        "user:ann",
        "user:bob",
        "user:nobody",
    ];
    let requests = [
        ("view", "connector:c1"),
        ("edit", "connector:c1"),
        ("delete", "connector:c1"),
        ("edit", "connector:c2"),
        ("view", "connector:c2"),
        ("manage", "connector:c2"),
        ("view", "connector:c3"),
        ("run", "flow:f1"),
        ("edit", "flow:f1"),
        ("use", "secret:vault:secret/crm/token"),
        ("use", "secret:vault:secret/erp/token"),
        ("create_connector", "platform:grimos"),
        ("manage_access", "platform:grimos"),
    ];
    let times = ["2025-01-06T12:00:00Z", "2025-01-06T20:00:00Z"];
    let (mut allowed, mut denied_by_policy) = (0, 0);
    for subject in subjects {
        for (action, resource) in requests {
            for time in times {
                let request = CheckRequest {
                    subject: Subject::stored(SubjectRef::parse(subject).unwrap()),
                    action: action.to_owned(),
                    resource: ObjectRef::parse(resource).unwrap(),
                    context: Context {
                        time: Some(time.parse().unwrap()),
                        ..Context::default()
                    },
                    at_least: None,
                };
                let expected = decide(&graph, &policies, &request).unwrap();
                engine.set_input(
                    regorus::Value::from_json_str(
                        &json!({"subject": subject, "action": action, "resource": resource,
                                "context": {"time": time}})
                        .to_string(),
                    )
                    .unwrap(),
                );
                let decision = engine
                    .eval_rule("data.grimos.authz.decision".into())
                    .unwrap();
                let got: Value = serde_json::from_str(&decision.to_json_str().unwrap()).unwrap();
                assert_eq!(
                    got["allowed"],
                    json!(expected.allowed),
                    "{subject} {action} {resource} at {time}: {expected:?} vs {got}"
                );
                let expected_policies: Vec<&str> = expected
                    .reasons
                    .iter()
                    .filter_map(|reason| reason.policy.as_deref())
                    .collect();
                let mut got_policies: Vec<&str> = got["denials"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|denial| denial["policy"].as_str().unwrap())
                    .collect();
                got_policies.sort();
                let mut expected_sorted = expected_policies.clone();
                expected_sorted.sort();
                assert_eq!(
                    got_policies, expected_sorted,
                    "{subject} {action} {resource}"
                );
                allowed += usize::from(expected.allowed);
                denied_by_policy += usize::from(!expected_policies.is_empty());
            }
        }
    }
    // The matrix exercises every branch: grants, no grants, and policy denials.
    assert!(allowed > 20, "{allowed}");
    assert!(denied_by_policy > 5, "{denied_by_policy}");
}
