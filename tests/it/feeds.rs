//! What each locale's feed holds, and what it must not.

use crate::support::{TestApp, demo_now};
use chrono::Duration;

fn atom(t: &TestApp, channel: &str, locale: &str) -> feed_rs::model::Feed {
    let body = t.doc(&format!("/feeds/{channel}/{locale}/atom.xml"));
    feed_rs::parser::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{channel}/{locale}: {e}"))
}

fn ids(f: &feed_rs::model::Feed) -> Vec<String> {
    f.entries.iter().map(|e| e.id.clone()).collect()
}

#[tokio::test]
async fn every_locale_holds_its_own_translations_and_not_another_locales() {
    let t = TestApp::demo().await;
    for locale in ["zh-Hans", "en", "de", "ja", "ms", "ne", "es", "ar"] {
        let f = atom(&t, "news", locale);
        // Five published articles; the sixth is scheduled for 2027.
        assert_eq!(f.entries.len(), 5, "{locale}: {:?}", ids(&f));
        for e in &f.entries {
            let own = e.id.ends_with(&format!("/{locale}"));
            let hyogo = e.id.contains("hyogo-cooperation");
            assert!(own || hyogo, "{locale} carries {}", e.id);
            assert!(
                !e.id.contains("youth-culture-bridges"),
                "{locale}: scheduled article leaked"
            );
        }
        let body = t.doc(&format!("/feeds/news/{locale}/rss.xml"));
        assert!(
            body.contains(&format!("<language>{locale}</language>")),
            "{locale}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&t.doc(&format!("/feeds/news/{locale}/feed.json"))).unwrap();
        assert_eq!(json["language"], locale);
    }
}

#[tokio::test]
async fn a_missing_translation_falls_back_along_the_chain_and_says_its_language() {
    let t = TestApp::demo().await;
    // hyogo-cooperation exists in zh-Hans, en and ja only.
    let de = t.doc("/feeds/news/de/atom.xml");
    assert!(
        de.contains("tag:gdfao.example.org,2026-09-13:hyogo-cooperation/en"),
        "de falls back to en"
    );
    assert!(
        de.contains("<title xml:lang=\"en\">Guangdong and Hyogo"),
        "the fallback entry is marked English"
    );
    let zh_hant = atom(&t, "news", "zh-Hant");
    assert!(
        ids(&zh_hant).iter().all(|id| id.ends_with("/zh-Hans")),
        "zh-Hant shows zh-Hans: {:?}",
        ids(&zh_hant)
    );
    assert_eq!(zh_hant.entries.len(), 5);
    let ja = t.doc("/feeds/news/ja/atom.xml");
    assert!(
        ja.contains("hyogo-cooperation/ja"),
        "ja has its own (machine) translation"
    );
    let json: serde_json::Value = serde_json::from_str(&t.doc("/feeds/news/ar/feed.json")).unwrap();
    let hyogo = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_str().unwrap().contains("hyogo"))
        .unwrap();
    assert_eq!(hyogo["language"], "en");
}

#[tokio::test]
async fn the_topic_channel_selects_by_topic_and_holds_incomplete_articles() {
    let t = TestApp::demo().await;
    let en = t.doc("/feeds/science-tech/en/atom.xml");
    // Selected by topic: science-technology, new-energy, bio-medicine, robotics.
    for slug in [
        "round-table",
        "delegation-visit",
        "queensland-partnership",
        "nepal-drone-delivery",
    ] {
        assert!(
            en.contains(&format!(":{slug}/en<")),
            "science-tech/en lacks {slug}"
        );
    }
    // Held: hyogo lacks most locales, and the channel's policy is hold.
    assert!(
        !en.contains("hyogo-cooperation"),
        "held article leaked into science-tech"
    );
    // No science topic: never selected (youth-culture is also scheduled; check topic selection via counts).
    assert_eq!(atom(&t, "science-tech", "en").entries.len(), 4);
    let zh_hant = atom(&t, "science-tech", "zh-Hant");
    assert_eq!(
        zh_hant.entries.len(),
        4,
        "zh-Hant follows its chain to zh-Hans"
    );
}

#[tokio::test]
async fn scheduled_articles_appear_when_their_time_comes_and_only_touch_their_feeds() {
    let t = TestApp::demo().await;
    assert!(
        !t.doc("/feeds/news/en/atom.xml")
            .contains("youth-culture-bridges")
    );
    let before_science = t
        .app
        .cache
        .get("/feeds/science-tech/en/atom.xml")
        .unwrap()
        .etag
        .clone();
    t.clock.set(
        chrono::DateTime::parse_from_rfc3339("2027-06-01T01:00:01Z")
            .unwrap()
            .to_utc(),
    );
    let n = bridgecast::publish::publish_due(&t.app).await.unwrap();
    assert_eq!(n, 8, "eight translations came due");
    // Exactly the feeds it touches: news in every locale; science-tech not (no topic).
    let pending: Vec<String> = t
        .app
        .store
        .jobs(Some(bridgecast::store::JobState::Pending), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.key)
        .collect();
    let mut renders: Vec<&str> = pending
        .iter()
        .map(String::as_str)
        .filter(|k| k.starts_with("feeds:"))
        .collect();
    renders.sort();
    assert_eq!(
        renders,
        [
            "feeds:news:ar",
            "feeds:news:de",
            "feeds:news:en",
            "feeds:news:es",
            "feeds:news:ja",
            "feeds:news:ms",
            "feeds:news:ne",
            "feeds:news:zh-Hans",
            "feeds:news:zh-Hant"
        ]
    );
    t.drain().await;
    let en = atom(&t, "news", "en");
    assert_eq!(
        en.entries[0].id,
        "tag:gdfao.example.org,2027-06-01:youth-culture-bridges/en"
    );
    assert_eq!(
        t.app
            .cache
            .get("/feeds/science-tech/en/atom.xml")
            .unwrap()
            .etag,
        before_science
    );
}

#[tokio::test]
async fn a_correction_keeps_the_id_and_bumps_updated() {
    let t = TestApp::demo().await;
    let f = atom(&t, "news", "en");
    let e = f
        .entries
        .iter()
        .find(|e| e.id.contains("round-table"))
        .unwrap();
    assert_eq!(
        e.published.unwrap().to_rfc3339(),
        "2026-09-12T10:30:00+00:00"
    );
    assert_eq!(e.updated.unwrap().to_rfc3339(), "2026-09-14T02:00:00+00:00");
    let content = e.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(content.contains("Correction:"), "{content}");
    // Correct it again: same id, newer updated, new ETag.
    let before = t
        .app
        .cache
        .get("/feeds/news/en/atom.xml")
        .unwrap()
        .etag
        .clone();
    let path = t.content.join("news/articles/round-table/en.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "updated_at = 2026-09-14T10:00:00+08:00",
        "updated_at = 2026-10-01T10:00:00+08:00",
    );
    std::fs::write(&path, text).unwrap();
    let s = t.resync().await;
    assert_eq!(s.changed, 1);
    let f = atom(&t, "news", "en");
    let e = f
        .entries
        .iter()
        .find(|e| e.id.contains("round-table"))
        .unwrap();
    assert_eq!(e.id, "tag:gdfao.example.org,2026-09-12:round-table/en");
    assert_eq!(e.updated.unwrap().to_rfc3339(), "2026-10-01T02:00:00+00:00");
    assert_ne!(
        t.app.cache.get("/feeds/news/en/atom.xml").unwrap().etag,
        before
    );
}

#[tokio::test]
async fn entries_link_to_every_other_translation_with_hreflang() {
    let t = TestApp::demo().await;
    let f = atom(&t, "news", "en");
    let e = f
        .entries
        .iter()
        .find(|e| e.id.contains("round-table"))
        .unwrap();
    let langs: Vec<&str> = e
        .links
        .iter()
        .filter(|l| l.rel.as_deref() == Some("alternate"))
        .filter_map(|l| l.href_lang.as_deref())
        .collect();
    for l in ["en", "zh-Hans", "de", "ja", "ms", "ne", "es", "ar"] {
        assert!(langs.contains(&l), "missing hreflang {l}: {langs:?}");
    }
    let rss = t.doc("/feeds/news/en/rss.xml");
    assert!(
        rss.contains("hreflang=\"ar\""),
        "RSS items carry atom:link alternates"
    );
    assert!(rss.contains("<dc:language>en</dc:language>"));
    let json: serde_json::Value = serde_json::from_str(&t.doc("/feeds/news/en/feed.json")).unwrap();
    let rt = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_str().unwrap().contains("round-table"))
        .unwrap();
    assert_eq!(rt["_translations"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn feeds_carry_the_required_metadata() {
    let t = TestApp::builder()
        .config(|c| c.websub.hubs = vec!["https://hub.example.org/".into()])
        .build()
        .await;
    let rss = t.doc("/feeds/news/ar/rss.xml");
    for needle in [
        "<atom:link href=\"https://feeds.example.org/feeds/news/ar/rss.xml\" rel=\"self\"",
        "rel=\"hub\"",
        "<ttl>60</ttl>",
        "<content:encoded>",
        "<enclosure url=\"https://feeds.example.org/media/news/round-table.png\" length=\"",
        "<media:description type=\"plain\">",
        "<pubDate>Sat, 12 Sep 2026 10:30:00 +0000</pubDate>",
        "<guid isPermaLink=\"false\">tag:gdfao.example.org,2026-09-12:round-table/ar</guid>",
    ] {
        assert!(rss.contains(needle), "RSS lacks {needle}");
    }
    let atom = t.doc("/feeds/news/ar/atom.xml");
    assert!(atom.contains("xml:lang=\"ar\""));
    assert!(atom.contains("rel=\"hub\""));
    assert!(atom.contains("rel=\"enclosure\""));
    let json: serde_json::Value = serde_json::from_str(&t.doc("/feeds/news/ar/feed.json")).unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(json["hubs"][0]["type"], "WebSub");
    assert_eq!(
        json["feed_url"],
        "https://feeds.example.org/feeds/news/ar/feed.json"
    );
    // Dates are English RFC 822 in RSS whatever the locale.
    assert!(!rss.contains("<pubDate>السبت"));
}

#[tokio::test]
async fn archives_let_a_reader_backfill_everything() {
    // Pages of 2 with a current feed of 2 over 5 entries: current (newest 2) + pages 1..2.
    let t = TestApp::builder().pages_of(2).build().await;
    let current = t.doc("/feeds/news/en/atom.xml");
    assert!(current.contains("rel=\"prev-archive\""));
    assert!(current.contains("/feeds/news/en/archive/2/atom.xml"));
    let mut seen = std::collections::BTreeSet::new();
    let mut next = Some("/feeds/news/en/atom.xml".to_owned());
    let mut hops = 0;
    while let Some(path) = next.take() {
        hops += 1;
        assert!(hops < 10);
        let body = t.doc(&path);
        let f = feed_rs::parser::parse(body.as_bytes()).unwrap();
        seen.extend(f.entries.iter().map(|e| e.id.clone()));
        if path.contains("/archive/") {
            assert!(
                body.contains("<fh:archive"),
                "{path} is marked as an archive"
            );
            assert!(body.contains("rel=\"current\""));
        }
        next = f
            .links
            .iter()
            .find(|l| l.rel.as_deref() == Some("prev-archive"))
            .map(|l| {
                l.href
                    .trim_start_matches("https://feeds.example.org")
                    .to_owned()
            });
    }
    assert_eq!(seen.len(), 5, "every entry reachable: {seen:?}");
    // JSON Feed pages the same way through next_url.
    let json: serde_json::Value = serde_json::from_str(&t.doc("/feeds/news/en/feed.json")).unwrap();
    assert_eq!(
        json["next_url"],
        "https://feeds.example.org/feeds/news/en/archive/2/feed.json"
    );
    let page1: serde_json::Value =
        serde_json::from_str(&t.doc("/feeds/news/en/archive/1/feed.json")).unwrap();
    assert!(page1.get("next_url").is_none());
}

#[tokio::test]
async fn an_archive_page_whose_store_failed_is_rendered_again_on_the_next_try() {
    use sqlx::Connection;
    // Pages of 2: the oldest English entry lies on archive page 1.
    let t = TestApp::builder().pages_of(2).build().await;
    let page = "/feeds/news/en/archive/1/atom.xml";
    assert!(t.doc(page).contains("Delegates from seven countries"));
    let path = t.content.join("news/articles/delegation-visit/en.md");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "title = \"Delegates from seven countries",
        "title = \"Corrected: delegates from seven countries",
    );
    std::fs::write(&path, text).unwrap();
    bridgecast::publish::sync_content(&t.app, true)
        .await
        .unwrap();

    // The documents table goes away (as a full disk or a lost connection would fail
    // the write): the render fails and the page is not stored.
    let db = format!(
        "sqlite://{}",
        t.app.config.data_dir.join("bridgecast.db").display()
    );
    let mut admin = sqlx::SqliteConnection::connect(&db).await.unwrap();
    sqlx::query("ALTER TABLE documents RENAME TO documents_away")
        .execute(&mut admin)
        .await
        .unwrap();
    assert!(
        bridgecast::publish::render_feed(&t.app, "news", "en")
            .await
            .is_err()
    );
    sqlx::query("ALTER TABLE documents_away RENAME TO documents")
        .execute(&mut admin)
        .await
        .unwrap();

    // The next try renders the page again rather than keeping the cached old one.
    bridgecast::publish::render_feed(&t.app, "news", "en")
        .await
        .unwrap();
    assert!(
        t.doc(page)
            .contains("Corrected: delegates from seven countries"),
        "archive page 1 still holds the old title"
    );
}

#[tokio::test]
async fn a_retraction_leaves_a_tombstone_in_atom_and_removes_the_entry() {
    let t = TestApp::demo().await;
    let path = t.content.join("news/articles/nepal-drone-delivery/en.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replacen("+++\n", "+++\nretracted_at = 2026-11-01T00:00:00Z\n", 1);
    std::fs::write(&path, text).unwrap();
    t.resync().await;
    let atom = t.doc("/feeds/news/en/atom.xml");
    assert!(atom.contains("xmlns:at=\"http://purl.org/atompub/tombstones/1.0\""));
    assert!(atom.contains("<at:deleted-entry ref=\"tag:gdfao.example.org,2026-09-14:nepal-drone-delivery/en\" when=\"2026-11-01T00:00:00Z\">"), "{atom}");
    let f = feed_rs::parser::parse(atom.as_bytes()).unwrap();
    assert!(
        !f.entries
            .iter()
            .any(|e| e.id.contains("nepal-drone-delivery"))
    );
    assert!(
        !t.doc("/feeds/news/en/rss.xml")
            .contains("nepal-drone-delivery/en<")
    );
    // Other locales keep their translation.
    assert!(
        t.doc("/feeds/news/de/atom.xml")
            .contains("nepal-drone-delivery/de")
    );
}

#[tokio::test]
async fn rendering_is_deterministic_so_etags_only_change_with_content() {
    let t = TestApp::demo().await;
    let before = t
        .app
        .cache
        .get("/feeds/news/ja/atom.xml")
        .unwrap()
        .etag
        .clone();
    t.clock.advance(Duration::days(3));
    bridgecast::publish::enqueue_renders(
        &t.app,
        &bridgecast::publish::all_feeds(&t.app.channels()),
    )
    .await
    .unwrap();
    t.drain().await;
    assert_eq!(
        t.app.cache.get("/feeds/news/ja/atom.xml").unwrap().etag,
        before
    );
    let _ = demo_now();
}
