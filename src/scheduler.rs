//! Turns time into jobs. The cron callbacks only enqueue (idempotently, so two
//! daemons whose timers both fire make one job); the job worker does the work.
//! Only UTC cron expressions are used: tokio-cron-scheduler freezes time-zoned
//! schedules to one UTC offset, which drifts across daylight-saving changes, and its
//! "repeated" jobs stop for good once the loop falls behind by one interval (their
//! next tick is computed from the previous one, not from now), which a loaded machine
//! does. A cron job's next tick is computed from now.

use crate::app::SharedApp;
use crate::jobs::Job;
use anyhow::Result;
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

/// Starts the timers. Keep the returned scheduler alive; `shutdown` stops it.
pub async fn start(app: SharedApp) -> Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    let email = &app.config.email;
    let every = [
        (app.config.scheduler.publish_every_secs, Job::PublishDue),
        (app.config.scheduler.rescan_every_secs, Job::SyncContent),
        (
            if email.enabled {
                app.config.scheduler.digests_every_secs
            } else {
                0
            },
            Job::PlanDigests,
        ),
        (
            if email.bounce_maildir.as_os_str().is_empty() {
                0
            } else {
                60
            },
            Job::ScanBounces,
        ),
        (app.config.ingest.poll_every_secs, Job::PollIngest),
    ];
    for (secs, job) in every {
        if secs == 0 {
            continue;
        }
        let app = app.clone();
        let cron = CronJob::new_async(cron_every(secs).as_str(), move |_, _| {
            let app = app.clone();
            let job = job.clone();
            Box::pin(async move {
                if let Err(e) = job.submit(&app).await {
                    tracing::error!(job = job.key(), error = %e, "could not enqueue");
                }
            })
        })?;
        sched.add(cron).await?;
    }
    sched.start().await?;
    Ok(sched)
}

/// A six-field UTC cron expression firing about every `secs` seconds: the nearest period
/// that divides a minute, an hour or a day evenly (cron cannot express the others).
pub fn cron_every(secs: u64) -> String {
    fn nearest(divisors: &[u64], want: u64) -> u64 {
        *divisors
            .iter()
            .min_by_key(|d| d.abs_diff(want))
            .unwrap_or(&1)
    }
    const OF_60: [u64; 11] = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
    if secs < 60 {
        format!("*/{} * * * * *", nearest(&OF_60, secs.max(1)))
    } else if secs < 3600 {
        format!("0 */{} * * * *", nearest(&OF_60, (secs + 30) / 60))
    } else {
        format!(
            "0 0 */{} * * *",
            nearest(&[1, 2, 3, 4, 6, 8, 12], (secs + 1800) / 3600)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::cron_every;

    #[test]
    fn intervals_become_cron_expressions() {
        assert_eq!(cron_every(1), "*/1 * * * * *");
        assert_eq!(cron_every(30), "*/30 * * * * *");
        assert_eq!(cron_every(45), "*/30 * * * * *");
        assert_eq!(cron_every(60), "0 */1 * * * *");
        assert_eq!(cron_every(300), "0 */5 * * * *");
        assert_eq!(cron_every(7200), "0 0 */2 * * *");
        for s in [1, 7, 59, 61, 999, 86_400] {
            let job = tokio_cron_scheduler::Job::new_async(cron_every(s).as_str(), |_, _| {
                Box::pin(async {})
            });
            assert!(job.is_ok(), "{s}: {}", cron_every(s));
        }
    }
}
