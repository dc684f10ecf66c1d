//! `GET /api/v1/authz/bundle.tar.gz`: the policies and the data as an OPA bundle.
//!
//! The bundle holds `.manifest` (`{"revision", "roots": ["grimos"], "rego_version": 1}`),
//! every stored policy as `<name>.rego` (package `grimos.policies.<name>`), the decision
//! module `_authz.rego` (package `grimos.authz`) and `data.json`:
//!
//! ```json
//! {"grimos": {
//!   "revision": "42",
//!   "relationships": {"connector": {"01a2": {"owner": ["user:ann"],
//!                                             "viewer": ["group:sre#member"]}}},
//!   "attributes": {"connector": {"01a2": {"classification": "restricted"}},
//!                  "user": {"ann": {"clearance": 3}}},
//!   "memberships": {"user:ann": ["group:oncall#member", "group:sre#member",
//!                                "platform:grimos#operator"]},
//!   "schema": {"connector": {"edit": {"relations": ["editor", "owner"],
//!                                     "roles": ["admin", "operator", "service"]}}}
//! }}
//! ```
//!
//! `relationships[type][id][relation]` lists the subjects holding the relation (sorted);
//! `memberships[principal]` every userset a principal belongs to, through nested groups and
//! roles (computed here, since Rego has no recursion); `schema[type][action]` what grants
//! each action. `data.grimos.authz.allow` then decides an input
//! `{"subject": "user:ann", "action": "edit", "resource": "connector:01a2", "context": {…}}`
//! as `POST /api/v1/authz/check` decides it for a subject other than the caller (roles as
//! stored): a role or relationship must grant, and no policy may deny
//! (`data.grimos.authz.decision` gives `{allowed, granted, denials}`). The policies see the
//! same input document as in grimOS, except that `relationship.path` is empty and
//! `context.time` defaults to the evaluation time in RFC 3339 with nanoseconds.

use std::collections::{BTreeMap, BTreeSet};

use api::ApiResult;
use api::openapi::CommonErrors;
use axum::extract::State;
use axum::response::{IntoResponse as _, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use kernel::{Error, Role};
use serde_json::{Value, json};
use storage::{map_sqlx_error, with_conn};
use utoipa::ToSchema;

use super::refs::require_manage_access;
use crate::graph::Graph;
use crate::guard::Guard;
use crate::model::{ObjectRef, Relationship, Revision, SubjectRef};
use crate::policy::{self, PolicySource};
use crate::schema::SCHEMA;
use crate::service::Authz;
use crate::store;

/// The name of the decision module in the bundle (`_authz.rego`; no policy name starts
/// with `_`, so it cannot collide with a stored policy's file).
const DECISION_MODULE: &str = "_authz";

/// The bundle archive.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BundleArchive(pub Vec<u8>);

/// The `If-None-Match` request header of the bundle, for OpenAPI.
#[derive(Debug, Clone, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatchHeader {
    /// The `ETag` of the bundle you hold (`"42"`, the revision): `304 Not Modified` while
    /// nothing changed. Any other value is ignored.
    #[param(rename = "If-None-Match", nullable = false)]
    pub if_none_match: Option<String>,
}

/// The policies and data as an OPA bundle (`.tar.gz`: `.manifest`, `data.json`, the
/// `.rego` files), for OPA sidecars (point a bundle service at this URL with a bearer
/// token) and for offline evaluation. `ETag` is the revision; with `If-None-Match` naming
/// it, the answer is `304` without a body. Needs `manage_access` or the service role. The
/// shape of `data.json` and the decision module `data.grimos.authz` are described in
/// `docs/authorization.md`.
#[utoipa::path(
    get, path = "/api/v1/authz/bundle.tar.gz", tag = "authz",
    params(IfNoneMatchHeader),
    security(("bearer" = [])),
    responses(
        (status = 200, body = BundleArchive, content_type = "application/gzip",
         headers(("ETag" = String, description = "The revision, quoted"))),
        (status = 304, description = "Not modified: `If-None-Match` names the current revision",
         headers(("ETag" = String))),
        CommonErrors
    )
)]
pub(super) async fn get_bundle(
    State(authz): State<Authz>,
    guard: Guard,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if guard.principal().role != Role::Service {
        require_manage_access(&guard, "fetching the bundle (or the service role)").await?;
    }
    let current = store::revision(authz.database()).await?;
    if not_modified(&headers, current) {
        return Ok(with_revision(
            current,
            StatusCode::NOT_MODIFIED.into_response(),
        ));
    }
    let snapshot = read_consistently(&authz).await?;
    let data = bundle_data(snapshot.revision, &snapshot.tuples, &snapshot.attributes);
    let mut sources = snapshot.policies;
    sources.push(PolicySource::new(
        DECISION_MODULE,
        0,
        decision_module(&sources),
    ));
    let archive = policy::bundle(&sources, &data, &snapshot.revision.to_string())?;
    let response = (
        [
            (header::CONTENT_TYPE, "application/gzip"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"bundle.tar.gz\"",
            ),
        ],
        archive,
    )
        .into_response();
    Ok(with_revision(snapshot.revision, response))
}

fn with_revision(revision: Revision, mut response: Response) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{revision}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// Whether `If-None-Match` names `revision` (or is `*`).
fn not_modified(headers: &HeaderMap, revision: Revision) -> bool {
    let wanted = revision.to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| {
            tag == "*"
                || tag
                    .strip_prefix("W/")
                    .unwrap_or(tag)
                    .strip_prefix('"')
                    .and_then(|rest| rest.strip_suffix('"'))
                    == Some(wanted.as_str())
        })
}

struct Snapshot {
    revision: Revision,
    tuples: Vec<Relationship>,
    attributes: Vec<(ObjectRef, Value)>,
    policies: Vec<PolicySource>,
}

/// Relationships, attributes and policies at one revision: read until the revision is the
/// same before and after (every change takes a new revision in its own transaction).
async fn read_consistently(authz: &Authz) -> Result<Snapshot, Error> {
    let db = authz.database();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let before = store::revision(db).await?;
        let rows: Vec<(String, String, String, String)> = with_conn!(db, |conn| {
            sqlx::query_as(
                "SELECT object_type, object_id, relation, subject FROM authz_tuples \
                 ORDER BY object_type, object_id, relation, subject",
            )
            .fetch_all(conn)
            .await
            .map_err(map_sqlx_error)?
        });
        let attribute_rows: Vec<(String, String, String)> = with_conn!(db, |conn| {
            sqlx::query_as(
                "SELECT object_type, object_id, attributes FROM authz_attributes \
                 ORDER BY object_type, object_id",
            )
            .fetch_all(conn)
            .await
            .map_err(map_sqlx_error)?
        });
        let policies = store::list_policies(db).await?;
        let after = store::revision(db).await?;
        if before != after && attempts < 5 {
            continue;
        }
        let mut tuples = Vec::with_capacity(rows.len());
        for (kind, id, relation, subject) in rows {
            tuples.push(Relationship {
                resource: ObjectRef::new(kind.parse()?, id),
                relation,
                subject: SubjectRef::parse(&subject)?,
            });
        }
        let mut attributes = Vec::with_capacity(attribute_rows.len());
        for (kind, id, text) in attribute_rows {
            attributes.push((
                ObjectRef::new(kind.parse()?, id),
                serde_json::from_str(&text).map_err(Error::internal)?,
            ));
        }
        return Ok(Snapshot {
            revision: after,
            tuples,
            attributes,
            policies: policies
                .into_iter()
                .map(|policy| PolicySource::new(policy.name, policy.version, policy.source))
                .collect(),
        });
    }
}

/// The bundle's `data.json` (see the module documentation): relationships, attributes,
/// every principal's memberships and the schema, under `grimos`.
pub fn bundle_data(
    revision: Revision,
    tuples: &[Relationship],
    attributes: &[(ObjectRef, Value)],
) -> Value {
    let mut graph = Graph::new(revision);
    let mut relationships: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, BTreeSet<String>>>> =
        BTreeMap::new();
    let mut principals: BTreeSet<&SubjectRef> = BTreeSet::new();
    for tuple in tuples {
        graph.insert(tuple.clone());
        relationships
            .entry(tuple.resource.kind.as_str())
            .or_default()
            .entry(tuple.resource.id.as_str())
            .or_default()
            .entry(tuple.relation.as_str())
            .or_default()
            .insert(tuple.subject.to_string());
        if tuple.subject.is_principal() {
            principals.insert(&tuple.subject);
        }
    }
    let mut attribute_data: BTreeMap<&str, BTreeMap<&str, &Value>> = BTreeMap::new();
    for (object, value) in attributes {
        attribute_data
            .entry(object.kind.as_str())
            .or_default()
            .insert(object.id.as_str(), value);
    }
    let memberships: BTreeMap<String, Vec<String>> = principals
        .into_iter()
        .map(|principal| {
            let mut usersets: Vec<String> = graph
                .memberships(principal)
                .usersets()
                .map(ToString::to_string)
                .collect();
            usersets.sort();
            (principal.to_string(), usersets)
        })
        .collect();
    let schema: BTreeMap<&str, BTreeMap<&str, Value>> = SCHEMA
        .iter()
        .map(|schema| {
            (
                schema.kind.as_str(),
                schema
                    .permissions
                    .iter()
                    .map(|permission| {
                        (
                            permission.action,
                            json!({"relations": permission.relations, "roles": permission.roles}),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    json!({
        "grimos": {
            "revision": revision.to_string(),
            "relationships": relationships,
            "attributes": attribute_data,
            "memberships": memberships,
            "schema": schema,
        }
    })
}

/// The decision module: `data.grimos.authz.allow` and `decision`, as grimOS decides for a
/// subject with the roles stored for it (see the module documentation).
pub(crate) fn decision_module(policies: &[PolicySource]) -> String {
    let mut module = String::from(DECISION_HEAD);
    for policy in policies {
        module.push_str(&format!(
            "\ndenials contains {{\"policy\": \"{name}\", \"rule\": \"{package}.deny\", \"message\": message}} if {{\n\
             \tgranted\n\
             \tmessages := data.{package}.deny with input as policy_input\n\
             \tsome message in messages\n\
             }}\n",
            name = policy.name,
            package = policy.package(),
        ));
    }
    module
}

const DECISION_HEAD: &str = r##"# The grimOS decision for OPA: generated with the bundle (do not edit).
#
# input: {"subject": "user:ann", "action": "edit", "resource": "connector:01a2",
#         "context": {"time": "2025-01-06T12:00:00Z", ...}}
# A role or relationship must grant the action, and no policy may deny it.
package grimos.authz

default allow := false

allow if {
	granted
	count(denials) == 0
}

decision := {"allowed": allow, "granted": granted, "denials": denials}

resource_sep := indexof(input.resource, ":")

resource_type := substring(input.resource, 0, resource_sep)

resource_id := substring(input.resource, resource_sep + 1, -1)

subject_sep := indexof(input.subject, ":")

subject_kind := substring(input.subject, 0, subject_sep)

subject_id := substring(input.subject, subject_sep + 1, -1)

holders contains input.subject

holders contains userset if {
	some userset in object.get(data.grimos.memberships, input.subject, [])
}

roles contains role if {
	some holder in holders
	startswith(holder, "platform:grimos#")
	role := substring(holder, count("platform:grimos#"), -1)
}

groups contains group if {
	some holder in holders
	startswith(holder, "group:")
	endswith(holder, "#member")
	group := substring(holder, count("group:"), (count(holder) - count("group:")) - count("#member"))
}

permission := data.grimos.schema[resource_type][input.action]

on_type := object.get(data.grimos.relationships, resource_type, {})

candidates contains resource_id

candidates contains prefix if {
	resource_type == "secret"
	some prefix, _ in on_type
	endswith(prefix, "*")
	startswith(resource_id, trim_suffix(prefix, "*"))
}

default granted := false

granted if {
	some role in permission.roles
	role in roles
}

granted if {
	some candidate in candidates
	some relation in permission.relations
	some holder in object.get(object.get(on_type, candidate, {}), relation, [])
	holder in holders
}

owners := object.get(object.get(on_type, resource_id, {}), "owner", [])

default owner := null

owner := owners[0]

attributes_of(kind, id) := object.get(object.get(data.grimos.attributes, kind, {}), id, {})

context := object.union(
	{"time": time.format(time.now_ns()), "ip": null, "request_id": null},
	object.get(input, "context", {}),
)

policy_input := {
	"subject": {
		"id": input.subject,
		"kind": subject_kind,
		"roles": sort(roles),
		"groups": sort(groups),
		"attributes": attributes_of(subject_kind, subject_id),
	},
	"action": input.action,
	"resource": {
		"type": resource_type,
		"id": resource_id,
		"owner": owner,
		"attributes": attributes_of(resource_type, resource_id),
	},
	"context": context,
	"relationship": {"allowed": true, "path": []},
}
"##;
