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
        insta::assert_snapshot!(name, t.doc(path));
    }
}
