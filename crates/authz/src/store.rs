//! The authorization tables (migration 0010): relationships, the revision counter and its
//! change log, attributes, groups and versioned policies. SQL both backends accept.

use chrono::{DateTime, Utc};
use kernel::{Error, ErrorKind};
use serde_json::Value;
use storage::{Database, map_sqlx_error, with_conn, with_tx};

use crate::graph::Graph;
use crate::model::{ObjectRef, ObjectType, Relationship, Revision, SubjectRef};

/// One change at a revision, as the change log records it.
#[derive(Debug, Clone)]
pub enum Change {
    /// A relationship was added.
    Write(Relationship),
    /// A relationship was removed.
    Delete(Relationship),
    /// An object's attributes were replaced (`Null`: removed).
    Attributes(ObjectRef, Value),
    /// The policy set changed.
    Policies,
}

#[derive(sqlx::FromRow)]
struct TupleRow {
    object_type: String,
    object_id: String,
    relation: String,
    subject: String,
}

impl TupleRow {
    fn into_relationship(self) -> Result<Relationship, Error> {
        Ok(Relationship {
            resource: ObjectRef::new(self.object_type.parse::<ObjectType>()?, self.object_id),
            relation: self.relation,
            subject: SubjectRef::parse(&self.subject)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    revision: i64,
    operation: String,
    object_type: Option<String>,
    object_id: Option<String>,
    relation: Option<String>,
    subject: Option<String>,
    attributes: Option<String>,
}

impl ChangeRow {
    fn into_change(self) -> Result<Change, Error> {
        let object = || -> Result<ObjectRef, Error> {
            Ok(ObjectRef::new(
                self.object_type.as_deref().unwrap_or_default().parse()?,
                self.object_id.clone().unwrap_or_default(),
            ))
        };
        let tuple = || -> Result<Relationship, Error> {
            Ok(Relationship {
                resource: object()?,
                relation: self.relation.clone().unwrap_or_default(),
                subject: SubjectRef::parse(self.subject.as_deref().unwrap_or_default())?,
            })
        };
        Ok(match self.operation.as_str() {
            "write" => Change::Write(tuple()?),
            "delete" => Change::Delete(tuple()?),
            "attributes" => Change::Attributes(
                object()?,
                match &self.attributes {
                    Some(text) => serde_json::from_str(text).map_err(Error::internal)?,
                    None => Value::Null,
                },
            ),
            _ => Change::Policies,
        })
    }
}

/// The current revision.
pub async fn revision(db: &Database) -> Result<Revision, Error> {
    let revision: i64 = with_conn!(db, |conn| {
        sqlx::query_scalar("SELECT revision FROM authz_revision WHERE id = 1")
            .fetch_one(conn)
            .await
            .map_err(map_sqlx_error)?
    });
    Ok(Revision(revision))
}

/// Every relationship and attribute, at one revision.
pub async fn load(db: &Database) -> Result<Graph, Error> {
    let (revision, tuples, attributes): (i64, Vec<TupleRow>, Vec<(String, String, String)>) =
        with_tx!(db, |tx| {
            let revision = sqlx::query_scalar("SELECT revision FROM authz_revision WHERE id = 1")
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            let tuples = sqlx::query_as(
                "SELECT object_type, object_id, relation, subject FROM authz_tuples",
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            let attributes =
                sqlx::query_as("SELECT object_type, object_id, attributes FROM authz_attributes")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            Ok::<_, Error>((revision, tuples, attributes))
        })?;
    let mut graph = Graph::new(Revision(revision));
    for row in tuples {
        graph.insert(row.into_relationship()?);
    }
    for (kind, id, attributes) in attributes {
        graph.set_attributes(
            ObjectRef::new(kind.parse()?, id),
            serde_json::from_str(&attributes).map_err(Error::internal)?,
        );
    }
    Ok(graph)
}

/// The changes after `after`, in order, and the revision they reach.
pub async fn changes_since(
    db: &Database,
    after: Revision,
) -> Result<(Vec<(Revision, Change)>, Revision), Error> {
    let (rows, revision): (Vec<ChangeRow>, i64) = with_tx!(db, |tx| {
        let revision = sqlx::query_scalar("SELECT revision FROM authz_revision WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let rows = sqlx::query_as(
            "SELECT revision, operation, object_type, object_id, relation, subject, attributes \
             FROM authz_changes WHERE revision > $1 AND revision <= $2 ORDER BY revision",
        )
        .bind(after.0)
        .bind(revision)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        Ok::<_, Error>((rows, revision))
    })?;
    let changes = rows
        .into_iter()
        .map(|row| Ok((Revision(row.revision), row.into_change()?)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok((changes, Revision(revision)))
}

/// Take the next revision inside a transaction.
macro_rules! next_revision {
    ($tx:expr) => {
        sqlx::query_scalar::<_, i64>(
            "UPDATE authz_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision",
        )
        .fetch_one(&mut *$tx)
        .await
        .map_err(map_sqlx_error)
    };
}

/// Record a relationship change in the change log, inside a transaction.
macro_rules! log_change {
    ($tx:expr, $revision:expr, $operation:expr, $tuple:expr) => {
        sqlx::query(
            "INSERT INTO authz_changes (revision, operation, object_type, object_id, relation, \
             subject) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($revision)
        .bind($operation)
        .bind($tuple.resource.kind.as_str())
        .bind(&$tuple.resource.id)
        .bind(&$tuple.relation)
        .bind($tuple.subject.to_string())
        .execute(&mut *$tx)
        .await
        .map_err(map_sqlx_error)
    };
}

/// Apply `writes` and `deletes` in one transaction (idempotent: present tuples are not
/// written twice, absent ones not deleted); the revision they committed at.
pub async fn write(
    db: &Database,
    writes: &[Relationship],
    deletes: &[Relationship],
    by: Option<&str>,
) -> Result<Revision, Error> {
    let now = Utc::now();
    let revision: i64 = with_tx!(db, |tx| {
        let revision = next_revision!(tx)?;
        for tuple in deletes {
            let deleted = sqlx::query(
                "DELETE FROM authz_tuples WHERE object_type = $1 AND object_id = $2 \
                 AND relation = $3 AND subject = $4",
            )
            .bind(tuple.resource.kind.as_str())
            .bind(&tuple.resource.id)
            .bind(&tuple.relation)
            .bind(tuple.subject.to_string())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
            if deleted > 0 {
                log_change!(tx, revision, "delete", tuple)?;
            }
        }
        for tuple in writes {
            let inserted = sqlx::query(
                "INSERT INTO authz_tuples (object_type, object_id, relation, subject, \
                 created_revision, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(tuple.resource.kind.as_str())
            .bind(&tuple.resource.id)
            .bind(&tuple.relation)
            .bind(tuple.subject.to_string())
            .bind(revision)
            .bind(now)
            .bind(by)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
            if inserted > 0 {
                log_change!(tx, revision, "write", tuple)?;
            }
        }
        Ok::<_, Error>(revision)
    })?;
    Ok(Revision(revision))
}

/// Every relationship on `object` and every one naming it (or a userset of it) as subject.
pub async fn relationships_touching(
    db: &Database,
    object: &ObjectRef,
) -> Result<Vec<Relationship>, Error> {
    let rows: Vec<TupleRow> = with_conn!(db, |conn| {
        sqlx::query_as(
            "SELECT object_type, object_id, relation, subject FROM authz_tuples \
             WHERE (object_type = $1 AND object_id = $2) OR subject = $3 \
             OR substr(subject, 1, length($3) + 1) = $3 || '#'",
        )
        .bind(object.kind.as_str())
        .bind(&object.id)
        .bind(object.to_string())
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    rows.into_iter()
        .map(TupleRow::into_relationship)
        .collect::<Result<Vec<_>, _>>()
        .map(|tuples| {
            tuples
                .into_iter()
                .filter(|tuple| tuple.resource == *object || tuple.subject.object == *object)
                .collect()
        })
}

/// Relationships matching the filters, ordered, after `after` (the last key of the previous
/// page), at most `limit`.
pub async fn list_relationships(
    db: &Database,
    filter: &RelationshipFilter,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Relationship>, Error> {
    let rows: Vec<TupleRow> = with_conn!(db, |conn| {
        sqlx::query_as(
            "SELECT object_type, object_id, relation, subject FROM authz_tuples \
             WHERE ($1 IS NULL OR object_type = $1) AND ($2 IS NULL OR object_id = $2) \
             AND ($3 IS NULL OR relation = $3) AND ($4 IS NULL OR subject = $4) \
             AND ($5 IS NULL OR object_type || ':' || object_id || '#' || relation || '@' || subject > $5) \
             ORDER BY object_type || ':' || object_id || '#' || relation || '@' || subject \
             LIMIT $6",
        )
        .bind(filter.resource_type.map(ObjectType::as_str))
        .bind(&filter.resource_id)
        .bind(&filter.relation)
        .bind(filter.subject.as_ref().map(ToString::to_string))
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    rows.into_iter().map(TupleRow::into_relationship).collect()
}

/// Filters of [`list_relationships`].
#[derive(Debug, Clone, Default)]
pub struct RelationshipFilter {
    /// Only on objects of this type.
    pub resource_type: Option<ObjectType>,
    /// Only on the object with this id (with `resource_type`).
    pub resource_id: Option<String>,
    /// Only this relation.
    pub relation: Option<String>,
    /// Only held by this subject.
    pub subject: Option<SubjectRef>,
}

/// Replace the attributes of `object` (`Null` removes them); the new revision.
pub async fn set_attributes(
    db: &Database,
    object: &ObjectRef,
    attributes: &Value,
) -> Result<Revision, Error> {
    let text = (!attributes.is_null()).then(|| attributes.to_string());
    let revision: i64 = with_tx!(db, |tx| {
        let revision = next_revision!(tx)?;
        sqlx::query("DELETE FROM authz_attributes WHERE object_type = $1 AND object_id = $2")
            .bind(object.kind.as_str())
            .bind(&object.id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        if let Some(text) = &text {
            sqlx::query(
                "INSERT INTO authz_attributes (object_type, object_id, attributes, \
                 updated_revision) VALUES ($1, $2, $3, $4)",
            )
            .bind(object.kind.as_str())
            .bind(&object.id)
            .bind(text)
            .bind(revision)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        }
        sqlx::query(
            "INSERT INTO authz_changes (revision, operation, object_type, object_id, attributes) \
             VALUES ($1, 'attributes', $2, $3, $4)",
        )
        .bind(revision)
        .bind(object.kind.as_str())
        .bind(&object.id)
        .bind(&text)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        Ok::<_, Error>(revision)
    })?;
    Ok(Revision(revision))
}

/// A group.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Group {
    /// Its id: the group is `group:<id>`, its members `group:<id>#member`.
    pub id: String,
    /// A human name.
    pub display_name: String,
    /// What it is for.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    display_name: String,
    description: Option<String>,
    created_at: DateTime<Utc>,
    created_by: Option<String>,
}

impl From<GroupRow> for Group {
    fn from(row: GroupRow) -> Self {
        Self {
            id: row.id,
            display_name: row.display_name,
            description: row.description,
            created_at: row.created_at,
            created_by: row.created_by,
        }
    }
}

/// Create a group; `Conflict` when the id is taken.
pub async fn create_group(db: &Database, group: &Group) -> Result<(), Error> {
    with_conn!(db, |conn| {
        sqlx::query(
            "INSERT INTO authz_groups (id, display_name, description, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&group.id)
        .bind(&group.display_name)
        .bind(&group.description)
        .bind(group.created_at)
        .bind(&group.created_by)
        .execute(conn)
        .await
        .map_err(|error| {
            if storage::is_unique_violation(&error) {
                Error::new(
                    ErrorKind::Conflict,
                    "group_exists",
                    format!("a group with id {:?} exists already", group.id),
                )
            } else {
                map_sqlx_error(error)
            }
        })?;
    });
    Ok(())
}

/// Groups ordered by id, after `after`.
pub async fn list_groups(
    db: &Database,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Group>, Error> {
    let rows: Vec<GroupRow> = with_conn!(db, |conn| {
        sqlx::query_as(
            "SELECT id, display_name, description, created_at, created_by FROM authz_groups \
             WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    Ok(rows.into_iter().map(Group::from).collect())
}

/// The group `id`, or `NotFound`.
pub async fn get_group(db: &Database, id: &str) -> Result<Group, Error> {
    let row: Option<GroupRow> = with_conn!(db, |conn| {
        sqlx::query_as(
            "SELECT id, display_name, description, created_at, created_by FROM authz_groups \
             WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    row.map(Group::from)
        .ok_or_else(|| Error::not_found("group", id))
}

/// Delete the group row (its relationships are removed by the caller); `NotFound`.
pub async fn delete_group(db: &Database, id: &str) -> Result<(), Error> {
    let deleted = with_conn!(db, |conn| {
        sqlx::query("DELETE FROM authz_groups WHERE id = $1")
            .bind(id)
            .execute(conn)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected()
    });
    if deleted == 0 {
        return Err(Error::not_found("group", id));
    }
    Ok(())
}

/// A stored policy (its current version).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredPolicy {
    /// Its id (UUIDv7).
    pub id: String,
    /// Its name: the Rego package is `grimos.policies.<name>`.
    pub name: String,
    /// Incremented by every save; sent as the ETag.
    pub version: i64,
    /// The Rego v1 source.
    pub source: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Who last changed it.
    pub updated_by: Option<String>,
}

/// One saved version of a policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct PolicyVersion {
    /// The version number.
    pub version: i64,
    /// The source saved as that version.
    pub source: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// By whom.
    pub created_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: String,
    name: String,
    version: i64,
    source: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<String>,
    updated_by: Option<String>,
}

impl From<PolicyRow> for StoredPolicy {
    fn from(row: PolicyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            version: row.version,
            source: row.source,
            created_at: row.created_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            updated_by: row.updated_by,
        }
    }
}

const POLICY_COLUMNS: &str =
    "id, name, version, source, created_at, updated_at, created_by, updated_by";

/// Every stored policy, by name.
pub async fn list_policies(db: &Database) -> Result<Vec<StoredPolicy>, Error> {
    let rows: Vec<PolicyRow> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {POLICY_COLUMNS} FROM authz_policies ORDER BY name"
        ))
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    Ok(rows.into_iter().map(StoredPolicy::from).collect())
}

/// The policy `id`, or `NotFound`.
pub async fn get_policy(db: &Database, id: &str) -> Result<StoredPolicy, Error> {
    let row: Option<PolicyRow> = with_conn!(db, |conn| {
        sqlx::query_as(&format!(
            "SELECT {POLICY_COLUMNS} FROM authz_policies WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(map_sqlx_error)?
    });
    row.map(StoredPolicy::from)
        .ok_or_else(|| Error::not_found("policy", id))
}

/// The versions of policy `id`, newest first.
pub async fn policy_versions(db: &Database, id: &str) -> Result<Vec<PolicyVersion>, Error> {
    get_policy(db, id).await?;
    Ok(with_conn!(db, |conn| {
        sqlx::query_as(
            "SELECT version, source, created_at, created_by FROM authz_policy_versions \
             WHERE policy_id = $1 ORDER BY version DESC",
        )
        .bind(id)
        .fetch_all(conn)
        .await
        .map_err(map_sqlx_error)?
    }))
}

/// Save a policy: create it (`expected_version` `None`, `Conflict` on a taken name) or
/// change it (`PreconditionFailed` when its version is not `expected_version`). Records the
/// version and bumps the revision; returns the stored policy and the revision.
pub async fn save_policy(
    db: &Database,
    policy: &StoredPolicy,
    expected_version: Option<i64>,
) -> Result<(StoredPolicy, Revision), Error> {
    let revision: i64 = with_tx!(db, |tx| {
        match expected_version {
            None => {
                sqlx::query(&format!(
                    "INSERT INTO authz_policies ({POLICY_COLUMNS}) \
                     VALUES ($1, $2, 1, $3, $4, $4, $5, $5)"
                ))
                .bind(&policy.id)
                .bind(&policy.name)
                .bind(&policy.source)
                .bind(policy.updated_at)
                .bind(&policy.updated_by)
                .execute(&mut *tx)
                .await
                .map_err(|error| {
                    if storage::is_unique_violation(&error) {
                        Error::new(
                            ErrorKind::Conflict,
                            "policy_exists",
                            format!("a policy named {:?} exists already", policy.name),
                        )
                    } else {
                        map_sqlx_error(error)
                    }
                })?;
            }
            Some(expected) => {
                let updated = sqlx::query(
                    "UPDATE authz_policies SET source = $1, version = version + 1, \
                     updated_at = $2, updated_by = $3 WHERE id = $4 AND version = $5",
                )
                .bind(&policy.source)
                .bind(policy.updated_at)
                .bind(&policy.updated_by)
                .bind(&policy.id)
                .bind(expected)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?
                .rows_affected();
                if updated == 0 {
                    return Err(Error::new(
                        ErrorKind::PreconditionFailed,
                        "precondition_failed",
                        format!(
                            "policy {:?} is not at version {expected} any more; fetch it again",
                            policy.name
                        ),
                    ));
                }
            }
        }
        sqlx::query(
            "INSERT INTO authz_policy_versions (policy_id, version, source, created_at, \
             created_by) SELECT id, version, source, updated_at, updated_by \
             FROM authz_policies WHERE id = $1",
        )
        .bind(&policy.id)
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        let revision = next_revision!(tx)?;
        sqlx::query("INSERT INTO authz_changes (revision, operation) VALUES ($1, 'policies')")
            .bind(revision)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        Ok::<_, Error>(revision)
    })?;
    Ok((get_policy(db, &policy.id).await?, Revision(revision)))
}

/// Delete a policy and its versions; the new revision. `NotFound`.
pub async fn delete_policy(db: &Database, id: &str) -> Result<Revision, Error> {
    let revision: i64 = with_tx!(db, |tx| {
        let deleted = sqlx::query("DELETE FROM authz_policies WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::not_found("policy", id));
        }
        sqlx::query("DELETE FROM authz_policy_versions WHERE policy_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let revision = next_revision!(tx)?;
        sqlx::query("INSERT INTO authz_changes (revision, operation) VALUES ($1, 'policies')")
            .bind(revision)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        Ok::<_, Error>(revision)
    })?;
    Ok(Revision(revision))
}
