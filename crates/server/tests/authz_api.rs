//! The authorization service's HTTP API (`/api/v1/authz/...`) on a real server, on SQLite
//! and on PostgreSQL: checks and batches with their reasons and revisions, relationship
//! writes whose revision a check can ask for, grants through nested groups that stop with
//! the membership, a business-hours policy that turns an allow into a deny (in a check and
//! on a real route), invalid policies refused with their line, the OPA bundle evaluated by
//! regorus against `/check`, and no secret value in any answer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::Timelike as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Options, TestApp, problem};

on_both_backends!(
    checks_and_batches_answer_with_reasons_and_the_revision,
    relationship_writes_are_checked_all_or_nothing_and_seen_at_their_revision,
    nested_group_grants_stop_with_the_membership_at_its_revision,
    a_business_hours_policy_turns_allowed_into_denied_in_checks_and_routes,
    an_invalid_policy_is_refused_with_its_line_and_changes_nothing,
    the_bundle_loads_in_regorus_and_decides_as_check,
    secrets_never_appear_in_authz_answers,
);

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.request(method, path, Some(token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// The body of a response expected to have `status`.
async fn expect(response: reqwest::Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn check(app: &TestApp, token: &str, body: Value) -> Value {
    expect(
        app.post_json("/api/v1/authz/check", token, body).await,
        StatusCode::OK,
    )
    .await
}

async fn relate(app: &TestApp, token: &str, writes: Value, deletes: Value) -> String {
    let body = expect(
        app.post_json(
            "/api/v1/authz/relationships",
            token,
            json!({"writes": writes, "deletes": deletes}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    body["revision"].as_str().unwrap().to_owned()
}

fn rel(resource: &str, relation: &str, subject: &str) -> Value {
    json!({"resource": resource, "relation": relation, "subject": subject})
}

/// Percent-encode a path segment.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn sql_config(dir: &tempfile::TempDir, file: &str) -> Value {
    json!({"type": "sql", "url": format!("sqlite://{}", dir.path().join(file).display())})
}

async fn create_connector(app: &TestApp, token: &str, name: &str, config: Value) -> String {
    let body = expect(
        app.post_json(
            "/api/v1/interop/connectors",
            token,
            json!({"name": name, "type": "sql", "config": config}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    body["id"].as_str().unwrap().to_owned()
}

fn revision_of(value: &Value) -> i64 {
    value["revision"].as_str().unwrap().parse().unwrap()
}

async fn checks_and_batches_answer_with_reasons_and_the_revision(app: &TestApp) {
    let (ann, ann_token) = app.user_with_token("ann", "member").await;
    let (bob, _) = app.user_with_token("bob", "member").await;
    let ann_s = format!("user:{ann}");
    let bob_s = format!("user:{bob}");
    let revision = relate(
        app,
        ADMIN_TOKEN,
        json!([
            rel("connector:c1", "editor", &ann_s),
            rel("connector:c2", "viewer", &ann_s),
            rel("connector:c3", "viewer", &ann_s),
            rel("connector:c4", "owner", &ann_s),
        ]),
        json!([]),
    )
    .await;

    // An admin asks about ann (her stored roles): allowed through the relationship.
    let decision = check(
        app,
        ADMIN_TOKEN,
        json!({"subject": ann_s, "action": "edit", "resource": "connector:c1", "at_least": revision}),
    )
    .await;
    assert_eq!(decision["allowed"], true, "{decision}");
    assert_eq!(decision["reasons"][0]["kind"], "relationship");
    assert_eq!(
        decision["reasons"][0]["path"],
        json!(["connector:c1#editor", ann_s])
    );
    assert!(revision_of(&decision) >= revision.parse::<i64>().unwrap());
    let denied = check(
        app,
        ADMIN_TOKEN,
        json!({"subject": ann_s, "action": "delete", "resource": "connector:c1"}),
    )
    .await;
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["reasons"][0]["kind"], "no_grant");
    assert!(
        denied["reasons"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("#owner"),
        "{denied}"
    );
    // A stored role grants through the platform; a stranger holds nothing.
    let admin_subject = expect(
        app.get("/api/v1/auth/whoami", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await["user_id"]
        .as_str()
        .map(|id| format!("user:{id}"))
        .unwrap();
    let by_role = check(
        app,
        &ann_token,
        json!({"subject": ann_s, "action": "create_token", "resource": "platform:grimos"}),
    )
    .await;
    assert_eq!(by_role["allowed"], true, "{by_role}");
    assert_eq!(by_role["reasons"][0]["kind"], "role");
    assert_eq!(by_role["reasons"][0]["path"][0], "platform:grimos#member");
    let stranger = check(
        app,
        ADMIN_TOKEN,
        json!({"subject": "user:stranger", "action": "view", "resource": "connector:c1"}),
    )
    .await;
    assert_eq!(stranger["allowed"], false);

    // Ann asks about herself (her credential's role: member) but not about bob.
    let own = check(
        app,
        &ann_token,
        json!({"subject": ann_s, "action": "view", "resource": "connector:c2"}),
    )
    .await;
    assert_eq!(own["allowed"], true);
    let refused = problem(
        app.post_json(
            "/api/v1/authz/check",
            &ann_token,
            json!({"subject": bob_s, "action": "view", "resource": "connector:c2"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("manage_access"),
        "{refused}"
    );
    // Malformed questions.
    for (body, code) in [
        (
            json!({"subject": "nope", "action": "view", "resource": "connector:c2"}),
            "invalid_authz_reference",
        ),
        (
            json!({"subject": ann_s, "action": "run", "resource": "connector:c2"}),
            "unknown_action",
        ),
        (
            json!({"subject": ann_s, "action": "view", "resource": "connector:c2", "at_least": "999999999"}),
            "revision_unknown",
        ),
        (
            json!({"subject": ann_s, "action": "view", "resource": "connector:c2", "extra": 1}),
            "validation_failed",
        ),
    ] {
        let body = problem(
            app.post_json("/api/v1/authz/check", ADMIN_TOKEN, body)
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(body["code"], code, "{body}");
    }

    // A batch: answers in order, one snapshot, bad checks answered in place.
    let batch = expect(
        app.post_json(
            "/api/v1/authz/check/batch",
            ADMIN_TOKEN,
            json!({"checks": [
                {"subject": ann_s, "action": "edit", "resource": "connector:c1"},
                {"subject": ann_s, "action": "delete", "resource": "connector:c1"},
                {"subject": "nope", "action": "view", "resource": "connector:c1"},
                {"subject": ann_s, "action": "fly", "resource": "connector:c1"},
                {"subject": ann_s, "action": "view", "resource": "connector:c1", "at_least": "999999999"},
                {"subject": ann_s, "action": "delete", "resource": "connector:c4", "at_least": revision},
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[0]["allowed"], true);
    assert_eq!(results[1]["allowed"], false);
    assert_eq!(results[2]["error"]["code"], "invalid_authz_reference");
    assert_eq!(results[2]["error"]["status"], 422);
    assert!(
        results[2]["error"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("/checks/2/subject"),
        "{}",
        results[2]
    );
    assert_eq!(results[3]["error"]["code"], "unknown_action");
    assert_eq!(results[4]["error"]["code"], "revision_unknown");
    assert_eq!(results[5]["allowed"], true);
    for decision in [&results[0], &results[1], &results[5]] {
        assert_eq!(decision["revision"], batch["revision"]);
    }
    // Ann's batch: her own checks answered, one about bob refused in place.
    let batch = expect(
        app.post_json(
            "/api/v1/authz/check/batch",
            &ann_token,
            json!({"checks": [
                {"subject": ann_s, "action": "view", "resource": "connector:c3"},
                {"subject": bob_s, "action": "view", "resource": "connector:c3"},
            ]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(batch["results"][0]["allowed"], true);
    assert_eq!(batch["results"][1]["error"]["code"], "forbidden");
    assert_eq!(batch["results"][1]["error"]["status"], 403);
    // At most 1,000 checks.
    let checks: Vec<Value> = (0..1001)
        .map(|_| json!({"subject": "user:a", "action": "view", "resource": "flow:x"}))
        .collect();
    let body = problem(
        app.post_json(
            "/api/v1/authz/check/batch",
            ADMIN_TOKEN,
            json!({"checks": checks}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"][0]["path"], "/checks");

    // What may ann edit? View? Paginated by object, with paths.
    let path = format!(
        "/api/v1/authz/objects?subject={}&type=connector&action=view&limit=2",
        encode(&ann_s)
    );
    let first = expect(app.get(&path, &ann_token).await, StatusCode::OK).await;
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["object"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["connector:c1", "connector:c2"]);
    assert_eq!(first["all"], Value::Null);
    assert_eq!(
        first["items"][0]["path"],
        json!(["connector:c1#editor", ann_s])
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect(
        app.get(&format!("{path}&cursor={cursor}"), &ann_token)
            .await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["object"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["connector:c3", "connector:c4"]);
    assert_eq!(second["next_cursor"], Value::Null);
    // An admin asking about themself: a role grants every connector.
    let all = expect(
        app.get(
            &format!(
                "/api/v1/authz/objects?subject={}&type=connector&action=edit",
                encode(&admin_subject)
            ),
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        all["all"]["granted_by"][0], "platform:grimos#admin",
        "{all}"
    );
    // Ann may not ask about bob's objects.
    problem(
        app.get(
            &format!(
                "/api/v1/authz/objects?subject={}&type=connector&action=view",
                encode(&bob_s)
            ),
            &ann_token,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // Who may edit c1? Admins may ask; so may its owners; ann (an editor) may not.
    let subjects = expect(
        app.get(
            "/api/v1/authz/subjects?resource=connector:c1&action=edit",
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = subjects["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["subject"].as_str().unwrap())
        .collect();
    assert!(names.contains(&ann_s.as_str()), "{subjects}");
    assert!(names.contains(&"platform:grimos#admin"), "{subjects}");
    problem(
        app.get(
            "/api/v1/authz/subjects?resource=connector:c1&action=edit",
            &ann_token,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let owned = expect(
        app.get(
            "/api/v1/authz/subjects?resource=connector:c4&action=view",
            &ann_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        owned["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["subject"] == ann_s.as_str())
    );
    // One she cannot see is 404.
    problem(
        app.get(
            "/api/v1/authz/subjects?resource=connector:elsewhere&action=view",
            &ann_token,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn relationship_writes_are_checked_all_or_nothing_and_seen_at_their_revision(app: &TestApp) {
    let (ann, ann_token) = app.user_with_token("ann", "member").await;
    let (bob, bob_token) = app.user_with_token("bob", "member").await;
    let ann_s = format!("user:{ann}");
    let bob_s = format!("user:{bob}");
    relate(
        app,
        ADMIN_TOKEN,
        json!([
            rel("connector:mine", "owner", &ann_s),
            rel("connector:theirs", "editor", &ann_s)
        ]),
        json!([]),
    )
    .await;

    // The owner shares; the answer's revision is what a check asks for.
    let revision = relate(
        app,
        &ann_token,
        json!([rel("connector:mine", "viewer", &bob_s)]),
        json!([]),
    )
    .await;
    let decision = check(
        app,
        &bob_token,
        json!({"subject": bob_s, "action": "view", "resource": "connector:mine", "at_least": revision}),
    )
    .await;
    assert_eq!(decision["allowed"], true, "{decision}");
    assert!(revision_of(&decision) >= revision.parse::<i64>().unwrap());
    // Idempotent: writing it again changes nothing that a check sees.
    relate(
        app,
        &ann_token,
        json!([rel("connector:mine", "viewer", &bob_s)]),
        json!([]),
    )
    .await;

    // An editor may not share, and one refusal changes nothing of the request.
    let before = expect(
        app.get(
            "/api/v1/authz/relationships?resource_type=connector&resource_id=theirs",
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let body = problem(
        app.post_json(
            "/api/v1/authz/relationships",
            &ann_token,
            json!({"writes": [rel("connector:mine", "editor", &bob_s), rel("connector:theirs", "viewer", &bob_s)]}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("manage"),
        "{body}"
    );
    // Nobody but admins gives roles.
    problem(
        app.post_json(
            "/api/v1/authz/relationships",
            &ann_token,
            json!({"writes": [rel("platform:grimos", "admin", &ann_s)]}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // A malformed second write: nothing is written, the pointer names it.
    let body = problem(
        app.post_json(
            "/api/v1/authz/relationships",
            ADMIN_TOKEN,
            json!({"writes": [rel("connector:theirs", "viewer", &bob_s), rel("connector:theirs", "member", &bob_s)]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "invalid_relationship");
    assert!(
        body["detail"].as_str().unwrap().starts_with("/writes/1"),
        "{body}"
    );
    let after = expect(
        app.get(
            "/api/v1/authz/relationships?resource_type=connector&resource_id=theirs",
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(before, after);
    assert_eq!(
        after["items"],
        json!([rel("connector:theirs", "editor", &ann_s)])
    );
    let mine = expect(
        app.get(
            "/api/v1/authz/relationships?resource_type=connector&resource_id=mine",
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        !mine["items"]
            .as_array()
            .unwrap()
            .contains(&rel("connector:mine", "editor", &bob_s))
    );

    // The owner lists her object's relationships; without naming one she may not list.
    let listed = expect(
        app.get(
            "/api/v1/authz/relationships?resource_type=connector&resource_id=mine",
            &ann_token,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    problem(
        app.get("/api/v1/authz/relationships", &ann_token).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    // Admins page through everything.
    let page = expect(
        app.get(
            &format!(
                "/api/v1/authz/relationships?subject={}&limit=1",
                encode(&ann_s)
            ),
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert!(page["next_cursor"].is_string());

    // Delete: the check at the answered revision no longer allows.
    let revision = relate(
        app,
        &ann_token,
        json!([]),
        json!([rel("connector:mine", "viewer", &bob_s)]),
    )
    .await;
    let decision = check(
        app,
        &bob_token,
        json!({"subject": bob_s, "action": "view", "resource": "connector:mine", "at_least": revision}),
    )
    .await;
    assert_eq!(decision["allowed"], false, "{decision}");
}

async fn nested_group_grants_stop_with_the_membership_at_its_revision(app: &TestApp) {
    let (ann, ann_token) = app.user_with_token("ann", "member").await;
    let ann_s = format!("user:{ann}");
    let dir = tempfile::tempdir().unwrap();
    let connector = create_connector(app, ADMIN_TOKEN, "shared", sql_config(&dir, "s.db")).await;
    let connector_ref = format!("connector:{connector}");

    for (id, name) in [("sre", "SRE"), ("oncall", "On call")] {
        let created = expect(
            app.post_json(
                "/api/v1/authz/groups",
                ADMIN_TOKEN,
                json!({"id": id, "display_name": name}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(created["id"], id);
        assert!(created["revision"].is_string());
    }
    problem(
        app.post_json(
            "/api/v1/authz/groups",
            ADMIN_TOKEN,
            json!({"id": "sre", "display_name": "again"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    problem(
        app.post_json(
            "/api/v1/authz/groups",
            &ann_token,
            json!({"id": "mine", "display_name": "Mine"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let members = |group: &str, subject: &str| {
        format!("/api/v1/authz/groups/{group}/members/{}", encode(subject))
    };
    expect(
        send(
            app,
            Method::PUT,
            &members("sre", "group:oncall#member"),
            ADMIN_TOKEN,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let joined = expect(
        send(
            app,
            Method::PUT,
            &members("oncall", &ann_s),
            ADMIN_TOKEN,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let granted = relate(
        app,
        ADMIN_TOKEN,
        json!([rel(&connector_ref, "editor", "group:sre#member")]),
        json!([]),
    )
    .await;
    assert!(granted.parse::<i64>().unwrap() > revision_of(&joined));
    let decision = check(
        app,
        &ann_token,
        json!({"subject": ann_s, "action": "edit", "resource": connector_ref, "at_least": granted}),
    )
    .await;
    assert_eq!(decision["allowed"], true, "{decision}");
    assert_eq!(
        decision["reasons"][0]["path"],
        json!([
            format!("{connector_ref}#editor"),
            "group:sre#member",
            "group:oncall#member",
            ann_s
        ])
    );
    // The real route agrees: ann (a member) sees the connector.
    let path = format!("/api/v1/interop/connectors/{connector}");
    expect(app.get(&path, &ann_token).await, StatusCode::OK).await;
    // She sees the groups she belongs to, and their members.
    let groups = expect(
        app.get("/api/v1/authz/groups", &ann_token).await,
        StatusCode::OK,
    )
    .await;
    let ids: Vec<&str> = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["oncall", "sre"]);
    let listed = expect(
        app.get("/api/v1/authz/groups/oncall/members", &ann_token)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["items"], json!([ann_s]));
    assert_eq!(listed["managers"].as_array().unwrap().len(), 1);
    // ...but may not change them.
    problem(
        send(
            app,
            Method::DELETE,
            &members("oncall", &ann_s),
            &ann_token,
            None,
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // The membership goes: at its revision the grant no longer reaches her.
    let left = expect(
        send(
            app,
            Method::DELETE,
            &members("oncall", &ann_s),
            ADMIN_TOKEN,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let decision = check(
        app,
        &ann_token,
        json!({"subject": ann_s, "action": "edit", "resource": connector_ref, "at_least": left["revision"]}),
    )
    .await;
    assert_eq!(decision["allowed"], false, "{decision}");
    assert!(revision_of(&decision) >= revision_of(&left));
    problem(app.get(&path, &ann_token).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get("/api/v1/authz/groups/oncall", &ann_token).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Deleting a group forgets its relationships.
    expect(
        send(
            app,
            Method::DELETE,
            "/api/v1/authz/groups/sre",
            ADMIN_TOKEN,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let left_over = expect(
        app.get(
            &format!(
                "/api/v1/authz/relationships?subject={}",
                encode("group:sre#member")
            ),
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(left_over["items"], json!([]));
    problem(
        app.get("/api/v1/authz/groups/sre", ADMIN_TOKEN).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

fn business_hours(hours: &str) -> String {
    format!(
        r#"package grimos.policies.business_hours

deny contains msg if {{
    "operator" in input.subject.roles
    input.action != "view"
    [hour, _, _] := time.clock([time.parse_rfc3339_ns(input.context.time), "UTC"])
    not hour in {{{hours}}}
    msg := sprintf("operators may not %s outside business hours", [input.action])
}}

test_operators_may_always_view if {{
    count(deny) == 0 with input as {{"subject": {{"roles": ["operator"]}}, "action": "view",
        "context": {{"time": "2025-01-06T12:00:00Z"}}}}
}}
"#
    )
}

async fn a_business_hours_policy_turns_allowed_into_denied_in_checks_and_routes(app: &TestApp) {
    let (olga, olga_token) = app.user_with_token("olga", "operator").await;
    let olga_s = format!("user:{olga}");
    let dir = tempfile::tempdir().unwrap();
    let connector = create_connector(app, &olga_token, "olgas", sql_config(&dir, "o.db")).await;
    let connector_ref = format!("connector:{connector}");
    let at = |time: &str| {
        json!({"subject": olga_s, "action": "edit", "resource": connector_ref,
               "context": {"time": time}})
    };
    assert_eq!(
        check(app, ADMIN_TOKEN, at("2025-01-06T20:00:00Z")).await["allowed"],
        true
    );

    let saved = expect(
        app.post_json(
            "/api/v1/authz/policies",
            ADMIN_TOKEN,
            json!({"name": "business_hours", "source": business_hours("9, 10, 11, 12, 13, 14, 15, 16")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let id = saved["id"].as_str().unwrap().to_owned();
    assert_eq!(saved["version"], 1);
    let noon = check(app, ADMIN_TOKEN, at("2025-01-06T12:00:00Z")).await;
    assert_eq!(noon["allowed"], true, "{noon}");
    let night = check(app, ADMIN_TOKEN, at("2025-01-06T20:00:00Z")).await;
    assert_eq!(night["allowed"], false, "{night}");
    assert!(revision_of(&night) >= revision_of(&saved));
    let reason = &night["reasons"][0];
    assert_eq!(reason["kind"], "policy");
    assert_eq!(reason["policy"], "business_hours");
    assert_eq!(reason["rule"], "grimos.policies.business_hours.deny");
    assert!(
        reason["summary"]
            .as_str()
            .unwrap()
            .contains("outside business hours")
    );
    // Olga asking about herself (her credential's role) gets the same.
    let own = check(app, &olga_token, at("2025-01-06T20:00:00Z")).await;
    assert_eq!(own["allowed"], false);
    // Viewing is not denied at night.
    let view = check(
        app,
        ADMIN_TOKEN,
        json!({"subject": olga_s, "action": "view", "resource": connector_ref,
               "context": {"time": "2025-01-06T20:00:00Z"}}),
    )
    .await;
    assert_eq!(view["allowed"], true);

    // Through a real route at the current hour: a window without it denies the change...
    let hour = chrono::Utc::now().hour();
    let hours = |offsets: &[u32]| {
        offsets
            .iter()
            .map(|offset| ((hour + offset) % 24).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let update = |source: String, version: i64| {
        app.request(
            Method::PUT,
            &format!("/api/v1/authz/policies/{id}"),
            Some(ADMIN_TOKEN),
        )
        .header("If-Match", format!("\"{version}\""))
        .json(&json!({"source": source}))
        .send()
    };
    let closed = expect(
        update(business_hours(&hours(&[3, 4])), 1).await.unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(closed["version"], 2);
    let change = json!({"name": "olgas", "config": sql_config(&dir, "o2.db")});
    let refused = problem(
        send(
            app,
            Method::PUT,
            &format!("/api/v1/interop/connectors/{connector}"),
            &olga_token,
            Some(change.clone()),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let detail = refused["detail"].as_str().unwrap();
    assert!(detail.contains("business_hours"), "{detail}");
    // ...and a window with it allows it.
    problem(
        update(business_hours(&hours(&[23, 0, 1])), 1)
            .await
            .unwrap(),
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    expect(
        update(business_hours(&hours(&[23, 0, 1])), 2)
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    expect(
        send(
            app,
            Method::PUT,
            &format!("/api/v1/interop/connectors/{connector}"),
            &olga_token,
            Some(change),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    // Versions, tests, dry runs.
    let versions = expect(
        app.get(
            &format!("/api/v1/authz/policies/{id}/versions"),
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let numbers: Vec<i64> = versions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [3, 2, 1]);
    let tested = expect(
        app.post_json(
            &format!("/api/v1/authz/policies/{id}/test"),
            ADMIN_TOKEN,
            json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tested["passed"], true, "{tested}");
    assert_eq!(
        tested["tests"][0]["test"],
        "grimos.policies.business_hours.test_operators_may_always_view"
    );
    let input = |time: &str| {
        json!({"subject": {"id": olga_s, "kind": "user", "roles": ["operator"], "groups": [], "attributes": {}},
               "action": "edit", "resource": {"type": "connector", "id": connector, "owner": null, "attributes": {}},
               "context": {"time": time}, "relationship": {"allowed": true, "path": []}})
    };
    let dry = expect(
        app.post_json(
            "/api/v1/authz/policies/dry-run",
            ADMIN_TOKEN,
            json!({"source": business_hours("12"), "inputs": [input("2025-01-06T12:30:00Z"), input("2025-01-06T13:30:00Z")]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(dry["policies"], json!(["business_hours"]));
    assert_eq!(dry["results"][0]["denied"], false, "{dry}");
    assert_eq!(dry["results"][1]["denied"], true, "{dry}");
    assert_eq!(dry["results"][1]["denials"][0]["policy"], "business_hours");
    // The dry run saved nothing: the stored version still allows the current hour.
    let stored = expect(
        app.get(&format!("/api/v1/authz/policies/{id}"), ADMIN_TOKEN)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["version"], 3);
    assert_eq!(stored["source"], business_hours(&hours(&[23, 0, 1])));

    // Only manage_access reads policies; deleting one lifts its denials at once.
    problem(
        app.get("/api/v1/authz/policies", &olga_token).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    expect(
        send(
            app,
            Method::DELETE,
            &format!("/api/v1/authz/policies/{id}"),
            ADMIN_TOKEN,
            None,
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;
    assert_eq!(
        check(app, ADMIN_TOKEN, at("2025-01-06T20:00:00Z")).await["allowed"],
        true
    );
}

async fn an_invalid_policy_is_refused_with_its_line_and_changes_nothing(app: &TestApp) {
    let saved = expect(
        app.post_json(
            "/api/v1/authz/policies",
            ADMIN_TOKEN,
            json!({"name": "business_hours", "source": business_hours("9, 10, 11, 12, 13, 14, 15, 16")}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let before = expect(
        app.get("/api/v1/authz/policies", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await;
    let revision_before = check(
        app,
        ADMIN_TOKEN,
        json!({"subject": "user:x", "action": "view", "resource": "connector:c"}),
    )
    .await["revision"]
        .clone();

    // A syntax error on line 4.
    let broken =
        "package grimos.policies.broken\n\ndeny contains msg if {\n    input.action ==\n}\n";
    let body = problem(
        app.post_json(
            "/api/v1/authz/policies",
            ADMIN_TOKEN,
            json!({"name": "broken", "source": broken}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "policy_invalid", "{body}");
    assert!(body["line"].as_u64().unwrap() >= 4, "{body}");
    assert!(body["column"].as_u64().unwrap() >= 1, "{body}");
    assert_eq!(body["policy"], "broken");
    assert_eq!(body["errors"][0]["path"], "/source");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("line {}", body["line"])),
        "{body}"
    );
    // The wrong package, a failing test, a broken update, a broken draft.
    let body = problem(
        app.post_json(
            "/api/v1/authz/policies",
            ADMIN_TOKEN,
            json!({"name": "other", "source": "package grimos.policies.elsewhere\n"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "policy_invalid");
    assert_eq!(body["line"], 1, "{body}");
    let failing = "package grimos.policies.strict\n\ndeny contains \"no\" if input.action == \"edit\"\n\ntest_edit_allowed if {\n    count(deny) == 0 with input as {\"action\": \"edit\"}\n}\n";
    let body = problem(
        app.post_json(
            "/api/v1/authz/policies",
            ADMIN_TOKEN,
            json!({"name": "strict", "source": failing}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "policy_invalid");
    assert_eq!(
        body["failed_tests"][0]["test"], "grimos.policies.strict.test_edit_allowed",
        "{body}"
    );
    let id = saved["id"].as_str().unwrap();
    let body = problem(
        send(
            app,
            Method::PUT,
            &format!("/api/v1/authz/policies/{id}"),
            ADMIN_TOKEN,
            Some(json!({"source": "package grimos.policies.business_hours\n\ndeny contains x if {\n  y :=\n}\n"})),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "policy_invalid");
    assert!(body["line"].as_u64().unwrap() >= 4, "{body}");
    let body = problem(
        app.post_json(
            "/api/v1/authz/policies/dry-run",
            ADMIN_TOKEN,
            json!({"source": broken, "inputs": [{}]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "policy_invalid");

    // Nothing changed: the same list, the same version, the same revision.
    let after = expect(
        app.get("/api/v1/authz/policies", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(before, after);
    assert_eq!(after["items"].as_array().unwrap().len(), 1);
    assert_eq!(after["items"][0]["version"], 1);
    let revision_after = check(
        app,
        ADMIN_TOKEN,
        json!({"subject": "user:x", "action": "view", "resource": "connector:c"}),
    )
    .await["revision"]
        .clone();
    assert_eq!(revision_before, revision_after);
}

async fn the_bundle_loads_in_regorus_and_decides_as_check(app: &TestApp) {
    let (olga, olga_token) = app.user_with_token("olga", "operator").await;
    let (ann, ann_token) = app.user_with_token("ann", "member").await;
    let olga_s = format!("user:{olga}");
    let ann_s = format!("user:{ann}");
    expect(
        app.post_json(
            "/api/v1/authz/groups",
            ADMIN_TOKEN,
            json!({"id": "sre", "display_name": "SRE"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    expect(
        send(
            app,
            Method::PUT,
            &format!("/api/v1/authz/groups/sre/members/{}", encode(&ann_s)),
            ADMIN_TOKEN,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    relate(
        app,
        ADMIN_TOKEN,
        json!([
            rel("connector:c1", "editor", "group:sre#member"),
            rel("connector:c2", "owner", &ann_s),
            rel("secret:local:crm/*", "user", &ann_s),
        ]),
        json!([]),
    )
    .await;
    expect(
        send(
            app,
            Method::PUT,
            "/api/v1/authz/attributes/connector:c2",
            ADMIN_TOKEN,
            Some(json!({"classification": "restricted"})),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let clearance = "package grimos.policies.clearance\n\ndeny contains \"restricted data needs clearance 3\" if {\n    input.resource.attributes.classification == \"restricted\"\n    object.get(input.subject.attributes, \"clearance\", 0) < 3\n}\n";
    for (name, source) in [
        (
            "business_hours",
            business_hours("9, 10, 11, 12, 13, 14, 15, 16"),
        ),
        ("clearance", clearance.to_owned()),
    ] {
        expect(
            app.post_json(
                "/api/v1/authz/policies",
                ADMIN_TOKEN,
                json!({"name": name, "source": source}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }

    // Policies page by name.
    let first = expect(
        app.get("/api/v1/authz/policies?limit=1", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["items"][0]["name"], "business_hours");
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = expect(
        app.get(
            &format!("/api/v1/authz/policies?limit=1&cursor={cursor}"),
            ADMIN_TOKEN,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(second["items"][0]["name"], "clearance");
    assert_eq!(second["next_cursor"], Value::Null);

    // Only manage_access (or the service role) fetches it.
    problem(
        app.get("/api/v1/authz/bundle.tar.gz", &ann_token).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        app.get("/api/v1/authz/bundle.tar.gz", &olga_token).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let response = app.get("/api/v1/authz/bundle.tar.gz", ADMIN_TOKEN).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/gzip");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let bytes = response.bytes().await.unwrap();
    // ETag-aware: the same revision is 304; a change makes a new one.
    let again = app
        .request(
            Method::GET,
            "/api/v1/authz/bundle.tar.gz",
            Some(ADMIN_TOKEN),
        )
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert!(again.bytes().await.unwrap().is_empty());
    let service_token = app.token_with_role("service").await;
    assert_eq!(
        app.get("/api/v1/authz/bundle.tar.gz", &service_token)
            .await
            .status(),
        StatusCode::OK
    );

    let files = authz::policy::read_bundle(&bytes).unwrap();
    let names: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
    for expected in [
        ".manifest",
        "data.json",
        "business_hours.rego",
        "clearance.rego",
        "_authz.rego",
    ] {
        assert!(names.contains(&expected), "{names:?}");
    }
    let manifest: Value = serde_json::from_slice(
        &files
            .iter()
            .find(|f| f.path == ".manifest")
            .unwrap()
            .contents,
    )
    .unwrap();
    assert_eq!(
        format!("\"{}\"", manifest["revision"].as_str().unwrap()),
        etag
    );
    let data: Value = serde_json::from_slice(
        &files
            .iter()
            .find(|f| f.path == "data.json")
            .unwrap()
            .contents,
    )
    .unwrap();
    assert_eq!(
        data["grimos"]["relationships"]["connector"]["c1"]["editor"],
        json!(["group:sre#member"])
    );
    assert!(
        data["grimos"]["memberships"][&ann_s]
            .as_array()
            .unwrap()
            .contains(&json!("group:sre#member"))
    );
    assert_eq!(
        data["grimos"]["attributes"]["connector"]["c2"],
        json!({"classification": "restricted"})
    );

    let mut engine = regorus::Engine::new();
    for file in files.iter().filter(|file| file.path.ends_with(".rego")) {
        engine
            .add_policy(
                file.path.clone(),
                String::from_utf8(file.contents.clone()).unwrap(),
            )
            .unwrap();
    }
    engine
        .add_data(regorus::Value::from_json_str(&data.to_string()).unwrap())
        .unwrap();
    let inputs = [
        (&ann_s, "edit", "connector:c1", "2025-01-06T12:00:00Z"),
        (&ann_s, "delete", "connector:c1", "2025-01-06T12:00:00Z"),
        (&ann_s, "edit", "connector:c2", "2025-01-06T12:00:00Z"),
        (&ann_s, "delete", "connector:c3", "2025-01-06T12:00:00Z"),
        (
            &ann_s,
            "use",
            "secret:local:crm/token",
            "2025-01-06T12:00:00Z",
        ),
        (
            &ann_s,
            "use",
            "secret:local:erp/token",
            "2025-01-06T12:00:00Z",
        ),
        (&olga_s, "edit", "connector:c1", "2025-01-06T12:00:00Z"),
        (&olga_s, "edit", "connector:c1", "2025-01-06T20:00:00Z"),
        (&olga_s, "view", "connector:c1", "2025-01-06T20:00:00Z"),
        (
            &olga_s,
            "create_connector",
            "platform:grimos",
            "2025-01-06T03:00:00Z",
        ),
        (
            &olga_s,
            "manage_access",
            "platform:grimos",
            "2025-01-06T12:00:00Z",
        ),
    ];
    let (mut allowed, mut denied) = (0, 0);
    for (subject, action, resource, time) in inputs {
        let decision = check(
            app,
            ADMIN_TOKEN,
            json!({"subject": subject, "action": action, "resource": resource, "context": {"time": time}}),
        )
        .await;
        engine.set_input(
            regorus::Value::from_json_str(
                &json!({"subject": subject, "action": action, "resource": resource, "context": {"time": time}})
                    .to_string(),
            )
            .unwrap(),
        );
        let opa = engine.eval_rule("data.grimos.authz.allow".into()).unwrap();
        assert_eq!(
            opa,
            regorus::Value::from(decision["allowed"].as_bool().unwrap()),
            "{subject} {action} {resource} at {time}: /check says {decision}"
        );
        if decision["allowed"] == true {
            allowed += 1;
        } else {
            denied += 1;
        }
    }
    assert!(
        allowed >= 4 && denied >= 4,
        "{allowed} allowed, {denied} denied"
    );
}

async fn secrets_never_appear_in_authz_answers(app: &TestApp) {
    const VALUE: &str = "s3cr3t-value-never-shown-0123456789";
    let response = send(
        app,
        Method::PUT,
        "/api/v1/secrets/crm-token",
        ADMIN_TOKEN,
        Some(json!({"value": VALUE})),
    )
    .await;
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    let (ann, ann_token) = app.user_with_token("ann", "member").await;
    let ann_s = format!("user:{ann}");
    relate(
        app,
        ADMIN_TOKEN,
        json!([rel("secret:local:crm-token", "user", &ann_s)]),
        json!([]),
    )
    .await;
    let mut bodies = Vec::new();
    for (token, path) in [
        (ADMIN_TOKEN, "/api/v1/authz/relationships".to_owned()),
        (
            ADMIN_TOKEN,
            "/api/v1/authz/subjects?resource=secret:local:crm-token&action=use".to_owned(),
        ),
        (
            ann_token.as_str(),
            format!(
                "/api/v1/authz/objects?subject={}&type=secret&action=use",
                encode(&ann_s)
            ),
        ),
        (
            ADMIN_TOKEN,
            "/api/v1/authz/attributes/secret:local:crm-token".to_owned(),
        ),
    ] {
        bodies.push(
            expect(app.get(&path, token).await, StatusCode::OK)
                .await
                .to_string(),
        );
    }
    let decision = check(
        app,
        &ann_token,
        json!({"subject": ann_s, "action": "use", "resource": "secret:local:crm-token"}),
    )
    .await;
    assert_eq!(decision["allowed"], true);
    bodies.push(decision.to_string());
    let bundle = app
        .get("/api/v1/authz/bundle.tar.gz", ADMIN_TOKEN)
        .await
        .bytes()
        .await
        .unwrap();
    for file in authz::policy::read_bundle(&bundle).unwrap() {
        bodies.push(String::from_utf8_lossy(&file.contents).into_owned());
    }
    assert!(bodies.iter().any(|body| body.contains("local:crm-token")));
    for body in &bodies {
        assert!(!body.contains(VALUE), "a secret value in {body}");
        assert!(!body.contains(ADMIN_TOKEN), "a token in {body}");
        assert!(!body.contains(&ann_token), "a token in {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batches_fit_the_default_body_limit() {
    let app = TestApp::spawn_with(
        support::Backend::Sqlite,
        Options {
            env: vec![("GRIMOS_BODY_LIMIT_BYTES", "2097152".to_owned())],
        },
    )
    .await;
    let checks: Vec<Value> = (0..1000)
        .map(|index| {
            json!({"subject": format!("user:u{index}"), "action": "view",
                   "resource": format!("connector:c{}", index % 7)})
        })
        .collect();
    let batch = expect(
        app.post_json(
            "/api/v1/authz/check/batch",
            ADMIN_TOKEN,
            json!({"checks": checks}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    assert!(results.iter().all(|result| result["allowed"] == false));
    app.stop().await;
}
