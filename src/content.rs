//! Channels and articles as editors write them: `feeds/<channel>/feed.toml` and
//! `feeds/<channel>/articles/<slug>/<locale>.md` (TOML front matter between `+++`
//! lines, then Markdown).
//!
//! Loading never stops at the first bad file: every problem is collected with its
//! file and line, and everything that is valid is still returned, so one malformed
//! translation does not keep the rest of the site from publishing.

use crate::{locale, markdown};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Topic ids an article may carry; each has a `topic-<id>` message in every catalogue.
pub const TOPICS: &[&str] = &[
    "friendship-cities",
    "science-technology",
    "new-energy",
    "bio-medicine",
    "robotics",
    "education",
    "urban-management",
    "olympics-2032",
    "youth-culture",
];

/// What a locale shows for an article that has no translation into it, once the
/// locale's own fallback chain (if it declares one) is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MissingPolicy {
    /// Show the channel's source-language translation, marked with its real language.
    #[default]
    Fallback,
    /// Leave the article out of that locale only.
    Skip,
    /// Leave the article out of every locale of the channel until all of them can show
    /// it, so readers of every language get it at the same time.
    Hold,
}

/// Which articles of other channels a channel also carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// Channels whose articles are candidates.
    pub channels: Vec<String>,
    /// An article is selected when it has at least one of these topics.
    pub topics: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelFile {
    title: String,
    description: String,
    source_locale: String,
    locales: Vec<String>,
    #[serde(default)]
    missing_translation: MissingPolicy,
    #[serde(default = "default_ttl")]
    ttl_minutes: u32,
    #[serde(default)]
    fallback: BTreeMap<String, Vec<String>>,
    select: Option<Select>,
    #[serde(default)]
    ingest: Vec<crate::ingest::SourceConfig>,
}

fn default_ttl() -> u32 {
    60
}

/// A channel: one feed per locale in each format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: String,
    /// Fluent message id of the title.
    pub title_msg: String,
    /// Fluent message id of the description.
    pub description_msg: String,
    pub source_locale: String,
    pub locales: Vec<String>,
    pub policy: MissingPolicy,
    pub ttl_minutes: u32,
    pub fallback: BTreeMap<String, Vec<String>>,
    pub select: Option<Select>,
    /// Upstream feeds this channel also takes articles from (`[[ingest]]`).
    pub ingest: Vec<crate::ingest::SourceConfig>,
    pub dir: PathBuf,
}

impl Channel {
    /// The folder of one article: `<channel>/articles/<slug>`.
    pub fn article_dir(&self, slug: &str) -> PathBuf {
        self.dir.join("articles").join(slug)
    }

    /// The locales tried, in order, for `locale`: itself, then its declared chain.
    pub fn chain<'a>(&'a self, locale: &'a str) -> Vec<&'a str> {
        let mut out = vec![locale];
        for l in self.fallback.get(locale).into_iter().flatten() {
            if !out.contains(&l.as_str()) {
                out.push(l);
            }
        }
        out
    }

    /// Whether an article living in `home` with `topics` belongs in this channel.
    pub fn includes(&self, home: &str, topics: &[String]) -> bool {
        home == self.id
            || self.select.as_ref().is_some_and(|s| {
                s.channels.iter().any(|c| c == home) && topics.iter().any(|t| s.topics.contains(t))
            })
    }

    /// Picks the translation `locale` shows of one article, given its publishable
    /// translations (no drafts) keyed by locale. `None` leaves it out.
    pub fn resolve<'t, K: std::borrow::Borrow<str> + Ord, T>(
        &self,
        locale: &str,
        translations: &'t BTreeMap<K, T>,
    ) -> Option<&'t T> {
        if self.policy == MissingPolicy::Hold
            && !self
                .locales
                .iter()
                .all(|l| self.resolve_one(l, translations).is_some())
        {
            return None;
        }
        self.resolve_one(locale, translations)
    }

    fn resolve_one<'t, K: std::borrow::Borrow<str> + Ord, T>(
        &self,
        locale: &str,
        translations: &'t BTreeMap<K, T>,
    ) -> Option<&'t T> {
        if let Some(t) = self
            .chain(locale)
            .into_iter()
            .find_map(|l| translations.get(l))
        {
            return Some(t);
        }
        match self.policy {
            MissingPolicy::Fallback => translations
                .get(self.source_locale.as_str())
                .or_else(|| translations.values().next()),
            MissingPolicy::Skip | MissingPolicy::Hold => None,
        }
    }
}

/// Editorial state of one translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Draft,
    #[default]
    Approved,
    MachineTranslated,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Approved => "approved",
            Status::MachineTranslated => "machine-translated",
        }
    }
    pub fn parse(s: &str) -> Status {
        match s {
            "draft" => Status::Draft,
            "machine-translated" => Status::MachineTranslated,
            _ => Status::Approved,
        }
    }
}

/// An image attached to a translation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Absolute URL.
    pub url: String,
    pub alt: String,
    pub mime: String,
    /// Size in bytes (RSS enclosures require it); 0 when unknown.
    pub length: u64,
}

/// One translation of an article, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Translation {
    /// The article's permanent `tag:` URI, shared by all its translations.
    pub article_id: String,
    /// The channel folder the article lives in.
    pub channel: String,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub summary: String,
    /// Sanitised HTML with absolute URLs.
    pub body_html: String,
    pub topics: Vec<String>,
    pub status: Status,
    pub published_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
    pub retracted_at: Option<DateTime<Utc>>,
    pub correction: Option<String>,
    pub image: Option<Image>,
    /// Where it came from (a file path, or `api`).
    pub source: String,
    /// Changes whenever anything above changes.
    pub source_hash: String,
}

impl Translation {
    /// When readers should consider the entry last changed.
    pub fn modified(&self) -> DateTime<Utc> {
        self.updated_at
            .unwrap_or(self.published_at)
            .max(self.published_at)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: Option<String>,
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    topics: Vec<String>,
    published_at: toml::value::Datetime,
    updated_at: Option<toml::value::Datetime>,
    retracted_at: Option<toml::value::Datetime>,
    #[serde(default)]
    status: Status,
    image: Option<String>,
    image_alt: Option<String>,
    correction: Option<String>,
}

/// A problem in a content file, reported as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// Everything read from a content folder.
#[derive(Debug, Default)]
pub struct Content {
    pub channels: Vec<Channel>,
    pub translations: Vec<Translation>,
    pub problems: Vec<Problem>,
}

impl Content {
    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }
}

/// URL layout shared by the loader, the renderers and the server.
pub fn article_path(locale: &str, channel: &str, slug: &str) -> String {
    let mut path = String::new();
    push_article_path(&mut path, locale, channel, slug);
    path
}

/// Appends [`article_path`] to `out`.
pub fn push_article_path(out: &mut String, locale: &str, channel: &str, slug: &str) {
    out.reserve(3 + locale.len() + channel.len() + slug.len());
    for part in [locale, channel, slug] {
        out.push('/');
        out.push_str(part);
    }
}

/// Reads every channel and article below `dir`. `base` is the public base URL.
/// Gives what [`load_with`] gives from an empty cache, without keeping a copy.
pub fn load(dir: &Path, base: &url::Url) -> Content {
    let mut content = Content::default();
    if !load_channels(dir, &mut content) {
        return content;
    }
    let files = list_translation_files(&content.channels, &mut content.problems);
    let all: Vec<usize> = (0..files.len()).collect();
    for result in parse_parallel(&content.channels, &files, &all, base) {
        match result {
            Ok(t) => content.translations.push(t),
            Err(p) => content.problems.push(p),
        }
    }
    check_groups(&mut content);
    content
}

/// A file's modification time and size when parsed, and what it parsed to.
type Parsed = (Option<SystemTime>, u64, Result<Translation, Problem>);

/// Translation files parsed before, with the modification time and size they had: a
/// re-scan parses only files that changed, so publishing one article into a site of
/// thousands costs one parse, not thousands.
#[derive(Debug, Default)]
pub struct ParseCache {
    files: HashMap<PathBuf, Parsed>,
    channels: Vec<Channel>,
    base: String,
}

/// Like [`load`], reusing what `cache` holds for unchanged files.
pub fn load_with(dir: &Path, base: &url::Url, cache: &mut ParseCache) -> Content {
    let mut content = Content::default();
    if !load_channels(dir, &mut content) {
        return content;
    }
    // A changed channel or base URL changes what every file parses to.
    if cache.channels != content.channels || cache.base != base.as_str() {
        cache.files.clear();
        cache.channels = content.channels.clone();
        cache.base = base.to_string();
    }
    let files = list_translation_files(&content.channels, &mut content.problems);
    let stale: Vec<usize> = files
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            cache
                .files
                .get(&f.path)
                .is_none_or(|(m, l, _)| *m != f.mtime || *l != f.len)
        })
        .map(|(i, _)| i)
        .collect();
    let parsed = parse_parallel(&content.channels, &files, &stale, base);
    for (i, result) in stale.into_iter().zip(parsed) {
        let f = &files[i];
        cache.files.insert(f.path.clone(), (f.mtime, f.len, result));
    }
    let live: BTreeSet<&PathBuf> = files.iter().map(|f| &f.path).collect();
    cache.files.retain(|p, _| live.contains(p));
    for f in &files {
        match &cache.files[&f.path].2 {
            Ok(t) => content.translations.push(t.clone()),
            Err(p) => content.problems.push(p.clone()),
        }
    }
    check_groups(&mut content);
    content
}

/// Adds the channels below `dir` (each folder with a `feed.toml`) and their problems
/// to `content`. False when `dir` cannot be read (also reported as a problem).
fn load_channels(dir: &Path, content: &mut Content) -> bool {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            content.problems.push(Problem {
                path: dir.into(),
                line: 0,
                message: format!("cannot read: {e}"),
            });
            return false;
        }
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for chan_dir in dirs {
        let file = chan_dir.join("feed.toml");
        if !file.exists() {
            continue;
        }
        match load_channel(&chan_dir, &file) {
            Ok(c) => content.channels.push(c),
            Err(p) => content.problems.push(p),
        }
    }
    let known: BTreeSet<String> = content.channels.iter().map(|c| c.id.clone()).collect();
    for c in &content.channels {
        if let Some(sel) = &c.select {
            for other in &sel.channels {
                if !known.contains(other) {
                    content.problems.push(Problem {
                        path: c.dir.join("feed.toml"),
                        line: 0,
                        message: format!("select.channels: no channel {other:?}"),
                    });
                }
            }
        }
    }
    true
}

struct SourceFile {
    channel: usize,
    slug: String,
    path: PathBuf,
    mtime: Option<SystemTime>,
    len: u64,
}

/// Every `articles/<slug>/<locale>.md` of every channel, sorted, with its metadata.
/// The article folders are listed in parallel, like the files are parsed.
fn list_translation_files(channels: &[Channel], problems: &mut Vec<Problem>) -> Vec<SourceFile> {
    let mut dirs: Vec<(usize, PathBuf)> = vec![];
    for (ci, channel) in channels.iter().enumerate() {
        let Ok(entries) = std::fs::read_dir(channel.dir.join("articles")) else {
            continue;
        };
        // The entry's own type (no stat) unless it is a link, which is followed.
        let mut slugs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_type()
                    .is_ok_and(|t| t.is_dir() || (t.is_symlink() && e.path().is_dir()))
            })
            .map(|e| e.path())
            .collect();
        slugs.sort();
        dirs.extend(slugs.into_iter().map(|d| (ci, d)));
    }
    let mut out = vec![];
    for (files, found) in
        crate::parallel::map(&dirs, crate::parallel::threads(true), |(ci, dir)| {
            let (mut files, mut found) = (vec![], vec![]);
            list_article_files(*ci, dir, &mut found, &mut files);
            (files, found)
        })
    {
        out.extend(files);
        problems.extend(found);
    }
    out
}

/// The `<locale>.md` files of one article folder, sorted, appended to `out`. A folder
/// that does not exist (any more) adds nothing.
fn list_article_files(
    channel: usize,
    slug_dir: &Path,
    problems: &mut Vec<Problem>,
    out: &mut Vec<SourceFile>,
) {
    let slug = slug_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    let Ok(files) = std::fs::read_dir(slug_dir) else {
        return;
    };
    if !valid_slug(&slug) {
        problems.push(problem(
            slug_dir,
            0,
            format!("slug {slug:?} must be lower-case letters, digits and '-'"),
        ));
        return;
    }
    let mut files: Vec<(PathBuf, std::fs::Metadata)> = files
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().and_then(|x| x.to_str()) == Some("md"))
        .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
        .filter(|(_, m)| m.is_file())
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, meta) in files {
        out.push(SourceFile {
            channel,
            slug: slug.clone(),
            path,
            mtime: meta.modified().ok(),
            len: meta.len(),
        });
    }
}

/// Re-reads only the article folders `articles` (channel id, slug), for a sync that
/// knows what changed (the folder watcher): the work is proportional to those
/// folders, not to the site. Uses and updates `cache` like [`load_with`]: files that
/// are gone leave it. The result's `translations` and `problems` cover exactly those
/// folders (checked like a full load, except that an id used by an article outside
/// them is for the caller to detect); its `channels` is empty.
///
/// Returns `None` when `cache` was not filled by a full load of these `channels` and
/// `base`, or names a channel not among them: the caller then loads everything.
pub fn load_articles(
    channels: &[Channel],
    articles: &BTreeSet<(String, String)>,
    base: &url::Url,
    cache: &mut ParseCache,
) -> Option<Content> {
    if cache.channels != channels || cache.base != base.as_str() {
        return None;
    }
    let mut content = Content::default();
    let mut files = vec![];
    let mut dirs = vec![];
    for (channel, slug) in articles {
        let ci = channels.iter().position(|c| &c.id == channel)?;
        let slug_dir = channels[ci].article_dir(slug);
        list_article_files(ci, &slug_dir, &mut content.problems, &mut files);
        dirs.push(slug_dir);
    }
    let live: BTreeSet<&PathBuf> = files.iter().map(|f| &f.path).collect();
    cache
        .files
        .retain(|p, _| live.contains(p) || !dirs.iter().any(|d| p.parent() == Some(d)));
    for f in &files {
        let fresh = cache
            .files
            .get(&f.path)
            .is_some_and(|(m, l, _)| *m == f.mtime && *l == f.len);
        if !fresh {
            let parsed = load_translation(&channels[f.channel], &f.slug, &f.path, base);
            cache.files.insert(f.path.clone(), (f.mtime, f.len, parsed));
        }
        match &cache.files[&f.path].2 {
            Ok(t) => content.translations.push(t.clone()),
            Err(p) => content.problems.push(p.clone()),
        }
    }
    check_groups(&mut content);
    Some(content)
}

/// Parses `files[i]` for each `i` in `which`, in parallel, in order.
fn parse_parallel(
    channels: &[Channel],
    files: &[SourceFile],
    which: &[usize],
    base: &url::Url,
) -> Vec<Result<Translation, Problem>> {
    crate::parallel::map(which, crate::parallel::threads(true), |&i| {
        let f = &files[i];
        load_translation(&channels[f.channel], &f.slug, &f.path, base)
    })
}

fn load_channel(dir: &Path, file: &Path) -> Result<Channel, Problem> {
    let text =
        std::fs::read_to_string(file).map_err(|e| problem(file, 0, format!("cannot read: {e}")))?;
    let def: ChannelFile = toml::from_str(&text).map_err(|e| toml_problem(file, &text, 0, &e))?;
    let id = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if !valid_slug(&id) {
        return Err(problem(
            file,
            0,
            format!("channel folder {id:?} must be lower-case letters, digits and '-'"),
        ));
    }
    let line = |key: &str| line_of_key(&text, key, 0);
    for l in def
        .locales
        .iter()
        .chain(std::iter::once(&def.source_locale))
    {
        if !locale::is_supported(l) {
            return Err(problem(
                file,
                line("locales"),
                format!("unsupported locale {l:?}"),
            ));
        }
    }
    for (l, chain) in &def.fallback {
        if let Some(bad) = std::iter::once(l)
            .chain(chain)
            .find(|x| !locale::is_supported(x))
        {
            return Err(problem(
                file,
                line(l),
                format!("fallback: unsupported locale {bad:?}"),
            ));
        }
    }
    if let Some(sel) = &def.select
        && let Some(t) = sel.topics.iter().find(|t| !TOPICS.contains(&t.as_str()))
    {
        return Err(problem(
            file,
            line("topics"),
            format!("select.topics: unknown topic {t:?}"),
        ));
    }
    Ok(Channel {
        id,
        title_msg: def.title,
        description_msg: def.description,
        source_locale: def.source_locale,
        locales: def.locales,
        policy: def.missing_translation,
        ttl_minutes: def.ttl_minutes,
        fallback: def.fallback,
        select: def.select,
        ingest: def.ingest,
        dir: dir.to_owned(),
    })
}

thread_local! {
    /// The text of the file being parsed on this thread. Everything kept from a file
    /// is copied out of it, so one buffer serves every file: reading into memory that
    /// is already mapped and warm in the cache costs less than a new string per file.
    static FILE_TEXT: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
}

/// A file's text in this thread's [`FILE_TEXT`] buffer, given back when dropped.
struct FileText(String);

impl FileText {
    fn read(file: &Path) -> Result<Self, Problem> {
        use std::io::Read;
        let mut text = Self(FILE_TEXT.take());
        text.0.clear();
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_string(&mut text.0))
            .map_err(|e| problem(file, 0, format!("cannot read: {e}")))?;
        Ok(text)
    }
}

impl Drop for FileText {
    fn drop(&mut self) {
        // A very large file's buffer is not kept.
        if self.0.capacity() <= 1 << 20 {
            let _ = FILE_TEXT.try_with(|b| b.set(std::mem::take(&mut self.0)));
        }
    }
}

/// Parses one translation file.
pub fn load_translation(
    channel: &Channel,
    slug: &str,
    file: &Path,
    base: &url::Url,
) -> Result<Translation, Problem> {
    let file_text = FileText::read(file)?;
    let text = file_text.0.as_str();
    let locale = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_owned();
    if !channel.locales.contains(&locale) {
        return Err(problem(
            file,
            1,
            format!(
                "locale {locale:?} is not one of channel {:?}'s locales ({})",
                channel.id,
                channel.locales.join(", ")
            ),
        ));
    }
    let (front, body, body_line) =
        split_front_matter(text).map_err(|(line, m)| problem(file, line, m))?;
    let fm: FrontMatter = toml::from_str(front).map_err(|e| toml_problem(file, front, 1, &e))?;
    let line = |key: &str| line_of_key(front, key, 1);
    let date = |key: &str, d: &toml::value::Datetime| {
        to_utc(d).ok_or_else(|| {
            problem(
                file,
                line(key),
                format!(
                    "{key} needs a date, a time and a UTC offset, like 2026-09-12T18:30:00+08:00"
                ),
            )
        })
    };
    let published_at = date("published_at", &fm.published_at)?;
    let updated_at = fm
        .updated_at
        .as_ref()
        .map(|d| date("updated_at", d))
        .transpose()?;
    let retracted_at = fm
        .retracted_at
        .as_ref()
        .map(|d| date("retracted_at", d))
        .transpose()?;
    if let Some(u) = updated_at
        && u < published_at
    {
        return Err(problem(
            file,
            line("updated_at"),
            "updated_at is before published_at".into(),
        ));
    }
    if fm.title.trim().is_empty() {
        return Err(problem(file, line("title"), "title is empty".into()));
    }
    if let Some(t) = fm.topics.iter().find(|t| !TOPICS.contains(&t.as_str())) {
        return Err(problem(
            file,
            line("topics"),
            format!("unknown topic {t:?} (known: {})", TOPICS.join(", ")),
        ));
    }
    let id = fm.id.clone().unwrap_or_default();
    if !id.is_empty() && !valid_tag_uri(&id) {
        return Err(problem(
            file,
            line("id"),
            format!("id {id:?} is not a tag: URI (RFC 4151), like tag:example.org,2026-09-12:slug"),
        ));
    }
    let page = base
        .join(&article_path(&locale, &channel.id, slug))
        .map_err(|e| problem(file, 0, e.to_string()))?;
    let image = match &fm.image {
        None => None,
        Some(rel) => {
            let alt = fm.image_alt.clone().filter(|a| !a.trim().is_empty());
            let Some(alt) = alt else {
                return Err(problem(
                    file,
                    line("image"),
                    "image needs image_alt (a description for people who cannot see it)".into(),
                ));
            };
            Some(image(channel, rel, alt, base).map_err(|m| problem(file, line("image"), m))?)
        }
    };
    let body_html = markdown::to_safe_html(body, &page);
    let mut t = Translation {
        article_id: id,
        channel: channel.id.clone(),
        slug: slug.to_owned(),
        locale,
        title: fm.title.trim().to_owned(),
        summary: fm.summary.trim().to_owned(),
        body_html,
        topics: fm.topics,
        status: fm.status,
        published_at,
        updated_at,
        retracted_at,
        correction: fm.correction,
        image,
        source: file.display().to_string(),
        source_hash: String::new(),
    };
    let _ = body_line;
    t.source_hash = hash_translation(&t);
    Ok(t)
}

/// A stable digest of everything a reader could see of a translation: the SHA-256 of
/// its JSON with `source_hash` empty. Stores keep these digests, so the bytes hashed
/// must not change; the translation is serialised through borrowed fields (the same
/// names, order and encodings as its own `Serialize`) rather than cloned. A unit test
/// compares the digest with that of the cloned translation, so a field added to
/// `Translation` and not here fails it.
pub fn hash_translation(t: &Translation) -> String {
    #[derive(Serialize)]
    struct Hashed<'a> {
        article_id: &'a str,
        channel: &'a str,
        slug: &'a str,
        locale: &'a str,
        title: &'a str,
        summary: &'a str,
        body_html: &'a str,
        topics: &'a [String],
        status: Status,
        published_at: &'a DateTime<Utc>,
        updated_at: &'a Option<DateTime<Utc>>,
        retracted_at: &'a Option<DateTime<Utc>>,
        correction: &'a Option<String>,
        image: &'a Option<Image>,
        source: &'a str,
        source_hash: &'a str,
    }
    let mut hasher = Sha256::new();
    serde_json::to_writer(
        &mut hasher,
        &Hashed {
            article_id: &t.article_id,
            channel: &t.channel,
            slug: &t.slug,
            locale: &t.locale,
            title: &t.title,
            summary: &t.summary,
            body_html: &t.body_html,
            topics: &t.topics,
            status: t.status,
            published_at: &t.published_at,
            updated_at: &t.updated_at,
            retracted_at: &t.retracted_at,
            correction: &t.correction,
            image: &t.image,
            source: &t.source,
            source_hash: "",
        },
    )
    .expect("hashing cannot fail");
    hex::encode(&hasher.finalize()[..12])
}

fn image(channel: &Channel, rel: &str, alt: String, base: &url::Url) -> Result<Image, String> {
    if rel.starts_with("http://") || rel.starts_with("https://") {
        return Ok(Image {
            url: rel.to_owned(),
            alt,
            mime: mime_for(rel).to_owned(),
            length: 0,
        });
    }
    let rel = rel.trim_start_matches('/');
    if rel.split('/').any(|part| part == ".." || part.is_empty()) || !rel.starts_with("media/") {
        return Err(format!(
            "image {rel:?} must be a path under the channel's media/ folder"
        ));
    }
    let path = channel.dir.join(rel);
    let meta = std::fs::metadata(&path).map_err(|e| format!("image {}: {e}", path.display()))?;
    let url = base
        .join(&format!(
            "/media/{}/{}",
            channel.id,
            rel.trim_start_matches("media/")
        ))
        .map_err(|e| e.to_string())?;
    Ok(Image {
        url: url.to_string(),
        alt,
        mime: mime_for(rel).to_owned(),
        length: meta.len(),
    })
}

/// Content type by file extension, for media served from `media/` folders.
pub fn mime_for(path: &str) -> &'static str {
    match path
        .rsplit('.')
        .next()
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("avif") => "image/avif",
        _ => "application/octet-stream",
    }
}

/// All translations of one article must agree on its id and topics; one without an
/// id takes the group's. A group where no file names an id is an error.
fn check_groups(content: &mut Content) {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, t) in content.translations.iter().enumerate() {
        groups
            .entry((t.channel.clone(), t.slug.clone()))
            .or_default()
            .push(i);
    }
    let mut drop = BTreeSet::new();
    let mut seen_ids: BTreeMap<String, (String, String)> = BTreeMap::new();
    for ((channel, slug), idx) in groups {
        let ids: BTreeSet<String> = idx
            .iter()
            .map(|&i| content.translations[i].article_id.clone())
            .filter(|s| !s.is_empty())
            .collect();
        let first = content.translations[idx[0]].clone();
        let bad = |m: String| Problem {
            path: PathBuf::from(&first.source),
            line: 1,
            message: m,
        };
        if ids.len() != 1 {
            let m = if ids.is_empty() {
                format!(
                    "article {channel}/{slug}: no translation sets `id` (a tag: URI that never changes)"
                )
            } else {
                format!(
                    "article {channel}/{slug}: translations disagree on id: {}",
                    ids.into_iter().collect::<Vec<_>>().join(", ")
                )
            };
            content.problems.push(bad(m));
            drop.extend(idx);
            continue;
        }
        let id = ids.into_iter().next().unwrap_or_default();
        if let Some((c, s)) = seen_ids.get(&id) {
            content.problems.push(bad(format!(
                "article {channel}/{slug}: id {id} is already used by {c}/{s}"
            )));
            drop.extend(idx);
            continue;
        }
        seen_ids.insert(id.clone(), (channel.clone(), slug.clone()));
        let topics = first.topics.clone();
        for &i in &idx {
            let t = &mut content.translations[i];
            if t.topics != topics {
                let m = format!(
                    "topics differ from {} ({:?} vs {:?})",
                    first.source, t.topics, topics
                );
                content.problems.push(Problem {
                    path: PathBuf::from(&t.source),
                    line: 1,
                    message: m,
                });
            }
            if t.article_id != id {
                t.article_id = id.clone();
                t.source_hash = hash_translation(t);
            }
        }
    }
    let mut i = 0;
    content.translations.retain(|_| {
        i += 1;
        !drop.contains(&(i - 1))
    });
}

/// Splits `+++` TOML front matter from the Markdown body. Returns the body's first line.
fn split_front_matter(text: &str) -> Result<(&str, &str, usize), (usize, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.starts_with("---") {
        return Err((
            1,
            "YAML front matter (---) is not supported: use TOML between +++ lines".into(),
        ));
    }
    let Some(rest) = text
        .strip_prefix("+++\n")
        .or_else(|| text.strip_prefix("+++\r\n"))
    else {
        return Err((
            1,
            "missing front matter: the file must start with a line +++".into(),
        ));
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "+++" {
            let front = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Ok((front, body, front.lines().count() + 3));
        }
        offset += line.len();
    }
    Err((
        1,
        "front matter is not closed: add a line +++ after it".into(),
    ))
}

fn line_of_key(text: &str, key: &str, offset: usize) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map_or(offset.max(1), |i| i + 1 + offset)
}

fn toml_problem(file: &Path, text: &str, offset: usize, e: &toml::de::Error) -> Problem {
    let line = e.span().map_or(1, |s| {
        text[..s.start.min(text.len())].lines().count().max(1)
            + usize::from(text[..s.start.min(text.len())].ends_with('\n'))
    });
    let line = line.min(text.lines().count().max(1));
    problem(file, line + offset, e.message().trim().to_owned())
}

fn problem(path: &Path, line: usize, message: String) -> Problem {
    Problem {
        path: path.to_owned(),
        line,
        message,
    }
}

fn to_utc(d: &toml::value::Datetime) -> Option<DateTime<Utc>> {
    d.offset?;
    d.time?;
    DateTime::parse_from_rfc3339(&d.to_string())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub fn valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `tag:authority,date:specific` per RFC 4151 (checked loosely: shape, not every rule).
pub fn valid_tag_uri(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("tag:") else {
        return false;
    };
    let Some((authority_date, specific)) = rest.split_once(':') else {
        return false;
    };
    let Some((authority, date)) = authority_date.rsplit_once(',') else {
        return false;
    };
    !authority.is_empty()
        && date.len() >= 4
        && date.bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && !specific.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_digest_is_that_of_its_json_with_an_empty_hash() {
        let reference = |t: &Translation| {
            let mut copy = t.clone();
            copy.source_hash = String::new();
            hex::encode(&Sha256::digest(serde_json::to_vec(&copy).unwrap())[..12])
        };
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut t = Translation {
            article_id: "tag:example.org,2026:a1".into(),
            channel: "news".into(),
            slug: "round-table".into(),
            locale: "ar".into(),
            title: "مائدة \"مستديرة\" \u{202e}".into(),
            summary: "Résumé\n\t".into(),
            body_html: "<p>A &amp; B</p>".into(),
            topics: vec!["education".into(), "robotics".into()],
            status: Status::MachineTranslated,
            published_at: at("2026-09-12T10:00:00+08:00"),
            updated_at: None,
            retracted_at: None,
            correction: None,
            image: None,
            source: "feeds/news/articles/round-table/ar.md".into(),
            source_hash: "kept out of the digest".into(),
        };
        let first = hash_translation(&t);
        assert_eq!(first, reference(&t));
        t.updated_at = Some(at("2026-09-13T09:30:00Z"));
        t.retracted_at = Some(at("2026-10-01T00:00:00Z"));
        t.correction = Some("Date corrected".into());
        t.image = Some(Image {
            url: "https://example.org/media/news/a.jpg".into(),
            alt: "Delegates".into(),
            mime: "image/jpeg".into(),
            length: 12_345,
        });
        t.status = Status::Draft;
        assert_eq!(hash_translation(&t), reference(&t));
        assert_ne!(hash_translation(&t), first);
        t.source_hash = "anything".into();
        assert_eq!(hash_translation(&t), reference(&t));
    }

    #[test]
    fn article_folders_listed_in_parallel_keep_their_order_and_problems() {
        let root = tempfile::tempdir().unwrap();
        let channel = root.path().join("news");
        for slug in ["b-2", "a-1", "Bad_Slug", "c-3"] {
            let dir = channel.join("articles").join(slug);
            std::fs::create_dir_all(&dir).unwrap();
            for locale in ["en", "de"] {
                std::fs::write(dir.join(format!("{locale}.md")), "x").unwrap();
            }
            std::fs::write(dir.join("notes.txt"), "not an article").unwrap();
        }
        std::fs::write(channel.join("articles").join("stray.md"), "x").unwrap();
        let mut c = chan(MissingPolicy::Fallback);
        c.dir = channel.clone();
        let mut problems = vec![];
        let files = list_translation_files(&[c], &mut problems);
        let listed: Vec<String> = files
            .iter()
            .map(|f| {
                format!(
                    "{}/{}",
                    f.slug,
                    f.path.file_name().unwrap().to_string_lossy()
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                "a-1/de.md",
                "a-1/en.md",
                "b-2/de.md",
                "b-2/en.md",
                "c-3/de.md",
                "c-3/en.md"
            ]
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].path.ends_with("Bad_Slug"), "{problems:?}");
        assert!(files.iter().all(|f| f.len == 1 && f.mtime.is_some()));
    }

    fn chan(policy: MissingPolicy) -> Channel {
        Channel {
            id: "c".into(),
            title_msg: "t".into(),
            description_msg: "d".into(),
            source_locale: "zh-Hans".into(),
            locales: vec!["zh-Hans".into(), "zh-Hant".into(), "en".into(), "de".into()],
            policy,
            ttl_minutes: 60,
            fallback: [(
                "zh-Hant".to_string(),
                vec!["zh-Hans".to_string(), "en".to_string()],
            )]
            .into(),
            select: None,
            ingest: vec![],
            dir: PathBuf::new(),
        }
    }

    #[test]
    fn policies_decide_what_an_untranslated_locale_shows() {
        let ts: BTreeMap<String, &str> =
            [("zh-Hans".to_string(), "zh"), ("en".to_string(), "en")].into();
        let f = chan(MissingPolicy::Fallback);
        assert_eq!(f.resolve("zh-Hant", &ts), Some(&"zh"));
        assert_eq!(f.resolve("de", &ts), Some(&"zh"));
        let s = chan(MissingPolicy::Skip);
        assert_eq!(
            s.resolve("zh-Hant", &ts),
            Some(&"zh"),
            "chains apply under every policy"
        );
        assert_eq!(s.resolve("de", &ts), None);
        assert_eq!(s.resolve("en", &ts), Some(&"en"));
        let h = chan(MissingPolicy::Hold);
        assert_eq!(
            h.resolve("en", &ts),
            None,
            "held everywhere while de is missing"
        );
        let mut all = ts.clone();
        all.insert("de".into(), "de");
        assert_eq!(h.resolve("en", &all), Some(&"en"));
    }

    #[test]
    fn tag_uris() {
        assert!(valid_tag_uri(
            "tag:gdfao.example.org,2026-09-12:round-table"
        ));
        assert!(!valid_tag_uri("urn:uuid:1"));
        assert!(!valid_tag_uri("tag:example.org:x"));
    }

    #[test]
    fn front_matter_split_reports_lines() {
        assert_eq!(
            split_front_matter("+++\na = 1\n+++\nbody").unwrap().0,
            "a = 1\n"
        );
        assert_eq!(split_front_matter("---\n").unwrap_err().0, 1);
        assert!(split_front_matter("+++\na = 1\n").is_err());
    }
}
