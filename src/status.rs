//! What is published, scheduled and failing, as text for `bridgecast status`.

use crate::app::App;
use crate::feed::{self, Format};
use crate::store::JobState;
use anyhow::Result;
use std::collections::HashMap;
use std::fmt::Write;

pub async fn report(app: &App, article: Option<&str>) -> Result<String> {
    match article {
        Some(a) => article_report(app, a).await,
        None => overview(app).await,
    }
}

async fn overview(app: &App) -> Result<String> {
    let mut out = String::new();
    let now = app.now();
    let docs: HashMap<String, (String, chrono::DateTime<chrono::Utc>)> = app
        .store
        .document_index()
        .await?
        .into_iter()
        .map(|(p, e, b)| (p, (e, b)))
        .collect();
    let all = app.store.all_translations().await?;
    let _ = writeln!(out, "feeds (current documents):");
    for c in app.channels().iter() {
        for l in &c.locales {
            let sel = feed::select(c, l, &all, now);
            let fallbacks = sel.entries.iter().filter(|e| e.t.locale != *l).count();
            let path = feed::feed_path(&c.id, l, None, Format::Atom);
            let built = docs
                .get(&path)
                .map_or("not built yet".to_owned(), |(etag, at)| {
                    format!("etag {etag} built {}", feed::rfc3339(*at))
                });
            let _ = writeln!(
                out,
                "  {:<14} {:<8} {:>4} entries ({fallbacks} fallback, {} retracted)  {built}",
                c.id,
                l,
                sel.entries.len(),
                sel.tombstones.len()
            );
        }
    }
    let mut scheduled: Vec<_> = all
        .iter()
        .filter(|t| t.published_at > now && t.status != crate::content::Status::Draft)
        .collect();
    scheduled.sort_by_key(|t| t.published_at);
    let _ = writeln!(out, "scheduled: {}", scheduled.len());
    for t in scheduled {
        let _ = writeln!(
            out,
            "  {}  {}/{} [{}]  {}",
            feed::rfc3339(t.published_at),
            t.channel,
            t.slug,
            t.locale,
            t.title
        );
    }
    let drafts = all
        .iter()
        .filter(|t| t.status == crate::content::Status::Draft)
        .count();
    let _ = writeln!(out, "drafts: {drafts}");
    let q = app.store.queue_counts().await?;
    let _ = writeln!(
        out,
        "jobs: {} pending, {} running, {} done, {} dead",
        q.pending, q.running, q.done, q.dead
    );
    let failing: Vec<_> = app
        .store
        .jobs(Some(JobState::Pending), 1000)
        .await?
        .into_iter()
        .filter(|j| j.last_error.is_some())
        .collect();
    for j in &failing {
        let _ = writeln!(
            out,
            "  retrying {} (attempt {}, next {}): {}",
            j.key,
            j.attempts,
            feed::rfc3339(j.run_at),
            j.last_error.as_deref().unwrap_or("")
        );
    }
    let dead = app.store.jobs(Some(JobState::Dead), 100).await?;
    if !dead.is_empty() {
        let _ = writeln!(out, "dead letters:");
        for j in dead {
            let _ = writeln!(
                out,
                "  #{} {} after {} attempts: {}",
                j.id,
                j.key,
                j.attempts,
                j.last_error.as_deref().unwrap_or("")
            );
        }
    }
    out.push_str(&crate::email::status::overview(app).await?);
    let problems = app.problems();
    let _ = writeln!(out, "content problems: {}", problems.len());
    for p in problems {
        let _ = writeln!(out, "  {p}");
    }
    Ok(out)
}

async fn article_report(app: &App, which: &str) -> Result<String> {
    let all = app.store.all_translations().await?;
    let mine: Vec<_> = all
        .iter()
        .filter(|t| {
            t.article_id == which || format!("{}/{}", t.channel, t.slug) == which || t.slug == which
        })
        .collect();
    let mut out = String::new();
    let Some(first) = mine.first() else {
        let _ = writeln!(
            out,
            "no article {which:?} (give its tag: id, channel/slug or slug)"
        );
        return Ok(out);
    };
    let id = first.article_id.clone();
    let now = app.now();
    let live = app.store.live_times().await?;
    let _ = writeln!(out, "article {id} ({}/{})", first.channel, first.slug);
    for t in mine.iter().filter(|t| t.article_id == id) {
        let state = if t.retracted_at.is_some_and(|r| r <= now) {
            "retracted".to_owned()
        } else if t.status == crate::content::Status::Draft {
            "draft".to_owned()
        } else if t.published_at > now {
            format!("scheduled for {}", feed::rfc3339(t.published_at))
        } else {
            match live
                .get(&(t.article_id.clone(), t.locale.clone()))
                .copied()
                .flatten()
            {
                Some(at) => format!("live since {}", feed::rfc3339(at)),
                None => "due, not yet announced".to_owned(),
            }
        };
        let _ = writeln!(
            out,
            "  {:<8} {:<18} {state}  {}",
            t.locale,
            t.status.as_str(),
            t.title
        );
    }
    let _ = writeln!(out, "feeds:");
    let docs = app.store.document_index().await?;
    let etags: HashMap<&str, &str> = docs
        .iter()
        .map(|(p, e, _)| (p.as_str(), e.as_str()))
        .collect();
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
            let path = feed::feed_path(&c.id, l, None, Format::Atom);
            let what = match shown {
                Some(e) if e.t.locale != *l => format!("shown in {} (fallback)", e.t.locale),
                Some(_) => "shown".to_owned(),
                None if tomb => "tombstone".to_owned(),
                None => "not shown (policy or schedule)".to_owned(),
            };
            let _ = writeln!(
                out,
                "  {:<14} {:<8} {what:<28} etag {}",
                c.id,
                l,
                etags.get(path.as_str()).unwrap_or(&"-")
            );
        }
    }
    let posts = app.store.posts(Some(&id)).await?;
    let _ = writeln!(out, "social posts: {}", posts.len());
    for p in posts {
        let job = app.store.job(&p.job_key).await?;
        let job_state = job.as_ref().map_or("-", |j| j.state.as_str());
        let _ = writeln!(
            out,
            "  {:<8} {:<16} {:<9} {:<7} job {job_state:<7} {}{}",
            p.locale,
            p.account,
            p.platform,
            p.state,
            p.remote_url
                .as_deref()
                .or(p.remote_id.as_deref())
                .unwrap_or("-"),
            p.last_error
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(out)
}
