//! The demo audience: a few subscribers and one friendship organisation with contacts
//! in several languages (addresses under example.org), loaded into an empty store so
//! that `digest preview` shows a real digest on a fresh clone.

use crate::app::App;
use crate::email::schedule::{Cadence, Frequency};
use crate::store::{ACTIVE, Consent, Subscriber};
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
        let report = crate::email::orgs::import(app, f, demo_since(), |_| {}).await?;
        for (line, e) in &report.errors {
            tracing::warn!("{}:{line}: {e}", orgs.display());
        }
        n += report.contacts;
    }
    let subs = dir.join("subscribers.csv");
    if subs.exists() {
        n += import_subscribers(app, &subs).await?;
    }
    tracing::info!(recipients = n, "demo audience loaded");
    Ok(n)
}

async fn import_subscribers(app: &App, path: &Path) -> Result<usize> {
    let mut rdr = csv::Reader::from_path(path).with_context(|| path.display().to_string())?;
    let now = app.now();
    let mut n = 0;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec?;
        let get = |i: usize| rec.get(i).unwrap_or("").trim();
        let line = i + 2;
        let list = |s: &str| -> Vec<String> {
            s.split(';')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let cadence = Cadence {
            frequency: Frequency::parse(get(5)).unwrap_or_default(),
            time_zone: get(6).into(),
            hour: get(7).parse().unwrap_or(8),
            weekday: get(8).parse().unwrap_or(1),
        };
        let email = match crate::email::address::normalize(get(0)) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("{}:{line}: {e}", path.display());
                continue;
            }
        };
        if let Err(e) = cadence.check() {
            tracing::warn!("{}:{line}: {e}", path.display());
            continue;
        }
        let s = Subscriber {
            id: uuid::Uuid::new_v4().simple().to_string(),
            handle: crate::email::token::new_handle(),
            email,
            name: Some(get(1).to_owned()).filter(|s| !s.is_empty()),
            locale: get(2).into(),
            channels: list(get(3)),
            topics: list(get(4)),
            next_due: cadence.next_slot(now).map(|(t, _)| t),
            cadence,
            state: ACTIVE.into(),
            since: demo_since(),
            created_at: now,
            updated_at: now,
            confirmed_at: Some(now),
            ended_at: None,
        };
        let (stored, created) = app.store.insert_subscriber(&s).await?;
        if created {
            app.store
                .add_consent(&Consent {
                    subscriber_id: stored.id,
                    action: "import".into(),
                    at: now,
                    ip: None,
                    page_locale: None,
                    text_version: Some(format!("demo:{}", path.display())),
                })
                .await?;
            n += 1;
        }
    }
    Ok(n)
}
