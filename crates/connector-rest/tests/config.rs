#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Configuration: validation errors naming the field, the spec, YAML, discover.

mod common;

use common::{MapSecrets, build, config, spawn};
use connector_rest::{RestConfig, RestConnectorFactory};
use connector_sdk::testkit::{self, Fixture};
use connector_sdk::{ConnectorFactory, ErrorKind, FieldType};
use serde_json::{Value, json};

async fn build_error(config: Value) -> connector_sdk::ConnectorError {
    match RestConnectorFactory
        .build(
            config,
            &connector_sdk::BuildContext::new(MapSecrets::standard()),
        )
        .await
    {
        Ok(_) => panic!("the configuration should be refused"),
        Err(err) => err,
    }
}

fn minimal(base: &str) -> Value {
    json!({"type": "rest", "base_url": base, "streams": [{"name": "s", "path": "/s"}]})
}

#[tokio::test]
async fn bad_configurations_are_config_errors_naming_the_field() {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "http without allow_insecure_http",
            minimal("http://api.test/v1"),
            "`/base_url`",
        ),
        (
            "unknown key",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s", "pagnator": {}}]}),
            "`/streams/0`",
        ),
        (
            "raw secret",
            json!({"base_url": "https://a.test", "auth": {"type": "bearer", "token": "abc"},
                              "streams": [{"name": "s", "path": "/s"}]}),
            "`/auth/token`",
        ),
        (
            "bad JSONPath",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s", "records": "$[?"}]}),
            "`/streams/0/records`",
        ),
        (
            "path without slash",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "s"}]}),
            "`/streams/0/path`",
        ),
        (
            "cursor sent nowhere",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s",
            "paginator": {"type": "cursor", "cursor_path": "$.next"}}]}),
            "`/streams/0/paginator/param`",
        ),
        (
            "csv with a cursor",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s", "format": "csv",
            "paginator": {"type": "cursor", "cursor_path": "$.next", "param": "c"}}]}),
            "`/streams/0/format`",
        ),
        (
            "unknown body placeholder",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s", "method": "POST",
            "body": {"q": "{nope}"}}]}),
            "`/streams/0/body`",
        ),
        (
            "duplicate stream",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s"}, {"name": "s", "path": "/t"}]}),
            "`/streams/1/name`",
        ),
        (
            "batch path with a placeholder",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s",
            "write": {"path": "/s/{id}", "batch": {"size": 10}}}]}),
            "`/streams/0/write/path`",
        ),
        (
            "wrong type",
            json!({"type": "postgres", "base_url": "https://a.test", "streams": [{"name": "s", "path": "/s"}]}),
            "`/type`",
        ),
        (
            "credentials in headers",
            json!({"base_url": "https://a.test", "headers": {"Authorization": "Bearer x"},
            "streams": [{"name": "s", "path": "/s"}]}),
            "`/headers/Authorization`",
        ),
        (
            "http token url",
            json!({"base_url": "https://a.test", "auth": {"type": "oauth2_client_credentials",
            "token_url": "http://a.test/token", "client_id": "c", "client_secret": "env:S"},
            "streams": [{"name": "s", "path": "/s"}]}),
            "`/auth/token_url`",
        ),
        (
            "no streams",
            json!({"base_url": "https://a.test", "streams": []}),
            "`/streams`",
        ),
        (
            "a field declared twice",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s", "schema": {"fields": [
                {"name": "id", "type": {"type": "integer"}}, {"name": "id", "type": {"type": "string"}}]}}]}),
            "`/streams/0/schema/fields/1/name`",
        ),
        (
            "a decimal wider than 38 digits",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s", "schema": {"fields": [
                {"name": "x", "type": {"type": "decimal", "precision": 39, "scale": 2}}]}}]}),
            "`/streams/0/schema/fields/0/type`",
        ),
        (
            "an unknown extra_fields policy",
            json!({"base_url": "https://a.test", "streams": [{"name": "s", "path": "/s", "schema": {
                "fields": [], "extra_fields": "ignore"}}]}),
            "`/streams/0/schema/extra_fields`",
        ),
    ];
    for (name, config, pointer) in cases {
        let err = build_error(config).await;
        assert_eq!(err.kind(), ErrorKind::Config, "{name}: {err}");
        assert!(
            err.detail().starts_with(pointer.trim_end_matches('`')),
            "{name}: {}",
            err.detail()
        );
    }
}

#[tokio::test]
async fn an_http_url_is_accepted_with_allow_insecure_http() {
    let mut cfg = minimal("http://api.test/v1");
    cfg["allow_insecure_http"] = json!(true);
    assert!(
        RestConnectorFactory
            .build(
                cfg,
                &connector_sdk::BuildContext::new(MapSecrets::standard()),
            )
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_spec_is_a_complete_schema_accepting_full_configurations() {
    let full = json!({
        "type": "rest", "base_url": "https://api.example.com/v1", "allow_insecure_http": false,
        "auth": {"type": "oauth2_client_credentials", "token_url": "https://id.example.com/token",
                 "client_id": "c", "client_secret": "vault:kv/crm#secret", "scopes": ["read"]},
        "headers": {"Accept": "application/json"},
        "check": {"path": "/ping", "params": {"x": 1}},
        "retry": {"max_attempts": 3}, "timeout_seconds": 10, "rate_limit": {"per_second": 5, "burst": 2},
        "streams": [
            {"name": "a", "path": "/a", "params": {"limit": 1000}, "records": "$.data", "primary_key": ["id"],
             "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"},
             "schema": {"extra_fields": "drop", "fields": [
                 {"name": "id", "type": {"type": "integer"}, "nullable": false},
                 {"name": "amount", "type": {"type": "decimal", "precision": 12, "scale": 2}},
                 {"name": "updated_at", "type": {"type": "timestamp_tz"}},
                 {"name": "tags", "type": {"type": "array", "items": {"type": "string"}}},
                 {"name": "address", "type": {"type": "object", "fields": [
                     {"name": "city", "type": {"type": "string"}, "nullable": true}]}}]},
             "stop": {"has_more_path": "$.has_more", "max_pages": 10, "progress_guard": true},
             "incremental": {"cursor_field": "updated_at", "param": "updated_since", "start": "2024-01-01"},
             "write": {"method": "POST", "path": "/a", "batch": {"size": 100, "wrap": "records", "errors_path": "$.errors"},
                       "upsert": {"method": "PUT", "path": "/a/{id}"}, "delete": {"method": "DELETE", "path": "/a/{id}"}}},
            {"name": "b", "path": "/b", "format": "ndjson", "paginator": {"type": "offset", "limit": 10}},
            {"name": "c", "path": "/c", "paginator": {"type": "page_number", "page_size_param": "per_page", "page_size": 50}},
            {"name": "d", "path": "/d", "paginator": {"type": "next_url", "path": "/links/next"}},
            {"name": "e", "path": "/e", "paginator": {"type": "link_header"}, "stop": {"total_path": "$.total"}},
            {"name": "f", "path": "/f", "method": "POST", "body": {"cursor": "{cursor}", "since": "{incremental}"},
             "paginator": {"type": "cursor", "cursor_path": "$.next"}, "incremental": {"cursor_field": "t"}}
        ]
    });
    // The configuration builds, and the spec (checked by the SDK kit) accepts it.
    let connector = RestConnectorFactory
        .build(
            full.clone(),
            &connector_sdk::BuildContext::new(MapSecrets::standard()),
        )
        .await
        .unwrap();
    testkit::assert_spec(
        connector.as_ref(),
        &Fixture::new("a", vec![]).with_config(full),
    )
    .await
    .unwrap();
    let api_key = json!({"base_url": "https://a.test", "auth": {"type": "api_key", "name": "X-Api-Key", "in": "query", "value": "env:K"},
                         "streams": [{"name": "a", "path": "/a"}]});
    RestConfig::from_value(api_key.clone()).unwrap();
    testkit::assert_spec(
        connector.as_ref(),
        &Fixture::new("a", vec![]).with_config(api_key),
    )
    .await
    .unwrap();

    let spec = RestConnectorFactory.spec();
    let secrets = connector_sdk::secret::secret_fields(&spec);
    assert!(
        secrets.contains(&"/auth/value".to_owned()) && secrets.contains(&"/auth/token".to_owned()),
        "{secrets:?}"
    );
    // The spec refuses what the parser refuses.
    let bad = json!({"base_url": "https://a.test", "streams": [{"name": "a", "path": "/a", "pagnator": {}}]});
    assert!(
        testkit::assert_spec(
            connector.as_ref(),
            &Fixture::new("a", vec![]).with_config(bad)
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn a_yaml_configuration_parses_like_json() {
    let yaml = r#"
type: rest
base_url: https://api.example.com/v1
auth: { type: bearer, token: "env:API_TOKEN" }
headers: { Accept: application/json }
streams:
  - name: customers
    path: /customers
    params: { limit: 1000 }
    records: "$.data"
    primary_key: [id]
    paginator: { type: cursor, cursor_path: "$.next_cursor", param: cursor }
    incremental: { cursor_field: updated_at, param: updated_since }
    write: { method: POST, path: /customers }
"#;
    let value: Value = serde_norway::from_str(yaml).unwrap();
    let config = RestConfig::from_value(value).unwrap();
    assert_eq!(config.streams[0].primary_key, vec!["id"]);
    assert!(!config.allow_insecure_http);
}

#[tokio::test]
async fn discover_infers_fields_keys_and_cursor_candidates() {
    let (_server, base) = spawn(3).await;
    let connector = build(config(&base, json!([{"name": "customers", "path": "/customers", "records": "$.data",
        "primary_key": ["id"], "incremental": {"cursor_field": "updated_at", "param": "updated_since"}}]))).await;
    let catalog = connector.discover().await.unwrap();
    let stream = catalog.stream("customers").unwrap();
    assert_eq!(stream.primary_key, vec!["id"]);
    assert_eq!(stream.field("id").unwrap().field_type, FieldType::Integer);
    assert_eq!(
        stream.field("updated_at").unwrap().field_type,
        FieldType::TimestampTz
    );
    assert_eq!(stream.field("email").unwrap().field_type, FieldType::String);
    assert_eq!(stream.cursor_candidates, vec!["updated_at", "id"]);
}
