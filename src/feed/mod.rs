//! One render path for every format and locale: select a channel's entries for a
//! locale (following its fallback chain and missing-translation policy), cut them into
//! the current document and RFC 5005 archive pages, and hand each page to the three
//! writers (RSS 2.0, Atom 1.0, JSON Feed 1.1).
//!
//! Rendering is a pure function of the translations and the time: the same input gives
//! the same bytes, so ETags only change when content does.

mod atom;
pub mod html;
mod json;
mod rss;

use crate::content::{Channel, Status, Translation, article_path, push_article_path};
use crate::document::{Document, Draft, Purpose};
use crate::i18n::I18n;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The three formats, each at a fixed file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Rss, Format::Atom, Format::Json];
    pub fn file(self) -> &'static str {
        match self {
            Format::Rss => "rss.xml",
            Format::Atom => "atom.xml",
            Format::Json => "feed.json",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml",
            Format::Atom => "application/atom+xml",
            Format::Json => "application/feed+json",
        }
    }
    /// The `Content-Type` served (with charset, for the XML ones).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Rss => "application/rss+xml; charset=utf-8",
            Format::Atom => "application/atom+xml; charset=utf-8",
            Format::Json => "application/feed+json; charset=utf-8",
        }
    }
    pub fn label_msg(self) -> &'static str {
        match self {
            Format::Rss => "feed-format-rss",
            Format::Atom => "feed-format-atom",
            Format::Json => "feed-format-json",
        }
    }
}

/// Site-wide settings every renderer needs.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// Base URL without a trailing slash.
    pub base: &'a str,
    pub i18n: &'a I18n,
    pub hubs: &'a [String],
    /// Entries in a current document.
    pub items: usize,
    /// Entries per archive page.
    pub page_size: usize,
}

impl Site<'_> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Path of a channel × locale document: the current one for `archive == None`.
pub fn feed_path(channel: &str, locale: &str, archive: Option<usize>, format: Format) -> String {
    match archive {
        None => format!("/feeds/{channel}/{locale}/{}", format.file()),
        Some(n) => format!("/feeds/{channel}/{locale}/archive/{n}/{}", format.file()),
    }
}

/// One entry of a feed: the translation shown, for the feed's locale.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub t: &'a Translation,
    /// Every other publishable translation of the article, `(locale, page URL path)`.
    pub alternates: Vec<(&'a str, Arc<str>)>,
}

impl Entry<'_> {
    /// Each translation is its own entry: readers (and newsboat, which keys items by
    /// guid across all feeds) must see a new entry when a translation arrives.
    pub fn id(&self) -> String {
        entry_id(self.t)
    }
    pub fn path(&self) -> String {
        article_path(&self.t.locale, &self.t.channel, &self.t.slug)
    }
}

/// The permanent id of one translation: the article's `tag:` URI plus `/locale`.
pub fn entry_id(t: &Translation) -> String {
    format!("{}/{}", t.article_id, t.locale)
}

/// A retracted entry, for RFC 6721 tombstones.
#[derive(Debug, Clone)]
pub struct Tombstone {
    pub id: String,
    pub when: DateTime<Utc>,
    pub path: String,
}

/// What a channel shows in one locale at one time.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    /// Newest first.
    pub entries: Vec<Entry<'a>>,
    pub tombstones: Vec<Tombstone>,
}

/// Selects the entries of `channel` in `locale` at `now` from `translations` (which may
/// hold articles of other channels; those the channel does not include are ignored).
pub fn select<'a>(
    channel: &Channel,
    locale: &str,
    translations: &'a [Translation],
    now: DateTime<Utc>,
) -> Selection<'a> {
    Index::new(translations, now).select(channel, locale)
}

/// A translation and the URL path of its page.
type WithPath<'a> = (&'a Translation, Arc<str>);

/// The translations publishable at one time, grouped by article and keyed by locale,
/// each with its page path: what every channel × locale selection starts from. A
/// render of many feeds makes it once instead of once per feed.
#[derive(Debug)]
pub struct Index<'a> {
    now: DateTime<Utc>,
    /// One map per article, in article id order.
    groups: Vec<BTreeMap<&'a str, WithPath<'a>>>,
}

impl<'a> Index<'a> {
    /// Groups the translations of `translations` that are not drafts and are published
    /// by `now`. Of two for the same article and locale the later one counts.
    ///
    /// A render job makes one for 10,000 translations on the way to the new article's
    /// feed, so this sorts references (the store's order is already nearly sorted, which
    /// a stable sort finds in one pass) rather than building a map of maps, and writes
    /// each page path once, without `format!`.
    pub fn new(translations: &'a [Translation], now: DateTime<Utc>) -> Self {
        let mut live: Vec<&'a Translation> = translations
            .iter()
            .filter(|t| t.status != Status::Draft && t.published_at <= now)
            .collect();
        // Stable: equal keys stay in input order, so the later one comes last.
        live.sort_by(|a, b| {
            (a.article_id.as_str(), a.locale.as_str())
                .cmp(&(b.article_id.as_str(), b.locale.as_str()))
        });
        let mut path = String::new();
        let groups = live
            .chunk_by(|a, b| a.article_id == b.article_id)
            .map(|run| {
                run.iter()
                    .enumerate()
                    .filter(|&(i, t)| run.get(i + 1).is_none_or(|next| next.locale != t.locale))
                    .map(|(_, &t)| {
                        path.clear();
                        push_article_path(&mut path, &t.locale, &t.channel, &t.slug);
                        (t.locale.as_str(), (t, Arc::from(path.as_str())))
                    })
                    .collect()
            })
            .collect();
        Index { now, groups }
    }

    /// The entries of `channel` in `locale`: see [`select`].
    pub fn select(&self, channel: &Channel, locale: &str) -> Selection<'a> {
        let now = self.now;
        let mut sel = Selection::default();
        let mut filtered = BTreeMap::new();
        for full in &self.groups {
            // The translations the channel includes; for a topic channel, usually all.
            let group = if full
                .values()
                .all(|(t, _)| channel.includes(&t.channel, &t.topics))
            {
                full
            } else {
                filtered.clear();
                filtered.extend(
                    full.iter()
                        .filter(|(_, (t, _))| channel.includes(&t.channel, &t.topics))
                        .map(|(l, v)| (*l, v.clone())),
                );
                if filtered.is_empty() {
                    continue;
                }
                &filtered
            };
            let Some(&(t, _)) = channel.resolve(locale, group) else {
                continue;
            };
            if t.retracted_at.is_some_and(|r| r <= now) {
                sel.tombstones.push(Tombstone {
                    id: entry_id(t),
                    when: t.retracted_at.unwrap_or(now),
                    path: article_path(&t.locale, &t.channel, &t.slug),
                });
                continue;
            }
            let alternates = group
                .values()
                .filter(|(o, _)| o.locale != t.locale && o.retracted_at.is_none_or(|r| r > now))
                .map(|(o, path)| (o.locale.as_str(), path.clone()))
                .collect();
            sel.entries.push(Entry { t, alternates });
        }
        sel.entries.sort_by(|a, b| {
            b.t.published_at
                .cmp(&a.t.published_at)
                .then_with(|| a.id().cmp(&b.id()))
        });
        sel.tombstones
            .sort_by(|a, b| b.when.cmp(&a.when).then_with(|| a.id.cmp(&b.id)));
        sel
    }
}

/// Which page of a feed a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The subscription document; `archives` complete archive pages exist behind it.
    Current { archives: usize },
    /// Archive page `n` (1 = oldest) of `total`.
    Archive { n: usize, total: usize },
}

/// Everything a format writer needs for one document.
#[derive(Debug)]
pub struct FeedDoc<'a, 'b> {
    pub site: Site<'a>,
    pub channel: &'a Channel,
    pub locale: &'a str,
    pub page: Page,
    /// Newest first.
    pub entries: &'b [Entry<'b>],
    pub tombstones: &'b [Tombstone],
    /// The feed's `updated`: newest change among its entries and tombstones.
    pub updated: DateTime<Utc>,
    /// Each entry's content HTML, cleaned for XML, made once for all three formats.
    pub contents: &'b [String],
}

impl FeedDoc<'_, '_> {
    /// Room for a document of this page in any format, so that writing it does not
    /// grow (and copy) its buffer again and again: the entries' text once, plus a
    /// quarter for escaping, plus each entry's links and dates.
    pub fn size_hint(&self) -> usize {
        let text: usize = self
            .entries
            .iter()
            .zip(self.contents)
            .map(|(e, c)| c.len() + e.t.title.len() + e.t.summary.len())
            .sum();
        4096 + text + text / 4 + self.entries.len() * 1536
    }

    pub fn path(&self, format: Format) -> String {
        match self.page {
            Page::Current { .. } => feed_path(&self.channel.id, self.locale, None, format),
            Page::Archive { n, .. } => feed_path(&self.channel.id, self.locale, Some(n), format),
        }
    }
    pub fn title(&self) -> String {
        self.site
            .i18n
            .msg(self.locale, &self.channel.title_msg, &[])
    }
    pub fn description(&self) -> String {
        self.site
            .i18n
            .msg(self.locale, &self.channel.description_msg, &[])
    }
    /// `(rel, path)` of the RFC 5005 links of this page.
    pub fn history_links(&self, format: Format) -> Vec<(&'static str, String)> {
        let (c, l) = (&self.channel.id, self.locale);
        match self.page {
            Page::Current { archives: 0 } => vec![],
            Page::Current { archives } => {
                vec![("prev-archive", feed_path(c, l, Some(archives), format))]
            }
            Page::Archive { n, total } => {
                let mut v = vec![("current", feed_path(c, l, None, format))];
                if n > 1 {
                    v.push(("prev-archive", feed_path(c, l, Some(n - 1), format)));
                }
                if n < total {
                    v.push(("next-archive", feed_path(c, l, Some(n + 1), format)));
                }
                v
            }
        }
    }
    /// The other locales of the channel, `(locale, path of the same format)`.
    pub fn sibling_feeds(&self, format: Format) -> Vec<(&str, String)> {
        self.channel
            .locales
            .iter()
            .filter(|l| l.as_str() != self.locale)
            .map(|l| (l.as_str(), feed_path(&self.channel.id, l, None, format)))
            .collect()
    }
    pub fn home_path(&self) -> String {
        format!("/{}/", self.locale)
    }
}

/// One page of a feed before rendering: which slice of the selection it holds.
#[derive(Debug, Clone)]
pub struct PagePlan {
    pub page: Page,
    /// Range of `Selection::entries` (newest first).
    pub range: std::ops::Range<usize>,
    pub updated: DateTime<Utc>,
}

/// Cuts a selection into the current document and the complete archive pages.
pub fn plan(site: Site<'_>, sel: &Selection<'_>, now: DateTime<Utc>) -> Vec<PagePlan> {
    let total = sel.entries.len();
    let archives = total / site.page_size;
    // The current document holds the newest entries, and at least every entry not yet
    // in a complete archive page, so nothing falls between the two.
    let current_len = site.items.max(total - archives * site.page_size).min(total);
    let newest = sel
        .entries
        .iter()
        .map(|e| e.t.modified())
        .chain(sel.tombstones.iter().map(|t| t.when))
        .max();
    let mut plans = vec![PagePlan {
        page: Page::Current { archives },
        range: 0..current_len,
        updated: newest.unwrap_or(now),
    }];
    // Archive pages run oldest first: page 1 holds the oldest `page_size` entries.
    for n in 1..=archives {
        let end = total - (n - 1) * site.page_size;
        let range = end - site.page_size..end;
        let updated = sel.entries[range.clone()]
            .iter()
            .map(|e| e.t.modified())
            .max()
            .unwrap_or(now);
        plans.push(PagePlan {
            page: Page::Archive { n, total: archives },
            range,
            updated,
        });
    }
    plans
}

impl PagePlan {
    /// Everything the page's bytes depend on, hashed: equal fingerprints, equal bytes
    /// (within one process, which is as long as fingerprints are kept).
    pub fn fingerprint(
        &self,
        site: Site<'_>,
        channel: &Channel,
        locale: &str,
        sel: &Selection<'_>,
    ) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (site.base, site.hubs, site.items, site.page_size, locale).hash(&mut h);
        format!("{channel:?}{:?}{}", self.page, self.updated).hash(&mut h);
        for e in &sel.entries[self.range.clone()] {
            (
                &e.t.article_id,
                &e.t.locale,
                &e.t.source_hash,
                &e.alternates,
            )
                .hash(&mut h);
        }
        if let Page::Current { .. } = self.page {
            for t in &sel.tombstones {
                (&t.id, t.when, &t.path).hash(&mut h);
            }
        }
        h.finish()
    }

    /// Paths of the page's three documents.
    pub fn paths(&self, channel: &str, locale: &str) -> [String; 3] {
        let n = match self.page {
            Page::Current { .. } => None,
            Page::Archive { n, .. } => Some(n),
        };
        Format::ALL.map(|f| feed_path(channel, locale, n, f))
    }
}

/// Writes one planned page in all three formats, leaving the hashing and compression
/// (most of the work) to [`Draft::finish`], on whatever thread the caller picks.
#[allow(clippy::too_many_arguments)]
pub fn write_page(
    site: Site<'_>,
    channel: &Channel,
    locale: &str,
    sel: &Selection<'_>,
    plan: &PagePlan,
    now: DateTime<Utc>,
    purpose: Purpose,
) -> [Draft; 3] {
    let entries = &sel.entries[plan.range.clone()];
    let contents: Vec<String> = entries
        .iter()
        .map(|e| crate::markdown::xml_clean_owned(content_html(site, locale, e.t)))
        .collect();
    let doc = FeedDoc {
        site,
        channel,
        locale,
        page: plan.page,
        contents: &contents,
        entries,
        tombstones: if matches!(plan.page, Page::Current { .. }) {
            &sel.tombstones
        } else {
            &[]
        },
        updated: plan.updated,
    };
    Format::ALL.map(|format| Draft {
        purpose,
        path: doc.path(format),
        channel: channel.id.clone(),
        locale: locale.to_owned(),
        content_type: format.content_type(),
        body: match format {
            Format::Rss => rss::write(&doc),
            Format::Atom => atom::write(&doc),
            Format::Json => json::write(&doc),
        },
        last_modified: doc.updated,
        built_at: now,
    })
}

/// Renders every document of one channel in one locale: the current feed and every
/// complete archive page, in all three formats.
pub fn render_channel_locale(
    site: Site<'_>,
    channel: &Channel,
    locale: &str,
    sel: &Selection<'_>,
    now: DateTime<Utc>,
    purpose: Purpose,
) -> Vec<Document> {
    let plans = plan(site, sel, now);
    let mut docs = Vec::with_capacity(3 * plans.len());
    for p in &plans {
        docs.extend(write_page(site, channel, locale, sel, p, now, purpose).map(Draft::finish));
    }
    docs
}

/// The HTML shown for an entry's content: a figure for the image, notes on fallback
/// language, machine translation and corrections, then the body.
pub fn content_html(site: Site<'_>, feed_locale: &str, t: &Translation) -> String {
    use crate::markdown::escape_html;
    let i18n = site.i18n;
    let mut html = String::with_capacity(t.body_html.len() + 512);
    if t.locale != feed_locale {
        let note = i18n.msg(
            feed_locale,
            "article-fallback",
            &[(
                "language",
                crate::i18n::Arg::Str(crate::locale::autonym(&t.locale)),
            )],
        );
        html.push_str(&format!(
            "<p lang=\"{}\" dir=\"{}\"><em>{}</em></p>",
            feed_locale,
            crate::locale::dir(feed_locale),
            escape_html(&note)
        ));
    }
    if t.status == Status::MachineTranslated {
        html.push_str(&format!(
            "<p><em>{}</em></p>",
            escape_html(&i18n.msg(&t.locale, "article-machine-translated", &[]))
        ));
    }
    if let Some(note) = &t.correction {
        let text = i18n.msg(
            &t.locale,
            "article-correction",
            &[("note", crate::i18n::Arg::Str(note))],
        );
        html.push_str(&format!("<p><strong>{}</strong></p>", escape_html(&text)));
    }
    if let Some(img) = &t.image {
        html.push_str(&format!(
            "<figure><img src=\"{}\" alt=\"{}\"></figure>",
            escape_html(&img.url),
            escape_html(&img.alt)
        ));
    }
    html.push_str(&t.body_html);
    html
}

/// RFC 3339 in UTC with a `Z`, the form every format here uses.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{MissingPolicy, Select};

    fn channel(id: &str, select: Option<Select>) -> Channel {
        Channel {
            id: id.into(),
            title_msg: "t".into(),
            description_msg: "d".into(),
            source_locale: "zh-Hans".into(),
            locales: vec!["zh-Hans".into(), "en".into(), "de".into()],
            policy: MissingPolicy::Fallback,
            ttl_minutes: 60,
            fallback: BTreeMap::new(),
            select,
            ingest: vec![],
            dir: Default::default(),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn translation(article: &str, locale: &str, topics: &[&str], hours_ago: i64) -> Translation {
        Translation {
            article_id: format!("tag:example.org,2026:{article}"),
            channel: "news".into(),
            slug: article.into(),
            locale: locale.into(),
            title: format!("{article} {locale}"),
            summary: String::new(),
            body_html: String::new(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            status: Status::Approved,
            published_at: now() - chrono::Duration::hours(hours_ago),
            updated_at: None,
            retracted_at: None,
            correction: None,
            image: None,
            source: String::new(),
            source_hash: String::new(),
        }
    }

    /// `(title of the entry, ["locale path" of each alternate])`, newest first.
    fn shown(sel: &Selection<'_>) -> Vec<(String, Vec<String>)> {
        sel.entries
            .iter()
            .map(|e| {
                let alts = e
                    .alternates
                    .iter()
                    .map(|(l, p)| format!("{l} {p}"))
                    .collect();
                (e.t.title.clone(), alts)
            })
            .collect()
    }

    #[test]
    fn one_index_serves_every_channel_and_locale() {
        let now = now();
        let mut draft = translation("d", "en", &["robotics"], 1);
        draft.status = Status::Draft;
        let ts = vec![
            translation("a", "zh-Hans", &["robotics"], 5),
            translation("a", "en", &["robotics"], 5),
            // This translation lacks the topic: the topic channel leaves it out, and
            // no other entry of the topic channel names it as an alternate.
            translation("a", "de", &[], 5),
            translation("b", "en", &["education"], 3),
            translation("c", "en", &["robotics"], -2), // published in two hours
            draft,
        ];
        let news = channel("news", None);
        let topic = channel(
            "tech",
            Some(Select {
                channels: vec!["news".into()],
                topics: vec!["robotics".into()],
            }),
        );
        let index = Index::new(&ts, now);
        let s = |c: &Channel, l: &str| shown(&index.select(c, l));
        assert_eq!(
            s(&news, "en"),
            [
                ("b en".to_string(), vec![]),
                (
                    "a en".to_string(),
                    vec![
                        "de /de/news/a".to_string(),
                        "zh-Hans /zh-Hans/news/a".to_string()
                    ]
                ),
            ]
        );
        assert_eq!(
            s(&topic, "en"),
            [(
                "a en".to_string(),
                vec!["zh-Hans /zh-Hans/news/a".to_string()]
            )]
        );
        // No German translation in the topic channel: the source language stands in.
        assert_eq!(
            s(&topic, "de"),
            [("a zh-Hans".to_string(), vec!["en /en/news/a".to_string()])]
        );
        assert_eq!(s(&news, "de")[1].0, "a de");
        // `select` builds the same index for one selection.
        for c in [&news, &topic] {
            for l in ["zh-Hans", "en", "de"] {
                assert_eq!(shown(&select(c, l, &ts, now)), s(c, l), "{} {l}", c.id);
            }
        }
    }

    #[test]
    fn the_later_of_two_translations_for_one_article_and_locale_counts() {
        let mut corrected = translation("a", "en", &[], 5);
        corrected.title = "a en, corrected".into();
        let ts = vec![
            translation("a", "en", &[], 5),
            translation("b", "en", &[], 1),
            translation("a", "zh-Hans", &[], 5),
            corrected,
            translation("a", "de", &[], 5),
        ];
        let index = Index::new(&ts, now());
        assert_eq!(
            shown(&index.select(&channel("news", None), "en")),
            [
                ("b en".to_string(), vec![]),
                (
                    "a en, corrected".to_string(),
                    vec![
                        "de /de/news/a".to_string(),
                        "zh-Hans /zh-Hans/news/a".to_string()
                    ]
                ),
            ]
        );
    }

    /// The grouping as a map of maps, the obvious way: what `Index::new` must equal.
    fn groups_by_maps(ts: &[Translation], now: DateTime<Utc>) -> Vec<Vec<(String, usize, String)>> {
        let mut by_article: BTreeMap<&str, BTreeMap<&str, (usize, String)>> = BTreeMap::new();
        for (i, t) in ts.iter().enumerate() {
            if t.status == Status::Draft || t.published_at > now {
                continue;
            }
            let path = format!("/{}/{}/{}", t.locale, t.channel, t.slug);
            by_article
                .entry(&t.article_id)
                .or_default()
                .insert(&t.locale, (i, path));
        }
        by_article
            .into_values()
            .map(|g| {
                g.into_iter()
                    .map(|(l, (i, p))| (l.to_owned(), i, p))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn index_groups_equal_a_map_of_maps_in_any_input_order() {
        let now = now();
        let locales = ["zh-Hans", "en", "de", "ja", "ar"];
        // A fixed pseudo-random mix: repeated (article, locale) pairs, drafts, future
        // translations, articles in two channels, in scrambled order.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let ts: Vec<Translation> = (0..2_000)
            .map(|_| {
                let article = format!("a{:03}", next(300));
                let locale = locales[next(locales.len() as u64) as usize];
                let mut t = translation(&article, locale, &[], next(48) as i64 - 6);
                t.status = if next(10) == 0 {
                    Status::Draft
                } else {
                    Status::Approved
                };
                if next(4) == 0 {
                    t.channel = "science".into();
                }
                t.slug = format!("{article}-{}", next(3));
                t
            })
            .collect();
        let index = Index::new(&ts, now);
        let got: Vec<Vec<(String, usize, String)>> = index
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|(l, (t, p))| {
                        let i = ts.iter().position(|o| std::ptr::eq(o, *t)).unwrap();
                        ((*l).to_owned(), i, p.to_string())
                    })
                    .collect()
            })
            .collect();
        let want = groups_by_maps(&ts, now);
        assert!(
            want.len() > 250,
            "the mix should hold most of the 300 articles"
        );
        assert!(want.iter().map(Vec::len).sum::<usize>() > 800);
        assert_eq!(got, want);
    }
}
