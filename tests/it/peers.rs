//! Real consumers: every demo feed passes the validators (xmllint, the RFC 4287
//! RELAX NG schema through jing, feedparser, the JSON Feed checks), and newsboat reads
//! every locale over HTTP with the right titles.

use crate::support::{TestApp, client, peer_available, peers_dir, serve};
use std::process::Command;

#[tokio::test]
async fn every_demo_feed_passes_the_validators() {
    if !peer_available("feeds") {
        return;
    }
    let t = TestApp::demo().await;
    t.app.set_ready();
    let base = serve(&t.app).await;
    let dir = tempfile::tempdir().unwrap();
    let c = client();
    let mut checked = 0;
    let mut failures = vec![];
    for ch in t.app.channels().iter() {
        for l in &ch.locales {
            for f in ["rss.xml", "atom.xml", "feed.json"] {
                let body = c
                    .get(format!("{base}/feeds/{}/{l}/{f}", ch.id))
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let file = dir.path().join(format!("{}-{l}-{f}", ch.id));
                std::fs::write(&file, &body).unwrap();
                let out = Command::new("bash")
                    .arg(peers_dir().join("validate-feed.sh"))
                    .arg(&file)
                    .output()
                    .unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                if !out.status.success() || !stdout.contains("RESULT=pass") {
                    failures.push(format!(
                        "{}\n{stdout}{}",
                        file.display(),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 2 * 9 * 3);
}

#[tokio::test]
async fn archive_pages_and_tombstones_pass_the_validators() {
    if !peer_available("feeds") {
        return;
    }
    let t = TestApp::builder().pages_of(2).build().await;
    let path = t.content.join("news/articles/nepal-drone-delivery/en.md");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "+++\n",
        "+++\nretracted_at = 2026-11-01T00:00:00Z\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    t.resync().await;
    let dir = tempfile::tempdir().unwrap();
    for p in [
        "/feeds/news/en/atom.xml",
        "/feeds/news/en/archive/1/atom.xml",
        "/feeds/news/en/archive/1/rss.xml",
        "/feeds/news/en/archive/1/feed.json",
    ] {
        let file = dir.path().join(p.replace('/', "_"));
        std::fs::write(&file, t.doc(p)).unwrap();
        let out = Command::new("bash")
            .arg(peers_dir().join("validate-feed.sh"))
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("RESULT=pass"),
            "{p}\n{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let current = t.doc("/feeds/news/en/atom.xml");
    assert!(current.contains("<at:deleted-entry ref="), "{current}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newsboat_reads_every_locale_with_the_right_titles() {
    if !peer_available("feeds") {
        return;
    }
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    // newsboat keys items by guid across its cache; each locale has its own guids, but
    // fallback entries share them, so each locale is read in a run of its own.
    for l in [
        "zh-Hans", "zh-Hant", "en", "de", "ja", "ms", "ne", "es", "ar",
    ] {
        for f in ["rss.xml", "atom.xml"] {
            let url = format!("{base}/feeds/news/{l}/{f}");
            let out = Command::new("bash")
                .arg(peers_dir().join("newsboat-read.sh"))
                .arg(&url)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{url}: {stderr}");
            assert!(stderr.contains("ERRORS=0"), "{url}: {stderr}");
            let lines: Vec<&str> = stdout.lines().collect();
            assert_eq!(lines.len(), 5, "{url}: {stdout}");
            // Titles as the feed has them, in the feed's language (or its fallback).
            let feed =
                feed_rs::parser::parse(t.doc(&format!("/feeds/news/{l}/{f}")).as_bytes()).unwrap();
            for e in &feed.entries {
                let title = e.title.as_ref().unwrap().content.trim().to_owned();
                assert!(
                    lines
                        .iter()
                        .any(|line| line.split('\t').nth(1) == Some(title.as_str())),
                    "{url}: newsboat lacks {title:?}\n{stdout}"
                );
            }
        }
    }
}
