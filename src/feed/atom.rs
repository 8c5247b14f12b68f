//! Atom 1.0: `xml:lang` on the feed and on every text construct (not on `<entry>`,
//! which the writer does not support), `rel=alternate hreflang` links to every other
//! translation, RFC 5005 history links and RFC 6721 tombstones.

use super::{FeedDoc, Format, Page, rfc3339};
use crate::markdown::{escape_html as e, xml_clean};
use atom_syndication::{Category, Content, Entry, Feed, Generator, Link, Person, Text, TextType};
use chrono::{DateTime, FixedOffset, Utc};

const TOMBSTONE_NS: &str = "http://purl.org/atompub/tombstones/1.0";
const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

fn c(s: &str) -> String {
    xml_clean(s).into_owned()
}

fn fixed(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.fixed_offset()
}

fn text(value: &str, lang: &str, kind: TextType) -> Text {
    Text {
        value: c(value),
        lang: Some(lang.to_owned()),
        r#type: kind,
        base: None,
    }
}

fn link(rel: &str, href: String, mime: Option<&str>, hreflang: Option<&str>) -> Link {
    Link {
        rel: rel.into(),
        href,
        hreflang: hreflang.map(Into::into),
        mime_type: mime.map(Into::into),
        ..Default::default()
    }
}

pub fn write(doc: &FeedDoc<'_, '_>) -> Vec<u8> {
    let site = doc.site;
    let locale = doc.locale;
    let mut links = vec![
        link(
            "self",
            site.url(&doc.path(Format::Atom)),
            Some(Format::Atom.mime()),
            None,
        ),
        link(
            "alternate",
            site.url(&doc.home_path()),
            Some("text/html"),
            Some(locale),
        ),
    ];
    links.extend(site.hubs.iter().map(|h| link("hub", h.clone(), None, None)));
    for (rel, path) in doc.history_links(Format::Atom) {
        links.push(link(rel, site.url(&path), Some(Format::Atom.mime()), None));
    }
    for (l, path) in doc.sibling_feeds(Format::Atom) {
        links.push(link(
            "alternate",
            site.url(&path),
            Some(Format::Atom.mime()),
            Some(l),
        ));
    }
    let mut feed = Feed {
        title: text(&doc.title(), locale, TextType::Text),
        subtitle: Some(text(&doc.description(), locale, TextType::Text)),
        id: site.url(&doc.path(Format::Atom)),
        updated: fixed(doc.updated),
        authors: vec![Person {
            name: c(&site.i18n.msg(locale, "site-title", &[])),
            uri: Some(site.url("/")),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "bridgecast".into(),
            uri: None,
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        links,
        lang: Some(locale.to_owned()),
        entries: doc
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| entry(doc, i, e))
            .collect(),
        ..Default::default()
    };
    // RFC 4287's schema wants extension elements before the entries, but the writer
    // puts them after; so the history marker and the tombstones are written here and
    // placed in front of the first entry.
    let mut head = String::new();
    if matches!(doc.page, Page::Archive { .. }) {
        feed.namespaces.insert("fh".into(), HISTORY_NS.into());
        head.push_str("<fh:archive/>");
    }
    if !doc.tombstones.is_empty() {
        feed.namespaces.insert("at".into(), TOMBSTONE_NS.into());
        let comment = e(&c(&site.i18n.msg(locale, "article-retracted", &[])));
        for t in doc.tombstones {
            head.push_str(&format!(
                "<at:deleted-entry ref=\"{}\" when=\"{}\"><link href=\"{}\"/><at:comment xml:lang=\"{}\">{comment}</at:comment></at:deleted-entry>",
                e(&c(&t.id)),
                rfc3339(t.when),
                e(&site.url(&t.path)),
                e(locale),
            ));
        }
    }
    let mut out = Vec::with_capacity(doc.size_hint());
    feed.write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    if !head.is_empty() {
        let at = find(&out, b"<entry>")
            .or_else(|| find(&out, b"</feed>"))
            .unwrap_or(out.len());
        out.splice(at..at, head.into_bytes());
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn entry(doc: &FeedDoc<'_, '_>, i: usize, e: &super::Entry<'_>) -> Entry {
    let site = doc.site;
    let t = e.t;
    let lang = t.locale.as_str();
    let mut links = vec![link(
        "alternate",
        site.url(&e.path()),
        Some("text/html"),
        Some(lang),
    )];
    links.extend(
        e.alternates
            .iter()
            .map(|(l, path)| link("alternate", site.url(path), Some("text/html"), Some(l))),
    );
    if let Some(img) = &t.image {
        let mut l = link("enclosure", img.url.clone(), Some(&img.mime), None);
        l.title = Some(c(&img.alt));
        l.length = (img.length > 0).then(|| img.length.to_string());
        links.push(l);
    }
    Entry {
        title: text(&t.title, lang, TextType::Text),
        id: e.id(),
        updated: fixed(t.modified()),
        published: Some(fixed(t.published_at)),
        links,
        summary: (!t.summary.is_empty()).then(|| text(&t.summary, lang, TextType::Text)),
        content: Some(Content {
            value: Some(doc.contents[i].clone()),
            content_type: Some("html".into()),
            lang: Some(lang.to_owned()),
            ..Default::default()
        }),
        categories: t
            .topics
            .iter()
            .map(|topic| Category {
                term: topic.clone(),
                scheme: Some(site.url("/topics")),
                label: Some(c(&site.i18n.topic(lang, topic))),
            })
            .collect(),
        ..Default::default()
    }
}
