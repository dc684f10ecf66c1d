//! # grimOS generic SQL connector
//!
//! One connector type, `sql`, for PostgreSQL, MySQL/MariaDB and SQLite (through sqlx) and
//! SQL Server (through tiberius), built on the Connector SDK:
//!
//! - [`SqlConnectorFactory`] validates a [`SqlConfig`] and builds a [`SqlConnector`], which
//!   connects on first use (resolving the `password` secret reference then).
//! - [`dialect`]: quoting, placeholders, parameter limits, upsert syntax and type mapping
//!   per engine; identifiers are always quoted, values always bound.
//! - [`introspect`]: tables, views, columns, keys, cursor candidates -> the SDK's catalog.
//! - [`read`]: one streaming query per read (binary `COPY` for PostgreSQL tables), rows
//!   decoded straight into Arrow column builders ([`columns`]), batches with resumable
//!   checkpoints.
//! - [`write`](mod@write): one [`connector_sdk::WriteRequest`] per batch: binary `COPY` on
//!   PostgreSQL encoded from the Arrow columns, multi-row statements from the batch's JSON
//!   view elsewhere, bad records isolated by bisection so only they are rejected.
//! - [`values`]: database values <-> Arrow columns and JSON values, per engine.
//! - [`checkpoint`]: flow checkpoints committed in the same transaction as the rows
//!   ([`transaction`]: where the statements of one write commit).
//! - [`platform`]: the platform's own database is refused, by file and by identity;
//!   [`query_guard`]: a `query` stream's text is one read-only statement (and
//!   [`read`] runs it in the engine's read-only mode); [`network`]: hosts pass the egress
//!   policy and are connected to by the checked address. A URL holding a password is
//!   refused ([`config`]).

pub mod checkpoint;
pub mod columns;
pub mod config;
pub mod connector;
pub mod db;
pub mod dialect;
pub mod introspect;
pub mod mssql;
pub mod network;
pub mod platform;
pub mod query_guard;
pub mod read;
pub mod transaction;
pub mod values;
pub mod write;

pub use config::{SqlConfig, StreamConfig, StreamSource};
pub use connector::{SqlConnector, SqlConnectorFactory};
pub use dialect::{Dialect, Engine, TableName};
