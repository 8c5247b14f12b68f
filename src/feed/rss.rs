//! RSS 2.0 with `atom:link` (self, hub, history, hreflang alternates), `content:encoded`,
//! `dc:language` per item (RSS has no item language of its own) and Media RSS for the
//! image's alt text.

use super::{FeedDoc, Format};
use crate::markdown::xml_clean;
use ::rss::extension::atom::{AtomExtension, Link};
use ::rss::extension::dublincore::DublinCoreExtension;
use ::rss::extension::{Extension, ExtensionMap};
use ::rss::{Category, Channel, Enclosure, Guid, Item};
use std::collections::BTreeMap;

const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";
const HISTORY_NS: &str = "http://purl.org/syndication/history/1.0";

fn c(s: &str) -> String {
    xml_clean(s).into_owned()
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
    let mut links = vec![link(
        "self",
        site.url(&doc.path(Format::Rss)),
        Some(Format::Rss.mime()),
        None,
    )];
    links.extend(site.hubs.iter().map(|h| link("hub", h.clone(), None, None)));
    for (rel, path) in doc.history_links(Format::Rss) {
        links.push(link(rel, site.url(&path), Some(Format::Rss.mime()), None));
    }
    for (l, path) in doc.sibling_feeds(Format::Rss) {
        links.push(link(
            "alternate",
            site.url(&path),
            Some(Format::Rss.mime()),
            Some(l),
        ));
    }
    let mut namespaces = BTreeMap::new();
    let mut extensions = ExtensionMap::default();
    if matches!(doc.page, super::Page::Archive { .. }) {
        namespaces.insert("fh".to_owned(), HISTORY_NS.to_owned());
        let archive = Extension {
            name: "fh:archive".into(),
            ..Default::default()
        };
        extensions
            .entry("fh".into())
            .or_default()
            .insert("archive".into(), vec![archive]);
    }
    let items: Vec<Item> = doc
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| item(doc, i, e, &mut namespaces))
        .collect();
    let channel = Channel {
        title: c(&doc.title()),
        link: site.url(&doc.home_path()),
        description: c(&doc.description()),
        language: Some(doc.locale.to_owned()),
        last_build_date: Some(doc.updated.to_rfc2822()),
        generator: Some(concat!("bridgecast ", env!("CARGO_PKG_VERSION")).into()),
        docs: Some("https://www.rssboard.org/rss-specification".into()),
        ttl: Some(doc.channel.ttl_minutes.to_string()),
        items,
        atom_ext: Some(AtomExtension { links }),
        namespaces,
        extensions,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(doc.size_hint());
    channel
        .write_to(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

fn item(
    doc: &FeedDoc<'_, '_>,
    i: usize,
    e: &super::Entry<'_>,
    namespaces: &mut BTreeMap<String, String>,
) -> Item {
    let site = doc.site;
    let t = e.t;
    let mut extensions = ExtensionMap::default();
    let enclosure = t.image.as_ref().map(|img| {
        namespaces.insert("media".into(), MEDIA_NS.into());
        let desc = Extension {
            name: "media:description".into(),
            value: Some(c(&img.alt)),
            attrs: [("type".to_owned(), "plain".to_owned())].into(),
            ..Default::default()
        };
        let content = Extension {
            name: "media:content".into(),
            attrs: [
                ("url".to_owned(), img.url.clone()),
                ("type".to_owned(), img.mime.clone()),
                ("medium".to_owned(), "image".to_owned()),
            ]
            .into(),
            children: [("description".to_owned(), vec![desc])].into(),
            ..Default::default()
        };
        extensions
            .entry("media".into())
            .or_default()
            .insert("content".into(), vec![content]);
        Enclosure {
            url: img.url.clone(),
            length: img.length.to_string(),
            mime_type: img.mime.clone(),
        }
    });
    let alternates: Vec<Link> = e
        .alternates
        .iter()
        .map(|(l, path)| link("alternate", site.url(path), Some("text/html"), Some(l)))
        .collect();
    Item {
        title: Some(c(&t.title)),
        link: Some(site.url(&e.path())),
        description: Some(c(&t.summary)),
        categories: t
            .topics
            .iter()
            .map(|topic| Category {
                name: c(&site.i18n.topic(&t.locale, topic)),
                domain: None,
            })
            .collect(),
        enclosure,
        guid: Some(Guid {
            value: e.id(),
            permalink: false,
        }),
        pub_date: Some(t.published_at.to_rfc2822()),
        content: Some(doc.contents[i].clone()),
        extensions,
        atom_ext: (!alternates.is_empty()).then_some(AtomExtension { links: alternates }),
        dublin_core_ext: Some(DublinCoreExtension {
            languages: vec![t.locale.clone()],
            ..Default::default()
        }),
        ..Default::default()
    }
}
