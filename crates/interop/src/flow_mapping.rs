//! The mapping of a flow: inline (`mapping`) or stored (`mapping_id`), compiled.

use std::sync::Arc;

use flow_engine::FlowSpec;
use kernel::FieldError;
use mapping::{CompiledMapping, Mapping, MappingSpec};
use serde_json::json;
use storage::Database;

use crate::mapping_store;

/// The flow's mapping, compiled. Errors name the offending key: `/mapping_id` for an
/// unknown stored mapping, `/mapping/rules/<index>/...` for an inline rule that does not
/// compile (`/mapping_id` plus the rule index for a stored one).
pub async fn compile(
    db: &Database,
    spec: &FlowSpec,
) -> Result<Arc<CompiledMapping>, Vec<FieldError>> {
    let (mapping_spec, prefix) = match (&spec.mapping, &spec.mapping_id) {
        (Some(inline), _) => (inline.clone(), "/mapping"),
        (None, Some(id)) => {
            let stored = mapping_store::get(db, id)
                .await
                .map_err(|_| vec![FieldError::new("/mapping_id", "no mapping with this id")])?;
            let spec = MappingSpec::from_json_value(json!({ "rules": stored.rules })).map_err(
                |errors| {
                    errors
                        .into_iter()
                        .map(|error| {
                            FieldError::new(
                                "/mapping_id",
                                format!(
                                    "the stored mapping is invalid at {}: {}",
                                    error.path, error.message
                                ),
                            )
                        })
                        .collect::<Vec<_>>()
                },
            )?;
            (spec, "/mapping_id")
        }
        (None, None) => {
            return Err(vec![FieldError::new(
                "/mapping",
                "a flow needs a `mapping` (inline) or a `mapping_id`",
            )]);
        }
    };
    Mapping::compile(&mapping_spec)
        .map(Arc::new)
        .map_err(|errors| {
            errors
                .into_iter()
                .map(|error| {
                    if prefix == "/mapping" {
                        FieldError::new(format!("/mapping{}", error.path), error.message)
                    } else {
                        FieldError::new(prefix, format!("{}: {}", error.path, error.message))
                    }
                })
                .collect()
        })
}
