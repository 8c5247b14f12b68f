//! The wiring: one [`App`] holds the configuration, the store, the clock, the
//! catalogues, the channel definitions and the in-memory document cache. The server,
//! the worker, the scheduler and the CLI all take an `Arc<App>`.

use crate::clock::SharedClock;
use crate::config::Config;
use crate::content::{Channel, Problem, Translation};
use crate::document::Document;
use crate::i18n::I18n;
use crate::metrics::Metrics;
use crate::store::Store;
use anyhow::Result;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

pub type SharedApp = Arc<App>;

/// Live translations with their live times, as of a translations version.
#[derive(Debug, Clone)]
pub struct LiveSet(i64, pub Arc<Vec<(Translation, DateTime<Utc>)>>);

impl std::ops::Deref for LiveSet {
    type Target = [(Translation, DateTime<Utc>)];
    fn deref(&self) -> &Self::Target {
        &self.1
    }
}

/// The link-signing secret: configured, or generated once under the data folder.
fn token_secret(config: &Config) -> Result<Vec<u8>> {
    let configured = config.email.token_secret.expose();
    if !configured.is_empty() {
        return Ok(configured.as_bytes().to_vec());
    }
    let path = config.data_dir.join("token.key");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim();
        if s.len() >= 32 {
            return Ok(s.as_bytes().to_vec());
        }
    }
    std::fs::create_dir_all(&config.data_dir)?;
    let bytes: [u8; 32] = rand::random();
    let secret = hex::encode(bytes);
    crate::email::write_private(&path, secret.as_bytes())?;
    Ok(secret.into_bytes())
}

#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub store: Store,
    pub clock: SharedClock,
    pub i18n: I18n,
    pub cache: Cache,
    pub metrics: Metrics,
    pub http: reqwest::Client,
    /// `Cache-Control` of served documents, from `feeds.max_age_secs`.
    pub cache_control: axum::http::HeaderValue,
    /// Identifies this process in job leases.
    pub worker_id: String,
    /// Wakes the job worker when something was enqueued.
    pub wake: tokio::sync::Notify,
    /// A client per configured social account, by account id.
    pub social: HashMap<String, Arc<dyn crate::social::Platform>>,
    /// Signs the links in messages and subscription pages.
    pub tokens: crate::email::token::TokenKey,
    /// Composes, signs and sends mail.
    pub mail: crate::email::mail::Mail,
    /// Sent digests wait here for the transaction that records them (group commit).
    pub sent_log: crate::store::GroupCommit<(crate::store::Delivery, DateTime<Utc>)>,
    /// Batches the recipient lookups of digest jobs running together.
    pub send_contexts: crate::store::GroupCommit<
        (String, String),
        Option<(crate::store::Recipient, crate::store::SendState)>,
    >,
    /// What went live in a period, shared by the many digests of that period.
    live_cache: tokio::sync::Mutex<HashMap<(i64, i64), LiveSet>>,
    live_version: std::sync::Mutex<Option<(std::time::Instant, i64)>>,
    channels: RwLock<Arc<Vec<Channel>>>,
    problems: RwLock<Vec<Problem>>,
    ready: AtomicBool,
    /// Fingerprint of the content folder at the last sync (names, sizes, mtimes).
    pub(crate) content_fingerprint: std::sync::Mutex<Option<u64>>,
    /// What the folder watcher saw change since the last sync.
    pub(crate) content_changes: std::sync::Mutex<crate::publish::ContentChanges>,
    /// Parsed content files, so a re-scan only parses what changed.
    pub(crate) parse_cache: std::sync::Mutex<crate::content::ParseCache>,
    /// The store's translations as of a version, so a render does not read them all.
    snapshot: tokio::sync::Mutex<Option<(i64, Arc<Vec<Translation>>)>>,
    /// Fingerprints of the inputs of archive pages as last rendered: an archive page
    /// whose entries did not change is not rendered again.
    pub(crate) page_inputs: std::sync::Mutex<HashMap<String, u64>>,
}

impl App {
    /// Connects to the configured store and builds the app. Loads nothing yet.
    pub async fn new(config: Config, clock: SharedClock) -> Result<SharedApp> {
        let store = Store::connect_with(&config.database_url(), config.database_pool_size).await?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("bridgecast/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        let social = crate::social::build(&config.social, &http)?;
        let tokens = crate::email::token::TokenKey::new(&token_secret(&config)?);
        let mail = crate::email::mail::Mail::new(&config)?;
        let worker_id = format!("{}-{}", hostname(), uuid::Uuid::new_v4().simple());
        let cache_control = axum::http::HeaderValue::from_str(&format!(
            "public, max-age={}",
            config.feeds.max_age_secs
        ))?;
        Ok(Arc::new(Self {
            cache_control,
            config,
            store,
            clock,
            i18n: I18n::new(),
            cache: Cache::default(),
            metrics: Metrics::default(),
            http,
            worker_id,
            wake: tokio::sync::Notify::new(),
            social,
            tokens,
            mail,
            sent_log: crate::store::GroupCommit::default(),
            send_contexts: crate::store::GroupCommit::default(),
            live_cache: tokio::sync::Mutex::default(),
            live_version: std::sync::Mutex::new(None),
            channels: RwLock::default(),
            problems: RwLock::default(),
            ready: AtomicBool::new(false),
            content_fingerprint: std::sync::Mutex::new(None),
            parse_cache: std::sync::Mutex::default(),
            content_changes: std::sync::Mutex::default(),
            snapshot: tokio::sync::Mutex::new(None),
            page_inputs: std::sync::Mutex::default(),
        }))
    }

    /// Every live translation of the articles that went live in `(after, until]`
    /// (see [`Store::live_between`]); cached, since every recipient of a period asks.
    pub async fn live_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<LiveSet> {
        let key = (
            crate::clock::to_millis(after),
            crate::clock::to_millis(until),
        );
        // The version is asked at most once a second: a period's articles change only
        // by a correction or retraction, and thousands of digests ask in that second.
        let recent = *self.live_version.lock().expect("live version lock");
        let version = match recent {
            Some((at, v)) if at.elapsed() < Duration::from_secs(1) => v,
            _ => {
                let v = self.store.translations_version().await?;
                *self.live_version.lock().expect("live version lock") =
                    Some((std::time::Instant::now(), v));
                v
            }
        };
        let mut cache = self.live_cache.lock().await;
        if let Some(hit) = cache.get(&key)
            && hit.0 == version
        {
            return Ok(hit.clone());
        }
        let set = LiveSet(
            version,
            Arc::new(self.store.live_between(after, until).await?),
        );
        if cache.len() > 256 {
            cache.clear();
        }
        cache.insert(key, set.clone());
        Ok(set)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn channels(&self) -> Arc<Vec<Channel>> {
        self.channels.read().expect("channels lock").clone()
    }

    pub fn channel(&self, id: &str) -> Option<Channel> {
        self.channels().iter().find(|c| c.id == id).cloned()
    }

    pub(crate) fn set_content(&self, channels: Vec<Channel>, problems: Vec<Problem>) {
        *self.channels.write().expect("channels lock") = Arc::new(channels);
        *self.problems.write().expect("problems lock") = problems;
    }

    /// Notes that `path` in the content folder changed (`None`: anything may have), for
    /// the next content sync: when every noted path lies in an article folder, the sync
    /// reads only those folders. The folder watcher calls this.
    pub fn content_changed(&self, path: Option<std::path::PathBuf>) {
        let mut c = self.content_changes.lock().expect("changes lock");
        match path {
            Some(p) => c.add(p),
            None => c.add_everything(),
        }
    }

    /// Replaces the problems of files under any of `prefixes` (article folders ending in
    /// a separator) with `problems`, after a sync of those folders alone.
    pub(crate) fn replace_problems(&self, prefixes: &[String], problems: Vec<Problem>) {
        let mut all = self.problems.write().expect("problems lock");
        all.retain(|p| {
            let path = p.path.display().to_string();
            !prefixes.iter().any(|pre| {
                path.starts_with(pre.as_str())
                    || Some(path.as_str()) == pre.strip_suffix(std::path::MAIN_SEPARATOR)
            })
        });
        all.extend(problems);
    }

    /// Problems found in the content folder at the last sync.
    pub fn problems(&self) -> Vec<Problem> {
        self.problems.read().expect("problems lock").clone()
    }

    pub fn site(&self) -> crate::feed::Site<'_> {
        crate::feed::Site {
            base: self.config.base(),
            i18n: &self.i18n,
            hubs: &self.config.websub.hubs,
            items: self.config.feeds.items,
            page_size: self.config.feeds.archive_page_size,
        }
    }

    /// Every stored translation, from memory when the store has not changed since the
    /// last read (one narrow query to check), else freshly read. Correct with several
    /// replicas: any replica's write bumps the version.
    pub async fn translations(&self) -> Result<Arc<Vec<Translation>>> {
        let mut snap = self.snapshot.lock().await;
        let version = self.store.translations_version().await?;
        if let Some((v, ts)) = snap.as_ref()
            && *v == version
        {
            return Ok(ts.clone());
        }
        let ts = Arc::new(self.store.all_translations().await?);
        *snap = Some((version, ts.clone()));
        Ok(ts)
    }

    /// Applies a sync this process made to the in-memory translations, when they were
    /// current just before it (version `v - 1`), so the next render does not re-read
    /// every translation because one changed.
    pub async fn patch_translations(&self, report: &crate::store::SyncReport) {
        let Some(v) = report.version else { return };
        let mut snap = self.snapshot.lock().await;
        let Some((old, _)) = snap.as_ref() else {
            return;
        };
        if *old != v - 1 {
            *snap = None;
            return;
        }
        let Some((_, mut ts)) = snap.take() else {
            return;
        };
        // In place unless a render still holds the old list (then it is copied once).
        let list = Arc::make_mut(&mut ts);
        {
            let gone: std::collections::HashSet<(&str, &str)> = report
                .changes
                .iter()
                .flat_map(|(b, a)| [b.as_ref(), a.as_ref()])
                .flatten()
                .map(|t| (t.article_id.as_str(), t.locale.as_str()))
                .collect();
            list.retain(|t| !gone.contains(&(t.article_id.as_str(), t.locale.as_str())));
        }
        list.extend(report.changes.iter().filter_map(|(_, a)| a.clone()));
        *snap = Some((v, ts));
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bridgecast".into())
}

/// Rendered documents by URL path. Readers never wait on a render: a document is
/// replaced whole, under a lock held only for the swap.
#[derive(Debug, Default)]
pub struct Cache {
    docs: RwLock<HashMap<String, Arc<Document>>>,
}

impl Cache {
    pub fn get(&self, path: &str) -> Option<Arc<Document>> {
        self.docs.read().expect("cache lock").get(path).cloned()
    }

    /// Caches `doc`; a large identity body is [adopted](crate::zero_copy::adopt) so
    /// that it can be sent without a copy.
    pub fn put(&self, mut doc: Document) {
        doc.body = crate::zero_copy::adopt(std::mem::take(&mut doc.body));
        self.docs
            .write()
            .expect("cache lock")
            .insert(doc.path.clone(), Arc::new(doc));
    }

    pub fn remove(&self, path: &str) {
        self.docs.write().expect("cache lock").remove(path);
    }

    pub fn len(&self) -> usize {
        self.docs.read().expect("cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every cached path, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .docs
            .read()
            .expect("cache lock")
            .keys()
            .cloned()
            .collect();
        v.sort();
        v
    }
}
