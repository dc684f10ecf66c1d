//! `/api/v1/authz/...`: the authorization service's HTTP API.
//!
//! - **Decisions**: `POST /check`, `POST /check/batch` (up to 1,000 checks against one
//!   snapshot), `GET /objects` ("what may this subject do this on?"), `GET /subjects` ("who
//!   may do this on that object, and through what?").
//! - **Relationships**: `POST /relationships` (writes and deletes, idempotent, all or
//!   nothing; the answer is the revision to pass as `at_least`), `GET /relationships`.
//! - **Groups** and their members, **attributes** of objects and subjects.
//! - **Policies** (Rego v1): CRUD with versions, their tests, a dry run of a draft.
//! - **The OPA bundle** of the policies and the data (`GET /bundle.tar.gz`).
//!
//! Objects and subjects are written `type:id` (`connector:01a2…`, `user:01a2…`,
//! `group:sre#member`), the same strings in every endpoint. Every route asks the decision
//! point through [`Guard`](crate::Guard): a caller may always ask about themselves; asking
//! about another subject, writing relationships on an object (`manage` on it), groups
//! (`manage` on the group) and the platform's roles, attributes and policies need
//! `manage_access` (admins).

mod attributes;
mod bundle;
mod check;
mod groups;
mod policies;
mod refs;
mod relationships;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::Authz;

pub use attributes::{Attributes, ObjectPath};
pub use bundle::{BundleArchive, IfNoneMatchHeader, bundle_data};
pub use check::{
    AccessSubject, AccessSubjects, AccessibleObject, AccessibleObjects, AllObjects, BatchCheck,
    BatchItemError, BatchResult, CheckBatchBody, CheckBatchResponse, CheckContext,
    CheckRequestBody, MAX_BATCH, ObjectsQuery, SubjectsQuery,
};
pub use groups::{CreateGroupRequest, CreatedGroup, GroupMembers, GroupPath, MemberPath};
pub use policies::{
    CreatePolicyRequest, DenialView, DryRunReport, DryRunRequest, DryRunResult, PolicyProblem,
    PolicyTestReport, PolicyTestResult, SavedPolicy, UpdatePolicyRequest,
};
pub use relationships::{
    MAX_CHANGES, RelationshipBody, RelationshipChanges, RelationshipQuery, RevisionAnswer,
};

/// The authorization routes; the caller provides the state (the decision point, the same
/// one whose [`SharedAuthorizer`](crate::SharedAuthorizer) is in the request extensions).
pub fn router() -> OpenApiRouter<Authz> {
    OpenApiRouter::new()
        .routes(routes!(check::check_access))
        .routes(routes!(check::check_access_batch))
        .routes(routes!(check::list_accessible_objects))
        .routes(routes!(check::list_access_subjects))
        .routes(routes!(
            relationships::list_relationships,
            relationships::write_relationships
        ))
        .routes(routes!(groups::list_groups, groups::create_group))
        .routes(routes!(groups::get_group, groups::delete_group))
        .routes(routes!(groups::list_group_members))
        .routes(routes!(
            groups::add_group_member,
            groups::remove_group_member
        ))
        .routes(routes!(
            attributes::get_attributes,
            attributes::put_attributes
        ))
        .routes(routes!(policies::list_policies, policies::create_policy))
        .routes(routes!(
            policies::get_policy,
            policies::update_policy,
            policies::delete_policy
        ))
        .routes(routes!(policies::list_policy_versions))
        .routes(routes!(policies::test_policy))
        .routes(routes!(policies::dry_run_policies))
        .routes(routes!(bundle::get_bundle))
}

#[cfg(test)]
mod tests;
