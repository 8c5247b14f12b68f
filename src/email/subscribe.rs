//! Double opt-in, shared by the subscribe page and the admin API: a subscriber
//! becomes (or stays) `pending` with the chosen preferences, the `subscribe` consent
//! is recorded, and the confirmation mail is queued. Nothing else is ever sent to a
//! pending subscriber.

use crate::app::App;
use crate::email::pages::form::Prefs;
use crate::email::token::new_handle;
use crate::jobs::Job;
use crate::store::{ACTIVE, Consent, PENDING, Subscriber};
use anyhow::Result;
use std::net::IpAddr;

/// Where a subscription request came from, for the consent record.
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    pub ip: Option<IpAddr>,
    /// The locale of the page (or the subscriber's locale for the API).
    pub page_locale: &'a str,
    /// The consent text shown (the page's version), or the channel (`api`).
    pub text_version: &'a str,
}

/// What [`request`] did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Pending, consent recorded, confirmation mail queued.
    Queued(Subscriber),
    /// The address is active already; nothing was changed.
    Active(Subscriber),
    /// With `new_only`: the address is known already; nothing was changed.
    Exists(Subscriber),
}

/// Creates a pending subscriber for `email` with `prefs`, or with `existing` (a known,
/// not active subscriber) makes it pending again; records the `subscribe` consent and
/// queues its `n`-th confirmation mail. With `new_only` a known address is left alone
/// ([`Outcome::Exists`]), even when another request inserted it meanwhile.
pub async fn request(
    app: &App,
    email: &str,
    existing: Option<Subscriber>,
    prefs: &Prefs,
    origin: &Origin<'_>,
    new_only: bool,
) -> Result<Outcome> {
    let now = app.now();
    let stored = match existing {
        Some(s) if new_only => return Ok(Outcome::Exists(s)),
        Some(s) => s,
        None => {
            let fresh = Subscriber {
                id: uuid::Uuid::new_v4().simple().to_string(),
                handle: new_handle(),
                email: email.to_owned(),
                name: prefs.name.clone(),
                locale: prefs.locale.clone(),
                channels: prefs.channels.clone(),
                topics: prefs.topics.clone(),
                cadence: prefs.cadence.clone(),
                state: PENDING.into(),
                since: now,
                next_due: None,
                created_at: now,
                updated_at: now,
                confirmed_at: None,
                ended_at: None,
            };
            let (stored, created) = app.store.insert_subscriber(&fresh).await?;
            if !created && new_only {
                return Ok(Outcome::Exists(stored));
            }
            stored
        }
    };
    if stored.state == ACTIVE {
        // Confirmed already (perhaps by a concurrent request): their preferences
        // change only through their own link.
        return Ok(Outcome::Active(stored));
    }
    let mut s = stored;
    if s.state != PENDING {
        // Unsubscribed (or bounced and since unsuppressed) and asking again: pending
        // until confirmed, and nothing from the time they were away.
        s.state = PENDING.into();
        s.since = now;
    }
    prefs.apply(&mut s);
    s.next_due = None;
    s.updated_at = now;
    app.store.update_subscriber(&s).await?;
    app.store
        .add_consent(&Consent {
            subscriber_id: s.id.clone(),
            action: "subscribe".into(),
            at: now,
            ip: origin.ip.map(|i| i.to_string()),
            page_locale: Some(origin.page_locale.to_owned()),
            text_version: Some(origin.text_version.to_owned()),
        })
        .await?;
    let request = app
        .store
        .consents(&s.id)
        .await?
        .iter()
        .filter(|c| c.action == "subscribe")
        .count();
    Job::SendConfirmation {
        subscriber: s.id.clone(),
        request: u32::try_from(request).unwrap_or(u32::MAX),
    }
    .submit(app)
    .await?;
    Ok(Outcome::Queued(s))
}
