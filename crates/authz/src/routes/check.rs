//! Decisions: one check, a batch of checks, "what may X access", "who may access this".

use std::collections::HashMap;

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiQuery, ApiResult};
use axum::extract::State;
use chrono::{DateTime, Utc};
use kernel::{Error, ErrorKind, PageRequest};
use serde_json::Value;
use utoipa::ToSchema;

use super::refs::{self, action_schema, object_type_schema, subject_for};
use crate::graph::Subject;
use crate::guard::{Guard, principal_subject};
use crate::model::{ObjectRef, SubjectRef};
use crate::service::{Authz, CheckRequest, Context, Decision};

/// The most checks one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// Where and when the action would happen: the policies' `input.context`. Every member is
/// optional; members other than these three are passed to the policies as they are.
#[derive(Debug, Clone, Default, serde::Deserialize, ToSchema)]
pub struct CheckContext {
    /// When (RFC 3339); default: now. Policies read it as `input.context.time`, an RFC 3339
    /// string in UTC with milliseconds.
    #[serde(default)]
    pub time: Option<DateTime<Utc>>,
    /// The address the action would come from; default: the caller's.
    #[serde(default)]
    pub ip: Option<String>,
    /// A request id to show the policies; default: this request's.
    #[serde(default)]
    pub request_id: Option<String>,
    /// Anything else, passed on as it is.
    #[serde(flatten)]
    pub extra: HashMap<String, Value>,
}

/// One question: may `subject` do `action` on `resource`?
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequestBody {
    /// Who: `user:<id>`, `service:<id>`, or a userset (`group:sre#member`). Anyone but
    /// yourself needs `manage_access`. You are checked with the role of your credential;
    /// anyone else with the roles stored for them (relations on `platform:grimos`).
    #[schema(
        pattern = r"^((user|service):[^\x00-\x1F\x7F-\x9F#]{1,1024}|(platform:grimos|(connector|mapping|flow|secret|token|group):[^\x00-\x1F\x7F-\x9F]{1,1024})#[a-z][a-z0-9_]{0,63})$"
    )]
    pub subject: String,
    /// What: an action of the resource's type (`view`, `edit`, `run`, `use`, …; see
    /// `docs/authorization.md`). An action the type does not have is `422 unknown_action`.
    #[schema(schema_with = action_schema)]
    pub action: String,
    /// On what: `type:id` (`connector:01a2…`, `secret:vault:secret/crm#token`,
    /// `platform:grimos`).
    #[schema(
        pattern = r"^(platform:grimos|(connector|mapping|flow|secret|token|user|service|group):[^\x00-\x1F\x7F-\x9F]{1,1024})$"
    )]
    pub resource: String,
    /// Where and when (the policies' `input.context`).
    #[serde(default)]
    pub context: Option<CheckContext>,
    /// Decide at this revision or later: the `revision` a write answered (so the check sees
    /// it). A revision not written yet is `422 revision_unknown`.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{1,18}$")]
    pub at_least: Option<String>,
}

/// A check, read.
struct Prepared {
    subject: SubjectRef,
    request: CheckRequest,
}

fn prepare(guard: &Guard, body: CheckRequestBody, prefix: &str) -> Result<Prepared, Error> {
    let subject = refs::subject(&body.subject, &format!("{prefix}/subject"))?;
    let resource = refs::object(&body.resource, &format!("{prefix}/resource"))?;
    crate::graph::permission_for(resource.kind, &body.action)
        .map_err(|error| refs::at(&format!("{prefix}/action"), error))?;
    let at_least = body
        .at_least
        .as_deref()
        .map(|text| refs::revision(text, &format!("{prefix}/at_least")))
        .transpose()?;
    let given = body.context.unwrap_or_default();
    let own = guard.context();
    let context = Context {
        time: given.time,
        ip: given.ip.or_else(|| own.ip.clone()),
        request_id: given.request_id.or_else(|| own.request_id.clone()),
        extra: given.extra.into_iter().collect(),
    };
    Ok(Prepared {
        request: CheckRequest {
            subject: Subject::stored(subject.clone()),
            action: body.action,
            resource,
            context,
            at_least,
        },
        subject,
    })
}

/// May a subject do an action on an object? The decision with its reasons: the role or
/// relation path that allowed it (`connector:01a2#editor ← group:sre#member ← user:ann`), or
/// what refused it (no grant, or the policy rule that denied), and the revision it was
/// made at. Roles and relationships must allow; any policy `deny` overrides.
#[utoipa::path(
    post, path = "/api/v1/authz/check", tag = "authz",
    request_body = CheckRequestBody,
    security(("bearer" = [])),
    responses((status = 200, body = Decision), CommonErrors)
)]
pub(super) async fn check_access(
    State(authz): State<Authz>,
    guard: Guard,
    ApiJson(body): ApiJson<CheckRequestBody>,
) -> ApiResult<ApiJson<Decision>> {
    let Prepared {
        subject,
        mut request,
    } = prepare(&guard, body, "")?;
    request.subject = subject_for(&guard, &subject).await?;
    let graph = authz.snapshot_at_least(request.at_least).await?;
    Ok(ApiJson(authz.decide(&graph, &request)?))
}

/// One check of a batch: the fields of `POST /api/v1/authz/check`, whose values are read
/// per check — a malformed reference, an unknown action or revision is answered in that
/// check's place (`error`), never failing the batch.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchCheck {
    /// Who: `user:<id>`, `service:<id>`, or a userset (`group:sre#member`); anyone but
    /// yourself needs `manage_access`.
    pub subject: String,
    /// What: an action of the resource's type.
    pub action: String,
    /// On what: `type:id`.
    pub resource: String,
    /// Where and when (the policies' `input.context`).
    #[serde(default)]
    pub context: Option<CheckContext>,
    /// Decide at this revision or later (1 to 18 digits).
    #[serde(default)]
    pub at_least: Option<String>,
}

impl From<BatchCheck> for CheckRequestBody {
    fn from(check: BatchCheck) -> Self {
        Self {
            subject: check.subject,
            action: check.action,
            resource: check.resource,
            context: check.context,
            at_least: check.at_least,
        }
    }
}

/// Up to 1,000 checks.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckBatchBody {
    /// The checks, answered in this order.
    #[schema(max_items = 1000)]
    pub checks: Vec<BatchCheck>,
}

/// Why one check of a batch was not answered (the rest of the batch is).
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct BatchItemError {
    /// The HTTP status this check alone would have answered (403, 422, 500).
    pub status: u16,
    /// The problem code (`invalid_authz_reference`, `unknown_action`, `forbidden`,
    /// `revision_unknown`, `policy_eval_failed`, …).
    pub code: String,
    /// What went wrong; the pointer at its start (`/checks/3/subject`) names the field.
    pub detail: String,
}

/// The answer to one check of a batch: a decision, or an error.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchResult {
    /// The decision.
    Decision(Decision),
    /// The check could not be answered.
    Error {
        /// Why.
        error: BatchItemError,
    },
}

/// The answers, in the order of the checks.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct CheckBatchResponse {
    /// One per check, in order.
    pub results: Vec<BatchResult>,
    /// The revision every decision of the batch was made at (one snapshot).
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

fn item_error(error: Error) -> BatchResult {
    BatchResult::Error {
        error: BatchItemError {
            status: api::problem::status_for(error.kind()).as_u16(),
            code: error.code().to_owned(),
            detail: error.message().to_owned(),
        },
    }
}

/// Many checks in one request (up to 1,000), all decided against one snapshot of the
/// relationships and policies: at the highest `at_least` of the batch, or the latest. A
/// check that cannot be answered (a malformed reference, an unknown action, another
/// subject without `manage_access`, a revision not written yet) gets an `error` in its
/// place and never fails the batch; a body that does not match the schema (a missing
/// field, a wrong type, more than 1,000 checks) is refused as a whole (422).
#[utoipa::path(
    post, path = "/api/v1/authz/check/batch", tag = "authz",
    request_body = CheckBatchBody,
    security(("bearer" = [])),
    responses((status = 200, body = CheckBatchResponse), CommonErrors)
)]
pub(super) async fn check_access_batch(
    State(authz): State<Authz>,
    guard: Guard,
    ApiJson(body): ApiJson<CheckBatchBody>,
) -> ApiResult<ApiJson<CheckBatchResponse>> {
    if body.checks.len() > MAX_BATCH {
        return Err(Error::invalid_field(
            "/checks",
            format!(
                "at most {MAX_BATCH} checks per batch ({} given)",
                body.checks.len()
            ),
        )
        .into());
    }
    let prepared: Vec<Result<Prepared, Error>> = body
        .checks
        .into_iter()
        .enumerate()
        .map(|(index, check)| prepare(&guard, check.into(), &format!("/checks/{index}")))
        .collect();
    let me = principal_subject(guard.principal());
    let asks_about_others = prepared
        .iter()
        .any(|item| matches!(item, Ok(item) if item.subject != me));
    let may_manage_access = asks_about_others
        && guard
            .allows("manage_access", &ObjectRef::platform())
            .await?;
    let wanted = prepared
        .iter()
        .filter_map(|item| item.as_ref().ok()?.request.at_least)
        .max();
    let graph = match authz.snapshot_at_least(wanted).await {
        Ok(graph) => graph,
        // The checks that name an unwritten revision get their error below; the others
        // are answered at the latest revision.
        Err(error) if error.code() == "revision_unknown" => authz.snapshot()?,
        Err(error) => return Err(error.into()),
    };
    let policies = authz.policies()?;
    let results = prepared
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let Prepared {
                subject,
                mut request,
            } = match item {
                Ok(item) => item,
                Err(error) => return item_error(error),
            };
            if let Some(at_least) = request.at_least
                && at_least > graph.revision()
            {
                return item_error(Error::new(
                    ErrorKind::Validation,
                    "revision_unknown",
                    format!(
                        "/checks/{index}/at_least: revision {at_least} has not been written \
                         yet (the latest is {})",
                        graph.revision()
                    ),
                ));
            }
            if subject == me {
                request.subject = guard.subject();
            } else if !may_manage_access {
                return item_error(Error::new(
                    ErrorKind::Forbidden,
                    "forbidden",
                    format!(
                        "/checks/{index}/subject: asking about {subject} (you are {me}) needs \
                         manage_access (admins)"
                    ),
                ));
            }
            match crate::service::decide(&graph, &policies, &request) {
                Ok(decision) => BatchResult::Decision(decision),
                Err(error) => item_error(error),
            }
        })
        .collect();
    Ok(ApiJson(CheckBatchResponse {
        results,
        revision: graph.revision().to_string(),
    }))
}

/// `?subject=&type=&action=&limit=&cursor=` of the object list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ObjectsQuery {
    /// Whose access: `user:<id>`, `service:<id>` or a userset. Anyone but yourself needs
    /// `manage_access`.
    #[param(
        pattern = r"^((user|service):[^\x00-\x1F\x7F-\x9F#]{1,1024}|(platform:grimos|(connector|mapping|flow|secret|token|group):[^\x00-\x1F\x7F-\x9F]{1,1024})#[a-z][a-z0-9_]{0,63})$"
    )]
    pub subject: String,
    /// The object type.
    #[serde(rename = "type")]
    #[param(rename = "type", schema_with = object_type_schema)]
    pub kind: String,
    /// The action (one the type has; otherwise `422 unknown_action`).
    #[param(schema_with = action_schema)]
    pub action: String,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = "^[A-Za-z0-9_-]*$", format = "grimos-cursor")]
    pub cursor: Option<String>,
}

/// An object the subject may act on, and the relationships that allow it.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct AccessibleObject {
    /// `type:id`.
    pub object: String,
    /// The relation path from the object to the subject:
    /// `["connector:01a2#viewer", "group:sre#member", "user:ann"]`.
    pub path: Vec<String>,
}

/// A role that grants the action on every object of the type.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct AllObjects {
    /// The role path: `["platform:grimos#operator", "user:ann"]`.
    pub granted_by: Vec<String>,
}

/// One page of the objects a subject may act on.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct AccessibleObjects {
    /// Objects on which relationships allow the action, by id.
    pub items: Vec<AccessibleObject>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Not `null` when a role grants the action on **every** object of the type: such
    /// objects are not enumerated here (this service does not hold the other services'
    /// lists); `items` then lists only the objects also granted through relationships.
    pub all: Option<AllObjects>,
    /// The revision the answer was made at.
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

/// What may a subject access? The objects of a type on which the subject may do an
/// action through relationships (directly, through groups, nested groups), each with its
/// path, paginated by object; and in `all`, the role path when a role grants the action on
/// every object of the type (those cannot be enumerated here: list them with the type's own
/// endpoint). Roles and relationships only: policies, which may depend on the request's
/// context, are evaluated per check.
#[utoipa::path(
    get, path = "/api/v1/authz/objects", tag = "authz",
    params(ObjectsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AccessibleObjects), CommonErrors)
)]
pub(super) async fn list_accessible_objects(
    State(authz): State<Authz>,
    guard: Guard,
    ApiQuery(query): ApiQuery<ObjectsQuery>,
) -> ApiResult<ApiJson<AccessibleObjects>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let subject = refs::subject(&query.subject, "/subject")?;
    let kind = refs::object_type(&query.kind, "/type")?;
    crate::graph::permission_for(kind, &query.action)
        .map_err(|error| refs::at("/action", error))?;
    let subject = subject_for(&guard, &subject).await?;
    let (objects, all, revision) = authz.objects(&subject, kind, &query.action).await?;
    let rows: Vec<AccessibleObject> = objects
        .into_iter()
        .map(|(object, path)| AccessibleObject {
            object: object.to_string(),
            path,
        })
        .filter(|item| {
            page.after
                .as_deref()
                .is_none_or(|after| item.object.as_str() > after)
        })
        .take(page.fetch_limit() as usize)
        .collect();
    let page = kernel::Page::from_rows(rows, &page, |item| item.object.as_str());
    Ok(ApiJson(AccessibleObjects {
        items: page.items,
        next_cursor: page.next_cursor,
        all: all.map(|granted_by| AllObjects { granted_by }),
        revision: revision.to_string(),
    }))
}

/// `?resource=&action=` of the subject list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubjectsQuery {
    /// The object: `type:id`.
    #[param(
        pattern = r"^(platform:grimos|(connector|mapping|flow|secret|token|user|service|group):[^\x00-\x1F\x7F-\x9F]{1,1024})$"
    )]
    pub resource: String,
    /// The action (one the object's type has; otherwise `422 unknown_action`).
    #[param(schema_with = action_schema)]
    pub action: String,
}

/// A subject that may act on the object, and through what.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct AccessSubject {
    /// A principal (`user:…`, `service:…`) or a userset (`group:sre#member`,
    /// `platform:grimos#admin`: everyone holding that role).
    pub subject: String,
    /// The path from the object to the subject:
    /// `["connector:01a2#viewer", "group:sre#member", "user:ann"]`.
    pub path: Vec<String>,
}

/// Who may act on an object.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct AccessSubjects {
    /// Every principal and userset, sorted; usersets are expanded down to their members.
    pub items: Vec<AccessSubject>,
    /// The revision the answer was made at.
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

/// Who may do an action on an object, and through what: every principal and userset
/// (roles included, as `platform:grimos#<role>`), each with its path. Needs `manage` on the
/// object (its owners, admins) or `manage_access`; an object you may not see is `404`.
/// Roles and relationships only, as for `/objects`.
#[utoipa::path(
    get, path = "/api/v1/authz/subjects", tag = "authz",
    params(SubjectsQuery),
    security(("bearer" = [])),
    responses((status = 200, body = AccessSubjects), NotFound, CommonErrors)
)]
pub(super) async fn list_access_subjects(
    State(authz): State<Authz>,
    guard: Guard,
    ApiQuery(query): ApiQuery<SubjectsQuery>,
) -> ApiResult<ApiJson<AccessSubjects>> {
    let resource = refs::object(&query.resource, "/resource")?;
    crate::graph::permission_for(resource.kind, &query.action)
        .map_err(|error| refs::at("/action", error))?;
    if !guard
        .allows("manage_access", &ObjectRef::platform())
        .await?
    {
        refs::require_manage(&guard, &resource).await?;
    }
    let (subjects, revision) = authz.subjects(&resource, &query.action).await?;
    Ok(ApiJson(AccessSubjects {
        items: subjects
            .into_iter()
            .map(|(subject, path)| AccessSubject {
                subject: subject.to_string(),
                path,
            })
            .collect(),
        revision: revision.to_string(),
    }))
}
