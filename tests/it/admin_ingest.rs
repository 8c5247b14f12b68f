//! Upstream ingest against feeds served by a local server in the test: conditional GET
//! (a 304 saves the download), a changed item becomes a correction, and sources that
//! return garbage, time out, are too large, ask to wait, sit on a private address or
//! redirect to one are refused and reported while the good sources still publish.

use crate::support::{Db, TestApp, engines, serve_router};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bridgecast::ingest::{self, PollReport};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Upstream {
    en_title: String,
    en_etag: String,
    en_full: usize,
    en_not_modified: usize,
    accept_encoding: Vec<String>,
    private_hits: usize,
}

type Shared = Arc<Mutex<Upstream>>;

fn rss(title: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Upstream</title><link>https://up.example/</link><description>d</description>
<item><guid isPermaLink="false">up-1</guid><title>{title}</title><link>https://up.example/en/harbour</link>
<category>Education</category><category>Harbours</category>
<description>&lt;p&gt;The delegation &lt;b&gt;arrives&lt;/b&gt;.&lt;script&gt;steal()&lt;/script&gt;&lt;a href="/more"&gt;more&lt;/a&gt;&lt;/p&gt;</description>
<pubDate>Fri, 27 Nov 2026 08:00:00 GMT</pubDate></item>
<item><title>No guid here</title><link>https://up.example/en/no-guid</link><description>Linked only.</description>
<pubDate>Thu, 26 Nov 2026 08:00:00 GMT</pubDate></item>
</channel></rss>"#
    )
}

const JSON_DE: &str = r#"{"version":"https://jsonfeed.org/version/1.1","title":"Oben","items":[
 {"id":"up-1","url":"https://up.example/de/hafen","title":"Hafendelegation eingetroffen",
  "content_html":"<p>Die Delegation ist da.</p><img src=x onerror=alert(1)>","date_published":"2026-11-27T08:00:00Z"}]}"#;

async fn en(State(s): State<Shared>, h: HeaderMap) -> Response {
    let mut u = s.lock().unwrap();
    if let Some(ae) = h.get(header::ACCEPT_ENCODING) {
        u.accept_encoding.push(ae.to_str().unwrap().to_owned());
    }
    if h.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(u.en_etag.as_str()) {
        u.en_not_modified += 1;
        return (
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, u.en_etag.clone())],
        )
            .into_response();
    }
    u.en_full += 1;
    (
        [
            (header::CONTENT_TYPE, "application/rss+xml".to_owned()),
            (header::ETAG, u.en_etag.clone()),
            (
                header::LAST_MODIFIED,
                "Fri, 27 Nov 2026 08:00:00 GMT".to_owned(),
            ),
            (header::CACHE_CONTROL, "public, max-age=600".to_owned()),
        ],
        rss(&u.en_title),
    )
        .into_response()
}

async fn upstream() -> (String, u16, Shared) {
    let state: Shared = Arc::new(Mutex::new(Upstream {
        en_title: "Harbour delegation arrives".into(),
        en_etag: "\"v1\"".into(),
        ..Upstream::default()
    }));
    let app = axum::Router::new()
        .route("/en.xml", get(en))
        .route(
            "/de.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/feed+json")], JSON_DE) }),
        )
        .route(
            "/redirect",
            get(|h: HeaderMap| async move {
                let host = h.get(header::HOST).unwrap().to_str().unwrap().to_owned();
                let port = host.rsplit(':').next().unwrap().to_owned();
                axum::response::Redirect::temporary(&format!("http://127.0.0.1:{port}/en.xml"))
            }),
        )
        .route(
            "/gz.xml",
            get(|| async {
                use std::io::Write;
                let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
                e.write_all(rss("Compressed harbour news").as_bytes())
                    .unwrap();
                (
                    [
                        (header::CONTENT_TYPE, "application/rss+xml"),
                        (header::CONTENT_ENCODING, "gzip"),
                    ],
                    e.finish().unwrap(),
                )
            }),
        )
        .route(
            "/garbage",
            get(|| async { "<html><body>Gateway says hello</body>" }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                "too late"
            }),
        )
        .route(
            "/huge",
            get(|| async { format!("<rss>{}</rss>", " ".repeat(200_000)) }),
        )
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, "120")],
                    "busy",
                )
            }),
        )
        .route(
            "/private.xml",
            get(|State(s): State<Shared>| async move {
                s.lock().unwrap().private_hits += 1;
                rss("Should never be read")
            }),
        )
        .with_state(state.clone());
    let base = serve_router(app).await;
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    (base, port, state)
}

async fn app_with_sources(db: Db, sources: &str) -> TestApp {
    let t = TestApp::builder()
        .db(db)
        .config(|c| {
            c.ingest.timeout_secs = 1;
            c.ingest.connect_timeout_secs = 1;
            c.ingest.max_bytes = 64 * 1024;
        })
        .build()
        .await;
    let path = t.content.join("news/feed.toml");
    let mut toml = std::fs::read_to_string(&path).unwrap();
    toml.push_str(sources);
    std::fs::write(&path, toml).unwrap();
    t.resync().await;
    assert!(t.app.problems().is_empty(), "{:?}", t.app.problems());
    t
}

async fn poll(t: &TestApp, force: bool) -> PollReport {
    let r = ingest::poll_all(&t.app, force).await.expect("poll");
    t.drain().await;
    r
}

fn source(t: &[bridgecast::store::IngestSource], suffix: &str) -> bridgecast::store::IngestSource {
    t.iter()
        .find(|s| s.url.ends_with(suffix))
        .unwrap_or_else(|| panic!("no source {suffix}: {t:#?}"))
        .clone()
}

#[tokio::test]
async fn admin_ingest_polls_conditionally_and_turns_changes_into_corrections() {
    for db in engines() {
        let (base, _, up) = upstream().await;
        let t = app_with_sources(
            db,
            &format!(
                "\n[[ingest]]\nurl = \"{base}/en.xml\"\nlocale = \"en\"\nallow_private = true\n\
                 \n[[ingest]]\nurl = \"{base}/de.json\"\nlocale = \"de\"\nmatch = \"id\"\nallow_private = true\n"
            ),
        )
        .await;
        let r = poll(&t, false).await;
        assert_eq!((r.polled, r.failed), (2, 0), "{db:?}: {r:?}");
        assert_eq!(r.changed, 3, "two en items and one de item: {r:?}");
        let atom = t.doc("/feeds/news/en/atom.xml");
        assert!(atom.contains("Harbour delegation arrives"), "{atom}");
        assert!(atom.contains("No guid here"));
        assert!(!atom.contains("steal()"), "HTML is sanitised");
        assert!(
            atom.contains("https://up.example/more"),
            "relative links made absolute"
        );
        assert!(
            t.doc("/feeds/news/de/atom.xml")
                .contains("Hafendelegation eingetroffen")
        );
        assert!(!t.doc("/feeds/news/de/atom.xml").contains("onerror"));
        // One article in two languages: the shared id matched them.
        let all = t.app.store.all_translations().await.unwrap();
        let harbour: Vec<_> = all
            .iter()
            .filter(|x| {
                x.source.starts_with("ingest:")
                    && x.slug
                        == all
                            .iter()
                            .find(|y| y.title == "Harbour delegation arrives")
                            .unwrap()
                            .slug
            })
            .collect();
        assert_eq!(harbour.len(), 2, "{harbour:#?}");
        assert_eq!(harbour[0].article_id, harbour[1].article_id);
        // Categories that are bridgecast topics carry over; others are dropped.
        let en = harbour.iter().find(|h| h.locale == "en").unwrap();
        assert_eq!(en.topics, ["education"]);
        let before = all
            .iter()
            .filter(|x| x.source.starts_with("ingest:"))
            .count();
        // Cache-Control: max-age is respected: the en source is not asked again for
        // ten minutes, the de source (no max-age) is.
        let en_src = source(&t.app.store.ingest_sources().await.unwrap(), "/en.xml");
        assert_eq!(
            en_src.next_poll_at,
            Some(t.clock_now() + chrono::Duration::seconds(600))
        );
        let r = poll(&t, false).await;
        assert_eq!((r.skipped, r.polled), (1, 1), "{r:?}");
        {
            let u = up.lock().unwrap();
            assert_eq!(u.en_full + u.en_not_modified, 1);
        }
        assert!(
            up.lock()
                .unwrap()
                .accept_encoding
                .iter()
                .all(|a| a.contains("gzip") && a.contains("br"))
        );
        // The second poll revalidates: 304, nothing downloaded, nothing changed.
        let r = poll(&t, true).await;
        assert_eq!((r.not_modified, r.changed), (1, 0), "{r:?}");
        {
            let u = up.lock().unwrap();
            assert_eq!((u.en_full, u.en_not_modified), (1, 1));
        }
        let src = source(&t.app.store.ingest_sources().await.unwrap(), "/en.xml");
        assert_eq!(src.last_status.as_deref(), Some("not-modified"));
        assert_eq!((src.downloads, src.not_modified), (1, 1));
        assert_eq!(src.etag.as_deref(), Some("\"v1\""));
        // The upstream item changes: a correction of the same article, not a new one.
        t.clock.advance(chrono::Duration::hours(2));
        {
            let mut u = up.lock().unwrap();
            u.en_title = "Harbour delegation arrives a day early".into();
            u.en_etag = "\"v2\"".into();
        }
        let r = poll(&t, true).await;
        assert_eq!(r.changed, 1, "{r:?}");
        let all = t.app.store.all_translations().await.unwrap();
        assert_eq!(
            all.iter()
                .filter(|x| x.source.starts_with("ingest:"))
                .count(),
            before
        );
        let corrected = all
            .iter()
            .find(|x| x.title == "Harbour delegation arrives a day early")
            .expect("corrected translation");
        assert_eq!(corrected.article_id, harbour[0].article_id);
        assert_eq!(corrected.updated_at, Some(t.clock_now()));
        assert_eq!(
            corrected.published_at,
            harbour
                .iter()
                .find(|h| h.locale == "en")
                .unwrap()
                .published_at
        );
        assert!(corrected.correction.is_some());
        let atom = t.doc("/feeds/news/en/atom.xml");
        assert!(
            atom.contains("a day early") && !atom.contains("Harbour delegation arrives</title>"),
            "{atom}"
        );
        // A content re-scan keeps ingested articles.
        t.resync().await;
        assert!(t.doc("/feeds/news/en/atom.xml").contains("a day early"));
    }
}

#[tokio::test]
async fn admin_ingest_refuses_bad_sources_and_reports_them_while_others_publish() {
    for db in engines() {
        let (base, port, up) = upstream().await;
        let bad = [
            ("garbage", format!("{base}/garbage"), true),
            ("slow", format!("{base}/slow"), true),
            ("huge", format!("{base}/huge"), true),
            ("busy", format!("{base}/busy"), true),
            ("private", format!("{base}/private.xml"), false),
            // Permission covers the source's own host, not where it redirects.
            (
                "redirect",
                format!("http://localhost:{port}/redirect"),
                true,
            ),
            ("scheme", "file:///etc/passwd".to_owned(), true),
        ];
        let mut toml = format!(
            "\n[[ingest]]\nurl = \"{base}/en.xml\"\nlocale = \"en\"\nallow_private = true\n\
             \n[[ingest]]\nurl = \"{base}/gz.xml\"\nlocale = \"ja\"\nallow_private = true\n"
        );
        for (_, url, allow) in &bad {
            toml.push_str(&format!(
                "\n[[ingest]]\nurl = \"{url}\"\nlocale = \"de\"\nallow_private = {allow}\n"
            ));
        }
        let t = app_with_sources(db, &toml).await;
        let r = poll(&t, false).await;
        let sources = t.app.store.ingest_sources().await.unwrap();
        assert_eq!((r.polled, r.failed), (9, 7), "{db:?}: {r:?} {sources:#?}");
        // The good sources published, the gzip-encoded one too.
        assert!(
            t.doc("/feeds/news/en/atom.xml")
                .contains("Harbour delegation arrives")
        );
        assert!(
            t.doc("/feeds/news/ja/atom.xml")
                .contains("Compressed harbour news")
        );
        let err = |suffix: &str| {
            let s = source(&sources, suffix);
            assert_eq!(s.last_status.as_deref(), Some("error"), "{s:?}");
            assert_eq!(s.failures, 1);
            s.last_error.unwrap()
        };
        assert!(err("/garbage").contains("not a feed"));
        assert!(err("/slow").contains("timed out"));
        assert!(err("/huge").contains("max_bytes"));
        assert!(err("/busy").contains("503"));
        assert!(err("/private.xml").contains("private, loopback or link-local"));
        assert_eq!(
            up.lock().unwrap().private_hits,
            0,
            "a refused source is never contacted"
        );
        let e = err("/redirect");
        assert!(
            e.contains("redirect refused") && e.contains("127.0.0.1"),
            "{e}"
        );
        assert!(err("/etc/passwd").contains("only http and https"));
        // Retry-After is respected: the busy source waits, the failing ones are polled again.
        let busy = source(&sources, "/busy");
        assert_eq!(
            busy.next_poll_at,
            Some(t.clock_now() + chrono::Duration::seconds(120))
        );
        let r = poll(&t, false).await;
        // (The en source asked for ten minutes with max-age as well.)
        assert_eq!((r.skipped, r.polled), (2, 7), "{r:?}");
        // Status shows the broken sources.
        let status = bridgecast::status::report(&t.app, None).await.unwrap();
        assert!(
            status.contains("ingest sources:") && status.contains("not a feed"),
            "{status}"
        );
        // So do the metrics.
        let metrics = crate::support::client()
            .get(format!("{}/metrics", crate::support::serve(&t.app).await))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("bridgecast_ingest_sources_failing 7"),
            "{metrics}"
        );
        // The scheduled job does the same through the queue.
        bridgecast::jobs::Job::PollIngest
            .submit(&t.app)
            .await
            .unwrap();
        t.drain().await;
        let job = t.app.store.job("poll_ingest").await.unwrap().unwrap();
        assert_eq!(job.state, bridgecast::store::JobState::Done);
    }
}

#[tokio::test]
async fn admin_ingest_redirects_are_followed_within_the_same_host() {
    let (base, _, _) = upstream().await;
    let r = axum::Router::new().route(
        "/moved",
        get(move || {
            let to = format!("{base}/en.xml");
            async move { axum::response::Redirect::permanent(&to) }
        }),
    );
    let moved = serve_router(r).await;
    let t = app_with_sources(
        Db::Sqlite,
        &format!("\n[[ingest]]\nurl = \"{moved}/moved\"\nlocale = \"en\"\nallow_private = true\n"),
    )
    .await;
    let r = poll(&t, false).await;
    assert_eq!(
        r.failed,
        0,
        "{r:?}: {:?}",
        t.app.store.ingest_sources().await.unwrap()
    );
    assert!(
        t.doc("/feeds/news/en/atom.xml")
            .contains("Harbour delegation arrives")
    );
}

/// Serves fixed documents by path.
async fn static_server(docs: Vec<(&'static str, &'static str, String)>) -> String {
    let mut r = axum::Router::new();
    for (path, ct, body) in docs {
        r = r.route(
            path,
            get(move || async move { ([(header::CONTENT_TYPE, ct)], body) }),
        );
    }
    serve_router(r).await
}

fn atom_entry(id: &str, title: &str, links: &[(&str, &str)]) -> String {
    let links: String = links
        .iter()
        .map(|(href, lang)| {
            format!("<link rel=\"alternate\" href=\"{href}\" hreflang=\"{lang}\"/>")
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:f:{id}</id>
<updated>2026-11-27T08:00:00Z</updated><entry><id>{id}</id><title>{title}</title>{links}
<updated>2026-11-27T08:00:00Z</updated><summary>s</summary></entry></feed>"#
    )
}

fn rss_item(title: &str, link: &str) -> String {
    format!(
        r#"<rss version="2.0"><channel><title>t</title><link>https://up.example/</link><description>d</description>
<item><title>{title}</title><link>{link}</link><description>x</description><pubDate>Fri, 27 Nov 2026 08:00:00 GMT</pubDate></item></channel></rss>"#
    )
}

/// The ingested articles, as (article id, locale, title).
async fn ingested(t: &TestApp) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = t
        .app
        .store
        .all_translations()
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.source.starts_with("ingest:"))
        .map(|x| (x.article_id, x.locale, x.title))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn admin_ingest_matches_translations_by_link_pattern_and_hreflang() {
    let base = static_server(vec![
        (
            "/lp/en.xml",
            "application/rss+xml",
            rss_item("Harbour", "https://up.example/en/harbour"),
        ),
        (
            "/lp/de.xml",
            "application/rss+xml",
            rss_item("Hafen", "https://up.example/de/harbour"),
        ),
        (
            "/hl/en.xml",
            "application/atom+xml",
            atom_entry(
                "urn:en:1",
                "Bridge",
                &[
                    ("https://up.example/en/1", "en"),
                    ("https://up.example/zh/1", "zh-Hans"),
                ],
            ),
        ),
        (
            "/hl/ja.xml",
            "application/atom+xml",
            atom_entry(
                "urn:ja:1",
                "Hashi",
                &[
                    ("https://up.example/ja/1", "ja"),
                    ("https://up.example/zh/1", "zh-Hans"),
                ],
            ),
        ),
    ])
    .await;
    let pattern = "link_pattern = \"https://up.example/{locale}/{key}\"\nmatch = \"link-pattern\"";
    let t = app_with_sources(
        Db::Sqlite,
        &format!(
            "\n[[ingest]]\nurl = \"{base}/lp/en.xml\"\nlocale = \"en\"\nallow_private = true\n{pattern}\n\
             \n[[ingest]]\nurl = \"{base}/lp/de.xml\"\nlocale = \"de\"\nallow_private = true\n{pattern}\n\
             \n[[ingest]]\nurl = \"{base}/hl/en.xml\"\nlocale = \"en\"\nallow_private = true\nmatch = \"hreflang\"\n\
             \n[[ingest]]\nurl = \"{base}/hl/ja.xml\"\nlocale = \"ja\"\nallow_private = true\nmatch = \"hreflang\"\n"
        ),
    )
    .await;
    let r = poll(&t, false).await;
    assert_eq!(
        (r.failed, r.changed),
        (0, 4),
        "{r:?}: {:?}",
        t.app.store.ingest_sources().await.unwrap()
    );
    let got = ingested(&t).await;
    let id_of = |title: &str| got.iter().find(|g| g.2 == title).unwrap().0.clone();
    assert_eq!(id_of("Harbour"), id_of("Hafen"), "{got:?}");
    assert_eq!(id_of("Bridge"), id_of("Hashi"), "{got:?}");
    assert_ne!(id_of("Harbour"), id_of("Bridge"));
    // The German feed now links the English translation as its alternate.
    let de = t.doc("/feeds/news/de/atom.xml");
    assert!(
        de.contains("Hafen") && de.contains("hreflang=\"en\""),
        "{de}"
    );
}

#[tokio::test]
async fn admin_ingest_problems_in_feed_toml_are_reported_by_validate() {
    let t = app_with_sources(
        Db::Sqlite,
        "\n[[ingest]]\nurl = \"gopher://up.example/feed\"\nlocale = \"en\"\n\
         \n[[ingest]]\nurl = \"https://up.example/feed\"\nlocale = \"fr\"\n",
    )
    .await;
    // The channel still loads and publishes.
    assert!(t.doc("/feeds/news/en/atom.xml").contains("<entry>"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bridgecast"))
        .arg("validate")
        .env("BRIDGECAST_CONTENT_DIR", &t.content)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("ingest: \"gopher://up.example/feed\": only http and https"),
        "{text}"
    );
    assert!(
        text.contains("ingest: locale \"fr\" is not one of the channel's locales"),
        "{text}"
    );
}

#[tokio::test]
async fn admin_ingest_forgets_sources_no_longer_declared() {
    let (base, _, _) = upstream().await;
    let t = app_with_sources(
        Db::Sqlite,
        &format!("\n[[ingest]]\nurl = \"{base}/garbage\"\nlocale = \"en\"\nallow_private = true\n"),
    )
    .await;
    poll(&t, false).await;
    assert_eq!(t.app.store.ingest_sources().await.unwrap().len(), 1);
    let path = t.content.join("news/feed.toml");
    let toml = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &toml[..toml.find("\n[[ingest]]").unwrap()]).unwrap();
    t.resync().await;
    poll(&t, false).await;
    assert!(t.app.store.ingest_sources().await.unwrap().is_empty());
}

#[tokio::test]
async fn admin_ingest_command_polls_now_and_prints_each_source() {
    let (base, _, _) = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::repo().join("feeds"),
        &dir.path().join("feeds"),
    );
    let toml = dir.path().join("feeds/news/feed.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(&format!(
        "\n[[ingest]]\nurl = \"{base}/en.xml\"\nlocale = \"en\"\nallow_private = true\n\
         \n[[ingest]]\nurl = \"{base}/garbage\"\nlocale = \"de\"\nallow_private = true\n"
    ));
    std::fs::write(&toml, text).unwrap();
    let cwd = dir.path().to_owned();
    // Off the runtime's thread: the upstream is served by this same runtime.
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_bridgecast"))
            .arg("ingest")
            .current_dir(cwd)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failing source fails the command: {stdout}"
    );
    assert!(stdout.contains("/en.xml  news [en]  ok"), "{stdout}");
    assert!(
        stdout.contains("/garbage  news [de]  error: not a feed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 polled, 0 not modified, 1 failed, 2 translations"),
        "{stdout}"
    );
}
