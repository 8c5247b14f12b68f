//! Digest planning and selection: local delivery hours across time zones, one job per
//! (recipient, period), catching up after downtime, instant digests, topic and channel
//! filters, fallback languages. Runs on both store engines.

use crate::support::{TestApp, engines};
use bridgecast::clock::Clock;
use bridgecast::email::digest;
use bridgecast::email::schedule::{Cadence, Frequency};
use bridgecast::jobs::Job;
use bridgecast::store::{ACTIVE, Contact, Organisation, Subscriber};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeMap;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

pub fn subscriber(email: &str, locale: &str, cadence: Cadence, now: DateTime<Utc>) -> Subscriber {
    Subscriber {
        id: uuid::Uuid::new_v4().simple().to_string(),
        handle: bridgecast::email::token::new_handle(),
        email: email.into(),
        name: Some("Test Reader".into()),
        locale: locale.into(),
        channels: vec![],
        topics: vec![],
        next_due: cadence.next_slot(now).map(|(t, _)| t),
        cadence,
        state: ACTIVE.into(),
        since: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        created_at: now,
        updated_at: now,
        confirmed_at: Some(now),
        ended_at: None,
    }
}

pub fn daily(tz: &str, hour: u32) -> Cadence {
    Cadence {
        frequency: Frequency::Daily,
        time_zone: tz.into(),
        hour,
        weekday: 1,
    }
}

async fn digest_jobs(t: &TestApp) -> Vec<String> {
    let mut keys: Vec<String> = t
        .app
        .store
        .jobs(None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == "send_digest")
        .map(|j| j.key)
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn daily_digest_is_planned_once_per_local_day_and_catches_up() {
    for db in engines() {
        let t = TestApp::builder()
            .db(db)
            .config(|c| c.email.enabled = false)
            .build()
            .await;
        let now = t.clock.now();
        let (s, created) = t
            .app
            .store
            .insert_subscriber(&subscriber(
                "berlin@example.org",
                "de",
                daily("Europe/Berlin", 8),
                now,
            ))
            .await
            .unwrap();
        assert!(created);
        assert_eq!(s.next_due, Some(utc("2026-11-29T07:00:00Z")), "08:00 CET");
        // Before the slot: nothing.
        assert_eq!(digest::plan(&t.app).await.unwrap(), 0);
        t.clock.set(utc("2026-11-29T07:00:30Z"));
        assert_eq!(digest::plan(&t.app).await.unwrap(), 1);
        assert_eq!(
            digest::plan(&t.app).await.unwrap(),
            0,
            "second sweep is a no-op"
        );
        let key = format!("digest:s:{}:d2026-11-29", s.id);
        assert_eq!(digest_jobs(&t).await, vec![key.clone()]);
        let job = t.app.store.job(&key).await.unwrap().unwrap();
        let Job::SendDigest { cutoff, .. } = serde_json::from_str(&job.payload).unwrap() else {
            panic!("payload {}", job.payload)
        };
        assert_eq!(cutoff, utc("2026-11-29T07:00:00Z").timestamp_millis());
        let s = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
        assert_eq!(s.next_due, Some(utc("2026-11-30T07:00:00Z")));
        // Down for four days: one digest, for the latest missed day.
        t.clock.set(utc("2026-12-03T10:00:00Z"));
        assert_eq!(digest::plan(&t.app).await.unwrap(), 1);
        assert_eq!(
            digest_jobs(&t).await,
            vec![key, format!("digest:s:{}:d2026-12-03", s.id)]
        );
    }
}

#[tokio::test]
async fn instant_and_organisation_digests_are_planned() {
    for db in engines() {
        let t = TestApp::builder()
            .db(db)
            .config(|c| c.email.enabled = false)
            .build()
            .await;
        let now = t.clock.now();
        let mut c = daily("UTC", 0);
        c.frequency = Frequency::Instant;
        let (s, _) = t
            .app
            .store
            .insert_subscriber(&subscriber("now@example.org", "es", c, now))
            .await
            .unwrap();
        let org = Organisation {
            id: "arniko".into(),
            names: BTreeMap::from([("en".into(), "Arniko Society".into())]),
            country: "NP".into(),
            city: "Kathmandu".into(),
            partner_since: None,
            channels: vec![],
            topics: vec![],
            cadence: Cadence {
                frequency: Frequency::Weekly,
                time_zone: "Asia/Kathmandu".into(),
                hour: 9,
                weekday: 1,
            },
            created_at: now,
            updated_at: now,
        };
        t.app.store.put_organisation(&org).await.unwrap();
        let contact = t
            .app
            .store
            .put_contact(&Contact {
                id: "c1".into(),
                handle: bridgecast::email::token::new_handle(),
                org_id: org.id.clone(),
                name: "Layla".into(),
                email: "layla@example.org".into(),
                locale: "ar".into(),
                role: "liaison".into(),
                state: ACTIVE.into(),
                since: utc("2026-01-01T00:00:00Z"),
                next_due: org.cadence.next_slot(now).map(|(t, _)| t),
            })
            .await
            .unwrap();
        // Monday 2026-11-30 09:00 in Kathmandu (UTC+5:45) is 03:15 UTC.
        assert_eq!(contact.next_due, Some(utc("2026-11-30T03:15:00Z")));
        assert_eq!(digest::plan(&t.app).await.unwrap(), 1, "the instant one");
        assert_eq!(digest::plan(&t.app).await.unwrap(), 0);
        t.clock.set(utc("2026-11-30T03:16:00Z"));
        assert_eq!(digest::plan(&t.app).await.unwrap(), 1, "the weekly one");
        let keys = digest_jobs(&t).await;
        assert_eq!(keys.len(), 2);
        assert!(
            keys.contains(&"digest:c:c1:w2026-W49".to_owned()),
            "{keys:?}"
        );
        assert!(
            keys.iter()
                .any(|k| k.starts_with(&format!("digest:s:{}:i", s.id)))
        );
    }
}

#[tokio::test]
async fn selection_follows_locale_fallback_topics_and_channels() {
    let t = TestApp::builder()
        .config(|c| c.email.enabled = false)
        .build()
        .await;
    let now = t.clock.now();
    let since = utc("2026-01-01T00:00:00Z");
    let all = |locale: &str| {
        let mut s = subscriber(
            &format!("{locale}@example.org"),
            locale,
            daily("UTC", 8),
            now,
        );
        s.since = since;
        s.recipient()
    };
    let en = digest::items(&t.app, &all("en"), since, now).await.unwrap();
    assert!(en.len() >= 4, "{en:?}");
    assert!(
        en.windows(2)
            .all(|w| w[0].published_at >= w[1].published_at)
    );
    assert!(
        en.iter()
            .all(|i| i.url.starts_with("https://feeds.example.org/"))
    );
    // hyogo-cooperation exists in three locales only: German readers get it in a
    // fallback language, and the item says which.
    let de = digest::items(&t.app, &all("de"), since, now).await.unwrap();
    let hyogo = de
        .iter()
        .find(|i| i.url.contains("hyogo"))
        .expect("hyogo article in the de digest");
    assert_ne!(hyogo.lang, "de");
    assert!(de.iter().filter(|i| i.lang == "de").count() >= 3);
    // Every item links to its other translations, never to itself.
    for i in &de {
        assert!(i.alternates.iter().all(|(l, _)| *l != i.lang));
    }
    // Nothing after the cutoff, nothing before `since`.
    assert!(
        digest::items(&t.app, &all("en"), now, now)
            .await
            .unwrap()
            .is_empty()
    );
    // A topic filter keeps only matching articles.
    let mut robots = all("en");
    robots.topics = vec!["robotics".into()];
    let r = digest::items(&t.app, &robots, since, now).await.unwrap();
    assert!(!r.is_empty() && r.len() < en.len(), "{r:?}");
    // The scheduled article (2027) is in nobody's digest.
    assert!(en.iter().all(|i| !i.url.contains("youth-culture")));
}
