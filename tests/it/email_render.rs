//! Digest and confirmation mails: a snapshot per locale, reviewed like code, and the
//! properties readers rely on: direction and language marks, CLDR plurals, escaping,
//! dates and numbers really formatted for the locale, no bidi isolation marks, and
//! complete catalogues.

use bridgecast::email::render::{confirmation, digest, format_date, format_number};
use bridgecast::email::{DigestInput, DigestItem, Rendered};
use bridgecast::i18n::{Arg, I18n};
use bridgecast::locale::{LOCALES, autonym};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeSet;

const SITE: &str = "https://news.example.org";

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, d, h, m, 0).unwrap()
}

/// A headline in the digest's own language, so item 1 is a native translation.
fn native_title(locale: &str) -> (&'static str, &'static str) {
    match locale {
        "zh-Hans" => (
            "广东与昆士兰签署青年交流新协议",
            "双方将在 2027 年前互派 200 名学生。",
        ),
        "zh-Hant" => (
            "廣東與昆士蘭簽署青年交流新協議",
            "雙方將在 2027 年前互派 200 名學生。",
        ),
        "de" => (
            "Guangdong und Queensland vereinbaren neuen Jugendaustausch",
            "Bis 2027 sollen 200 Studierende in beide Richtungen reisen.",
        ),
        "ja" => (
            "広東省とクイーンズランド州、青少年交流で新協定",
            "2027年までに双方から200人の学生を派遣します。",
        ),
        "ms" => (
            "Guangdong dan Queensland menandatangani perjanjian pertukaran belia baharu",
            "Sebanyak 200 pelajar akan bertukar tempat menjelang 2027.",
        ),
        "ne" => (
            "ग्वाङ्दोङ र क्वीन्सल्यान्डबीच नयाँ युवा आदानप्रदान सम्झौता",
            "सन् २०२७ सम्म दुवैतर्फबाट २०० विद्यार्थी आदानप्रदान हुनेछन्।",
        ),
        "es" => (
            "Cantón y Queensland firman un nuevo acuerdo de intercambio juvenil",
            "Hasta 2027 se intercambiarán 200 estudiantes.",
        ),
        "ar" => (
            "قوانغدونغ وكوينزلاند توقعان اتفاقية جديدة للتبادل الشبابي",
            "سيتبادل الطرفان 200 طالب حتى عام 2027.",
        ),
        _ => (
            "Guangdong and Queensland sign a new youth exchange agreement",
            "200 students will travel in each direction by 2027.",
        ),
    }
}

/// The same three articles for every locale: a native translation, a fallback in
/// another language (English, or Simplified Chinese for the English digest), and a
/// correction whose title holds characters HTML must escape.
fn items(locale: &str) -> Vec<DigestItem> {
    let (title, summary) = native_title(locale);
    let fallback_lang = if locale == "en" { "zh-Hans" } else { "en" };
    let (fb_title, fb_summary) = native_title(fallback_lang);
    vec![
        DigestItem {
            article_id: "tag:news.example.org,2026:youth-exchange".into(),
            title: title.into(),
            summary: summary.into(),
            url: format!("{SITE}/{locale}/news/youth-exchange/"),
            lang: locale.into(),
            published_at: at(11, 6, 30),
            corrected: false,
            alternates: ["ja", "ar", "en"]
                .into_iter()
                .filter(|t| *t != locale)
                .map(|t| (t.to_owned(), format!("{SITE}/{t}/news/youth-exchange/")))
                .collect(),
            channel_title_msg: "channel-news-title".into(),
        },
        DigestItem {
            article_id: "tag:news.example.org,2026:brisbane-2032".into(),
            title: fb_title.into(),
            summary: fb_summary.into(),
            url: format!("{SITE}/{fallback_lang}/news/brisbane-2032/"),
            lang: fallback_lang.into(),
            published_at: at(11, 23, 15),
            corrected: false,
            alternates: vec![],
            channel_title_msg: "channel-news-title".into(),
        },
        DigestItem {
            article_id: "tag:news.example.org,2026:robotics".into(),
            title: "Robotics R&D: \"Shenzhen <-> Osaka\" 2026".into(),
            summary: "Line one & <b>not bold</b>.\nLine two.".into(),
            url: format!("{SITE}/{locale}/science-tech/robotics/?a=1&b=2"),
            lang: locale.into(),
            published_at: at(12, 2, 0),
            corrected: true,
            alternates: vec![("de".into(), format!("{SITE}/de/science-tech/robotics/"))],
            channel_title_msg: "channel-science-tech-title".into(),
        },
    ]
}

fn time_zone(locale: &str) -> &'static str {
    match locale {
        "zh-Hans" => "Asia/Shanghai",
        "zh-Hant" => "Asia/Taipei",
        "de" => "Europe/Berlin",
        "ja" => "Asia/Tokyo",
        "ms" => "Asia/Kuala_Lumpur",
        "ne" => "Asia/Kathmandu",
        "es" => "Europe/Madrid",
        "ar" => "Asia/Dubai",
        _ => "Europe/London",
    }
}

fn input(locale: &str) -> DigestInput {
    // Two locales write to an organisation's contact, the others to a subscriber.
    let organisation = match locale {
        "ja" => Some("神奈川県国際交流協会".to_owned()),
        "de" => Some("Partnerschaftsverein Bayern–Guangdong".to_owned()),
        _ => None,
    };
    DigestInput {
        locale: locale.into(),
        recipient_name: Some("Amina Tan".into()),
        organisation,
        items: items(locale),
        frequency: "daily".into(),
        period_end: at(12, 6, 0),
        time_zone: time_zone(locale).into(),
        preferences_url: format!("{SITE}/{locale}/preferences?t=abc"),
        unsubscribe_url: format!("{SITE}/{locale}/unsubscribe?t=abc"),
        site_url: format!("{SITE}/{locale}/"),
    }
}

fn review(r: &Rendered) -> String {
    format!(
        "Subject: {}\n\n===== text =====\n{}\n===== html =====\n{}",
        r.subject, r.text, r.html
    )
}

#[test]
fn digest_in_every_locale() {
    let i18n = I18n::new();
    for l in LOCALES {
        let r = digest(&i18n, &input(l.tag));
        assert_eq!(r.locale, l.tag);
        let name = format!("digest_{}", l.tag.replace('-', "_").to_lowercase());
        insta::assert_snapshot!(name, review(&r));
    }
}

#[test]
fn confirmation_in_en_and_ar() {
    let i18n = I18n::new();
    for tag in ["en", "ar"] {
        let r = confirmation(
            &i18n,
            tag,
            &format!("{SITE}/{tag}/confirm?t=tok&x=1"),
            &format!("{SITE}/{tag}/"),
            48,
        );
        insta::assert_snapshot!(format!("confirmation_{tag}"), review(&r));
    }
}

#[test]
fn arabic_is_right_to_left_and_items_carry_their_real_language() {
    let i18n = I18n::new();
    let ar = digest(&i18n, &input("ar"));
    assert!(
        ar.html.contains("<html lang=\"ar\" dir=\"rtl\">"),
        "{}",
        ar.html
    );
    assert!(
        ar.html
            .contains("lang=\"ar\" dir=\"rtl\" style=\"width:100%;max-width:600px;")
    );
    assert!(ar.html.contains("text-align:right;"));
    // The English fallback's title and summary say they are English, left to right.
    let fb_title = native_title("en").0;
    let h2 = ar
        .html
        .lines()
        .find(|l| l.contains(fb_title))
        .expect("fallback title");
    assert!(h2.starts_with("<h2 lang=\"en\" dir=\"ltr\""), "{h2}");
    let summary = ar
        .html
        .lines()
        .find(|l| l.contains(native_title("en").1))
        .expect("fallback summary");
    assert!(
        summary.starts_with("<p lang=\"en\" dir=\"ltr\""),
        "{summary}"
    );
    // Native items carry no extra lang (they inherit ar).
    let native = ar
        .html
        .lines()
        .find(|l| l.contains(native_title("ar").0))
        .unwrap();
    assert!(native.starts_with("<h2 style="), "{native}");
    // The note names the language by its autonym.
    let note = i18n.msg(
        "ar",
        "email-item-fallback",
        &[("language", Arg::Str("English"))],
    );
    assert!(ar.text.contains(&note) && ar.html.contains(&note));
    // Other translations are linked by autonym with their own lang and dir.
    assert!(
        ar.html.contains(
            "hreflang=\"ja\" lang=\"ja\" dir=\"ltr\" style=\"color:#0b57d0;\">日本語</a>"
        )
    );

    let en = digest(&i18n, &input("en"));
    assert!(en.html.contains("<html lang=\"en\" dir=\"ltr\">"));
    assert!(en.html.contains("<h2 lang=\"zh-Hans\" dir=\"ltr\""));
    assert!(en.text.contains("Available in 简体中文."), "{}", en.text);
    assert!(en.text.contains("Corrected"));
}

#[test]
fn arabic_subject_and_expiry_use_all_six_plural_forms() {
    let i18n = I18n::new();
    let counts = [0usize, 1, 2, 3, 11, 100];
    let subjects: Vec<String> = counts
        .iter()
        .map(|n| {
            let mut inp = input("ar");
            let one = inp.items[0].clone();
            inp.items = vec![one; *n];
            digest(&i18n, &inp).subject
        })
        .collect();
    // zero, one, two, few (3), many (11), other (100): six different phrasings.
    let distinct: BTreeSet<_> = subjects.iter().collect();
    assert_eq!(distinct.len(), 6, "{subjects:?}");
    assert!(subjects[0].contains("لا توجد مقالات"), "{}", subjects[0]);
    assert!(subjects[1].contains("مقال جديد واحد"), "{}", subjects[1]);
    assert!(subjects[2].contains("مقالان"), "{}", subjects[2]);
    assert!(subjects[3].contains("مقالات جديدة"), "{}", subjects[3]);
    assert!(subjects[4].contains("مقالًا جديدًا"), "{}", subjects[4]);
    assert!(subjects[5].contains("مقال جديد") && !subjects[5].contains("واحد"));
    // The words change with the category, not only the number.
    let words: BTreeSet<String> = subjects
        .iter()
        .map(|s| s.chars().filter(|c| !c.is_numeric()).collect())
        .collect();
    assert!(words.len() >= 5, "{words:?}");

    let expiries: BTreeSet<String> = counts
        .iter()
        .map(|n| confirmation(&i18n, "ar", "https://x.example/c", SITE, *n as u64).text)
        .collect();
    assert_eq!(expiries.len(), 6);

    // English has one and other; Japanese and Chinese only other.
    let subject = |l: &str, n: usize| {
        let mut inp = input(l);
        let one = inp.items[0].clone();
        inp.items = vec![one; n];
        digest(&i18n, &inp).subject
    };
    assert_eq!(subject("en", 1), "Daily digest: one new article");
    assert_eq!(subject("en", 2), "Daily digest: 2 new articles");
    assert_eq!(subject("ja", 1), "デイリーダイジェスト：新着記事 1 件");
    assert_eq!(subject("zh-Hans", 1), "每日摘要：1 篇新文章");
    assert_eq!(
        subject("de", 1200),
        "Tägliche Übersicht: 1.200 neue Artikel"
    );
}

#[test]
fn no_bidi_isolation_marks_even_from_arguments() {
    let i18n = I18n::new();
    for l in LOCALES {
        let mut inp = input(l.tag);
        inp.recipient_name = Some("\u{2068}Amina\u{2069}".into());
        inp.organisation = Some("\u{2067}Org\u{2069}".into());
        inp.items[0].title = format!("\u{2068}{}\u{2069}", inp.items[0].title);
        let d = digest(&i18n, &inp);
        let c = confirmation(&i18n, l.tag, "https://x.example/c", SITE, 24);
        for s in [&d.subject, &d.text, &d.html, &c.subject, &c.text, &c.html] {
            assert!(
                !s.contains(['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']),
                "{}: {s}",
                l.tag
            );
        }
    }
}

#[test]
fn titles_summaries_and_urls_are_escaped_in_html_and_plain_in_text() {
    let i18n = I18n::new();
    let mut inp = input("en");
    inp.items[0].title = "<script>alert(\"x\")</script> & co".into();
    inp.items[0].url = "https://news.example.org/a?\"onmouseover=\"x".into();
    let r = digest(&i18n, &inp);
    assert!(!r.html.contains("<script>"));
    assert!(
        r.html
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co")
    );
    assert!(
        r.html
            .contains("href=\"https://news.example.org/a?&quot;onmouseover=&quot;x\"")
    );
    assert!(
        r.html
            .contains("Line one &amp; &lt;b&gt;not bold&lt;/b&gt;.<br>\nLine two.")
    );
    assert!(
        r.html
            .contains("Robotics R&amp;D: &quot;Shenzhen &lt;-&gt; Osaka&quot; 2026")
    );
    assert!(r.html.contains("robotics/?a=1&amp;b=2"));
    // The text part is plain text: the title as written, and no markup of ours.
    assert!(r.text.contains("<script>alert(\"x\")</script> & co"));
    assert!(!r.text.contains("<a ") && !r.text.contains("href=") && !r.text.contains("<p"));
    // Every URL stands on its own line.
    for url in inp
        .items
        .iter()
        .flat_map(|i| std::iter::once(&i.url).chain(i.alternates.iter().map(|(_, u)| u)))
        .chain([&inp.preferences_url, &inp.unsubscribe_url, &inp.site_url])
    {
        assert!(
            r.text.lines().any(|l| l.trim() == url),
            "{url} not on its own line"
        );
    }
}

#[test]
fn greetings_name_the_recipient_and_their_organisation() {
    let i18n = I18n::new();
    let mut inp = input("en");
    let greeting = |inp: &DigestInput| digest(&i18n, inp).text.lines().next().unwrap().to_owned();
    assert_eq!(greeting(&inp), "Dear Amina Tan,");
    inp.organisation = Some("Brisbane City Council".into());
    assert_eq!(greeting(&inp), "Dear Amina Tan (Brisbane City Council),");
    let r = digest(&i18n, &inp);
    assert!(
        r.text
            .contains("you are the contact for Brisbane City Council")
    );
    inp.recipient_name = None;
    assert_eq!(greeting(&inp), "Dear friends at Brisbane City Council,");
    inp.organisation = None;
    assert_eq!(greeting(&inp), "Hello,");
    let r = digest(&i18n, &inp);
    assert!(
        r.text
            .contains("you subscribed to news from news.example.org")
    );
}

#[test]
fn dates_and_numbers_are_formatted_for_the_locale() {
    let t = at(12, 6, 30);
    let en = format_date("en", "Europe/London", t);
    let de = format_date("de", "Europe/London", t);
    let ja = format_date("ja", "Europe/London", t);
    let ar = format_date("ar", "Europe/London", t);
    let distinct: BTreeSet<_> = [&en, &de, &ja, &ar].into_iter().collect();
    assert_eq!(distinct.len(), 4, "{en} | {de} | {ja} | {ar}");
    assert!(en.contains("September 12, 2026"), "{en}");
    assert!(de.contains("12. September 2026"), "{de}");
    assert!(ja.contains("2026年9月12日"), "{ja}");
    assert!(ar.contains("سبتمبر"), "{ar}");
    // The recipient's time zone, with daylight saving time: 06:30 UTC is 07:30 in
    // London in September, 15:30 in Tokyo; an unknown zone means UTC.
    assert!(en.contains("7:30"), "{en}");
    assert!(format_date("ja", "Asia/Tokyo", t).contains("15:30"));
    assert_eq!(
        format_date("en", "Mars/Olympus_Mons", t),
        format_date("en", "UTC", t)
    );
    assert!(format_date("en", "UTC", t).contains("6:30"));
    // Kathmandu is UTC+05:45, so the day can change.
    assert!(format_date("en", "Asia/Kathmandu", at(12, 20, 0)).contains("September 13"));

    assert_eq!(format_number("en", 1234567), "1,234,567");
    assert_eq!(format_number("de", 1234567), "1.234.567");
    assert_eq!(format_number("ne", 1234), "१,२३४");
    assert_eq!(format_number("zz-unknown", 42), "42");
}

/// The `id = ` lines of a catalogue file.
fn ids(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split_once(" =").map(|(k, _)| k))
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_owned)
        .collect()
}

fn email_ftl(tag: &str) -> String {
    let path = format!("{}/locales/{tag}/email.ftl", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_email_catalogue_has_every_message_of_zh_hans() {
    let i18n = I18n::new();
    let source = ids(&email_ftl("zh-Hans"));
    assert!(source.len() >= 25, "{source:?}");
    for l in LOCALES {
        let text = email_ftl(l.tag);
        let these = ids(&text);
        let missing: Vec<_> = source.difference(&these).collect();
        let extra: Vec<_> = these.difference(&source).collect();
        assert!(missing.is_empty(), "{} email.ftl lacks {missing:?}", l.tag);
        assert!(extra.is_empty(), "{} email.ftl has extra {extra:?}", l.tag);
        for id in &source {
            let args = [
                ("count", Arg::Num(2)),
                ("number", Arg::Str("2")),
                ("date", Arg::Str("2026-09-12")),
                ("digest", Arg::Str("d")),
                ("name", Arg::Str("n")),
                ("organisation", Arg::Str("o")),
                ("site", Arg::Str("s")),
                ("language", Arg::Str(autonym("en"))),
            ];
            assert!(
                i18n.try_msg(l.tag, id, &args).is_some(),
                "{} {id} does not format in its own catalogue",
                l.tag
            );
        }
    }
    // Every Arabic plural selector spells out all six CLDR categories.
    let ar = email_ftl("ar");
    let selectors = ar.matches("->").count();
    assert!(selectors >= 3);
    for category in ["[zero]", "[one]", "[two]", "[few]", "[many]", "*[other]"] {
        assert_eq!(ar.matches(category).count(), selectors, "{category}");
    }
}
