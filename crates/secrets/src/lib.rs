//! Secrets for grimOS: references instead of credentials, and the machinery that resolves
//! them.
//!
//! - [`SecretRef`] — `vault:<mount>/<path>#<field>[?version=N]`, `env:NAME`, `file:/path`,
//!   `local:<name>`; [`find_literal_secrets`] finds secret fields of a configuration that hold
//!   a literal instead.
//! - [`SecretValue`] — a value that never prints and is zeroed on drop.
//! - [`SecretResolver`] — resolves references through env, file, the local store and Vault,
//!   with a TTL cache and [`SecretResolver::invalidate`].
//! - [`envelope`] — AES-256-GCM envelope encryption bound to a name and version, over a
//!   [`MasterKeyProvider`] ([`MasterKey`], [`MasterKeyRing`], [`vault::TransitMasterKey`]).
//! - [`LocalSecretStore`] — the embedded encrypted store over a [`SecretRecordStore`].
//! - [`vault`] — a Vault/OpenBao client (KV v2, token/AppRole/Kubernetes auth, Transit).
//!
//! Invariant: no error, log line, `Debug` or serialized form produced by this crate contains
//! a secret value; errors name the reference.

pub mod envelope;
mod error;
pub mod local_store;
pub mod master_key;
pub mod reference;
pub mod resolver;
pub mod value;
pub mod vault;

pub use envelope::{Envelope, EnvelopeContext};
pub use error::{EnvelopeError, ErrorKind, ReferenceError, SecretError};
#[cfg(any(test, feature = "test-support"))]
pub use local_store::InMemoryRecordStore;
pub use local_store::{
    LocalSecretStore, RotationReport, SecretMetadata, SecretRecord, SecretRecordStore,
};
pub use master_key::{MASTER_KEY_ENV, MasterKey, MasterKeyProvider, MasterKeyRing, WrappedKey};
pub use reference::{
    SecretFieldProblem, SecretFieldViolation, SecretRef, VaultRef, find_literal_secrets,
    find_secret_references, looks_like_reference,
};
pub use resolver::{SecretResolver, SecretResolverBuilder};
pub use value::SecretValue;
pub use vault::{VaultClient, VaultConfig};
