//! Durable jobs: every side effect and every re-render is a row with a unique key,
//! claimed under a lease, retried with exponential backoff and jitter on transient
//! errors, and kept as a dead letter (visible in `status`) on permanent ones or when
//! its attempts run out. Only the runner here retries; handlers just say what kind of
//! failure they had.

use crate::app::{App, SharedApp};
use crate::metrics::Metrics;
use crate::store::{EnqueueMode, JobRow, Store};
use crate::{publish, websub};
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Every kind of job, with its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Re-render one channel in one locale (all formats and archive pages).
    RenderFeed { channel: String, locale: String },
    /// Re-render a locale's landing page and the OPML.
    RenderPages { locale: String },
    /// Announce translations that came due.
    PublishDue,
    /// Re-read the content folder.
    SyncContent,
    /// Poll the upstream feeds that are due (`[[ingest]]` in `feed.toml`).
    PollIngest,
    /// Tell a WebSub hub that a feed changed.
    WebSubPing { hub: String, topic: String },
    /// Post one translation to one social account (once, ever).
    PostSocial {
        article: String,
        locale: String,
        account: String,
    },
    /// Delete that post (the translation was retracted).
    DeleteSocial {
        article: String,
        locale: String,
        account: String,
    },
    /// Edit that post to a corrected version (`version` is the translation's hash).
    EditSocial {
        article: String,
        locale: String,
        account: String,
        version: String,
    },
    /// Find recipients whose digest is due and queue one `SendDigest` for each.
    PlanDigests,
    /// Send one recipient the digest of one period (once, ever). `cutoff` (ms since
    /// the epoch) ends what it covers; it is not part of the key.
    SendDigest {
        recipient: String,
        period: String,
        cutoff: i64,
    },
    /// Send a pending subscriber the confirmation link (the `request`-th time).
    SendConfirmation { subscriber: String, request: u32 },
    /// Read delivery status notifications from the bounce maildir.
    ScanBounces,
}

impl Job {
    /// The unique key: two enqueues of the same work are one job.
    pub fn key(&self) -> String {
        match self {
            Job::RenderFeed { channel, locale } => format!("feeds:{channel}:{locale}"),
            Job::RenderPages { locale } => format!("pages:{locale}"),
            Job::PublishDue => "publish_due".into(),
            Job::SyncContent => "sync_content".into(),
            Job::PollIngest => "poll_ingest".into(),
            Job::WebSubPing { hub, topic } => format!("websub:{hub}:{topic}"),
            Job::PostSocial {
                article,
                locale,
                account,
            } => crate::social::post_key(article, locale, account),
            Job::DeleteSocial {
                article,
                locale,
                account,
            } => format!("social-delete:{article}:{locale}:{account}"),
            Job::EditSocial {
                article,
                locale,
                account,
                version,
            } => format!("social-edit:{article}:{locale}:{account}:{version}"),
            Job::PlanDigests => "plan_digests".into(),
            Job::SendDigest {
                recipient, period, ..
            } => format!("digest:{recipient}:{period}"),
            Job::SendConfirmation {
                subscriber,
                request,
            } => format!("confirm:{subscriber}:{request}"),
            Job::ScanBounces => "scan_bounces".into(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Job::RenderFeed { .. } => "render_feed",
            Job::RenderPages { .. } => "render_pages",
            Job::PublishDue => "publish_due",
            Job::SyncContent => "sync_content",
            Job::PollIngest => "poll_ingest",
            Job::WebSubPing { .. } => "websub_ping",
            Job::PostSocial { .. } => "post_social",
            Job::DeleteSocial { .. } => "delete_social",
            Job::EditSocial { .. } => "edit_social",
            Job::PlanDigests => "plan_digests",
            Job::SendDigest { .. } => "send_digest",
            Job::SendConfirmation { .. } => "send_confirmation",
            Job::ScanBounces => "scan_bounces",
        }
    }

    /// Renders and pings are re-runnable work, so they coalesce; a social post is a
    /// one-shot side effect: its key, once used, is never run again.
    fn mode(&self) -> EnqueueMode {
        match self {
            Job::PostSocial { .. }
            | Job::DeleteSocial { .. }
            | Job::EditSocial { .. }
            | Job::SendDigest { .. }
            | Job::SendConfirmation { .. } => EnqueueMode::Once,
            _ => EnqueueMode::Coalesce,
        }
    }

    /// Enqueues inside the caller's transaction.
    pub async fn enqueue(
        &self,
        conn: &mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let payload = serde_json::to_string(self)?;
        Store::enqueue(
            conn,
            &self.key(),
            self.kind(),
            &payload,
            now,
            self.mode(),
            now,
        )
        .await
    }

    /// Enqueues on its own and wakes the worker.
    pub async fn submit(&self, app: &App) -> Result<bool> {
        let now = app.now();
        let payload = serde_json::to_string(self)?;
        let created = app
            .store
            .enqueue_now(&self.key(), self.kind(), &payload, self.mode(), now)
            .await?;
        app.wake.notify_one();
        Ok(created)
    }

    async fn run(&self, app: &SharedApp) -> Result<(), JobError> {
        match self {
            Job::RenderFeed { channel, locale } => {
                publish::render_feed(app, channel, locale)
                    .await
                    .map_err(JobError::transient)?;
            }
            Job::RenderPages { locale } => publish::render_pages(app, locale)
                .await
                .map_err(JobError::transient)?,
            Job::PublishDue => {
                publish::publish_due(app)
                    .await
                    .map_err(JobError::transient)?;
            }
            Job::SyncContent => {
                let summary = publish::sync_content(app, false)
                    .await
                    .map_err(JobError::transient)?;
                // The feeds in the language that changed are what its readers wait
                // for: they render now, in this job, the others in the queue.
                let first: Vec<String> = summary
                    .first
                    .iter()
                    .map(|(channel, locale)| {
                        Job::RenderFeed {
                            channel: channel.clone(),
                            locale: locale.clone(),
                        }
                        .key()
                    })
                    .collect();
                run_now(app, &first).await.map_err(JobError::transient)?;
                app.wake.notify_one();
                publish::publish_due(app)
                    .await
                    .map_err(JobError::transient)?;
            }
            Job::PollIngest => {
                // A failing source is recorded on its row; only the store failing
                // fails the job.
                crate::ingest::poll_all(app, false)
                    .await
                    .map_err(JobError::transient)?;
            }
            Job::WebSubPing { hub, topic } => {
                websub::ping(&app.http, hub, topic).await?;
                Metrics::inc(&app.metrics.websub_pings);
            }
            Job::PostSocial {
                article,
                locale,
                account,
            } => crate::social::run_post(app, article, locale, account).await?,
            Job::DeleteSocial {
                article,
                locale,
                account,
            } => crate::social::run_followup(app, article, locale, account, true).await?,
            Job::EditSocial {
                article,
                locale,
                account,
                ..
            } => crate::social::run_followup(app, article, locale, account, false).await?,
            Job::PlanDigests => {
                crate::email::digest::plan(app)
                    .await
                    .map_err(JobError::transient)?;
            }
            Job::SendDigest {
                recipient,
                period,
                cutoff,
            } => {
                let key = self.key();
                crate::email::digest::send_digest(app, &key, recipient, period, *cutoff).await?
            }
            Job::SendConfirmation {
                subscriber,
                request,
            } => {
                let key = self.key();
                crate::email::digest::send_confirmation(app, &key, subscriber, *request).await?
            }
            Job::ScanBounces => {
                crate::email::bounce::scan_maildir(app)
                    .await
                    .map_err(JobError::transient)?;
            }
        }
        Ok(())
    }
}

/// Why a job failed, and whether trying again can help.
#[derive(Debug)]
pub struct JobError {
    pub message: String,
    pub transient: bool,
    /// The remote side asked us to wait this long (`Retry-After`).
    pub retry_after: Option<std::time::Duration>,
}

/// Not a failure: the job may not run before `until` (quiet hours, a rate limit of our
/// own). It is put back without using up an attempt.
#[derive(Debug)]
pub struct Deferred {
    pub until: DateTime<Utc>,
    pub reason: String,
}

const DEFER: &str = "deferred until ";

impl From<Deferred> for JobError {
    fn from(d: Deferred) -> Self {
        JobError {
            message: format!("{DEFER}{}: {}", d.until.to_rfc3339(), d.reason),
            transient: true,
            retry_after: None,
        }
    }
}

fn parse_deferral(message: &str) -> Option<(DateTime<Utc>, String)> {
    let rest = message.strip_prefix(DEFER)?;
    let (at, reason) = rest.split_once(": ")?;
    Some((
        DateTime::parse_from_rfc3339(at).ok()?.to_utc(),
        reason.to_owned(),
    ))
}

impl JobError {
    pub fn transient(e: impl fmt::Display) -> Self {
        Self {
            message: e.to_string(),
            transient: true,
            retry_after: None,
        }
    }
    pub fn permanent(e: impl fmt::Display) -> Self {
        Self {
            message: e.to_string(),
            transient: false,
            retry_after: None,
        }
    }
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The delay before attempt `attempt + 1`: base × 2^(attempt-1), capped, then a random
/// point in its upper half so that many failing jobs do not retry in lockstep.
/// A longer `Retry-After` from the remote side wins.
pub fn backoff(
    base_secs: u64,
    max_secs: u64,
    attempt: i64,
    retry_after: Option<std::time::Duration>,
) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = base_secs.saturating_mul(1u64 << exp).min(max_secs).max(1);
    let ms = full * 1000;
    let jittered = rand::rng().random_range(ms / 2..=ms);
    let floor = retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Duration::milliseconds(i64::try_from(jittered.max(floor)).unwrap_or(i64::MAX))
}

/// Claims and runs due jobs until `shutdown` fires (the jobs in flight then finish and
/// are recorded). Idle, it sleeps until woken by an enqueue or for `jobs.poll_ms` (jobs
/// from other processes, retries coming due).
pub async fn run_worker(app: SharedApp, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if let Err(e) = pipeline(&app, Until::Shutdown(&mut shutdown)).await {
            tracing::error!(error = %e, "job queue unavailable");
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(app.config.jobs.poll_ms)) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// When [`pipeline`] returns.
enum Until<'a> {
    /// Once nothing is running and nothing is due.
    Idle,
    /// Once `shutdown` is true and the jobs in flight have finished.
    Shutdown(&'a mut tokio::sync::watch::Receiver<bool>),
}

/// Keeps up to `jobs.concurrency` jobs running. Whenever jobs finish, their successes
/// are recorded together (one statement), and once a quarter of the slots (at least
/// one) are free, that many due jobs are claimed at once: no job waits for the slowest
/// of a batch, and the store still sees one claim and one completion per group of
/// jobs. On an error the jobs in flight run to their end unrecorded (a handler may run
/// again, which every handler tolerates) and the error is returned.
async fn pipeline(app: &SharedApp, until: Until<'_>) -> Result<usize> {
    let mut set = tokio::task::JoinSet::new();
    let result = pipeline_in(app, until, &mut set).await;
    if result.is_err() {
        set.detach_all();
    }
    result
}

async fn pipeline_in(
    app: &SharedApp,
    mut until: Until<'_>,
    set: &mut tokio::task::JoinSet<Result<Option<JobRow>>>,
) -> Result<usize> {
    let limit = app.config.jobs.concurrency.max(1);
    let refill_at = (limit / 4).max(1);
    let poll = std::time::Duration::from_millis(app.config.jobs.poll_ms);
    let lease_secs = i64::try_from(app.config.jobs.lease_secs).unwrap_or(300);
    let mut total = 0;
    // The last claim found fewer jobs than it asked for: claim again only when woken
    // by an enqueue or when nothing runs, not after every finished job.
    let mut queue_empty = false;
    loop {
        let stopping = matches!(&until, Until::Shutdown(s) if *s.borrow());
        let free = limit - set.len();
        if !stopping && free > 0 && (set.is_empty() || (!queue_empty && free >= refill_at)) {
            let now = app.now();
            let lease = now + Duration::seconds(lease_secs);
            let want = i64::try_from(free).unwrap_or(i64::MAX);
            let claimed = app.store.claim(&app.worker_id, now, lease, want).await?;
            queue_empty = claimed.len() < free;
            total += claimed.len();
            for row in claimed {
                let app = app.clone();
                set.spawn(async move { execute(&app, row).await });
            }
        }
        if set.is_empty() {
            match &mut until {
                Until::Idle => return Ok(total),
                Until::Shutdown(shutdown) => {
                    if stopping {
                        return Ok(total);
                    }
                    tokio::select! {
                        _ = app.wake.notified() => {}
                        _ = tokio::time::sleep(poll) => {}
                        _ = shutdown.changed() => {}
                    }
                    queue_empty = false;
                    continue;
                }
            }
        }
        let first = if queue_empty && !stopping {
            tokio::select! {
                r = set.join_next() => r,
                _ = app.wake.notified() => {
                    queue_empty = false;
                    None
                }
            }
        } else {
            set.join_next().await
        };
        let mut done = Vec::new();
        for r in first
            .into_iter()
            .chain(std::iter::from_fn(|| set.try_join_next()))
        {
            if let Some(row) = r?? {
                done.push(row);
            }
        }
        // Successes are recorded together. A crash before that commit runs them again,
        // which every handler tolerates (re-renders are idempotent; a side effect
        // checks its own record before acting).
        record(app, &done).await?;
    }
}

/// Claims up to `jobs.concurrency` due jobs and runs them concurrently. Returns how
/// many ran. Tests call this directly to drive the queue step by step.
pub async fn run_due(app: &SharedApp) -> Result<usize> {
    let now = app.now();
    let lease = now + Duration::seconds(i64::try_from(app.config.jobs.lease_secs).unwrap_or(300));
    let limit = i64::try_from(app.config.jobs.concurrency).unwrap_or(4);
    let claimed = app.store.claim(&app.worker_id, now, lease, limit).await?;
    let n = claimed.len();
    let mut set = tokio::task::JoinSet::new();
    for row in claimed {
        let app = app.clone();
        set.spawn(async move { execute(&app, row).await });
    }
    // Successes are recorded together: one commit per batch, not per job. A crash
    // before that commit runs them again, which every handler tolerates (re-renders
    // are idempotent; a side effect checks its own record before acting).
    let mut done = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Some(row) = r?? {
            done.push(row);
        }
    }
    record(app, &done).await?;
    Ok(n)
}

/// Runs the jobs with these keys now, in the calling task, if they are pending and
/// due; a job another worker holds is left to it. Each is claimed, run and recorded
/// exactly as [`run_due`] would. Returns how many ran.
pub async fn run_now(app: &SharedApp, keys: &[String]) -> Result<usize> {
    if keys.is_empty() {
        return Ok(0);
    }
    let now = app.now();
    let lease = now + Duration::seconds(i64::try_from(app.config.jobs.lease_secs).unwrap_or(300));
    let claimed = app
        .store
        .claim_keys(&app.worker_id, keys, now, lease)
        .await?;
    let n = claimed.len();
    let mut done = Vec::new();
    for row in claimed {
        if let Some(row) = execute(app, row).await? {
            done.push(row);
        }
    }
    record(app, &done).await?;
    Ok(n)
}

/// Runs the queue until nothing is running and nothing is due (for tests and one-shot
/// CLI commands), as the worker does. Returns how many jobs ran.
pub async fn drain(app: &SharedApp) -> Result<usize> {
    pipeline(app, Until::Idle).await
}

/// Records the successes `done` together, in one statement.
async fn record(app: &SharedApp, done: &[JobRow]) -> Result<()> {
    app.store.complete_many(done, app.now()).await?;
    Metrics::add(&app.metrics.jobs_succeeded, done.len());
    Ok(())
}

/// Runs one claimed job; a success is handed back for its caller to [`record`]. Boxed as
/// a trait object because a job (a content sync) may run other jobs through [`run_now`].
type Execution<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Option<JobRow>>> + Send + 'a>>;

fn execute(app: &SharedApp, row: JobRow) -> Execution<'_> {
    Box::pin(async move {
        let outcome = match serde_json::from_str::<Job>(&row.payload) {
            Err(e) => Err(JobError::permanent(format!("unreadable payload: {e}"))),
            Ok(job) => {
                // A panic in a handler is a failed attempt, not a dead worker.
                use futures_util::FutureExt as _;
                let t0 = std::time::Instant::now();
                let r = std::panic::AssertUnwindSafe(job.run(app))
                    .catch_unwind()
                    .await;
                tracing::debug!(job = %row.key, elapsed = ?t0.elapsed(), ok = matches!(r, Ok(Ok(_))), "job ran");
                match r {
                    Ok(r) => r,
                    Err(panic) => {
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_default();
                        Err(JobError::transient(format!("handler panicked: {what}")))
                    }
                }
            }
        };
        let now = app.now();
        match outcome {
            Ok(()) => return Ok(Some(row)),
            Err(e) if e.message.starts_with(DEFER) => {
                let (until, reason) = parse_deferral(&e.message)
                    .unwrap_or((now + Duration::minutes(1), e.message.clone()));
                app.store.defer(&row, &reason, until, now).await?;
                tracing::info!(job = %row.key, until = %until, reason, "deferred");
            }
            Err(e) => {
                let cfg = &app.config.jobs;
                let retry = e.transient && row.attempts < i64::from(cfg.max_attempts);
                let at = retry.then(|| {
                    now + backoff(
                        cfg.backoff_base_secs,
                        cfg.backoff_max_secs,
                        row.attempts,
                        e.retry_after,
                    )
                });
                let message = format!("attempt {}: {}", row.attempts, e.message);
                app.store.fail(&row, &message, at, now).await?;
                if let Some(at) = at {
                    Metrics::inc(&app.metrics.jobs_retried);
                    tracing::warn!(job = %row.key, error = %e, retry_at = %at, "job failed; will retry");
                } else {
                    Metrics::inc(&app.metrics.jobs_dead);
                    tracing::error!(job = %row.key, error = %e, "job failed for good; kept as a dead letter");
                }
            }
        }
        Ok(None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_bounds_and_honours_retry_after() {
        for attempt in 1..=12 {
            let full = (5u64 << (attempt - 1)).min(3600) * 1000;
            let d = backoff(5, 3600, attempt, None).num_milliseconds() as u64;
            assert!(
                d >= full / 2 && d <= full,
                "attempt {attempt}: {d} not in [{}, {full}]",
                full / 2
            );
        }
        let d = backoff(5, 3600, 1, Some(std::time::Duration::from_secs(120)));
        assert_eq!(d.num_seconds(), 120);
    }

    #[test]
    fn keys_are_stable() {
        let j = Job::RenderFeed {
            channel: "news".into(),
            locale: "ar".into(),
        };
        assert_eq!(j.key(), "feeds:news:ar");
        let back: Job = serde_json::from_str(&serde_json::to_string(&j).unwrap()).unwrap();
        assert_eq!(back, j);
    }
}
