//! Embedded migrations for both backends and a check of which are applied.

use std::collections::BTreeSet;

use sqlx::migrate::Migrator;

pub(crate) static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");
pub(crate) static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// How the database's schema compares with the migrations this binary carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationStatus {
    /// Migrations this binary has that the database has not applied, as `version_description`.
    pub pending: Vec<String>,
    /// Versions the database has applied that this binary does not know (a newer binary ran).
    pub unknown: Vec<i64>,
    /// Versions whose last attempt failed (a dirty schema that needs an operator).
    pub failed: Vec<i64>,
}

impl MigrationStatus {
    /// Whether the schema is exactly what this binary expects.
    pub fn is_current(&self) -> bool {
        self.pending.is_empty() && self.unknown.is_empty() && self.failed.is_empty()
    }

    pub(crate) fn compare(migrator: &Migrator, applied: &[(i64, bool)]) -> Self {
        let known: BTreeSet<i64> = migrator.iter().map(|migration| migration.version).collect();
        let succeeded: BTreeSet<i64> = applied
            .iter()
            .filter(|(_, success)| *success)
            .map(|(version, _)| *version)
            .collect();
        Self {
            pending: migrator
                .iter()
                .filter(|migration| !succeeded.contains(&migration.version))
                .map(|migration| format!("{}_{}", migration.version, migration.description))
                .collect(),
            unknown: applied
                .iter()
                .map(|(version, _)| *version)
                .filter(|version| !known.contains(version))
                .collect(),
            failed: applied
                .iter()
                .filter(|(_, success)| !*success)
                .map(|(version, _)| *version)
                .collect(),
        }
    }
}
