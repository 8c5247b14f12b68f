//! Turns time into jobs. The cron callbacks only enqueue (idempotently, so two
//! daemons whose timers both fire make one job); the job worker does the work.
//! Only fixed UTC intervals are used: tokio-cron-scheduler freezes time-zoned
//! schedules to one UTC offset, which drifts across daylight-saving changes.

use crate::app::SharedApp;
use crate::jobs::Job;
use anyhow::Result;
use std::time::Duration;
use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

/// Starts the timers. Keep the returned scheduler alive; `shutdown` stops it.
pub async fn start(app: SharedApp) -> Result<JobScheduler> {
    let sched = JobScheduler::new().await?;
    let every = [
        (app.config.scheduler.publish_every_secs, Job::PublishDue),
        (app.config.scheduler.rescan_every_secs, Job::SyncContent),
    ];
    for (secs, job) in every {
        if secs == 0 {
            continue;
        }
        let app = app.clone();
        let cron = CronJob::new_repeated_async(Duration::from_secs(secs), move |_, _| {
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
