//! The real binary: start `bridgecast serve`, revalidate a feed (304), drop a new
//! article file, and see the new ETag and entry served.

use crate::support::{copy_dir, free_port, repo};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_ready(c: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = c.get(format!("{base}/readyz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "daemon not ready within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts `bridgecast serve` on the demo content in a new folder, with `env` on top of
/// a free loopback port and a matching base URL, and waits until it is ready.
async fn start(env: &[(&str, &str)]) -> (tempfile::TempDir, String, Daemon, reqwest::Client) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("feeds"), &dir.path().join("feeds"));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_bridgecast"))
        .arg("serve")
        .current_dir(dir.path())
        .env("BRIDGECAST_LISTEN", format!("127.0.0.1:{port}"))
        .env("BRIDGECAST_BASE_URL", &base)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Daemon(child);
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    wait_ready(&c, &base).await;
    (dir, base, daemon, c)
}

#[tokio::test]
async fn serve_revalidates_then_publishes_a_dropped_file() {
    let (dir, base, daemon, c) = start(&[
        ("BRIDGECAST_SCHEDULER__RESCAN_EVERY_SECS", "1"),
        ("BRIDGECAST_SCHEDULER__PUBLISH_EVERY_SECS", "1"),
        ("BRIDGECAST_JOBS__POLL_MS", "100"),
    ])
    .await;
    assert!(
        dir.path().join("data/bridgecast.db").exists(),
        "embedded database created on first run"
    );
    // The daemon runs without transparent huge pages (see `cli::without_huge_pages`),
    // where the kernel reports the flag (Linux 5.0 and later).
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", daemon.0.id())).unwrap_or_default();
    if let Some(line) = status.lines().find(|l| l.starts_with("THP_enabled:")) {
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }

    let url = format!("{base}/feeds/news/en/atom.xml");
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let r = c
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    std::fs::create_dir_all(dir.path().join("feeds/news/articles/new-arrival")).unwrap();
    std::fs::write(
        dir.path().join("feeds/news/articles/new-arrival/en.md"),
        "+++\nid = \"tag:gdfao.example.org,2026-11-01:new-arrival\"\ntitle = \"A new arrival\"\n\
         summary = \"Dropped in while the daemon runs.\"\ntopics = [\"education\"]\n\
         published_at = 2026-11-01T09:00:00+08:00\n+++\nHello.\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c
            .get(&url)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            assert_ne!(r.headers()["etag"].to_str().unwrap(), etag);
            let body = r.text().await.unwrap();
            assert!(
                body.contains("tag:gdfao.example.org,2026-11-01:new-arrival/en"),
                "new entry served"
            );
            break;
        }
        assert_eq!(r.status(), 304);
        assert!(
            Instant::now() < deadline,
            "the dropped article was not published within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With the re-scan timer out of the way (an hour), only the folder watcher can notice
/// a new article; then SIGTERM stops the HTTP threads, the worker and the scheduler,
/// and the process exits with success.
#[tokio::test]
async fn serve_publishes_through_the_watcher_and_stops_cleanly_on_sigterm() {
    let (dir, base, mut daemon, c) =
        start(&[("BRIDGECAST_SCHEDULER__RESCAN_EVERY_SECS", "3600")]).await;
    let url = format!("{base}/feeds/news/ja/atom.xml");
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);

    // Written beside the content folder, then renamed in, as an editor's tool would.
    let staged = dir.path().join("staged");
    std::fs::create_dir_all(&staged).unwrap();
    std::fs::write(
        staged.join("ja.md"),
        "+++\nid = \"tag:gdfao.example.org,2026-11-02:watched\"\ntitle = \"見守られた記事\"\n\
         summary = \"フォルダの監視で公開。\"\ntopics = [\"education\"]\n\
         published_at = 2026-11-02T09:00:00+08:00\n+++\n本文。\n",
    )
    .unwrap();
    std::fs::rename(&staged, dir.path().join("feeds/news/articles/watched")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let body = c.get(&url).send().await.unwrap().text().await.unwrap();
        if body.contains("tag:gdfao.example.org,2026-11-02:watched/ja") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the watcher did not publish the renamed folder within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pid = daemon.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = daemon.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit within 30 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        c.get(&url).send().await.is_err(),
        "nothing listens after the exit"
    );
}
