//! The test harness: a `TestApp` builder wiring a store (SQLite, or PostgreSQL when
//! `BRIDGECAST_TEST_POSTGRES` is set), a manual clock and a copy of the content, plus
//! helpers to start the real third-party peers from `../shared/peers/`.

use bridgecast::app::{App, SharedApp};
use bridgecast::clock::ManualClock;
use bridgecast::config::{Config, Secret};
use bridgecast::{cli, jobs};
use chrono::{DateTime, TimeZone, Utc};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// 2026-11-28 12:00 UTC: after every demo article but the scheduled one.
pub fn demo_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The engines to run a store test on: SQLite always, PostgreSQL when configured.
pub fn engines() -> Vec<Db> {
    let mut v = vec![Db::Sqlite];
    match std::env::var("BRIDGECAST_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => v.push(Db::Postgres),
        _ => {
            assert_ne!(
                std::env::var("BRIDGECAST_REQUIRE_PEERS").as_deref(),
                Ok("1"),
                "BRIDGECAST_TEST_POSTGRES is not set but BRIDGECAST_REQUIRE_PEERS=1"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED postgres: BRIDGECAST_TEST_POSTGRES is not set"
            );
        }
    }
    v
}

/// A fresh, empty PostgreSQL database next to the one in `BRIDGECAST_TEST_POSTGRES`.
pub async fn fresh_postgres() -> String {
    use sqlx::Connection;
    let base = std::env::var("BRIDGECAST_TEST_POSTGRES").expect("BRIDGECAST_TEST_POSTGRES");
    let name = format!("bc_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .expect("connect to BRIDGECAST_TEST_POSTGRES");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create db");
    let mut url = url::Url::parse(&base).expect("postgres url");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub struct TestApp {
    pub app: SharedApp,
    pub clock: Arc<ManualClock>,
    pub content: PathBuf,
    _dir: tempfile::TempDir,
}

type Tweak = Box<dyn FnOnce(&mut Config)>;

pub struct Builder {
    db: Db,
    now: DateTime<Utc>,
    demo: bool,
    tweak: Vec<Tweak>,
}

impl TestApp {
    pub fn builder() -> Builder {
        Builder {
            db: Db::Sqlite,
            now: demo_now(),
            demo: true,
            tweak: vec![],
        }
    }

    /// The demo content on SQLite at [`demo_now`], fully rendered.
    pub async fn demo() -> Self {
        Self::builder().build().await
    }

    /// The test clock's time.
    pub fn clock_now(&self) -> DateTime<Utc> {
        use bridgecast::clock::Clock;
        self.clock.now()
    }

    /// Runs every due job.
    pub async fn drain(&self) -> usize {
        jobs::drain(&self.app).await.expect("jobs run")
    }

    /// The body of a cached document, as text.
    pub fn doc(&self, path: &str) -> String {
        let d = self
            .app
            .cache
            .get(path)
            .unwrap_or_else(|| panic!("no document at {path}"));
        String::from_utf8(d.body.to_vec()).expect("utf-8")
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.content.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Syncs content as the scheduler would, then runs the queue dry.
    pub async fn resync(&self) -> bridgecast::publish::SyncSummary {
        let s = bridgecast::publish::sync_content(&self.app, true)
            .await
            .expect("sync");
        bridgecast::publish::publish_due(&self.app)
            .await
            .expect("publish");
        self.drain().await;
        s
    }
}

impl Builder {
    pub fn db(mut self, db: Db) -> Self {
        self.db = db;
        self
    }
    pub fn config(mut self, f: impl FnOnce(&mut Config) + 'static) -> Self {
        self.tweak.push(Box::new(f));
        self
    }
    /// Current feeds and archive pages of `n` entries each: with 2, the demo's five
    /// English entries fill the current feed and archive pages 1 and 2.
    pub fn pages_of(self, n: usize) -> Self {
        self.config(move |c| {
            c.feeds.items = n;
            c.feeds.archive_page_size = n;
        })
    }

    pub async fn build(self) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("feeds");
        if self.demo {
            copy_dir(&repo().join("feeds"), &content);
        } else {
            std::fs::create_dir_all(&content).unwrap();
        }
        let mut config = Config {
            base_url: "https://feeds.example.org".into(),
            data_dir: dir.path().join("data"),
            content_dir: content.clone(),
            ..Config::default()
        };
        config.jobs.backoff_base_secs = 1;
        if self.db == Db::Postgres {
            config.database_url = Secret::new(fresh_postgres().await);
        }
        for f in self.tweak {
            f(&mut config);
        }
        let clock = Arc::new(ManualClock::new(self.now));
        let app = App::new(config, clock.clone()).await.expect("app");
        cli::start(&app).await.expect("start");
        let t = TestApp {
            app,
            clock,
            content,
            _dir: dir,
        };
        t.drain().await;
        t
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A started peer; killed when dropped (also when the test panics).
pub struct Peer {
    pub kv: std::collections::HashMap<String, String>,
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(pid) = self.kv.get("PID") {
            let _ = Command::new("kill").arg(pid).status();
        }
    }
}

/// Runs a peer script and parses its `KEY=value` ready line; `None` (after printing
/// SKIPPED) when the peer is not installed and peers are not required.
pub fn start_peer(script: &str, args: &[&str], env: &[(&str, &str)]) -> Option<Peer> {
    let out = Command::new("bash")
        .arg(peers_dir().join(script))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run peer script");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        assert_ne!(
            std::env::var("BRIDGECAST_REQUIRE_PEERS").as_deref(),
            Ok("1"),
            "{script}: {stderr}"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {script}: peer not installed: {stderr}"
        );
        return None;
    }
    assert!(out.status.success(), "{script} failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains('='))
        .expect("ready line");
    let kv = line
        .split(' ')
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Some(Peer { kv })
}

pub fn peers_dir() -> PathBuf {
    std::env::var_os("BRIDGECAST_PEERS_DIR")
        .map_or_else(|| repo().join("../shared/peers"), PathBuf::from)
}

/// Whether a peer group is installed; prints SKIPPED (or fails under
/// `BRIDGECAST_REQUIRE_PEERS=1`) when it is not.
pub fn peer_available(group: &str) -> bool {
    let script = peers_dir().join("install.sh");
    let ok = script.exists()
        && Command::new("bash")
            .arg(&script)
            .args(["--check", group])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        assert_ne!(
            std::env::var("BRIDGECAST_REQUIRE_PEERS").as_deref(),
            Ok("1"),
            "peer group {group} is not installed but BRIDGECAST_REQUIRE_PEERS=1"
        );
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: peer group {group} not installed (../shared/peers/install.sh {group})"
        );
    }
    ok
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Serves `app` on a loopback port; returns its base URL.
pub async fn serve(app: &SharedApp) -> String {
    // What `bridgecast serve` runs per connection: the cache fast path over the router.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = bridgecast::http::make_service(app.clone());
    let listener = bridgecast::zero_copy::Listener(listener);
    tokio::spawn(async move { axum::serve(listener, service).await });
    format!("http://{addr}")
}

/// Serves any router (a platform's contract server, a hub) on a loopback port; returns
/// `http://127.0.0.1:PORT`.
pub async fn serve_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

/// A client that shows responses as served: no automatic decompression (reqwest's
/// gzip and brotli features are on for upstream ingest).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap()
}
