//! grimOS identity: who may call the API.
//!
//! - [`users`]: the users table (name, role, disabled) with versioned updates.
//! - [`tokens`]: API tokens — random `grm_...` values shown once, stored only as SHA-256
//!   hashes, revocable, with an optional expiry.
//! - [`oidc`]: OIDC/JWT bearer tokens verified against the identity provider's JWKS
//!   (issuer, audience, expiry; the role read from a configurable claim).
//! - [`authenticator`]: bearer credentials → [`kernel::Principal`].
//! - [`bootstrap`]: the first admin and its token on first start.
//! - [`relationships`]: users' roles (`platform:grimos#<role>@user:<id>`) and tokens'
//!   owners as relationships of the decision point, kept in step with the rows.
//! - [`routes`]: `/api/v1/auth/whoami`, `/api/v1/users`, `/api/v1/tokens`.
//!
//! Invariant: a token's plain value exists only in the response that created it (and, for
//! the bootstrap token, in the 0600 file it is written to); it is never logged or stored.

pub mod authenticator;
pub mod bootstrap;
pub mod oidc;
pub mod relationships;
pub mod routes;
pub mod tokens;
pub mod users;

pub use authenticator::IdentityAuthenticator;
pub use oidc::{OidcSettings, OidcVerifier};
pub use routes::IdentityState;
