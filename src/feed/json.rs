//! JSON Feed 1.1, with `language` on the feed and on each item, WebSub `hubs`, paging
//! through `next_url` (newest to oldest archive page) and a `_translations` extension
//! listing the other languages of each item.

use super::{FeedDoc, Format, Page, feed_path, rfc3339};
use crate::markdown::xml_clean;
use serde::Serialize;
use std::borrow::Cow;

/// The same cleaning as the XML formats, so every format carries the same text.
fn c(s: &str) -> String {
    xml_clean(s).into_owned()
}

#[derive(Serialize)]
struct Feed<'a> {
    version: &'static str,
    title: String,
    home_page_url: String,
    feed_url: String,
    description: String,
    language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_url: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hubs: Vec<Hub>,
    authors: Vec<Author>,
    items: Vec<Item<'a>>,
}

#[derive(Serialize)]
struct Hub {
    r#type: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Author {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct Item<'a> {
    id: String,
    url: String,
    title: Cow<'a, str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    summary: Cow<'a, str>,
    content_html: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    date_published: String,
    date_modified: String,
    tags: Vec<String>,
    language: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment>,
    #[serde(rename = "_translations", skip_serializing_if = "Vec::is_empty")]
    translations: Vec<Translation>,
}

#[derive(Serialize)]
struct Attachment {
    url: String,
    mime_type: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    size_in_bytes: Option<u64>,
}

#[derive(Serialize)]
struct Translation {
    language: String,
    url: String,
}

pub fn write(doc: &FeedDoc<'_, '_>) -> Vec<u8> {
    let site = doc.site;
    let next_url = match doc.page {
        Page::Current { archives: 0 } => None,
        Page::Current { archives } => Some(archives),
        Page::Archive { n, .. } => (n > 1).then(|| n - 1),
    }
    .map(|n| {
        site.url(&feed_path(
            &doc.channel.id,
            doc.locale,
            Some(n),
            Format::Json,
        ))
    });
    let feed = Feed {
        version: "https://jsonfeed.org/version/1.1",
        title: doc.title(),
        home_page_url: site.url(&doc.home_path()),
        feed_url: site.url(&doc.path(Format::Json)),
        description: doc.description(),
        language: doc.locale,
        next_url,
        hubs: site
            .hubs
            .iter()
            .map(|h| Hub {
                r#type: "WebSub",
                url: h.clone(),
            })
            .collect(),
        authors: vec![Author {
            name: site.i18n.msg(doc.locale, "site-title", &[]),
            url: site.url("/"),
        }],
        items: doc
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let t = e.t;
                Item {
                    id: e.id(),
                    url: site.url(&e.path()),
                    title: xml_clean(&t.title),
                    summary: xml_clean(&t.summary),
                    content_html: &doc.contents[i],
                    image: t.image.as_ref().map(|i| i.url.clone()),
                    date_published: rfc3339(t.published_at),
                    date_modified: rfc3339(t.modified()),
                    tags: t
                        .topics
                        .iter()
                        .map(|topic| site.i18n.topic(&t.locale, topic))
                        .collect(),
                    language: &t.locale,
                    attachments: t
                        .image
                        .iter()
                        .map(|i| Attachment {
                            url: i.url.clone(),
                            mime_type: i.mime.clone(),
                            title: c(&i.alt),
                            size_in_bytes: (i.length > 0).then_some(i.length),
                        })
                        .collect(),
                    translations: e
                        .alternates
                        .iter()
                        .map(|(l, p)| Translation {
                            language: (*l).to_owned(),
                            url: site.url(p),
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    let mut out = Vec::with_capacity(doc.size_hint());
    serde_json::to_writer(&mut out, &feed).expect("serialising plain data cannot fail");
    out.push(b'\n');
    out
}
