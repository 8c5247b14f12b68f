//! SQL of the durable job table. The rules (what a job does, when it retries) live in
//! `crate::jobs`; this file only moves rows.

use super::{Engine, Store};
use crate::clock::{from_millis, to_millis};
use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

/// How an enqueue treats an existing job with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnqueueMode {
    /// A side effect that must happen once: an existing key, in any state, wins.
    Once,
    /// A re-runnable job (render a feed, ping a hub): a pending one absorbs the
    /// request, a running one is marked to run again when it finishes, a finished
    /// one is made pending again.
    Coalesce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Pending,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "running" => JobState::Running,
            "done" => JobState::Done,
            "dead" => JobState::Dead,
            _ => JobState::Pending,
        }
    }
}

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub payload: String,
    pub state: JobState,
    /// Attempts started so far, this one included once claimed.
    pub attempts: i64,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub worker: Option<String>,
}

/// Number of jobs per state.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct QueueCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

/// What a claim writes: lease (`$1`), worker (`$2`), one more attempt, time (`$3`).
const CLAIM: &str = "UPDATE jobs SET state = 'running', lease_until = $1, worker = $2, \
                     attempts = attempts + 1, updated_at = $3";

const JOB_COLUMNS: &str =
    "id, key, kind, payload, state, attempts, run_at, last_error, updated_at, worker";

impl Store {
    /// Adds a job unless one with the same key exists (see [`EnqueueMode`]). Takes a
    /// connection so callers can enqueue in the transaction that caused the job.
    /// Returns whether a job was created or re-armed.
    pub async fn enqueue(
        conn: &mut sqlx::AnyConnection,
        key: &str,
        kind: &str,
        payload: &str,
        run_at: DateTime<Utc>,
        mode: EnqueueMode,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let conflict = match mode {
            EnqueueMode::Once => "DO NOTHING",
            EnqueueMode::Coalesce => {
                "DO UPDATE SET \
                 state = CASE WHEN jobs.state = 'running' THEN 'running' ELSE 'pending' END, \
                 dirty = CASE WHEN jobs.state = 'running' THEN 1 ELSE 0 END, \
                 run_at = CASE WHEN jobs.state = 'running' THEN jobs.run_at ELSE excluded.run_at END, \
                 attempts = CASE WHEN jobs.state IN ('done', 'dead') THEN 0 ELSE jobs.attempts END, \
                 last_error = CASE WHEN jobs.state IN ('done', 'dead') THEN NULL ELSE jobs.last_error END, \
                 payload = excluded.payload, updated_at = excluded.updated_at"
            }
        };
        let sql = format!(
            "INSERT INTO jobs (key, kind, payload, state, attempts, run_at, dirty, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', 0, $4, 0, $5, $5) ON CONFLICT (key) {conflict}"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(kind)
            .bind(payload)
            .bind(to_millis(run_at))
            .bind(to_millis(now))
            .execute(&mut *conn)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Convenience: enqueue outside a caller's transaction.
    pub async fn enqueue_now(
        &self,
        key: &str,
        kind: &str,
        payload: &str,
        mode: EnqueueMode,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        Self::enqueue(&mut conn, key, kind, payload, now, mode, now).await
    }

    /// Leases up to `limit` due jobs to `worker` until `lease_until`. A running job
    /// whose lease ran out (its worker died) is due again. Each claim counts as an
    /// attempt. On PostgreSQL concurrent claimers skip each other's rows.
    pub async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<JobRow>> {
        // Candidates come from two index walks that stop after `limit` rows each (the
        // `jobs_due` index is ordered by state, run_at, id); one `OR` of both
        // conditions would sort every due job on each claim.
        let candidates = "SELECT id FROM (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $3 \
             ORDER BY run_at, id LIMIT $4) AS due UNION ALL \
             SELECT id FROM (SELECT id FROM jobs WHERE state = 'running' AND lease_until < $3 \
             ORDER BY run_at, id LIMIT $4) AS expired";
        let chosen = match self.engine {
            // Concurrent claimers: lock the rows, skip those another worker holds, and
            // check the conditions again on the locked rows.
            Engine::Postgres => format!(
                "SELECT id FROM jobs WHERE id IN ({candidates}) \
                 AND ((state = 'pending' AND run_at <= $3) OR (state = 'running' AND lease_until < $3)) \
                 ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED"
            ),
            // One writer at a time: the statement runs in its own write transaction.
            Engine::Sqlite => format!(
                "SELECT id FROM jobs WHERE id IN ({candidates}) ORDER BY run_at, id LIMIT $4"
            ),
        };
        let sql = format!("{CLAIM} WHERE id IN ({chosen}) RETURNING {JOB_COLUMNS}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_millis(lease_until))
            .bind(worker)
            .bind(to_millis(now))
            .bind(limit)
            .fetch_all(&self.hot)
            .await?;
        rows.iter().map(row_to_job).collect()
    }

    /// Claims the jobs with these keys that are pending and due, for a caller that
    /// runs them at once (see `jobs::run_now`); the rest are left where they are.
    pub async fn claim_keys(
        &self,
        worker: &str,
        keys: &[String],
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<JobRow>> {
        let mut out = vec![];
        for chunk in keys.chunks(100) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
            let sql = format!(
                "{CLAIM} WHERE key IN ({}) AND state = 'pending' AND run_at <= $3 RETURNING {JOB_COLUMNS}",
                marks.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to_millis(lease_until))
                .bind(worker)
                .bind(to_millis(now));
            for k in chunk {
                q = q.bind(k.as_str());
            }
            for r in q.fetch_all(&self.hot).await? {
                out.push(row_to_job(&r)?);
            }
        }
        Ok(out)
    }

    /// Records success. Only the claim that is still current may finish a job: a
    /// worker whose lease was taken over writes nothing. Returns whether it counted.
    pub async fn complete(&self, job: &JobRow, now: DateTime<Utc>) -> Result<bool> {
        Ok(self.complete_many(std::slice::from_ref(job), now).await? > 0)
    }

    /// [`Store::complete`] for many jobs in one transaction (one commit for a batch
    /// of quick jobs). Returns how many counted.
    pub async fn complete_many(&self, jobs: &[JobRow], now: DateTime<Utc>) -> Result<usize> {
        if jobs.is_empty() {
            return Ok(0);
        }
        // One statement per 400 jobs, matching (id, worker, attempts): only the claim
        // that is still current counts.
        let mut tx = self.hot.begin().await?;
        let mut n = 0;
        for chunk in jobs.chunks(400) {
            let pairs = (0..chunk.len())
                .map(|i| format!("(${}, ${}, ${})", 3 * i + 2, 3 * i + 3, 3 * i + 4))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "UPDATE jobs SET state = CASE WHEN dirty = 1 THEN 'pending' ELSE 'done' END, \
                 attempts = CASE WHEN dirty = 1 THEN 0 ELSE attempts END, dirty = 0, run_at = $1, \
                 lease_until = NULL, last_error = NULL, finished_at = $1, updated_at = $1 \
                 WHERE state = 'running' AND (id, worker, attempts) IN (VALUES {pairs})"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(now));
            for job in chunk {
                q = q
                    .bind(job.id)
                    .bind(job.worker.clone().unwrap_or_default())
                    .bind(job.attempts);
            }
            let done = q.execute(&mut *tx).await?;
            n += usize::try_from(done.rows_affected()).unwrap_or(0);
        }
        tx.commit().await?;
        Ok(n)
    }

    /// Records a failure: retried at `retry_at`, or a dead letter when `None`.
    pub async fn fail(
        &self,
        job: &JobRow,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, lease_until = NULL, updated_at = $4, \
             finished_at = CASE WHEN $1 = 'dead' THEN $4 ELSE NULL END, dirty = 0 \
             WHERE id = $5 AND state = 'running' AND worker = $6 AND attempts = $7",
        )
        .bind(if retry_at.is_some() { "pending" } else { "dead" })
        .bind(to_millis(retry_at.unwrap_or(now)))
        .bind(error)
        .bind(to_millis(now))
        .bind(job.id)
        .bind(job.worker.as_deref().unwrap_or_default())
        .bind(job.attempts)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Puts a claimed job back until `until` without counting the attempt.
    pub async fn defer(
        &self,
        job: &JobRow,
        reason: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'pending', run_at = $1, attempts = attempts - 1, last_error = $2, \
             lease_until = NULL, updated_at = $3 WHERE id = $4 AND state = 'running' AND worker = $5 AND attempts = $6",
        )
        .bind(to_millis(until))
        .bind(reason)
        .bind(to_millis(now))
        .bind(job.id)
        .bind(job.worker.as_deref().unwrap_or_default())
        .bind(job.attempts)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Makes a dead letter pending again, with a fresh attempt budget.
    pub async fn retry_dead(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1 WHERE id = $2 AND state = 'dead'",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// One job by its numeric id.
    pub async fn job_by_id(&self, id: i64) -> Result<Option<JobRow>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_job).transpose()
    }

    /// Cancels a pending job: it becomes a dead letter saying so, which keeps a `Once`
    /// side effect from ever running for that key (an operator may still retry it).
    pub async fn cancel_pending(&self, id: i64, reason: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'dead', last_error = $1, finished_at = $2, updated_at = $2 \
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(reason)
        .bind(to_millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Jobs whose key starts with `prefix`, oldest first.
    pub async fn jobs_with_prefix(&self, prefix: &str) -> Result<Vec<JobRow>> {
        // Not LIKE: `_` and `%` in a key are literal characters.
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE substr(key, 1, $2) = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(prefix)
            .bind(i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_job).collect()
    }

    pub async fn job(&self, key: &str) -> Result<Option<JobRow>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE key = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_job).transpose()
    }

    /// Jobs in a state (all states for `None`), most recently changed first.
    pub async fn jobs(&self, state: Option<JobState>, limit: i64) -> Result<Vec<JobRow>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 = '' OR state = $1) ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state.map_or("", JobState::as_str))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_job).collect()
    }

    pub async fn queue_counts(&self) -> Result<QueueCounts> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        let mut c = QueueCounts::default();
        for r in rows {
            let state: String = r.try_get("state")?;
            let n: i64 = r.try_get("n")?;
            match JobState::parse(&state) {
                JobState::Pending => c.pending = n,
                JobState::Running => c.running = n,
                JobState::Done => c.done = n,
                JobState::Dead => c.dead = n,
            }
        }
        Ok(c)
    }

    /// The earliest time a pending job becomes due, if any.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let t: Option<i64> =
            sqlx::query_scalar("SELECT MIN(run_at) FROM jobs WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(t.map(from_millis))
    }
}

fn row_to_job(r: &AnyRow) -> Result<JobRow> {
    let state: String = r.try_get("state")?;
    Ok(JobRow {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        kind: r.try_get("kind")?,
        payload: r.try_get("payload")?,
        state: JobState::parse(&state),
        attempts: r.try_get("attempts")?,
        run_at: from_millis(r.try_get("run_at")?),
        last_error: r.try_get("last_error")?,
        updated_at: from_millis(r.try_get("updated_at")?),
        worker: r.try_get("worker")?,
    })
}
