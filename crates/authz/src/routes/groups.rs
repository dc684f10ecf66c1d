//! Groups (`group:<id>`) and their members (`group:<id>#member@subject`).

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiQuery, ApiResult, PageQuery, PageResponse};
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use chrono::{DateTime, Utc};
use http::{StatusCode, header};
use kernel::{Error, ErrorKind};
use storage::{Database, map_sqlx_error, with_conn};
use utoipa::ToSchema;

use super::refs;
use super::relationships::RevisionAnswer;
use crate::guard::{Guard, principal_subject};
use crate::model::{ObjectRef, ObjectType, Relationship, SubjectRef};
use crate::service::{Authorizer as _, Authz, ListScope};
use crate::store::{self, Group};

/// Create a group.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    /// Its id: the group is `group:<id>`, its members `group:<id>#member`. A lower-case
    /// letter or digit, then up to 62 lower-case letters, digits, `_` or `-`.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")]
    pub id: String,
    /// A human name: 1 to 100 characters, not only spaces, no control characters.
    #[schema(
        max_length = 100,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\x00-\x20\x7F-\x9F\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub display_name: String,
    /// What it is for: at most 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// A group just created, and the revision at which its creator became its manager.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct CreatedGroup {
    /// The group.
    #[serde(flatten)]
    pub group: Group,
    /// Pass as `at_least` to a check that must see the creator as manager.
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

/// `{id}` of a group.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GroupPath {
    /// The group's id.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")]
    pub id: String,
}

/// `{id}` and `{subject}` of a membership.
#[derive(Debug, Clone, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct MemberPath {
    /// The group's id.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,62}$")]
    pub id: String,
    /// The member, URL-encoded: `user:<id>`, `service:<id>`, another group's members
    /// `group:<id>#member` (`group%3Asre%23member`), or everyone with a role
    /// `platform:grimos#<role>`.
    #[param(
        pattern = r"^((user|service):[^\x00-\x1F\x7F-\x9F#]{1,1024}|group:[a-z0-9][a-z0-9_-]{0,62}#member|platform:grimos#(admin|operator|viewer|service|member))$"
    )]
    pub subject: String,
}

fn is_group_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_lowercase() || first.is_ascii_digit())
        && id.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A group that does not exist (ids outside the pattern cannot exist either).
fn check_group_id(id: &str) -> Result<ObjectRef, Error> {
    if is_group_id(id) {
        Ok(ObjectRef::new(ObjectType::Group, id))
    } else {
        Err(Error::invalid_field(
            "/id",
            "a group id is a lower-case letter or digit, then up to 62 lower-case letters, \
             digits, _ or -",
        ))
    }
}

fn is_blank_or_has_control(text: &str) -> bool {
    text.trim().is_empty() || text.chars().any(char::is_control)
}

/// Groups the caller may see, by id: all of them for roles that read everything, the
/// groups one is a member or manager of otherwise. Filtered in the query.
#[utoipa::path(
    get, path = "/api/v1/authz/groups", tag = "authz",
    params(PageQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<Group>), CommonErrors)
)]
pub(super) async fn list_groups(
    State(authz): State<Authz>,
    guard: Guard,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<PageResponse<Group>>> {
    let page = query.to_request()?;
    let scope = guard.scope(ObjectType::Group, "view").await?;
    let rows = visible_groups(
        authz.database(),
        &scope,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    Ok(ApiJson(
        kernel::Page::from_rows(rows, &page, |group| group.id.as_str()).into(),
    ))
}

type GroupRow = (
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    Option<String>,
);

async fn visible_groups(
    db: &Database,
    scope: &ListScope,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Group>, Error> {
    let (condition, binds) = scope.sql("id", 3);
    let sql = format!(
        "SELECT id, display_name, description, created_at, created_by FROM authz_groups \
         WHERE ($1 IS NULL OR id > $1) AND {condition} ORDER BY id LIMIT $2"
    );
    let rows: Vec<GroupRow> = with_conn!(db, |conn| {
        let mut query = sqlx::query_as(&sql).bind(after).bind(limit);
        for bind in &binds {
            query = query.bind(bind);
        }
        query.fetch_all(conn).await.map_err(map_sqlx_error)?
    });
    Ok(rows
        .into_iter()
        .map(
            |(id, display_name, description, created_at, created_by)| Group {
                id,
                display_name,
                description,
                created_at,
                created_by,
            },
        )
        .collect())
}

/// Create a group (`manage_access`); its creator becomes its `manager` (adds and removes
/// members). Answers 201 with the group, its `Location` and the revision.
#[utoipa::path(
    post, path = "/api/v1/authz/groups", tag = "authz",
    request_body = CreateGroupRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedGroup, headers(("Location" = String))),
        (status = 409, body = api::Problem, content_type = "application/problem+json",
         description = "A group with this id exists already: `group_exists`"),
        CommonErrors
    )
)]
pub(super) async fn create_group(
    State(authz): State<Authz>,
    guard: Guard,
    ApiJson(request): ApiJson<CreateGroupRequest>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    if !is_group_id(&request.id) {
        errors.push(kernel::FieldError::new(
            "/id",
            "a lower-case letter or digit, then up to 62 lower-case letters, digits, _ or -",
        ));
    }
    if is_blank_or_has_control(&request.display_name) || request.display_name.chars().count() > 100
    {
        errors.push(kernel::FieldError::new(
            "/display_name",
            "1 to 100 characters, not only spaces, without control characters",
        ));
    }
    if request
        .description
        .as_ref()
        .is_some_and(|text| text.chars().count() > 2000)
    {
        errors.push(kernel::FieldError::new(
            "/description",
            "at most 2000 characters",
        ));
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors).into());
    }
    refs::require_manage_access(&guard, "creating a group").await?;
    let group = Group {
        id: request.id,
        display_name: request.display_name,
        description: request.description,
        created_at: Utc::now(),
        created_by: Some(guard.principal().subject.clone()),
    };
    store::create_group(authz.database(), &group).await?;
    let object = ObjectRef::new(ObjectType::Group, group.id.clone());
    let revision = authz
        .write(
            vec![Relationship {
                resource: object,
                relation: "manager".to_owned(),
                subject: principal_subject(guard.principal()),
            }],
            Vec::new(),
            Some(&guard.principal().subject),
        )
        .await?;
    api::audit::record(guard.principal(), "authz.group.create", "group", &group.id);
    let location = format!("/api/v1/authz/groups/{}", group.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(CreatedGroup {
            group,
            revision: revision.to_string(),
        }),
    )
        .into_response())
}

/// One group (its members and managers see it; so do roles that read everything).
#[utoipa::path(
    get, path = "/api/v1/authz/groups/{id}", tag = "authz",
    params(GroupPath),
    security(("bearer" = [])),
    responses((status = 200, body = Group), NotFound, CommonErrors)
)]
pub(super) async fn get_group(
    State(authz): State<Authz>,
    guard: Guard,
    Path(path): Path<GroupPath>,
) -> ApiResult<ApiJson<Group>> {
    let object = check_group_id(&path.id)?;
    guard.require("view", &object).await?;
    Ok(ApiJson(store::get_group(authz.database(), &path.id).await?))
}

/// Delete a group (`delete` on it: admins) and forget its relationships: its members and
/// managers, and every grant to its members. The answer is the revision.
#[utoipa::path(
    delete, path = "/api/v1/authz/groups/{id}", tag = "authz",
    params(GroupPath),
    security(("bearer" = [])),
    responses((status = 200, body = RevisionAnswer), NotFound, CommonErrors)
)]
pub(super) async fn delete_group(
    State(authz): State<Authz>,
    guard: Guard,
    Path(path): Path<GroupPath>,
) -> ApiResult<ApiJson<RevisionAnswer>> {
    let object = check_group_id(&path.id)?;
    guard.require("delete", &object).await?;
    store::delete_group(authz.database(), &path.id).await?;
    let revision = authz.forget(&object).await?;
    api::audit::record(guard.principal(), "authz.group.delete", "group", &path.id);
    Ok(ApiJson(RevisionAnswer {
        revision: revision.to_string(),
    }))
}

/// The direct members and managers of a group.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct GroupMembers {
    /// The subjects holding `member`, sorted: principals and usersets (a nested group's
    /// `group:<id>#member`, which is not expanded here).
    pub items: Vec<String>,
    /// The subjects holding `manager`, sorted.
    pub managers: Vec<String>,
    /// The revision the answer was made at.
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

/// A group's direct members and its managers (whoever may see the group).
#[utoipa::path(
    get, path = "/api/v1/authz/groups/{id}/members", tag = "authz",
    params(GroupPath),
    security(("bearer" = [])),
    responses((status = 200, body = GroupMembers), NotFound, CommonErrors)
)]
pub(super) async fn list_group_members(
    State(authz): State<Authz>,
    guard: Guard,
    Path(path): Path<GroupPath>,
) -> ApiResult<ApiJson<GroupMembers>> {
    let object = check_group_id(&path.id)?;
    guard.require("view", &object).await?;
    store::get_group(authz.database(), &path.id).await?;
    let graph = authz.snapshot()?;
    let sorted = |relation: &str| {
        let mut subjects: Vec<String> = graph
            .holders(&object, relation)
            .map(ToString::to_string)
            .collect();
        subjects.sort();
        subjects
    };
    Ok(ApiJson(GroupMembers {
        items: sorted("member"),
        managers: sorted("manager"),
        revision: graph.revision().to_string(),
    }))
}

/// Read a member of `group` and check that the group (and a nested group) exists and that
/// the caller may manage its members.
async fn membership(
    authz: &Authz,
    guard: &Guard,
    path: &MemberPath,
) -> Result<Relationship, api::ApiError> {
    let object = check_group_id(&path.id)?;
    let subject = member_subject(&path.subject)?;
    guard.require("manage", &object).await?;
    store::get_group(authz.database(), &path.id).await?;
    if subject.object.kind == ObjectType::Group {
        store::get_group(authz.database(), &subject.object.id)
            .await
            .map_err(|_| {
                Error::invalid_field(
                    "/subject",
                    format!("no group {:?}: create it first", subject.object.id),
                )
            })?;
    }
    let tuple = Relationship {
        resource: object,
        relation: "member".to_owned(),
        subject,
    };
    crate::service::validate(&tuple).map_err(|error| refs::at("/subject", error))?;
    Ok(tuple)
}

fn member_subject(text: &str) -> Result<SubjectRef, Error> {
    let subject = refs::subject(text, "/subject")?;
    let allowed = match (&subject.relation, subject.object.kind) {
        (None, ObjectType::User | ObjectType::Service) => true,
        (Some(relation), ObjectType::Group) => {
            relation == "member" && is_group_id(&subject.object.id)
        }
        (Some(relation), ObjectType::Platform) => crate::schema::ROLES.contains(&relation.as_str()),
        _ => false,
    };
    if allowed {
        Ok(subject)
    } else {
        Err(Error::new(
            ErrorKind::Validation,
            "invalid_relationship",
            format!(
                "/subject: {text} cannot be a member: a member is user:<id>, service:<id>, \
                 group:<id>#member or platform:grimos#<role>"
            ),
        ))
    }
}

/// Add a member (`manage` on the group: its managers, admins); idempotent. The answer is
/// the revision (pass it as `at_least` to a check that must see the membership).
#[utoipa::path(
    put, path = "/api/v1/authz/groups/{id}/members/{subject}", tag = "authz",
    params(MemberPath),
    security(("bearer" = [])),
    responses((status = 200, body = RevisionAnswer), NotFound, CommonErrors)
)]
pub(super) async fn add_group_member(
    State(authz): State<Authz>,
    guard: Guard,
    Path(path): Path<MemberPath>,
) -> ApiResult<ApiJson<RevisionAnswer>> {
    let tuple = membership(&authz, &guard, &path).await?;
    let revision = authz
        .write(
            vec![tuple.clone()],
            Vec::new(),
            Some(&guard.principal().subject),
        )
        .await?;
    api::audit::record(
        guard.principal(),
        "authz.group.member.add",
        "group",
        &tuple.to_string(),
    );
    Ok(ApiJson(RevisionAnswer {
        revision: revision.to_string(),
    }))
}

/// Remove a member (`manage` on the group); idempotent. The answer is the revision: a check
/// with `at_least` this revision no longer sees the membership.
#[utoipa::path(
    delete, path = "/api/v1/authz/groups/{id}/members/{subject}", tag = "authz",
    params(MemberPath),
    security(("bearer" = [])),
    responses((status = 200, body = RevisionAnswer), NotFound, CommonErrors)
)]
pub(super) async fn remove_group_member(
    State(authz): State<Authz>,
    guard: Guard,
    Path(path): Path<MemberPath>,
) -> ApiResult<ApiJson<RevisionAnswer>> {
    let tuple = membership(&authz, &guard, &path).await?;
    let revision = authz
        .write(
            Vec::new(),
            vec![tuple.clone()],
            Some(&guard.principal().subject),
        )
        .await?;
    api::audit::record(
        guard.principal(),
        "authz.group.member.remove",
        "group",
        &tuple.to_string(),
    );
    Ok(ApiJson(RevisionAnswer {
        revision: revision.to_string(),
    }))
}
