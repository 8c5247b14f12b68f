//! Everything that happened to one article, per locale: which feeds carry it (path and
//! ETag of each rendered document), the WebSub pings for those feeds, each social post
//! (account, state, remote URL, last error) and each digest that included it. The admin
//! API serves it as JSON, `bridgecast status ARTICLE` prints it.

use crate::app::App;
use crate::content::{Status, Translation};
use crate::feed::{self, Format};
use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Timeline {
    pub article: String,
    pub channel: String,
    pub slug: String,
    pub translations: Vec<TranslationState>,
    /// One entry per locale that shows the article or has a post about it.
    pub locales: Vec<LocaleTimeline>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranslationState {
    pub locale: String,
    pub status: String,
    /// `live`, `scheduled`, `draft`, `retracted` or `due` (not yet announced).
    pub state: String,
    pub published_at: DateTime<Utc>,
    pub live_at: Option<DateTime<Utc>>,
    pub title: String,
    /// Where it came from: a content file, `api` or `ingest:<url>`.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocaleTimeline {
    pub locale: String,
    pub feeds: Vec<FeedRow>,
    pub websub: Vec<PingRow>,
    pub social: Vec<PostRow>,
    /// The digests in this locale that included the article: one row per period and
    /// outcome (`d2026-11-28`, or `d2026-11-28 (bounced)`), with how many recipients.
    pub digests: Vec<DigestRow>,
}

/// One rendered feed document that carries (or tombstones) the article.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedRow {
    pub channel: String,
    pub path: String,
    /// `None` while the document has not been rendered.
    pub etag: Option<String>,
    pub built_at: Option<DateTime<Utc>>,
    /// `shown`, `fallback:<locale>`, `tombstone` or `not-shown`.
    pub shows: String,
}

/// One WebSub ping job for a feed that carries the article.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PingRow {
    pub hub: String,
    pub topic: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostRow {
    pub account: String,
    pub platform: String,
    /// What the platform said (`posted`, `failed`, `deleted`, ...).
    pub state: String,
    pub remote_url: Option<String>,
    pub remote_id: Option<String>,
    pub last_error: Option<String>,
    /// The post job's state (`pending`, `done`, `dead`, ...).
    pub job_state: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Digests of one period that included the article, by outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DigestRow {
    pub digest: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub recipients: i64,
}

/// The state a reader would see, for views.
pub fn state_of(
    t: &Translation,
    live_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> &'static str {
    if t.retracted_at.is_some_and(|r| r <= now) {
        "retracted"
    } else if t.status == Status::Draft {
        "draft"
    } else if t.published_at > now {
        "scheduled"
    } else if live_at.is_some() {
        "live"
    } else {
        "due"
    }
}

/// Finds an article by tag id, `channel/slug` or slug.
pub fn find<'a>(all: &'a [Translation], which: &str) -> Vec<&'a Translation> {
    let first = all.iter().find(|t| {
        t.article_id == which || format!("{}/{}", t.channel, t.slug) == which || t.slug == which
    });
    let Some(first) = first else { return vec![] };
    let mut mine: Vec<&Translation> = all
        .iter()
        .filter(|t| t.article_id == first.article_id)
        .collect();
    mine.sort_by(|a, b| a.locale.cmp(&b.locale));
    mine
}

/// The timeline of the article `which` (tag id, `channel/slug` or slug), if it exists.
pub async fn build(app: &App, which: &str) -> Result<Option<Timeline>> {
    let all = app.store.all_translations().await?;
    let mine = find(&all, which);
    let Some(first) = mine.first() else {
        return Ok(None);
    };
    let id = first.article_id.clone();
    let now = app.now();
    let live = app.store.live_times().await?;
    let translations = mine
        .iter()
        .map(|t| {
            let live_at = live
                .get(&(t.article_id.clone(), t.locale.clone()))
                .copied()
                .flatten();
            TranslationState {
                locale: t.locale.clone(),
                status: t.status.as_str().to_owned(),
                state: state_of(t, live_at, now).to_owned(),
                published_at: t.published_at,
                live_at,
                title: t.title.clone(),
                source: t.source.clone(),
            }
        })
        .collect();
    let docs: HashMap<String, (String, DateTime<Utc>)> = app
        .store
        .document_index()
        .await?
        .into_iter()
        .map(|(p, e, b)| (p, (e, b)))
        .collect();
    let pings = app.store.jobs_with_prefix("websub:").await?;
    let mut locales: BTreeMap<String, LocaleTimeline> = BTreeMap::new();
    let entry = |locales: &mut BTreeMap<String, LocaleTimeline>, l: &str| {
        locales
            .entry(l.to_owned())
            .or_insert_with(|| LocaleTimeline {
                locale: l.to_owned(),
                feeds: vec![],
                websub: vec![],
                social: vec![],
                digests: vec![],
            });
    };
    for c in app.channels().iter() {
        for l in &c.locales {
            let sel = feed::select(c, l, &all, now);
            let shown = sel.entries.iter().find(|e| e.t.article_id == id);
            let tomb = sel
                .tombstones
                .iter()
                .any(|t| t.id.starts_with(&format!("{id}/")));
            if shown.is_none() && !tomb && !c.includes(&first.channel, &first.topics) {
                continue;
            }
            let shows = match shown {
                Some(e) if e.t.locale != *l => format!("fallback:{}", e.t.locale),
                Some(_) => "shown".to_owned(),
                None if tomb => "tombstone".to_owned(),
                None => "not-shown".to_owned(),
            };
            entry(&mut locales, l);
            let lt = locales.get_mut(l.as_str()).expect("inserted above");
            for f in Format::ALL {
                let path = feed::feed_path(&c.id, l, None, f);
                let topic = app.site().url(&path);
                for j in pings
                    .iter()
                    .filter(|j| j.key.ends_with(&format!(":{topic}")))
                {
                    let hub = j
                        .key
                        .strip_prefix("websub:")
                        .and_then(|k| k.strip_suffix(&format!(":{topic}")))
                        .unwrap_or_default();
                    lt.websub.push(PingRow {
                        hub: hub.to_owned(),
                        topic: topic.clone(),
                        state: j.state.as_str().to_owned(),
                        attempts: j.attempts,
                        last_error: j.last_error.clone(),
                        updated_at: j.updated_at,
                    });
                }
                let doc = docs.get(&path);
                lt.feeds.push(FeedRow {
                    channel: c.id.clone(),
                    path,
                    etag: doc.map(|d| d.0.clone()),
                    built_at: doc.map(|d| d.1),
                    shows: shows.clone(),
                });
            }
        }
    }
    for p in app.store.posts(Some(&id)).await? {
        let job = app.store.job(&p.job_key).await?;
        entry(&mut locales, &p.locale);
        let lt = locales.get_mut(p.locale.as_str()).expect("inserted above");
        lt.social.push(PostRow {
            account: p.account,
            platform: p.platform,
            state: p.state,
            remote_url: p.remote_url,
            remote_id: p.remote_id,
            last_error: p.last_error,
            job_state: job.map(|j| j.state.as_str().to_owned()),
            updated_at: p.updated_at,
        });
    }
    // The digests that carried the article, per locale and period: how many
    // recipients got it, and any that are still retrying or bounced.
    // (locale, period, state) -> (recipients, last sent)
    type Outcome = (String, String, String);
    let mut digests: BTreeMap<Outcome, (i64, Option<DateTime<Utc>>)> = BTreeMap::new();
    for d in app.store.deliveries_of_article(&id).await? {
        let e = digests
            .entry((d.locale.clone(), d.period.clone(), d.state.clone()))
            .or_default();
        e.0 += 1;
        if d.state == "sent" {
            e.1 = Some(e.1.map_or(d.updated_at, |t: DateTime<Utc>| t.max(d.updated_at)));
        }
    }
    for ((locale, period, state), (n, at)) in digests {
        let l = locales
            .entry(locale.clone())
            .or_insert_with(|| LocaleTimeline {
                locale,
                feeds: vec![],
                websub: vec![],
                social: vec![],
                digests: vec![],
            });
        l.digests.push(DigestRow {
            digest: if state == "sent" {
                period
            } else {
                format!("{period} ({state})")
            },
            sent_at: at,
            recipients: n,
        });
    }
    Ok(Some(Timeline {
        article: id,
        channel: first.channel.clone(),
        slug: first.slug.clone(),
        translations,
        locales: locales.into_values().collect(),
    }))
}

/// The timeline as text, for `bridgecast status ARTICLE`.
pub fn to_text(tl: &Timeline) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "article {} ({}/{})", tl.article, tl.channel, tl.slug);
    for t in &tl.translations {
        let state = match t.state.as_str() {
            "scheduled" => format!("scheduled for {}", feed::rfc3339(t.published_at)),
            "live" => format!(
                "live since {}",
                t.live_at.map(feed::rfc3339).unwrap_or_default()
            ),
            "due" => "due, not yet announced".to_owned(),
            s => s.to_owned(),
        };
        let _ = writeln!(
            out,
            "  {:<8} {:<18} {state}  {}",
            t.locale, t.status, t.title
        );
    }
    let posts: usize = tl.locales.iter().map(|l| l.social.len()).sum();
    for l in &tl.locales {
        let _ = writeln!(out, "{}:", l.locale);
        for f in &l.feeds {
            let _ = writeln!(
                out,
                "  feed   {:<40} {:<16} etag {}",
                f.path,
                f.shows,
                f.etag.as_deref().unwrap_or("-")
            );
        }
        for p in &l.websub {
            let _ = writeln!(
                out,
                "  websub {} {} {} (attempts {}){}",
                p.hub,
                p.topic,
                p.state,
                p.attempts,
                p.last_error
                    .as_deref()
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default()
            );
        }
        for p in &l.social {
            let _ = writeln!(
                out,
                "  social {:<16} {:<9} {:<7} job {:<7} {}{}",
                p.account,
                p.platform,
                p.state,
                p.job_state.as_deref().unwrap_or("-"),
                p.remote_url
                    .as_deref()
                    .or(p.remote_id.as_deref())
                    .unwrap_or("-"),
                p.last_error
                    .as_deref()
                    .map(|e| format!("  error: {e}"))
                    .unwrap_or_default()
            );
        }
        for d in &l.digests {
            let _ = writeln!(out, "  digest {} to {} recipients", d.digest, d.recipients);
        }
    }
    let _ = writeln!(out, "social posts: {posts}");
    let digests: usize = tl.locales.iter().map(|l| l.digests.len()).sum();
    let _ = writeln!(out, "digests: {digests}");
    out
}
