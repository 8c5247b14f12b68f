//! Snapshots of the documents people read, reviewed like code (`cargo insta review`).
//! Only the build time varies between runs, and no rendered byte depends on it.

use crate::support::TestApp;

#[tokio::test]
async fn demo_feeds() {
    let t = TestApp::demo().await;
    for (path, name) in [
        ("/feeds/news/en/atom.xml", "news_en_atom"),
        ("/feeds/news/ar/rss.xml", "news_ar_rss"),
        ("/feeds/news/zh-Hant/feed.json", "news_zh_hant_json"),
        ("/feeds/science-tech/ja/atom.xml", "science_tech_ja_atom"),
        ("/ar/", "landing_ar"),
        ("/feeds.opml", "opml"),
    ] {
        let body = t.doc(path);
        // JSON Feed is served compact; review it indented.
        let body = if path.ends_with(".json") {
            serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&body).unwrap())
                .unwrap()
        } else {
            body
        };
        insta::assert_snapshot!(name, body);
    }
}
