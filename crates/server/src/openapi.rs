//! The OpenAPI document's frame; each service adds its own paths and schemas.

use api::openapi::BearerSecurity;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "grimOS API",
        description = "The grimOS platform API. Errors are RFC 9457 problem documents \
            (application/problem+json) with a stable `code`; lists are cursor-paginated \
            (`limit`, `cursor` → `next_cursor`); updates accept `If-Match` with the ETag you \
            read. Authenticate with `Authorization: Bearer <token>`.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerSecurity),
    components(schemas(api::Problem, kernel::FieldError)),
    tags(
        (name = "auth", description = "Who is calling"),
        (name = "users", description = "Users (admins only, except reading yourself)"),
        (name = "tokens", description = "API tokens: shown once, stored hashed, revocable"),
        (name = "secrets", description = "The embedded encrypted secret store (admins only; values are write-only)"),
        (name = "connectors", description = "Connector types and stored connectors of the Interoperability Engine"),
        (name = "mappings", description = "Data mappings: rules, validation against schemas, preview"),
        (name = "authz", description = "Authorization: checks that explain themselves, relationships, groups, attributes, Rego policies and the OPA bundle"),
        (name = "health", description = "Liveness, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// Completes the merged document of every router, the same way for the one served at
/// `/api/openapi.json` and the one `grimos openapi` prints:
///
/// - 413 and 415 are kept only on operations that take a request body (only the body
///   extractors answer them), and 415 only where that body is JSON;
/// - the links from each create to the reads, updates and deletes of what it created
///   (`$response.body#/id`), which clients and the stateful contract test follow.
pub fn finish(document: &mut utoipa::openapi::OpenApi) {
    for item in document.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let json_body = operation.request_body.as_ref().map(|body| {
                body.content
                    .keys()
                    .any(|media_type| media_type == "application/json")
            });
            let responses = &mut operation.responses.responses;
            match json_body {
                None => {
                    responses.remove("413");
                    responses.remove("415");
                }
                Some(false) => {
                    responses.remove("415");
                }
                Some(true) => {}
            }
        }
    }
    add_links(document);
}

fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
        item.head.as_mut(),
        item.options.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// One link: from an operation's answer to another operation, with the target's
/// parameters as runtime expressions.
struct LinkSpec {
    from: &'static str,
    status: &'static str,
    to: &'static str,
    parameters: &'static [(&'static str, &'static str)],
}

const ID: &[(&str, &str)] = &[("id", "$response.body#/id")];

const fn link(from: &'static str, status: &'static str, to: &'static str) -> LinkSpec {
    LinkSpec {
        from,
        status,
        to,
        parameters: ID,
    }
}

/// Create → read, update, delete (and the other operations on what was created).
const LINKS: &[LinkSpec] = &[
    link("create_user", "201", "get_user"),
    link("create_user", "201", "update_user"),
    link("create_user", "201", "delete_user"),
    LinkSpec {
        from: "create_user",
        status: "201",
        to: "list_tokens",
        parameters: &[("user_id", "$response.body#/id")],
    },
    link("create_token", "201", "get_token"),
    link("create_token", "201", "revoke_token"),
    link("create_grant", "201", "get_grant"),
    link("create_grant", "201", "delete_grant"),
    LinkSpec {
        from: "put_secret",
        status: "201",
        to: "get_secret",
        parameters: &[("name", "$request.path.name")],
    },
    LinkSpec {
        from: "put_secret",
        status: "201",
        to: "delete_secret",
        parameters: &[("name", "$request.path.name")],
    },
    link("create_connector", "201", "get_connector"),
    link("create_connector", "201", "update_connector"),
    link("create_connector", "201", "delete_connector"),
    link("create_connector", "201", "test_connector"),
    link("create_connector", "201", "connector_schema"),
    link("create_mapping", "201", "get_mapping"),
    link("create_mapping", "201", "update_mapping"),
    link("create_mapping", "201", "delete_mapping"),
    link("create_mapping", "201", "validate_mapping"),
    link("create_flow", "201", "get_flow"),
    link("create_flow", "201", "update_flow"),
    link("create_flow", "201", "delete_flow"),
    link("create_flow", "201", "start_run"),
    link("create_flow", "201", "flow_stats"),
    link("create_flow", "201", "flow_dead_letters"),
    link("start_run", "202", "get_run"),
    link("start_run", "202", "cancel_run"),
    link("start_run", "202", "list_events"),
    link("start_run", "202", "run_dead_letters"),
    link("replay_dead_letters", "202", "get_replay"),
    link("create_group", "201", "get_group"),
    link("create_group", "201", "delete_group"),
    link("create_group", "201", "list_group_members"),
    link("create_policy", "201", "get_policy"),
    link("create_policy", "201", "update_policy"),
    link("create_policy", "201", "delete_policy"),
    link("create_policy", "201", "list_policy_versions"),
    link("create_policy", "201", "test_policy"),
];

fn add_links(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;

    let known: std::collections::BTreeSet<String> = document
        .paths
        .paths
        .values_mut()
        .flat_map(operations_mut)
        .filter_map(|operation| operation.operation_id.clone())
        .collect();
    for item in document.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let Some(id) = operation.operation_id.clone() else {
                continue;
            };
            for spec in LINKS.iter().filter(|spec| spec.from == id) {
                if !known.contains(spec.to) {
                    continue;
                }
                let Some(RefOr::T(response)) = operation.responses.responses.get_mut(spec.status)
                else {
                    continue;
                };
                let parameters: serde_json::Map<String, serde_json::Value> = spec
                    .parameters
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), serde_json::Value::from(*value)))
                    .collect();
                let link = serde_json::json!({
                    "operationId": spec.to,
                    "parameters": parameters,
                    "description": format!("The object this answer created, for `{}`", spec.to),
                });
                // utoipa 5.5 serializes `Link` with snake_case keys (`operation_id`), which
                // no OpenAPI tool reads; the links go in as plain JSON under the response's
                // `links` key instead (extensions are flattened into the response object).
                let extensions = response.extensions.get_or_insert_with(Default::default);
                let links = extensions
                    .entry("links".to_owned())
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                if let Some(links) = links.as_object_mut() {
                    links.insert(link_name(spec.to), link);
                }
            }
        }
    }
}

/// `get_user` → `GetUser`.
fn link_name(operation_id: &str) -> String {
    operation_id
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> serde_json::Value {
        serde_json::to_value(crate::platform::openapi_document()).unwrap_or_default()
    }

    fn operation<'a>(document: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
        document["paths"]
            .as_object()?
            .values()
            .filter_map(serde_json::Value::as_object)
            .flat_map(|item| item.values())
            .find(|operation| operation["operationId"] == id)
    }

    #[test]
    fn every_link_joins_two_operations_of_the_document() {
        let document = document();
        for spec in LINKS {
            let from = operation(&document, spec.from)
                .unwrap_or_else(|| panic!("no operation {}", spec.from));
            assert!(
                operation(&document, spec.to).is_some(),
                "no operation {}",
                spec.to
            );
            let link = &from["responses"][spec.status]["links"][link_name(spec.to)];
            assert_eq!(link["operationId"], spec.to, "{} -> {}", spec.from, spec.to);
            for (name, value) in spec.parameters {
                assert_eq!(link["parameters"][name], *value);
            }
        }
    }

    #[test]
    fn only_operations_with_a_json_body_answer_415() {
        let document = document();
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        let mut with_body = 0;
        for (path, item) in &paths {
            for (method, operation) in item.as_object().cloned().unwrap_or_default() {
                let json_body = operation["requestBody"]["content"]["application/json"].is_object();
                let answers_415 = operation["responses"]["415"].is_object();
                assert_eq!(json_body, answers_415, "{method} {path}");
                if operation["requestBody"].is_null() {
                    assert!(operation["responses"]["413"].is_null(), "{method} {path}");
                } else {
                    with_body += 1;
                }
            }
        }
        assert!(with_body > 10, "only {with_body} operations take a body");
    }
}
