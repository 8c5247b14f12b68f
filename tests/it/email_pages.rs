//! The subscriber pages over a real socket: double opt-in with its consent record,
//! confirm and unsubscribe only on POST, signed links refused when forged, altered,
//! expired or misdirected, RFC 8058 one-click for exactly one recipient, rate limits,
//! localisation and right-to-left layout (also in headless Chromium).

use crate::support::{Db, TestApp, client, engines, peers_dir, repo};
use bridgecast::app::SharedApp;
use bridgecast::email::pages::TEXT_VERSION;
use bridgecast::email::schedule::{Cadence, Frequency};
use bridgecast::email::token::{Purpose, TokenKey, new_handle};
use bridgecast::store::{Contact, Organisation, Subscriber};
use chrono::Duration;
use std::io::Write;
use std::net::SocketAddr;

/// Serves the app the way the daemon does, with the client's socket address known.
async fn serve(app: &SharedApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc =
        bridgecast::http::router(app.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, svc).await });
    format!("http://{addr}")
}

async fn app_on(db: Db) -> TestApp {
    TestApp::builder().db(db).build().await
}

fn subscribe_form<'a>(email: &'a str, page_locale: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("page_locale", page_locale),
        ("email", email),
        ("name", "Li Wei"),
        ("locale", "zh-Hans"),
        ("channel", "news"),
        ("topic", "new-energy"),
        ("topic", "robotics"),
        ("frequency", "daily"),
        ("time_zone", "Asia/Shanghai"),
        ("hour", "8"),
        ("weekday", "1"),
    ]
}

async fn post(url: &str, form: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
    let r = client().post(url).form(form).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

async fn get(url: &str) -> (u16, String) {
    let r = client().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn confirmation_jobs(t: &TestApp) -> Vec<String> {
    t.app
        .store
        .jobs(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == "send_confirmation")
        .map(|j| j.key)
        .collect()
}

/// An active subscriber stored directly.
async fn active_subscriber(t: &TestApp, email: &str, locale: &str) -> Subscriber {
    let now = t.app.now();
    let s = Subscriber {
        id: uuid::Uuid::new_v4().simple().to_string(),
        handle: new_handle(),
        email: email.into(),
        name: None,
        locale: locale.into(),
        channels: vec![],
        topics: vec!["education".into()],
        cadence: Cadence {
            frequency: Frequency::Daily,
            time_zone: "UTC".into(),
            hour: 8,
            weekday: 1,
        },
        state: "active".into(),
        since: now,
        next_due: Some(now + Duration::hours(20)),
        created_at: now,
        updated_at: now,
        confirmed_at: Some(now),
        ended_at: None,
    };
    t.app.store.insert_subscriber(&s).await.unwrap().0
}

/// An organisation with one active contact per address.
async fn organisation(t: &TestApp, emails: &[&str]) -> Vec<Contact> {
    let now = t.app.now();
    let org = Organisation {
        id: "brisbane".into(),
        names: [
            ("en".to_owned(), "Brisbane City Council".to_owned()),
            ("ar".to_owned(), "مجلس مدينة بريزبن".to_owned()),
        ]
        .into(),
        country: "AU".into(),
        city: "Brisbane".into(),
        partner_since: None,
        channels: vec![],
        topics: vec![],
        cadence: Cadence {
            frequency: Frequency::Weekly,
            time_zone: "Australia/Brisbane".into(),
            hour: 9,
            weekday: 1,
        },
        created_at: now,
        updated_at: now,
    };
    t.app.store.put_organisation(&org).await.unwrap();
    let mut out = vec![];
    for e in emails {
        let c = Contact {
            id: uuid::Uuid::new_v4().simple().to_string(),
            handle: new_handle(),
            org_id: org.id.clone(),
            name: "Contact".into(),
            email: (*e).into(),
            locale: "en".into(),
            role: "liaison".into(),
            state: "active".into(),
            since: now,
            next_due: Some(now + Duration::days(2)),
        };
        out.push(t.app.store.put_contact(&c).await.unwrap());
    }
    out
}

fn assert_page_headers(h: &reqwest::header::HeaderMap) {
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        !csp.contains("script-src"),
        "no script is ever allowed: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

#[tokio::test]
async fn subscribing_records_consent_and_queues_exactly_one_confirmation() {
    for db in engines() {
        let t = app_on(db).await;
        let base = serve(&t.app).await;
        let url = format!("{base}/subscribe");
        let (status, headers, body) = post(&url, &subscribe_form("li.wei@Example.ORG", "de")).await;
        assert_eq!(status, 200, "{db:?}: {body}");
        assert_page_headers(&headers);
        assert!(body.contains("Bitte sehen Sie in Ihr Postfach"), "{body}");

        let s = t
            .app
            .store
            .subscriber_by_email("li.wei@example.org")
            .await
            .unwrap()
            .expect("stored with its domain in lower case");
        assert_eq!(s.state, "pending");
        assert_eq!(s.locale, "zh-Hans");
        assert_eq!(s.channels, ["news"]);
        assert_eq!(s.topics, ["new-energy", "robotics"]);
        assert_eq!(s.cadence.time_zone, "Asia/Shanghai");
        assert_eq!(s.name.as_deref(), Some("Li Wei"));
        assert_eq!(s.handle.len(), 32);
        assert_eq!(s.since, t.app.now());
        let consents = t.app.store.consents(&s.id).await.unwrap();
        assert_eq!(consents.len(), 1, "{db:?}");
        let c = &consents[0];
        assert_eq!(c.action, "subscribe");
        assert_eq!(c.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(c.page_locale.as_deref(), Some("de"));
        assert_eq!(c.text_version.as_deref(), Some(TEXT_VERSION));
        assert_eq!(confirmation_jobs(&t).await, [format!("confirm:{}:1", s.id)]);

        // Asking again while pending refreshes the preferences and sends a new link.
        let mut again = subscribe_form("li.wei@example.org", "en");
        again.retain(|(k, _)| *k != "topic");
        let (status, _, body) = post(&url, &again).await;
        assert_eq!(status, 200);
        assert!(body.contains("Check your inbox"));
        let s2 = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
        assert!(s2.topics.is_empty());
        assert_eq!(s2.handle, s.handle);
        assert_eq!(confirmation_jobs(&t).await.len(), 2);

        // An active address gets the same page and nothing else; so does a suppressed one.
        let active = active_subscriber(&t, "ana@example.org", "es").await;
        let (status, _, body_active) = post(&url, &subscribe_form("ana@example.org", "en")).await;
        assert_eq!(status, 200);
        t.app
            .store
            .suppress("gone@example.org", "refused", "550", t.app.now())
            .await
            .unwrap();
        let (status, _, body_suppressed) =
            post(&url, &subscribe_form("gone@example.org", "en")).await;
        assert_eq!(status, 200);
        assert_eq!(body_active, body, "no enumeration: the same page");
        assert_eq!(body_suppressed, body, "no enumeration: the same page");
        assert_eq!(confirmation_jobs(&t).await.len(), 2, "nothing new queued");
        let a = t.app.store.subscriber(&active.id).await.unwrap().unwrap();
        assert_eq!(a, active, "an active subscriber is untouched");
        assert!(
            t.app
                .store
                .subscriber_by_email("gone@example.org")
                .await
                .unwrap()
                .is_none()
        );
    }
}

#[tokio::test]
async fn confirming_takes_a_post_and_sets_the_next_digest() {
    for db in engines() {
        let t = app_on(db).await;
        let base = serve(&t.app).await;
        post(
            &format!("{base}/subscribe"),
            &subscribe_form("li@example.org", "en"),
        )
        .await;
        let s = t
            .app
            .store
            .subscriber_by_email("li@example.org")
            .await
            .unwrap()
            .unwrap();
        let now = t.app.now();
        let token =
            t.app
                .tokens
                .issue(Purpose::Confirm, &s.handle, Some(now + Duration::hours(72)));
        let (status, page) = get(&format!("{base}/subscribe/confirm?t={token}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("<form method=\"post\" action=\"/subscribe/confirm\">"));
        assert!(page.contains(&format!("name=\"t\" value=\"{token}\"")));
        assert!(
            page.contains("lang=\"zh-Hans\""),
            "in the subscriber's language"
        );
        let unchanged = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
        assert_eq!(unchanged, s, "{db:?}: a GET changes nothing");
        assert_eq!(t.app.store.consents(&s.id).await.unwrap().len(), 1);

        t.clock.advance(Duration::hours(1));
        let (status, _, page) = post(
            &format!("{base}/subscribe/confirm"),
            &[("t", token.as_str()), ("page_locale", "en")],
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Subscription confirmed"));
        assert!(
            page.contains("/subscription?t="),
            "links to the preferences"
        );
        let later = t.app.now();
        let s = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
        assert_eq!(s.state, "active");
        assert_eq!(s.confirmed_at, Some(later));
        assert_eq!(s.next_due, s.cadence.next_slot(later).map(|(t, _)| t));
        assert!(s.next_due.is_some());
        let consents = t.app.store.consents(&s.id).await.unwrap();
        assert_eq!(consents.last().unwrap().action, "confirm");
        assert_eq!(consents.last().unwrap().ip.as_deref(), Some("127.0.0.1"));
        // A second POST (a double click) changes nothing more.
        let (status, _, _) = post(
            &format!("{base}/subscribe/confirm"),
            &[("t", token.as_str())],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(t.app.store.consents(&s.id).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn forged_altered_expired_and_misdirected_links_are_refused_everywhere() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let s = active_subscriber(&t, "ana@example.org", "es").await;
    let now = t.app.now();
    let other = TokenKey::new(b"not the site's secret");
    let good = |p| {
        t.app
            .tokens
            .issue(p, &s.handle, Some(now + Duration::days(1)))
    };
    let bad = |p: Purpose| {
        let valid = good(p);
        let mut altered: Vec<char> = valid.chars().collect();
        altered[12] = if altered[12] == 'A' { 'B' } else { 'A' };
        let wrong = match p {
            Purpose::Confirm => Purpose::Unsubscribe,
            Purpose::Manage => Purpose::Confirm,
            Purpose::Unsubscribe => Purpose::Manage,
        };
        vec![
            ("forged", other.issue(p, &s.handle, None)),
            ("altered", altered.into_iter().collect()),
            (
                "expired",
                t.app
                    .tokens
                    .issue(p, &s.handle, Some(now - Duration::seconds(1))),
            ),
            ("wrong purpose", good(wrong)),
            ("unknown handle", t.app.tokens.issue(p, &new_handle(), None)),
            ("empty", String::new()),
            ("garbage", "%3Cscript%3E".into()),
        ]
    };
    let endpoints: [(&str, &str, Purpose); 7] = [
        ("GET", "/subscribe/confirm", Purpose::Confirm),
        ("POST", "/subscribe/confirm", Purpose::Confirm),
        ("GET", "/subscription", Purpose::Manage),
        ("POST", "/subscription", Purpose::Manage),
        ("GET", "/unsubscribe", Purpose::Unsubscribe),
        ("POST", "/unsubscribe", Purpose::Unsubscribe),
        ("POST", "/unsubscribe/one-click", Purpose::Unsubscribe),
    ];
    let c = client();
    for (method, path, purpose) in endpoints {
        for (what, token) in bad(purpose) {
            let url = format!("{base}{path}?t={token}");
            let r = if method == "GET" {
                c.get(&url).send().await.unwrap()
            } else if path.ends_with("one-click") {
                c.post(&url)
                    .form(&[("List-Unsubscribe", "One-Click")])
                    .send()
                    .await
                    .unwrap()
            } else {
                // The pages' forms send the token in the body.
                let mut form = vec![("t", token.as_str()), ("page_locale", "ar")];
                form.extend([
                    ("locale", "en"),
                    ("frequency", "weekly"),
                    ("time_zone", "UTC"),
                    ("hour", "3"),
                    ("weekday", "2"),
                ]);
                c.post(format!("{base}{path}"))
                    .form(&form)
                    .send()
                    .await
                    .unwrap()
            };
            let status = r.status().as_u16();
            let body = r.text().await.unwrap();
            assert_eq!(status, 400, "{method} {path} with a {what} token: {body}");
            if !path.ends_with("one-click") {
                assert!(
                    body.contains("/subscribe?lang="),
                    "offers to subscribe again"
                );
            }
        }
        // The same endpoint with a good token works (so the refusals above were the
        // token's doing). Unsubscribing last, below.
        if purpose != Purpose::Unsubscribe && method == "GET" {
            let (status, _) = get(&format!("{base}{path}?t={}", good(purpose))).await;
            assert_eq!(status, 200, "{method} {path}");
        }
    }
    let after = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
    assert_eq!(after, s, "no refused request changed anything");
    assert!(t.app.store.consents(&s.id).await.unwrap().is_empty());
    // The error page speaks the visitor's language.
    let r = client()
        .get(format!("{base}/unsubscribe?t=nope"))
        .header("Accept-Language", "ar")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("dir=\"rtl\"") && body.contains("هذا الرابط لا يعمل"));
}

/// One subscriber and one organisation contact share an address.
async fn shared_address(t: &TestApp) -> (Subscriber, Vec<Contact>) {
    let s = active_subscriber(t, "same@example.org", "en").await;
    let contacts = organisation(t, &["same@example.org", "colleague@example.org"]).await;
    (s, contacts)
}

async fn state_of(t: &TestApp, key: &str) -> String {
    t.app.store.recipient(key).await.unwrap().unwrap().state
}

#[tokio::test]
async fn one_click_unsubscribes_exactly_that_recipient() {
    for db in engines() {
        let t = app_on(db).await;
        let base = serve(&t.app).await;
        let (s, contacts) = shared_address(&t).await;
        let bystander = active_subscriber(&t, "other@example.org", "de").await;
        let token = t.app.tokens.issue(Purpose::Unsubscribe, &s.handle, None);
        let url = format!("{base}/unsubscribe/one-click?t={token}");
        for body in [
            "",
            "List-Unsubscribe=Yes",
            "List-Unsubscribe=one-click",
            "unsubscribe",
        ] {
            let r = client()
                .post(&url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 400, "{db:?}: body {body:?}");
        }
        assert_eq!(state_of(&t, &format!("s:{}", s.id)).await, "active");

        let r = client()
            .post(&url)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().len() < 64, "a tiny body");
        let after = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
        assert_eq!(after.state, "unsubscribed");
        assert_eq!(after.ended_at, Some(t.app.now()));
        assert_eq!(after.next_due, None);
        let consents = t.app.store.consents(&s.id).await.unwrap();
        assert_eq!(consents.len(), 1);
        assert_eq!(consents[0].action, "one-click");
        assert_eq!(consents[0].ip.as_deref(), Some("127.0.0.1"));
        for c in &contacts {
            assert_eq!(
                state_of(&t, &format!("c:{}", c.id)).await,
                "active",
                "the contact with the same address stays"
            );
        }
        assert_eq!(state_of(&t, &format!("s:{}", bystander.id)).await, "active");
        // Mail clients may retry: still 200, nothing more recorded.
        let r = client()
            .post(&url)
            .form(&[("List-Unsubscribe", "One-Click")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(t.app.store.consents(&s.id).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_contact_unsubscribes_alone_and_its_pages_show_the_organisation() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let (s, contacts) = shared_address(&t).await;
    let c = &contacts[0];
    let manage = t.app.tokens.issue(
        Purpose::Manage,
        &c.handle,
        Some(t.app.now() + Duration::days(1)),
    );
    let (status, page) = get(&format!("{base}/subscription?t={manage}&lang=ar")).await;
    assert_eq!(status, 200);
    assert!(page.contains("مجلس مدينة بريزبن"), "{page}");
    assert!(page.contains("action=\"/unsubscribe\""));
    // Contacts have no preferences to save.
    let (status, _, _) = post(
        &format!("{base}/subscription"),
        &[
            ("t", manage.as_str()),
            ("locale", "en"),
            ("frequency", "daily"),
            ("time_zone", "UTC"),
            ("hour", "1"),
            ("weekday", "1"),
        ],
    )
    .await;
    assert_eq!(status, 400);

    let unsub = t.app.tokens.issue(Purpose::Unsubscribe, &c.handle, None);
    let (status, page) = get(&format!("{base}/unsubscribe?t={unsub}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Brisbane City Council"));
    assert_eq!(state_of(&t, &format!("c:{}", c.id)).await, "active");
    let (status, _, page) = post(&format!("{base}/unsubscribe"), &[("t", unsub.as_str())]).await;
    assert_eq!(status, 200);
    assert!(page.contains("You are unsubscribed"));
    assert_eq!(state_of(&t, &format!("c:{}", c.id)).await, "unsubscribed");
    assert_eq!(
        state_of(&t, &format!("c:{}", contacts[1].id)).await,
        "active"
    );
    assert_eq!(
        state_of(&t, &format!("s:{}", s.id)).await,
        "active",
        "the subscriber with the same address stays"
    );
    assert!(t.app.store.consents(&s.id).await.unwrap().is_empty());

    // The subscriber's unsubscribe page: GET asks, POST does.
    let unsub = t.app.tokens.issue(Purpose::Unsubscribe, &s.handle, None);
    let (status, page) = get(&format!("{base}/unsubscribe?t={unsub}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<button type=\"submit\">Unsubscribe</button>"));
    assert_eq!(state_of(&t, &format!("s:{}", s.id)).await, "active");
    let (status, _, _) = post(&format!("{base}/unsubscribe"), &[("t", unsub.as_str())]).await;
    assert_eq!(status, 200);
    let after = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
    assert_eq!(after.state, "unsubscribed");
    assert_eq!(after.next_due, None);
    assert_eq!(
        t.app.store.consents(&s.id).await.unwrap()[0].action,
        "unsubscribe"
    );
}

#[tokio::test]
async fn preferences_are_shown_and_saved() {
    for db in engines() {
        let t = app_on(db).await;
        let base = serve(&t.app).await;
        let s = active_subscriber(&t, "ana@example.org", "es").await;
        let token = t.app.tokens.issue(
            Purpose::Manage,
            &s.handle,
            Some(t.app.now() + Duration::days(90)),
        );
        let (status, page) = get(&format!("{base}/subscription?t={token}")).await;
        assert_eq!(status, 200);
        assert!(page.contains("<html lang=\"es\" dir=\"ltr\">"));
        assert!(page.contains("ana@example.org"));
        assert!(page.contains("value=\"education\" checked"), "prefilled");
        assert!(page.contains("<option value=\"8\" selected>08:00</option>"));
        assert!(page.contains("/unsubscribe?t="), "offers to leave");

        let form = [
            ("t", token.as_str()),
            ("page_locale", "es"),
            ("name", "Ana <b>"),
            ("locale", "ar"),
            ("channel", "science-tech"),
            ("topic", "robotics"),
            ("frequency", "weekly"),
            ("time_zone", "Asia/Kathmandu"),
            ("hour", "7"),
            ("weekday", "3"),
        ];
        let (status, headers, page) = post(&format!("{base}/subscription"), &form).await;
        assert_eq!(status, 200, "{db:?}: {page}");
        assert_page_headers(&headers);
        assert!(
            page.contains("dir=\"rtl\""),
            "shown in the language just chosen"
        );
        assert!(page.contains("تم حفظ تفضيلاتك"));
        assert!(page.contains("Ana &lt;b&gt;") && !page.contains("Ana <b>"));
        let now = t.app.now();
        let after = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
        assert_eq!(after.locale, "ar");
        assert_eq!(after.channels, ["science-tech"]);
        assert_eq!(after.topics, ["robotics"]);
        assert_eq!(
            after.cadence,
            Cadence {
                frequency: Frequency::Weekly,
                time_zone: "Asia/Kathmandu".into(),
                hour: 7,
                weekday: 3
            }
        );
        assert_eq!(after.next_due, after.cadence.next_slot(now).map(|(t, _)| t));
        assert_ne!(after.next_due, s.next_due);
        assert_eq!(after.state, "active");
        let consents = t.app.store.consents(&s.id).await.unwrap();
        assert_eq!(consents.len(), 1);
        assert_eq!(consents[0].action, "preferences");
        assert_eq!(consents[0].page_locale.as_deref(), Some("es"));

        // Instant has no slot; a bad time zone is refused next to its field.
        let mut instant = form.to_vec();
        instant.retain(|(k, _)| *k != "frequency");
        instant.push(("frequency", "instant"));
        let (status, _, _) = post(&format!("{base}/subscription"), &instant).await;
        assert_eq!(status, 200);
        let after = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
        assert_eq!(after.next_due, None);
        let mut bad = form.to_vec();
        bad.retain(|(k, _)| *k != "time_zone");
        bad.push(("time_zone", "Mars/Olympus"));
        let (status, _, page) = post(&format!("{base}/subscription"), &bad).await;
        assert_eq!(status, 400);
        assert!(page.contains("id=\"time_zone-error\""), "{page}");
        assert!(
            page.contains("value=\"Mars/Olympus\""),
            "what was typed is kept"
        );
        assert_eq!(
            t.app.store.subscriber(&s.id).await.unwrap().unwrap(),
            after,
            "nothing saved"
        );
    }
}

#[tokio::test]
async fn subscribing_is_rate_limited_per_client_and_per_address() {
    for db in engines() {
        let t = TestApp::builder()
            .db(db)
            .config(|c| {
                c.email.subscribe_per_ip_per_hour = 3;
                c.email.confirmations_per_address_per_day = 2;
            })
            .build()
            .await;
        let base = serve(&t.app).await;
        let url = format!("{base}/subscribe");
        // The same address three times: two confirmations, the third dropped quietly.
        for _ in 0..3 {
            let (status, _, _) = post(&url, &subscribe_form("li@example.org", "en")).await;
            assert_eq!(status, 200);
        }
        assert_eq!(confirmation_jobs(&t).await.len(), 2, "{db:?}");
        // The client has used its three requests: the next is refused, whatever address.
        for email in ["li@example.org", "someone.else@example.org"] {
            let (status, headers, body) = post(&url, &subscribe_form(email, "en")).await;
            assert_eq!(status, 429, "{db:?} {email}");
            assert_eq!(headers["retry-after"], "3600");
            assert!(body.contains("Too many requests"));
        }
        assert!(
            t.app
                .store
                .subscriber_by_email("someone.else@example.org")
                .await
                .unwrap()
                .is_none()
        );
        // An hour later the client may ask again; the address stays limited for the day.
        t.clock.advance(Duration::minutes(61));
        let (status, _, _) = post(&url, &subscribe_form("someone.else@example.org", "en")).await;
        assert_eq!(status, 200);
        assert_eq!(confirmation_jobs(&t).await.len(), 3);
    }
}

#[tokio::test]
async fn invalid_input_is_refused_with_the_reason_next_to_the_field() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let url = format!("{base}/subscribe");
    let (status, headers, page) = post(&url, &subscribe_form("li.example.org", "en")).await;
    assert_eq!(status, 400);
    assert_page_headers(&headers);
    assert!(page.contains("id=\"email-error\""), "{page}");
    assert!(page.contains("This email address is not valid."));
    assert!(page.contains("the address has no @"), "{page}");
    assert!(
        page.contains("value=\"li.example.org\""),
        "what was typed is kept"
    );
    assert!(page.contains("value=\"robotics\" checked"));
    let (status, _, page) = post(&url, &subscribe_form("li@example", "ar")).await;
    assert_eq!(status, 400);
    assert!(page.contains("عنوان البريد الإلكتروني هذا غير صالح"));
    assert!(page.contains("has a domain with no dot"), "{page}");
    let mut form = subscribe_form("li@example.org", "en");
    form.push(("channel", "gossip"));
    let (status, _, page) = post(&url, &form).await;
    assert_eq!(status, 400);
    assert!(page.contains("Choose only channels from the list."));
    let mut form = subscribe_form("<script>@example.org", "en");
    form.push(("hour", "24"));
    let (status, _, page) = post(&url, &form).await;
    assert_eq!(status, 400);
    assert!(!page.contains("<script>"), "escaped");
    assert!(page.contains("id=\"hour-error\""));
    assert!(confirmation_jobs(&t).await.is_empty());
    assert!(t.app.store.subscribers(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn pages_follow_the_language_and_arabic_is_right_to_left() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let r = client()
        .get(format!("{base}/subscribe"))
        .header("Accept-Language", "ar-EG,ar;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_page_headers(r.headers());
    assert_eq!(r.headers()["vary"], "Accept-Language");
    let page = r.text().await.unwrap();
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"ar\" dir=\"rtl\">"));
    assert!(page.contains("الاشتراك في الملخص البريدي"));
    assert!(!page.to_lowercase().contains("<script"));
    assert!(page.contains("name=\"email\" id=\"email\" dir=\"ltr\""));
    for l in bridgecast::locale::LOCALES.iter().filter(|l| l.tag != "ar") {
        assert!(
            page.contains(&format!("/subscribe?lang={}", l.tag)),
            "{}",
            l.tag
        );
        assert!(page.contains(&format!("<option value=\"{}\"", l.tag)));
    }
    assert!(page.contains("<datalist id=\"zones\">"));
    assert!(
        page.contains("value=\"science-tech\""),
        "channels from the content"
    );
    assert!(page.contains("value=\"olympics-2032\""), "topics");
    assert!(page.contains("الأربعاء"), "weekday names");

    let (status, page) = get(&format!("{base}/subscribe?lang=ja")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"ja\" dir=\"ltr\">"));
    assert!(page.contains("メールダイジェストの購読"));
    let (_, page) = get(&format!("{base}/subscribe?lang=xx")).await;
    assert!(
        page.contains("<html lang=\"en\""),
        "unknown ?lang= falls back"
    );
    let s = active_subscriber(&t, "amal@example.org", "ar").await;
    let token = t.app.tokens.issue(Purpose::Manage, &s.handle, None);
    let (status, page) = get(&format!("{base}/subscription?t={token}")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<html lang=\"ar\" dir=\"rtl\">"));
}

fn screenshot_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repo().join("target"), std::path::PathBuf::from);
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `screenshot.sh`; `None` (after SKIPPED) when Chromium is not installed and
/// peers are not required.
async fn screenshot(url: String, out: std::path::PathBuf, dom: bool) -> Option<()> {
    let script = peers_dir().join("screenshot.sh");
    let output = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new("bash");
        cmd.arg(&script).arg(&url).arg(&out);
        if dom {
            cmd.env("DUMP_DOM", "1");
        } else {
            cmd.arg("800x1200");
        }
        cmd.output().expect("run screenshot.sh")
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        assert_ne!(
            std::env::var("BRIDGECAST_REQUIRE_PEERS").as_deref(),
            Ok("1"),
            "screenshot.sh: {stderr}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED screenshot.sh: browser not installed: {stderr}"
        );
        return None;
    }
    assert!(output.status.success(), "screenshot.sh failed: {stderr}");
    Some(())
}

#[tokio::test]
async fn screenshots_of_the_subscribe_and_preference_pages_in_en_and_ar() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let dir = screenshot_dir();
    for locale in ["en", "ar"] {
        let s = active_subscriber(&t, &format!("{locale}@example.org"), locale).await;
        let token = t.app.tokens.issue(Purpose::Manage, &s.handle, None);
        for (name, url) in [
            ("subscribe", format!("{base}/subscribe?lang={locale}")),
            ("preferences", format!("{base}/subscription?t={token}")),
        ] {
            let out = dir.join(format!("{name}-{locale}.png"));
            if screenshot(url.clone(), out.clone(), false).await.is_none() {
                return;
            }
            let png = std::fs::read(&out).unwrap();
            assert!(
                png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
                "{}",
                out.display()
            );
            if locale == "ar" {
                let dom = dir.join(format!("{name}-{locale}.html"));
                screenshot(url, dom.clone(), true).await.unwrap();
                let html = std::fs::read_to_string(&dom).unwrap();
                assert!(
                    html.contains("<html lang=\"ar\" dir=\"rtl\">"),
                    "Chromium's DOM: {}",
                    &html[..html.len().min(300)]
                );
            }
        }
    }
}
