//! Operating the queue through the API: list jobs by state, retry a dead letter,
//! cancel a pending job; and the state of each upstream feed.

use super::{ApiError, ErrorBody};
use crate::app::SharedApp;
use crate::store::{JobRow, JobState};
use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    /// The unique key (`feeds:news:en`, `social:{article}:{locale}:{account}`, ...).
    pub key: String,
    pub kind: String,
    /// `pending`, `running`, `done` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl From<JobRow> for JobView {
    fn from(j: JobRow) -> Self {
        Self {
            id: j.id,
            key: j.key,
            kind: j.kind,
            state: j.state.as_str().to_owned(),
            attempts: j.attempts,
            run_at: j.run_at,
            last_error: j.last_error,
            updated_at: j.updated_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// `pending`, `running`, `done` or `dead`; every state when left out.
    pub state: Option<String>,
    /// At most this many, most recently changed first. Default 100, at most 1000.
    pub limit: Option<i64>,
}

/// Jobs, most recently changed first.
#[utoipa::path(get, path = "/api/v1/jobs", operation_id = "list_jobs", tag = "jobs",
    params(JobQuery),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The jobs", body = [JobView]),
        (status = 400, description = "Unknown state", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = ErrorBody),
    ))]
pub async fn list(
    State(app): State<SharedApp>,
    Query(q): Query<JobQuery>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some("pending") => Some(JobState::Pending),
        Some("running") => Some(JobState::Running),
        Some("done") => Some(JobState::Done),
        Some("dead") => Some(JobState::Dead),
        Some(other) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("state {other:?} is not one of pending, running, done, dead"),
            )
            .field("state"));
        }
    };
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let jobs = app.store.jobs(state, limit).await?;
    Ok(Json(jobs.into_iter().map(JobView::from).collect()))
}

async fn job(app: &SharedApp, id: i64) -> Result<JobRow, ApiError> {
    app.store
        .job_by_id(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))
}

/// Makes a dead letter pending again with a fresh attempt budget.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", operation_id = "retry_job", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id")),
    security(("bearer" = ["articles:write"])),
    responses(
        (status = 200, description = "Pending again", body = JobView),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks articles:write", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job is not a dead letter", body = ErrorBody),
    ))]
pub async fn retry(
    State(app): State<SharedApp>,
    Path(id): Path<i64>,
) -> Result<Json<JobView>, ApiError> {
    job(&app, id).await?;
    if !app.store.retry_dead(id, app.now()).await? {
        return Err(ApiError::conflict(
            "not_dead",
            "only a dead letter can be retried",
        ));
    }
    app.wake.notify_one();
    Ok(Json(job(&app, id).await?.into()))
}

/// Cancels a pending job: it becomes a dead letter saying so, and a one-shot side
/// effect (a post) is then never made unless someone retries it.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", operation_id = "cancel_job", tag = "jobs",
    params(("id" = i64, Path, description = "The job's id")),
    security(("bearer" = ["articles:write"])),
    responses(
        (status = 200, description = "Cancelled", body = JobView),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks articles:write", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job is not pending", body = ErrorBody),
    ))]
pub async fn cancel(
    State(app): State<SharedApp>,
    Path(id): Path<i64>,
) -> Result<Json<JobView>, ApiError> {
    job(&app, id).await?;
    if !app
        .store
        .cancel_pending(id, "cancelled by an operator", app.now())
        .await?
    {
        return Err(ApiError::conflict(
            "not_pending",
            "only a pending job can be cancelled",
        ));
    }
    Ok(Json(job(&app, id).await?.into()))
}

/// One upstream feed and how its last poll went.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IngestSourceView {
    pub url: String,
    pub channel: String,
    pub locale: String,
    /// `ok`, `not-modified` or `error`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_polled_at: Option<DateTime<Utc>>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub failures: i64,
    pub downloads: i64,
    pub not_modified: i64,
}

/// The upstream feeds and the outcome of their last poll.
#[utoipa::path(get, path = "/api/v1/ingest", operation_id = "list_ingest_sources", tag = "ingest",
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The sources", body = [IngestSourceView]),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = ErrorBody),
    ))]
pub async fn ingest_sources(
    State(app): State<SharedApp>,
) -> Result<Json<Vec<IngestSourceView>>, ApiError> {
    let rows = app.store.ingest_sources().await?;
    Ok(Json(
        rows.into_iter()
            .map(|s| IngestSourceView {
                url: s.url,
                channel: s.channel,
                locale: s.locale,
                last_status: s.last_status,
                last_error: s.last_error,
                last_polled_at: s.last_polled_at,
                next_poll_at: s.next_poll_at,
                failures: s.failures,
                downloads: s.downloads,
                not_modified: s.not_modified,
            })
            .collect(),
    ))
}
