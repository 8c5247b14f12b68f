//! The one configuration file, with documented defaults.
//!
//! Precedence, lowest first: built-in defaults, the TOML file, then environment
//! variables. `BRIDGECAST_<KEY>` sets a top-level key and `BRIDGECAST_<SECTION>__<KEY>`
//! a key inside a section (`BRIDGECAST_FEEDS__ITEMS=30`). Any of them may instead be
//! given as `..._FILE=/path`, whose contents (trimmed) become the value: that is how
//! secrets reach a container without showing up in `ps` or the environment dump.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Environment variables that share the prefix but are not configuration.
const NOT_CONFIG: &[&str] = &[
    "CONFIG",
    "LOG",
    "TEST_POSTGRES",
    "REQUIRE_PEERS",
    "PEERS_DIR",
    "KEEP_SCREENSHOTS",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Public URL under which readers reach this instance; every link in a feed is
    /// made absolute against it. Default: `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Socket address the HTTP server listens on (one socket per HTTP thread, one thread
    /// per CPU, `SO_REUSEPORT`). Default: `127.0.0.1:8080`.
    pub listen: String,
    /// Where the embedded database and other state live. Default: `data`.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`. Default: empty, meaning
    /// `sqlite://<data_dir>/bridgecast.db` (created on first run).
    pub database_url: Secret,
    /// Database connections kept open. Default: 0, meaning 4 for SQLite (one writer at
    /// a time; more connections mostly wait on its lock) and 10 for PostgreSQL.
    pub database_pool_size: u32,
    /// The folder with one sub-folder per channel (`<channel>/feed.toml`,
    /// `<channel>/articles/<slug>/<locale>.md`). Default: `feeds`.
    pub content_dir: PathBuf,
    pub feeds: FeedsConfig,
    pub websub: WebSubConfig,
    pub scheduler: SchedulerConfig,
    pub jobs: JobsConfig,
    pub social: crate::social::SocialConfig,
    pub email: crate::email::EmailConfig,
    pub api: crate::api::ApiConfig,
    pub ingest: crate::ingest::IngestConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedsConfig {
    /// Entries in the current (subscription) document of each feed. Default: 50.
    pub items: usize,
    /// Entries per RFC 5005 archive page. Default: 50.
    pub archive_page_size: usize,
    /// `Cache-Control: max-age` for feed documents, in seconds. Default: 300.
    pub max_age_secs: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSubConfig {
    /// WebSub hubs announced in every feed and pinged after it changes. Default: none.
    pub hubs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// How often due articles are published, in seconds, rounded to a period that
    /// divides a minute, an hour or a day. Default: 30.
    pub publish_every_secs: u64,
    /// How often `content_dir` is re-scanned for changed files, in seconds (rounded
    /// likewise). A safety net behind `watch`. Default: 60.
    pub rescan_every_secs: u64,
    /// How often to look for recipients whose digest is due, in seconds. Local
    /// delivery hours are decided per recipient; this is only the sweep. Default: 60.
    pub digests_every_secs: u64,
    /// Watch `content_dir` for changes (inotify) and sync within milliseconds.
    /// Default: true.
    pub watch: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Attempts before a failing job becomes a dead letter. Default: 8.
    pub max_attempts: i32,
    /// First retry delay in seconds; doubles per attempt, with jitter. Default: 5.
    pub backoff_base_secs: u64,
    /// Upper bound of the retry delay in seconds. Default: 3600.
    pub backoff_max_secs: u64,
    /// How long a claimed job stays leased before another worker may take it over,
    /// in seconds. Default: 300.
    pub lease_secs: u64,
    /// How often idle workers look for due jobs, in milliseconds. Default: 1000.
    pub poll_ms: u64,
    /// Jobs run at once by one process. Default: 4.
    pub concurrency: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8080".into(),
            listen: "127.0.0.1:8080".into(),
            data_dir: "data".into(),
            database_url: Secret::default(),
            database_pool_size: 0,
            content_dir: "feeds".into(),
            feeds: FeedsConfig::default(),
            websub: WebSubConfig::default(),
            scheduler: SchedulerConfig::default(),
            jobs: JobsConfig::default(),
            social: crate::social::SocialConfig::default(),
            email: crate::email::EmailConfig::default(),
            api: crate::api::ApiConfig::default(),
            ingest: crate::ingest::IngestConfig::default(),
        }
    }
}

impl Default for FeedsConfig {
    fn default() -> Self {
        Self {
            items: 50,
            archive_page_size: 50,
            max_age_secs: 300,
        }
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            publish_every_secs: 30,
            rescan_every_secs: 60,
            digests_every_secs: 60,
            watch: true,
        }
    }
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            backoff_base_secs: 5,
            backoff_max_secs: 3600,
            lease_secs: 300,
            poll_ms: 1000,
            concurrency: 4,
        }
    }
}

impl Config {
    /// Reads the file (if any), applies the process environment, and checks the result.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with_env(path, &env)
    }

    /// Like [`Config::load`] with an explicit environment, for tests.
    pub fn load_with_env(path: Option<&Path>, env: &[(String, String)]) -> Result<Self> {
        let mut value = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("{}: cannot read config", p.display()))?;
                text.parse::<toml::Table>()
                    .map_err(|e| toml_error(p, &text, e))?
            }
            None => toml::Table::new(),
        };
        apply_env(&mut value, env)?;
        let name = path
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "environment".into());
        let text = toml::to_string(&value)?;
        let config: Config = toml::from_str(&text).map_err(|e| match path {
            // Report against the original file where the value came from it.
            Some(p) => anyhow::anyhow!("{name}: {}", e.message()).context(p.display().to_string()),
            None => anyhow::anyhow!("{name}: {}", e.message()),
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        let base = url::Url::parse(&self.base_url)
            .with_context(|| format!("base_url {:?} is not an absolute URL", self.base_url))?;
        if !matches!(base.scheme(), "http" | "https") {
            bail!("base_url must be http or https, got {:?}", self.base_url);
        }
        if self.feeds.items == 0 || self.feeds.archive_page_size == 0 {
            bail!("feeds.items and feeds.archive_page_size must be at least 1");
        }
        if self.jobs.concurrency == 0 || self.jobs.max_attempts < 1 {
            bail!("jobs.concurrency and jobs.max_attempts must be at least 1");
        }
        for hub in &self.websub.hubs {
            url::Url::parse(hub).with_context(|| format!("websub.hubs: {hub:?} is not a URL"))?;
        }
        Ok(())
    }

    /// The database URL, with the embedded default filled in.
    pub fn database_url(&self) -> String {
        if self.database_url.expose().is_empty() {
            format!("sqlite://{}/bridgecast.db", self.data_dir.display())
        } else {
            self.database_url.expose().to_owned()
        }
    }

    /// `base_url` without a trailing slash, ready to have paths appended.
    pub fn base(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }
}

fn toml_error(path: &Path, text: &str, e: toml::de::Error) -> anyhow::Error {
    let line = e
        .span()
        .map(|s| text[..s.start].lines().count().max(1))
        .unwrap_or(1);
    anyhow::anyhow!("{}:{line}: {}", path.display(), e.message())
}

fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<()> {
    let known = toml::Table::try_from(Config::default())?;
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix("BRIDGECAST_") else {
            continue;
        };
        let (rest, value) = match rest.strip_suffix("_FILE") {
            Some(r) => {
                let v = std::fs::read_to_string(raw)
                    .with_context(|| format!("{name}: cannot read {raw}"))?;
                (r, v.trim().to_owned())
            }
            None => (rest, raw.clone()),
        };
        if NOT_CONFIG.contains(&rest) {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        let Some(default) = lookup(&known, &path) else {
            bail!("{name}: no such configuration key ({})", path.join("."));
        };
        // Keep the type of the default: a number stays a number, a list a list.
        let parsed = match default {
            toml::Value::String(_) => toml::Value::String(value),
            _ => format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .with_context(|| format!("{name}: {value:?} is not a valid value"))?,
        };
        set(table, &path, parsed);
    }
    Ok(())
}

fn lookup<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let v = table.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        lookup(v.as_table()?, rest)
    }
}

fn set(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                set(t, rest, value);
            }
        }
    }
}

/// A string that never prints: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}
