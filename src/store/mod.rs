//! The store: one interface, two engines chosen by URL scheme (`sqlite://`, the
//! embedded default, and `postgres://`, for several daemons sharing one database).
//!
//! All SQL lives in this module. Both engines go through sqlx's `Any` driver with the
//! same statements (`$1` placeholders work on both); the few that differ branch on
//! [`Engine`]. Times are integer milliseconds, the one time type both engines share.

mod api;
mod audience;
mod group;
mod ingest;
mod jobs;
mod social;

pub use api::TokenRow;
pub use audience::{
    ACTIVE, BOUNCED, Consent, Contact, Delivery, Organisation, PENDING, Recipient, SendState,
    Subscriber, UNSUBSCRIBED,
};
pub use group::GroupCommit;
pub use ingest::{IngestItem, IngestSource};
pub use jobs::{EnqueueMode, JobRow, JobState, QueueCounts};
pub use social::SocialPost;

use crate::clock::{from_millis, to_millis};
use crate::content::{Image, Status, Translation};
use crate::document::Document;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    /// The connection of the busiest statements (job claims and completions, delivery
    /// records, digest recipients): on SQLite a pool of one, apart from `pool`, so
    /// these writers queue for it in-process and follow each other without meeting
    /// SQLite's busy sleep (1 ms, then longer); on PostgreSQL `pool` itself.
    hot: AnyPool,
    engine: Engine,
}

/// What a content sync changed: each entry is `(before, after)`.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub changes: Vec<(Option<Translation>, Option<Translation>)>,
    /// The translations version after the sync (unchanged when nothing changed).
    pub version: Option<i64>,
}

const TRANSLATION_COLUMNS: &str = "article_id, locale, channel, slug, title, summary, body_html, topics, status, \
     published_at, updated_at, retracted_at, correction, image, source, source_hash";

impl Store {
    /// Connects and brings the schema up to date. A `sqlite://` file and its folder are
    /// created when missing.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, 0).await
    }

    /// [`Store::connect`] with `pool_size` connections (0: the engine's default).
    pub async fn connect_with(url: &str, pool_size: u32) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            bail!("database_url must start with sqlite:// or postgres://");
        };
        let url = match engine {
            Engine::Sqlite => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or(path);
                if path != ":memory:"
                    && let Some(parent) = std::path::Path::new(path).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                }
            }
            Engine::Postgres => url.to_owned(),
        };
        let opts = AnyConnectOptions::from_str(&url).context("database_url")?;
        let pool = Self::pool_options(engine, pool_size)
            .connect_with(opts.clone())
            .await
            .with_context(|| format!("connecting to the {engine:?} database"))?;
        let mut store = Self {
            hot: pool.clone(),
            pool,
            engine,
        };
        store.migrate().await?;
        // SQLite drops a connection's page cache whenever another connection has
        // written since its last transaction. The job queue's and the digests' own
        // statements share one connection, whose cache therefore stays warm, and
        // which they take in turns.
        if engine == Engine::Sqlite && !url.contains(":memory:") {
            store.hot = Self::pool_options(engine, 1)
                .connect_with(opts)
                .await
                .with_context(|| format!("connecting to the {engine:?} database"))?;
        }
        Ok(store)
    }

    fn pool_options(engine: Engine, pool_size: u32) -> AnyPoolOptions {
        AnyPoolOptions::new()
            .max_connections(match (pool_size, engine) {
                (0, Engine::Sqlite) => 4,
                (0, Engine::Postgres) => 10,
                (n, _) => n,
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if engine == Engine::Sqlite {
                        // WAL lets the server read while a job writes; NORMAL sync is
                        // durable across process crashes (not power loss), as documented.
                        // A 32 MiB page cache per connection (the default is 2 MiB): a
                        // digest run reads one subscriber row per message.
                        sqlx::raw_sql(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                             PRAGMA busy_timeout=10000; PRAGMA cache_size=-32768; PRAGMA wal_autocheckpoint=16384;",
                        )
                            .execute(conn)
                            .await?;
                    }
                    Ok(())
                })
            })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    async fn migrate(&self) -> Result<()> {
        let schema = match self.engine {
            Engine::Sqlite => include_str!("sqlite.sql"),
            Engine::Postgres => include_str!("postgres.sql"),
        };
        let mut tx = self.pool.begin().await?;
        if self.engine == Engine::Postgres {
            // Several replicas may start at once; one migrates, the others wait.
            sqlx::query("SELECT pg_advisory_xact_lock(727274)")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::raw_sql(schema)
            .execute(&mut *tx)
            .await
            .context("migrating the schema")?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    // ---- translations

    /// Makes the stored file-sourced translations equal to `docs`, except those whose
    /// file failed to load (`broken_sources`): a malformed file keeps its last good
    /// version published instead of disappearing. Compares content hashes first, so an
    /// unchanged site costs one narrow query; writes go in batches in one transaction.
    /// Returns what changed.
    ///
    /// With `scope` (source path prefixes, such as article folders ending in `/`), only
    /// the stored translations read from under those prefixes, or sharing a key with
    /// `docs`, are compared: `docs` must then be everything those folders hold now.
    pub async fn sync_translations(
        &self,
        docs: &[Translation],
        broken_sources: &BTreeSet<String>,
        scope: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<SyncReport> {
        const COLUMNS: &str = "SELECT article_id, locale, source_hash, source FROM translations";
        let rows = match scope {
            None => sqlx::query(COLUMNS).fetch_all(&self.pool).await?,
            Some(prefixes) => {
                let keys: Vec<(String, String)> = docs
                    .iter()
                    .map(|t| (t.article_id.clone(), t.locale.clone()))
                    .collect();
                // SQLite compares text bytewise, so a prefix is also a range of the
                // `translations_source` index: the range finds the rows, `substr`
                // keeps the condition exact. (PostgreSQL's collation may not be
                // bytewise, so it gets only the exact test.)
                let ranged = self.engine == Engine::Sqlite;
                let mut conds: Vec<String> = (0..prefixes.len())
                    .map(|i| {
                        let exact = format!("substr(source, 1, length(${0})) = ${0}", i + 1);
                        if ranged {
                            format!(
                                "(source >= ${0} AND source < ${0} || x'F4908080' AND {exact})",
                                i + 1
                            )
                        } else {
                            exact
                        }
                    })
                    .collect();
                if !keys.is_empty() {
                    let marks: Vec<String> = (0..keys.len())
                        .map(|i| {
                            let n = prefixes.len() + 2 * i;
                            format!("(${}, ${})", n + 1, n + 2)
                        })
                        .collect();
                    conds.push(format!("(article_id, locale) IN ({})", marks.join(", ")));
                }
                if conds.is_empty() {
                    vec![]
                } else {
                    let sql = format!("{COLUMNS} WHERE {}", conds.join(" OR "));
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for p in prefixes {
                        q = q.bind(p.clone());
                    }
                    for (a, l) in keys {
                        q = q.bind(a).bind(l);
                    }
                    q.fetch_all(&self.pool).await?
                }
            }
        };
        let mut existing: HashMap<(String, String), (String, String)> =
            HashMap::with_capacity(rows.len());
        for r in &rows {
            existing.insert(
                (r.try_get("article_id")?, r.try_get("locale")?),
                (r.try_get("source_hash")?, r.try_get("source")?),
            );
        }
        let mut upserts: Vec<&Translation> = vec![];
        let mut before_keys: Vec<(String, String)> = vec![];
        for doc in docs {
            let key = (doc.article_id.clone(), doc.locale.clone());
            match existing.remove(&key) {
                Some((hash, _)) if hash == doc.source_hash => {}
                Some(_) => {
                    upserts.push(doc);
                    before_keys.push(key);
                }
                None => upserts.push(doc),
            }
        }
        let gone: Vec<(String, String)> = existing
            .into_iter()
            .filter(|(_, (_, source))| is_file_source(source) && !broken_sources.contains(source))
            .map(|(k, _)| k)
            .collect();
        before_keys.extend(gone.iter().cloned());
        let before: HashMap<(String, String), Translation> = self
            .translations_by_keys(&before_keys)
            .await?
            .into_iter()
            .map(|t| ((t.article_id.clone(), t.locale.clone()), t))
            .collect();
        let mut tx = self.pool.begin().await?;
        for chunk in upserts.chunks(100) {
            upsert_translations(&mut tx, chunk, now).await?;
        }
        for chunk in gone.chunks(100) {
            let (sql, binds) = keys_condition(chunk);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM translations WHERE {sql}"
            )));
            for b in binds {
                q = q.bind(b);
            }
            q.execute(&mut *tx).await?;
        }
        let version = if !upserts.is_empty() || !gone.is_empty() {
            Some(bump_version(&mut tx).await?)
        } else {
            None
        };
        tx.commit().await?;
        let mut report = SyncReport {
            version,
            ..SyncReport::default()
        };
        for doc in upserts {
            let old = before
                .get(&(doc.article_id.clone(), doc.locale.clone()))
                .cloned();
            report.changes.push((old, Some(doc.clone())));
        }
        for key in gone {
            report.changes.push((before.get(&key).cloned(), None));
        }
        Ok(report)
    }

    /// The translations with these `(article_id, locale)` keys.
    pub async fn translations_by_keys(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<Translation>> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let (cond, binds) = keys_condition(chunk);
            let sql = format!("SELECT {TRANSLATION_COLUMNS} FROM translations WHERE {cond}");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for b in binds {
                q = q.bind(b);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(row_to_translation(&r)?);
            }
        }
        Ok(out)
    }

    /// Inserts or replaces one translation (the admin API's path).
    pub async fn put_translation(&self, t: &Translation, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        upsert_translations(&mut tx, &[t], now).await?;
        bump_version(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The translations of one article.
    pub async fn translations_of(&self, article_id: &str) -> Result<Vec<Translation>> {
        self.query_translations("article_id = $1", &[article_id])
            .await
    }

    /// Changes whenever any translation changes (see `meta` in the schema).
    pub async fn translations_version(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'translations_version'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Translations that arrived through the store rather than the content folder.
    pub async fn api_translations(&self) -> Result<Vec<Translation>> {
        self.query_translations("source = 'api'", &[]).await
    }

    /// Every stored translation.
    pub async fn all_translations(&self) -> Result<Vec<Translation>> {
        self.query_translations("1 = 1", &[]).await
    }

    /// The translation at a page address.
    pub async fn translation_at(
        &self,
        channel: &str,
        slug: &str,
        locale: &str,
    ) -> Result<Option<Translation>> {
        Ok(self
            .query_translations(
                "channel = $1 AND slug = $2 AND locale = $3",
                &[channel, slug, locale],
            )
            .await?
            .pop())
    }

    /// Marks translations that came due (`published_at <= now`, not drafts, not yet
    /// announced) as live at `now`, in one statement inside `tx`, and returns them.
    pub async fn announce_due(
        tx: &mut sqlx::AnyConnection,
        now: DateTime<Utc>,
    ) -> Result<Vec<Translation>> {
        let sql = format!(
            "UPDATE translations SET live_at = $1 \
             WHERE live_at IS NULL AND published_at <= $1 AND status <> 'draft' RETURNING {TRANSLATION_COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_millis(now))
            .fetch_all(&mut *tx)
            .await?;
        rows.iter().map(row_to_translation).collect()
    }

    /// Every live, unretracted translation (all locales) of the articles that had a
    /// translation go live in `(after, until]`, with its live time. What a digest for
    /// that period can show.
    pub async fn live_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<(Translation, DateTime<Utc>)>> {
        let sql = format!(
            "SELECT {TRANSLATION_COLUMNS}, live_at FROM translations WHERE live_at IS NOT NULL AND live_at <= $2 \
             AND retracted_at IS NULL AND status <> 'draft' AND article_id IN \
             (SELECT article_id FROM translations WHERE live_at > $1 AND live_at <= $2)"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to_millis(after))
            .bind(to_millis(until))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((row_to_translation(r)?, from_millis(r.try_get("live_at")?))))
            .collect()
    }

    /// The newest live time of any translation.
    pub async fn newest_live(&self) -> Result<Option<DateTime<Utc>>> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(live_at) FROM translations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.map(from_millis))
    }

    /// When each translation went live (`None`: not yet), keyed by (article, locale).
    pub async fn live_times(&self) -> Result<HashMap<(String, String), Option<DateTime<Utc>>>> {
        let rows = sqlx::query("SELECT article_id, locale, live_at FROM translations")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let live: Option<i64> = r.try_get("live_at")?;
                Ok((
                    (r.try_get("article_id")?, r.try_get("locale")?),
                    live.map(from_millis),
                ))
            })
            .collect()
    }

    async fn query_translations(&self, cond: &str, args: &[&str]) -> Result<Vec<Translation>> {
        let sql = format!("SELECT {TRANSLATION_COLUMNS} FROM translations WHERE {cond}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in args {
            q = q.bind(*a);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(row_to_translation).collect()
    }

    /// Runs `f` in one transaction: what it writes and the jobs it enqueues commit
    /// together or not at all.
    pub async fn transaction(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(self.pool.begin().await?)
    }

    // ---- documents

    /// Stores a rendered document if its bytes changed; returns whether they did.
    pub async fn put_document(&self, d: &Document) -> Result<bool> {
        let current: Option<String> =
            sqlx::query_scalar("SELECT etag FROM documents WHERE path = $1")
                .bind(&d.path)
                .fetch_optional(&self.pool)
                .await?;
        if current.as_deref() == Some(d.etag.as_str()) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO documents (path, channel, locale, content_type, etag, last_modified, built_at, body, gzip, br) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (path) DO UPDATE SET channel = excluded.channel, locale = excluded.locale, \
             content_type = excluded.content_type, etag = excluded.etag, last_modified = excluded.last_modified, \
             built_at = excluded.built_at, body = excluded.body, gzip = excluded.gzip, br = excluded.br",
        )
        .bind(&d.path)
        .bind(&d.channel)
        .bind(&d.locale)
        .bind(&d.content_type)
        .bind(&d.etag)
        .bind(to_millis(d.last_modified))
        .bind(to_millis(d.built_at))
        .bind(d.body.to_vec())
        .bind(d.gzip.to_vec())
        .bind(d.br.to_vec())
        .execute(&self.pool)
        .await?;
        Ok(true)
    }

    /// Removes documents below `prefix` that are not in `keep` (archive pages that no
    /// longer exist after a retraction, for example).
    pub async fn prune_documents(
        &self,
        prefix: &str,
        keep: &BTreeSet<String>,
    ) -> Result<Vec<String>> {
        let paths: Vec<String> =
            sqlx::query_scalar("SELECT path FROM documents WHERE path LIKE $1")
                .bind(format!("{prefix}%"))
                .fetch_all(&self.pool)
                .await?;
        let mut removed = vec![];
        for p in paths.into_iter().filter(|p| !keep.contains(p)) {
            sqlx::query("DELETE FROM documents WHERE path = $1")
                .bind(&p)
                .execute(&self.pool)
                .await?;
            removed.push(p);
        }
        Ok(removed)
    }

    /// Every stored document, for filling a cache at start.
    pub async fn documents(&self) -> Result<Vec<Document>> {
        let rows = sqlx::query(
            "SELECT path, channel, locale, content_type, etag, last_modified, built_at, body, gzip, br FROM documents",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_document).collect()
    }

    /// One stored document.
    pub async fn document(&self, path: &str) -> Result<Option<Document>> {
        let row = sqlx::query(
            "SELECT path, channel, locale, content_type, etag, last_modified, built_at, body, gzip, br \
             FROM documents WHERE path = $1",
        )
        .bind(path)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_document).transpose()
    }

    /// `(path, etag, built_at)` of every stored document, for status views.
    pub async fn document_index(&self) -> Result<Vec<(String, String, DateTime<Utc>)>> {
        let rows = sqlx::query("SELECT path, etag, built_at FROM documents ORDER BY path")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("path")?,
                    r.try_get("etag")?,
                    from_millis(r.try_get("built_at")?),
                ))
            })
            .collect()
    }
}

/// Whether a translation came from the content folder (and so disappears when its file
/// does). Translations written through the admin API (`api`) or taken from an upstream
/// feed (`ingest:<url>`) are not the folder's to remove.
pub fn is_file_source(source: &str) -> bool {
    source != "api" && !source.starts_with("ingest:")
}

/// Bumps the translations version; returns the new value.
async fn bump_version(tx: &mut sqlx::AnyConnection) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE meta SET value = value + 1 WHERE key = 'translations_version' RETURNING value",
    )
    .fetch_one(&mut *tx)
    .await?)
}

/// `(article_id, locale) IN (...)` for a batch of keys, with its bind values.
fn keys_condition(keys: &[(String, String)]) -> (String, Vec<&str>) {
    let marks: Vec<String> = (0..keys.len())
        .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
        .collect();
    let binds = keys
        .iter()
        .flat_map(|(a, l)| [a.as_str(), l.as_str()])
        .collect();
    (
        format!("(article_id, locale) IN ({})", marks.join(", ")),
        binds,
    )
}

/// Upserts a batch of translations in one statement. A translation that moves into the
/// future, or back to draft, is announced again when it comes due.
async fn upsert_translations(
    tx: &mut sqlx::AnyConnection,
    ts: &[&Translation],
    now: DateTime<Utc>,
) -> Result<()> {
    const COLS: usize = 16;
    let rows: Vec<String> = (0..ts.len())
        .map(|r| {
            let marks: Vec<String> = (1..=COLS)
                .map(|c| format!("${}", 1 + r * COLS + c))
                .collect();
            format!("({}, NULL)", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO translations ({TRANSLATION_COLUMNS}, live_at) VALUES {} \
         ON CONFLICT (article_id, locale) DO UPDATE SET channel = excluded.channel, slug = excluded.slug, \
         title = excluded.title, summary = excluded.summary, body_html = excluded.body_html, topics = excluded.topics, \
         status = excluded.status, published_at = excluded.published_at, updated_at = excluded.updated_at, \
         retracted_at = excluded.retracted_at, correction = excluded.correction, image = excluded.image, \
         source = excluded.source, source_hash = excluded.source_hash, \
         live_at = CASE WHEN excluded.published_at > $1 OR excluded.status = 'draft' THEN NULL ELSE translations.live_at END",
        rows.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(now));
    for t in ts {
        q = q
            .bind(t.article_id.clone())
            .bind(t.locale.clone())
            .bind(t.channel.clone())
            .bind(t.slug.clone())
            .bind(t.title.clone())
            .bind(t.summary.clone())
            .bind(t.body_html.clone())
            .bind(serde_json::to_string(&t.topics)?)
            .bind(t.status.as_str())
            .bind(to_millis(t.published_at))
            .bind(t.updated_at.map(to_millis))
            .bind(t.retracted_at.map(to_millis))
            .bind(t.correction.clone())
            .bind(t.image.as_ref().map(serde_json::to_string).transpose()?)
            .bind(t.source.clone())
            .bind(t.source_hash.clone());
    }
    q.execute(&mut *tx).await?;
    Ok(())
}

fn row_to_document(r: &AnyRow) -> Result<Document> {
    Ok(Document::assemble(
        r.try_get("path")?,
        r.try_get("channel")?,
        r.try_get("locale")?,
        r.try_get("content_type")?,
        r.try_get("etag")?,
        from_millis(r.try_get("last_modified")?),
        from_millis(r.try_get("built_at")?),
        [
            r.try_get::<Vec<u8>, _>("body")?.into(),
            r.try_get::<Vec<u8>, _>("gzip")?.into(),
            r.try_get::<Vec<u8>, _>("br")?.into(),
        ],
    ))
}

fn row_to_translation(r: &AnyRow) -> Result<Translation> {
    let topics: String = r.try_get("topics")?;
    let image: Option<String> = r.try_get("image")?;
    let status: String = r.try_get("status")?;
    Ok(Translation {
        article_id: r.try_get("article_id")?,
        locale: r.try_get("locale")?,
        channel: r.try_get("channel")?,
        slug: r.try_get("slug")?,
        title: r.try_get("title")?,
        summary: r.try_get("summary")?,
        body_html: r.try_get("body_html")?,
        topics: serde_json::from_str(&topics)?,
        status: Status::parse(&status),
        published_at: from_millis(r.try_get("published_at")?),
        updated_at: r.try_get::<Option<i64>, _>("updated_at")?.map(from_millis),
        retracted_at: r
            .try_get::<Option<i64>, _>("retracted_at")?
            .map(from_millis),
        correction: r.try_get("correction")?,
        image: image
            .map(|s| serde_json::from_str::<Image>(&s))
            .transpose()?,
        source: r.try_get("source")?,
        source_hash: r.try_get("source_hash")?,
    })
}
