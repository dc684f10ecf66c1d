//! The policy decision point of grimOS.
//!
//! Every service asks one question through [`Authorizer`]: *may this subject do this
//! action on this object, and why?* The answer combines
//! - **relationships** (ReBAC, Zanzibar-style): tuples `type:id#relation@subject` stored in
//!   the database, with a schema per object type saying which relations imply which
//!   permissions (`owner` ⊃ `editor` ⊃ `viewer`) and how the built-in roles — relations on
//!   `platform:grimos` — reach every object;
//! - **policies** (ABAC) in Rego v1, evaluated by `regorus`: any `deny` overrides an allow.
//!
//! Every decision carries its reasons (the relation path that allowed it, or the policy rule
//! that denied it) and the revision it was made at. The combining rule is written down in
//! `docs/authorization.md`.

pub mod model;
pub mod policy;
pub mod routes;

pub use model::{ObjectRef, ObjectType, PLATFORM_ID, Relationship, Revision, SubjectRef};
pub mod graph;
pub mod guard;
pub mod schema;
pub mod service;
pub mod store;

pub use graph::Subject;
pub use guard::{Guard, principal_subject};
pub use service::{
    Authorizer, Authz, CheckRequest, Context, Decision, ListScope, Reason, ReasonKind,
    SharedAuthorizer,
};
