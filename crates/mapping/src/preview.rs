//! Preview: a mapping applied to sample records, every record's errors collected.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compile::Mapping;
use crate::error::{MappingError, RecordError};
use crate::spec::MappingSpec;

/// The result of [`preview`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewResult {
    /// One entry per sample, in order.
    pub outputs: Vec<PreviewOutput>,
}

/// What one sample record became.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewOutput {
    /// The sample's position.
    pub index: usize,
    /// The mapped record, or null when any rule failed.
    pub output: Option<Value>,
    /// Every rule error of this record.
    pub errors: Vec<RecordError>,
}

/// Compiles `spec` (returning its errors when it does not compile) and applies it to each
/// sample, without stopping at a failing one.
pub fn preview(spec: &MappingSpec, samples: &[Value]) -> Result<PreviewResult, Vec<MappingError>> {
    let mapping = Mapping::compile(spec)?;
    let outputs = samples
        .iter()
        .enumerate()
        .map(|(index, sample)| match mapping.apply_value(sample) {
            Ok(output) => PreviewOutput {
                index,
                output: Some(output),
                errors: Vec::new(),
            },
            Err(errors) => PreviewOutput {
                index,
                output: None,
                errors,
            },
        })
        .collect();
    Ok(PreviewResult { outputs })
}
