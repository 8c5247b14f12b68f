//! From content to served documents: sync the content folder into the store, announce
//! what came due, and render exactly the feeds a change touches. Each step that has a
//! consequence enqueues it as a job in the same transaction, so a crash between steps
//! loses nothing.

use crate::app::App;
use crate::content::{self, Channel, Translation};
use crate::document::{Document, Draft, Purpose};
use crate::feed::{self, Format, html};
use crate::jobs::Job;
use crate::metrics::Metrics;
use crate::store::Store;
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;

/// What one sync of the content folder did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    /// Translations added, changed or removed.
    pub changed: usize,
    /// `(channel, locale)` feeds queued for re-rendering.
    pub feeds: BTreeSet<(String, String)>,
    /// Those of `feeds` in the language of a changed translation, which its readers
    /// wait for: the sync job runs them before returning.
    pub first: BTreeSet<(String, String)>,
    pub problems: usize,
    /// True when the folder had not changed since the last sync and nothing was read.
    pub unchanged: bool,
}

/// Reads the content folder and brings the store up to date. Unchanged folders are
/// detected by a fingerprint of names, sizes and modification times and skipped,
/// unless `force`.
///
/// When the folder watcher said which article folders changed, and nothing else did,
/// only those folders are read ([`sync_articles`]); the next timed sync then checks the
/// whole folder again.
///
/// The renders it causes are queued without waking the worker: the caller runs
/// `first` (the sync job does, through `jobs::run_now`) and then wakes it, so the
/// feeds in the changed language do not share the CPU with the others.
pub async fn sync_content(app: &App, force: bool) -> Result<SyncSummary> {
    let changed = app.content_changes.lock().expect("changes lock").take();
    if !force
        && let Some(articles) = changed.articles(&app.config.content_dir)
        && let Some(summary) = sync_articles(app, &articles).await?
    {
        return Ok(summary);
    }
    let dir = app.config.content_dir.clone();
    let fp = fingerprint(&dir);
    if !force && *app.content_fingerprint.lock().expect("fingerprint lock") == Some(fp) {
        return Ok(SyncSummary {
            unchanged: true,
            ..Default::default()
        });
    }
    let base = url::Url::parse(app.config.base())?;
    let t0 = std::time::Instant::now();
    let mut cache = std::mem::take(&mut *app.parse_cache.lock().expect("parse cache lock"));
    let (loaded, cache) = tokio::task::spawn_blocking(move || {
        let loaded = content::load_with(&dir, &base, &mut cache);
        (loaded, cache)
    })
    .await?;
    *app.parse_cache.lock().expect("parse cache lock") = cache;
    tracing::debug!(elapsed = ?t0.elapsed(), files = loaded.translations.len(), "content loaded");
    let now = app.now();
    let report = store_loaded(app, &loaded, None, now).await?;
    app.patch_translations(&report).await;
    crate::social::enqueue_followups(app, &report.changes).await?;
    let mut summary = SyncSummary {
        changed: report.changes.len(),
        problems: loaded.problems.len(),
        ..Default::default()
    };
    // A new or changed channel definition re-renders all of that channel.
    let old_channels = app.channels();
    let mut feeds = BTreeSet::new();
    for c in &loaded.channels {
        if old_channels.iter().find(|o| o.id == c.id) != Some(c) {
            feeds.extend(c.locales.iter().map(|l| (c.id.clone(), l.clone())));
        }
    }
    let (touched, first) = affected_by(&loaded.channels, &report.changes, now);
    feeds.extend(touched);
    app.set_content(loaded.channels, loaded.problems);
    queue_renders(app, &feeds).await?;
    summary.feeds = feeds;
    summary.first = first;
    *app.content_fingerprint.lock().expect("fingerprint lock") = Some(fp);
    Ok(summary)
}

/// Reports `loaded`'s problems and makes the store match it (within `scope`, see
/// [`Store::sync_translations`]); a file with a problem keeps its last good version.
async fn store_loaded(
    app: &App,
    loaded: &content::Content,
    scope: Option<&[String]>,
    now: DateTime<Utc>,
) -> Result<crate::store::SyncReport> {
    for p in &loaded.problems {
        tracing::warn!(problem = %p, "content problem; the last good version stays published");
    }
    let broken: BTreeSet<String> = loaded
        .problems
        .iter()
        .map(|p| p.path.display().to_string())
        .collect();
    app.store
        .sync_translations(&loaded.translations, &broken, scope, now)
        .await
}

/// Brings the store up to date with the article folders `articles` (channel id, slug)
/// alone: parses what changed in them, compares with what the store holds from them,
/// and queues the feeds the changes touch, the changed translation's own locale
/// first. Returns `None`, having changed nothing, when a full sync is needed instead:
/// nothing was loaded yet, or an article's id is used by an article outside these
/// folders (which of the two wins depends on the whole folder).
pub async fn sync_articles(
    app: &App,
    articles: &BTreeSet<(String, String)>,
) -> Result<Option<SyncSummary>> {
    let t0 = std::time::Instant::now();
    let channels = app.channels();
    let base = url::Url::parse(app.config.base())?;
    let loaded = {
        let mut cache = app.parse_cache.lock().expect("parse cache lock");
        // A few files: parsing on this thread costs less than handing them over.
        match content::load_articles(&channels, articles, &base, &mut cache) {
            Some(c) => c,
            None => return Ok(None),
        }
    };
    let prefixes: Vec<String> = articles
        .iter()
        .filter_map(|(c, slug)| {
            let ch = channels.iter().find(|x| &x.id == c)?;
            Some(format!(
                "{}{}",
                ch.article_dir(slug).display(),
                std::path::MAIN_SEPARATOR
            ))
        })
        .collect();
    let ids: HashSet<&str> = loaded
        .translations
        .iter()
        .map(|t| t.article_id.as_str())
        .collect();
    let clash = app.translations().await?.iter().any(|t| {
        ids.contains(t.article_id.as_str())
            && crate::store::is_file_source(&t.source)
            && !prefixes.iter().any(|p| t.source.starts_with(p.as_str()))
    });
    if clash {
        return Ok(None);
    }
    let now = app.now();
    let report = store_loaded(app, &loaded, Some(&prefixes), now).await?;
    app.replace_problems(&prefixes, loaded.problems.clone());
    app.patch_translations(&report).await;
    crate::social::enqueue_followups(app, &report.changes).await?;
    let (feeds, first) = affected_by(&channels, &report.changes, now);
    // The next timed sync checks the whole folder again.
    *app.content_fingerprint.lock().expect("fingerprint lock") = None;
    queue_renders(app, &feeds).await?;
    tracing::debug!(
        articles = articles.len(),
        changed = report.changes.len(),
        elapsed = ?t0.elapsed(),
        "article folders synced"
    );
    Ok(Some(SyncSummary {
        changed: report.changes.len(),
        feeds,
        first,
        problems: loaded.problems.len(),
        unchanged: false,
    }))
}

type Changes = [(Option<Translation>, Option<Translation>)];
/// `(channel, locale)` feeds.
type Feeds = BTreeSet<(String, String)>;

/// Every feed `changes` touch, and those of them in the language of a changed
/// translation (the others show it through a fallback or list it as an alternate).
fn affected_by(channels: &[Channel], changes: &Changes, now: DateTime<Utc>) -> (Feeds, Feeds) {
    let mut all = BTreeSet::new();
    let mut first = BTreeSet::new();
    for (before, after) in changes {
        let own = after
            .as_ref()
            .or(before.as_ref())
            .map(|t| t.locale.as_str());
        for feed in affected(channels, before.as_ref(), after.as_ref(), now) {
            if Some(feed.1.as_str()) == own {
                first.insert(feed.clone());
            }
            all.insert(feed);
        }
    }
    (all, first)
}

/// What the folder watcher saw change since the last sync.
#[derive(Debug, Default)]
pub struct ContentChanges {
    paths: BTreeSet<std::path::PathBuf>,
    /// Something beyond article folders changed, or events were lost.
    everything: bool,
}

impl ContentChanges {
    pub fn add(&mut self, path: std::path::PathBuf) {
        if self.paths.len() < 1000 {
            self.paths.insert(path);
        } else {
            self.everything = true;
        }
    }

    pub fn add_everything(&mut self) {
        self.everything = true;
    }

    pub fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// The article folders (channel id, slug) the changes lie in, or `None` when they
    /// are not all inside `<dir>/<channel>/articles/<slug>/` (a channel definition,
    /// a new channel, media) or there were none: then everything is synced.
    pub fn articles(&self, dir: &Path) -> Option<BTreeSet<(String, String)>> {
        if self.everything || self.paths.is_empty() {
            return None;
        }
        // The watcher may report absolute or resolved paths for a relative folder.
        let bases: Vec<std::path::PathBuf> = [
            Some(dir.to_path_buf()),
            std::path::absolute(dir).ok(),
            std::fs::canonicalize(dir).ok(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut out = BTreeSet::new();
        for p in &self.paths {
            let rel = bases.iter().find_map(|b| p.strip_prefix(b).ok())?;
            let parts: Vec<&str> = rel
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect::<Option<_>>()?;
            match parts[..] {
                [channel, "articles", slug, ..] => {
                    out.insert((channel.to_owned(), slug.to_owned()));
                }
                _ => return None,
            }
        }
        Some(out)
    }
}

/// The `(channel, locale)` feeds whose documents change when one translation goes from
/// `before` to `after` (either may be absent: added, removed). A translation nobody
/// can see yet (a draft, or scheduled) touches nothing; `publish_due` announces it.
pub fn affected(
    channels: &[Channel],
    before: Option<&Translation>,
    after: Option<&Translation>,
    now: DateTime<Utc>,
) -> BTreeSet<(String, String)> {
    let visible = |t: &&Translation| t.status != content::Status::Draft && t.published_at <= now;
    let (b, a) = (before.filter(visible), after.filter(visible));
    let mut out = BTreeSet::new();
    let Some(t) = a.or(b) else { return out };
    // Adding or removing a translation changes every entry's list of alternates.
    let set_changed = b.is_none() || a.is_none();
    for c in channels {
        let included = [b, a]
            .into_iter()
            .flatten()
            .any(|t| c.includes(&t.channel, &t.topics));
        if !included {
            continue;
        }
        for l in &c.locales {
            let shows = set_changed
                || c.chain(l).contains(&t.locale.as_str())
                || (c.policy == content::MissingPolicy::Fallback && c.source_locale == t.locale);
            if shows {
                out.insert((c.id.clone(), l.clone()));
            }
        }
    }
    out
}

/// Announces translations whose time has come and queues the feeds they touch, in one
/// transaction. Returns how many translations went live.
pub async fn publish_due(app: &App) -> Result<usize> {
    let now = app.now();
    let channels = app.channels();
    let mut tx = app.store.transaction().await?;
    let due = Store::announce_due(&mut tx, now).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut feeds = BTreeSet::new();
    for t in &due {
        tracing::info!(article = %t.article_id, locale = %t.locale, "publishing");
        feeds.extend(affected(&channels, None, Some(t), now));
    }
    for (c, l) in &feeds {
        Job::RenderFeed {
            channel: c.clone(),
            locale: l.clone(),
        }
        .enqueue(&mut tx, now)
        .await?;
    }
    crate::social::enqueue_posts(app, &mut tx, &due, now).await?;
    if app.config.email.enabled {
        // Instant digests go out now rather than at the next sweep.
        Job::PlanDigests.enqueue(&mut tx, now).await?;
    }
    tx.commit().await?;
    app.wake.notify_one();
    Ok(due.len())
}

/// Stores translations that arrived through the admin API or an upstream feed, then
/// queues what a content sync queues for the same change, through the same functions:
/// follow-up social jobs for corrected or retracted posts, renders of exactly the
/// affected feeds, and the announcement (with its posts) of what is now due.
pub async fn apply_external(app: &App, ts: &[Translation]) -> Result<SyncSummary> {
    let now = app.now();
    let changes: Vec<_> = app
        .store
        .put_translations(ts, now)
        .await?
        .into_iter()
        .filter(|(b, a)| b != a)
        .collect();
    crate::social::enqueue_followups(app, &changes).await?;
    let channels = app.channels();
    let mut feeds = BTreeSet::new();
    for (before, after) in &changes {
        feeds.extend(affected(&channels, before.as_ref(), after.as_ref(), now));
    }
    enqueue_renders(app, &feeds).await?;
    publish_due(app).await?;
    Ok(SyncSummary {
        changed: changes.len(),
        feeds,
        ..Default::default()
    })
}

/// Queues a re-render of each feed (coalescing with ones already queued) and wakes
/// the worker.
pub async fn enqueue_renders(app: &App, feeds: &BTreeSet<(String, String)>) -> Result<()> {
    queue_renders(app, feeds).await?;
    app.wake.notify_one();
    Ok(())
}

/// [`enqueue_renders`] without waking the worker: a content sync queues every render
/// it causes, then its job runs the first ones itself before the worker takes the rest.
async fn queue_renders(app: &App, feeds: &BTreeSet<(String, String)>) -> Result<()> {
    if feeds.is_empty() {
        return Ok(());
    }
    let now = app.now();
    let mut tx = app.store.transaction().await?;
    for (c, l) in feeds {
        Job::RenderFeed {
            channel: c.clone(),
            locale: l.clone(),
        }
        .enqueue(&mut tx, now)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every feed of every channel, for a full re-render.
pub fn all_feeds(channels: &[Channel]) -> BTreeSet<(String, String)> {
    channels
        .iter()
        .flat_map(|c| c.locales.iter().map(|l| (c.id.clone(), l.clone())))
        .collect()
}

/// Renders one channel in one locale, stores and caches what changed, drops archive
/// pages that no longer exist, and queues WebSub pings for changed current feeds and a
/// re-render of the locale's pages. Returns the paths whose bytes changed.
pub async fn render_feed(app: &App, channel_id: &str, locale: &str) -> Result<Vec<String>> {
    let Some(channel) = app.channel(channel_id) else {
        anyhow::bail!("render: no channel {channel_id:?}");
    };
    if !channel.locales.iter().any(|l| l == locale) {
        anyhow::bail!("render: channel {channel_id:?} has no locale {locale:?}");
    }
    let t0 = std::time::Instant::now();
    let translations = app.translations().await?;
    let now = app.now();
    let site = app.site();
    let (drafts, fingerprints, keep) = {
        let sel = feed::select(&channel, locale, &translations, now);
        let mut drafts = vec![];
        let mut fingerprints = vec![];
        let mut keep = BTreeSet::new();
        let inputs = app.page_inputs.lock().expect("page inputs lock");
        for plan in feed::plan(site, &sel, now) {
            let paths = plan.paths(channel_id, locale);
            let fp = plan.fingerprint(site, &channel, locale, &sel);
            // An archive page whose inputs are unchanged and whose documents are
            // cached is kept as it is: a new article renders one page, not all of them.
            let unchanged = matches!(plan.page, feed::Page::Archive { .. })
                && inputs.get(&paths[0]) == Some(&fp)
                && paths.iter().all(|p| app.cache.get(p).is_some());
            if !unchanged {
                drafts.extend(feed::write_page(
                    site,
                    &channel,
                    locale,
                    &sel,
                    &plan,
                    now,
                    Purpose::Serve,
                ));
                fingerprints.push((paths[0].clone(), fp));
            }
            keep.extend(paths);
        }
        (drafts, fingerprints, keep)
    };
    let docs = finish(drafts).await?;
    Metrics::inc(&app.metrics.feed_renders);
    let rendered = t0.elapsed();
    let n = docs.len();
    let changed = store_documents(app, docs).await?;
    // Only now that its documents are stored and cached may a page count as made
    // from these inputs: a failed store leaves the next try to render it again.
    app.page_inputs
        .lock()
        .expect("page inputs lock")
        .extend(fingerprints);
    tracing::debug!(channel = channel_id, locale, documents = n, ?rendered, stored = ?(t0.elapsed() - rendered), "feed rendered");
    for gone in app
        .store
        .prune_documents(&format!("/feeds/{channel_id}/{locale}/"), &keep)
        .await?
    {
        app.cache.remove(&gone);
    }
    let mut tx = app.store.transaction().await?;
    for path in &changed {
        if !path.contains("/archive/") {
            for hub in &app.config.websub.hubs {
                Job::WebSubPing {
                    hub: hub.clone(),
                    topic: app.site().url(path),
                }
                .enqueue(&mut tx, now)
                .await?;
            }
        }
    }
    if !changed.is_empty() || app.cache.get(&format!("/{locale}/")).is_none() {
        Job::RenderPages {
            locale: locale.to_owned(),
        }
        .enqueue(&mut tx, now)
        .await?;
    }
    tx.commit().await?;
    app.wake.notify_one();
    Ok(changed)
}

/// Hashes and compresses `drafts` on the blocking pool, in up to three lanes (a page's
/// three formats side by side): the new article's feed is ready sooner than one
/// format after another, and the runtime's workers, which run the other jobs, the
/// timers and the folder watcher, are not held meanwhile. The pool's threads outlive
/// the call (unlike scoped threads, whose fresh allocator heaps fault their memory in
/// again on every render).
async fn finish(drafts: Vec<Draft>) -> Result<Vec<Document>> {
    let lanes = drafts.len().min(Format::ALL.len());
    let mut work: Vec<Vec<(usize, Draft)>> = (0..lanes).map(|_| vec![]).collect();
    for (i, d) in drafts.into_iter().enumerate() {
        work[i % lanes].push((i, d));
    }
    let handles: Vec<_> = work
        .into_iter()
        .map(|lane| {
            tokio::task::spawn_blocking(move || {
                lane.into_iter()
                    .map(|(i, d)| (i, d.finish()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut done = Vec::new();
    for h in handles {
        done.extend(h.await?);
    }
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, d)| d).collect())
}

async fn store_documents(app: &App, docs: Vec<Document>) -> Result<Vec<String>> {
    let mut changed = vec![];
    for doc in docs {
        let unchanged = app.cache.get(&doc.path).is_some_and(|c| c.etag == doc.etag);
        if unchanged {
            continue;
        }
        if app.store.put_document(&doc).await? {
            Metrics::inc(&app.metrics.documents_changed);
            changed.push(doc.path.clone());
        }
        app.cache.put(doc);
    }
    Ok(changed)
}

/// Renders a locale's landing page and the site-wide OPML.
pub async fn render_pages(app: &App, locale: &str) -> Result<()> {
    let channels = app.channels();
    let now = app.now();
    let translations = app.translations().await?;
    let index = feed::Index::new(&translations, now);
    let selections: Vec<(&Channel, feed::Selection<'_>)> = channels
        .iter()
        .filter(|c| c.locales.iter().any(|l| l == locale))
        .map(|c| (c, index.select(c, locale)))
        .collect();
    let in_locale: Vec<(&Channel, &feed::Selection<'_>)> =
        selections.iter().map(|(c, s)| (*c, s)).collect();
    let docs = pages_for(app, &channels, locale, &in_locale, now);
    store_documents(app, docs).await?;
    Ok(())
}

/// The landing page of `locale` and the OPML, from the selections of the channels
/// that have `locale`.
fn pages_for(
    app: &App,
    channels: &[Channel],
    locale: &str,
    in_locale: &[(&Channel, &feed::Selection<'_>)],
    now: DateTime<Utc>,
) -> Vec<Document> {
    let site = app.site();
    let newest = in_locale
        .iter()
        .flat_map(|(_, s)| s.entries.iter().map(|e| e.t.modified()))
        .max()
        .unwrap_or(now);
    let landing = html::landing(site, locale, channels, in_locale);
    let opml = html::opml(site, channels);
    vec![
        Document::new(
            Purpose::Serve,
            format!("/{locale}/"),
            "",
            locale,
            "text/html; charset=utf-8",
            landing,
            newest,
            now,
        ),
        Document::new(
            Purpose::Serve,
            "/feeds.opml".into(),
            "",
            "",
            "text/x-opml; charset=utf-8",
            opml,
            newest,
            now,
        ),
    ]
}

/// Renders every document of the site from `translations` in memory, for `export`,
/// handing each page's documents (its three formats) to `sink` as soon as they are
/// made, so they need not all be held at once. Uses every core: the selections of all
/// channel × locale pairs are made first, then their pages are rendered, each thread
/// taking the next page as it finishes one. The first error from `sink` stops the work
/// and is returned. Returns how many documents were made.
pub fn render_everything(
    app: &App,
    translations: &[Translation],
    sink: &(dyn Fn(Vec<Document>) -> Result<()> + Sync),
) -> Result<usize> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let channels = app.channels();
    let now = app.now();
    let site = app.site();
    let index = feed::Index::new(translations, now);
    let threads = crate::parallel::threads(false);
    let feeds: Vec<(&Channel, &str)> = channels
        .iter()
        .flat_map(|c| c.locales.iter().map(move |l| (c, l.as_str())))
        .collect();
    let selections = crate::parallel::map(&feeds, threads, |&(c, l)| {
        let sel = index.select(c, l);
        let plans = feed::plan(site, &sel, now);
        (sel, plans)
    });
    let pages: Vec<(usize, usize)> = selections
        .iter()
        .enumerate()
        .flat_map(|(f, (_, plans))| (0..plans.len()).map(move |p| (f, p)))
        .collect();
    let failed = AtomicBool::new(false);
    let made = crate::parallel::map(&pages, threads, |&(f, p)| -> Result<usize> {
        if failed.load(Ordering::Relaxed) {
            return Ok(0);
        }
        let ((c, l), (sel, plans)) = (feeds[f], &selections[f]);
        let docs = Vec::from(
            feed::write_page(site, c, l, sel, &plans[p], now, Purpose::Files).map(Draft::finish),
        );
        let n = docs.len();
        sink(docs).inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
        Ok(n)
    });
    let mut total = 0;
    for r in made {
        total += r?;
    }
    // Each locale's landing page; the OPML (the same for every locale) once.
    let locales = html::site_locales(&channels);
    let landing = crate::parallel::map(&locales, threads, |l| {
        let in_locale: Vec<(&Channel, &feed::Selection<'_>)> = feeds
            .iter()
            .zip(&selections)
            .filter(|((_, fl), _)| fl == l)
            .map(|((c, _), (sel, _))| (*c, sel))
            .collect();
        pages_for(app, &channels, l, &in_locale, now)
            .into_iter()
            .filter(|d| l == &locales[0] || d.path != "/feeds.opml")
            .collect::<Vec<Document>>()
    });
    for pages in landing {
        total += pages.len();
        sink(pages)?;
    }
    Ok(total)
}

/// Writes documents under `dir` as static files, with `.gz` and `.br` beside each, so
/// nginx (`gzip_static`, `brotli_static`) or a CDN can serve them. A path ending in
/// `/` is written as `index.html`.
pub fn write_static(dir: &Path, docs: &[Document]) -> Result<usize> {
    let mut files = 0;
    for d in docs {
        let rel = d.path.trim_start_matches('/');
        let rel = if rel.is_empty() || rel.ends_with('/') {
            format!("{rel}index.html")
        } else {
            rel.to_owned()
        };
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &d.body)?;
        std::fs::write(
            path.with_file_name(format!("{}.gz", file_name(&path))),
            &d.gzip,
        )?;
        std::fs::write(
            path.with_file_name(format!("{}.br", file_name(&path))),
            &d.br,
        )?;
        files += 3;
    }
    Ok(files)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies every channel's `media/` folder to `<dir>/media/<channel>/`.
pub fn copy_media(channels: &[Channel], dir: &Path) -> Result<usize> {
    let mut n = 0;
    for c in channels {
        let Ok(entries) = std::fs::read_dir(c.dir.join("media")) else {
            continue;
        };
        let out = dir.join("media").join(&c.id);
        std::fs::create_dir_all(&out)?;
        for e in entries.flatten() {
            if e.path().is_file() {
                std::fs::copy(e.path(), out.join(e.file_name()))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Makes the cache equal to the store's documents, comparing ETags: with several
/// replicas on one database, each serves what any of them rendered. Comparing the
/// whole index (a few hundred short rows) rather than a time watermark cannot miss a
/// document committed late or stamped by a clock that runs behind. Returns how many
/// documents were loaded or dropped.
pub async fn refresh_from_store(app: &App) -> Result<usize> {
    let index = app.store.document_index().await?;
    let mut changed = 0;
    let mut live = HashSet::with_capacity(index.len());
    for (path, etag, _) in index {
        if app.cache.get(&path).is_none_or(|d| d.etag != etag)
            && let Some(doc) = app.store.document(&path).await?
        {
            app.cache.put(doc);
            changed += 1;
        }
        live.insert(path);
    }
    for path in app.cache.paths() {
        if !live.contains(&path) {
            app.cache.remove(&path);
            changed += 1;
        }
    }
    Ok(changed)
}

/// Paths of the current documents every channel × locale must have once rendered.
pub fn expected_current(channels: &[Channel]) -> Vec<String> {
    all_feeds(channels)
        .into_iter()
        .flat_map(|(c, l)| Format::ALL.map(|f| feed::feed_path(&c, &l, None, f)))
        .collect()
}

fn fingerprint(dir: &Path) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = HashSet::new();
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Ok(meta) = e.metadata() else { continue };
            e.path().hash(&mut h);
            meta.len().hash(&mut h);
            if let Ok(m) = meta.modified() {
                m.hash(&mut h);
            }
            if meta.is_dir() && seen.insert(e.path()) {
                stack.push(e.path());
            }
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::ContentChanges;
    use std::path::Path;

    #[test]
    fn changes_inside_article_folders_name_those_folders_and_anything_else_names_none() {
        let dir = Path::new("/srv/feeds");
        let mut c = ContentChanges::default();
        assert_eq!(c.articles(dir), None, "no changes: a full sync decides");
        c.add(dir.join("news/articles/round-table/en.md"));
        c.add(dir.join("news/articles/round-table"));
        c.add(dir.join("science-tech/articles/drones/.de.md.swp"));
        let got = c.articles(dir).expect("only article folders");
        let want: Vec<(String, String)> = vec![
            ("news".into(), "round-table".into()),
            ("science-tech".into(), "drones".into()),
        ];
        assert_eq!(got.into_iter().collect::<Vec<_>>(), want);

        for outside in [
            "news/feed.toml",
            "news/articles",
            "news/media/map.png",
            "new-channel",
        ] {
            let mut c = ContentChanges::default();
            c.add(dir.join("news/articles/round-table/en.md"));
            c.add(dir.join(outside));
            assert_eq!(c.articles(dir), None, "{outside}");
        }
        // A relative folder, reported with absolute paths.
        let mut c = ContentChanges::default();
        let abs = std::env::current_dir()
            .unwrap()
            .join("feeds/news/articles/a/en.md");
        c.add(abs);
        assert_eq!(
            c.articles(Path::new("feeds")),
            Some([("news".to_owned(), "a".to_owned())].into())
        );

        let mut c = ContentChanges::default();
        c.add(Path::new("/elsewhere/x.md").to_path_buf());
        assert_eq!(c.articles(dir), None, "outside the content folder");

        let mut c = ContentChanges::default();
        c.add(dir.join("news/articles/round-table/en.md"));
        c.add_everything();
        assert_eq!(c.articles(dir), None, "lost events");
        assert_eq!(c.take().articles(dir), None);
        assert!(c.paths.is_empty() && !c.everything, "taken");

        let mut c = ContentChanges::default();
        for i in 0..1001 {
            c.add(dir.join(format!("news/articles/a{i}/en.md")));
        }
        assert_eq!(c.articles(dir), None, "too many paths: everything");
    }
}
