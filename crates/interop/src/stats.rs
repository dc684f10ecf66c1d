//! Flow monitoring figures computed from its recent runs.

use chrono::{DateTime, Utc};

use crate::run_store::{FlowRun, is_finished};

/// The last run of a flow.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LastRun {
    /// Run id.
    pub id: String,
    /// Its status.
    pub status: String,
    /// When it ended (null while going).
    pub finished_at: Option<DateTime<Utc>>,
}

/// Figures over a flow's recent finished runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct FlowStats {
    /// The newest run, whatever its status.
    pub last_run: Option<LastRun>,
    /// Finished runs considered (the newest, at most the window).
    pub runs: usize,
    /// Share of those that succeeded, 0 to 1 (null without finished runs).
    pub success_rate: Option<f64>,
    /// Median duration in milliseconds (runs that started).
    pub duration_p50_ms: Option<i64>,
    /// 95th percentile duration in milliseconds.
    pub duration_p95_ms: Option<i64>,
    /// Average records read per run.
    pub records_per_run_avg: Option<f64>,
}

/// The nearest-rank percentile `p` (0..=100) of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Compute the figures from runs, newest first.
pub fn compute(runs: &[FlowRun]) -> FlowStats {
    let last_run = runs.first().map(|run| LastRun {
        id: run.id.clone(),
        status: run.status.clone(),
        finished_at: run.finished_at,
    });
    let finished: Vec<&FlowRun> = runs.iter().filter(|run| is_finished(&run.status)).collect();
    let count = finished.len();
    let succeeded = finished
        .iter()
        .filter(|run| run.status == "succeeded")
        .count();
    let mut durations: Vec<i64> = finished
        .iter()
        .filter_map(|run| Some((run.finished_at? - run.started_at?).num_milliseconds()))
        .collect();
    durations.sort_unstable();
    let records: i64 = finished.iter().map(|run| run.records_read).sum();
    #[allow(clippy::cast_precision_loss)]
    let ratio = |value: f64| (count > 0).then(|| value / count as f64);
    #[allow(clippy::cast_precision_loss)]
    FlowStats {
        last_run,
        runs: count,
        success_rate: ratio(succeeded as f64),
        duration_p50_ms: percentile(&durations, 50),
        duration_p95_ms: percentile(&durations, 95),
        records_per_run_avg: ratio(records as f64),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use chrono::Duration;

    fn run(id: &str, status: &str, millis: i64, read: i64) -> FlowRun {
        let start = Utc::now();
        FlowRun {
            id: id.into(),
            flow_id: "f".into(),
            status: status.into(),
            trigger: "manual".into(),
            idempotency_key: None,
            requested_by: None,
            created_at: start,
            started_at: Some(start),
            finished_at: (status != "running").then(|| start + Duration::milliseconds(millis)),
            records_read: read,
            records_written: read,
            records_rejected: 0,
            error: None,
            trace_id: None,
            acting_subject: None,
        }
    }

    #[test]
    fn figures_come_from_finished_runs() {
        let runs = vec![
            run("5", "running", 0, 0),
            run("4", "succeeded", 100, 10),
            run("3", "failed", 300, 0),
            run("2", "succeeded", 200, 20),
            run("1", "succeeded", 1000, 30),
        ];
        let stats = compute(&runs);
        assert_eq!(stats.last_run.unwrap().id, "5");
        assert_eq!(stats.runs, 4);
        assert_eq!(stats.success_rate, Some(0.75));
        assert_eq!(stats.duration_p50_ms, Some(200));
        assert_eq!(stats.duration_p95_ms, Some(1000));
        assert_eq!(stats.records_per_run_avg, Some(15.0));
        let empty = compute(&[]);
        assert_eq!(empty.success_rate, None);
        assert!(empty.last_run.is_none());
    }
}
