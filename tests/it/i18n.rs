//! Every catalogue has every message of the reference catalogue, and plurals follow
//! CLDR (Arabic has six forms).

use bridgecast::i18n::{Arg, I18n};
use bridgecast::locale::{LOCALES, REFERENCE};

#[test]
fn every_locale_has_every_message_of_the_reference() {
    let i18n = I18n::new();
    let reference = i18n.ids(REFERENCE);
    assert!(reference.len() >= 30);
    for l in LOCALES {
        let ids = i18n.ids(l.tag);
        let missing: Vec<_> = reference.iter().filter(|id| !ids.contains(id)).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", l.tag);
        let extra: Vec<_> = ids.iter().filter(|id| !reference.contains(id)).collect();
        assert!(
            extra.is_empty(),
            "{} has ids the reference lacks: {extra:?}",
            l.tag
        );
        for id in &reference {
            let args = [
                ("count", Arg::Num(3)),
                ("date", Arg::Str("2026-09-12")),
                ("language", Arg::Str("English")),
                ("note", Arg::Str("n")),
                ("number", Arg::Str("3")),
                ("digest", Arg::Str("Daily digest")),
                ("name", Arg::Str("Li Wei")),
                ("organisation", Arg::Str("Brisbane City Council")),
                ("site", Arg::Str("news.example.org")),
            ];
            let text = i18n
                .try_msg(l.tag, id, &args)
                .unwrap_or_else(|| panic!("{} {id} does not format", l.tag));
            assert!(
                !text.contains('\u{2068}') && !text.contains('\u{2069}'),
                "no bidi isolation marks"
            );
        }
    }
}

#[test]
fn arabic_uses_all_six_plural_forms() {
    let i18n = I18n::new();
    let forms: Vec<String> = [0, 1, 2, 3, 11, 100]
        .iter()
        .map(|n| i18n.msg("ar", "article-count", &[("count", Arg::Num(*n))]))
        .collect();
    let mut distinct = forms.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        6,
        "zero, one, two, few, many, other: {forms:?}"
    );
    assert_eq!(
        i18n.msg("en", "article-count", &[("count", Arg::Num(1))]),
        "1 article"
    );
    assert_eq!(
        i18n.msg("en", "article-count", &[("count", Arg::Num(5))]),
        "5 articles"
    );
    assert_ne!(
        i18n.msg("zh-Hant", "channel-news-title", &[]),
        i18n.msg("zh-Hans", "channel-news-title", &[])
    );
}
