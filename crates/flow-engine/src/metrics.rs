//! The metrics a flow run emits, through the `metrics` facade (the telemetry crate installs
//! the Prometheus recorder):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `flow_runs_total` | counter | `status` (`succeeded`, `failed`, `cancelled`) |
//! | `flow_run_duration_seconds` | histogram | `status` |
//! | `flow_records_read_total` | counter | |
//! | `flow_records_written_total` | counter | |
//! | `flow_records_rejected_total` | counter | `stage` (`mapping`, `target`) |
//! | `flow_batch_retries_total` | counter | |

use std::time::Duration;

use crate::journal::DeadLetterStage;

/// Describes the metrics once (help texts); harmless to call again.
pub fn describe() {
    metrics::describe_counter!("flow_runs_total", "Flow runs finished, by status");
    metrics::describe_histogram!(
        "flow_run_duration_seconds",
        metrics::Unit::Seconds,
        "Duration of flow runs"
    );
    metrics::describe_counter!("flow_records_read_total", "Records read by flow runs");
    metrics::describe_counter!("flow_records_written_total", "Records written by flow runs");
    metrics::describe_counter!(
        "flow_records_rejected_total",
        "Records dead-lettered by flow runs, by stage"
    );
    metrics::describe_counter!(
        "flow_batch_retries_total",
        "Batch writes retried after a transient error"
    );
}

/// A run ended.
pub(crate) fn run_finished(status: &'static str, duration: Duration) {
    metrics::counter!("flow_runs_total", "status" => status).increment(1);
    metrics::histogram!("flow_run_duration_seconds", "status" => status)
        .record(duration.as_secs_f64());
}

/// A batch was processed.
pub(crate) fn batch_done(read: u64, written: u64, mapping_rejects: u64, target_rejects: u64) {
    metrics::counter!("flow_records_read_total").increment(read);
    metrics::counter!("flow_records_written_total").increment(written);
    if mapping_rejects > 0 {
        metrics::counter!("flow_records_rejected_total", "stage" => DeadLetterStage::Mapping.as_str())
            .increment(mapping_rejects);
    }
    if target_rejects > 0 {
        metrics::counter!("flow_records_rejected_total", "stage" => DeadLetterStage::Target.as_str())
            .increment(target_rejects);
    }
}

/// A batch write is retried.
pub(crate) fn batch_retried() {
    metrics::counter!("flow_batch_retries_total").increment(1);
}
