//! Vault/OpenBao: configuration, authentication, KV v2 reads and Transit keys.

mod auth;
mod client;
mod config;
mod transit;

pub use client::{KvSecret, VaultClient, VaultHealth};
pub use config::{KUBERNETES_JWT_PATH, VaultAuth, VaultConfig};
pub use transit::TransitMasterKey;
