//! Who may **use** which secret reference.
//!
//! Reading a secret's value is an admin-only operation of the secrets service; *using* one
//! — letting the server resolve it inside a connector, flow or notifier and send it
//! somewhere — is a capability of its own. A caller who writes a reference into an object
//! the server will act on needs a use grant for it, checked when the object is saved and
//! again each time the server resolves the reference on that principal's behalf (a run
//! acts for its flow's owner). Without that check the server would lend its own
//! authority: an operator could send an admin's secret to a host of their choosing.
//!
//! - [`Actor`]: the principal a reference is used for (subject and role).
//! - [`SecretUsePolicy`]: the one decision ("may this actor use this reference?"), made by
//!   the authorization service: [`AuthzSecretUse`] asks the authorizer whether the actor
//!   may `use` the object `secret:<reference>`.
//! - [`SqlSecretGrants`]: use grants as relationships (`secret:<reference>#user@user:<id>`
//!   or `…@platform:grimos#<role>`, a reference prefix ending in `*` being one object), for
//!   `/api/v1/secret-grants` and `grimos secrets grant`.
//! - [`ScopedSecretSource`]: a connector SDK [`connector_sdk::SecretSource`] that checks
//!   the policy for its actor before resolving.
//! - [`routes`]: `/api/v1/secret-grants` (admins, or a secret's owner for its grants).
//!
//! Invariants: a refusal names the reference, never a value; admins may use every
//! reference (they could grant it to themselves); the decision comes from the authorizer
//! only.

mod authz_use;
mod grants;
mod policy;
pub mod routes;
mod scoped;

pub use authz_use::{AuthzSecretUse, secret_object};
pub use grants::{
    Grant, GrantSubject, NewGrant, SqlSecretGrants, grant_id, grant_tuple,
    matches as reference_matches, parse_grant_id,
};
pub use policy::{Actor, SecretUsePolicy, SharedSecretUsePolicy, use_denied};
pub use scoped::ScopedSecretSource;
