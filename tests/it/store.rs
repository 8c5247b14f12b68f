//! The store and the durable job table, on every engine (SQLite always, PostgreSQL
//! when `BRIDGECAST_TEST_POSTGRES` is set).

use crate::support::{Db, TestApp, demo_now, engines, fresh_postgres};
use bridgecast::clock::Clock;
use bridgecast::jobs::{self, Job};
use bridgecast::store::{EnqueueMode, JobState, Store};
use chrono::Duration;

async fn store(db: Db) -> (Store, Option<tempfile::TempDir>) {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/t.db", dir.path().display());
            (Store::connect(&url).await.unwrap(), Some(dir))
        }
        Db::Postgres => (Store::connect(&fresh_postgres().await).await.unwrap(), None),
    }
}

#[tokio::test]
async fn enqueue_once_is_idempotent_and_coalesce_rearms_finished_jobs() {
    for db in engines() {
        let (s, _d) = store(db).await;
        let now = demo_now();
        assert!(
            s.enqueue_now("social:a:en:acct", "x", "{}", EnqueueMode::Once, now)
                .await
                .unwrap()
        );
        assert!(
            !s.enqueue_now("social:a:en:acct", "x", "{}", EnqueueMode::Once, now)
                .await
                .unwrap(),
            "{db:?}"
        );
        let claimed = s
            .claim("w1", now, now + Duration::minutes(5), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert!(s.complete(&claimed[0], now).await.unwrap());
        // A finished once-job is never re-armed.
        assert!(
            !s.enqueue_now("social:a:en:acct", "x", "{}", EnqueueMode::Once, now)
                .await
                .unwrap()
        );
        assert_eq!(
            s.job("social:a:en:acct").await.unwrap().unwrap().state,
            JobState::Done
        );

        // Coalesce: two requests while pending are one job; a request while running
        // makes it run once more after it finishes.
        s.enqueue_now(
            "feeds:n:en",
            "render_feed",
            "{}",
            EnqueueMode::Coalesce,
            now,
        )
        .await
        .unwrap();
        s.enqueue_now(
            "feeds:n:en",
            "render_feed",
            "{}",
            EnqueueMode::Coalesce,
            now,
        )
        .await
        .unwrap();
        let c = s
            .claim("w1", now, now + Duration::minutes(5), 10)
            .await
            .unwrap();
        assert_eq!(c.len(), 1, "{db:?}: coalesced");
        s.enqueue_now(
            "feeds:n:en",
            "render_feed",
            "{}",
            EnqueueMode::Coalesce,
            now,
        )
        .await
        .unwrap();
        assert!(s.complete(&c[0], now).await.unwrap());
        assert_eq!(
            s.job("feeds:n:en").await.unwrap().unwrap().state,
            JobState::Pending,
            "{db:?}: dirty re-run"
        );
        let c = s
            .claim("w1", now, now + Duration::minutes(5), 10)
            .await
            .unwrap();
        assert!(s.complete(&c[0], now).await.unwrap());
        assert_eq!(
            s.job("feeds:n:en").await.unwrap().unwrap().state,
            JobState::Done
        );
        s.enqueue_now(
            "feeds:n:en",
            "render_feed",
            "{}",
            EnqueueMode::Coalesce,
            now,
        )
        .await
        .unwrap();
        assert_eq!(
            s.job("feeds:n:en").await.unwrap().unwrap().state,
            JobState::Pending
        );
    }
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_worker_cannot_finish_it() {
    for db in engines() {
        let (s, _d) = store(db).await;
        let now = demo_now();
        s.enqueue_now("k", "x", "{}", EnqueueMode::Once, now)
            .await
            .unwrap();
        let a = s
            .claim("dead-worker", now, now + Duration::seconds(30), 1)
            .await
            .unwrap()
            .remove(0);
        assert!(
            s.claim(
                "w2",
                now + Duration::seconds(10),
                now + Duration::seconds(40),
                1
            )
            .await
            .unwrap()
            .is_empty()
        );
        let later = now + Duration::seconds(31);
        let b = s
            .claim("w2", later, later + Duration::seconds(30), 1)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(b.attempts, 2, "{db:?}: the crashed attempt counts");
        assert!(
            !s.complete(&a, later).await.unwrap(),
            "{db:?}: a stale claim writes nothing"
        );
        assert!(s.complete(&b, later).await.unwrap());
    }
}

#[tokio::test]
async fn concurrent_claimers_never_get_the_same_job() {
    for db in engines() {
        let (s, _d) = store(db).await;
        let now = demo_now();
        for i in 0..200 {
            s.enqueue_now(&format!("k{i}"), "x", "{}", EnqueueMode::Once, now)
                .await
                .unwrap();
        }
        let mut handles = vec![];
        for w in 0..4 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let mut got = vec![];
                loop {
                    let c = s
                        .claim(&format!("w{w}"), now, now + Duration::minutes(5), 7)
                        .await
                        .unwrap();
                    if c.is_empty() {
                        break got;
                    }
                    got.extend(c.into_iter().map(|j| j.key));
                }
            }));
        }
        let mut all = vec![];
        for h in handles {
            all.extend(h.await.unwrap());
        }
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(
            (n, all.len()),
            (200, 200),
            "{db:?}: every job claimed exactly once"
        );
    }
}

#[tokio::test]
async fn failing_jobs_back_off_then_become_visible_dead_letters() {
    for db in engines() {
        // A WebSub hub that refuses every ping with a 503.
        let hub = crate::websub::Hub::start(vec![(503, None); 20]).await;
        let t = TestApp::builder()
            .db(db)
            .config(move |c| {
                c.jobs.max_attempts = 3;
                c.jobs.backoff_base_secs = 10;
            })
            .build()
            .await;
        let job = Job::WebSubPing {
            hub: hub.url.clone(),
            topic: "https://feeds.example.org/feeds/news/en/atom.xml".into(),
        };
        job.submit(&t.app).await.unwrap();
        t.drain().await;
        let row = t.app.store.job(&job.key()).await.unwrap().unwrap();
        assert_eq!(row.state, JobState::Pending, "{db:?}");
        assert!(
            row.last_error.as_deref().unwrap().contains("503"),
            "{:?}",
            row.last_error
        );
        let delay = row.run_at - t.clock.now();
        assert!(
            delay >= Duration::seconds(5) && delay <= Duration::seconds(10),
            "{db:?}: first backoff {delay}"
        );
        // Not due yet: nothing runs.
        assert_eq!(jobs::run_due(&t.app).await.unwrap(), 0);
        for _ in 0..2 {
            t.clock.advance(Duration::hours(1));
            t.drain().await;
        }
        let row = t.app.store.job(&job.key()).await.unwrap().unwrap();
        assert_eq!(row.state, JobState::Dead, "{db:?}");
        assert_eq!(row.attempts, 3);
        assert_eq!(hub.hits(), 3, "{db:?}: exactly max_attempts tries");
        let status = bridgecast::status::report(&t.app, None).await.unwrap();
        assert!(
            status.contains("dead letters:") && status.contains("503"),
            "{status}"
        );
        // An operator can retry it.
        assert!(t.app.store.retry_dead(row.id, t.clock.now()).await.unwrap());
        assert_eq!(
            t.app.store.job(&job.key()).await.unwrap().unwrap().state,
            JobState::Pending
        );
    }
}

#[tokio::test]
async fn the_demo_renders_the_same_on_every_engine() {
    let mut etags = vec![];
    for db in engines() {
        let t = TestApp::builder().db(db).build().await;
        etags.push(
            t.app
                .cache
                .get("/feeds/news/ar/atom.xml")
                .unwrap()
                .etag
                .clone(),
        );
        // Documents are stored, so another replica (or a restart) serves them at once.
        let stored = t.app.store.documents().await.unwrap();
        assert!(
            stored.iter().any(|d| d.path == "/feeds/news/ar/atom.xml"),
            "{db:?}"
        );
    }
    etags.dedup();
    assert_eq!(etags.len(), 1, "identical bytes from SQLite and PostgreSQL");
}

#[tokio::test]
async fn a_second_replica_serves_what_the_first_rendered() {
    for db in engines() {
        let a = TestApp::builder().db(db).build().await;
        let b = bridgecast::app::App::new(a.app.config.clone(), a.clock.clone())
            .await
            .unwrap();
        assert!(b.cache.is_empty());
        let n = bridgecast::publish::refresh_from_store(&b).await.unwrap();
        assert_eq!(n, a.app.cache.len(), "{db:?}");
        for p in a.app.cache.paths() {
            assert_eq!(
                b.cache.get(&p).unwrap().etag,
                a.app.cache.get(&p).unwrap().etag,
                "{db:?} {p}"
            );
        }
        // A later change by the first replica reaches the second on its next refresh.
        a.write(
            "news/articles/late/en.md",
            "+++\nid = \"tag:gdfao.example.org,2026-11-02:late\"\ntitle = \"Late\"\npublished_at = 2026-11-02T00:00:00Z\n+++\n",
        );
        a.resync().await;
        bridgecast::publish::refresh_from_store(&b).await.unwrap();
        assert!(
            String::from_utf8_lossy(&b.cache.get("/feeds/news/en/atom.xml").unwrap().body)
                .contains(":late/en"),
            "{db:?}"
        );
    }
}

/// A translation read from `source`, for the scoped sync below.
fn from_file(article: &str, locale: &str, source: &str) -> bridgecast::content::Translation {
    let mut t = bridgecast::content::Translation {
        article_id: format!("tag:gdfao.example.org,2026:{article}"),
        channel: "news".into(),
        slug: article.into(),
        locale: locale.into(),
        title: format!("{article} {locale}"),
        summary: String::new(),
        body_html: String::new(),
        topics: vec![],
        status: bridgecast::content::Status::Approved,
        published_at: demo_now() - Duration::days(1),
        updated_at: None,
        retracted_at: None,
        correction: None,
        image: None,
        source: source.into(),
        source_hash: String::new(),
    };
    t.source_hash = bridgecast::content::hash_translation(&t);
    t
}

#[tokio::test]
async fn a_scoped_sync_compares_only_the_folders_it_names() {
    // Folder names that share a prefix, and names outside ASCII: a scope is a prefix of
    // the source path, matched exactly on every engine (SQLite also seeks it as a range).
    let dir = "/srv/feeds/news/articles";
    let all = [
        ("round", "en", format!("{dir}/圆桌/en.md")),
        ("round", "ja", format!("{dir}/圆桌/ja.md")),
        ("round2", "en", format!("{dir}/圆桌-2/en.md")),
        ("round3", "en", format!("{dir}/圆桌2/en.md")),
        ("visit", "en", format!("{dir}/visit/en.md")),
        ("visit-ar", "ar", format!("{dir}/visit/ar.md")),
    ];
    for db in engines() {
        let (s, _d) = store(db).await;
        let now = demo_now();
        let ts: Vec<_> = all.iter().map(|(a, l, p)| from_file(a, l, p)).collect();
        let report = s
            .sync_translations(&ts, &Default::default(), None, now)
            .await
            .unwrap();
        assert_eq!(report.changes.len(), all.len(), "{db:?}");
        // The folder 圆桌 now holds only its English file, retitled.
        let mut en = from_file("round", "en", &all[0].2);
        en.title = "Round table".into();
        en.source_hash = bridgecast::content::hash_translation(&en);
        let scope = [format!("{dir}/圆桌/")];
        let report = s
            .sync_translations(
                std::slice::from_ref(&en),
                &Default::default(),
                Some(&scope),
                now,
            )
            .await
            .unwrap();
        let mut changed: Vec<(Option<String>, Option<String>)> = report
            .changes
            .iter()
            .map(|(b, a)| {
                (
                    b.as_ref().map(|t| t.title.clone()),
                    a.as_ref().map(|t| t.title.clone()),
                )
            })
            .collect();
        changed.sort();
        assert_eq!(
            changed,
            [
                (Some("round en".into()), Some("Round table".into())),
                (Some("round ja".into()), None),
            ],
            "{db:?}"
        );
        let mut left: Vec<String> = s
            .all_translations()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "Round table",
                "round2 en",
                "round3 en",
                "visit en",
                "visit-ar ar"
            ],
            "{db:?}"
        );
    }
}
