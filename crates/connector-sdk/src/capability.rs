//! The capability set a connector declares.

use serde::{Deserialize, Serialize};

use crate::record::WriteMode;

/// What a connector can do. Callers (and the test kit) consult it before calling an
/// operation; an operation not declared here returns [`crate::ErrorKind::Unsupported`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// `check` reaches the remote system (not only validates configuration).
    pub check: bool,
    /// `discover` lists streams and fields.
    pub discover: bool,
    /// `read` returns records.
    pub read: bool,
    /// `read` resumes from a checkpoint and returns only newer records.
    pub incremental_read: bool,
    /// The write modes supported.
    pub write: WriteCapabilities,
}

/// The write modes a connector supports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteCapabilities {
    /// [`WriteMode::Insert`].
    pub insert: bool,
    /// [`WriteMode::Upsert`].
    pub upsert: bool,
    /// [`WriteMode::Update`].
    pub update: bool,
    /// [`WriteMode::Delete`].
    pub delete: bool,
    /// A write commits [`crate::WriteRequest::checkpoint`] atomically with its records (a
    /// SQL target keeps it in a table of its own database).
    #[serde(default)]
    pub checkpoint: bool,
}

impl WriteCapabilities {
    /// No writes.
    pub const NONE: Self = Self {
        insert: false,
        upsert: false,
        update: false,
        delete: false,
        checkpoint: false,
    };

    /// Every write mode.
    pub const ALL: Self = Self {
        insert: true,
        upsert: true,
        update: true,
        delete: true,
        checkpoint: false,
    };

    /// Whether `mode` is supported.
    pub fn supports(self, mode: WriteMode) -> bool {
        match mode {
            WriteMode::Insert => self.insert,
            WriteMode::Upsert => self.upsert,
            WriteMode::Update => self.update,
            WriteMode::Delete => self.delete,
        }
    }

    /// The supported modes, in the order insert, upsert, update, delete.
    pub fn modes(self) -> Vec<WriteMode> {
        WriteMode::ALL
            .into_iter()
            .filter(|m| self.supports(*m))
            .collect()
    }

    /// The same modes, with checkpoints committed with the records.
    #[must_use]
    pub const fn with_checkpoint(mut self) -> Self {
        self.checkpoint = true;
        self
    }

    /// Whether any write is supported.
    pub fn any(self) -> bool {
        self.insert || self.upsert || self.update || self.delete
    }
}

impl Capabilities {
    /// A source and destination that supports everything.
    pub const ALL: Self = Self {
        check: true,
        discover: true,
        read: true,
        incremental_read: true,
        write: WriteCapabilities::ALL,
    };
}
