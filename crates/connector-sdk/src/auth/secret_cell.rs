//! A secret reference resolved on first use and re-resolved after an auth failure.

use std::fmt;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::error::{ConnectorError, Operation};
use crate::secret::{Secret, SecretSource};

/// Holds one secret reference and its resolved value.
///
/// The value is resolved lazily (at connection time, not when the connector is built), and
/// [`SecretCell::invalidate`] forgets it so the next use resolves again: a rotated secret is
/// picked up after the first request it breaks.
pub struct SecretCell {
    reference: String,
    source: Arc<dyn SecretSource>,
    value: Mutex<Option<(u64, Secret)>>,
}

impl fmt::Debug for SecretCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCell")
            .field("reference", &self.reference)
            .finish_non_exhaustive()
    }
}

impl SecretCell {
    /// A cell for `reference`, resolved through `source`.
    pub fn new(reference: impl Into<String>, source: Arc<dyn SecretSource>) -> Self {
        Self {
            reference: reference.into(),
            source,
            value: Mutex::new(None),
        }
    }

    /// The reference (safe to log).
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The value and its generation (which changes each time it is resolved again).
    pub async fn get(&self) -> Result<(u64, Secret), ConnectorError> {
        let mut value = self.value.lock().await;
        if let Some((generation, secret)) = value.as_ref() {
            return Ok((*generation, secret.clone()));
        }
        let secret = self
            .source
            .resolve(&self.reference)
            .await
            .map_err(|e| e.with_operation(Operation::Authenticate))?;
        let generation = next_generation();
        *value = Some((generation, secret.clone()));
        Ok((generation, secret))
    }

    /// Forgets the value if it is still the one of `generation`.
    pub async fn invalidate(&self, generation: u64) {
        let mut value = self.value.lock().await;
        if value.as_ref().is_some_and(|(g, _)| *g == generation) {
            *value = None;
        }
    }
}

/// A process-wide increasing number, so credential ids never repeat.
pub(crate) fn next_generation() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
