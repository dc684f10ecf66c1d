//! The scheduler: starts runs of enabled flows on their cron schedule (with seconds) in
//! their time zone.
//!
//! Each tick, for every enabled flow with a schedule: without a stored `next_run_at` it
//! stores the next occurrence after now; when `next_run_at` has passed it starts ONE run
//! (`trigger = schedule`) and stores the next occurrence after *now* — so after downtime
//! a schedule missed N times runs once, then continues from now. Moving `next_run_at` is
//! a compare-and-set, so only one of several servers on one database starts the run.
//! A tick while a run of the flow is going (and concurrent runs are not allowed) is
//! skipped.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::flow_store;
use crate::run_manager::{RunManager, Trigger};

/// The next occurrence of `schedule` (cron with seconds) in `timezone` strictly after
/// `after`; `None` when the expression or zone is invalid or never fires again.
pub fn next_after(
    schedule: &str,
    timezone: Option<&str>,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let zone: Tz = match timezone {
        Some(name) => name.parse().ok()?,
        None => Tz::UTC,
    };
    let cron = croner::Cron::new(schedule)
        .with_seconds_required()
        .parse()
        .ok()?;
    cron.find_next_occurrence(&after.with_timezone(&zone), false)
        .ok()
        .map(|next| next.with_timezone(&Utc))
}

/// What to do with one flow at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Start a run now.
    pub run_now: bool,
    /// Store this as the next run (`None`: leave it).
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Decide for a flow whose stored next run is `stored`.
pub fn decide(
    schedule: &str,
    timezone: Option<&str>,
    stored: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Decision {
    match stored {
        None => Decision {
            run_now: false,
            next_run_at: next_after(schedule, timezone, now),
        },
        Some(due) if due <= now => Decision {
            run_now: true,
            next_run_at: next_after(schedule, timezone, now),
        },
        Some(_) => Decision {
            run_now: false,
            next_run_at: None,
        },
    }
}

/// Run the scheduler until the manager shuts down.
pub async fn run(manager: RunManager) {
    let tick = manager.settings().scheduler_tick;
    crate::run_manager::every(&manager.shutdown_token(), tick, || async {
        if let Err(error) = tick_once(&manager, Utc::now()).await {
            tracing::warn!(error = %error.message(), "scheduler tick failed");
        }
    })
    .await;
}

/// One pass over the scheduled flows.
pub async fn tick_once(manager: &RunManager, now: DateTime<Utc>) -> Result<(), kernel::Error> {
    let db = manager.db();
    for flow in flow_store::scheduled(db).await? {
        let decision = decide(
            &flow.schedule,
            flow.timezone.as_deref(),
            flow.next_run_at,
            now,
        );
        let Some(next) = decision.next_run_at else {
            continue;
        };
        if !flow_store::claim_next_run(db, &flow.id, flow.next_run_at, next).await? {
            continue;
        }
        if decision.run_now {
            let stored = match flow_store::get(db, &flow.id).await {
                Ok(stored) => stored,
                Err(_) => continue,
            };
            match manager.submit(&stored, Trigger::Schedule, None, None).await {
                Ok((run, _)) => {
                    tracing::info!(flow_id = %flow.id, run_id = %run.id, "scheduled run started");
                }
                Err(error) => {
                    tracing::info!(flow_id = %flow.id, reason = %error.message(), "scheduled run skipped");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use chrono::TimeZone as _;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 10, h, m, s).unwrap()
    }

    #[test]
    fn a_schedule_missed_many_times_runs_once_then_continues_from_now() {
        let every_minute = "0 * * * * *";
        // Due at 10:00, the server was down until 10:05:30: six occurrences missed.
        let decision = decide(every_minute, None, Some(at(10, 0, 0)), at(10, 5, 30));
        assert_eq!(
            decision,
            Decision {
                run_now: true,
                next_run_at: Some(at(10, 6, 0))
            }
        );
        // The next tick, a second later, does nothing: the missed ones are not replayed.
        let decision = decide(every_minute, None, Some(at(10, 6, 0)), at(10, 5, 31));
        assert_eq!(
            decision,
            Decision {
                run_now: false,
                next_run_at: None
            }
        );
        // At 10:06 it runs again.
        let decision = decide(every_minute, None, Some(at(10, 6, 0)), at(10, 6, 0));
        assert!(decision.run_now);
        assert_eq!(decision.next_run_at, Some(at(10, 7, 0)));
    }

    #[test]
    fn a_new_schedule_waits_for_its_first_occurrence() {
        let decision = decide("30 0 3 * * *", None, None, at(10, 0, 0));
        assert!(!decision.run_now);
        assert_eq!(
            decision.next_run_at,
            Some(Utc.with_ymd_and_hms(2025, 3, 11, 3, 0, 30).unwrap())
        );
    }

    #[test]
    fn the_time_zone_of_the_schedule_is_honoured() {
        // 02:00 in Paris (UTC+1 in March before the change) is 01:00 UTC.
        let next = next_after("0 0 2 * * *", Some("Europe/Paris"), at(0, 0, 0)).unwrap();
        assert_eq!(next, at(1, 0, 0));
        assert_eq!(
            next_after("0 0 2 * * *", Some("Mars/Olympus"), at(0, 0, 0)),
            None
        );
    }
}
