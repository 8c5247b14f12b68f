//! Arbitrary Unicode in any field gives documents that parse, and a reader gets the
//! same text back.

use bridgecast::content::{Channel, MissingPolicy, Status, Translation};
use bridgecast::feed::{self, Site};
use bridgecast::i18n::I18n;
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use std::path::PathBuf;

fn channel() -> Channel {
    Channel {
        id: "p".into(),
        title_msg: "channel-news-title".into(),
        description_msg: "channel-news-description".into(),
        source_locale: "en".into(),
        locales: vec!["en".into(), "ar".into()],
        policy: MissingPolicy::Fallback,
        ttl_minutes: 60,
        fallback: Default::default(),
        select: None,
        ingest: vec![],
        dir: PathBuf::new(),
    }
}

fn translation(locale: &str, title: &str, summary: &str, body: &str) -> Translation {
    let mut t = Translation {
        article_id: "tag:p.example.org,2026:x".into(),
        channel: "p".into(),
        slug: "x".into(),
        locale: locale.into(),
        title: title.into(),
        summary: summary.into(),
        body_html: bridgecast::markdown::to_safe_html(
            body,
            &url::Url::parse("https://p.example.org/en/p/x").unwrap(),
        ),
        topics: vec!["education".into()],
        status: Status::Approved,
        published_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        updated_at: None,
        retracted_at: None,
        correction: None,
        image: None,
        source: "p".into(),
        source_hash: String::new(),
    };
    t.source_hash = bridgecast::content::hash_translation(&t);
    t
}

/// What a reader gets back: the text without the characters XML forbids, line ends
/// as LF, surrounding white space trimmed (readers trim).
fn expected(s: &str) -> String {
    bridgecast::markdown::xml_clean(s).trim().to_owned()
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\PC\\u{0}-\\u{1f}\\u{fffe}\\u{ffff}<>&\"'\\]\\]>]{0,80}",
        "(<script>|]]>|&amp;|\\u{202e}|\\u{2068}|漢字|العربية|नेपाली|👩‍👩‍👧|e\\u{301}){1,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]
    #[test]
    fn any_text_round_trips_through_every_format(title in text_strategy(), summary in text_strategy(), body in text_strategy()) {
        // A title that is only whitespace after cleaning is refused by the loader.
        prop_assume!(!expected(&title).is_empty());
        let i18n = I18n::new();
        let site = Site { base: "https://p.example.org", i18n: &i18n, hubs: &[], items: 50, page_size: 50 };
        let ts = vec![translation("en", &title, &summary, &body), translation("ar", &title, &summary, &body)];
        let now = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        let c = channel();
        let sel = feed::select(&c, "en", &ts, now);
        let docs = feed::render_channel_locale(site, &c, "en", &sel, now, bridgecast::document::Purpose::Serve);
        prop_assert_eq!(docs.len(), 3);
        for d in &docs {
            if d.path.ends_with(".xml") {
                let text = std::str::from_utf8(&d.body).unwrap();
                roxmltree::Document::parse(text).map_err(|e| TestCaseError::fail(format!("{}: {e}", d.path)))?;
            }
            let f = feed_rs::parser::parse(&d.body[..]).map_err(|e| TestCaseError::fail(format!("{}: {e}", d.path)))?;
            prop_assert_eq!(f.entries.len(), 1);
            let got = f.entries[0].title.as_ref().map(|t| t.content.trim().to_owned());
            let want = expected(&title);
            prop_assert_eq!(got.as_deref(), Some(want.as_str()), "{}", d.path);
            let want = expected(&summary);
            if !want.is_empty() {
                let got = f.entries[0].summary.as_ref().map(|t| t.content.trim().to_owned());
                prop_assert_eq!(got.as_deref(), Some(want.as_str()), "{}", d.path);
            }
        }
    }
}
