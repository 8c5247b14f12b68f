//! SQL of the social post log.

use super::Store;
use crate::clock::{from_millis, to_millis};
use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// What happened to one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialPost {
    pub job_key: String,
    pub article_id: String,
    pub locale: String,
    pub account: String,
    pub platform: String,
    /// `posted`, `failed` (retrying or dead: see the job) or `skipped`.
    pub state: String,
    pub text: String,
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    pub async fn record_post(&self, p: &SocialPost) -> Result<()> {
        sqlx::query(
            "INSERT INTO social_posts (job_key, article_id, locale, account, platform, state, text, remote_id, \
             remote_url, last_error, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (job_key) DO UPDATE SET state = excluded.state, text = excluded.text, \
             remote_id = COALESCE(excluded.remote_id, social_posts.remote_id), \
             remote_url = COALESCE(excluded.remote_url, social_posts.remote_url), \
             last_error = excluded.last_error, updated_at = excluded.updated_at",
        )
        .bind(&p.job_key)
        .bind(&p.article_id)
        .bind(&p.locale)
        .bind(&p.account)
        .bind(&p.platform)
        .bind(&p.state)
        .bind(&p.text)
        .bind(&p.remote_id)
        .bind(&p.remote_url)
        .bind(&p.last_error)
        .bind(to_millis(p.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Send times of an account's posts since `since`, oldest first.
    pub async fn posted_since(
        &self,
        account: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT updated_at FROM social_posts WHERE account = $1 AND state = 'posted' AND updated_at > $2 \
             ORDER BY updated_at",
        )
        .bind(account)
        .bind(to_millis(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(from_millis).collect())
    }

    /// The post log of one article (every article for `None`), by locale and account.
    pub async fn posts(&self, article_id: Option<&str>) -> Result<Vec<SocialPost>> {
        let rows = sqlx::query(
            "SELECT job_key, article_id, locale, account, platform, state, text, remote_id, remote_url, last_error, \
             updated_at FROM social_posts WHERE ($1 = '' OR article_id = $1) ORDER BY article_id, locale, account",
        )
        .bind(article_id.unwrap_or(""))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SocialPost {
                    job_key: r.try_get("job_key")?,
                    article_id: r.try_get("article_id")?,
                    locale: r.try_get("locale")?,
                    account: r.try_get("account")?,
                    platform: r.try_get("platform")?,
                    state: r.try_get("state")?,
                    text: r.try_get("text")?,
                    remote_id: r.try_get("remote_id")?,
                    remote_url: r.try_get("remote_url")?,
                    last_error: r.try_get("last_error")?,
                    updated_at: from_millis(r.try_get("updated_at")?),
                })
            })
            .collect()
    }
}
