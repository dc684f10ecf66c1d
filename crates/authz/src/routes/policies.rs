//! Rego policies: stored with versions, compiled and tested before they are saved, a dry
//! run of a draft against given inputs. Every route needs `manage_access`.

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiQuery, ApiResult, IfMatch, PageQuery, PageResponse, Problem, with_etag};
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use chrono::Utc;
use http::{StatusCode, header};
use kernel::{Error, FieldError};
use serde_json::Value;
use utoipa::ToSchema;

use super::refs::require_manage_access;
use crate::guard::Guard;
use crate::policy::{self, PolicyError, PolicySet, PolicySource, TestOutcome};
use crate::service::Authz;
use crate::store::{self, PolicyVersion, StoredPolicy};

/// The most inputs one dry run may evaluate.
pub const MAX_DRY_RUN_INPUTS: usize = 1000;
/// The longest policy source accepted, in characters.
pub const MAX_SOURCE: usize = 65_536;

/// Save a new policy.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePolicyRequest {
    /// Its name: its package must be `grimos.policies.<name>`.
    #[schema(pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub name: String,
    /// The Rego v1 source: `package grimos.policies.<name>`, rules
    /// `deny contains msg if { ... }`, tests `test_* if { ... }` (see
    /// `docs/authorization.md`).
    #[schema(min_length = 1, max_length = 65536)]
    pub source: String,
}

/// Replace a policy's source (its name, and so its package, stay).
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePolicyRequest {
    /// The new Rego v1 source.
    #[schema(min_length = 1, max_length = 65536)]
    pub source: String,
}

/// A policy just saved, and the revision from which decisions use it.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct SavedPolicy {
    /// The policy.
    #[serde(flatten)]
    pub policy: StoredPolicy,
    /// Decisions at this revision or later use it (pass as `at_least`).
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

/// The outcome of one `test_*` rule.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct PolicyTestResult {
    /// The policy.
    pub policy: String,
    /// The test, as `opa test` names it: `grimos.policies.<name>.test_…`.
    pub test: String,
    /// Whether it evaluated to `true`.
    pub passed: bool,
    /// Why it failed: `false`, `undefined`, another value, or the evaluation error.
    pub error: Option<String>,
}

impl From<TestOutcome> for PolicyTestResult {
    fn from(outcome: TestOutcome) -> Self {
        Self {
            test: outcome.full_name(),
            policy: outcome.policy,
            passed: outcome.passed,
            error: outcome.error,
        }
    }
}

/// The `422 policy_invalid` answer: a problem document with where the source is wrong, or
/// which of its tests failed.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct PolicyProblem {
    /// `urn:grimos:problem:policy_invalid` (or `urn:grimos:problem:validation_failed` for a
    /// body that does not match the schema, without the members below).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// `Unprocessable Entity`.
    pub title: String,
    /// 422.
    pub status: u16,
    /// What is wrong, with the line and column.
    pub detail: String,
    /// `policy_invalid`.
    pub code: String,
    /// The same at `/source`: `line L, column C: message`.
    pub errors: Vec<FieldError>,
    /// The policy at fault (another stored policy when the draft breaks it).
    pub policy: Option<String>,
    /// The 1-based line of the error (0 when unknown); absent when tests failed.
    pub line: Option<u32>,
    /// The 1-based column of the error (0 when unknown); absent when tests failed.
    pub column: Option<u32>,
    /// The tests that failed (when the source compiles but its tests do not pass).
    pub failed_tests: Option<Vec<PolicyTestResult>>,
    /// The request's id.
    pub request_id: Option<String>,
    /// The request's trace id.
    pub trace_id: Option<String>,
}

/// Why a policy change was refused.
enum Refusal {
    /// It does not compile (or breaks the set).
    Invalid(PolicyError),
    /// Its tests fail.
    TestsFail(String, Vec<PolicyTestResult>),
    /// Something else.
    Error(Error),
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Refusal::Error(error)
    }
}

impl Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Error(error) => api::ApiError(error).into_response(),
            Refusal::Invalid(error) => {
                let detail = Error::from(error.clone()).message().to_owned();
                let mut problem =
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid", detail);
                let at = match error.line {
                    0 => String::new(),
                    line => format!("line {line}, column {}: ", error.column),
                };
                problem.errors = vec![FieldError::new("/source", format!("{at}{}", error.message))];
                problem
                    .extensions
                    .insert("policy".into(), Value::String(error.policy));
                problem
                    .extensions
                    .insert("line".into(), Value::from(error.line));
                problem
                    .extensions
                    .insert("column".into(), Value::from(error.column));
                problem.into_response()
            }
            Refusal::TestsFail(name, failed) => {
                let names: Vec<&str> = failed.iter().map(|test| test.test.as_str()).collect();
                let mut problem = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "policy_invalid",
                    format!(
                        "policy {name:?} compiles but {} of its tests fail: {}; nothing was saved",
                        failed.len(),
                        names.join(", ")
                    ),
                );
                problem.errors = failed
                    .iter()
                    .map(|test| {
                        FieldError::new(
                            "/source",
                            format!(
                                "{} fails: {}",
                                test.test,
                                test.error.as_deref().unwrap_or("false")
                            ),
                        )
                    })
                    .collect();
                problem
                    .extensions
                    .insert("policy".into(), Value::String(name));
                problem.extensions.insert(
                    "failed_tests".into(),
                    serde_json::to_value(&failed).unwrap_or_default(),
                );
                problem.into_response()
            }
        }
    }
}

async fn stored_sources(authz: &Authz) -> Result<Vec<PolicySource>, Error> {
    Ok(store::list_policies(authz.database())
        .await?
        .into_iter()
        .map(|policy| PolicySource::new(policy.name, policy.version, policy.source))
        .collect())
}

/// The stored policies with `changed` in place of its namesake and without `removed`,
/// compiled: what saving the change would produce.
async fn compile_with(
    authz: &Authz,
    changed: Option<PolicySource>,
    removed: Option<&str>,
) -> Result<PolicySet, Refusal> {
    let mut sources = stored_sources(authz).await?;
    sources.retain(|source| Some(source.name.as_str()) != removed);
    if let Some(changed) = changed {
        sources.retain(|source| source.name != changed.name);
        sources.push(changed);
    }
    PolicySet::compile(sources).map_err(Refusal::Invalid)
}

/// Compile the set with `changed` and run the tests of `changed`: refuse when one fails.
async fn compile_and_test(authz: &Authz, changed: PolicySource) -> Result<(), Refusal> {
    let name = changed.name.clone();
    let set = compile_with(authz, Some(changed), None).await?;
    let failed: Vec<PolicyTestResult> = set
        .run_tests()
        .into_iter()
        .filter(|outcome| outcome.policy == name && !outcome.passed)
        .map(PolicyTestResult::from)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Refusal::TestsFail(name, failed))
    }
}

fn check_source(source: &str) -> Result<(), Error> {
    if source.is_empty() || source.chars().count() > MAX_SOURCE {
        return Err(Error::invalid_field(
            "/source",
            format!("1 to {MAX_SOURCE} characters of Rego"),
        ));
    }
    Ok(())
}

/// The stored policies (current versions), by name.
#[utoipa::path(
    get, path = "/api/v1/authz/policies", tag = "authz",
    params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<StoredPolicy>), CommonErrors)
)]
pub(super) async fn list_policies(
    State(authz): State<Authz>,
    guard: Guard,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<PageResponse<StoredPolicy>>> {
    let page = query.to_request()?;
    require_manage_access(&guard, "reading policies").await?;
    let mut policies = store::list_policies(authz.database()).await?;
    // Byte order, as the cursor compares (a database collation may order `_` otherwise).
    policies.sort_by(|left, right| left.name.cmp(&right.name));
    let rows: Vec<StoredPolicy> = policies
        .into_iter()
        .filter(|policy| {
            page.after
                .as_deref()
                .is_none_or(|after| policy.name.as_str() > after)
        })
        .take(page.fetch_limit() as usize)
        .collect();
    Ok(ApiJson(
        kernel::Page::from_rows(rows, &page, |policy| policy.name.as_str()).into(),
    ))
}

/// Save a new policy. It is compiled with the stored ones first: a policy that does not
/// compile (or breaks another) answers `422 policy_invalid` with the line and column, and
/// its `test_*` rules run: when one fails, `422 policy_invalid` lists them. Either way
/// nothing is saved. Decisions use a saved policy at once (from the revision answered).
#[utoipa::path(
    post, path = "/api/v1/authz/policies", tag = "authz",
    request_body = CreatePolicyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = SavedPolicy, headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = api::Problem, content_type = "application/problem+json",
         description = "A policy with this name exists already: `policy_exists`"),
        CommonErrors,
        (status = 422, body = PolicyProblem, content_type = "application/problem+json",
         description = "The source does not compile, or its tests fail (`policy_invalid`, with `line` and `column` or `failed_tests`); or the body does not match the schema (`validation_failed`)"),
    )
)]
pub(super) async fn create_policy(
    State(authz): State<Authz>,
    guard: Guard,
    ApiJson(request): ApiJson<CreatePolicyRequest>,
) -> ApiResult<Response> {
    require_manage_access(&guard, "saving policies").await?;
    policy::validate_name(&request.name)
        .map_err(|error| Error::invalid_field("/name", error.message))?;
    check_source(&request.source)?;
    let changed = PolicySource::new(request.name.clone(), 1, request.source.clone());
    if let Err(refusal) = compile_and_test(&authz, changed).await {
        return Ok(refusal.into_response());
    }
    let now = Utc::now();
    let by = Some(guard.principal().subject.clone());
    let (saved, revision) = store::save_policy(
        authz.database(),
        &StoredPolicy {
            id: kernel::new_id(),
            name: request.name,
            version: 1,
            source: request.source,
            created_at: now,
            updated_at: now,
            created_by: by.clone(),
            updated_by: by,
        },
        None,
    )
    .await?;
    authz.refresh().await?;
    api::audit::record(
        guard.principal(),
        "authz.policy.create",
        "policy",
        &saved.id,
    );
    let location = format!("/api/v1/authz/policies/{}", saved.id);
    Ok(with_etag(
        saved.version,
        (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            ApiJson(SavedPolicy {
                policy: saved,
                revision: revision.to_string(),
            }),
        ),
    ))
}

/// A policy with its `ETag` (its version).
#[utoipa::path(
    get, path = "/api/v1/authz/policies/{id}", tag = "authz",
    params(("id" = String, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses((status = 200, body = StoredPolicy, headers(("ETag" = String))), NotFound, CommonErrors)
)]
pub(super) async fn get_policy(
    State(authz): State<Authz>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    require_manage_access(&guard, "reading policies").await?;
    let policy = store::get_policy(authz.database(), &id).await?;
    Ok(with_etag(policy.version, ApiJson(policy)))
}

/// Replace a policy's source (a new version). Send `If-Match` with the ETag you read (412
/// if it changed meanwhile). Compiled and tested first, as on create; nothing changes
/// when it is refused.
#[utoipa::path(
    put, path = "/api/v1/authz/policies/{id}", tag = "authz",
    params(("id" = String, Path, description = "Policy id"), api::IfMatchHeader),
    request_body = UpdatePolicyRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SavedPolicy, headers(("ETag" = String))),
        (status = 412, body = api::Problem, content_type = "application/problem+json",
         description = "The If-Match version is stale: `precondition_failed`"),
        NotFound,
        CommonErrors,
        (status = 422, body = PolicyProblem, content_type = "application/problem+json",
         description = "The source does not compile, or its tests fail (`policy_invalid`, with `line` and `column` or `failed_tests`); or the body does not match the schema (`validation_failed`)"),
    )
)]
pub(super) async fn update_policy(
    State(authz): State<Authz>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
    ApiJson(request): ApiJson<UpdatePolicyRequest>,
) -> ApiResult<Response> {
    require_manage_access(&guard, "saving policies").await?;
    check_source(&request.source)?;
    let current = store::get_policy(authz.database(), &id).await?;
    if_match.check(current.version)?;
    let changed = PolicySource::new(
        current.name.clone(),
        current.version + 1,
        request.source.clone(),
    );
    if let Err(refusal) = compile_and_test(&authz, changed).await {
        return Ok(refusal.into_response());
    }
    let (saved, revision) = store::save_policy(
        authz.database(),
        &StoredPolicy {
            source: request.source,
            updated_at: Utc::now(),
            updated_by: Some(guard.principal().subject.clone()),
            ..current.clone()
        },
        Some(if_match.0.unwrap_or(current.version)),
    )
    .await?;
    authz.refresh().await?;
    api::audit::record(
        guard.principal(),
        "authz.policy.update",
        "policy",
        &saved.id,
    );
    Ok(with_etag(
        saved.version,
        ApiJson(SavedPolicy {
            policy: saved,
            revision: revision.to_string(),
        }),
    ))
}

/// Delete a policy and its versions (`If-Match` as on update). Decisions stop using it at
/// once. Refused with `422 policy_invalid` when the other policies do not compile without
/// it (one imports it).
#[utoipa::path(
    delete, path = "/api/v1/authz/policies/{id}", tag = "authz",
    params(("id" = String, Path, description = "Policy id"), api::IfMatchHeader),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 412, body = api::Problem, content_type = "application/problem+json",
         description = "The If-Match version is stale: `precondition_failed`"),
        NotFound,
        CommonErrors,
        (status = 422, body = PolicyProblem, content_type = "application/problem+json",
         description = "The remaining policies do not compile without it: `policy_invalid`"),
    )
)]
pub(super) async fn delete_policy(
    State(authz): State<Authz>,
    guard: Guard,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> ApiResult<Response> {
    require_manage_access(&guard, "deleting policies").await?;
    let current = store::get_policy(authz.database(), &id).await?;
    if_match.check(current.version)?;
    if let Err(refusal) = compile_with(&authz, None, Some(&current.name)).await {
        return Ok(refusal.into_response());
    }
    store::delete_policy(authz.database(), &id).await?;
    authz.refresh().await?;
    api::audit::record(guard.principal(), "authz.policy.delete", "policy", &id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Every saved version of a policy, newest first.
#[utoipa::path(
    get, path = "/api/v1/authz/policies/{id}/versions", tag = "authz",
    params(("id" = String, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<PolicyVersion>), NotFound, CommonErrors)
)]
pub(super) async fn list_policy_versions(
    State(authz): State<Authz>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<PageResponse<PolicyVersion>>> {
    require_manage_access(&guard, "reading policies").await?;
    Ok(ApiJson(PageResponse {
        items: store::policy_versions(authz.database(), &id).await?,
        next_cursor: None,
    }))
}

/// The outcome of a policy's tests.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct PolicyTestReport {
    /// Whether every test passed (true when there are none).
    pub passed: bool,
    /// Each `test_*` rule, in source order.
    pub tests: Vec<PolicyTestResult>,
}

/// Run the stored policy's `test_*` rules (with the other stored policies loaded).
#[utoipa::path(
    post, path = "/api/v1/authz/policies/{id}/test", tag = "authz",
    params(("id" = String, Path, description = "Policy id")),
    security(("bearer" = [])),
    responses((status = 200, body = PolicyTestReport), NotFound, CommonErrors)
)]
pub(super) async fn test_policy(
    State(authz): State<Authz>,
    guard: Guard,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    require_manage_access(&guard, "testing policies").await?;
    let policy = store::get_policy(authz.database(), &id).await?;
    let set = match compile_with(&authz, None, None).await {
        Ok(set) => set,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    let tests: Vec<PolicyTestResult> = set
        .run_tests()
        .into_iter()
        .filter(|outcome| outcome.policy == policy.name)
        .map(PolicyTestResult::from)
        .collect();
    Ok(ApiJson(PolicyTestReport {
        passed: tests.iter().all(|test| test.passed),
        tests,
    })
    .into_response())
}

/// A draft to evaluate and the inputs to evaluate it on.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRunRequest {
    /// The draft's name (default: read from its `package grimos.policies.<name>` line); it
    /// takes the place of the stored policy of that name, if any.
    #[serde(default)]
    #[schema(pattern = "^[a-z][a-z0-9_]{0,62}$")]
    pub name: Option<String>,
    /// The draft's Rego v1 source; without it, the stored policies are evaluated as they
    /// are.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 65536)]
    pub source: Option<String>,
    /// Decision inputs, each a document as the decision point builds it:
    /// `{subject: {id, kind, roles, groups, attributes}, action, resource: {type, id,
    /// owner, attributes}, context: {time, ip, request_id}, relationship: {allowed, path}}`.
    #[schema(max_items = 1000, value_type = Vec<std::collections::HashMap<String, Value>>)]
    pub inputs: Vec<serde_json::Map<String, Value>>,
}

/// One denial.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct DenialView {
    /// The policy.
    pub policy: String,
    /// Its rule: `grimos.policies.<name>.deny`.
    pub rule: String,
    /// The line of the `deny` rule that produced it.
    pub line: u32,
    /// The message.
    pub message: String,
}

/// The outcome for one input.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct DryRunResult {
    /// Whether a policy denies (an allowing role or relationship would be overridden).
    pub denied: bool,
    /// Every denial, in policy order.
    pub denials: Vec<DenialView>,
    /// Why the input could not be evaluated (`denied` is then true, as the decision point
    /// refuses what it cannot evaluate).
    pub error: Option<String>,
}

/// The outcomes of a dry run.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct DryRunReport {
    /// The policies evaluated, by name.
    pub policies: Vec<String>,
    /// One per input, in order.
    pub results: Vec<DryRunResult>,
}

/// The `<name>` of the first `package grimos.policies.<name>` line.
fn package_name(source: &str) -> Option<String> {
    source.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("package")?;
        let path = rest.trim();
        let name = path.strip_prefix(&format!("{}.", policy::PACKAGE_PREFIX))?;
        Some(name.split_whitespace().next()?.to_owned())
    })
}

/// Evaluate a draft policy (in place of its stored namesake) with the stored ones against
/// decision inputs, saving nothing: per input, the denials. Without a draft, the stored
/// policies are evaluated. A draft that does not compile answers `422 policy_invalid` with
/// its line and column.
#[utoipa::path(
    post, path = "/api/v1/authz/policies/dry-run", tag = "authz",
    request_body = DryRunRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = DryRunReport),
        CommonErrors,
        (status = 422, body = PolicyProblem, content_type = "application/problem+json",
         description = "The draft does not compile (`policy_invalid`, with `line` and `column`); or the body does not match the schema (`validation_failed`)"),
    )
)]
pub(super) async fn dry_run_policies(
    State(authz): State<Authz>,
    guard: Guard,
    ApiJson(request): ApiJson<DryRunRequest>,
) -> ApiResult<Response> {
    require_manage_access(&guard, "evaluating policies").await?;
    if request.inputs.len() > MAX_DRY_RUN_INPUTS {
        return Err(Error::invalid_field(
            "/inputs",
            format!(
                "at most {MAX_DRY_RUN_INPUTS} inputs ({} given)",
                request.inputs.len()
            ),
        )
        .into());
    }
    if let Some(name) = &request.name {
        policy::validate_name(name)
            .map_err(|error| Error::invalid_field("/name", error.message))?;
    }
    let draft = match &request.source {
        Some(source) => {
            check_source(source)?;
            let name = match &request.name {
                Some(name) => name.clone(),
                None => package_name(source).ok_or_else(|| {
                    Error::invalid_field(
                        "/name",
                        format!(
                            "give the draft's name, or declare package {}.<name>",
                            policy::PACKAGE_PREFIX
                        ),
                    )
                })?,
            };
            policy::validate_name(&name)
                .map_err(|error| Error::invalid_field("/name", error.message))?;
            Some(PolicySource::new(name, 0, source.clone()))
        }
        None => None,
    };
    let set = match compile_with(&authz, draft, None).await {
        Ok(set) => set,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    let results = request
        .inputs
        .into_iter()
        .map(|input| match set.denials(&Value::Object(input)) {
            Ok(denials) => DryRunResult {
                denied: !denials.is_empty(),
                denials: denials
                    .into_iter()
                    .map(|denial| DenialView {
                        policy: denial.policy,
                        rule: denial.rule,
                        line: denial.line,
                        message: denial.message,
                    })
                    .collect(),
                error: None,
            },
            Err(error) => DryRunResult {
                denied: true,
                denials: Vec::new(),
                error: Some(error.message().to_owned()),
            },
        })
        .collect();
    Ok(ApiJson(DryRunReport {
        policies: set
            .sources()
            .iter()
            .map(|source| source.name.clone())
            .collect(),
        results,
    })
    .into_response())
}
