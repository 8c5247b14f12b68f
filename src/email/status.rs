//! Email in `bridgecast status`: the audience by state, deliveries by state, and
//! for `digest status` every recipient with its last delivery.

use crate::app::App;
use anyhow::Result;
use std::fmt::Write;

/// The email section of the status overview.
pub async fn overview(app: &App) -> Result<String> {
    let mut out = String::new();
    let audience = app.store.audience_counts().await?;
    let _ = write!(out, "email audience:");
    if audience.is_empty() {
        let _ = write!(out, " none");
    }
    for (kind, state, n) in &audience {
        let _ = write!(out, " {n} {kind}s {state};");
    }
    let _ = writeln!(out);
    let deliveries = app.store.delivery_counts().await?;
    let _ = write!(out, "email deliveries:");
    if deliveries.is_empty() {
        let _ = write!(out, " none");
    }
    for (state, n) in &deliveries {
        let _ = write!(out, " {n} {state};");
    }
    let _ = writeln!(out);
    Ok(out)
}

/// One line per recipient (subscribers, then contacts by organisation): state, next
/// digest, and the last delivery's state and error.
pub async fn recipients(app: &App) -> Result<String> {
    let mut out = String::new();
    let mut all = Vec::new();
    for s in app.store.subscribers(i64::MAX).await? {
        all.push(s.recipient());
    }
    for o in app.store.organisations().await? {
        for c in app.store.contacts(&o.id).await? {
            all.push(c.recipient(&o));
        }
    }
    for r in all {
        let last = app.store.deliveries(Some(&r.key), 1).await?;
        let last = last.first().map_or("no delivery yet".to_owned(), |d| {
            format!(
                "last {} {} {}{}",
                d.kind,
                d.period,
                d.state,
                d.last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )
        });
        let suppressed = app
            .store
            .suppression(&r.email)
            .await?
            .map(|why| format!(" suppressed:{why}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:<36} {:<34} {:<7} {:<8} {:<12}{suppressed} next {}  {last}",
            r.key,
            r.email,
            r.locale,
            r.cadence.frequency.as_str(),
            r.state,
            r.next_due.map_or("-".to_owned(), crate::feed::rfc3339),
        );
    }
    Ok(out)
}
