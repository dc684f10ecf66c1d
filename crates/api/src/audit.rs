//! The one place every mutation is recorded for the audit trail.
//!
//! Today an event is a structured log line with target `audit` (actor, action, object),
//! inside the request's span, so it carries the request and trace ids. The governance
//! layer's immutable audit log takes these events from here.

use kernel::Principal;

/// Record that `principal` did `action` (e.g. `connector.update`) to the object
/// `object_type`/`object_id`.
pub fn record(principal: &Principal, action: &str, object_type: &str, object_id: &str) {
    tracing::info!(
        target: "audit",
        actor = %principal.subject,
        actor_kind = ?principal.kind,
        action,
        object_type,
        object_id,
        "audit event"
    );
}

/// Record an action taken by a caller that is not a principal (e.g. a signed webhook).
pub fn record_system(actor: &str, action: &str, object_type: &str, object_id: &str) {
    tracing::info!(target: "audit", actor, action, object_type, object_id, "audit event");
}

/// Record that `principal` was refused `action` on `object_type`/`object_id`, and why (the
/// decision's reasons, with secret-looking values masked).
pub fn denied(
    principal: &Principal,
    action: &str,
    object_type: &str,
    object_id: &str,
    reasons: &str,
    request_id: Option<&str>,
) {
    tracing::info!(
        target: "audit",
        actor = %principal.subject,
        actor_kind = ?principal.kind,
        action = "authz.denied",
        attempted = action,
        object_type,
        object_id,
        outcome = "denied",
        reasons = %kernel::mask_secret_looking(reasons),
        request_id,
        "audit event"
    );
}
