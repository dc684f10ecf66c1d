//! The decision point: [`Authorizer`], the one trait every service asks, and [`Authz`],
//! its implementation over the database, the in-memory graph and the compiled policies.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use kernel::{Error, ErrorKind};
use serde_json::{Value, json};
use storage::Database;

use crate::graph::{Grant, Graph, Subject, permission_for};
use crate::model::{ObjectRef, ObjectType, Relationship, Revision, SubjectRef};
use crate::policy::{PolicySet, PolicySource, RegoValue};
use crate::schema;
use crate::store::{self, Change};

/// Where and when a request is made: the policies' `context`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// When (now, unless a dry run says otherwise).
    pub time: Option<DateTime<Utc>>,
    /// The caller's address.
    pub ip: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// Anything else the caller adds (`POST /authz/check` `context`).
    pub extra: serde_json::Map<String, Value>,
}

/// One question: may `subject` do `action` on `resource`?
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// Who.
    pub subject: Subject,
    /// What (`view`, `edit`, `run`, `use`, …; see the schema).
    pub action: String,
    /// On what.
    pub resource: ObjectRef,
    /// Where and when.
    pub context: Context,
    /// Evaluate at this revision or later (a write's consistency token).
    pub at_least: Option<Revision>,
}

/// What kind of reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// A role (a relation on `platform:grimos`) grants the action on every object.
    Role,
    /// A chain of relationships grants it on this object.
    Relationship,
    /// Neither a role nor a relationship grants it.
    NoGrant,
    /// A policy's `deny` rule refused it.
    Policy,
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Reason {
    /// What kind of reason.
    pub kind: ReasonKind,
    /// In one line: `flow:42#viewer ← group:sre#member ← user:ann`.
    pub summary: String,
    /// The relation path, from the object to the subject.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<String>,
    /// The policy that denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The rule of that policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// The answer, with its reasons and the revision it was made at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// Why: the grant that allowed it, or what refused it.
    pub reasons: Vec<Reason>,
    /// The revision of relationships and policies the decision was made at.
    #[schema(value_type = String, pattern = "^[0-9]+$")]
    #[serde(serialize_with = "serialize_revision")]
    pub revision: Revision,
}

fn serialize_revision<S: serde::Serializer>(
    revision: &Revision,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(revision)
}

impl Decision {
    /// The reasons in one line, for messages and logs.
    pub fn summary(&self) -> String {
        self.reasons
            .iter()
            .map(|reason| reason.summary.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Which objects of a type a subject may list, as a condition a store adds to its query
/// (so that pagination stays correct).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// A role grants the action on every object of the type.
    All,
    /// Only objects on which one of `holders` holds one of `relations`.
    Only {
        /// The object type.
        kind: ObjectType,
        /// Relations that grant the action.
        relations: &'static [&'static str],
        /// The subject and every userset it belongs to.
        holders: Vec<String>,
    },
}

impl ListScope {
    /// A SQL condition on `id_column` (the object's id), with placeholders numbered from
    /// `first`; the values to bind, in order. Both backends accept it.
    pub fn sql(&self, id_column: &str, first: usize) -> (String, Vec<String>) {
        match self {
            ListScope::All => ("1 = 1".to_owned(), Vec::new()),
            ListScope::Only { holders, .. } if holders.is_empty() => {
                ("1 = 0".to_owned(), Vec::new())
            }
            ListScope::Only {
                kind,
                relations,
                holders,
            } => {
                let relations = relations
                    .iter()
                    .map(|relation| format!("'{relation}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let placeholders = (0..holders.len())
                    .map(|offset| format!("${}", first + offset))
                    .collect::<Vec<_>>()
                    .join(", ");
                let relations = if relations.is_empty() {
                    "NULL".to_owned()
                } else {
                    relations
                };
                (
                    format!(
                        "{id_column} IN (SELECT object_id FROM authz_tuples \
                         WHERE object_type = '{kind}' AND relation IN ({relations}) \
                         AND subject IN ({placeholders}))"
                    ),
                    holders.clone(),
                )
            }
        }
    }
}

/// The one question every service asks.
#[async_trait]
pub trait Authorizer: Send + Sync {
    /// Decide one request.
    async fn check(&self, request: CheckRequest) -> Result<Decision, Error>;

    /// Which objects of `kind` `subject` may do `action` on, as a query condition.
    async fn scope(
        &self,
        subject: &Subject,
        kind: ObjectType,
        action: &str,
    ) -> Result<ListScope, Error>;

    /// Write and delete relationships (validated against the schema); the revision.
    async fn write(
        &self,
        writes: Vec<Relationship>,
        deletes: Vec<Relationship>,
        by: Option<&str>,
    ) -> Result<Revision, Error>;

    /// Forget an object that was deleted: every relationship on it or naming it.
    async fn forget(&self, object: &ObjectRef) -> Result<Revision, Error>;
}

/// The authorizer as shared by services (and put into request extensions).
pub type SharedAuthorizer = Arc<dyn Authorizer>;

struct Inner {
    db: Database,
    graph: RwLock<Arc<Graph>>,
    policies: RwLock<Arc<PolicySet>>,
    refreshing: tokio::sync::Mutex<()>,
}

/// The decision point over the grimOS database.
#[derive(Clone)]
pub struct Authz {
    inner: Arc<Inner>,
}

fn poisoned() -> Error {
    Error::internal(std::io::Error::other("authorization state lock poisoned"))
}

impl Authz {
    /// Load relationships, attributes and policies from `db` (migrated).
    pub async fn open(db: Database) -> Result<Self, Error> {
        let graph = store::load(&db).await?;
        let policies = compile_stored(&db).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                graph: RwLock::new(Arc::new(graph)),
                policies: RwLock::new(Arc::new(policies)),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The database it reads.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    /// Catch up with changes other servers committed, every `period` (a task that ends
    /// with the runtime).
    pub fn keep_fresh(&self, period: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = this.refresh().await {
                    tracing::warn!(error = %error, "could not refresh the authorization graph");
                }
            }
        });
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Result<Arc<Graph>, Error> {
        Ok(self.inner.graph.read().map_err(|_| poisoned())?.clone())
    }

    /// The current policy set.
    pub fn policies(&self) -> Result<Arc<PolicySet>, Error> {
        Ok(self.inner.policies.read().map_err(|_| poisoned())?.clone())
    }

    /// Apply every change committed since the snapshot; the revision reached.
    pub async fn refresh(&self) -> Result<Revision, Error> {
        let _one_at_a_time = self.inner.refreshing.lock().await;
        let current = self.snapshot()?;
        let (changes, revision) = store::changes_since(&self.inner.db, current.revision()).await?;
        if revision <= current.revision() {
            return Ok(current.revision());
        }
        let mut next = (*current).clone();
        let mut policies_changed = false;
        for (_, change) in changes {
            match change {
                Change::Write(tuple) => next.insert(tuple),
                Change::Delete(tuple) => next.remove(&tuple),
                Change::Attributes(object, attributes) => next.set_attributes(object, attributes),
                Change::Policies => policies_changed = true,
            }
        }
        next.set_revision(revision);
        if policies_changed {
            let compiled = compile_stored(&self.inner.db).await?;
            *self.inner.policies.write().map_err(|_| poisoned())? = Arc::new(compiled);
        }
        *self.inner.graph.write().map_err(|_| poisoned())? = Arc::new(next);
        Ok(revision)
    }

    /// A snapshot at `at_least` or later.
    pub async fn snapshot_at_least(&self, at_least: Option<Revision>) -> Result<Arc<Graph>, Error> {
        let snapshot = self.snapshot()?;
        match at_least {
            Some(wanted) if wanted > snapshot.revision() => {
                let reached = self.refresh().await?;
                if reached < wanted {
                    return Err(Error::new(
                        ErrorKind::Validation,
                        "revision_unknown",
                        format!(
                            "revision {wanted} has not been written yet (the latest is {reached})"
                        ),
                    ));
                }
                self.snapshot()
            }
            _ => Ok(snapshot),
        }
    }

    /// Decide `request` against `graph` and the current policies (synchronous: no I/O).
    pub fn decide(&self, graph: &Graph, request: &CheckRequest) -> Result<Decision, Error> {
        let policies = self.policies()?;
        decide(graph, &policies, request)
    }

    /// The objects of `kind` on which relationships let `subject` do `action` (with
    /// paths), and the role path when a role grants it on every object of the type.
    pub async fn objects(
        &self,
        subject: &Subject,
        kind: ObjectType,
        action: &str,
    ) -> Result<(Vec<(ObjectRef, Vec<String>)>, Option<Vec<String>>, Revision), Error> {
        let graph = self.snapshot()?;
        let objects = graph.objects(subject, kind, action)?;
        let all = graph.role_grant(subject, kind, action)?;
        Ok((objects, all, graph.revision()))
    }

    /// Every subject that may do `action` on `resource`, with the path.
    pub async fn subjects(
        &self,
        resource: &ObjectRef,
        action: &str,
    ) -> Result<(Vec<(SubjectRef, Vec<String>)>, Revision), Error> {
        let graph = self.snapshot()?;
        Ok((graph.subjects(resource, action)?, graph.revision()))
    }

    /// Replace an object's attributes (`Null` removes them); the revision.
    pub async fn set_attributes(
        &self,
        object: &ObjectRef,
        attributes: &Value,
    ) -> Result<Revision, Error> {
        if !(attributes.is_object() || attributes.is_null()) {
            return Err(Error::invalid_field(
                "/attributes",
                "attributes are a JSON object (or null to remove them)",
            ));
        }
        let revision = store::set_attributes(&self.inner.db, object, attributes).await?;
        self.refresh().await?;
        Ok(revision)
    }

    /// Compile the stored policies with `changed` in place of (or beside) its namesake
    /// and without `removed`: the set that saving it would produce, or the error.
    pub async fn compile_with(
        &self,
        changed: Option<PolicySource>,
        removed: Option<&str>,
    ) -> Result<PolicySet, Error> {
        let mut sources = stored_sources(&self.inner.db).await?;
        sources.retain(|source| Some(source.name.as_str()) != removed);
        if let Some(changed) = changed {
            sources.retain(|source| source.name != changed.name);
            sources.push(changed);
        }
        PolicySet::compile(sources).map_err(Into::into)
    }
}

async fn stored_sources(db: &Database) -> Result<Vec<PolicySource>, Error> {
    Ok(store::list_policies(db)
        .await?
        .into_iter()
        .map(|policy| PolicySource {
            name: policy.name,
            version: policy.version,
            source: policy.source,
        })
        .collect())
}

async fn compile_stored(db: &Database) -> Result<PolicySet, Error> {
    let sources = stored_sources(db).await?;
    if sources.is_empty() {
        return Ok(PolicySet::empty());
    }
    PolicySet::compile(sources).map_err(|error| {
        Error::internal(std::io::Error::other(format!(
            "the stored policies do not compile: {}",
            kernel::Error::from(error)
        )))
    })
}

/// Decide `request` against a graph and a policy set: a role or relationship must allow,
/// and any policy `deny` overrides (`docs/authorization.md`).
pub fn decide(
    graph: &Graph,
    policies: &PolicySet,
    request: &CheckRequest,
) -> Result<Decision, Error> {
    let permission = permission_for(request.resource.kind, &request.action)?;
    let grant = graph.check_permission(&request.subject, permission, &request.resource);
    let revision = graph.revision();
    let path = match grant {
        Grant::None => {
            return Ok(Decision {
                allowed: false,
                reasons: vec![Reason {
                    kind: ReasonKind::NoGrant,
                    summary: format!(
                        "{} holds no role and no relationship that grants {} on {} \
                         (granted by: {})",
                        request.subject.principal,
                        request.action,
                        request.resource,
                        granted_by_text(request.resource.kind, permission)
                    ),
                    path: Vec::new(),
                    policy: None,
                    rule: None,
                }],
                revision,
            });
        }
        Grant::Path(path) => path,
    };
    let through_role = path
        .first()
        .is_some_and(|step| step.starts_with("platform:"));
    let denials = if policies.is_empty() {
        Vec::new()
    } else {
        policies.denials_value(policy_input_value(graph, request, &path))?
    };
    let grant_reason = Reason {
        kind: if through_role {
            ReasonKind::Role
        } else {
            ReasonKind::Relationship
        },
        summary: path.join(" ← "),
        path,
        policy: None,
        rule: None,
    };
    if denials.is_empty() {
        return Ok(Decision {
            allowed: true,
            reasons: vec![grant_reason],
            revision,
        });
    }
    let mut reasons: Vec<Reason> = denials
        .into_iter()
        .map(|denial| Reason {
            kind: ReasonKind::Policy,
            summary: format!("policy {} denies: {}", denial.policy, denial.message),
            path: Vec::new(),
            policy: Some(denial.policy),
            rule: Some(denial.rule),
        })
        .collect();
    reasons.push(grant_reason);
    Ok(Decision {
        allowed: false,
        reasons,
        revision,
    })
}

/// What grants `action` on objects of `kind`, in one line (made once per action: a refusal
/// names it, and most decisions are refusals).
fn granted_by_text(kind: ObjectType, permission: &'static schema::Permission) -> &'static str {
    static TEXTS: std::sync::OnceLock<
        std::collections::HashMap<(ObjectType, &'static str), String>,
    > = std::sync::OnceLock::new();
    TEXTS
        .get_or_init(|| {
            schema::SCHEMA
                .iter()
                .flat_map(|schema| {
                    schema.permissions.iter().map(|permission| {
                        ((schema.kind, permission.action), granted_by(permission))
                    })
                })
                .collect()
        })
        .get(&(kind, permission.action))
        .map_or("nothing", String::as_str)
}

fn granted_by(permission: &schema::Permission) -> String {
    let mut grants: Vec<String> = permission
        .relations
        .iter()
        .map(|relation| format!("#{relation}"))
        .collect();
    grants.extend(permission.roles.iter().map(|role| format!("role {role}")));
    if grants.is_empty() {
        "nothing".to_owned()
    } else {
        grants.join(", ")
    }
}

/// The policies' input document for one request.
pub fn policy_input(graph: &Graph, request: &CheckRequest, path: &[String]) -> Value {
    let subject = &request.subject;
    let memberships = graph.memberships_for(subject);
    let (roles, groups) = crate::graph::roles_and_groups(subject, &memberships);
    let owner = graph
        .holders(&request.resource, "owner")
        .next()
        .map(ToString::to_string);
    let empty = Value::Object(serde_json::Map::new());
    let time = request
        .context
        .time
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut context = request.context.extra.clone();
    context.insert("time".into(), Value::String(time));
    context.insert(
        "ip".into(),
        request
            .context
            .ip
            .clone()
            .map_or(Value::Null, Value::String),
    );
    context.insert(
        "request_id".into(),
        request
            .context
            .request_id
            .clone()
            .map_or(Value::Null, Value::String),
    );
    json!({
        "subject": {
            "id": subject.principal.to_string(),
            "kind": subject.principal.object.kind.as_str(),
            "roles": roles,
            "groups": groups,
            "attributes": graph.attributes(&subject.principal.object).unwrap_or(&empty),
        },
        "action": request.action,
        "resource": {
            "type": request.resource.kind.as_str(),
            "id": request.resource.id,
            "owner": owner,
            "attributes": graph.attributes(&request.resource).unwrap_or(&empty),
        },
        "context": context,
        "relationship": {"allowed": true, "path": path},
    })
}

/// [`policy_input`] built directly as the value the policies read, the subject's part
/// shared per snapshot (what [`decide`] evaluates; the same document).
pub fn policy_input_value(graph: &Graph, request: &CheckRequest, path: &[String]) -> RegoValue {
    let keys = input_keys();
    let key = |name: &str| RegoValue::from(name);
    let text = |value: &Option<String>| value.as_deref().map_or(RegoValue::Null, RegoValue::from);
    let mut resource = BTreeMap::new();
    resource.insert(
        keys.type_.clone(),
        keys.types[request.resource.kind as usize].clone(),
    );
    resource.insert(
        keys.id.clone(),
        RegoValue::from(request.resource.id.as_str()),
    );
    resource.insert(
        keys.owner.clone(),
        graph
            .holders(&request.resource, "owner")
            .next()
            .map_or(RegoValue::Null, |owner| RegoValue::from(owner.to_string())),
    );
    resource.insert(
        keys.attributes.clone(),
        graph
            .rego_attributes(&request.resource)
            .cloned()
            .unwrap_or_else(RegoValue::new_object),
    );
    let mut context: BTreeMap<RegoValue, RegoValue> = request
        .context
        .extra
        .iter()
        .map(|(name, value)| (key(name), RegoValue::from(value.clone())))
        .collect();
    let time = request
        .context
        .time
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    context.insert(keys.time.clone(), RegoValue::from(time));
    context.insert(keys.ip.clone(), text(&request.context.ip));
    context.insert(keys.request_id.clone(), text(&request.context.request_id));
    let mut relationship = BTreeMap::new();
    relationship.insert(keys.allowed.clone(), RegoValue::from(true));
    relationship.insert(
        keys.path.clone(),
        RegoValue::from(
            path.iter()
                .map(|step| RegoValue::from(step.as_str()))
                .collect::<Vec<_>>(),
        ),
    );
    let mut input = BTreeMap::new();
    input.insert(
        keys.subject.clone(),
        graph.subject_document(&request.subject),
    );
    input.insert(
        keys.action.clone(),
        RegoValue::from(request.action.as_str()),
    );
    input.insert(keys.resource.clone(), RegoValue::from(resource));
    input.insert(keys.context.clone(), RegoValue::from(context));
    input.insert(keys.relationship.clone(), RegoValue::from(relationship));
    RegoValue::from(input)
}

/// The input document's names and the object types, as regorus strings made once (a clone
/// is a reference count, not an allocation).
struct InputKeys {
    subject: RegoValue,
    action: RegoValue,
    resource: RegoValue,
    context: RegoValue,
    relationship: RegoValue,
    type_: RegoValue,
    id: RegoValue,
    owner: RegoValue,
    attributes: RegoValue,
    time: RegoValue,
    ip: RegoValue,
    request_id: RegoValue,
    allowed: RegoValue,
    path: RegoValue,
    /// Indexed by `ObjectType as usize`.
    types: Vec<RegoValue>,
}

fn input_keys() -> &'static InputKeys {
    static KEYS: std::sync::OnceLock<InputKeys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let key = |name: &str| RegoValue::from(name);
        let mut types = ObjectType::ALL.to_vec();
        types.sort_by_key(|kind| *kind as usize);
        InputKeys {
            subject: key("subject"),
            action: key("action"),
            resource: key("resource"),
            context: key("context"),
            relationship: key("relationship"),
            type_: key("type"),
            id: key("id"),
            owner: key("owner"),
            attributes: key("attributes"),
            time: key("time"),
            ip: key("ip"),
            request_id: key("request_id"),
            allowed: key("allowed"),
            path: key("path"),
            types: types.into_iter().map(|kind| key(kind.as_str())).collect(),
        }
    })
}

/// Check a relationship against the schema before it is written.
pub fn validate(tuple: &Relationship) -> Result<(), Error> {
    let schema = schema::of(tuple.resource.kind);
    if !schema.has_relation(&tuple.relation) {
        let relations: Vec<&str> = schema.relations.iter().map(|r| r.name).collect();
        return Err(Error::new(
            ErrorKind::Validation,
            "invalid_relationship",
            format!(
                "a {} has no relation {:?}; its relations are: {}",
                tuple.resource.kind,
                tuple.relation,
                if relations.is_empty() {
                    "none".to_owned()
                } else {
                    relations.join(", ")
                }
            ),
        ));
    }
    let subject_ok = match (&tuple.subject.relation, tuple.subject.object.kind) {
        (None, ObjectType::User | ObjectType::Service) => true,
        (Some(relation), ObjectType::Group) => relation == "member",
        (Some(relation), ObjectType::Platform) => schema::ROLES.contains(&relation.as_str()),
        _ => false,
    };
    if !subject_ok {
        return Err(Error::new(
            ErrorKind::Validation,
            "invalid_relationship",
            format!(
                "{} cannot hold a relation: a subject is user:id, service:id, group:id#member \
                 or platform:grimos#<role>",
                tuple.subject
            ),
        ));
    }
    if tuple.resource.kind == ObjectType::Group && tuple.subject.object == tuple.resource {
        return Err(Error::new(
            ErrorKind::Validation,
            "invalid_relationship",
            format!("{} cannot be a member of itself", tuple.resource),
        ));
    }
    Ok(())
}

#[async_trait]
impl Authorizer for Authz {
    async fn check(&self, request: CheckRequest) -> Result<Decision, Error> {
        let graph = self.snapshot_at_least(request.at_least).await?;
        self.decide(&graph, &request)
    }

    async fn scope(
        &self,
        subject: &Subject,
        kind: ObjectType,
        action: &str,
    ) -> Result<ListScope, Error> {
        let graph = self.snapshot()?;
        if graph.role_grant(subject, kind, action)?.is_some() {
            return Ok(ListScope::All);
        }
        let permission = permission_for(kind, action)?;
        // Under a credential scoped below the stored roles, only grants to role usersets
        // count beyond `view` (see `Graph::check_permission`).
        let role_holders_only = graph.memberships_for(subject).restricted() && action != "view";
        Ok(ListScope::Only {
            kind,
            relations: permission.relations,
            holders: graph
                .holders_for(subject)
                .iter()
                .filter(|holder| !role_holders_only || holder.object.kind == ObjectType::Platform)
                .map(ToString::to_string)
                .collect(),
        })
    }

    async fn write(
        &self,
        writes: Vec<Relationship>,
        deletes: Vec<Relationship>,
        by: Option<&str>,
    ) -> Result<Revision, Error> {
        for tuple in &writes {
            validate(tuple)?;
        }
        let revision = store::write(&self.inner.db, &writes, &deletes, by).await?;
        self.refresh().await?;
        Ok(revision)
    }

    async fn forget(&self, object: &ObjectRef) -> Result<Revision, Error> {
        let tuples = store::relationships_touching(&self.inner.db, object).await?;
        let mut revision = store::write(&self.inner.db, &[], &tuples, None).await?;
        if self.snapshot()?.attributes(object).is_some() {
            revision = store::set_attributes(&self.inner.db, object, &Value::Null).await?;
        }
        self.refresh().await?;
        Ok(revision)
    }
}
