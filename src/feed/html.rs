//! The small HTML surface: a landing page per locale (with feed autodiscovery and
//! hreflang links), an article page per translation, and the OPML of every feed.
//! Server-rendered, no JavaScript, `lang` and `dir` set for right-to-left locales.

use super::{Format, Selection, Site, feed_path, rfc3339};
use crate::content::{Channel, Translation, article_path};
use crate::i18n::Arg;
use crate::locale::{self, LOCALES};
use crate::markdown::{escape_html as e, xml_clean};
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,'Noto Sans','Noto Sans CJK SC','Noto Sans Arabic','Noto Sans Devanagari',sans-serif;\
max-width:48rem;margin:0 auto;padding:1rem;line-height:1.6;color:#1b1b1b}a{color:#0b57d0}\
nav.langs{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.9rem}\
ul.feeds{list-style:none;padding:0;display:flex;gap:1rem;flex-wrap:wrap}\
section{border-top:1px solid #ddd;margin-top:1.5rem}time{color:#555;font-size:.9rem}\
figure{margin:0}img{max-width:100%;height:auto}.note{background:#f4f4f4;padding:.5rem 1rem}";

fn head(out: &mut String, locale: &str, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{l}\" dir=\"{d}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}</title>\n\
         <style>{STYLE}</style>\n",
        l = e(locale),
        d = locale::dir(locale),
        t = e(title)
    );
}

fn lang_nav(out: &mut String, current: &str, paths: &[(&str, String)]) {
    out.push_str("<nav class=\"langs\">");
    for (l, path) in paths {
        if *l == current {
            let _ = write!(
                out,
                "<strong lang=\"{l}\" dir=\"{d}\">{n}</strong>",
                l = e(l),
                d = locale::dir(l),
                n = e(locale::autonym(l))
            );
        } else {
            let _ = write!(
                out,
                "<a href=\"{p}\" hreflang=\"{l}\" lang=\"{l}\" dir=\"{d}\">{n}</a>",
                p = e(path),
                l = e(l),
                d = locale::dir(l),
                n = e(locale::autonym(l))
            );
        }
    }
    out.push_str("</nav>\n");
}

/// Locales any channel publishes, in the order of [`LOCALES`].
pub fn site_locales(channels: &[Channel]) -> Vec<&'static str> {
    LOCALES
        .iter()
        .map(|l| l.tag)
        .filter(|l| channels.iter().any(|c| c.locales.iter().any(|x| x == l)))
        .collect()
}

/// The landing page of one locale: every channel in it, its three feeds, its newest
/// entries. `channels` pairs each channel with its selection in this locale.
pub fn landing(
    site: Site<'_>,
    locale: &str,
    all: &[Channel],
    channels: &[(&Channel, &Selection<'_>)],
) -> Vec<u8> {
    let i18n = site.i18n;
    let title = i18n.msg(locale, "site-title", &[]);
    let mut out = String::with_capacity(16 * 1024);
    head(&mut out, locale, &title);
    for (channel, _) in channels {
        let name = i18n.msg(locale, &channel.title_msg, &[]);
        for f in Format::ALL {
            let _ = writeln!(
                out,
                "<link rel=\"alternate\" type=\"{m}\" hreflang=\"{l}\" title=\"{t} ({f})\" href=\"{h}\">",
                m = f.mime(),
                l = e(locale),
                t = e(&name),
                f = e(&i18n.msg(locale, f.label_msg(), &[])),
                h = e(&site.url(&feed_path(&channel.id, locale, None, f)))
            );
        }
    }
    let others: Vec<(&str, String)> = site_locales(all)
        .into_iter()
        .map(|l| (l, format!("/{l}/")))
        .collect();
    for (l, path) in &others {
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" hreflang=\"{l}\" href=\"{}\">",
            e(&site.url(path))
        );
    }
    let _ = writeln!(
        out,
        "<link rel=\"alternate\" hreflang=\"x-default\" href=\"{}\">",
        e(&site.url("/"))
    );
    out.push_str("</head>\n<body>\n<header>\n");
    lang_nav(&mut out, locale, &others);
    let _ = write!(
        out,
        "<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/feeds.opml\" type=\"text/x-opml\">{}</a></p>\n</header>\n<main>\n",
        e(&title),
        e(&i18n.msg(locale, "landing-intro", &[])),
        e(&i18n.msg(locale, "landing-opml", &[]))
    );
    for (channel, sel) in channels {
        let count = sel.entries.len() as i64;
        let _ = write!(
            out,
            "<section id=\"{id}\">\n<h2>{t}</h2>\n<p>{d} <small>({n})</small></p>\n<h3>{fh}</h3>\n<ul class=\"feeds\">",
            id = e(&channel.id),
            t = e(&i18n.msg(locale, &channel.title_msg, &[])),
            d = e(&i18n.msg(locale, &channel.description_msg, &[])),
            n = e(&i18n.msg(locale, "article-count", &[("count", Arg::Num(count))])),
            fh = e(&i18n.msg(locale, "landing-feeds-heading", &[]))
        );
        for f in Format::ALL {
            let _ = write!(
                out,
                "<li><a href=\"{h}\" type=\"{m}\">{l}</a></li>",
                h = e(&feed_path(&channel.id, locale, None, f)),
                m = f.mime(),
                l = e(&i18n.msg(locale, f.label_msg(), &[]))
            );
        }
        out.push_str("</ul>\n<ul>\n");
        for entry in sel.entries.iter().take(10) {
            let t = entry.t;
            let _ = writeln!(
                out,
                "<li><a href=\"{h}\" hreflang=\"{l}\" lang=\"{l}\" dir=\"{d}\">{title}</a> <time datetime=\"{dt}\">{date}</time></li>",
                h = e(&entry.path()),
                l = e(&t.locale),
                d = locale::dir(&t.locale),
                title = e(&t.title),
                dt = rfc3339(t.published_at),
                date = t.published_at.format("%Y-%m-%d")
            );
        }
        out.push_str("</ul>\n</section>\n");
    }
    out.push_str("</main>\n</body>\n</html>\n");
    out.into_bytes()
}

/// One translation as a page, with links to its other languages.
pub fn article(site: Site<'_>, t: &Translation, others: &[Translation]) -> String {
    let i18n = site.i18n;
    let l = t.locale.as_str();
    let mut out = String::with_capacity(t.body_html.len() + 4096);
    head(&mut out, l, &t.title);
    let mut langs: Vec<(&str, String)> = vec![(l, article_path(l, &t.channel, &t.slug))];
    langs.extend(others.iter().map(|o| {
        (
            o.locale.as_str(),
            article_path(&o.locale, &o.channel, &o.slug),
        )
    }));
    langs.sort_by_key(|(l, _)| LOCALES.iter().position(|x| x.tag == *l));
    for (ol, path) in &langs {
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" hreflang=\"{ol}\" href=\"{}\">",
            e(&site.url(path))
        );
    }
    let _ = writeln!(
        out,
        "<link rel=\"canonical\" href=\"{}\">",
        e(&site.url(&article_path(l, &t.channel, &t.slug)))
    );
    out.push_str("</head>\n<body>\n<header>\n");
    if langs.len() > 1 {
        let _ = write!(
            out,
            "<p>{}</p>",
            e(&i18n.msg(l, "article-other-languages", &[]))
        );
        lang_nav(&mut out, l, &langs);
    }
    let _ = write!(
        out,
        "<p><a href=\"/{l}/\">{}</a></p>\n</header>\n<main>\n<article>\n",
        e(&i18n.msg(l, "article-back", &[]))
    );
    let _ = write!(
        out,
        "<h1>{}</h1>\n<p><time datetime=\"{}\">{}</time></p>\n",
        e(&t.title),
        rfc3339(t.published_at),
        e(&i18n.msg(
            l,
            "article-published",
            &[(
                "date",
                Arg::Str(&t.published_at.format("%Y-%m-%d").to_string())
            )]
        ))
    );
    if t.retracted_at.is_some() {
        let _ = write!(
            out,
            "<p class=\"note\">{}</p>\n</article>\n</main>\n</body>\n</html>\n",
            e(&i18n.msg(l, "article-retracted", &[]))
        );
        return out;
    }
    if let Some(u) = t.updated_at {
        let _ = writeln!(
            out,
            "<p><time datetime=\"{}\">{}</time></p>",
            rfc3339(u),
            e(&i18n.msg(
                l,
                "article-updated",
                &[("date", Arg::Str(&u.format("%Y-%m-%d").to_string()))]
            ))
        );
    }
    if !t.summary.is_empty() {
        let _ = writeln!(out, "<p><strong>{}</strong></p>", e(&t.summary));
    }
    out.push_str(&super::content_html(site, l, t));
    out.push_str("\n</article>\n</main>\n</body>\n</html>\n");
    out
}

/// OPML 2.0 listing every feed, grouped by channel and locale.
pub fn opml(site: Site<'_>, channels: &[Channel]) -> Vec<u8> {
    let x = |s: &str| e(&xml_clean(s));
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<opml version=\"2.0\">\n<head>\n",
    );
    let _ = writeln!(
        out,
        "<title>{}</title>",
        x(&site.i18n.msg(locale::REFERENCE, "site-title", &[]))
    );
    out.push_str("</head>\n<body>\n");
    for c in channels {
        let _ = writeln!(
            out,
            "<outline text=\"{}\">",
            x(&site.i18n.msg(locale::REFERENCE, &c.title_msg, &[]))
        );
        for l in &c.locales {
            let title = site.i18n.msg(l, &c.title_msg, &[]);
            let _ = writeln!(
                out,
                "<outline type=\"rss\" text=\"{t}\" title=\"{t}\" language=\"{l}\" xmlUrl=\"{u}\" htmlUrl=\"{h}\"/>",
                t = x(&title),
                l = x(l),
                u = x(&site.url(&feed_path(&c.id, l, None, Format::Atom))),
                h = x(&site.url(&format!("/{l}/")))
            );
        }
        out.push_str("</outline>\n");
    }
    out.push_str("</body>\n</opml>\n");
    out.into_bytes()
}
