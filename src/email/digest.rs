//! Digests: who is due, what they get, and sending it once.
//!
//! `plan` runs from the scheduler every minute (and right after something is
//! published): it finds recipients whose local digest slot has passed (or, for
//! instant recipients, who have not been given what went live) and queues one
//! `SendDigest` job per (recipient, period) in the same transaction that moves their
//! schedule on. The job key is the promise: a period is sent at most once, and a
//! queued job survives crashes until it is done.
//!
//! `send_digest` records the delivery as `sent` (with the recipient's `since` moved to
//! the period's cutoff) in one transaction right after the server accepted the
//! message, and a retried job that finds that record does nothing. A crash between the
//! server's acceptance and that commit is the one window in which a retry can send
//! twice; the Message-ID is derived from the job key, so the two copies carry the same
//! id.

use crate::app::App;
use crate::content::{Translation, article_path};
use crate::email::{DigestInput, DigestItem, Outgoing};
use crate::jobs::{Job, JobError};
use crate::store::{ACTIVE, Delivery, PENDING, Recipient, SendState, Store};
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Queues the digests that are due. Returns how many jobs were queued.
pub async fn plan(app: &App) -> Result<usize> {
    let now = app.now();
    let batch = i64::try_from(app.config.email.batch.max(1)).unwrap_or(256);
    let mut queued = 0;
    loop {
        let due = app.store.due_recipients(now, batch).await?;
        if due.is_empty() {
            break;
        }
        let mut tx = app.store.transaction().await?;
        for r in &due {
            let next = r.cadence.next_slot(now).map(|(t, _)| t);
            if let Some((slot, period)) = r.cadence.last_slot(now) {
                let job = Job::SendDigest {
                    recipient: r.key.clone(),
                    period,
                    cutoff: crate::clock::to_millis(slot),
                };
                if job.enqueue(&mut tx, now).await? {
                    queued += 1;
                }
            }
            Store::set_planned(&mut tx, r, next, now).await?;
        }
        tx.commit().await?;
        if due.len() < usize::try_from(batch).unwrap_or(256) {
            break;
        }
    }
    if let Some(newest) = app.store.newest_live().await? {
        loop {
            let due = app.store.instant_recipients(newest, batch).await?;
            if due.is_empty() {
                break;
            }
            let mut tx = app.store.transaction().await?;
            for r in &due {
                let job = Job::SendDigest {
                    recipient: r.key.clone(),
                    period: format!("i{}", crate::clock::to_millis(newest)),
                    cutoff: crate::clock::to_millis(newest),
                };
                if job.enqueue(&mut tx, now).await? {
                    queued += 1;
                }
                Store::set_planned(&mut tx, r, None, newest).await?;
            }
            tx.commit().await?;
            if due.len() < usize::try_from(batch).unwrap_or(256) {
                break;
            }
        }
    }
    if queued > 0 {
        tracing::info!(queued, "digests queued");
        app.wake.notify_one();
    }
    Ok(queued)
}

/// The articles a recipient's digest shows for `(after, until]`, newest first, each
/// in the recipient's locale through its channel's fallback chain.
pub async fn items(
    app: &App,
    r: &Recipient,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<DigestItem>> {
    let live = app.live_between(after, until).await?;
    Ok(select(app, r, &live, after))
}

fn select(
    app: &App,
    r: &Recipient,
    live: &[(Translation, DateTime<Utc>)],
    after: DateTime<Utc>,
) -> Vec<DigestItem> {
    let channels = app.channels();
    let mut by_article: BTreeMap<&str, BTreeMap<String, &Translation>> = BTreeMap::new();
    let mut new_articles: BTreeSet<&str> = BTreeSet::new();
    for (t, at) in live {
        by_article
            .entry(&t.article_id)
            .or_default()
            .insert(t.locale.clone(), t);
        if *at > after {
            new_articles.insert(&t.article_id);
        }
    }
    let mut out: Vec<DigestItem> = Vec::new();
    let mut seen = BTreeSet::new();
    for c in channels
        .iter()
        .filter(|c| r.channels.is_empty() || r.channels.contains(&c.id))
    {
        for (article, translations) in &by_article {
            if !new_articles.contains(article) || seen.contains(article) {
                continue;
            }
            let Some(any) = translations.values().next() else {
                continue;
            };
            if !c.includes(&any.channel, &any.topics) {
                continue;
            }
            if !r.topics.is_empty() && !any.topics.iter().any(|t| r.topics.contains(t)) {
                continue;
            }
            let locale = if c.locales.contains(&r.locale) {
                r.locale.as_str()
            } else {
                c.source_locale.as_str()
            };
            let Some(t) = c.resolve(locale, translations) else {
                continue;
            };
            seen.insert(*article);
            let site = app.site();
            out.push(DigestItem {
                article_id: t.article_id.clone(),
                title: t.title.clone(),
                summary: t.summary.clone(),
                url: site.url(&article_path(&t.locale, &t.channel, &t.slug)),
                lang: t.locale.clone(),
                published_at: t.published_at,
                corrected: t.updated_at.is_some_and(|u| u > t.published_at),
                alternates: translations
                    .values()
                    .filter(|o| o.locale != t.locale)
                    .map(|o| {
                        (
                            o.locale.clone(),
                            site.url(&article_path(&o.locale, &o.channel, &o.slug)),
                        )
                    })
                    .collect(),
                channel_title_msg: c.title_msg.clone(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.published_at
            .cmp(&a.published_at)
            .then(a.article_id.cmp(&b.article_id))
    });
    out
}

/// The links every message to `r` carries.
#[derive(Debug)]
pub struct Links {
    pub preferences: String,
    pub unsubscribe_page: String,
    pub one_click: String,
}

pub fn links(app: &App, r: &Recipient) -> Links {
    use crate::email::token::Purpose;
    let base = app.config.base();
    let now = app.now();
    let manage = app
        .tokens
        .issue(Purpose::Manage, &r.handle, Some(now + Duration::days(90)));
    let unsub = app.tokens.issue(Purpose::Unsubscribe, &r.handle, None);
    Links {
        preferences: format!("{base}/subscription?t={manage}"),
        unsubscribe_page: format!("{base}/unsubscribe?t={unsub}"),
        one_click: format!("{base}/unsubscribe/one-click?t={unsub}"),
    }
}

/// The exact message `r` gets for `items`, ready to compose.
pub fn outgoing(
    app: &App,
    r: &Recipient,
    items: Vec<DigestItem>,
    cutoff: DateTime<Utc>,
    job_key: &str,
) -> Outgoing {
    let l = links(app, r);
    let input = DigestInput {
        locale: r.locale.clone(),
        recipient_name: r.name.clone(),
        organisation: r.organisation.as_ref().map(|o| o.name_in(&r.locale)),
        items,
        frequency: r.cadence.frequency.as_str().into(),
        period_end: cutoff,
        time_zone: r.cadence.time_zone.clone(),
        preferences_url: l.preferences,
        unsubscribe_url: l.unsubscribe_page,
        site_url: format!("{}/{}/", app.config.base(), r.locale),
    };
    let body = crate::email::render::digest(&app.i18n, &input);
    let list = match &r.organisation {
        Some(o) => format!("{}.org", o.id),
        None => "subscribers".into(),
    };
    let list_name = match &r.organisation {
        Some(o) => o.name_in(&r.locale),
        None => app.i18n.msg(&r.locale, "email-list-name", &[]),
    };
    Outgoing {
        to_name: r.name.clone(),
        to_email: r.email.clone(),
        body,
        message_id: crate::email::message::message_id(job_key, app.mail.domain()),
        list_id: format!(
            "{} <{}.{}.{}>",
            list_name.replace(['<', '>', '\r', '\n'], ""),
            r.locale.to_ascii_lowercase(),
            list,
            app.config.email.list_domain
        ),
        unsubscribe_post_url: Some(l.one_click),
        unsubscribe_mailto: (!app.config.email.unsubscribe_mailto.is_empty()).then(|| {
            format!(
                "mailto:{}?subject=unsubscribe%20{}",
                app.config.email.unsubscribe_mailto, r.handle
            )
        }),
        date: app.now(),
    }
}

fn delivery(
    key: &str,
    r: &Recipient,
    kind: &str,
    period: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Delivery {
    Delivery {
        job_key: key.to_owned(),
        recipient: r.key.clone(),
        email: r.email.clone(),
        locale: r.locale.clone(),
        kind: kind.to_owned(),
        period: period.to_owned(),
        state: state.to_owned(),
        message_id: None,
        articles: Vec::new(),
        reply: None,
        last_error: None,
        attempts: 0,
        updated_at: now,
    }
}

/// What every email job checks before it sends: `None` when an earlier attempt already
/// finished (it recorded its delivery, then the process died before the job was marked
/// done) or when `r` must get nothing (not in `state`, or suppressed: the skip is
/// recorded). Otherwise the delivery row to fill, with its attempt counted.
async fn gate(
    app: &App,
    key: &str,
    r: &Recipient,
    sent: SendState,
    kind: &str,
    period: &str,
    state: &str,
) -> Result<Option<Delivery>, JobError> {
    let SendState {
        suppressed,
        previous,
        attempts,
    } = sent;
    if matches!(previous.as_deref(), Some("sent" | "bounced" | "empty")) {
        return Ok(None);
    }
    let mut d = delivery(key, r, kind, period, "skipped", app.now());
    d.attempts = attempts + 1;
    let skip = if r.state != state {
        Some(format!("recipient is {}", r.state))
    } else {
        suppressed.map(|reason| format!("address suppressed ({reason})"))
    };
    if let Some(why) = skip {
        d.last_error = Some(why);
        app.store
            .put_delivery(&d)
            .await
            .map_err(JobError::transient)?;
        return Ok(None);
    }
    Ok(Some(d))
}

/// Runs one `SendDigest` job.
pub async fn send_digest(
    app: &App,
    key: &str,
    recipient: &str,
    period: &str,
    cutoff_ms: i64,
) -> Result<(), JobError> {
    let cutoff = crate::clock::from_millis(cutoff_ms);
    let Some((r, sent)) = app
        .send_contexts
        .submit_each(
            (recipient.to_owned(), key.to_owned()),
            |wanted| async move { app.store.send_contexts(&wanted).await },
        )
        .await
        .map_err(JobError::transient)?
    else {
        return Err(JobError::permanent(format!(
            "no recipient {recipient} (deleted?)"
        )));
    };
    let Some(mut d) = gate(app, key, &r, sent, "digest", period, ACTIVE).await? else {
        return Ok(());
    };
    let items = items(app, &r, r.since, cutoff)
        .await
        .map_err(JobError::transient)?;
    if items.is_empty() {
        d.state = "empty".into();
        let mut tx = app.store.transaction().await.map_err(JobError::transient)?;
        Store::put_delivery_in(&mut tx, &d)
            .await
            .map_err(JobError::transient)?;
        Store::advance_since(&mut tx, &r.key, cutoff)
            .await
            .map_err(JobError::transient)?;
        tx.commit().await.map_err(JobError::transient)?;
        return Ok(());
    }
    d.articles = items.iter().map(|i| i.article_id.clone()).collect();
    let out = outgoing(app, &r, items, cutoff, key);
    d.message_id = Some(out.message_id.clone());
    let sent = deliver(app, &out, &mut d).await;
    match sent {
        Ok(false) => Ok(()),
        Ok(true) => {
            // The relay has the message: record it before the job may succeed. Sends
            // finishing together share one transaction.
            app.sent_log
                .submit((d, cutoff), |batch| async move {
                    app.store.record_deliveries(&batch).await
                })
                .await
                .map_err(JobError::transient)?;
            crate::metrics::Metrics::inc(&app.metrics.emails_sent);
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Runs one `SendConfirmation` job: the double opt-in message.
pub async fn send_confirmation(
    app: &App,
    key: &str,
    subscriber: &str,
    _request: u32,
) -> Result<(), JobError> {
    use crate::email::token::Purpose;
    let now = app.now();
    let Some(s) = app
        .store
        .subscriber(subscriber)
        .await
        .map_err(JobError::transient)?
    else {
        return Err(JobError::permanent(format!("no subscriber {subscriber}")));
    };
    let r = s.recipient();
    let sent = app
        .store
        .send_state(&r.email, key)
        .await
        .map_err(JobError::transient)?;
    let Some(mut d) = gate(app, key, &r, sent, "confirmation", "confirm", PENDING).await? else {
        return Ok(());
    };
    let ttl = app.config.email.confirm_ttl_hours;
    let expires = now + Duration::hours(i64::try_from(ttl).unwrap_or(72));
    let token = app.tokens.issue(Purpose::Confirm, &s.handle, Some(expires));
    let confirm_url = format!("{}/subscribe/confirm?t={token}", app.config.base());
    let site_url = format!("{}/{}/", app.config.base(), s.locale);
    let body =
        crate::email::render::confirmation(&app.i18n, &s.locale, &confirm_url, &site_url, ttl);
    let out = Outgoing {
        to_name: s.name.clone(),
        to_email: s.email.clone(),
        body,
        message_id: crate::email::message::message_id(key, app.mail.domain()),
        list_id: String::new(),
        unsubscribe_post_url: None,
        unsubscribe_mailto: None,
        date: now,
    };
    d.message_id = Some(out.message_id.clone());
    if deliver(app, &out, &mut d).await? {
        app.store
            .put_delivery(&d)
            .await
            .map_err(JobError::transient)?;
        crate::metrics::Metrics::inc(&app.metrics.emails_sent);
    }
    Ok(())
}

/// Composes, signs and sends `out`, keeping `d` (the delivery row) up to date. On
/// success `d` is left in state `sent` for the caller to store with its own writes.
/// A permanent refusal of the address suppresses it and is not an error of the job
/// (`Ok(false)`).
async fn deliver(app: &App, out: &Outgoing, d: &mut Delivery) -> Result<bool, JobError> {
    let composed = match app.mail.compose(out) {
        Ok(c) => c,
        Err(e) => {
            d.state = "failed".into();
            d.last_error = Some(e.to_string());
            app.store
                .put_delivery(d)
                .await
                .map_err(JobError::transient)?;
            return Err(JobError::permanent(format!("address refused: {e}")));
        }
    };
    match app.mail.send(&composed).await {
        Ok(reply) => {
            d.state = "sent".into();
            d.reply = Some(reply);
            d.last_error = None;
            d.updated_at = app.now();
            Ok(true)
        }
        Err(e) if e.is_transient() => {
            d.state = "retrying".into();
            d.last_error = Some(e.to_string());
            d.updated_at = app.now();
            app.store
                .put_delivery(d)
                .await
                .map_err(JobError::transient)?;
            Err(JobError::transient(e))
        }
        Err(e) if e.is_recipient_refused() => {
            d.state = "bounced".into();
            d.last_error = Some(e.to_string());
            d.updated_at = app.now();
            app.store
                .put_delivery(d)
                .await
                .map_err(JobError::transient)?;
            app.store
                .suppress(&d.email, "refused", &e.to_string(), app.now())
                .await
                .map_err(JobError::transient)?;
            crate::metrics::Metrics::inc(&app.metrics.emails_bounced);
            tracing::warn!(recipient = %d.recipient, error = %e, "address refused; suppressed");
            Ok(false)
        }
        Err(e) => {
            d.state = "failed".into();
            d.last_error = Some(e.to_string());
            d.updated_at = app.now();
            app.store
                .put_delivery(d)
                .await
                .map_err(JobError::transient)?;
            Err(JobError::permanent(e))
        }
    }
}
