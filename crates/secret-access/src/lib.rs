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
//! - [`SecretUsePolicy`]: the one decision ("may this actor use this reference?"), with
//!   [`SqlSecretGrants`] over the `secret_grants` table as today's implementation (the
//!   fine-grained permissions service takes it over behind the same trait).
//! - [`ScopedSecretSource`]: a connector SDK [`connector_sdk::SecretSource`] that checks
//!   the policy for its actor before resolving.
//! - [`routes`]: `/api/v1/secret-grants` (admins only).
//!
//! Invariants: a refusal names the reference, never a value; admins may use every
//! reference (they could grant it to themselves); grants name users by id or roles.

mod grants;
mod policy;
pub mod routes;
mod scoped;

pub use grants::{Grant, GrantSubject, NewGrant, SqlSecretGrants, matches as reference_matches};
pub use policy::{Actor, SecretUsePolicy, SharedSecretUsePolicy, use_denied};
pub use scoped::ScopedSecretSource;
