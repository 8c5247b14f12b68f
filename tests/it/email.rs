//! Digests end to end: planned at the recipient's local hour, rendered in their
//! language, signed, delivered over real SMTP servers, exactly once; faults retried or
//! the address suppressed; bounces (DSN) applied; nothing new, nothing sent.

use crate::email_digest::{daily, subscriber};
use crate::email_smtp::{chmod_755, dkim_verify, files, header, headers, sink};
use crate::support::{TestApp, start_peer};
use bridgecast::clock::Clock;
use bridgecast::config::Secret;
use bridgecast::email::config::{Tls, TransportKind};
use bridgecast::email::digest;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::path::Path;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// The demo content with email going to an SMTP server on `port`.
async fn app_with_smtp(port: u16) -> TestApp {
    TestApp::builder()
        .config(move |c| {
            c.email.transport = TransportKind::Smtp;
            c.email.smtp_host = "127.0.0.1".into();
            c.email.smtp_port = port;
            c.email.tls = Tls::None;
            c.email.timeout_secs = 5;
            c.email.from = "Guangdong Digest <digest@news.example.org>".into();
            c.jobs.concurrency = 8;
            c.jobs.max_attempts = 4;
        })
        .build()
        .await
}

async fn add(t: &TestApp, email: &str, locale: &str) -> String {
    let now = t.clock.now();
    let (s, _) = t
        .app
        .store
        .insert_subscriber(&subscriber(email, locale, daily("UTC", 13), now))
        .await
        .unwrap();
    format!("s:{}", s.id)
}

/// Messages in a sink dir, by recipient (the `To` address).
fn by_recipient(dir: &Path, ext: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for f in files(dir, ext) {
        let h = headers(&std::fs::read(&f).unwrap());
        let to = header(&h, "To").unwrap_or("").to_owned();
        let addr = to
            .rsplit_once('<')
            .map_or(to.as_str(), |(_, a)| a.trim_end_matches('>'))
            .to_owned();
        *out.entry(addr).or_default() += 1;
    }
    out
}

/// Runs the queue, moving the clock past retry delays, until nothing is left or
/// `rounds` passes are done.
async fn drain_with_retries(t: &TestApp, rounds: usize) {
    for _ in 0..rounds {
        t.drain().await;
        let q = t.app.store.queue_counts().await.unwrap();
        if q.pending == 0 && q.running == 0 {
            return;
        }
        t.clock.advance(Duration::minutes(10));
    }
}

#[tokio::test]
async fn digests_reach_a_real_smtp_server_once_signed_and_localised() {
    let Some((_peer, port, dir, _tmp)) = sink("node", &[]) else {
        return;
    };
    let t = app_with_smtp(port).await;
    let ar = add(&t, "fatima@example.org", "ar").await;
    let de = add(&t, "jonas@example.org", "de").await;
    let zh = add(&t, "li@example.org", "zh-Hant").await;
    // 13:00 UTC passes: one digest each.
    t.clock.set(utc("2026-11-28T13:00:10Z"));
    assert_eq!(digest::plan(&t.app).await.unwrap(), 3);
    t.drain().await;
    let got = by_recipient(&dir, ".eml");
    assert_eq!(
        got,
        BTreeMap::from([
            ("fatima@example.org".into(), 1),
            ("jonas@example.org".into(), 1),
            ("li@example.org".into(), 1)
        ])
    );
    for key in [&ar, &de, &zh] {
        let d = t
            .app
            .store
            .deliveries(Some(key), 5)
            .await
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(d.state, "sent", "{d:?}");
        assert!(d.reply.as_deref().unwrap().starts_with("250"), "{d:?}");
        assert!(d.articles.len() >= 4, "{d:?}");
        let r = t.app.store.recipient(key).await.unwrap().unwrap();
        assert_eq!(
            r.since,
            utc("2026-11-28T13:00:00Z"),
            "since moved to the cutoff"
        );
    }
    // The Arabic message: right-to-left HTML, Arabic subject, the headers receivers
    // act on, and a DKIM signature that verifies with the generated demo key.
    let msg_path = files(&dir, ".eml")
        .into_iter()
        .find(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("fatima@example.org")
        })
        .unwrap();
    let raw = std::fs::read(&msg_path).unwrap();
    let h = headers(&raw);
    let parsed = mailparse::parse_mail(&raw).unwrap();
    assert!(
        parsed
            .headers
            .iter()
            .find(|x| x.get_key() == "Subject")
            .unwrap()
            .get_value()
            .chars()
            .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
        "Arabic subject"
    );
    assert_eq!(header(&h, "Content-Language"), Some("ar"));
    assert_eq!(
        header(&h, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        header(&h, "List-Unsubscribe")
            .unwrap()
            .contains("https://feeds.example.org/unsubscribe/one-click?t=")
    );
    assert_eq!(header(&h, "Auto-Submitted"), Some("auto-generated"));
    assert!(
        header(&h, "Message-ID")
            .unwrap()
            .ends_with("@news.example.org>")
    );
    assert!(
        header(&h, "List-Id")
            .unwrap()
            .contains(".digest.example.org>")
    );
    let html = parsed
        .parts()
        .find(|p| p.ctype.mimetype == "text/html")
        .unwrap()
        .get_body()
        .unwrap();
    assert!(
        html.contains("lang=\"ar\"") && html.contains("dir=\"rtl\""),
        "{html}"
    );
    let text = parsed
        .parts()
        .find(|p| p.ctype.mimetype == "text/plain")
        .unwrap()
        .get_body()
        .unwrap();
    assert!(text.contains("https://feeds.example.org/"), "{text}");
    let pubkey = t.app.config.data_dir.join("dkim/bridgecast.pub.pem");
    if let Some((ok, out)) = dkim_verify(&msg_path, &pubkey, "bridgecast", "news.example.org") {
        assert!(ok, "{out}");
    }
    // A second sweep, and the next day with nothing new: nothing more is sent.
    assert_eq!(digest::plan(&t.app).await.unwrap(), 0);
    t.clock.set(utc("2026-11-29T13:00:10Z"));
    assert_eq!(digest::plan(&t.app).await.unwrap(), 3);
    t.drain().await;
    assert_eq!(files(&dir, ".eml").len(), 3, "nothing new, nothing sent");
    let d = t.app.store.deliveries(Some(&ar), 1).await.unwrap();
    assert_eq!(d[0].state, "empty");
    // Re-running a finished job's key is a no-op.
    let again = bridgecast::jobs::Job::SendDigest {
        recipient: ar.clone(),
        period: "d2026-11-28".into(),
        cutoff: utc("2026-11-28T13:00:00Z").timestamp_millis(),
    };
    assert!(!again.submit(&t.app).await.unwrap());
}

#[tokio::test]
async fn faults_end_delivered_or_suppressed_never_twice() {
    // Phase 1: every RCPT gets 450, then the server drops the connection on MAIL:
    // digests wait and retry.
    let tmp = tempfile::tempdir().unwrap();
    chmod_755(tmp.path());
    let port = crate::support::free_port();
    let faulty_dir = tmp.path().join("faulty");
    let Some(faulty) = start_peer(
        "start-smtp-sink.sh",
        &["postfix", &port.to_string(), faulty_dir.to_str().unwrap()],
        &[("SINK_ARGS", "-r RCPT")],
    ) else {
        return;
    };
    let t = app_with_smtp(port).await;
    let mut keys = vec![];
    for i in 0..12 {
        let local = if i % 4 == 0 {
            format!("gone{i}")
        } else {
            format!("reader{i}")
        };
        keys.push(
            add(
                &t,
                &format!("{local}@example.org"),
                ["en", "ja", "es"][i % 3],
            )
            .await,
        );
    }
    t.clock.set(utc("2026-11-28T13:00:10Z"));
    assert_eq!(digest::plan(&t.app).await.unwrap(), 12);
    t.drain().await;
    let q = t.app.store.queue_counts().await.unwrap();
    assert_eq!(q.pending, 12, "all twelve wait for a retry");
    let d = t.app.store.deliveries(Some(&keys[1]), 1).await.unwrap();
    assert_eq!(d[0].state, "retrying");
    assert!(d[0].last_error.as_deref().unwrap().contains("450"), "{d:?}");
    drop(faulty);
    // Phase 2: a server that takes mail but refuses the gone* mailboxes for good.
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let good_dir = tmp.path().join("good");
    let Some(_good) = start_peer(
        "start-smtp-sink.sh",
        &["node", &port.to_string(), good_dir.to_str().unwrap()],
        &[("SMTP_REJECT_RCPT", "^gone")],
    ) else {
        return;
    };
    drain_with_retries(&t, 8).await;
    let got = by_recipient(&good_dir, ".eml");
    assert_eq!(got.len(), 9, "{got:?}");
    assert!(got.values().all(|n| *n == 1), "never twice: {got:?}");
    assert!(got.keys().all(|a| a.starts_with("reader")));
    for (i, key) in keys.iter().enumerate() {
        let r = t.app.store.recipient(key).await.unwrap().unwrap();
        let d = t.app.store.deliveries(Some(key), 1).await.unwrap();
        if i % 4 == 0 {
            assert_eq!(r.state, "bounced", "{r:?}");
            assert_eq!(d[0].state, "bounced");
            assert!(t.app.store.suppression(&r.email).await.unwrap().is_some());
        } else {
            assert_eq!(r.state, "active");
            assert_eq!(d[0].state, "sent", "{d:?}");
        }
    }
    let q = t.app.store.queue_counts().await.unwrap();
    assert_eq!((q.pending, q.dead), (0, 0), "{q:?}");
    // A suppressed address gets nothing more, even when a digest is due.
    t.clock.set(utc("2026-11-29T13:00:10Z"));
    digest::plan(&t.app).await.unwrap();
    drain_with_retries(&t, 3).await;
    assert_eq!(by_recipient(&good_dir, ".eml").len(), 9);
}

#[tokio::test]
async fn dsn_bounces_from_the_maildir_suppress_the_address() {
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("bounces");
    let md = maildir.clone();
    let t = TestApp::builder()
        .config(move |c| {
            c.email.transport = TransportKind::Memory;
            c.email.bounce_maildir = md;
            c.email.token_secret = Secret::new("test-secret-test-secret-test-secret");
        })
        .build()
        .await;
    let key = add(&t, "gone@example.net", "en").await;
    let keep = add(&t, "busy@example.net", "en").await;
    t.clock.set(utc("2026-11-28T13:00:10Z"));
    digest::plan(&t.app).await.unwrap();
    t.drain().await;
    let sent = t.app.mail.sent.as_ref().unwrap().lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    // The remote server bounces one later, quoting our Message-ID.
    let mid = sent
        .iter()
        .find(|s| s.to == "gone@example.net")
        .unwrap()
        .message_id
        .clone();
    let dsn = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/dsn-postfix.eml"),
    )
    .unwrap()
    .replace("MESSAGE_ID", &mid);
    std::fs::create_dir_all(maildir.join("new")).unwrap();
    std::fs::write(maildir.join("new/1.dsn"), dsn).unwrap();
    std::fs::write(
        maildir.join("new/2.txt"),
        "Subject: out of office\r\n\r\nAway.\r\n",
    )
    .unwrap();
    assert_eq!(
        bridgecast::email::bounce::scan_maildir(&t.app)
            .await
            .unwrap(),
        1
    );
    assert!(
        std::fs::read_dir(maildir.join("new"))
            .unwrap()
            .next()
            .is_none()
    );
    assert_eq!(std::fs::read_dir(maildir.join("cur")).unwrap().count(), 2);
    let gone = t.app.store.recipient(&key).await.unwrap().unwrap();
    assert_eq!(gone.state, "bounced");
    let d = t.app.store.deliveries(Some(&key), 1).await.unwrap();
    assert_eq!(d[0].state, "bounced");
    assert!(d[0].last_error.as_deref().unwrap().contains("5.1.1"));
    // The delayed one changes nothing.
    let busy = t.app.store.recipient(&keep).await.unwrap().unwrap();
    assert_eq!(busy.state, "active");
}

/// The link a message's text part carries that starts with `prefix`.
fn link(raw: &[u8], prefix: &str) -> String {
    let parsed = mailparse::parse_mail(raw).unwrap();
    let text = parsed
        .parts()
        .find(|p| p.ctype.mimetype == "text/plain")
        .unwrap()
        .get_body()
        .unwrap();
    text.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"))
        .to_owned()
}

#[tokio::test]
async fn a_reader_subscribes_confirms_receives_and_unsubscribes_in_one_click() {
    let t = TestApp::builder()
        .config(|c| c.email.transport = TransportKind::Memory)
        .build()
        .await;
    let base = crate::support::serve(&t.app).await;
    let client = crate::support::client();
    let form = [
        ("page_locale", "ar"),
        ("email", "Amal@Example.ORG"),
        ("name", "أمل"),
        ("locale", "ar"),
        ("frequency", "instant"),
        ("time_zone", "Asia/Dubai"),
        ("hour", "8"),
        ("weekday", "1"),
    ];
    let r = client
        .post(format!("{base}/subscribe"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    t.drain().await;
    let sent = || t.app.mail.sent.as_ref().unwrap().lock().unwrap().clone();
    // Only the confirmation goes out before the reader confirms.
    assert_eq!(sent().len(), 1);
    let confirmation = sent()[0].clone();
    assert_eq!(confirmation.to, "Amal@example.org");
    assert!(!String::from_utf8_lossy(&confirmation.bytes).contains("List-Unsubscribe"));
    digest::plan(&t.app).await.unwrap();
    t.drain().await;
    assert_eq!(
        sent().len(),
        1,
        "nothing but the confirmation while pending"
    );
    // The link in the message; the page it opens changes nothing until the POST.
    let url = link(
        &confirmation.bytes,
        "https://feeds.example.org/subscribe/confirm?t=",
    );
    let local = url.replace("https://feeds.example.org", &base);
    let s = t
        .app
        .store
        .subscriber_by_email("Amal@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.state, "pending");
    let token = local.split("t=").nth(1).unwrap().to_owned();
    let page = client.get(&local).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(
        t.app.store.subscriber(&s.id).await.unwrap().unwrap().state,
        "pending"
    );
    let r = client
        .post(format!("{base}/subscribe/confirm"))
        .form(&[("t", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
    assert_eq!(s.state, "active");
    // An article published now goes out as an instant digest, in Arabic.
    t.clock.advance(Duration::minutes(5));
    t.write(
        "news/articles/new-partner-school/ar.md",
        "+++\nid = \"tag:example.org,2026:new-partner-school\"\ntitle = \"مدرسة شريكة جديدة\"\nsummary = \"توأمة مدرسية بين قوانغتشو ودبي.\"\ntopics = [\"education\"]\npublished_at = 2026-11-28T12:04:00+08:00\n+++\nنص المقال.\n",
    );
    t.resync().await;
    assert!(t.app.problems().is_empty(), "{:?}", t.app.problems());
    digest::plan(&t.app).await.unwrap();
    t.drain().await;
    let all = sent();
    assert_eq!(all.len(), 2, "{all:?}");
    let digest_msg = String::from_utf8_lossy(&all[1].bytes).into_owned();
    assert!(digest_msg.contains("Content-Language: ar"));
    let h = headers(&all[1].bytes);
    let lu = header(&h, "List-Unsubscribe").unwrap().to_owned();
    let one_click = lu
        .split(',')
        .map(|x| x.trim().trim_matches(['<', '>']))
        .find(|x| x.starts_with("https://"))
        .unwrap()
        .replace("https://feeds.example.org", &base);
    // What a mail provider does on "unsubscribe": POST, with the RFC 8058 body.
    let r = client
        .post(&one_click)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let s = t.app.store.subscriber(&s.id).await.unwrap().unwrap();
    assert_eq!(s.state, "unsubscribed");
    let actions: Vec<String> = t
        .app
        .store
        .consents(&s.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.action)
        .collect();
    assert_eq!(actions, ["subscribe", "confirm", "one-click"]);
    // Nothing more after that.
    t.clock.advance(Duration::hours(1));
    t.write(
        "news/articles/second-school/ar.md",
        "+++\nid = \"tag:example.org,2026:second-school\"\ntitle = \"مدرسة ثانية\"\nsummary = \"ملخص.\"\npublished_at = 2026-11-28T13:00:00+08:00\n+++\nنص.\n",
    );
    t.resync().await;
    digest::plan(&t.app).await.unwrap();
    t.drain().await;
    assert_eq!(sent().len(), 2);
}
