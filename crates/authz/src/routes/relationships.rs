//! Relationship tuples: write and delete them (all or nothing), list them.

use std::collections::BTreeSet;

use api::openapi::{CommonErrors, NotFound};
use api::{ApiJson, ApiQuery, ApiResult, PageResponse};
use axum::extract::State;
use kernel::{Error, PageRequest};
use utoipa::ToSchema;

use super::refs::{self, object_type_schema, relation_schema};
use crate::guard::Guard;
use crate::model::{ObjectRef, Relationship};
use crate::service::{self, Authorizer as _, Authz};
use crate::store::{self, RelationshipFilter};

/// The most writes, and the most deletes, one request may hold.
pub const MAX_CHANGES: usize = 1000;

/// One relationship: `resource#relation@subject`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationshipBody {
    /// The object the relation is on: `type:id`.
    #[schema(
        pattern = r"^(platform:grimos|(connector|mapping|flow|secret|token|user|service|group):[^\x00-\x1F\x7F-\x9F]{1,1024})$"
    )]
    pub resource: String,
    /// The relation; which ones each type has is in `docs/authorization.md` (a connector:
    /// owner, editor, viewer; a group: member, manager; `platform:grimos`: the roles). A
    /// relation the type does not have is `422 invalid_relationship`.
    #[schema(schema_with = relation_schema)]
    pub relation: String,
    /// Who holds it: `user:<id>`, `service:<id>`, `group:<id>#member`, or
    /// `platform:grimos#<role>` (everyone with that role).
    #[schema(
        pattern = r"^((user|service):[^\x00-\x1F\x7F-\x9F#]{1,1024}|(platform:grimos|(connector|mapping|flow|secret|token|group):[^\x00-\x1F\x7F-\x9F]{1,1024})#[a-z][a-z0-9_]{0,63})$"
    )]
    pub subject: String,
}

impl From<&Relationship> for RelationshipBody {
    fn from(tuple: &Relationship) -> Self {
        Self {
            resource: tuple.resource.to_string(),
            relation: tuple.relation.clone(),
            subject: tuple.subject.to_string(),
        }
    }
}

/// Relationships to add and to remove, in one change.
#[derive(Debug, Clone, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelationshipChanges {
    /// Add these (present ones stay as they are).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub writes: Vec<RelationshipBody>,
    /// Remove these (absent ones are ignored).
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub deletes: Vec<RelationshipBody>,
}

/// The revision a change committed at.
#[derive(Debug, Clone, serde::Serialize, ToSchema)]
pub struct RevisionAnswer {
    /// Pass as `at_least` to a check that must see the change.
    #[schema(pattern = "^[0-9]+$")]
    pub revision: String,
}

fn read(body: &RelationshipBody, pointer: &str) -> Result<Relationship, Error> {
    let resource = refs::object(&body.resource, &format!("{pointer}/resource"))?;
    let subject = refs::subject(&body.subject, &format!("{pointer}/subject"))?;
    let tuple = Relationship {
        resource,
        relation: body.relation.clone(),
        subject,
    };
    service::validate(&tuple).map_err(|error| refs::at(&format!("{pointer}/relation"), error))?;
    Ok(tuple)
}

/// Add and remove relationships in one transaction; the answer is the revision it
/// committed at (pass it as `at_least` to a check that must see it). Idempotent: a present
/// relationship is not written twice, an absent one not deleted. All or nothing: every
/// relationship is read and checked against the schema, and the caller's right to change
/// each object is checked, before anything is written — `manage` on the object (its owners,
/// admins; a group's managers for its members), `manage_access` for the roles on
/// `platform:grimos` and for tokens and users. The first refusal answers (`422`, `403`, or
/// `404` for an object you may not see) and nothing changes.
#[utoipa::path(
    post, path = "/api/v1/authz/relationships", tag = "authz",
    request_body = RelationshipChanges,
    security(("bearer" = [])),
    responses((status = 200, body = RevisionAnswer), NotFound, CommonErrors)
)]
pub(super) async fn write_relationships(
    State(authz): State<Authz>,
    guard: Guard,
    ApiJson(body): ApiJson<RelationshipChanges>,
) -> ApiResult<ApiJson<RevisionAnswer>> {
    for (name, list) in [("writes", &body.writes), ("deletes", &body.deletes)] {
        if list.len() > MAX_CHANGES {
            return Err(Error::invalid_field(
                format!("/{name}"),
                format!("at most {MAX_CHANGES} per request ({} given)", list.len()),
            )
            .into());
        }
    }
    let writes = body
        .writes
        .iter()
        .enumerate()
        .map(|(index, tuple)| read(tuple, &format!("/writes/{index}")))
        .collect::<Result<Vec<_>, _>>()?;
    let deletes = body
        .deletes
        .iter()
        .enumerate()
        .map(|(index, tuple)| read(tuple, &format!("/deletes/{index}")))
        .collect::<Result<Vec<_>, _>>()?;
    if !guard
        .allows("manage_access", &ObjectRef::platform())
        .await?
    {
        let objects: BTreeSet<&ObjectRef> = writes
            .iter()
            .chain(&deletes)
            .map(|tuple| &tuple.resource)
            .collect();
        for object in objects {
            refs::require_manage(&guard, object).await?;
        }
    }
    let revision = authz
        .write(
            writes.clone(),
            deletes.clone(),
            Some(&guard.principal().subject),
        )
        .await?;
    for tuple in &writes {
        api::audit::record(
            guard.principal(),
            "authz.relationship.write",
            "relationship",
            &tuple.to_string(),
        );
    }
    for tuple in &deletes {
        api::audit::record(
            guard.principal(),
            "authz.relationship.delete",
            "relationship",
            &tuple.to_string(),
        );
    }
    Ok(ApiJson(RevisionAnswer {
        revision: revision.to_string(),
    }))
}

/// Filters and pages of the relationship list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RelationshipQuery {
    /// Only on objects of this type.
    #[param(schema_with = object_type_schema)]
    pub resource_type: Option<String>,
    /// Only on the object with this id (with `resource_type`).
    #[param(pattern = r"^[^\x00-\x1F\x7F-\x9F]{1,1024}$")]
    pub resource_id: Option<String>,
    /// Only this relation.
    #[param(schema_with = relation_schema)]
    pub relation: Option<String>,
    /// Only held by this subject.
    #[param(
        pattern = r"^((user|service):[^\x00-\x1F\x7F-\x9F#]{1,1024}|(platform:grimos|(connector|mapping|flow|secret|token|group):[^\x00-\x1F\x7F-\x9F]{1,1024})#[a-z][a-z0-9_]{0,63})$"
    )]
    pub subject: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (empty: the first page).
    #[param(pattern = "^[A-Za-z0-9_-]*$", format = "grimos-cursor")]
    pub cursor: Option<String>,
}

/// The stored relationships matching the filters, ordered by `resource#relation@subject`.
/// Callers who may `manage_access` see all of them; anyone else must name one object
/// (`resource_type` and `resource_id`) they may `manage` (its owners; a group's managers),
/// and sees that object's relationships.
#[utoipa::path(
    get, path = "/api/v1/authz/relationships", tag = "authz",
    params(RelationshipQuery),
    security(("bearer" = [])),
    responses((status = 200, body = PageResponse<RelationshipBody>), NotFound, CommonErrors)
)]
pub(super) async fn list_relationships(
    State(authz): State<Authz>,
    guard: Guard,
    ApiQuery(query): ApiQuery<RelationshipQuery>,
) -> ApiResult<ApiJson<PageResponse<RelationshipBody>>> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let resource_type = query
        .resource_type
        .as_deref()
        .map(|kind| refs::object_type(kind, "/resource_type"))
        .transpose()?;
    if query.resource_id.is_some() && resource_type.is_none() {
        return Err(Error::invalid_field(
            "/resource_id",
            "give resource_type with resource_id (an id is unique within its type only)",
        )
        .into());
    }
    let resource = match (resource_type, &query.resource_id) {
        (Some(kind), Some(id)) => Some(refs::object(&format!("{kind}:{id}"), "/resource_id")?),
        _ => None,
    };
    if let Some(relation) = &query.relation
        && !refs::relations().contains(&relation.as_str())
    {
        return Err(Error::invalid_field(
            "/relation",
            format!(
                "unknown relation; the relations are: {}",
                refs::relations().join(", ")
            ),
        )
        .into());
    }
    let subject = query
        .subject
        .as_deref()
        .map(|text| refs::subject(text, "/subject"))
        .transpose()?;
    if !guard
        .allows("manage_access", &ObjectRef::platform())
        .await?
    {
        match &resource {
            Some(resource) => refs::require_manage(&guard, resource).await?,
            None => {
                refs::require_manage_access(
                    &guard,
                    "listing relationships without naming one object you manage \
                     (resource_type and resource_id)",
                )
                .await?;
            }
        }
    }
    let filter = RelationshipFilter {
        resource_type,
        resource_id: query.resource_id,
        relation: query.relation,
        subject,
    };
    let rows = store::list_relationships(
        authz.database(),
        &filter,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let rows: Vec<(String, RelationshipBody)> = rows
        .iter()
        .map(|tuple| (tuple.to_string(), RelationshipBody::from(tuple)))
        .collect();
    let page = kernel::Page::from_rows(rows, &page, |(key, _)| key.as_str());
    Ok(ApiJson(PageResponse {
        items: page.items.into_iter().map(|(_, body)| body).collect(),
        next_cursor: page.next_cursor,
    }))
}
