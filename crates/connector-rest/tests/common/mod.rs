//! A real HTTP API started inside the tests (axum on 127.0.0.1:0) with every pagination
//! style, each auth method, fault injection and CRUD endpoints, plus helpers to build the
//! connector against it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use connector_rest::RestConnectorFactory;
use connector_sdk::{
    Connector, ConnectorError, ConnectorFactory, ReadBatch, ReadRequest, Record, Secret,
    SecretSource,
};
use futures::StreamExt;
use serde_json::{Value, json};

pub const TOKEN: &str = "good-token-8f3a";
pub const API_KEY: &str = "key-5e1d77";
pub const USER: &str = "svc";
pub const PASSWORD: &str = "pw-c0ffee";
pub const CLIENT_ID: &str = "client-1";
pub const CLIENT_SECRET: &str = "client-secret-9b";

/// How the server wants requests authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Bearer,
    ApiKeyHeader,
    ApiKeyQuery,
    Basic,
    OAuth,
}

#[derive(Default)]
pub struct Server {
    pub auth: Mutex<Option<AuthMode>>,
    pub customers: Mutex<BTreeMap<i64, Value>>,
    /// Statuses (with an optional Retry-After) returned before serving data requests.
    pub faults: Mutex<VecDeque<(u16, Option<u64>)>>,
    pub data_requests: AtomicUsize,
    pub token_requests: AtomicUsize,
    /// OAuth tokens issued, with how many more requests each is good for.
    pub oauth_tokens: Mutex<HashMap<String, usize>>,
    /// How many data requests an OAuth token is good for.
    pub oauth_token_uses: Mutex<usize>,
    /// The query strings received on data routes, in order.
    pub queries: Mutex<Vec<HashMap<String, String>>>,
    /// JSON bodies received on POST data routes.
    pub bodies: Mutex<Vec<Value>>,
}

pub fn customer(id: i64) -> Value {
    json!({"id": id, "name": format!("customer {id}"), "email": format!("c{id}@example.com"),
           "updated_at": format!("2024-01-{:02}T00:00:00Z", id)})
}

pub fn record(value: Value) -> Record {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

impl Server {
    fn gate(&self, headers: &HeaderMap, query: &HashMap<String, String>) -> Option<Response> {
        self.data_requests.fetch_add(1, Ordering::SeqCst);
        self.queries.lock().unwrap().push(query.clone());
        if let Some((status, retry_after)) = self.faults.lock().unwrap().pop_front() {
            let mut response =
                (StatusCode::from_u16(status).unwrap(), "injected fault").into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(seconds));
            }
            return Some(response);
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let ok = match *self.auth.lock().unwrap() {
            None => true,
            Some(AuthMode::Bearer) => header("authorization") == Some(format!("Bearer {TOKEN}")),
            Some(AuthMode::ApiKeyHeader) => header("x-api-key").as_deref() == Some(API_KEY),
            Some(AuthMode::ApiKeyQuery) => {
                query.get("api_key").map(String::as_str) == Some(API_KEY)
            }
            Some(AuthMode::Basic) => {
                let expected =
                    base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
                header("authorization") == Some(format!("Basic {expected}"))
            }
            Some(AuthMode::OAuth) => {
                let token = header("authorization")
                    .and_then(|h| h.strip_prefix("Bearer ").map(str::to_owned));
                let mut tokens = self.oauth_tokens.lock().unwrap();
                match token.and_then(|t| tokens.get_mut(&t)) {
                    Some(left) if *left > 0 => {
                        *left -= 1;
                        true
                    }
                    _ => false,
                }
            }
        };
        if ok {
            None
        } else {
            Some(
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": "invalid_token"})),
                )
                    .into_response(),
            )
        }
    }

    fn sorted(&self) -> Vec<Value> {
        let mut all: Vec<Value> = self.customers.lock().unwrap().values().cloned().collect();
        all.sort_by(|a, b| a["updated_at"].as_str().cmp(&b["updated_at"].as_str()));
        all
    }

    /// Customers updated at or after `since` (the API filters inclusively, as many do).
    fn since(&self, query: &HashMap<String, String>) -> Vec<Value> {
        let since = query.get("updated_since").cloned().unwrap_or_default();
        self.sorted()
            .into_iter()
            .filter(|c| c["updated_at"].as_str().unwrap_or("") >= since.as_str())
            .collect()
    }
}

use axum::Json;

type Shared = State<Arc<Server>>;
type Q = Query<HashMap<String, String>>;

fn num(query: &HashMap<String, String>, name: &str, default: usize) -> usize {
    query
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Cursor pagination: `?cursor=c<offset>&limit=`, `{"data": [...], "next_cursor": ..}`.
async fn customers(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let all = s.since(&q);
    let limit = num(&q, "limit", 2);
    let offset: usize = q
        .get("cursor")
        .and_then(|c| c.strip_prefix('c')?.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    let next = (offset + limit < all.len()).then(|| format!("c{}", offset + limit));
    // `?no_more=1` makes the flag say false while a next cursor is still given.
    let has_more = next.is_some() && !q.contains_key("no_more");
    Json(json!({"data": page, "next_cursor": next, "has_more": has_more})).into_response()
}

/// A customer as the profiles route serves it: a nested address, a float score, a decimal
/// balance as a string, and a `note` only even ids have.
pub fn profile(customer: &Value) -> Value {
    let id = customer["id"].as_i64().unwrap_or(0);
    let mut profile = customer.clone();
    profile["address"] = json!({"street": format!("{id} Main St"), "city": "Oslo",
                                "geo": {"lat": 59.9, "lon": 10.7}});
    profile["score"] = json!(id as f64 + 0.5);
    profile["balance"] = json!(format!("{id}.{:02}", id % 100));
    if id % 2 == 0 {
        profile["note"] = json!(format!("note {id}"));
    }
    profile
}

/// Customers as profiles, cursor paginated like `/customers`.
async fn profiles(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let all: Vec<Value> = s.since(&q).iter().map(profile).collect();
    let limit = num(&q, "limit", 2);
    let offset: usize = q
        .get("cursor")
        .and_then(|c| c.strip_prefix('c')?.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    let next = (offset + limit < all.len()).then(|| format!("c{}", offset + limit));
    Json(json!({"data": page, "next_cursor": next})).into_response()
}

/// Offset pagination with a total: `{"items": [...], "total": N}`.
async fn offset(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let all = s.sorted();
    let (limit, offset) = (num(&q, "limit", 2), num(&q, "offset", 0));
    let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    Json(json!({"items": page, "total": all.len()})).into_response()
}

/// Page numbers from 1: `{"results": [...]}`, empty past the end.
async fn pages(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let all = s.sorted();
    let (page, per_page) = (num(&q, "page", 1), num(&q, "per_page", 2));
    let rows: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    Json(json!({"results": rows})).into_response()
}

/// Next URL in the body (relative): `{"data": [...], "links": {"next": "/next-url?page=2"}}`.
async fn next_url(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let all = s.sorted();
    let page = num(&q, "page", 1);
    let rows: Vec<Value> = all.iter().skip((page - 1) * 2).take(2).cloned().collect();
    let next = (page * 2 < all.len()).then(|| format!("/next-url?page={}", page + 1));
    Json(json!({"data": rows, "links": {"next": next}})).into_response()
}

/// RFC 8288 Link header, GitHub style: a bare array body.
async fn link(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let all = s.sorted();
    let page = num(&q, "page", 1);
    let rows: Vec<Value> = all.iter().skip((page - 1) * 2).take(2).cloned().collect();
    let mut response = Json(Value::Array(rows)).into_response();
    let mut links = vec![r#"</link?page=1>; rel="first""#.to_owned()];
    if page * 2 < all.len() {
        links.push(format!(r#"</link?page={}>; rel="next""#, page + 1));
    }
    response
        .headers_mut()
        .insert("link", HeaderValue::from_str(&links.join(", ")).unwrap());
    response
}

/// A broken API: the next cursor goes back to an earlier one after two pages.
async fn looping(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let n: i64 = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
    let next = if n >= 2 { 1 } else { n + 1 };
    Json(json!({"data": [{"id": n * 100 + s.data_requests.load(Ordering::SeqCst) as i64}], "next_cursor": next.to_string()}))
        .into_response()
}

/// A broken API ignoring the page parameter: always the same records.
async fn ignores_page(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    Json(json!({"results": [customer(1), customer(2)]})).into_response()
}

/// Page 2 is malformed JSON.
async fn bad_json(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    match q.get("cursor").map(String::as_str) {
        None => Json(json!({"data": [customer(1)], "next_cursor": "p2"})).into_response(),
        Some(_) => (
            [("content-type", "application/json")],
            r#"{"data": [{"id": 2}, {"id": "#,
        )
            .into_response(),
    }
}

async fn ndjson(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let all = s.sorted();
    let page = num(&q, "page", 1);
    let lines: Vec<String> = all
        .iter()
        .skip((page - 1) * 2)
        .take(2)
        .map(Value::to_string)
        .collect();
    (
        [("content-type", "application/x-ndjson")],
        lines.join("\n") + "\n",
    )
        .into_response()
}

async fn csv_route(State(s): Shared, headers: HeaderMap, Query(q): Q) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let mut text = String::from("id,name,email\n");
    for c in s.sorted() {
        text.push_str(&format!(
            "{},\"{}, Esq.\",{}\n",
            c["id"],
            c["name"].as_str().unwrap(),
            c["email"].as_str().unwrap()
        ));
    }
    ([("content-type", "text/csv; charset=utf-8")], text).into_response()
}

/// A search endpoint paginated through the JSON body: `{"cursor": .., "limit": ..}`.
async fn search(State(s): Shared, headers: HeaderMap, Query(q): Q, body: Bytes) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.bodies.lock().unwrap().push(body.clone());
    let all = s.sorted();
    let limit = body["limit"].as_u64().unwrap_or(2) as usize;
    let offset: usize = body["cursor"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let rows: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    let next = (offset + limit < all.len()).then(|| (offset + limit).to_string());
    Json(json!({"hits": {"items": rows}, "next": next})).into_response()
}

fn invalid(record: &Value) -> Option<String> {
    if !record["id"].is_i64() {
        return Some(format!("id must be an integer, got {}", record["id"]));
    }
    if record
        .get("email")
        .and_then(Value::as_str)
        .is_some_and(|e| !e.contains('@'))
    {
        return Some("email is invalid".into());
    }
    None
}

async fn insert(State(s): Shared, headers: HeaderMap, Query(q): Q, body: Bytes) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let record: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(problem) = invalid(&record) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": problem})),
        )
            .into_response();
    }
    let id = record["id"].as_i64().unwrap();
    let mut customers = s.customers.lock().unwrap();
    if customers.contains_key(&id) {
        return (StatusCode::CONFLICT, Json(json!({"error": "duplicate id"}))).into_response();
    }
    customers.insert(id, record.clone());
    (StatusCode::CREATED, Json(record)).into_response()
}

async fn upsert(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Q,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let record: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(problem) = invalid(&record) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": problem})),
        )
            .into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::BAD_REQUEST, "bad id").into_response();
    };
    s.customers.lock().unwrap().insert(id, record.clone());
    Json(record).into_response()
}

async fn update(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Q,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let patch: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut customers = s.customers.lock().unwrap();
    let Some(existing) = customers.get_mut(&id) else {
        return (StatusCode::NOT_FOUND, "no such customer").into_response();
    };
    for (k, v) in patch.as_object().cloned().unwrap_or_default() {
        existing[k] = v;
    }
    Json(existing.clone()).into_response()
}

async fn delete(
    State(s): Shared,
    headers: HeaderMap,
    Query(q): Q,
    Path(id): Path<i64>,
) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    match s.customers.lock().unwrap().remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => (StatusCode::NOT_FOUND, "no such customer").into_response(),
    }
}

/// Batch insert: `{"records": [...]}`; invalid items are skipped and listed in `errors`.
async fn batch(State(s): Shared, headers: HeaderMap, Query(q): Q, body: Bytes) -> Response {
    if let Some(refused) = s.gate(&headers, &q) {
        return refused;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    s.bodies.lock().unwrap().push(body.clone());
    let mut errors = Vec::new();
    for (index, record) in body["records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        match invalid(&record) {
            Some(problem) => errors.push(json!({"index": index, "message": problem})),
            None => {
                s.customers
                    .lock()
                    .unwrap()
                    .insert(record["id"].as_i64().unwrap(), record);
            }
        }
    }
    Json(json!({"errors": errors})).into_response()
}

/// A careless API echoing the request's credentials in its error body.
async fn echo(headers: HeaderMap, Query(q): Q) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    (
        StatusCode::BAD_REQUEST,
        format!("bad request; you sent authorization={auth} query={q:?}"),
    )
        .into_response()
}

/// OAuth 2.0 token endpoint (client_secret_basic): tokens good for `oauth_token_uses` requests.
async fn token(State(s): Shared, headers: HeaderMap) -> Response {
    let n = s.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let sent = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if sent != format!("Basic {expected}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let access_token = format!("oauth-token-{n}");
    let uses = *s.oauth_token_uses.lock().unwrap();
    s.oauth_tokens
        .lock()
        .unwrap()
        .insert(access_token.clone(), uses);
    Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600}))
        .into_response()
}

/// Starts the API with customers 1..=n and returns it with its base URL.
pub async fn spawn(n: i64) -> (Arc<Server>, String) {
    let server = Arc::new(Server::default());
    *server.oauth_token_uses.lock().unwrap() = usize::MAX;
    {
        let mut customers = server.customers.lock().unwrap();
        for id in 1..=n {
            customers.insert(id, customer(id));
        }
    }
    let app = Router::new()
        .route("/customers", get(customers).post(insert))
        .route("/customers/batch", post(batch))
        .route("/customers/{id}", put(upsert).patch(update).delete(delete))
        .route("/profiles", get(profiles))
        .route("/offset", get(offset))
        .route("/pages", get(pages))
        .route("/next-url", get(next_url))
        .route("/link", get(link))
        .route("/looping", get(looping))
        .route("/ignores-page", get(ignores_page))
        .route("/bad-json", get(bad_json))
        .route("/ndjson", get(ndjson))
        .route("/csv", get(csv_route))
        .route("/search", post(search))
        .route("/echo", post(echo))
        .route("/oauth/token", post(token))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (server, base)
}

/// Resolves `local:` references from a map (stands in for the secrets service).
#[derive(Default)]
pub struct MapSecrets(pub Mutex<HashMap<String, String>>);

impl MapSecrets {
    pub fn standard() -> Arc<Self> {
        let map = [
            ("local:token", TOKEN),
            ("local:wrong-token", "not-the-token"),
            ("local:api-key", API_KEY),
            ("local:password", PASSWORD),
            ("local:client-secret", CLIENT_SECRET),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Arc::new(Self(Mutex::new(map)))
    }
}

#[async_trait]
impl SecretSource for MapSecrets {
    async fn resolve(&self, reference: &str) -> Result<Secret, ConnectorError> {
        self.0
            .lock()
            .unwrap()
            .get(reference)
            .map(|v| Secret::new(v.clone()))
            .ok_or_else(|| {
                ConnectorError::config(
                    connector_sdk::Operation::ResolveSecret,
                    format!("unknown {reference}"),
                )
            })
    }
}

/// Fast retries for tests.
pub fn fast_retry() -> Value {
    json!({"max_attempts": 4, "initial_backoff_ms": 1, "max_backoff_ms": 5, "max_elapsed_seconds": 30})
}

/// A configuration over `base` with bearer auth and the given streams.
pub fn config(base: &str, streams: Value) -> Value {
    json!({
        "type": "rest",
        "base_url": base,
        "allow_insecure_http": true,
        "auth": {"type": "bearer", "token": "local:token"},
        "headers": {"Accept": "application/json"},
        "retry": fast_retry(),
        "streams": streams
    })
}

pub async fn build(config: Value) -> Arc<dyn Connector> {
    RestConnectorFactory
        .build(
            config,
            &connector_sdk::BuildContext::new(MapSecrets::standard()),
        )
        .await
        .expect("the configuration builds")
}

pub async fn read_all(
    connector: &dyn Connector,
    request: ReadRequest,
) -> Result<Vec<ReadBatch>, ConnectorError> {
    let mut stream = connector.read(request).await?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch?);
    }
    Ok(batches)
}

pub fn ids(batches: &[ReadBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.records())
        .map(|r| r["id"].as_i64().unwrap_or(-1))
        .collect()
}
