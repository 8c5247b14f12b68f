//! SQL of upstream ingest: each source's validators and last outcome, and each item
//! seen with the article it became.

use super::Store;
use crate::clock::{from_millis, to_millis};
use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One upstream feed as last polled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSource {
    pub url: String,
    pub channel: String,
    pub locale: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// No poll before this time (Retry-After, Cache-Control max-age, backoff).
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_polled_at: Option<DateTime<Utc>>,
    /// `ok`, `not-modified` or `error`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    /// Failures in a row.
    pub failures: i64,
    /// Full downloads (200) and revalidations (304) so far.
    pub downloads: i64,
    pub not_modified: i64,
}

/// One upstream item and the article it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestItem {
    pub source_url: String,
    /// The item's guid/id, else its link.
    pub item_key: String,
    pub article_id: String,
    pub locale: String,
    pub content_hash: String,
}

const SOURCE_COLUMNS: &str = "url, channel, locale, etag, last_modified, next_poll_at, last_polled_at, \
     last_status, last_error, failures, downloads, not_modified";

impl Store {
    /// Every source ever polled, by URL.
    pub async fn ingest_sources(&self) -> Result<Vec<IngestSource>> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM ingest_sources ORDER BY url");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_source).collect()
    }

    pub async fn ingest_source(&self, url: &str) -> Result<Option<IngestSource>> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM ingest_sources WHERE url = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(url)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_source).transpose()
    }

    /// Records the outcome of one poll (the whole row but the counters, which it bumps).
    pub async fn record_ingest_poll(&self, s: &IngestSource) -> Result<()> {
        let status = s.last_status.as_deref().unwrap_or("error");
        sqlx::query(
            "INSERT INTO ingest_sources (url, channel, locale, etag, last_modified, next_poll_at, last_polled_at, \
             last_status, last_error, failures, downloads, not_modified) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             CASE WHEN $8 = 'error' THEN 1 ELSE 0 END, CASE WHEN $8 = 'ok' THEN 1 ELSE 0 END, \
             CASE WHEN $8 = 'not-modified' THEN 1 ELSE 0 END) \
             ON CONFLICT (url) DO UPDATE SET channel = excluded.channel, locale = excluded.locale, \
             etag = excluded.etag, last_modified = excluded.last_modified, next_poll_at = excluded.next_poll_at, \
             last_polled_at = excluded.last_polled_at, last_status = excluded.last_status, \
             last_error = excluded.last_error, \
             failures = CASE WHEN excluded.last_status = 'error' THEN ingest_sources.failures + 1 ELSE 0 END, \
             downloads = ingest_sources.downloads + excluded.downloads, \
             not_modified = ingest_sources.not_modified + excluded.not_modified",
        )
        .bind(&s.url)
        .bind(&s.channel)
        .bind(&s.locale)
        .bind(&s.etag)
        .bind(&s.last_modified)
        .bind(s.next_poll_at.map_or(0, to_millis))
        .bind(s.last_polled_at.map(to_millis))
        .bind(status)
        .bind(&s.last_error)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets the poll state of sources no longer declared (their items stay, so a
    /// source declared again does not duplicate its articles). Returns how many.
    pub async fn forget_ingest_sources(&self, declared: &[String]) -> Result<u64> {
        let mut removed = 0;
        for s in self.ingest_sources().await? {
            if !declared.contains(&s.url) {
                removed += sqlx::query("DELETE FROM ingest_sources WHERE url = $1")
                    .bind(&s.url)
                    .execute(&self.pool)
                    .await?
                    .rows_affected();
            }
        }
        Ok(removed)
    }

    pub async fn ingest_item(&self, source_url: &str, key: &str) -> Result<Option<IngestItem>> {
        let row = sqlx::query(
            "SELECT source_url, item_key, article_id, locale, content_hash FROM ingest_items \
             WHERE source_url = $1 AND item_key = $2",
        )
        .bind(source_url)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(IngestItem {
                source_url: r.try_get("source_url")?,
                item_key: r.try_get("item_key")?,
                article_id: r.try_get("article_id")?,
                locale: r.try_get("locale")?,
                content_hash: r.try_get("content_hash")?,
            })
        })
        .transpose()
    }

    pub async fn put_ingest_item(&self, i: &IngestItem, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO ingest_items (source_url, item_key, article_id, locale, content_hash, seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source_url, item_key) DO UPDATE SET \
             article_id = excluded.article_id, locale = excluded.locale, \
             content_hash = excluded.content_hash, seen_at = excluded.seen_at",
        )
        .bind(&i.source_url)
        .bind(&i.item_key)
        .bind(&i.article_id)
        .bind(&i.locale)
        .bind(&i.content_hash)
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

fn row_to_source(r: &sqlx::any::AnyRow) -> Result<IngestSource> {
    let next: i64 = r.try_get("next_poll_at")?;
    Ok(IngestSource {
        url: r.try_get("url")?,
        channel: r.try_get("channel")?,
        locale: r.try_get("locale")?,
        etag: r.try_get("etag")?,
        last_modified: r.try_get("last_modified")?,
        next_poll_at: (next > 0).then(|| from_millis(next)),
        last_polled_at: r
            .try_get::<Option<i64>, _>("last_polled_at")?
            .map(from_millis),
        last_status: r.try_get("last_status")?,
        last_error: r.try_get("last_error")?,
        failures: r.try_get("failures")?,
        downloads: r.try_get("downloads")?,
        not_modified: r.try_get("not_modified")?,
    })
}
