//! Counting and fitting social posts: known lengths per platform, worked examples in every
//! script we publish, and properties over generated text.

use bridgecast::social::text::*;
use proptest::prelude::*;
use std::collections::HashSet;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

const NAMED: [(&str, Budget); 8] = [
    ("bluesky", Budget::BLUESKY),
    ("mastodon", Budget::MASTODON),
    ("x", Budget::X),
    ("telegram message", Budget::TELEGRAM_MESSAGE),
    ("telegram caption", Budget::TELEGRAM_CAPTION),
    ("weibo", Budget::WEIBO),
    ("linkedin", Budget::LINKEDIN),
    ("facebook", Budget::FACEBOOK),
];

const FAMILY: &str = "👩\u{200D}👩\u{200D}👧";

fn url_of_len(len: usize) -> String {
    let head = "https://example.com/";
    format!("{head}{}", "a".repeat(len - head.len()))
}

/// What `fit` does to each piece before anything else.
fn clean(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
        .collect();
    kept.nfc().collect::<String>().trim().to_owned()
}

#[test]
fn count_gives_each_platforms_known_lengths() {
    let url100 = url_of_len(100);
    let url200 = url_of_len(200);
    let cases: Vec<(&str, Budget, String, usize)> = vec![
        // X: twitter-text v3 weights, NFC, emoji sequences 2, URLs 23.
        ("x han", Budget::X, "你好".into(), 4),
        ("x latin", Budget::X, "a".into(), 1),
        ("x 100-char url", Budget::X, url100.clone(), 23),
        (
            "x url in text",
            Budget::X,
            format!("read {url100} now"),
            5 + 23 + 4,
        ),
        ("x zwj family", Budget::X, FAMILY.into(), 2),
        ("x decomposed é", Budget::X, "e\u{301}".into(), 1),
        ("x café decomposed", Budget::X, "cafe\u{301}".into(), 4),
        ("x docs example", Budget::X, "Hello, world! 👋".into(), 16),
        ("x flag", Budget::X, "🇩🇪".into(), 2),
        ("x skin tone", Budget::X, "👍🏽".into(), 2),
        ("x keycap", Budget::X, "1\u{FE0F}\u{20E3}".into(), 2),
        ("x emoji + vs16", Budget::X, "❤\u{FE0F}".into(), 2),
        (
            "x ellipsis is outside the light ranges",
            Budget::X,
            "…".into(),
            2,
        ),
        ("x curly quotes are light", Budget::X, "“a”".into(), 3),
        ("x kana", Budget::X, "こんにちは".into(), 10),
        ("x devanagari", Budget::X, "नमस्ते".into(), 6),
        ("x arabic", Budget::X, "مرحبا بالعالم".into(), 13),
        (
            "x bare domain is a link",
            Budget::X,
            "Amazon.com".into(),
            23,
        ),
        (
            "x abbreviation is no domain",
            Budget::X,
            "e.g. this".into(),
            9,
        ),
        (
            "x non-ascii in url charged",
            Budget::X,
            "https://zh.wikipedia.org/wiki/新能源".into(),
            23 + 6,
        ),
        // Mastodon: graphemes, URLs 23.
        ("mastodon url", Budget::MASTODON, url100.clone(), 23),
        (
            "mastodon url in text",
            Budget::MASTODON,
            format!("read {url100}"),
            5 + 23,
        ),
        ("mastodon family", Budget::MASTODON, FAMILY.into(), 1),
        ("mastodon devanagari", Budget::MASTODON, "नमस्ते".into(), 3),
        // Bluesky: graphemes, URLs as written.
        ("bluesky family", Budget::BLUESKY, FAMILY.into(), 1),
        ("bluesky conjunct", Budget::BLUESKY, "क्ष".into(), 1),
        ("bluesky devanagari", Budget::BLUESKY, "नमस्ते".into(), 3),
        ("bluesky combining", Budget::BLUESKY, "e\u{301}".into(), 1),
        (
            "bluesky url as written",
            Budget::BLUESKY,
            url100.clone(),
            100,
        ),
        // Telegram: UTF-16 code units.
        ("telegram emoji", Budget::TELEGRAM_MESSAGE, "😀".into(), 2),
        ("telegram han", Budget::TELEGRAM_MESSAGE, "你好".into(), 2),
        (
            "telegram family",
            Budget::TELEGRAM_CAPTION,
            FAMILY.into(),
            8,
        ),
        (
            "telegram url as written",
            Budget::TELEGRAM_CAPTION,
            url100.clone(),
            100,
        ),
        // LinkedIn, Facebook: scalar values as written.
        ("linkedin family", Budget::LINKEDIN, FAMILY.into(), 5),
        ("linkedin devanagari", Budget::LINKEDIN, "नमस्ते".into(), 6),
        (
            "facebook decomposed",
            Budget::FACEBOOK,
            "e\u{301}".into(),
            2,
        ),
        // Weibo: wide 1, up to U+00FF half (rounded up), links 20.
        ("weibo han", Budget::WEIBO, "你好".into(), 2),
        ("weibo two ascii", Budget::WEIBO, "ab".into(), 1),
        ("weibo three ascii", Budget::WEIBO, "abc".into(), 2),
        ("weibo mixed", Budget::WEIBO, "你好a".into(), 3),
        ("weibo latin-1", Budget::WEIBO, "é".into(), 1),
        ("weibo emoji", Budget::WEIBO, "😀".into(), 2),
        ("weibo url", Budget::WEIBO, url100.clone(), 20),
        (
            "weibo long url",
            Budget::WEIBO,
            url200.clone(),
            (40 + 60) / 2,
        ),
        (
            "weibo url in text",
            Budget::WEIBO,
            format!("新闻 {url100}"),
            23,
        ),
        ("empty", Budget::X, String::new(), 0),
    ];
    for (name, budget, text, want) in cases {
        assert_eq!(count(&text, &budget), want, "{name}: {text:?}");
    }
}

#[test]
fn fits_checks_the_limit_and_the_byte_limit() {
    assert!(fits(&"a".repeat(280), &Budget::X));
    assert!(!fits(&"a".repeat(281), &Budget::X));
    assert!(fits(&"你".repeat(140), &Budget::X));
    assert!(!fits(&"你".repeat(141), &Budget::X));
    assert!(fits(&"你".repeat(140), &Budget::WEIBO));
    assert!(!fits(&"a".repeat(281), &Budget::WEIBO));
    assert!(fits(&"a".repeat(280), &Budget::WEIBO));
    // 200 family emoji are 200 graphemes but 3600 bytes: over Bluesky's byte limit.
    let families = FAMILY.repeat(200);
    assert_eq!(count(&families, &Budget::BLUESKY), 200);
    assert!(!fits(&families, &Budget::BLUESKY));
    assert!(fits(&format!("{FAMILY} ").repeat(150), &Budget::BLUESKY));
    assert!(fits(&"😀".repeat(512), &Budget::TELEGRAM_CAPTION));
    assert!(!fits(&"😀".repeat(513), &Budget::TELEGRAM_CAPTION));
}

#[test]
fn find_urls_stops_at_whitespace_punctuation_and_cjk() {
    let cases: &[(&str, &[&str])] = &[
        ("see https://example.com/a.", &["https://example.com/a"]),
        (
            "(https://en.wikipedia.org/wiki/Rust_(language))",
            &["https://en.wikipedia.org/wiki/Rust_(language)"],
        ),
        (
            "“https://example.com/q?a=1&b=2”, and",
            &["https://example.com/q?a=1&b=2"],
        ),
        (
            "详见https://example.com/x。更多内容",
            &["https://example.com/x"],
        ),
        (
            "A http://a.example B HTTPS://B.EXAMPLE/P!",
            &["http://a.example", "HTTPS://B.EXAMPLE/P"],
        ),
        (
            "https://ar.wikipedia.org/wiki/طاقة متجددة",
            &["https://ar.wikipedia.org/wiki/طاقة"],
        ),
        ("xhttps://example.com https:// http://.", &[]),
    ];
    for (text, want) in cases {
        let got: Vec<&str> = find_urls(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(&got, want, "{text:?}");
    }
}

#[test]
fn find_hashtags_takes_words_of_any_script() {
    let text =
        "#NewEnergy #广东 #2024 a#b C# https://x.example/#frag (#नई_ऊर्जा) #طاقة، #東京タワー。";
    let got: Vec<&str> = find_hashtags(text).into_iter().map(|r| &text[r]).collect();
    assert_eq!(
        got,
        ["#NewEnergy", "#广东", "#नई_ऊर्जा", "#طاقة", "#東京タワー"]
    );
}

#[test]
fn hashtag_makes_a_body_from_a_label() {
    let cases = [
        ("New energy", "NewEnergy"),
        ("新能源", "新能源"),
        ("Bio-medicine", "BioMedicine"),
        ("electric vehicles", "ElectricVehicles"),
        ("iPhone sales", "iPhoneSales"),
        ("COVID-19", "COVID19"),
        ("  #AI!  ", "AI"),
        ("Energía renovable", "EnergíaRenovable"),
        ("新能源 汽车", "新能源汽车"),
        ("طاقة متجددة", "طاقة_متجددة"),
        ("नई ऊर्जा", "नई_ऊर्जा"),
        ("Cafe\u{301}", "Café"),
        ("", ""),
    ];
    for (label, want) in cases {
        assert_eq!(hashtag(label), want, "{label:?}");
        if !want.is_empty() {
            let tag = format!("#{want}");
            let whole = 0..tag.len();
            assert_eq!(find_hashtags(&tag), [whole], "{tag:?} reads back whole");
        }
    }
}

/// One language's sample: a title, a sentence to repeat as the summary, and whether the script
/// puts spaces between words.
struct Sample {
    lang: &'static str,
    title: &'static str,
    sentence: &'static str,
    spaced: bool,
}

const SAMPLES: [Sample; 5] = [
    Sample {
        lang: "zh-Hans",
        title: "广东新能源汽车产量创新高",
        sentence: "今年前三季度，广东省新能源汽车产量同比增长百分之三十五，充电基础设施建设同步加快。",
        spaced: false,
    },
    Sample {
        lang: "ja",
        title: "東京都、再生可能エネルギーの新計画",
        sentence: "東京都は二〇三〇年までに再生可能エネルギーの割合を五割に引き上げる計画を発表した。",
        spaced: false,
    },
    Sample {
        lang: "ar",
        title: "الطاقة المتجددة في المنطقة",
        sentence: "أعلنت الحكومة عن خطة جديدة لزيادة حصة الطاقة المتجددة في مزيج الكهرباء بحلول عام ٢٠٣٠. ",
        spaced: true,
    },
    Sample {
        lang: "ne",
        title: "नेपालमा नवीकरणीय ऊर्जाको विस्तार",
        sentence: "सरकारले सन् २०३० सम्म नवीकरणीय ऊर्जाको हिस्सा दोब्बर बनाउने योजना सार्वजनिक गरेको छ। ",
        spaced: true,
    },
    Sample {
        lang: "de",
        title: "Energiewende: Rekord bei Solarstrom",
        sentence: "Die Bundesnetzagentur meldet für das dritte Quartal einen neuen Höchststand bei der Einspeisung von Solarstrom. ",
        spaced: true,
    },
];

#[test]
fn fit_cuts_the_summary_of_every_language_for_every_budget() {
    for sample in &SAMPLES {
        for (name, budget) in NAMED {
            let reps = budget.max / count(sample.sentence, &budget).max(1) + 2;
            let summary = sample.sentence.repeat(reps);
            let link = format!("https://news.example.org/{}/2026/10/energy", sample.lang);
            let parts = Parts {
                title: sample.title.into(),
                summary: summary.clone(),
                link: Some(link.clone()),
                hashtags: vec!["NewEnergy".into(), "广东".into()],
            };
            let out = fit(&parts, &budget);
            let what = format!("{} on {name}", sample.lang);
            assert!(
                fits(&out, &budget),
                "{what}: {} over {}",
                count(&out, &budget),
                budget.max
            );
            assert!(
                out.ends_with(&format!("\n\n{link}")),
                "{what}: link kept whole at the end"
            );
            assert!(
                out.starts_with(&format!("{}\n\n", sample.title)),
                "{what}: title whole"
            );
            assert!(
                !out.contains('#'),
                "{what}: hashtags go before the summary is cut"
            );

            let body = &out[sample.title.len() + 2..out.len() - link.len() - 2];
            let kept = body
                .strip_suffix('…')
                .unwrap_or_else(|| panic!("{what}: no … in {body:?}"));
            let summary = clean(&summary);
            assert!(
                summary.starts_with(kept),
                "{what}: the summary's beginning is kept"
            );
            assert!(
                !kept.ends_with(char::is_whitespace),
                "{what}: whitespace before …"
            );
            let next = summary[kept.len()..].chars().next().unwrap();
            if sample.spaced {
                assert!(
                    !next.is_alphanumeric()
                        && !unicode_normalization::char::is_combining_mark(next),
                    "{what}: cut inside a word, before {next:?}"
                );
            }
            // Nothing much was wasted: one more sentence's worth of text would not have fit.
            let slack = budget.max - count(&out, &budget);
            assert!(
                slack < count(sample.sentence, &budget),
                "{what}: {slack} left unused"
            );
        }
    }
}

#[test]
fn fit_leaves_a_post_that_fits_alone() {
    let parts = Parts {
        title: "Energiewende".into(),
        summary: "Kurz.".into(),
        link: Some("https://news.example.org/de/1".into()),
        hashtags: vec!["Solar".into()],
    };
    assert_eq!(
        fit(&parts, &Budget::X),
        "Energiewende\n\nKurz.\n\n#Solar\nhttps://news.example.org/de/1"
    );
    let no_tags = Parts {
        hashtags: vec![],
        ..parts.clone()
    };
    assert_eq!(
        fit(&no_tags, &Budget::X),
        "Energiewende\n\nKurz.\n\nhttps://news.example.org/de/1"
    );
    let nothing = Parts::default();
    assert_eq!(fit(&nothing, &Budget::X), "");
    let link_only = Parts {
        link: Some(" https://a.example/x ".into()),
        ..Parts::default()
    };
    assert_eq!(fit(&link_only, &Budget::BLUESKY), "https://a.example/x");
}

#[test]
fn fit_drops_hashtags_from_the_end_first() {
    let parts = Parts {
        title: "Titel".into(),
        summary: "Eine kurze Zusammenfassung.".into(),
        link: Some("https://a.example/1".into()),
        hashtags: vec!["Eins".into(), "Zwei".into(), "Drei".into()],
    };
    let full = "Titel\n\nEine kurze Zusammenfassung.\n\n#Eins #Zwei #Drei\nhttps://a.example/1";
    let budget = Budget {
        counter: Counter::Chars,
        max: full.chars().count() - 1,
        max_bytes: None,
        url_len: None,
    };
    assert_eq!(
        fit(&parts, &budget),
        "Titel\n\nEine kurze Zusammenfassung.\n\n#Eins #Zwei\nhttps://a.example/1"
    );
}

#[test]
fn fit_leaves_out_hashtags_that_would_not_read_back() {
    let parts = Parts {
        title: "T".into(),
        hashtags: vec![
            "#Ok".into(),
            "two words".into(),
            "2024".into(),
            "".into(),
            "ok".into(),
            "新能源".into(),
        ],
        ..Parts::default()
    };
    assert_eq!(fit(&parts, &Budget::X), "T\n\n#Ok #新能源");
}

#[test]
fn fit_cuts_the_title_last_and_keeps_the_link() {
    let parts = Parts {
        title: "Die Bundesnetzagentur meldet einen neuen Höchststand bei Solarstrom".into(),
        summary: "Ein langer Text, der nicht mehr hineinpasst.".into(),
        link: Some(url_of_len(60)),
        hashtags: vec![],
    };
    // X: the link costs 23, "\n\n" 2, so 15 are left for the title and its ellipsis (2).
    let budget = Budget {
        max: 40,
        ..Budget::X
    };
    let out = fit(&parts, &budget);
    assert_eq!(out, format!("Die…\n\n{}", url_of_len(60)));
    assert!(fits(&out, &budget));
    // Words are not cut: a first word too long for the room goes whole, in any spaced script.
    for title in [
        "Donaudampfschifffahrtsgesellschaftskapitän",
        "المتجددةالمتجددة",
        "नवीकरणीयनवीकरणीय",
    ] {
        let long_word = Parts {
            title: title.into(),
            ..parts.clone()
        };
        assert_eq!(fit(&long_word, &budget), url_of_len(60), "{title}");
    }
    // Han and Kana are cut anywhere between clusters.
    let han = Parts {
        title: "广东新能源汽车产量创新高".into(),
        ..parts.clone()
    };
    assert_eq!(
        fit(&han, &budget),
        format!("广东新能源汽…\n\n{}", url_of_len(60))
    );
}

#[test]
fn fit_returns_the_link_alone_when_even_it_does_not_fit() {
    let parts = Parts {
        title: "Title".into(),
        summary: "Summary".into(),
        link: Some(url_of_len(100)),
        hashtags: vec!["Tag".into()],
    };
    let budget = Budget {
        max: 20,
        ..Budget::X
    };
    let out = fit(&parts, &budget);
    assert_eq!(out, url_of_len(100));
    assert!(!fits(&out, &budget));
    // On Bluesky the link counts as written: 100 graphemes.
    let budget = Budget {
        max: 99,
        ..Budget::BLUESKY
    };
    assert_eq!(fit(&parts, &budget), url_of_len(100));
    // Just enough for the link: everything else goes.
    let budget = Budget {
        max: 100,
        ..Budget::BLUESKY
    };
    assert_eq!(fit(&parts, &budget), url_of_len(100));
}

#[test]
fn fit_never_cuts_inside_a_url_hashtag_or_mention() {
    // The URL ends in a dash, which is trimmed before an ellipsis, except inside a URL.
    let summary = "Alpha beta https://example.com/a/very/long/path/segment- gamma #Hashtag delta \
                   @someone@example.social epsilon #新能源汽车 zeta";
    let atoms = [
        "https://example.com/a/very/long/path/segment-",
        "#Hashtag",
        "@someone@example.social",
        "#新能源汽车",
    ];
    let parts = Parts {
        title: "T".into(),
        summary: summary.into(),
        link: None,
        hashtags: vec![],
    };
    for counter in [
        Counter::Chars,
        Counter::Graphemes,
        Counter::XWeighted,
        Counter::Weibo,
    ] {
        for max in 0..=summary.chars().count() + 5 {
            let budget = Budget {
                counter,
                max,
                max_bytes: None,
                url_len: None,
            };
            let out = fit(&parts, &budget);
            assert!(fits(&out, &budget), "{counter:?} {max}: {out:?}");
            if out.contains("https://") {
                assert!(
                    out.contains(atoms[0]),
                    "{counter:?} {max}: {out:?} cuts the URL"
                );
            }
            if out.contains("@someone") {
                assert!(
                    out.contains(atoms[2]),
                    "{counter:?} {max}: {out:?} cuts the mention"
                );
            }
            for range in find_hashtags(&out) {
                assert!(
                    atoms.contains(&&out[range.clone()]),
                    "{max}: {:?}",
                    &out[range]
                );
            }
            for range in find_urls(&out) {
                assert_eq!(&out[range], atoms[0]);
            }
        }
    }
}

#[test]
fn fit_sets_an_ellipsis_after_a_url_apart() {
    let parts = Parts {
        title: String::new(),
        summary: "See https://example.com/x and then a much longer tail".into(),
        link: None,
        hashtags: vec![],
    };
    let budget = Budget {
        counter: Counter::Chars,
        max: 28,
        max_bytes: None,
        url_len: None,
    };
    assert_eq!(fit(&parts, &budget), "See https://example.com/x …");
}

#[test]
fn fit_keeps_grapheme_clusters_whole() {
    let title = format!("{FAMILY}क्षत्रिय नमस्ते 🏳️‍🌈 cafe\u{301} 🇳🇵");
    let parts = Parts {
        title: title.clone(),
        summary: String::new(),
        link: None,
        hashtags: vec![],
    };
    let allowed: HashSet<String> = clean(&title)
        .graphemes(true)
        .chain(["…"])
        .map(String::from)
        .collect();
    for counter in [
        Counter::Graphemes,
        Counter::Chars,
        Counter::Utf16,
        Counter::XWeighted,
        Counter::Weibo,
    ] {
        for max in 0..60 {
            let budget = Budget {
                counter,
                max,
                max_bytes: None,
                url_len: None,
            };
            let out = fit(&parts, &budget);
            assert!(fits(&out, &budget));
            for g in out.graphemes(true) {
                assert!(allowed.contains(g), "{counter:?} {max}: {g:?} in {out:?}");
            }
        }
    }
}

#[test]
fn fit_normalises_and_removes_bidi_isolates() {
    let parts = Parts {
        title: "Cafe\u{301} \u{2068}مرحبا\u{2069}".into(),
        summary: "\u{2066}x\u{2069}".into(),
        link: Some("https://a.example/\u{2067}".into()),
        hashtags: vec!["\u{2068}Tag\u{2069}".into()],
    };
    assert_eq!(
        fit(&parts, &Budget::MASTODON),
        "Café مرحبا\n\nx\n\n#Tag\nhttps://a.example/"
    );
}

#[test]
fn fit_charges_weibo_links_and_cuts_chinese_anywhere() {
    let parts = Parts {
        title: "广东新能源汽车产量创新高".into(),
        summary:
            "今年前三季度，广东省新能源汽车产量同比增长百分之三十五，充电基础设施建设同步加快。"
                .repeat(10),
        link: Some("https://news.example.org/zh-hans/2026/10/energy".into()),
        hashtags: vec![],
    };
    let out = fit(&parts, &Budget::WEIBO);
    // 140 - 12 (title) - 1 ("\n\n") - 1 ("\n\n") - 20 (link) = 106 for the summary and "…".
    assert_eq!(count(&out, &Budget::WEIBO), 140, "{out:?}");
    assert!(out.contains("…\n\nhttps://"));
}

// ---------------------------------------------------------------------------------------------
// Properties over generated text in every script we publish.

fn chars_between(lo: char, hi: char, len: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::char::range(lo, hi), len).prop_map(|v| v.into_iter().collect())
}

fn han() -> impl Strategy<Value = String> {
    chars_between('\u{4E00}', '\u{9FA5}', 1..6)
}

fn kana() -> impl Strategy<Value = String> {
    prop_oneof![
        chars_between('\u{3041}', '\u{3096}', 1..6),
        chars_between('\u{30A1}', '\u{30FA}', 1..6).prop_map(|s| format!("{s}ー")),
    ]
}

fn arabic() -> impl Strategy<Value = String> {
    let letter = (
        prop::char::range('\u{0627}', '\u{064A}'),
        prop::option::of(prop::char::range('\u{064B}', '\u{0652}')),
    );
    prop::collection::vec(letter, 1..7).prop_map(|v| {
        v.into_iter()
            .flat_map(|(l, m)| std::iter::once(l).chain(m))
            .collect()
    })
}

fn devanagari() -> impl Strategy<Value = String> {
    let consonant = || prop::char::range('\u{0915}', '\u{0939}');
    let syllable = (
        consonant(),
        prop::option::of(consonant()),
        prop::option::of(prop::char::range('\u{093E}', '\u{094C}')),
    )
        .prop_map(|(c, conjunct, vowel)| {
            let mut s = String::from(c);
            if let Some(k) = conjunct {
                s.push('\u{094D}');
                s.push(k);
            }
            s.extend(vowel);
            s
        });
    prop::collection::vec(syllable, 1..5).prop_map(|v| v.concat())
}

fn latin() -> impl Strategy<Value = String> {
    let letter = prop::sample::select(vec![
        "a", "b", "c", "d", "e", "n", "r", "s", "t", "A", "K", "ä", "ö", "ü", "ß", "é", "ç", "ñ",
        "e\u{301}", "o\u{308}", "ǅ",
    ]);
    prop::collection::vec(letter, 1..10).prop_map(|v| v.concat())
}

fn emoji() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        FAMILY,
        "👨\u{200D}💻",
        "🏳\u{FE0F}\u{200D}🌈",
        "🧑🏾\u{200D}🚀",
        "👍🏽",
        "🇩🇪",
        "🇯🇵",
        "1\u{FE0F}\u{20E3}",
        "❤\u{FE0F}",
        "🎉",
        "😀",
        "©",
    ])
    .prop_map(String::from)
}

fn url() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["https://", "http://", "HTTPS://"]),
        prop::sample::select(vec![
            "example.com",
            "news.example.org",
            "zh.wikipedia.org",
            "a.b.example",
        ]),
        prop::collection::vec("[a-z0-9_-]{1,12}", 0..4),
        prop::option::of("[a-z]{1,5}=[a-z0-9]{1,8}"),
        prop::option::of(prop::sample::select(vec![
            "(x)",
            "#frag",
            "新能源",
            "%E6%96%B0",
            "ﬁ",
        ])),
    )
        .prop_map(|(scheme, host, path, query, tail)| {
            let mut u = format!("{scheme}{host}");
            for seg in path {
                u.push('/');
                u.push_str(&seg);
            }
            if let Some(q) = query {
                u.push('?');
                u.push_str(&q);
            }
            u.extend(tail.map(|t| format!("/{t}")));
            u
        })
}

fn tag_word() -> impl Strategy<Value = String> {
    prop_oneof![latin(), han(), devanagari(), arabic(), kana()]
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => han(),
        2 => kana(),
        2 => arabic(),
        2 => devanagari(),
        3 => latin(),
        1 => emoji(),
        1 => url(),
        1 => tag_word().prop_map(|w| format!("#{w}")),
        1 => "[a-z]{1,8}(@example\\.social)?".prop_map(|m| format!("@{m}")),
    ]
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ", " ", " ", " ", "", "", "\n", ", ", "。", "、", "، ", "। ", ". ", " — ", "(", ") ",
        "\u{2068}", "\u{2069}", "\u{A0}",
    ])
}

fn text(tokens: usize) -> impl Strategy<Value = String> {
    prop::collection::vec((token(), separator()), 0..tokens)
        .prop_map(|v| v.into_iter().map(|(t, s)| t + s).collect())
}

fn parts() -> impl Strategy<Value = Parts> {
    let tag = prop_oneof![
        4 => tag_word(),
        1 => text(3).prop_map(|t| hashtag(&t)),
        1 => text(2),
    ];
    (
        text(12),
        text(90),
        prop::option::of(url()),
        prop::collection::vec(tag, 0..5),
    )
        .prop_map(|(title, summary, link, hashtags)| Parts {
            title,
            summary,
            link,
            hashtags,
        })
}

fn budget() -> impl Strategy<Value = Budget> {
    (
        prop::sample::select(vec![
            Counter::Graphemes,
            Counter::XWeighted,
            Counter::Chars,
            Counter::Utf16,
            Counter::Weibo,
        ]),
        0..400usize,
        prop::option::of(0..1200usize),
        prop::option::of(0..30usize),
    )
        .prop_map(|(counter, max, max_bytes, url_len)| Budget {
            counter,
            max,
            max_bytes,
            url_len,
        })
}

/// Everything `fit` promises, for one post and one budget.
fn check_fit(parts: &Parts, budget: &Budget) -> Result<(), TestCaseError> {
    let out = fit(parts, budget);
    let link = parts.link.as_deref().map(clean).unwrap_or_default();
    if fits(&link, budget) {
        prop_assert!(
            fits(&out, budget),
            "{} over {}: {:?}",
            count(&out, budget),
            budget.max,
            out
        );
    } else {
        prop_assert_eq!(&out, &link);
    }
    prop_assert!(out.ends_with(&link), "link not kept at the end: {:?}", out);

    let tags: Vec<String> = parts
        .hashtags
        .iter()
        .map(|t| format!("#{}", clean(t).trim_start_matches(['#', '＃']).trim()))
        .collect();
    let pieces: Vec<String> = [clean(&parts.title), clean(&parts.summary), link.clone()]
        .into_iter()
        .chain(tags)
        .collect();

    let mut graphemes: HashSet<&str> = pieces.iter().flat_map(|p| p.graphemes(true)).collect();
    graphemes.extend(["…", "\n", " "]);
    for g in out.graphemes(true) {
        prop_assert!(
            graphemes.contains(g),
            "grapheme {:?} not in the input: {:?}",
            g,
            out
        );
    }

    let urls: HashSet<&str> = pieces
        .iter()
        .flat_map(|p| find_urls(p).into_iter().map(move |r| &p[r]))
        .collect();
    for r in find_urls(&out) {
        prop_assert!(
            urls.contains(&out[r.clone()]),
            "URL {:?} not whole in the input",
            &out[r]
        );
    }
    let hashtags: HashSet<&str> = pieces
        .iter()
        .flat_map(|p| find_hashtags(p).into_iter().map(move |r| &p[r]))
        .collect();
    for r in find_hashtags(&out) {
        prop_assert!(
            hashtags.contains(&out[r.clone()]),
            "hashtag {:?} not whole in the input",
            &out[r]
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn fit_keeps_its_promises_for_every_named_budget(parts in parts()) {
        for (_, budget) in NAMED {
            check_fit(&parts, &budget)?;
        }
    }

    #[test]
    fn fit_keeps_its_promises_for_any_budget(parts in parts(), budget in budget()) {
        check_fit(&parts, &budget)?;
    }

}
