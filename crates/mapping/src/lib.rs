//! Data mappings for grimOS flows: rules that build a target record from a source record,
//! with transforms, casts and CEL expressions; validation of a mapping against source and
//! target schemas; and a preview on sample records.
//!
//! A pure library: no I/O. The Interoperability service stores [`MappingSpec`]s, calls
//! [`validate`] when one is saved, [`preview`] when a user tries one, and
//! [`Mapping::compile`] + [`CompiledMapping::apply_batch`] inside flows: a batch is mapped
//! column by column (see [`batch`]), with the same result as [`CompiledMapping::apply`] on
//! each record.
//!
//! ```
//! use mapping::{Mapping, MappingSpec};
//! use serde_json::json;
//!
//! let spec = MappingSpec::from_json_value(json!({"rules": [
//!     {"target": "customer_id", "source": "id", "cast": "int"},
//!     {"target": "email", "source": "email", "transform": ["trim", "lower"]},
//!     {"target": "full_name", "expr": "record.first + ' ' + record.last"},
//!     {"target": "billing.country", "source": "address.country", "default": "US"},
//! ]})).map_err(|e| format!("{e:?}"))?;
//! let mapping = Mapping::compile(&spec).map_err(|e| format!("{e:?}"))?;
//! let record = json!({"id": "42", "email": " Ada@Example.COM ", "first": "Ada", "last": "Lovelace"});
//! let output = mapping.apply_value(&record).map_err(|e| format!("{e:?}"))?;
//! assert_eq!(output, json!({"customer_id": 42, "email": "ada@example.com",
//!     "full_name": "Ada Lovelace", "billing": {"country": "US"}}));
//! # Ok::<(), String>(())
//! ```
//!
//! # Expression language
//!
//! `expr` and `when` are [CEL](https://cel.dev) (the `cel` crate). Why: CEL is made to be
//! embedded and run on untrusted input — no I/O, no unbounded loops or recursion, so
//! evaluation is bounded by the size of the expression and the record, and each
//! expression's bound is checked against a cost budget ([`cost`]) when it is compiled and
//! before every evaluation; users may know it
//! from Kubernetes, Envoy and cloud IAM; its operators cover what rules do not (string
//! concatenation, arithmetic, ternaries, `matches`, `size`, macros over lists); the crate is
//! actively maintained, pure Rust, and its parse errors give line and column. JMESPath was
//! the runner-up (good for projections, weak for arithmetic and conditions); the JSONata
//! and Bloblang ports are incomplete or unmaintained. See `docs/mapping.md`.

pub mod apply;
pub mod batch;
pub mod cast;
pub mod compile;
pub mod cost;
pub mod error;
pub mod expr;
pub mod path;
pub mod preview;
pub mod schema;
pub mod spec;
pub mod transform;
pub mod validate;

pub use apply::Record;
pub use batch::{ColumnarError, MappedBatch};
pub use compile::{CompiledMapping, Mapping};
pub use error::{MappingError, RecordError};
pub use path::FieldPath;
pub use preview::{PreviewOutput, PreviewResult, preview};
pub use schema::{Schema, SchemaField, ValueKind};
pub use spec::{CastType, ConcatSpec, MappingSpec, RuleSpec, TransformSpec};
pub use validate::{ValidationIssue, ValidationReport, validate};
