//! SQL behind the admin API: bearer tokens and batch writes of translations that arrive
//! through the API or an upstream feed rather than the content folder.

use super::{Store, bump_version, upsert_translations};
use crate::clock::{from_millis, to_millis};
use crate::content::Translation;
use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One stored token. The secret itself is never stored, only its SHA-256 (`hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub hash: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Store {
    pub async fn create_token(&self, t: &TokenRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(&t.hash)
        .bind(t.scopes.join(" "))
        .bind(to_millis(t.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn token(&self, id: &str) -> Result<Option<TokenRow>> {
        let row = sqlx::query(
            "SELECT id, name, hash, scopes, created_at, last_used_at, revoked_at FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_token).transpose()
    }

    /// Every token, newest first (revoked ones included: they are the audit trail).
    pub async fn tokens(&self) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query(
            "SELECT id, name, hash, scopes, created_at, last_used_at, revoked_at FROM api_tokens \
             ORDER BY created_at DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_token).collect()
    }

    /// Revokes a token; returns whether it existed and was live.
    pub async fn revoke_token(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records that a token was used (at most once a minute per token, to spare writes).
    pub async fn touch_token(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 \
             AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(to_millis(now))
        .bind(id)
        .bind(to_millis(now) - 60_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Inserts or replaces translations in one transaction and bumps the translations
    /// version once. Returns the stored versions from before, keyed like the input.
    pub async fn put_translations(
        &self,
        ts: &[Translation],
        now: DateTime<Utc>,
    ) -> Result<Vec<(Option<Translation>, Option<Translation>)>> {
        let keys: Vec<(String, String)> = ts
            .iter()
            .map(|t| (t.article_id.clone(), t.locale.clone()))
            .collect();
        let before = self.translations_by_keys(&keys).await?;
        let refs: Vec<&Translation> = ts.iter().collect();
        let mut tx = self.pool.begin().await?;
        for chunk in refs.chunks(100) {
            upsert_translations(&mut tx, chunk, now).await?;
        }
        if !ts.is_empty() {
            bump_version(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(ts
            .iter()
            .map(|t| {
                let old = before
                    .iter()
                    .find(|b| b.article_id == t.article_id && b.locale == t.locale)
                    .cloned();
                (old, Some(t.clone()))
            })
            .collect())
    }
}

fn row_to_token(r: &sqlx::any::AnyRow) -> Result<TokenRow> {
    let scopes: String = r.try_get("scopes")?;
    Ok(TokenRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        hash: r.try_get("hash")?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        created_at: from_millis(r.try_get("created_at")?),
        last_used_at: r
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(from_millis),
        revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(from_millis),
    })
}
