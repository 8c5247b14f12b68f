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
    let sources = app.store.ingest_sources().await?;
    if !sources.is_empty() {
        let _ = writeln!(out, "ingest sources:");
        for s in sources {
            let _ = writeln!(
                out,
                "  {} {} [{}] {}{}",
                s.url,
                s.channel,
                s.locale,
                s.last_status.as_deref().unwrap_or("not polled"),
                s.last_error.map(|e| format!(": {e}")).unwrap_or_default()
            );
        }
    }
    let problems = app.problems();
    let _ = writeln!(out, "content problems: {}", problems.len());
    for p in problems {
        let _ = writeln!(out, "  {p}");
    }
    Ok(out)
}

async fn article_report(app: &App, which: &str) -> Result<String> {
    Ok(match crate::timeline::build(app, which).await? {
        Some(tl) => crate::timeline::to_text(&tl),
        None => format!("no article {which:?} (give its tag: id, channel/slug or slug)\n"),
    })
}
