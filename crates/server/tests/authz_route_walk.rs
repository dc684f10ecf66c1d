//! No route skips authorization: the test walks the server's own OpenAPI document and calls
//! **every** operation as a signed-in `member` who holds no relationship, with path
//! parameters naming real objects the admin created (connectors, mappings, flows, runs, a
//! replay, users, tokens, secrets, grants, groups, policies) and, for every operation that
//! takes a body, a *valid* body — so that a refusal can only come from authorization, never
//! from a malformed request.
//!
//! Every answer must be 403 or 404 (or, for an id inside a body, the 422 the same request
//! gets for an id that does not exist: what a caller may not see does not exist for them),
//! except
//! - the operations on the commented allow-list below (public probes, "about myself"
//!   routes, and bulk actions that answer for what the caller may act on, each with a check
//!   that nothing happened);
//! - lists, which answer 200 with only what is the member's own (normally nothing): lists are
//!   filtered in the query.
//!
//! A new route appears in the document and is walked with the rest; one that takes a body
//! fails here until a valid body is added to `body_for`. After the walk, everything the admin
//! made must still be there, unchanged.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp};

on_both_backends!(every_route_refuses_a_member_without_relationships);

const POLICY: &str =
    "package grimos.policies.walk\n\ndeny contains \"never on sundays\" if {\n    false\n}\n";

/// What the admin made, for path parameters and bodies.
struct World {
    _dir: tempfile::TempDir,
    source: String,
    target: String,
    mapping: String,
    flow: String,
    run: String,
    replay: String,
    /// A dead letter of the admin's flow left pending: replays and discards must not touch it.
    letter: String,
    victim: String,
    admin_user: String,
    admin_token_id: String,
    grant: String,
    group: String,
    policy: String,
    member: String,
    member_token: String,
}

async fn json_of(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, expected, "{text}");
    serde_json::from_str(&text).unwrap()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.request(method, path, Some(token));
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

fn sql_config(dir: &tempfile::TempDir, file: &str) -> Value {
    json!({"type": "sql", "url": format!("sqlite://{}", dir.path().join(file).display())})
}

fn flow_body(world: &World, name: &str) -> Value {
    json!({
        "name": name,
        "source": {"connector": world.source, "stream": "items"},
        "target": {"connector": world.target, "stream": "items", "mode": "insert"},
        "mapping": {"rules": [{"target": "id", "source": "id"}]}
    })
}

impl World {
    async fn create(app: &TestApp) -> World {
        let dir = tempfile::tempdir().unwrap();
        let id = |value: &Value| value["id"].as_str().unwrap().to_owned();
        let post = |path: &'static str, body: Value| async move {
            json_of(
                app.post_json(path, ADMIN_TOKEN, body).await,
                StatusCode::CREATED,
            )
            .await
        };
        let source = id(&post(
            "/api/v1/interop/connectors",
            json!({"name": "walk-source", "type": "sql", "config": sql_config(&dir, "s.db")}),
        )
        .await);
        let target = id(&post(
            "/api/v1/interop/connectors",
            json!({"name": "walk-target", "type": "sql", "config": sql_config(&dir, "t.db")}),
        )
        .await);
        let mapping = id(&post(
            "/api/v1/interop/mappings",
            json!({"name": "walk-mapping", "rules": [{"target": "id", "source": "id"}]}),
        )
        .await);
        let flow = id(&post(
            "/api/v1/interop/flows",
            json!({
                "name": "walk-flow",
                "source": {"connector": source, "stream": "items"},
                "target": {"connector": target, "stream": "items", "mode": "insert"},
                "mapping": {"rules": [{"target": "id", "source": "id"}]}
            }),
        )
        .await);
        // A run (it fails: the source has no table), and two dead letters of it.
        let run = id(&json_of(
            send(
                app,
                Method::POST,
                &format!("/api/v1/interop/flows/{flow}/runs"),
                ADMIN_TOKEN,
                None,
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = json_of(
                app.get(&format!("/api/v1/interop/runs/{run}"), ADMIN_TOKEN)
                    .await,
                StatusCode::OK,
            )
            .await;
            if ["succeeded", "failed", "cancelled"].contains(&state["status"].as_str().unwrap()) {
                break;
            }
            assert!(Instant::now() < deadline, "{state}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let letters = [
            "0190c0de-0000-7000-8000-00000000a001",
            "0190c0de-0000-7000-8000-00000000a002",
        ];
        for letter in letters {
            let insert = async {
                storage::with_conn!(&app.database, |conn| {
                    storage::sqlx::query(
                        "INSERT INTO dead_letters (id, run_id, flow_id, stage, record, reason, \
                         status, created_at) VALUES ($1, $2, $3, 'mapping', '{\"id\": 1}', \
                         'refused', 'pending', $4)",
                    )
                    .bind(letter)
                    .bind(&run)
                    .bind(&flow)
                    .bind(chrono::Utc::now())
                    .execute(conn)
                    .await
                    .map(|_| ())
                    .map_err(storage::map_sqlx_error)?
                });
                Ok::<_, kernel::Error>(())
            };
            insert.await.unwrap();
        }
        let replay = id(&json_of(
            app.post_json(
                "/api/v1/interop/dead-letters/replay",
                ADMIN_TOKEN,
                json!({"ids": [letters[0]]}),
            )
            .await,
            StatusCode::ACCEPTED,
        )
        .await);

        let admin_user = json_of(
            app.get("/api/v1/auth/whoami", ADMIN_TOKEN).await,
            StatusCode::OK,
        )
        .await["user_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (victim, _) = app.user_with_token("walk-victim", "operator").await;
        let admin_token_id = id(&post(
            "/api/v1/tokens",
            json!({"name": "walk-admin", "role": "admin"}),
        )
        .await);
        let response = send(
            app,
            Method::PUT,
            "/api/v1/secrets/walk-secret",
            ADMIN_TOKEN,
            Some(&json!({"value": "s3cret-value"})),
        )
        .await;
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
        let grant = id(&post(
            "/api/v1/secret-grants",
            json!({"reference": "local:walk-secret", "subject": {"kind": "user", "id": victim}}),
        )
        .await);
        let group = id(&post(
            "/api/v1/authz/groups",
            json!({"id": "walk-group", "display_name": "Walk"}),
        )
        .await);
        let policy = post(
            "/api/v1/authz/policies",
            json!({"name": "walk", "source": POLICY}),
        )
        .await;
        let policy = policy["policy"]["id"]
            .as_str()
            .or(policy["id"].as_str())
            .unwrap()
            .to_owned();
        let (member, member_token) = app.user_with_token("walker", "member").await;
        World {
            _dir: dir,
            source,
            target,
            mapping,
            flow,
            run,
            replay,
            letter: letters[1].to_owned(),
            victim,
            admin_user,
            admin_token_id,
            grant,
            group,
            policy,
            member,
            member_token,
        }
    }

    /// The path with its parameters filled, and the required query parameters.
    fn url(&self, path: &str, operation: &Value) -> String {
        let mut filled = String::new();
        let segments: Vec<&str> = path.split('/').collect();
        for (index, segment) in segments.iter().enumerate() {
            if index > 0 {
                filled.push('/');
            }
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                filled.push_str(segment);
                continue;
            };
            let parent = segments[..index].last().copied().unwrap_or_default();
            let value = match (parent, name) {
                ("connectors", "id") => self.source.clone(),
                ("mappings", "id") => self.mapping.clone(),
                ("flows", "id") => self.flow.clone(),
                ("runs", "id") => self.run.clone(),
                ("replays", "id") => self.replay.clone(),
                ("users", "id") => self.victim.clone(),
                ("tokens", "id") => self.admin_token_id.clone(),
                ("secret-grants", "id") => self.grant.clone(),
                ("groups", "id") => self.group.clone(),
                ("policies", "id") => self.policy.clone(),
                ("secrets", "name") => "walk-secret".to_owned(),
                (_, "object") => format!("connector:{}", self.source),
                (_, "subject") => format!("user:{}", self.member),
                _ => panic!("{path}: no value for the path parameter {name}; add one"),
            };
            filled.push_str(&encode(&value));
        }
        let required: Vec<String> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            // The required ones, and `type` and `action`, which /authz/objects and
            // /authz/subjects need although the document calls them optional.
            .filter(|parameter| {
                parameter["in"] == "query"
                    && (parameter["required"] == true
                        || parameter["name"] == "type"
                        || parameter["name"] == "action")
            })
            .map(|parameter| {
                let name = parameter["name"].as_str().unwrap();
                let value = match name {
                    // Asking about someone else, or about the admin's object.
                    "subject" => format!("user:{}", self.admin_user),
                    "resource" => format!("connector:{}", self.source),
                    "type" => "connector".to_owned(),
                    "action" => "view".to_owned(),
                    "flow_id" => self.flow.clone(),
                    other => panic!("{path}: no value for the query parameter {other}; add one"),
                };
                format!("{name}={}", encode(&value))
            })
            .collect();
        if required.is_empty() {
            filled
        } else {
            format!("{filled}?{}", required.join("&"))
        }
    }

    /// A valid body for an operation that takes one: what would succeed for a caller
    /// allowed to do it. `None` when there is none yet (the walk then fails for that route).
    fn body_for(&self, method: &Method, path: &str) -> Option<Value> {
        let connector = format!("connector:{}", self.source);
        let rules = json!([{"target": "id", "source": "id"}]);
        let body = match (method.as_str(), path) {
            ("PUT", "/api/v1/authz/attributes/{object}") => json!({"classification": "public"}),
            ("POST", "/api/v1/authz/check") => json!({
                "subject": format!("user:{}", self.admin_user), "action": "view",
                "resource": connector
            }),
            ("POST", "/api/v1/authz/check/batch") => json!({"checks": [{
                "subject": format!("user:{}", self.admin_user), "action": "view",
                "resource": connector
            }]}),
            ("POST", "/api/v1/authz/groups") => {
                json!({"id": "walker-group", "display_name": "Walker's"})
            }
            ("POST", "/api/v1/authz/policies") => json!({
                "name": "walker",
                "source": POLICY.replace("walk\n", "walker\n")
            }),
            ("PUT", "/api/v1/authz/policies/{id}") => json!({"source": POLICY}),
            ("POST", "/api/v1/authz/policies/dry-run") => json!({
                "name": "walk", "source": POLICY, "inputs": [{"action": "view"}]
            }),
            ("POST", "/api/v1/authz/relationships") => json!({"writes": [{
                "resource": connector, "relation": "owner",
                "subject": format!("user:{}", self.member)
            }]}),
            // Signed by nobody: a webhook authenticates by its signature, not a bearer token.
            ("POST", "/api/v1/hooks/flows/{id}") => json!({"id": 1}),
            ("POST", "/api/v1/interop/connectors") => json!({
                "name": "walker-connector", "type": "sql",
                "config": sql_config(&self._dir, "w.db")
            }),
            ("PUT", "/api/v1/interop/connectors/{id}") => {
                json!({"name": "walk-source", "config": sql_config(&self._dir, "s2.db")})
            }
            ("POST", "/api/v1/interop/dead-letters/discard") => json!({"ids": [self.letter]}),
            ("POST", "/api/v1/interop/dead-letters/replay") => json!({"ids": [self.letter]}),
            ("POST", "/api/v1/interop/flows") => flow_body(self, "walker-flow"),
            ("PUT", "/api/v1/interop/flows/{id}") => flow_body(self, "walk-flow"),
            ("POST", "/api/v1/interop/mappings") => {
                json!({"name": "walker-mapping", "rules": rules})
            }
            ("POST", "/api/v1/interop/mappings/preview") => json!({
                "rules": rules, "source": {"connector": self.source, "stream": "items"}
            }),
            ("PUT", "/api/v1/interop/mappings/{id}") => {
                json!({"name": "walk-mapping", "rules": rules})
            }
            ("POST", "/api/v1/secret-grants") => json!({
                "reference": "local:walk-secret", "subject": {"kind": "user", "id": self.member}
            }),
            ("PUT", "/api/v1/secrets/{name}") => json!({"value": "overwritten"}),
            ("POST", "/api/v1/tokens") => json!({
                "name": "for the admin", "role": "admin", "user_id": self.admin_user
            }),
            ("POST", "/api/v1/users") => json!({"name": "walker-admin", "role": "admin"}),
            ("PATCH", "/api/v1/users/{id}") => json!({"role": "admin"}),
            _ => return None,
        };
        Some(body)
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// What an answer may be besides 403/404, for the operations any signed-in caller may use.
/// Each entry says why, and checks the answer.
fn allowed_answer(
    world: &World,
    method: &Method,
    path: &str,
    status: StatusCode,
    body: &Value,
) -> Option<Result<(), String>> {
    let expect = |ok: bool, why: &str| Some(if ok { Ok(()) } else { Err(why.to_owned()) });
    match (method.as_str(), path) {
        // Public probes: no authentication at all.
        ("GET", "/livez" | "/readyz" | "/metrics") => expect(
            status.is_success() || status == StatusCode::SERVICE_UNAVAILABLE,
            "a probe answers 200 (or 503)",
        ),
        // Who am I: about the caller only.
        ("GET", "/api/v1/auth/whoami") => expect(
            status == StatusCode::OK && body["user_id"] == world.member.as_str(),
            "whoami answers the caller",
        ),
        // The catalogue of built-in connector types (no stored object, no secret).
        ("GET", "/api/v1/interop/connector-types") => {
            expect(status == StatusCode::OK, "the type catalogue answers 200")
        }
        // A batch answers every check in its place: each must be refused as 403 (asking
        // about someone else needs manage_access), none decided.
        ("POST", "/api/v1/authz/check/batch") => expect(
            status == StatusCode::OK
                && body["results"].as_array().is_some_and(|results| {
                    !results.is_empty()
                        && results
                            .iter()
                            .all(|result| result["error"]["status"] == 403)
                }),
            "every check of the batch is refused in its place (403)",
        ),
        // Bulk actions over ids act on what the caller may run and skip the rest: nothing
        // discarded (the letter is checked again after the walk).
        ("POST", "/api/v1/interop/dead-letters/discard") => expect(
            status == StatusCode::OK && body["discarded"] == 0,
            "discards nothing the caller may not run",
        ),
        _ => None,
    }
}

/// For a list answered 200: the items must be only the member's own (normally none).
fn list_items_are_own(world: &World, path: &str, body: &Value) -> Result<(), String> {
    let Some(items) = body["items"].as_array() else {
        return Err("a 200 that is not a list (no items)".to_owned());
    };
    let foreign: Vec<&Value> = items
        .iter()
        .filter(|item| match path {
            // Own tokens.
            "/api/v1/tokens" => item["user_id"] != world.member.as_str(),
            // Relationships about the member (their role).
            "/api/v1/authz/relationships" => {
                item["subject"] != format!("user:{}", world.member).as_str()
            }
            _ => true,
        })
        .collect();
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the list shows what is not the caller's: {foreign:?}"
        ))
    }
}

async fn judge(
    world: &World,
    method: &Method,
    path: &str,
    response: reqwest::Response,
) -> Result<(), String> {
    let status = response.status();
    let streaming = path.ends_with("/stream");
    let body: Value = if streaming && status.is_success() {
        Value::Null
    } else {
        let text = response.text().await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if let Some(verdict) = allowed_answer(world, method, path, status, &body) {
        return verdict;
    }
    if path.starts_with("/api/v1/hooks/") {
        // A webhook without a valid signature: refused, whoever calls.
        return if [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
        ]
        .contains(&status)
        {
            Ok(())
        } else {
            Err(format!("an unsigned webhook got {status}: {body}"))
        };
    }
    match status {
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Ok(()),
        StatusCode::OK if *method == Method::GET && !path.contains('{') => {
            list_items_are_own(world, path, &body)
        }
        StatusCode::UNAUTHORIZED => Err(format!("the member's token was refused: {body}")),
        // A valid body naming what the caller may not see must be answered exactly as if
        // it named nothing that exists (checked by the caller, with fresh ids).
        StatusCode::UNPROCESSABLE_ENTITY if *method != Method::GET => {
            Err(format!("UNPROCESSABLE {body}"))
        }
        status if status.is_success() => Err(format!("ALLOWED: {body}")),
        _ => Err(format!("expected 403 or 404: {body}")),
    }
}

/// The admin reads after the walk: the body, or `Null` and a failure.
async fn admin_read(response: reqwest::Response, failures: &mut Vec<String>) -> Value {
    let url = response.url().path().to_owned();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    if status != StatusCode::OK {
        failures.push(format!(
            "after the walk, GET {url} answers the admin {status}: {body}"
        ));
    }
    body
}

/// The ids of everything the admin made.
fn ids(world: &World) -> Vec<&str> {
    vec![
        &world.source,
        &world.target,
        &world.mapping,
        &world.flow,
        &world.run,
        &world.replay,
        &world.letter,
        &world.victim,
        &world.admin_user,
        &world.admin_token_id,
        &world.grant,
        &world.policy,
    ]
}

/// A mutation answered 422: acceptable only when the same request naming fresh ids (objects
/// that do not exist) gets the same answer — what the caller may not see is answered as if
/// it did not exist, so the 422 comes from the visibility check, not from validating a body
/// before asking the decision point.
async fn as_if_absent(
    app: &TestApp,
    world: &World,
    method: &Method,
    url: &str,
    body: Option<&Value>,
    answer: &str,
) -> Result<(), String> {
    let refused: Value =
        serde_json::from_str(answer.trim_start_matches("UNPROCESSABLE ")).unwrap_or_default();
    let mut absent_url = url.to_owned();
    let mut absent_body = body.map(ToString::to_string).unwrap_or_default();
    for id in ids(world) {
        let fresh = kernel::new_id();
        absent_url = absent_url.replace(id, &fresh);
        absent_body = absent_body.replace(id, &fresh);
    }
    let absent_body: Option<Value> = body.map(|_| serde_json::from_str(&absent_body).unwrap());
    let response = send(
        app,
        method.clone(),
        &absent_url,
        &world.member_token,
        absent_body.as_ref(),
    )
    .await;
    let status = response.status();
    let absent: Value = response.json().await.unwrap_or_default();
    let same = status == StatusCode::UNPROCESSABLE_ENTITY
        && absent["code"] == refused["code"]
        && absent["errors"] == refused["errors"];
    if same {
        Ok(())
    } else {
        Err(format!(
            "422 for a valid body, unlike the answer for ids that do not exist ({status} \
             {absent}): validated before authorization? {refused}"
        ))
    }
}

async fn every_route_refuses_a_member_without_relationships(app: &TestApp) {
    let world = World::create(app).await;
    let document = json_of(
        app.get("/api/openapi.json", ADMIN_TOKEN).await,
        StatusCode::OK,
    )
    .await;
    let mut failures = Vec::new();
    let mut walked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if ![
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ]
            .contains(&method)
            {
                continue;
            }
            walked += 1;
            let url = world.url(path, operation);
            let body = if operation.get("requestBody").is_some() {
                match world.body_for(&method, path) {
                    Some(body) => Some(body),
                    None => {
                        failures.push(format!(
                            "{method} {path}: takes a body the walk does not know; add a valid \
                             one to body_for"
                        ));
                        continue;
                    }
                }
            } else {
                None
            };
            let response = send(
                app,
                method.clone(),
                &url,
                &world.member_token,
                body.as_ref(),
            )
            .await;
            let status = response.status();
            let verdict = match judge(&world, &method, path, response).await {
                Err(why) if why.starts_with("UNPROCESSABLE ") => {
                    as_if_absent(app, &world, &method, &url, body.as_ref(), &why).await
                }
                verdict => verdict,
            };
            if let Err(why) = verdict {
                failures.push(format!("{method} {path} → {status}: {why}"));
            }
        }
    }
    assert!(walked > 50, "the document lists {walked} operations");

    // Nothing the admin made changed.
    for path in [
        format!("/api/v1/interop/connectors/{}", world.source),
        format!("/api/v1/interop/connectors/{}", world.target),
        format!("/api/v1/interop/mappings/{}", world.mapping),
        format!("/api/v1/interop/flows/{}", world.flow),
        format!("/api/v1/interop/runs/{}", world.run),
        format!("/api/v1/users/{}", world.victim),
        format!("/api/v1/tokens/{}", world.admin_token_id),
        format!("/api/v1/secret-grants/{}", world.grant),
        format!("/api/v1/authz/groups/{}", world.group),
        format!("/api/v1/authz/policies/{}", world.policy),
        "/api/v1/secrets/walk-secret".to_owned(),
    ] {
        let status = app.get(&path, ADMIN_TOKEN).await.status();
        if status != StatusCode::OK {
            failures.push(format!(
                "after the walk, GET {path} answers the admin {status}"
            ));
        }
    }
    let victim = admin_read(
        app.get(&format!("/api/v1/users/{}", world.victim), ADMIN_TOKEN)
            .await,
        &mut failures,
    )
    .await;
    if victim["role"] != "operator" {
        failures.push(format!("the victim's role changed: {victim}"));
    }
    let connector = admin_read(
        app.get(
            &format!("/api/v1/interop/connectors/{}", world.source),
            ADMIN_TOKEN,
        )
        .await,
        &mut failures,
    )
    .await;
    if !connector.to_string().contains("s.db") {
        failures.push(format!("the admin's connector changed: {connector}"));
    }
    let letters = admin_read(
        app.get(
            &format!("/api/v1/interop/flows/{}/dead-letters", world.flow),
            ADMIN_TOKEN,
        )
        .await,
        &mut failures,
    )
    .await;
    let pending = letters["items"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|letter| letter["id"] == world.letter.as_str() && letter["status"] == "pending");
    if !pending {
        failures.push(format!(
            "the admin's dead letter is no longer pending: {letters}"
        ));
    }
    let held = admin_read(
        app.get(
            &format!(
                "/api/v1/authz/relationships?subject={}",
                encode(&format!("user:{}", world.member))
            ),
            ADMIN_TOKEN,
        )
        .await,
        &mut failures,
    )
    .await;
    let held: Vec<String> = held["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tuple| format!("{}#{}", tuple["resource"], tuple["relation"]))
        .filter(|tuple| !tuple.starts_with("\"platform:grimos\"") && !tuple.starts_with("\"token:"))
        .collect();
    if !held.is_empty() {
        failures.push(format!("the member gained relationships: {held:?}"));
    }

    assert!(
        failures.is_empty(),
        "{} of {walked} operations did not refuse a member without relationships:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
