//! A digest or a subscription confirmation in one locale: subject, HTML and plain text.
//!
//! Words come from `locales/<locale>/email.ftl` through [`I18n`]. Dates and numbers are
//! formatted here with ICU4X (always the Gregorian calendar, in the recipient's time
//! zone) and handed to fluent as strings, with the raw number beside them so fluent
//! can still pick the CLDR plural form: `$count` selects, `$number` is shown.
//!
//! The HTML is a complete document built around one centred table, at most 600px
//! wide, with inline styles only: webmail, Outlook and phone clients drop `<style>`
//! blocks and external CSS in different ways, and none of them run scripts. `lang` and
//! `dir` are set on `<html>` and again on the table, because some webmail clients strip
//! the `<html>` element, and on every piece of text whose language differs from the
//! digest's (a fallback article, the names of other translations). Everything that
//! goes into the HTML is escaped: titles and summaries are plain text and may contain
//! `<`, `&` and quotes.
//!
//! No bidi isolation marks (U+2066–U+2069) reach the output. Fluent's are switched off
//! in [`I18n`]; marks that arrive inside data (a title, a name) are removed as well,
//! since subjects and plain text are not rendered with bidi isolation in mind and the
//! HTML carries `dir` instead.

use super::{DigestInput, DigestItem, Rendered};
use crate::i18n::{Arg, I18n};
use crate::locale;
use crate::markdown::escape_html as e;
use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use icu_calendar::Gregorian;
use icu_datetime::FixedCalendarDateTimeFormatter;
use icu_datetime::fieldsets::YMD;
use icu_datetime::input::{Date, Time};
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale_core::Locale;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{Hash as _, Hasher as _};
use std::rc::Rc;

const FONT: &str = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',\
'Noto Sans CJK SC','Noto Sans Arabic','Noto Sans Devanagari',Arial,sans-serif;";
const LINK: &str = "color:#0b57d0;";
const MUTED: &str = "color:#5f6368;";
const RULE: &str = "border-top:1px solid #e3e3e3;";

/// A date and time, e.g. "September 12, 2026 at 4:30 PM" in `en` or
/// "12. September 2026 um 16:30" in `de`, in the Gregorian calendar and in the time
/// zone `tz` (an IANA name; an unknown one means UTC).
pub fn format_date(locale: &str, tz: &str, at: DateTime<Utc>) -> String {
    let tz: Tz = tz.parse().unwrap_or(Tz::UTC);
    let local = at.with_timezone(&tz).naive_local();
    icu_date(locale, &local).unwrap_or_else(|| local.format("%Y-%m-%d %H:%M").to_string())
}

fn icu_date(locale: &str, local: &chrono::NaiveDateTime) -> Option<String> {
    let date = Date::try_new_gregorian(
        local.year(),
        u8::try_from(local.month()).ok()?,
        u8::try_from(local.day()).ok()?,
    )
    .ok()?;
    let time = Time::try_new(
        u8::try_from(local.hour()).ok()?,
        u8::try_from(local.minute()).ok()?,
        0,
        0,
    )
    .ok()?;
    // A fixed Gregorian formatter: locales whose default calendar is another one (fa,
    // th) would otherwise get dates the rest of the system does not use. Built once
    // per locale and thread: a large send formats hundreds of thousands of dates.
    type Formatter = FixedCalendarDateTimeFormatter<Gregorian, icu_datetime::fieldsets::YMDT>;
    thread_local! {
        static FORMATTERS: std::cell::RefCell<std::collections::HashMap<String, Option<std::rc::Rc<Formatter>>>> =
            std::cell::RefCell::default();
    }
    let formatter = FORMATTERS.with(|f| {
        f.borrow_mut()
            .entry(locale.to_owned())
            .or_insert_with(|| {
                FixedCalendarDateTimeFormatter::<Gregorian, _>::try_new(
                    icu_locale(locale).into(),
                    YMD::long().with_time_hm(),
                )
                .ok()
                .map(std::rc::Rc::new)
            })
            .clone()
    })?;
    Some(
        formatter
            .format(&icu_datetime::input::DateTime { date, time })
            .to_string(),
    )
}

/// An integer with the locale's digits and grouping ("1,234", "1.234", "१,२३४").
pub fn format_number(locale: &str, n: i64) -> String {
    DecimalFormatter::try_new(icu_locale(locale).into(), Default::default())
        .map(|f| f.format(&Decimal::from(n)).to_string())
        .unwrap_or_else(|_| n.to_string())
}

fn icu_locale(tag: &str) -> Locale {
    Locale::try_from_str(tag).unwrap_or(Locale::UNKNOWN)
}

/// Removes the bidi isolates LRI, RLI, FSI and PDI (U+2066–U+2069). Text without
/// one (nearly all of it) is returned as it is, without a copy.
fn strip_isolates(s: String) -> String {
    // In UTF-8 the four are E2 81 A6 to E2 81 A9.
    let has_isolate = memchr::memmem::find_iter(s.as_bytes(), b"\xE2\x81")
        .any(|i| matches!(s.as_bytes().get(i + 2), Some(0xA6..=0xA9)));
    if !has_isolate {
        return s;
    }
    s.chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
        .collect()
}

/// The host of a site URL, which is how the mails name the site.
fn site_name(site_url: &str) -> String {
    url::Url::parse(site_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| site_url.to_owned())
}

/// `left` or `right`: the start side for `text-align`, which older clients need
/// spelled out (they ignore `start`).
fn start_side(tag: &str) -> &'static str {
    if locale::dir(tag) == "rtl" {
        "right"
    } else {
        "left"
    }
}

/// Plain text as HTML: escaped, line breaks kept.
fn e_lines(s: &str) -> String {
    e(s.trim()).replace('\n', "<br>\n")
}

/// `lang` and `dir` attributes (with a leading space) when `tag` is not the
/// surrounding language, else nothing.
fn lang_attrs(tag: &str, around: &str) -> String {
    if tag == around {
        String::new()
    } else {
        format!(" lang=\"{}\" dir=\"{}\"", e(tag), locale::dir(tag))
    }
}

/// The document around the rows: `<html lang dir>`, the viewport, one centred table.
fn html_document(locale: &str, subject: &str, rows: &str) -> String {
    let l = e(locale);
    let dir = locale::dir(locale);
    format!(
        "<!DOCTYPE html>\n<html lang=\"{l}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"x-apple-disable-message-reformatting\">\n<title>{t}</title>\n</head>\n\
         <body style=\"margin:0;padding:0;background-color:#f2f2f2;\">\n\
         <table role=\"presentation\" align=\"center\" width=\"600\" cellpadding=\"0\" cellspacing=\"0\" \
         border=\"0\" lang=\"{l}\" dir=\"{dir}\" style=\"width:100%;max-width:600px;margin:0 auto;\
         background-color:#ffffff;border-collapse:collapse;{FONT}font-size:16px;line-height:1.5;\
         color:#1b1b1b;text-align:{side};\">\n{rows}</table>\n</body>\n</html>\n",
        t = e(subject),
        side = start_side(locale),
    )
}

/// The digest for one recipient: a greeting, one block per article, and a footer
/// that says why they receive it and links to their preferences and to unsubscribing.
pub fn digest(i18n: &I18n, input: &DigestInput) -> Rendered {
    let l = input.locale.as_str();
    let msg = |id: &str, args: &[(&str, Arg<'_>)]| i18n.msg(l, id, args);

    let count = i64::try_from(input.items.len()).unwrap_or(i64::MAX);
    let number = format_number(l, count);
    let digest_name = msg(
        match input.frequency.as_str() {
            "daily" => "email-digest-daily",
            "weekly" => "email-digest-weekly",
            _ => "email-digest-instant",
        },
        &[],
    );
    let counted = |id: &str, extra: &[(&str, Arg<'_>)]| {
        let mut args = vec![("count", Arg::Num(count)), ("number", Arg::Str(&number))];
        args.extend_from_slice(extra);
        msg(id, &args)
    };
    let subject = counted(
        "email-digest-subject",
        &[("digest", Arg::Str(&digest_name))],
    );
    let as_of = format_date(l, &input.time_zone, input.period_end);
    let intro = counted("email-digest-intro", &[("date", Arg::Str(&as_of))]);
    let greeting = greeting(
        i18n,
        l,
        input.recipient_name.as_deref(),
        input.organisation.as_deref(),
    );
    let why = match input
        .organisation
        .as_deref()
        .filter(|o| !o.trim().is_empty())
    {
        Some(org) => msg(
            "email-footer-why-contact",
            &[("organisation", Arg::Str(org.trim()))],
        ),
        None => msg(
            "email-footer-why-subscriber",
            &[("site", Arg::Str(&site_name(&input.site_url)))],
        ),
    };
    let footer_links = [
        (msg("email-footer-preferences", &[]), &input.preferences_url),
        (msg("email-footer-unsubscribe", &[]), &input.unsubscribe_url),
        (msg("email-footer-site", &[]), &input.site_url),
    ];

    let mut rows = String::with_capacity(4096 + input.items.len() * 1024);
    let _ = write!(
        rows,
        "<tr><td style=\"padding:24px 24px 16px;\">\n\
         <h1 style=\"margin:0 0 16px;font-size:22px;line-height:1.3;\">{}</h1>\n\
         <p style=\"margin:0 0 8px;\">{}</p>\n<p style=\"margin:0;\">{}</p>\n</td></tr>\n",
        e(&digest_name),
        e(&greeting),
        e(&intro)
    );
    let mut text = format!("{greeting}\n\n{intro}\n");
    for item in &input.items {
        let parts = item_parts(i18n, input, item);
        rows.push_str(&parts.0);
        text.push_str("\n----------------------------------------\n\n");
        text.push_str(&parts.1);
    }

    let _ = write!(
        rows,
        "<tr><td style=\"padding:20px 24px 24px;{RULE}font-size:13px;line-height:1.5;{MUTED}\">\n\
         <p style=\"margin:0 0 8px;\">{}</p>\n<p style=\"margin:0;\">",
        e(&why)
    );
    for (i, (label, url)) in footer_links.iter().enumerate() {
        if i > 0 {
            rows.push_str(" · ");
        }
        let _ = write!(
            rows,
            "<a href=\"{}\" style=\"{LINK}\">{}</a>",
            e(url),
            e(label)
        );
    }
    rows.push_str("</p>\n</td></tr>\n");
    text.push_str("\n----------------------------------------\n\n");
    text.push_str(&why);
    text.push('\n');
    for (label, url) in &footer_links {
        let _ = write!(text, "\n{label}\n{url}\n");
    }

    Rendered {
        locale: input.locale.clone(),
        html: strip_isolates(html_document(l, &subject, &rows)),
        subject: strip_isolates(subject),
        text: strip_isolates(text),
    }
}

fn greeting(i18n: &I18n, l: &str, name: Option<&str>, org: Option<&str>) -> String {
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    let org = org.map(str::trim).filter(|s| !s.is_empty());
    match (name, org) {
        (Some(n), Some(o)) => i18n.msg(
            l,
            "email-greeting-contact",
            &[("name", Arg::Str(n)), ("organisation", Arg::Str(o))],
        ),
        (Some(n), None) => i18n.msg(l, "email-greeting-name", &[("name", Arg::Str(n))]),
        (None, Some(o)) => i18n.msg(
            l,
            "email-greeting-organisation",
            &[("organisation", Arg::Str(o))],
        ),
        (None, None) => i18n.msg(l, "email-greeting", &[]),
    }
}

/// The HTML row and the plain-text block of one article in a digest. They depend on
/// nothing but the digest's locale and time zone and the item (the catalogues are
/// compiled in), and a large send shows the same few articles to thousands of
/// recipients, so each thread keeps the ones it rendered last.
fn item_parts(i18n: &I18n, input: &DigestInput, item: &DigestItem) -> Rc<(String, String)> {
    type Key = (String, String, DigestItem);
    type Parts = Rc<(String, String)>;
    thread_local! {
        /// By the hash of the key; a different key with the same hash replaces it.
        static RENDERED: RefCell<HashMap<u64, (Key, Parts)>> = RefCell::default();
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&input.locale, &input.time_zone, item).hash(&mut h);
    let hash = h.finish();
    let hit = RENDERED.with(|r| {
        r.borrow()
            .get(&hash)
            .filter(|((l, tz, i), _)| *l == input.locale && *tz == input.time_zone && i == item)
            .map(|(_, parts)| parts.clone())
    });
    if let Some(parts) = hit {
        return parts;
    }
    let block = ItemBlock::new(i18n, input, item);
    let mut html = String::with_capacity(1024);
    block.html(&input.locale, &mut html);
    let mut text = String::with_capacity(512);
    block.text(&mut text);
    let parts = Rc::new((html, text));
    RENDERED.with(|r| {
        let mut r = r.borrow_mut();
        if r.len() >= 2048 {
            r.clear();
        }
        let key = (input.locale.clone(), input.time_zone.clone(), item.clone());
        r.insert(hash, (key, parts.clone()));
    });
    parts
}

/// One article of a digest, with its texts already localised.
struct ItemBlock<'a> {
    item: &'a DigestItem,
    /// Channel and date, in the digest's locale.
    meta: String,
    corrected: Option<String>,
    /// "Not translated yet. Available in English." for a fallback.
    fallback: Option<String>,
    translations: String,
}

impl<'a> ItemBlock<'a> {
    fn new(i18n: &I18n, input: &DigestInput, item: &'a DigestItem) -> Self {
        let l = input.locale.as_str();
        let channel = i18n.msg(l, &item.channel_title_msg, &[]);
        let date = format_date(l, &input.time_zone, item.published_at);
        Self {
            item,
            meta: format!("{channel} · {date}"),
            corrected: item
                .corrected
                .then(|| i18n.msg(l, "email-item-corrected", &[])),
            fallback: (item.lang != input.locale).then(|| {
                i18n.msg(
                    l,
                    "email-item-fallback",
                    &[("language", Arg::Str(locale::autonym(&item.lang)))],
                )
            }),
            translations: i18n.msg(l, "email-item-translations", &[]),
        }
    }

    fn html(&self, l: &str, out: &mut String) {
        let item = self.item;
        let attrs = lang_attrs(&item.lang, l);
        let _ = write!(
            out,
            "<tr><td style=\"padding:20px 24px;{RULE}\">\n\
             <h2{attrs} style=\"text-align:{side};margin:0 0 4px;font-size:19px;line-height:1.35;\">\
             <a href=\"{url}\" style=\"{LINK}text-decoration:none;\">{title}</a></h2>\n\
             <p style=\"margin:0 0 8px;font-size:13px;{MUTED}\">{meta}",
            side = start_side(&item.lang),
            url = e(&item.url),
            title = e(item.title.trim()),
            meta = e(&self.meta),
        );
        if let Some(c) = &self.corrected {
            let _ = write!(out, " · <strong style=\"color:#b3261e;\">{}</strong>", e(c));
        }
        out.push_str("</p>\n");
        if let Some(f) = &self.fallback {
            let _ = writeln!(
                out,
                "<p style=\"margin:0 0 8px;font-size:14px;font-style:italic;{MUTED}\">{}</p>",
                e(f)
            );
        }
        let _ = writeln!(
            out,
            "<p{attrs} style=\"text-align:{};margin:0 0 8px;\">{}</p>",
            start_side(&item.lang),
            e_lines(&item.summary)
        );
        if !item.alternates.is_empty() {
            let _ = write!(
                out,
                "<p style=\"margin:0;font-size:14px;\">{}",
                e(&self.translations)
            );
            for (i, (tag, url)) in item.alternates.iter().enumerate() {
                out.push_str(if i == 0 { " " } else { " · " });
                let _ = write!(
                    out,
                    "<a href=\"{u}\" hreflang=\"{t}\" lang=\"{t}\" dir=\"{d}\" style=\"{LINK}\">{n}</a>",
                    u = e(url),
                    t = e(tag),
                    d = locale::dir(tag),
                    n = e(locale::autonym(tag)),
                );
            }
            out.push_str("</p>\n");
        }
        out.push_str("</td></tr>\n");
    }

    fn text(&self, out: &mut String) {
        let item = self.item;
        let _ = write!(out, "{}\n{}\n{}", item.title.trim(), item.url, self.meta);
        if let Some(c) = &self.corrected {
            let _ = write!(out, " · {c}");
        }
        out.push('\n');
        if let Some(f) = &self.fallback {
            let _ = writeln!(out, "{f}");
        }
        let _ = writeln!(out, "\n{}", item.summary.trim());
        if !item.alternates.is_empty() {
            let _ = writeln!(out, "\n{}", self.translations);
            for (tag, url) in &item.alternates {
                let _ = writeln!(out, "- {}\n  {url}", locale::autonym(tag));
            }
        }
    }
}

/// The double opt-in message: what they signed up for, that nothing is sent until
/// they confirm, when the link expires, and that ignoring the message is fine.
pub fn confirmation(
    i18n: &I18n,
    locale: &str,
    confirm_url: &str,
    site_url: &str,
    ttl_hours: u64,
) -> Rendered {
    let l = locale;
    let msg = |id: &str, args: &[(&str, Arg<'_>)]| i18n.msg(l, id, args);
    let site = site_name(site_url);
    let hours = i64::try_from(ttl_hours).unwrap_or(i64::MAX);
    let number = format_number(l, hours);

    let subject = msg("email-confirm-subject", &[("site", Arg::Str(&site))]);
    let heading = msg("email-confirm-heading", &[]);
    let intro = msg("email-confirm-intro", &[("site", Arg::Str(&site))]);
    let nothing_yet = msg("email-confirm-nothing-yet", &[]);
    let button = msg("email-confirm-button", &[]);
    let expiry = msg(
        "email-confirm-expiry",
        &[("count", Arg::Num(hours)), ("number", Arg::Str(&number))],
    );
    let link_fallback = msg("email-confirm-link-fallback", &[]);
    let ignore = msg("email-confirm-ignore", &[]);

    let url = e(confirm_url);
    let rows = format!(
        "<tr><td style=\"padding:24px;\">\n\
         <h1 style=\"margin:0 0 16px;font-size:22px;line-height:1.3;\">{heading}</h1>\n\
         <p style=\"margin:0 0 8px;\">{intro}</p>\n\
         <p style=\"margin:0 0 20px;\">{nothing_yet}</p>\n\
         <table role=\"presentation\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\" style=\"margin:0 0 20px;\">\
         <tr><td bgcolor=\"#0b57d0\" style=\"border-radius:6px;\">\
         <a href=\"{url}\" style=\"display:inline-block;padding:12px 24px;color:#ffffff;\
         font-weight:bold;text-decoration:none;\">{button}</a></td></tr></table>\n\
         <p style=\"margin:0 0 8px;\">{expiry}</p>\n\
         <p style=\"margin:0 0 20px;font-size:13px;{MUTED}\">{link_fallback}<br>\n\
         <a href=\"{url}\" style=\"{LINK}word-break:break-all;\" dir=\"ltr\">{url}</a></p>\n\
         <p style=\"margin:0;font-size:13px;{MUTED}\">{ignore}</p>\n</td></tr>\n",
        heading = e(&heading),
        intro = e(&intro),
        nothing_yet = e(&nothing_yet),
        button = e(&button),
        expiry = e(&expiry),
        link_fallback = e(&link_fallback),
        ignore = e(&ignore),
    );
    let text = format!(
        "{heading}\n\n{intro}\n{nothing_yet}\n\n{button}\n{confirm_url}\n\n{expiry}\n\n{ignore}\n"
    );

    Rendered {
        locale: locale.to_owned(),
        html: strip_isolates(html_document(l, &subject, &rows)),
        subject: strip_isolates(subject),
        text: strip_isolates(text),
    }
}

#[cfg(test)]
mod tests {
    use super::{DigestInput, DigestItem, I18n, digest, strip_isolates};

    #[test]
    fn a_kept_article_block_is_reused_only_for_the_same_locale_and_time_zone() {
        let i18n = I18n::new();
        // 20:30 UTC on 12 September is already the 13th in Tokyo.
        let at = chrono::DateTime::parse_from_rfc3339("2026-09-12T20:30:00Z")
            .unwrap()
            .to_utc();
        let item = DigestItem {
            article_id: "round-table".into(),
            title: "Round table".into(),
            summary: "Partners met.".into(),
            url: "https://feeds.example.org/en/news/round-table".into(),
            lang: "en".into(),
            published_at: at,
            corrected: false,
            alternates: vec![],
            channel_title_msg: "channel-news-title".into(),
        };
        let input = |tz: &str, locale: &str| DigestInput {
            locale: locale.into(),
            recipient_name: None,
            organisation: None,
            items: vec![item.clone()],
            frequency: "daily".into(),
            period_end: at,
            time_zone: tz.into(),
            preferences_url: "https://feeds.example.org/p".into(),
            unsubscribe_url: "https://feeds.example.org/u".into(),
            site_url: "https://feeds.example.org/en/".into(),
        };
        let utc = digest(&i18n, &input("UTC", "en"));
        let tokyo = digest(&i18n, &input("Asia/Tokyo", "en"));
        let german = digest(&i18n, &input("UTC", "de"));
        assert!(utc.text.contains("September 12"), "{}", utc.text);
        assert!(tokyo.text.contains("September 13"), "{}", tokyo.text);
        assert!(german.text.contains("12. September"), "{}", german.text);
        assert_eq!(digest(&i18n, &input("UTC", "en")), utc);
        let changed = DigestItem {
            title: "Round table, corrected".into(),
            ..item.clone()
        };
        let again = digest(
            &i18n,
            &DigestInput {
                items: vec![changed],
                ..input("UTC", "en")
            },
        );
        assert!(
            again.text.contains("Round table, corrected"),
            "{}",
            again.text
        );
    }

    #[test]
    fn strip_isolates_removes_the_four_isolates_and_keeps_their_neighbours() {
        let s = "\u{2066}a\u{2067}b\u{2068}c\u{2069} \u{2060}\u{2065}\u{206A}\u{2070} مرحبا";
        assert_eq!(
            strip_isolates(s.to_owned()),
            "abc \u{2060}\u{2065}\u{206A}\u{2070} مرحبا"
        );
        let plain = "नेपाली 漢字 \u{200F}".to_owned();
        assert_eq!(strip_isolates(plain.clone()), plain);
    }
}
