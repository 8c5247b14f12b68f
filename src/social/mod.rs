//! Social posting: every new translation becomes a post on each account routed to its
//! locale (and channel), exactly once.
//!
//! One module per platform behind the small [`Platform`] trait. Each module owns its
//! configuration, its length rules (through [`text`]) and its error classification;
//! adapters never retry or sleep, they say whether an error is transient. The job
//! runner retries, and a unique job key per (article, locale, account) plus the
//! platform's own idempotency (a Bluesky record key derived from the job key, a
//! Mastodon `Idempotency-Key`) make a retry after an unknown outcome safe.

pub mod bluesky;
pub mod facebook;
pub mod linkedin;
pub mod mastodon;
pub mod stub;
pub mod telegram;
pub mod text;
pub mod wechat;
pub mod weibo;
pub mod x;

use crate::app::App;
use crate::config::Secret;
use crate::content::{Channel, Translation};
use crate::i18n::I18n;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// `[social]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SocialConfig {
    /// Translations that go live more than this many hours after their `published_at`
    /// (a backlog, a first start on an old site) are not posted. Default: 72.
    pub max_age_hours: u64,
    /// The accounts posts go to. Default: none.
    pub accounts: Vec<AccountConfig>,
}

impl Default for SocialConfig {
    fn default() -> Self {
        Self {
            max_age_hours: 72,
            accounts: vec![],
        }
    }
}

/// One account on one platform (`[[social.accounts]]`): exactly one of the platform
/// tables (`bluesky`, `facebook`, `linkedin`, `mastodon`, `x`, `telegram`, `wechat`,
/// `weibo`, `stub`) is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Stable id, part of every job key: renaming it re-posts everything.
    pub id: String,
    /// Locales whose translations this account posts.
    pub locales: Vec<String>,
    /// Channels whose articles it posts; empty: every channel. Default: empty.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Post for real. When false, `social preview` shows what would be posted and the
    /// daemon makes no post for this account. Default: false.
    #[serde(default)]
    pub enabled: bool,
    /// Query parameters appended to the article link, e.g. `{ utm_source = "bluesky" }`.
    /// Default: none.
    #[serde(default)]
    pub link_params: Vec<(String, String)>,
    /// Add the article's topics as hashtags (dropped first when space runs out).
    /// Default: true.
    #[serde(default = "yes")]
    pub hashtags: bool,
    /// Local hours when nothing is posted; posts wait until they end, e.g.
    /// `{ from = "22:00", to = "07:00", time_zone = "Asia/Shanghai" }`. Default: none.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// At most this many posts in any hour; more wait their turn. Default: no limit.
    #[serde(default)]
    pub max_per_hour: Option<u32>,
    /// What a correction of a posted translation does: `edit` the post where the
    /// platform can edit (Mastodon) and leave it elsewhere; `repost`: edit where
    /// possible, else post a short correction notice; `ignore`. Default: `edit`.
    #[serde(default)]
    pub on_correction: CorrectionPolicy,
    pub bluesky: Option<bluesky::Config>,
    pub facebook: Option<facebook::Config>,
    pub linkedin: Option<linkedin::Config>,
    pub mastodon: Option<mastodon::Config>,
    pub stub: Option<stub::Config>,
    pub x: Option<x::Config>,
    pub telegram: Option<telegram::Config>,
    pub wechat: Option<wechat::Config>,
    pub weibo: Option<weibo::Config>,
}

fn yes() -> bool {
    true
}

/// See [`AccountConfig::on_correction`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CorrectionPolicy {
    #[default]
    Edit,
    Repost,
    Ignore,
}

/// A daily window in an IANA time zone (it may span midnight).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, local.
    pub from: String,
    /// `HH:MM`, local.
    pub to: String,
    /// e.g. `Asia/Shanghai`, `Europe/Berlin`.
    pub time_zone: String,
}

impl QuietHours {
    fn parts(&self) -> Result<(chrono::NaiveTime, chrono::NaiveTime, chrono_tz::Tz)> {
        let t = |s: &str| {
            chrono::NaiveTime::parse_from_str(s, "%H:%M")
                .with_context(|| format!("quiet_hours: {s:?} is not HH:MM"))
        };
        let tz: chrono_tz::Tz = self
            .time_zone
            .parse()
            .map_err(|_| anyhow::anyhow!("quiet_hours: unknown time zone {:?}", self.time_zone))?;
        Ok((t(&self.from)?, t(&self.to)?, tz))
    }

    /// When the quiet window around `now` ends, if `now` is inside one. Computed in
    /// local time, so it stays right across daylight-saving changes.
    pub fn until(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::TimeZone;
        let (from, to, tz) = self.parts().ok()?;
        let local = now.with_timezone(&tz);
        let time = local.time();
        let inside = if from <= to {
            time >= from && time < to
        } else {
            time >= from || time < to
        };
        if !inside {
            return None;
        }
        let mut day = local.date_naive();
        if from > to && time >= from {
            day = day.succ_opt()?;
        }
        // A local time skipped by a DST change: take the first instant after it.
        let end = tz
            .from_local_datetime(&day.and_time(to))
            .earliest()
            .or_else(|| {
                tz.from_local_datetime(&day.and_time(to + chrono::Duration::hours(1)))
                    .earliest()
            })?;
        Some(end.with_timezone(&chrono::Utc))
    }
}

impl AccountConfig {
    /// Whether this account posts `t` (found in `channels`).
    pub fn routes(&self, t: &Translation, channels: &[Channel]) -> bool {
        self.locales.contains(&t.locale)
            && (self.channels.is_empty()
                || channels
                    .iter()
                    .any(|c| self.channels.contains(&c.id) && c.includes(&t.channel, &t.topics)))
    }
}

/// A post, before the platform fits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// The job key: the idempotency handle of this post.
    pub key: String,
    pub article: String,
    pub locale: String,
    pub parts: text::Parts,
    pub link: String,
    pub title: String,
    pub summary: String,
    /// A local image file, its alt text and its type, when the article has one.
    pub image: Option<(PathBuf, String, String)>,
    /// When the post is made.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What a platform made of a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub remote_id: String,
    pub url: Option<String>,
}

/// The exact text (and extras) a platform would send, for previews and snapshots.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Composed {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<serde_json::Value>,
}

/// A platform's refusal, with the retry decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocialError {
    pub message: String,
    pub transient: bool,
    pub retry_after: Option<std::time::Duration>,
}

impl SocialError {
    pub fn transient(m: impl Into<String>) -> Self {
        Self {
            message: m.into(),
            transient: true,
            retry_after: None,
        }
    }
    pub fn permanent(m: impl Into<String>) -> Self {
        Self {
            message: m.into(),
            transient: false,
            retry_after: None,
        }
    }
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// Classifies an HTTP failure: 408, 425, 429 and 5xx are transient (honouring
    /// `Retry-After` in seconds), the rest permanent.
    pub fn from_status(
        platform: &str,
        status: reqwest::StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &str,
    ) -> Self {
        let retry_after = headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let body: String = body.chars().take(300).collect();
        let transient = matches!(status.as_u16(), 408 | 425 | 429) || status.is_server_error();
        Self {
            message: format!("{platform}: {status} {body}"),
            transient,
            retry_after,
        }
    }

    /// A transport failure (connection refused, timeout): the outcome is unknown.
    pub fn network(platform: &str, e: &reqwest::Error) -> Self {
        Self::transient(format!("{platform}: {e}"))
    }
}

impl std::fmt::Display for SocialError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<SocialError> for crate::jobs::JobError {
    fn from(e: SocialError) -> Self {
        crate::jobs::JobError {
            message: e.message,
            transient: e.transient,
            retry_after: e.retry_after,
        }
    }
}

/// One platform client.
#[async_trait::async_trait]
pub trait Platform: Send + Sync + std::fmt::Debug {
    /// `bluesky`, `mastodon`, …
    fn name(&self) -> &'static str;
    /// The text (and extras) this platform would send for `post`.
    fn compose(&self, post: &Post) -> Composed;
    /// Checks credentials and reachability without side effects (never posts).
    async fn healthcheck(&self) -> Result<(), SocialError>;
    /// Publishes `post`. Must be safe to call again after an unknown outcome.
    async fn post(&self, post: &Post) -> Result<Posted, SocialError>;
    /// Removes a post (after a retraction).
    async fn delete(&self, posted: &Posted) -> Result<(), SocialError>;
    /// Whether [`Platform::edit`] changes a post in place.
    fn can_edit(&self) -> bool {
        false
    }
    /// Replaces the text of a post (after a correction), where the platform can.
    async fn edit(&self, _posted: &Posted, _post: &Post) -> Result<Posted, SocialError> {
        Err(SocialError::permanent(format!(
            "{}: posts cannot be edited",
            self.name()
        )))
    }
}

/// Builds the client of every configured account.
pub fn build(
    config: &SocialConfig,
    http: &reqwest::Client,
) -> Result<HashMap<String, Arc<dyn Platform>>> {
    let mut out: HashMap<String, Arc<dyn Platform>> = HashMap::new();
    for a in &config.accounts {
        let set = [
            a.bluesky.is_some(),
            a.facebook.is_some(),
            a.linkedin.is_some(),
            a.mastodon.is_some(),
            a.stub.is_some(),
            a.x.is_some(),
            a.telegram.is_some(),
            a.wechat.is_some(),
            a.weibo.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if set != 1 {
            bail!(
                "social account {:?}: set exactly one platform table (bluesky, facebook, linkedin, mastodon, x, telegram, wechat, weibo, stub)",
                a.id
            );
        }
        if out.contains_key(&a.id) {
            bail!("social account {:?} is declared twice", a.id);
        }
        for l in &a.locales {
            if !crate::locale::is_supported(l) {
                bail!("social account {:?}: unsupported locale {l:?}", a.id);
            }
        }
        if let Some(q) = &a.quiet_hours {
            q.parts()
                .with_context(|| format!("social account {:?}", a.id))?;
        }
        let missing = missing_files(a);
        if a.enabled && !missing.is_empty() {
            bail!(
                "social account {:?} is enabled but its secret files are missing: {}",
                a.id,
                missing.join(", ")
            );
        }
        let p: Arc<dyn Platform> = if let Some(c) = &a.bluesky {
            Arc::new(
                bluesky::Bluesky::new(c, http.clone())
                    .with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.facebook {
            Arc::new(
                facebook::Facebook::new(c, http.clone())
                    .with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.linkedin {
            Arc::new(
                linkedin::LinkedIn::new(c, http.clone())
                    .with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.mastodon {
            Arc::new(
                mastodon::Mastodon::new(c, http.clone())
                    .with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.x {
            Arc::new(
                x::X::new(c, http.clone()).with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.telegram {
            Arc::new(
                telegram::Telegram::new(c, http.clone())
                    .with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.wechat {
            Arc::new(
                wechat::WeChat::new(c, http.clone())
                    .with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.weibo {
            Arc::new(
                weibo::Weibo::new(c, http.clone())
                    .with_context(|| format!("social account {:?}", a.id))?,
            )
        } else if let Some(c) = &a.stub {
            Arc::new(stub::Stub::new(c))
        } else {
            unreachable!("exactly one platform table is set")
        };
        out.insert(a.id.clone(), p);
    }
    Ok(out)
}

/// A secret given inline or in a file (`*_file`), the file winning. A file that does
/// not exist gives an empty secret: [`build`] has already refused enabled accounts
/// whose files are missing, and a disabled account may name files not yet created.
pub fn secret(inline: &Secret, file: &Option<PathBuf>, what: &str) -> Result<Secret> {
    match file {
        Some(p) if !p.exists() => Ok(Secret::default()),
        Some(p) => Ok(Secret::new(
            std::fs::read_to_string(p)
                .with_context(|| format!("{what}: cannot read {}", p.display()))?
                .trim(),
        )),
        None => Ok(inline.clone()),
    }
}

/// Every `*_file` path in an account's configuration that does not exist.
fn missing_files(a: &AccountConfig) -> Vec<String> {
    fn walk(v: &toml::Value, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                match v {
                    toml::Value::String(p)
                        if k.ends_with("_file") && !std::path::Path::new(p).exists() =>
                    {
                        out.push(format!("{k} = {p:?}"));
                    }
                    _ => walk(v, out),
                }
            }
        }
    }
    let mut out = vec![];
    if let Ok(v) = toml::Value::try_from(a) {
        walk(&v, &mut out);
    }
    out
}

/// The job key of a post: one per (article, locale, account).
pub fn post_key(article: &str, locale: &str, account: &str) -> String {
    format!("social:{article}:{locale}:{account}")
}

/// Builds the post for `t` on `account`: title, summary, the link (with the account's
/// parameters) and the topics as localised hashtags.
pub fn post_for(app: &App, i18n: &I18n, account: &AccountConfig, t: &Translation) -> Post {
    let mut link = url::Url::parse(&app.site().url(&crate::content::article_path(
        &t.locale, &t.channel, &t.slug,
    )))
    .expect("base_url was checked at start");
    if !account.link_params.is_empty() {
        link.query_pairs_mut()
            .extend_pairs(account.link_params.iter());
    }
    let hashtags = if account.hashtags {
        t.topics
            .iter()
            .map(|topic| text::hashtag(&i18n.topic(&t.locale, topic)))
            .collect()
    } else {
        vec![]
    };
    let image = t.image.as_ref().and_then(|img| {
        let channel = app.channel(&t.channel)?;
        let file = img.url.rsplit('/').next()?;
        let path = channel.dir.join("media").join(file);
        path.exists()
            .then(|| (path, img.alt.clone(), img.mime.clone()))
    });
    Post {
        key: post_key(&t.article_id, &t.locale, &account.id),
        article: t.article_id.clone(),
        locale: t.locale.clone(),
        parts: text::Parts {
            title: t.title.clone(),
            summary: t.summary.clone(),
            link: Some(link.to_string()),
            hashtags,
        },
        link: link.to_string(),
        title: t.title.clone(),
        summary: t.summary.clone(),
        image,
        created_at: app.now(),
    }
}

/// Every post that would be made for `translations`: `(account, post)`.
pub fn planned<'a>(
    app: &App,
    translations: &'a [Translation],
) -> Vec<(&'a Translation, AccountConfig, Post)> {
    let channels = app.channels();
    let mut out = vec![];
    for t in translations
        .iter()
        .filter(|t| t.status != crate::content::Status::Draft && t.retracted_at.is_none())
    {
        for a in app
            .config
            .social
            .accounts
            .iter()
            .filter(|a| a.routes(t, &channels))
        {
            out.push((t, a.clone(), post_for(app, &app.i18n, a, t)));
        }
    }
    out
}

/// The post jobs for translations that just went live, inside the transaction that
/// announced them.
pub async fn enqueue_posts(
    app: &App,
    tx: &mut sqlx::AnyConnection,
    live: &[Translation],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize> {
    let channels = app.channels();
    let max_age =
        chrono::Duration::hours(i64::try_from(app.config.social.max_age_hours).unwrap_or(72));
    let mut n = 0;
    for t in live
        .iter()
        .filter(|t| t.retracted_at.is_none() && now - t.published_at <= max_age)
    {
        for a in app
            .config
            .social
            .accounts
            .iter()
            .filter(|a| a.enabled && a.routes(t, &channels))
        {
            let job = crate::jobs::Job::PostSocial {
                article: t.article_id.clone(),
                locale: t.locale.clone(),
                account: a.id.clone(),
            };
            if job.enqueue(tx, now).await? {
                n += 1;
            }
        }
    }
    Ok(n)
}

static ACCOUNT_LOCKS: std::sync::LazyLock<
    std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
> = std::sync::LazyLock::new(Default::default);

/// The `post_social` job: compose, post, record.
pub async fn run_post(
    app: &App,
    article: &str,
    locale: &str,
    account: &str,
) -> Result<(), crate::jobs::JobError> {
    use crate::jobs::JobError;
    let Some(cfg) = app.config.social.accounts.iter().find(|a| a.id == account) else {
        return Err(JobError::permanent(format!(
            "social: no account {account:?} in the configuration"
        )));
    };
    let Some(platform) = app.social.get(account) else {
        return Err(JobError::permanent(format!(
            "social: account {account:?} has no client"
        )));
    };
    let translations = app
        .store
        .translations_of(article)
        .await
        .map_err(JobError::transient)?;
    let Some(t) = translations.into_iter().find(|t| t.locale == locale) else {
        return Err(JobError::permanent(format!(
            "social: {article} has no {locale} translation any more"
        )));
    };
    // Posted and recorded by an earlier attempt whose completion was lost in a crash.
    let key = post_key(article, locale, account);
    if app
        .store
        .posts(Some(article))
        .await
        .map_err(JobError::transient)?
        .iter()
        .any(|p| p.job_key == key && p.state == "posted")
    {
        return Ok(());
    }
    // One post at a time per account in this process, so the hourly limit is not raced
    // by concurrent jobs (across replicas it is approximate: each counts the log).
    let lock = {
        let mut locks = ACCOUNT_LOCKS.lock().expect("account locks");
        locks.entry(account.to_owned()).or_default().clone()
    };
    let _turn = lock.lock().await;
    let now = app.now();
    if let Some(until) = cfg.quiet_hours.as_ref().and_then(|q| q.until(now)) {
        return Err(crate::jobs::Deferred {
            until,
            reason: format!("quiet hours of {account}"),
        }
        .into());
    }
    if let Some(max) = cfg.max_per_hour {
        let recent = app
            .store
            .posted_since(account, now - chrono::Duration::hours(1))
            .await
            .map_err(JobError::transient)?;
        if recent.len() >= max as usize {
            let until = recent[recent.len() - max as usize] + chrono::Duration::hours(1);
            return Err(crate::jobs::Deferred {
                until,
                reason: format!("{account} posts at most {max} an hour"),
            }
            .into());
        }
    }
    let post = post_for(app, &app.i18n, cfg, &t);
    let mut log = crate::store::SocialPost {
        job_key: post.key.clone(),
        article_id: article.to_owned(),
        locale: locale.to_owned(),
        account: account.to_owned(),
        platform: platform.name().to_owned(),
        state: "posted".into(),
        text: platform.compose(&post).text,
        remote_id: None,
        remote_url: None,
        last_error: None,
        updated_at: app.now(),
    };
    if t.retracted_at.is_some() {
        log.state = "skipped".into();
        log.last_error = Some("retracted before it was posted".into());
        app.store
            .record_post(&log)
            .await
            .map_err(JobError::transient)?;
        return Ok(());
    }
    match platform.post(&post).await {
        Ok(done) => {
            log.remote_id = Some(done.remote_id);
            log.remote_url = done.url;
            app.store
                .record_post(&log)
                .await
                .map_err(JobError::transient)?;
            tracing::info!(account, article, locale, "posted");
            Ok(())
        }
        Err(e) => {
            log.state = "failed".into();
            log.last_error = Some(e.message.clone());
            let _ = app.store.record_post(&log).await;
            Err(e.into())
        }
    }
}

/// After a content sync: a retracted translation's posts are deleted, a corrected one's
/// are edited where the platform can edit (elsewhere the post stays as it was: a second
/// post for a correction would read as news). Queued in one transaction.
pub async fn enqueue_followups(
    app: &App,
    changes: &[(Option<Translation>, Option<Translation>)],
) -> Result<usize> {
    let now = app.now();
    let mut jobs = vec![];
    for (before, after) in changes {
        let (Some(b), Some(a)) = (before, after) else {
            continue;
        };
        let posts = app.store.posts(Some(&a.article_id)).await?;
        for p in posts
            .iter()
            .filter(|p| p.locale == a.locale && p.state != "deleted" && p.remote_id.is_some())
        {
            let (article, locale, account) =
                (a.article_id.clone(), a.locale.clone(), p.account.clone());
            if a.retracted_at.is_some() && b.retracted_at.is_none() {
                jobs.push(crate::jobs::Job::DeleteSocial {
                    article,
                    locale,
                    account,
                });
            } else if a.retracted_at.is_none()
                && (a.title != b.title || a.summary != b.summary || a.correction != b.correction)
                && correct_by(app, &p.account).is_some()
            {
                jobs.push(crate::jobs::Job::EditSocial {
                    article,
                    locale,
                    account,
                    version: a.source_hash.clone(),
                });
            }
        }
    }
    if jobs.is_empty() {
        return Ok(0);
    }
    let mut tx = app.store.transaction().await?;
    for j in &jobs {
        j.enqueue(&mut tx, now).await?;
    }
    tx.commit().await?;
    app.wake.notify_one();
    Ok(jobs.len())
}

/// How `account` handles a correction: `Some(true)` edit, `Some(false)` repost, `None`
/// nothing.
fn correct_by(app: &App, account: &str) -> Option<bool> {
    let policy = app
        .config
        .social
        .accounts
        .iter()
        .find(|a| a.id == account)?
        .on_correction;
    let can_edit = app.social.get(account)?.can_edit();
    match policy {
        CorrectionPolicy::Ignore => None,
        _ if can_edit => Some(true),
        CorrectionPolicy::Repost => Some(false),
        CorrectionPolicy::Edit => None,
    }
}

/// The `delete_social` and `edit_social` jobs.
pub async fn run_followup(
    app: &App,
    article: &str,
    locale: &str,
    account: &str,
    delete: bool,
) -> Result<(), crate::jobs::JobError> {
    use crate::jobs::JobError;
    let key = post_key(article, locale, account);
    let Some(mut log) = app
        .store
        .posts(Some(article))
        .await
        .map_err(JobError::transient)?
        .into_iter()
        .find(|p| p.job_key == key)
    else {
        return Ok(());
    };
    let Some(platform) = app.social.get(account) else {
        return Err(JobError::permanent(format!(
            "social: account {account:?} has no client"
        )));
    };
    let posted = Posted {
        remote_id: log.remote_id.clone().unwrap_or_default(),
        url: log.remote_url.clone(),
    };
    if delete {
        platform.delete(&posted).await?;
        log.state = "deleted".into();
    } else {
        let Some(cfg) = app.config.social.accounts.iter().find(|a| a.id == account) else {
            return Err(JobError::permanent(format!(
                "social: no account {account:?} in the configuration"
            )));
        };
        let t = app
            .store
            .translations_of(article)
            .await
            .map_err(JobError::transient)?;
        let Some(t) = t.into_iter().find(|t| t.locale == locale) else {
            return Ok(());
        };
        let mut post = post_for(app, &app.i18n, cfg, &t);
        if correct_by(app, account) == Some(false) {
            // No edit on this platform: a short notice, as a post of its own, once per
            // corrected version (the job key carries the version).
            let note = t.correction.clone().unwrap_or_else(|| t.title.clone());
            post.parts.title = app.i18n.msg(
                locale,
                "article-correction",
                &[("note", crate::i18n::Arg::Str(&note))],
            );
            post.parts.summary = t.title.clone();
            post.key = format!("{}:correction:{}", post.key, t.source_hash);
            let done = platform.post(&post).await?;
            let mut notice = log.clone();
            notice.job_key = post.key.clone();
            notice.text = platform.compose(&post).text;
            notice.remote_id = Some(done.remote_id);
            notice.remote_url = done.url;
            notice.state = "posted".into();
            notice.updated_at = app.now();
            app.store
                .record_post(&notice)
                .await
                .map_err(JobError::transient)?;
            return Ok(());
        }
        let done = platform.edit(&posted, &post).await?;
        log.text = platform.compose(&post).text;
        log.remote_url = done.url.or(log.remote_url);
        log.state = "edited".into();
    }
    log.updated_at = app.now();
    app.store
        .record_post(&log)
        .await
        .map_err(JobError::transient)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::QuietHours;
    use chrono::{TimeZone, Utc};

    fn q(from: &str, to: &str, tz: &str) -> QuietHours {
        QuietHours {
            from: from.into(),
            to: to.into(),
            time_zone: tz.into(),
        }
    }

    #[test]
    fn quiet_hours_follow_local_time_across_midnight_and_dst() {
        let night = q("22:00", "07:00", "Europe/Berlin");
        // 23:30 Berlin in winter (UTC+1) -> until 07:00 local = 06:00 UTC next day.
        let t = Utc.with_ymd_and_hms(2026, 1, 10, 22, 30, 0).unwrap();
        assert_eq!(
            night.until(t),
            Some(Utc.with_ymd_and_hms(2026, 1, 11, 6, 0, 0).unwrap())
        );
        // 03:00 local in summer (UTC+2) -> 07:00 local = 05:00 UTC the same day.
        let t = Utc.with_ymd_and_hms(2026, 7, 10, 1, 0, 0).unwrap();
        assert_eq!(
            night.until(t),
            Some(Utc.with_ymd_and_hms(2026, 7, 10, 5, 0, 0).unwrap())
        );
        // The night of the spring change (29 March 2026): still 07:00 local, now UTC+2.
        let t = Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap();
        assert_eq!(
            night.until(t),
            Some(Utc.with_ymd_and_hms(2026, 3, 29, 5, 0, 0).unwrap())
        );
        // Noon: not quiet.
        assert_eq!(
            night.until(Utc.with_ymd_and_hms(2026, 7, 10, 10, 0, 0).unwrap()),
            None
        );
        let lunch = q("12:00", "13:00", "Asia/Shanghai");
        let t = Utc.with_ymd_and_hms(2026, 9, 12, 4, 30, 0).unwrap();
        assert_eq!(
            lunch.until(t),
            Some(Utc.with_ymd_and_hms(2026, 9, 12, 5, 0, 0).unwrap())
        );
    }
}
