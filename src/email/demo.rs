//! The demo audience: a few subscribers and one friendship organisation with contacts
//! in several languages (addresses under example.org), loaded into an empty store so
//! that `digest preview` shows a real digest on a fresh clone.

use crate::app::App;
use anyhow::{Context, Result};
use chrono::{DateTime, TimeZone, Utc};
use std::path::Path;

/// Digests of the demo audience start here, before every demo article.
fn demo_since() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Loads `dir/subscribers.csv` and `dir/organisations.csv` when the store has no
/// audience yet. Returns how many recipients were added.
pub async fn seed(app: &App, dir: &Path) -> Result<usize> {
    if !app.store.subscribers(1).await?.is_empty() || !app.store.organisations().await?.is_empty() {
        return Ok(0);
    }
    let mut n = 0;
    let orgs = dir.join("organisations.csv");
    if orgs.exists() {
        let f = std::fs::File::open(&orgs).with_context(|| orgs.display().to_string())?;
        let report = crate::email::csv::import_organisations(app, f, demo_since(), |_| {}).await?;
        for (line, e) in &report.errors {
            tracing::warn!("{}:{line}: {e}", orgs.display());
        }
        n += report.contacts;
    }
    let subs = dir.join("subscribers.csv");
    if subs.exists() {
        let (added, errors) =
            crate::email::csv::import_subscribers(app, &subs, demo_since()).await?;
        for (line, e) in &errors {
            tracing::warn!("{}:{line}: {e}", subs.display());
        }
        n += added;
    }
    tracing::info!(recipients = n, "demo audience loaded");
    Ok(n)
}
