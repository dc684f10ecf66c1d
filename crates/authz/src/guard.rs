//! The HTTP guard: the one extractor every route uses to ask the decision point.
//!
//! `Guard` authenticates the caller (through [`api::Caller`]) and carries the authorizer,
//! the request id and the caller's address. A route says what it is about to do:
//! - [`Guard::require`] on an object: 404 when the caller may not even see it (nothing
//!   leaks whether it exists), 403 with the reasons when they may see it but not do this;
//! - [`Guard::require_platform`] for platform-wide actions (`create_connector`,
//!   `manage_users`, …): 403;
//! - [`Guard::scope`] for lists: a condition the store adds to its query, so pages stay full;
//! - [`Guard::own`] after creating an object (its creator becomes `owner`) and
//!   [`Guard::forget`] after deleting one.
//!
//! Every denial is decision-logged through [`api::audit::denied`].

use axum::extract::FromRequestParts;
use http::request::Parts;
use kernel::{Error, ErrorKind, Principal};
use telemetry::http_middleware::RequestId;

use crate::graph::Subject;
use crate::model::{ObjectRef, ObjectType, Relationship, Revision, SubjectRef};
use crate::service::{CheckRequest, Context, Decision, ListScope, SharedAuthorizer};
use api::{ApiError, Caller};

/// The subject a principal is in decisions: `service:<subject>` for the service role,
/// `user:<user id or subject>` otherwise.
pub fn principal_subject(principal: &Principal) -> SubjectRef {
    let id = principal
        .user_id
        .clone()
        .unwrap_or_else(|| principal.subject.clone());
    if principal.role == kernel::Role::Service && principal.user_id.is_none() {
        SubjectRef {
            object: ObjectRef::new(ObjectType::Service, id),
            relation: None,
        }
    } else {
        SubjectRef::user(id)
    }
}

/// The caller of a request and the decision point, ready to ask.
#[derive(Clone)]
pub struct Guard {
    caller: Caller,
    authorizer: SharedAuthorizer,
    context: Context,
}

impl<S: Send + Sync> FromRequestParts<S> for Guard {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let authorizer = parts
            .extensions
            .get::<SharedAuthorizer>()
            .cloned()
            .ok_or_else(|| {
                ApiError(Error::internal(std::io::Error::other(
                    "no authorizer installed on the router",
                )))
            })?;
        let request_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string());
        Ok(Self {
            caller,
            authorizer,
            context: Context {
                time: None,
                ip,
                request_id,
                extra: serde_json::Map::new(),
            },
        })
    }
}

impl Guard {
    /// A guard for `principal` outside a request (tests, background work).
    pub fn new(principal: Principal, authorizer: SharedAuthorizer) -> Self {
        Self {
            caller: Caller(principal),
            authorizer,
            context: Context::default(),
        }
    }

    /// The authenticated principal.
    pub fn principal(&self) -> &Principal {
        &self.caller.0
    }

    /// The caller as a subject of decisions, with its credential's role.
    pub fn subject(&self) -> Subject {
        Subject {
            principal: principal_subject(self.principal()),
            role: Some(self.principal().role),
        }
    }

    /// The authorizer.
    pub fn authorizer(&self) -> &SharedAuthorizer {
        &self.authorizer
    }

    /// The request's context (address, request id).
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Decide `action` on `resource` for the caller, without failing on a denial.
    pub async fn decide(&self, action: &str, resource: &ObjectRef) -> Result<Decision, ApiError> {
        Ok(self
            .authorizer
            .check(CheckRequest {
                subject: self.subject(),
                action: action.to_owned(),
                resource: resource.clone(),
                context: self.context.clone(),
                at_least: None,
            })
            .await?)
    }

    /// Fail unless the caller may do `action` on `resource`: 404 when they may not see
    /// it, 403 (with the reasons) when they may see it but not do this.
    pub async fn require(&self, action: &str, resource: &ObjectRef) -> Result<(), ApiError> {
        let decision = self.decide(action, resource).await?;
        if decision.allowed {
            return Ok(());
        }
        self.log_denial(action, resource, &decision);
        let visible = action != "view"
            && crate::schema::of(resource.kind)
                .permission("view")
                .is_some()
            && self.decide("view", resource).await?.allowed;
        if !visible && resource.kind != ObjectType::Platform {
            return Err(ApiError(Error::not_found(
                resource.kind.as_str(),
                &resource.id,
            )));
        }
        Err(forbidden(action, resource, &decision))
    }

    /// Fail with 403 unless the caller may do the platform-wide `action`.
    pub async fn require_platform(&self, action: &str) -> Result<(), ApiError> {
        self.require(action, &ObjectRef::platform()).await
    }

    /// Whether the caller may do `action` on `resource` (no error, no log).
    pub async fn allows(&self, action: &str, resource: &ObjectRef) -> Result<bool, ApiError> {
        Ok(self.decide(action, resource).await?.allowed)
    }

    /// Which objects of `kind` the caller may do `action` on, as a query condition.
    pub async fn scope(&self, kind: ObjectType, action: &str) -> Result<ListScope, ApiError> {
        Ok(self.authorizer.scope(&self.subject(), kind, action).await?)
    }

    /// Make the caller the owner of `object`, which it just created.
    pub async fn own(&self, object: ObjectRef) -> Result<Revision, ApiError> {
        let owner = principal_subject(self.principal());
        Ok(self
            .authorizer
            .write(
                vec![Relationship {
                    resource: object,
                    relation: "owner".to_owned(),
                    subject: owner,
                }],
                Vec::new(),
                Some(&self.principal().subject),
            )
            .await?)
    }

    /// Forget the relationships of `object`, which was just deleted.
    pub async fn forget(&self, object: &ObjectRef) -> Result<Revision, ApiError> {
        Ok(self.authorizer.forget(object).await?)
    }

    fn log_denial(&self, action: &str, resource: &ObjectRef, decision: &Decision) {
        api::audit::denied(
            self.principal(),
            action,
            resource.kind.as_str(),
            &resource.id,
            &decision.summary(),
            self.context.request_id.as_deref(),
        );
    }
}

/// 403 `forbidden`, naming the action, the object and why.
pub fn forbidden(action: &str, resource: &ObjectRef, decision: &Decision) -> ApiError {
    ApiError(Error::new(
        ErrorKind::Forbidden,
        "forbidden",
        format!("you may not {action} {resource}: {}", decision.summary()),
    ))
}
