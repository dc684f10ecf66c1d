//! # grimOS generic REST API connector
//!
//! Reads and writes any JSON (or NDJSON/CSV) HTTP API described by a [`RestConfig`]:
//! base URL, auth (API key, bearer, basic, OAuth 2.0 client credentials — all secret
//! references resolved through the SDK's `SecretSource` at connection time), streams with
//! their paths, parameters, body templates, record locations (JSONPath or JSON Pointer),
//! pagination (cursor, offset, page number, next URL, `Link` header) with stop conditions
//! and a progress guard, incremental reads by a cursor field, an optional declared schema
//! per stream (typed columns, extra fields kept, dropped or refused), and writes per record
//! or in batches with one outcome per record.
//!
//! Built on `connector-sdk`: [`RestConnectorFactory`] is the `ConnectorFactory` of type
//! `rest`; a read fetches one page at a time (each page retried on its own) and decodes it
//! into Arrow columns once, in one pass over the body when its places are JSON Pointers; a write sends the JSON view of its batch, and refuses a
//! checkpoint (an HTTP API has no transaction to commit one with the records); the default
//! layers are the SDK's timeout and observe layers (plus its rate limit when configured).
//!
//! ```no_run
//! # async fn demo() -> Result<(), connector_sdk::ConnectorError> {
//! use std::sync::Arc;
//! use connector_sdk::{BuildContext, ConnectorFactory, EnvFileSecretSource, ReadRequest};
//! use connector_rest::RestConnectorFactory;
//!
//! let config = serde_json::json!({
//!     "base_url": "https://api.example.com/v1",
//!     "auth": {"type": "bearer", "token": "env:API_TOKEN"},
//!     "streams": [{"name": "customers", "path": "/customers", "records": "$.data",
//!                  "paginator": {"type": "cursor", "cursor_path": "$.next_cursor", "param": "cursor"}}]
//! });
//! let connector = RestConnectorFactory
//!     .build(config, &BuildContext::new(Arc::new(EnvFileSecretSource)))
//!     .await?;
//! let batches = connector.read(ReadRequest::full("customers")).await?;
//! # drop(batches); Ok(()) }
//! ```
//!
//! Module map: [`config`] (what the user writes), `compile` (checks it, with JSON Pointer
//! errors), `request` (HTTP, status mapping), `redact` (credentials kept out of errors),
//! `records` (JSON/NDJSON/CSV bodies), `selector` (JSONPath/Pointer), `template` (path and
//! body templates), `paginator` (styles, stop rules, progress guard), `incremental`,
//! `shape` (the declared schema), `raw` (a JSON page read in one pass), `cells` (a page's
//! records field by field), `columns` (records to Arrow columns), `read`, `write`,
//! `discover` (type inference), [`spec`] (the JSON Schema), `connector`.

mod cells;
mod columns;
mod compile;
pub mod config;
mod connector;
mod discover;
mod incremental;
mod paginator;
mod raw;
mod read;
mod records;
mod redact;
mod request;
mod selector;
mod shape;
pub mod spec;
mod template;
mod write;

pub use config::RestConfig;
pub use connector::{CONNECTOR_TYPE, RestConnector, RestConnectorFactory};
