//! Social posting end to end: routing, exactly once through the job table, the real
//! Bluesky PDS, and Mastodon against a local server enforcing its documented contract.

use crate::support::{TestApp, free_port, start_peer};
use bridgecast::config::Secret;
use bridgecast::social::{self, AccountConfig};
use std::collections::BTreeSet;
use unicode_segmentation::UnicodeSegmentation;

fn account(id: &str, locales: &[&str]) -> AccountConfig {
    AccountConfig {
        id: id.into(),
        locales: locales.iter().map(|l| (*l).to_owned()).collect(),
        channels: vec![],
        enabled: true,
        link_params: vec![],
        hashtags: true,
        quiet_hours: None,
        max_per_hour: None,
        on_correction: Default::default(),
        bluesky: None,
        facebook: None,
        linkedin: None,
        mastodon: None,
        stub: None,
        x: None,
        telegram: None,
        wechat: None,
        weibo: None,
    }
}

fn stub(id: &str, locales: &[&str], outbox: &str, fail_first: u32) -> AccountConfig {
    AccountConfig {
        stub: Some(social::stub::Config {
            outbox: outbox.into(),
            fail_first,
            no_edit: false,
        }),
        ..account(id, locales)
    }
}

#[tokio::test]
async fn each_translation_is_posted_once_per_routed_account_despite_failures() {
    let outbox = format!("once-{}", uuid::Uuid::new_v4());
    let o = outbox.clone();
    let t = TestApp::builder()
        .config(move |c| {
            c.social.max_age_hours = 24 * 365;
            c.social.accounts = vec![stub("cjk", &["zh-Hans", "ja"], &o, 2), {
                let mut off = stub("off", &["en"], &o, 0);
                off.enabled = false;
                off
            }];
        })
        .build()
        .await;
    // Two transient failures wait for their backoff; move time past it.
    for _ in 0..3 {
        t.clock.advance(chrono::Duration::minutes(10));
        t.drain().await;
    }
    let posts = social::stub::posts(&outbox);
    let jobs = t.app.store.jobs(None, 200).await.unwrap();
    let social_jobs: Vec<_> = jobs.iter().filter(|j| j.kind == "post_social").collect();
    assert!(
        !social_jobs.is_empty(),
        "no post jobs: {:#?}",
        jobs.iter().map(|j| (&j.key, j.state)).collect::<Vec<_>>()
    );
    let keys: BTreeSet<&str> = posts.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys.len(), posts.len(), "no post twice: {posts:#?}");
    // Five published articles in zh-Hans, five in ja (hyogo has a ja translation);
    // the disabled en account posts nothing.
    assert_eq!(posts.len(), 10);
    assert!(
        posts
            .iter()
            .all(|p| p.locale == "zh-Hans" || p.locale == "ja")
    );
    // A re-sync and another announcement round change nothing.
    t.resync().await;
    bridgecast::publish::publish_due(&t.app).await.unwrap();
    t.drain().await;
    assert_eq!(social::stub::posts(&outbox).len(), 10);
    // The scheduled article is posted when it comes due, once per locale.
    t.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-06-01T02:00:00Z")
            .unwrap()
            .to_utc(),
    );
    bridgecast::publish::publish_due(&t.app).await.unwrap();
    t.drain().await;
    let posts = social::stub::posts(&outbox);
    assert_eq!(posts.len(), 12);
    let status = bridgecast::status::report(&t.app, Some("youth-culture-bridges"))
        .await
        .unwrap();
    assert!(status.contains("social posts: 2"), "{status}");
    assert!(
        status.contains("cjk") && status.contains("posted"),
        "{status}"
    );
}

#[tokio::test]
async fn an_old_backlog_is_not_posted_on_first_start() {
    let outbox = format!("backlog-{}", uuid::Uuid::new_v4());
    let o = outbox.clone();
    let t = TestApp::builder()
        .config(move |c| c.social.accounts = vec![stub("en", &["en"], &o, 0)])
        .build()
        .await;
    t.drain().await;
    assert!(
        social::stub::posts(&outbox).is_empty(),
        "September articles are older than max_age_hours"
    );
}

/// Starts the reference PDS with a fresh account: `(peer, PDS URL, handle, DID)`.
fn pds_account(
    dir: &std::path::Path,
    prefix: &str,
) -> Option<(crate::support::Peer, String, String, String)> {
    let (pds_port, plc_port) = (free_port().to_string(), free_port().to_string());
    let pds = start_peer(
        "start-pds.sh",
        &[dir.join("pds").to_str().unwrap()],
        &[("PDS_PORT", &pds_port), ("PLC_PORT", &plc_port)],
    )?;
    let url = pds.kv["PDS"].clone();
    let handle = format!(
        "{prefix}{}.test",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let acct = start_peer(
        "bsky-account.sh",
        &[&url, &handle, "correct-horse-battery"],
        &[],
    )
    .expect("account");
    let did = acct.kv["DID"].clone();
    Some((pds, url, handle, did))
}

/// The reference PDS: records are really validated (300 graphemes, 3000 bytes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluesky_posts_to_a_real_pds_exactly_once_with_facets_langs_and_a_card() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_pds, url, handle, did)) = pds_account(dir.path(), "gd") else {
        return;
    };
    let (u, h) = (url.clone(), handle.clone());
    let t = TestApp::builder()
        .config(move |c| {
            c.social.max_age_hours = 24 * 365;
            c.social.accounts = vec![AccountConfig {
                bluesky: Some(social::bluesky::Config {
                    service: u,
                    identifier: h,
                    app_password: Secret::new("correct-horse-battery"),
                    app_password_file: None,
                    web: "https://bsky.app".into(),
                }),
                ..account("bsky", &["zh-Hans", "ja", "ar"])
            }];
        })
        .build()
        .await;
    t.drain().await;
    let list = || async {
        let r = reqwest::get(format!("{url}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post&limit=100"))
            .await
            .unwrap();
        r.json::<serde_json::Value>().await.unwrap()["records"]
            .as_array()
            .unwrap()
            .clone()
    };
    let records = list().await;
    let posts = t.app.store.posts(None).await.unwrap();
    assert!(posts.iter().all(|p| p.state == "posted"), "{posts:#?}");
    assert_eq!(
        records.len(),
        14,
        "5 articles in zh-Hans and ja, 4 in ar (hyogo has no ar)"
    );
    for r in &records {
        let v = &r["value"];
        let text = v["text"].as_str().unwrap();
        assert!(
            text.graphemes(true).count() <= 300 && text.len() <= 3000,
            "{text}"
        );
        let lang = v["langs"][0].as_str().unwrap();
        assert!(["zh-Hans", "ja", "ar"].contains(&lang));
        for f in v["facets"].as_array().unwrap() {
            let (a, b) = (
                f["index"]["byteStart"].as_u64().unwrap() as usize,
                f["index"]["byteEnd"].as_u64().unwrap() as usize,
            );
            let feature = &f["features"][0];
            match feature["$type"].as_str().unwrap() {
                "app.bsky.richtext.facet#link" => {
                    assert_eq!(&text[a..b], feature["uri"].as_str().unwrap())
                }
                "app.bsky.richtext.facet#tag" => assert_eq!(
                    &text[a..b],
                    format!("#{}", feature["tag"].as_str().unwrap())
                ),
                other => panic!("unexpected facet {other}"),
            }
        }
        assert!(
            v["facets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["features"][0]["$type"] == "app.bsky.richtext.facet#link")
        );
        let ext = &v["embed"]["external"];
        assert_eq!(v["embed"]["$type"], "app.bsky.embed.external");
        assert!(
            ext["uri"]
                .as_str()
                .unwrap()
                .contains(&format!("/{lang}/news/")),
            "{ext}"
        );
    }
    // The round-table card carries the uploaded image.
    assert!(
        records
            .iter()
            .any(|r| r["value"]["embed"]["external"]["thumb"]["ref"].is_object())
    );
    // A retry after an unknown outcome (the daemon died after the PDS wrote the record)
    // asks for the same record key and finds it: still one record.
    let tr = t
        .app
        .store
        .translations_of("tag:gdfao.example.org,2026-09-12:round-table")
        .await
        .unwrap();
    let ja = tr.iter().find(|x| x.locale == "ja").unwrap();
    let cfg = t.app.config.social.accounts[0].clone();
    let post = social::post_for(&t.app, &t.app.i18n, &cfg, ja);
    let again = t.app.social["bsky"]
        .post(&post)
        .await
        .expect("a repeated post is not an error");
    assert!(
        again
            .remote_id
            .ends_with(&social::bluesky::record_key(&post.key))
    );
    assert_eq!(list().await.len(), 14);
    t.app.social["bsky"].healthcheck().await.unwrap();
}

#[tokio::test]
async fn the_demo_preview_routes_by_locale_and_fits_every_platform() {
    let t = TestApp::builder()
        .config(|c| {
            let demo = bridgecast::config::Config::load_with_env(
                Some(&crate::support::repo().join("bridgecast.toml")),
                &[],
            )
            .unwrap();
            c.social = demo.social;
        })
        .build()
        .await;
    let all = t.app.store.all_translations().await.unwrap();
    let now = bridgecast::clock::Clock::now(&*t.clock);
    let visible: Vec<_> = all.into_iter().filter(|x| x.published_at <= now).collect();
    let mut lines = vec![];
    for (tr, acct, post) in social::planned(&t.app, &visible) {
        let p = &t.app.social[&acct.id];
        let c = p.compose(&post);
        assert!(acct.locales.contains(&tr.locale));
        lines.push(format!(
            "{} {} {} {}\n{}\n",
            p.name(),
            acct.id,
            tr.locale,
            tr.slug,
            c.text
        ));
    }
    lines.sort();
    assert!(lines.iter().any(|l| l.starts_with("bluesky bluesky-ja ja")));
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("mastodon-ar-ms-ne ar hyogo")),
        "that account only posts science-tech"
    );
    insta::assert_snapshot!("social_preview", lines.join("\n"));
}

#[tokio::test]
async fn a_correction_edits_the_post_and_a_retraction_deletes_it() {
    let outbox = format!("follow-{}", uuid::Uuid::new_v4());
    let o = outbox.clone();
    let t = TestApp::builder()
        .config(move |c| {
            c.social.max_age_hours = 24 * 365;
            c.social.accounts = vec![stub("en", &["en"], &o, 0)];
        })
        .build()
        .await;
    assert_eq!(social::stub::posts(&outbox).len(), 5);
    let rt = t.content.join("news/articles/round-table/en.md");
    let text =
        std::fs::read_to_string(&rt)
            .unwrap()
            .replacen("title = \"", "title = \"Corrected: ", 1);
    std::fs::write(&rt, text).unwrap();
    let np = t.content.join("news/articles/nepal-drone-delivery/en.md");
    let text = std::fs::read_to_string(&np).unwrap().replacen(
        "+++\n",
        "+++\nretracted_at = 2026-11-27T00:00:00Z\n",
        1,
    );
    std::fs::write(&np, text).unwrap();
    t.resync().await;
    let records = social::stub::posts(&outbox);
    let edits: Vec<_> = records.iter().filter(|r| r.action == "edit").collect();
    let deletes: Vec<_> = records.iter().filter(|r| r.action == "delete").collect();
    assert_eq!(edits.len(), 1, "{records:#?}");
    assert!(edits[0].key.contains("round-table") && edits[0].text.starts_with("Corrected: "));
    assert_eq!(deletes.len(), 1, "{records:#?}");
    assert!(deletes[0].key.contains("nepal-drone-delivery"));
    // Nothing was posted a second time.
    assert_eq!(records.iter().filter(|r| r.action == "post").count(), 5);
    // A second sync changes nothing.
    t.resync().await;
    assert_eq!(social::stub::posts(&outbox).len(), records.len());
    let status = bridgecast::status::report(&t.app, Some("nepal-drone-delivery"))
        .await
        .unwrap();
    assert!(status.contains("deleted"), "{status}");
}

/// Kill the real daemon (SIGKILL) while it posts to the reference PDS, restart it, and
/// count: every (article, locale) has exactly one record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_daemon_mid_posting_leaves_exactly_one_record_each() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let Some((_pds, url, handle, did)) = pds_account(dir.path(), "gk") else {
        return;
    };
    crate::support::copy_dir(
        &crate::support::repo().join("feeds"),
        &dir.path().join("feeds"),
    );
    std::fs::write(dir.path().join("pw"), "correct-horse-battery").unwrap();
    let config = format!(
        "[social]\nmax_age_hours = 100000\n[[social.accounts]]\nid = \"bsky\"\nlocales = [\"zh-Hans\", \"ja\", \"ar\", \"en\", \"de\"]\nenabled = true\n\
         [social.accounts.bluesky]\nservice = \"{url}\"\nidentifier = \"{handle}\"\napp_password_file = \"{}\"\n",
        dir.path().join("pw").display()
    );
    std::fs::write(dir.path().join("bridgecast.toml"), config).unwrap();
    let port = free_port();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_bridgecast"))
            .arg("serve")
            .current_dir(dir.path())
            .env("BRIDGECAST_LISTEN", format!("127.0.0.1:{port}"))
            .env("BRIDGECAST_JOBS__LEASE_SECS", "2")
            .env("BRIDGECAST_JOBS__POLL_MS", "100")
            .env("BRIDGECAST_JOBS__BACKOFF_BASE_SECS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let count = || async {
        let r = reqwest::get(format!("{url}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post&limit=100"))
            .await
            .unwrap();
        r.json::<serde_json::Value>().await.unwrap()["records"]
            .as_array()
            .unwrap()
            .len()
    };
    // Five articles in zh-Hans, ja and en; four in ar and de (hyogo has neither).
    let expected = 23;
    let mut kills = 0;
    for round in 0..3 {
        let mut child = spawn();
        let before = count().await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        // Let it post a few, then kill it without warning.
        while count().await < (before + 3).min(expected) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        if count().await < expected || round == 0 {
            child.kill().unwrap();
            kills += 1;
        }
        let _ = child.wait();
        if count().await == expected {
            break;
        }
    }
    // A last run finishes whatever is left (leases of killed attempts expire after 2 s).
    let mut child = spawn();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while count().await < expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Give a duplicate (if any were coming) time to appear.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(kills >= 1);
    let r = reqwest::get(format!(
        "{url}/xrpc/com.atproto.repo.listRecords?repo={did}&collection=app.bsky.feed.post&limit=100"
    ))
    .await
    .unwrap();
    let records = r.json::<serde_json::Value>().await.unwrap()["records"]
        .as_array()
        .unwrap()
        .clone();
    let mut seen = BTreeSet::new();
    for rec in &records {
        let v = &rec["value"];
        let link = v["embed"]["external"]["uri"].as_str().unwrap().to_owned();
        assert!(seen.insert(link.clone()), "posted twice: {link}");
    }
    assert_eq!(records.len(), expected, "after {kills} kills");
}

#[tokio::test]
async fn quiet_hours_and_the_hourly_limit_defer_posts_without_spending_attempts() {
    let outbox = format!("pace-{}", uuid::Uuid::new_v4());
    let o = outbox.clone();
    let t = TestApp::builder()
        .config(move |c| {
            c.social.max_age_hours = 24 * 365;
            let mut a = stub("en", &["en"], &o, 0);
            a.max_per_hour = Some(2);
            // demo_now is 12:00 UTC = 20:00 in Shanghai.
            a.quiet_hours = Some(social::QuietHours {
                from: "19:30".into(),
                to: "21:00".into(),
                time_zone: "Asia/Shanghai".into(),
            });
            c.social.accounts = vec![a];
        })
        .build()
        .await;
    assert!(
        social::stub::posts(&outbox).is_empty(),
        "quiet until 21:00 Shanghai"
    );
    let waiting = t
        .app
        .store
        .jobs(Some(bridgecast::store::JobState::Pending), 100)
        .await
        .unwrap();
    let waiting: Vec<_> = waiting.iter().filter(|j| j.kind == "post_social").collect();
    assert_eq!(waiting.len(), 5);
    assert!(waiting.iter().all(|j| j.attempts == 0
        && j.run_at == chrono::DateTime::parse_from_rfc3339("2026-11-28T13:00:00Z").unwrap()));
    t.clock.advance(chrono::Duration::minutes(61));
    t.drain().await;
    assert_eq!(social::stub::posts(&outbox).len(), 2, "two an hour");
    t.clock.advance(chrono::Duration::minutes(61));
    t.drain().await;
    assert_eq!(social::stub::posts(&outbox).len(), 4);
    t.clock.advance(chrono::Duration::minutes(61));
    t.drain().await;
    let posts = social::stub::posts(&outbox);
    assert_eq!(posts.len(), 5);
    let keys: BTreeSet<&str> = posts.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys.len(), 5);
}

#[tokio::test]
async fn where_posts_cannot_be_edited_a_correction_can_post_a_notice_once() {
    let outbox = format!("notice-{}", uuid::Uuid::new_v4());
    let o = outbox.clone();
    let t = TestApp::builder()
        .config(move |c| {
            c.social.max_age_hours = 24 * 365;
            let mut a = stub("de", &["de"], &o, 0);
            a.stub.as_mut().unwrap().no_edit = true;
            a.on_correction = social::CorrectionPolicy::Repost;
            c.social.accounts = vec![a];
        })
        .build()
        .await;
    assert_eq!(social::stub::posts(&outbox).len(), 4, "hyogo has no de");
    let path = t.content.join("news/articles/queensland-partnership/de.md");
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "+++\n",
        "+++\ncorrection = \"Ein Datum war falsch.\"\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    t.resync().await;
    t.resync().await;
    let posts = social::stub::posts(&outbox);
    assert_eq!(posts.len(), 5, "one notice: {posts:#?}");
    let notice = &posts[4];
    assert_eq!(notice.action, "post");
    assert!(
        notice.text.contains("Ein Datum war falsch."),
        "{}",
        notice.text
    );
    assert!(notice.key.contains(":correction:"));
}
