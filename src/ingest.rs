//! Upstream ingest: a channel may also take articles from other feeds (RSS, Atom, JSON
//! Feed), declared as `[[ingest]]` in its `feed.toml`. The `poll_ingest` job fetches
//! each source with conditional GET, respects `Retry-After` and `Cache-Control:
//! max-age`, parses with feed-rs, and writes what is new or changed through the same
//! path as the admin API (`publish::apply_external`). An item whose content changes is
//! a correction of the same article (its id is derived from the item), never a new one.
//!
//! Safe by default: only http and https, a bounded number of redirects, and no
//! private, loopback or link-local address, checked on the addresses a name resolves to
//! (every connection, redirects included) and on address literals, unless the source
//! says `allow_private = true`, which allows them for the source's own host only.
//! Responses are bounded in size and parse time, and HTML passes through ammonia.
//! One failing source is recorded (status and the API show it) and the others go on.

use crate::app::App;
use crate::content::{self, Channel, Status, Translation};
use crate::store::{IngestItem, IngestSource};
use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// `[ingest]` in the configuration: limits shared by every source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// How often the sources are polled, in seconds (rounded like the other timers);
    /// 0 turns polling off. A source that asked for more time (`Retry-After`,
    /// `Cache-Control: max-age`) is skipped until then. Default: 300.
    pub poll_every_secs: u64,
    /// Connect timeout per request, in seconds. Default: 5.
    pub connect_timeout_secs: u64,
    /// Total time for one request, body included, in seconds. Default: 20.
    pub timeout_secs: u64,
    /// Largest response body accepted, in bytes. Default: 5242880 (5 MiB).
    pub max_bytes: usize,
    /// Redirects followed per request. Default: 5.
    pub max_redirects: usize,
    /// Time allowed to parse one response, in milliseconds. Default: 2000.
    pub parse_timeout_ms: u64,
    /// Longest wait a source may ask for (`Retry-After`, `max-age`), in seconds.
    /// Default: 86400.
    pub max_wait_secs: u64,
    /// Sources fetched at once. Default: 4.
    pub concurrency: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            poll_every_secs: 300,
            connect_timeout_secs: 5,
            timeout_secs: 20,
            max_bytes: 5 << 20,
            max_redirects: 5,
            parse_timeout_ms: 2000,
            max_wait_secs: 86_400,
            concurrency: 4,
        }
    }
}

/// How items of different sources (one per locale) are recognised as translations of
/// one article.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Match {
    /// The sources share item ids (guid / Atom id / JSON Feed id).
    #[default]
    Id,
    /// The item links follow `link_pattern`, e.g. `https://example.org/{locale}/{key}`:
    /// items with the same `{key}` are one article.
    LinkPattern,
    /// The items link to each other with `hreflang` alternates (Atom): the article is
    /// keyed by its link in the channel's source locale (else the smallest link).
    Hreflang,
}

/// One `[[ingest]]` entry of a channel's `feed.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The feed's URL (http or https).
    pub url: String,
    /// The locale of the source's items; one of the channel's locales.
    pub locale: String,
    /// How translations across sources are matched. Default: `id`.
    #[serde(default, rename = "match")]
    pub matching: Match,
    /// For `match = "link-pattern"`: a URL with `{key}` (and usually `{locale}`).
    #[serde(default)]
    pub link_pattern: Option<String>,
    /// Allow a private, loopback or link-local address for this source's own host.
    /// Default: false.
    #[serde(default)]
    pub allow_private: bool,
}

/// Checks an `[[ingest]]` declaration against the channel's locales (`validate` reports
/// it; a poll records it on the source and goes on with the others).
pub fn check_source(src: &SourceConfig, locales: &[String]) -> Result<(), String> {
    match url::Url::parse(&src.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        Ok(_) => return Err(format!("{:?}: only http and https URLs", src.url)),
        Err(e) => return Err(format!("{:?}: {e}", src.url)),
    }
    if !locales.contains(&src.locale) {
        return Err(format!(
            "locale {:?} is not one of the channel's locales",
            src.locale
        ));
    }
    if src.matching == Match::LinkPattern
        && !src
            .link_pattern
            .as_deref()
            .is_some_and(|p| p.contains("{key}"))
    {
        return Err("match = \"link-pattern\" needs link_pattern with {key}".into());
    }
    Ok(())
}

/// What one poll of every source did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    pub polled: usize,
    pub skipped: usize,
    pub failed: usize,
    pub not_modified: usize,
    /// Translations added or corrected.
    pub changed: usize,
}

/// Polls every source of every channel that is due (all of them with `force`).
pub async fn poll_all(app: &App, force: bool) -> Result<PollReport> {
    use futures_util::StreamExt;
    let mut report = PollReport::default();
    let now = app.now();
    let channels = app.channels();
    let declared: Vec<String> = channels
        .iter()
        .flat_map(|c| c.ingest.iter().map(|s| s.url.clone()))
        .collect();
    app.store.forget_ingest_sources(&declared).await?;
    let mut due = vec![];
    for c in channels.iter() {
        for src in &c.ingest {
            let prev = app.store.ingest_source(&src.url).await?;
            if !force
                && prev
                    .as_ref()
                    .and_then(|p| p.next_poll_at)
                    .is_some_and(|t| t > now)
            {
                report.skipped += 1;
                continue;
            }
            due.push((c.clone(), src.clone(), prev));
        }
    }
    // Sources are fetched a few at a time, so one slow source costs its own timeout,
    // not everyone's.
    let mut polls = futures_util::stream::iter(due)
        .map(move |(c, src, prev)| poll_and_record(app, c, src, prev, now))
        .buffer_unordered(app.config.ingest.concurrency.max(1));
    while let Some(outcome) = polls.next().await {
        report.polled += 1;
        match outcome? {
            Ok(Polled::NotModified) => report.not_modified += 1,
            Ok(Polled::Changed(n)) => report.changed += n,
            Err(()) => report.failed += 1,
        }
    }
    Ok(report)
}

/// Polls one source and records the outcome on its row. The outer error is the store
/// failing; the inner one is the source failing (already recorded).
async fn poll_and_record(
    app: &App,
    c: Channel,
    src: SourceConfig,
    prev: Option<IngestSource>,
    now: DateTime<Utc>,
) -> Result<Result<Polled, ()>> {
    let mut row = prev.unwrap_or_else(|| IngestSource {
        url: src.url.clone(),
        ..IngestSource::default()
    });
    row.channel = c.id.clone();
    row.locale = src.locale.clone();
    row.last_polled_at = Some(now);
    row.next_poll_at = None;
    let outcome = match poll_one(app, &c, &src, &mut row).await {
        Ok(p) => {
            row.last_status = Some(match p {
                Polled::NotModified => "not-modified".into(),
                Polled::Changed(_) => "ok".into(),
            });
            row.last_error = None;
            Ok(p)
        }
        Err(e) => {
            tracing::warn!(source = %src.url, error = %e.message, "ingest source failed");
            row.last_status = Some("error".into());
            row.last_error = Some(e.message);
            if let Some(wait) = e.retry_after {
                row.next_poll_at = Some(now + wait);
            }
            Err(())
        }
    };
    app.store.record_ingest_poll(&row).await?;
    Ok(outcome)
}

enum Polled {
    NotModified,
    Changed(usize),
}

/// A failed poll: what to report, and how long the source asked us to wait.
#[derive(Debug)]
struct PollError {
    message: String,
    retry_after: Option<Duration>,
}

impl PollError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
        }
    }
}

impl From<anyhow::Error> for PollError {
    fn from(e: anyhow::Error) -> Self {
        Self::new(format!("{e:#}"))
    }
}

async fn poll_one(
    app: &App,
    channel: &Channel,
    src: &SourceConfig,
    row: &mut IngestSource,
) -> Result<Polled, PollError> {
    let cfg = &app.config.ingest;
    check_source(src, &channel.locales).map_err(PollError::new)?;
    let url = url::Url::parse(&src.url).map_err(|e| PollError::new(format!("url: {e}")))?;
    let own_host = url.host_str().unwrap_or_default().to_owned();
    check_target(&url, src.allow_private, &own_host).map_err(PollError::new)?;
    let client = client(cfg, src.allow_private, &own_host).map_err(PollError::from)?;
    let mut req = client.get(url.clone()).header(
        reqwest::header::ACCEPT,
        "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.8, */*;q=0.1",
    );
    if let Some(etag) = &row.etag {
        req = req.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(lm) = &row.last_modified {
        req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
    }
    let mut resp = req.send().await.map_err(|e| PollError::new(describe(&e)))?;
    let now = app.now();
    let status = resp.status();
    let headers = resp.headers().clone();
    let max_wait = Duration::seconds(i64::try_from(cfg.max_wait_secs).unwrap_or(86_400));
    let max_age = cache_max_age(&headers).map(|d| d.min(max_wait));
    if status == reqwest::StatusCode::NOT_MODIFIED {
        row.next_poll_at = max_age.map(|d| now + d);
        return Ok(Polled::NotModified);
    }
    if !status.is_success() {
        let mut e = PollError::new(format!("HTTP {status}"));
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS
            || status == reqwest::StatusCode::SERVICE_UNAVAILABLE
        {
            e.retry_after = retry_after(&headers, now).map(|d| d.min(max_wait));
        }
        return Err(e);
    }
    if resp
        .content_length()
        .is_some_and(|n| n > cfg.max_bytes as u64)
    {
        return Err(PollError::new(format!(
            "response of {} bytes is larger than ingest.max_bytes ({})",
            resp.content_length().unwrap_or_default(),
            cfg.max_bytes
        )));
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| PollError::new(describe(&e)))?
    {
        if body.len() + chunk.len() > cfg.max_bytes {
            return Err(PollError::new(format!(
                "response is larger than ingest.max_bytes ({})",
                cfg.max_bytes
            )));
        }
        body.extend_from_slice(&chunk);
    }
    let parse = tokio::task::spawn_blocking(move || {
        feed_rs::parser::Builder::new()
            // No id: the item's first link stands in (dedup by id, then link).
            .id_generator(|links, _, _| links.first().map(|l| l.href.clone()).unwrap_or_default())
            .build()
            .parse(body.as_slice())
    });
    let feed = match tokio::time::timeout(
        std::time::Duration::from_millis(cfg.parse_timeout_ms),
        parse,
    )
    .await
    {
        Err(_) => {
            return Err(PollError::new(
                "parsing took longer than ingest.parse_timeout_ms",
            ));
        }
        Ok(Err(e)) => return Err(PollError::new(format!("parser failed: {e}"))),
        Ok(Ok(Err(e))) => return Err(PollError::new(format!("not a feed: {e}"))),
        Ok(Ok(Ok(f))) => f,
    };
    let changed = store_items(app, channel, src, &feed, now).await?;
    row.etag = header_str(&headers, reqwest::header::ETAG);
    row.last_modified = header_str(&headers, reqwest::header::LAST_MODIFIED);
    row.next_poll_at = max_age.map(|d| now + d);
    Ok(Polled::Changed(changed))
}

/// Turns the feed's items into translations; writes new and changed ones.
async fn store_items(
    app: &App,
    channel: &Channel,
    src: &SourceConfig,
    feed: &feed_rs::model::Feed,
    now: DateTime<Utc>,
) -> Result<usize> {
    let source_url = url::Url::parse(&src.url)?;
    let mut writes: Vec<Translation> = vec![];
    let mut items: Vec<IngestItem> = vec![];
    for entry in &feed.entries {
        let link = entry
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate") && l.href_lang.is_none())
            .or(entry.links.first())
            .map(|l| l.href.clone());
        let key = if entry.id.is_empty() {
            match &link {
                Some(l) => l.clone(),
                None => continue,
            }
        } else {
            entry.id.clone()
        };
        let Some(group) = group_key(channel, src, entry, &key, link.as_deref()) else {
            tracing::warn!(source = %src.url, item = %key, "item does not match the source's link_pattern; skipped");
            continue;
        };
        let title = plain_text(entry.title.as_ref().map_or("", |t| t.content.as_str()));
        if title.is_empty() {
            continue;
        }
        let base = link
            .as_deref()
            .and_then(|l| source_url.join(l).ok())
            .unwrap_or_else(|| source_url.clone());
        let summary_html = entry.summary.as_ref().map_or("", |t| t.content.as_str());
        let body_html = entry
            .content
            .as_ref()
            .and_then(|c| c.body.as_deref())
            .unwrap_or(summary_html);
        let summary: String = plain_text(summary_html).chars().take(1000).collect();
        let body_html = crate::markdown::sanitize(body_html, &base);
        let content_hash = hex::encode(
            &Sha256::digest(
                serde_json::to_vec(&(&title, &summary, &body_html, &link)).unwrap_or_default(),
            )[..12],
        );
        let known = app.store.ingest_item(&src.url, &key).await?;
        if known
            .as_ref()
            .is_some_and(|k| k.content_hash == content_hash)
        {
            continue;
        }
        let article_id = match &known {
            Some(k) => k.article_id.clone(),
            None => article_id(app, channel, src, &group),
        };
        let existing = app
            .store
            .translations_by_keys(&[(article_id.clone(), src.locale.clone())])
            .await?
            .pop();
        let published = entry.published.or(entry.updated).unwrap_or(now);
        let mut t = Translation {
            article_id: article_id.clone(),
            channel: channel.id.clone(),
            slug: format!("i-{}", &hash_hex(&group)[..12]),
            locale: src.locale.clone(),
            title,
            summary,
            body_html,
            // Upstream categories that are bridgecast topics carry over, so topic
            // channels (`select`) pick the item up.
            topics: entry
                .categories
                .iter()
                .map(|c| c.term.trim().to_lowercase())
                .filter(|t| content::TOPICS.contains(&t.as_str()))
                .collect(),
            status: Status::Approved,
            published_at: published,
            updated_at: None,
            retracted_at: None,
            correction: None,
            image: None,
            source: format!("ingest:{}", src.url),
            source_hash: String::new(),
        };
        if let Some(old) = existing.filter(|_| known.is_some()) {
            // The same item with new content: a correction of the same entry.
            t.published_at = old.published_at;
            t.slug = old.slug.clone();
            // The upstream's own update time when it moved on, else when we noticed.
            t.updated_at = Some(
                entry
                    .updated
                    .filter(|u| *u > old.modified() && *u <= now)
                    .unwrap_or(now),
            );
            t.correction = Some("Updated at the source.".into());
        }
        t.source_hash = content::hash_translation(&t);
        writes.push(t);
        items.push(IngestItem {
            source_url: src.url.clone(),
            item_key: key,
            article_id,
            locale: src.locale.clone(),
            content_hash,
        });
    }
    if writes.is_empty() {
        return Ok(0);
    }
    let summary = crate::publish::apply_external(app, &writes).await?;
    for i in &items {
        app.store.put_ingest_item(i, now).await?;
    }
    Ok(summary.changed)
}

/// What makes items of different sources one article (see [`Match`]).
fn group_key(
    channel: &Channel,
    src: &SourceConfig,
    entry: &feed_rs::model::Entry,
    key: &str,
    link: Option<&str>,
) -> Option<String> {
    match src.matching {
        Match::Id => Some(key.to_owned()),
        Match::LinkPattern => {
            let pattern = src
                .link_pattern
                .as_deref()?
                .replace("{locale}", &src.locale);
            let (prefix, suffix) = pattern.split_once("{key}")?;
            let k = link?.strip_prefix(prefix)?.strip_suffix(suffix)?;
            (!k.is_empty()).then(|| k.to_owned())
        }
        Match::Hreflang => {
            let source_locale = entry
                .links
                .iter()
                .find(|l| l.href_lang.as_deref() == Some(channel.source_locale.as_str()))
                .map(|l| l.href.clone());
            source_locale.or_else(|| {
                entry
                    .links
                    .iter()
                    .map(|l| l.href.clone())
                    .chain(link.map(str::to_owned))
                    .min()
            })
        }
    }
}

fn hash_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A permanent id for an ingested article: the upstream id when it is a `tag:` URI
/// shared by every source, else one derived from the channel and the group key.
fn article_id(app: &App, channel: &Channel, src: &SourceConfig, group: &str) -> String {
    if src.matching == Match::Id && content::valid_tag_uri(group) {
        return group.to_owned();
    }
    let host = url::Url::parse(app.config.base())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    format!(
        "tag:{host},2026:ingest/{}/{}",
        channel.id,
        &hash_hex(group)[..20]
    )
}

/// Text without markup: tags dropped by ammonia, entities decoded, whitespace folded.
pub fn plain_text(html: &str) -> String {
    let cleaned = ammonia::Builder::empty().clean(html).to_string();
    let decoded = cleaned
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    decoded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn header_str(h: &reqwest::header::HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// `Cache-Control: max-age=N` (`no-cache`/`no-store` mean none).
pub fn cache_max_age(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for d in v.split(',').map(str::trim) {
        let d = d.to_ascii_lowercase();
        if d == "no-cache" || d == "no-store" {
            return None;
        }
        if let Some(n) = d.strip_prefix("max-age=") {
            age = n
                .trim_matches('"')
                .parse::<i64>()
                .ok()
                .map(Duration::seconds);
        }
    }
    age.filter(|d| *d > Duration::zero())
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(h: &reqwest::header::HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Some(Duration::seconds(secs.max(0)));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.to_utc();
    Some((at - now).max(Duration::zero()))
}

/// The error and its causes in one line (reqwest hides the interesting part in them).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Whether an address is one an upstream feed may live at without explicit permission.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64) // 100.64.0.0/10, carrier-grade NAT
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // 192.0.0.0/24
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

/// Refuses a URL that is not http(s), or whose host is a non-public address literal,
/// unless private addresses are allowed for exactly that host.
fn check_target(url: &url::Url, allow_private: bool, own_host: &str) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{url}: only http and https are fetched"));
    }
    let private_ok = allow_private && url.host_str() == Some(own_host);
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err(format!("{url}: no host")),
    };
    if let Some(ip) = ip
        && !private_ok
        && !is_public(ip)
    {
        return Err(format!(
            "{url}: {ip} is a private, loopback or link-local address (set allow_private = true on the source to allow its own host)"
        ));
    }
    Ok(())
}

/// Resolves names, then drops every address that is not public, unless the name is the
/// one host allowed to be private. Runs for every connection, redirects included.
#[derive(Debug)]
struct PublicOnly {
    allowed_private_host: Option<String>,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let private_ok = self.allowed_private_host.as_deref() == Some(host.as_str());
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ok: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| private_ok || is_public(a.ip()))
                .collect();
            if ok.is_empty() {
                return Err(format!(
                    "{host} resolves only to private, loopback or link-local addresses"
                )
                .into());
            }
            Ok(Box::new(ok.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn client(cfg: &IngestConfig, allow_private: bool, own_host: &str) -> Result<reqwest::Client> {
    let max = cfg.max_redirects;
    let own = own_host.to_owned();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            return attempt.error(format!("more than {max} redirects"));
        }
        match check_target(attempt.url(), allow_private, &own) {
            Ok(()) => attempt.follow(),
            Err(e) => attempt.error(format!("redirect refused: {e}")),
        }
    });
    Ok(reqwest::Client::builder()
        .user_agent(concat!(
            "bridgecast/",
            env!("CARGO_PKG_VERSION"),
            " (ingest)"
        ))
        .connect_timeout(std::time::Duration::from_secs(cfg.connect_timeout_secs))
        .timeout(std::time::Duration::from_secs(cfg.timeout_secs))
        .redirect(policy)
        .dns_resolver(Arc::new(PublicOnly {
            allowed_private_host: allow_private.then(|| own_host.to_owned()),
        }))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn targets_are_checked_by_scheme_and_address() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert!(check_target(&u("ftp://example.org/feed"), false, "example.org").is_err());
        assert!(check_target(&u("http://127.0.0.1:8/f"), false, "127.0.0.1").is_err());
        assert!(check_target(&u("http://127.0.0.1:8/f"), true, "127.0.0.1").is_ok());
        // Permission is for the source's own host only, not for where it redirects.
        assert!(check_target(&u("http://127.0.0.1:8/f"), true, "localhost").is_err());
        assert!(check_target(&u("https://example.org/f"), false, "example.org").is_ok());
    }

    #[test]
    fn cache_headers_are_read() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("cache-control", "public, max-age=600".parse().unwrap());
        assert_eq!(cache_max_age(&h), Some(Duration::seconds(600)));
        h.insert("cache-control", "no-cache, max-age=600".parse().unwrap());
        assert_eq!(cache_max_age(&h), None);
        h.insert("retry-after", "120".parse().unwrap());
        assert_eq!(
            retry_after(&h, DateTime::<Utc>::default()),
            Some(Duration::seconds(120))
        );
    }
}
