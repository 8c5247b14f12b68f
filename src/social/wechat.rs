//! WeChat Official Accounts (微信公众号 / 服务号): every post becomes a news article (图文消息).
//!
//! What the platform documents (developers.weixin.qq.com/doc/service/api/… and
//! /doc/subscription/api/…), and what this adapter makes of it:
//!
//! - **Token**: `POST /cgi-bin/stable_token` with JSON `{grant_type: "client_credential", appid,
//!   secret}` answers `{access_token, expires_in}` (at most 7200 s). The stable token is isolated
//!   from `cgi-bin/token`, so another tool fetching a token for the same account does not
//!   invalidate ours; in its normal mode a repeated call returns the current token, which the
//!   platform renews five minutes before it expires. One token per adapter, behind a mutex,
//!   renewed before `expires_in` runs out and when a call is refused with errcode 40001
//!   (invalid credential), 40014 (invalid access_token) or 42001 (access_token expired); the call
//!   is then made once more, and a second refusal is a transient error.
//! - **Errors** come as HTTP 200 with `{"errcode": n, "errmsg": "…"}` (a success may omit
//!   `errcode` or send 0). -1 (system busy) is transient. 45009 (daily API quota) and 45028 (no
//!   mass-send quota) are transient with a `retry_after` reaching five minutes past the next
//!   midnight in Beijing (UTC+8), when WeChat's daily counters reset. 45011 (per-minute quota)
//!   and 45066 (the same `clientmsgid` retried within a minute) wait a minute. Every other
//!   errcode is permanent: 40xxx invalid parameters, 41xxx missing ones, 45xxx content limits,
//!   48001 no permission for the API, 40164 the server's IP is not whitelisted. HTTP 5xx (from a
//!   proxy in front) is transient.
//! - **Cover**: `thumb_media_id` must be a permanent material. The article image is uploaded with
//!   `POST /cgi-bin/material/add_material?type=…` (multipart field `media`): as `thumb` when it is
//!   a JPEG of at most 64 KB (the documented thumb limits), else as `image` (bmp/png/jpeg/gif, at
//!   most 10 MB). Without a usable image the configured `thumb_media_id` is used; without either
//!   the post fails permanently. Uploads are remembered per file for the adapter's lifetime.
//! - **Draft**: `POST /cgi-bin/draft/add` `{articles: [{title, author, digest, content,
//!   content_source_url, thumb_media_id}]}` answers `{media_id}`. Title at most 32 characters,
//!   author 16, digest 128 (this adapter keeps to the older 120), content HTML (scripts removed,
//!   external links and images may be filtered; the page says both "不可超过2kb" and "少于2万字符",
//!   so it is kept under 2 000 bytes), `content_source_url` the 阅读原文 link (at most 1 KB).
//! - **publish** mode (default): `POST /cgi-bin/freepublish/submit {media_id}` answers
//!   `{publish_id}`. The article is published on the account without a push to followers and
//!   without a daily limit. Publishing is asynchronous: `freepublish/get {publish_id}` later gives
//!   `publish_status` (0 published, 1 publishing, 2–4 failed, 5–6 removed) and the `article_id`.
//!   There is no idempotency key, so before making a draft the adapter reads the 20 latest
//!   publications (`freepublish/batchget`) and returns the one whose `content_source_url` is the
//!   post's link (remote id `article:<article_id>`): a retry after an unknown outcome does not
//!   publish twice once the first publication is listed.
//! - **mass_send** mode: `POST /cgi-bin/message/mass/sendall {filter: {is_to_all: true}, mpnews:
//!   {media_id}, msgtype: "mpnews", send_ignore_reprint: 0, clientmsgid}` answers `{msg_id,
//!   msg_data_id}`. WeChat checks the `clientmsgid` against the sends of the last 24 hours and
//!   refuses a repeat with errcode 45065 and the first `msg_id`, which counts as success here. The
//!   `clientmsgid` is 24 hex characters of SHA-256(job key): the documented limit is 64 bytes,
//!   but a 36-character value has been reported refused with 45067 (too long).
//!   Quotas: a verified subscription account (订阅号/公众号) may mass-send once a day (to everyone
//!   or to one tag); a service account (服务号) may send to everyone at most 4 times a calendar
//!   month (users receive at most 4 a month) within a daily API limit. `daily_quota` keeps
//!   count locally (per Beijing day, in memory) and waits for the next day instead of calling.
//! - **Delete**: publish mode resolves the `article_id` with `freepublish/get` and calls
//!   `freepublish/delete {article_id, index: 0}` (0: the whole publication); mass_send mode calls
//!   `message/mass/delete {msg_id, article_idx: 0}`, which disables the article page (followers
//!   keep the card they received).

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::clock::Clock;
use crate::config::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API base. Default: `https://api.weixin.qq.com`.
    #[serde(default = "default_api")]
    pub api: String,
    /// The account's AppID (公众平台 → 设置与开发 → 基本配置).
    pub app_id: String,
    /// The AppSecret, or `app_secret_file`. The server's IP must be on the account's IP
    /// whitelist.
    #[serde(default)]
    pub app_secret: Secret,
    pub app_secret_file: Option<PathBuf>,
    /// A permanent image material used as the cover of articles without a usable image.
    /// Default: none (such articles are not posted).
    pub thumb_media_id: Option<String>,
    /// The article's author, at most 16 characters. Default: none.
    pub author: Option<String>,
    /// `publish` (publish on the account, no push to followers) or `mass_send` (send to every
    /// follower). Default: `publish`.
    #[serde(default)]
    pub mode: Mode,
    /// Mass sends per Beijing-time day before posts wait for the next day (`mass_send` mode
    /// only; 0: no local limit). WeChat allows a verified subscription account one mass send a
    /// day, and a service account four sends to everyone a month. Default: 1.
    #[serde(default = "default_daily_quota")]
    pub daily_quota: u32,
    /// Mass sends per Beijing-time calendar month before posts wait for the next month
    /// (`mass_send` mode only; set 4 for a service account; 0: no local limit). Default: 0.
    #[serde(default)]
    pub monthly_quota: u32,
}

/// How a post reaches readers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Draft, then `freepublish/submit`.
    #[default]
    Publish,
    /// Draft, then `message/mass/sendall` to every follower.
    MassSend,
}

fn default_api() -> String {
    "https://api.weixin.qq.com".into()
}
fn default_daily_quota() -> u32 {
    1
}

const NAME: &str = "wechat";

/// The digest: 120 characters (the API now allows 128).
pub const DIGEST: text::Budget = text::Budget {
    counter: text::Counter::Chars,
    max: 120,
    max_bytes: None,
    url_len: None,
};
/// The title: 32 characters.
pub const TITLE: text::Budget = text::Budget {
    counter: text::Counter::Chars,
    max: 32,
    max_bytes: None,
    url_len: None,
};
/// The article body is kept under this many UTF-8 bytes (the draft page says 2 KB).
pub const CONTENT_MAX_BYTES: usize = 2000;
const THUMB_MAX_BYTES: usize = 64 * 1024;
const IMAGE_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Errcodes meaning "this access token is not (or no longer) valid".
const TOKEN_REFUSED: [i64; 3] = [40001, 40014, 42001];

#[derive(Debug, Clone)]
struct Token {
    value: Secret,
    renew_at: Instant,
}

#[derive(Debug)]
pub struct WeChat {
    api: String,
    app_id: String,
    secret: Secret,
    thumb_media_id: Option<String>,
    author: Option<String>,
    mode: Mode,
    daily_quota: u32,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<Token>>,
    /// Covers uploaded so far, by image file and size.
    covers: std::sync::Mutex<HashMap<(PathBuf, usize), String>>,
    /// Mass sends made on a Beijing-time day.
    sent: std::sync::Mutex<(chrono::NaiveDate, u32)>,
    monthly_quota: u32,
    /// Mass sends this Beijing-time month: (first day of the month, count).
    sent_month: std::sync::Mutex<(chrono::NaiveDate, u32)>,
}

enum Body {
    Json(Value),
    File {
        bytes: Vec<u8>,
        name: String,
        mime: String,
    },
}

impl WeChat {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        url::Url::parse(&c.api).map_err(|e| anyhow::anyhow!("wechat.api: {e}"))?;
        if c.app_id.trim().is_empty() {
            anyhow::bail!("wechat.app_id is empty");
        }
        if let Some(a) = &c.author
            && a.chars().count() > 16
        {
            anyhow::bail!(
                "wechat.author: at most 16 characters, {a:?} has {}",
                a.chars().count()
            );
        }
        if c.thumb_media_id
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            anyhow::bail!(
                "wechat.thumb_media_id is empty: leave it out or name a permanent image material"
            );
        }
        Ok(Self {
            api: c.api.trim_end_matches('/').to_owned(),
            app_id: c.app_id.trim().to_owned(),
            secret: super::secret(&c.app_secret, &c.app_secret_file, "wechat.app_secret")?,
            thumb_media_id: c.thumb_media_id.clone(),
            author: c.author.clone().filter(|a| !a.trim().is_empty()),
            mode: c.mode,
            daily_quota: c.daily_quota,
            http,
            token: tokio::sync::Mutex::new(None),
            covers: std::sync::Mutex::new(HashMap::new()),
            sent: std::sync::Mutex::new((chrono::NaiveDate::MIN, 0)),
            monthly_quota: c.monthly_quota,
            sent_month: std::sync::Mutex::new((chrono::NaiveDate::MIN, 0)),
        })
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<url::Url, SocialError> {
        url::Url::parse_with_params(&format!("{}{path}", self.api), query)
            .map_err(|e| SocialError::permanent(format!("{NAME}: {path}: {e}")))
    }

    /// Sends a request and reads the JSON answer; HTTP failures are classified here, errcodes
    /// by the caller.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, SocialError> {
        let r = req
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e))?;
        let (status, headers) = (r.status(), r.headers().clone());
        let body = r.text().await.map_err(|e| SocialError::network(NAME, &e))?;
        if !status.is_success() {
            return Err(SocialError::from_status(NAME, status, &headers, &body));
        }
        serde_json::from_str(&body).map_err(|e| {
            let start: String = body.chars().take(200).collect();
            SocialError::transient(format!("{NAME}: unreadable answer ({e}): {start}"))
        })
    }

    /// The access token: the cached one unless it is due for renewal or is `refused`.
    async fn token(&self, refused: Option<&str>) -> Result<Secret, SocialError> {
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref()
            && Instant::now() < t.renew_at
            && refused != Some(t.value.expose())
        {
            return Ok(t.value.clone());
        }
        if self.secret.expose().is_empty() {
            return Err(SocialError::permanent(format!(
                "{NAME}: no app secret: set app_secret or app_secret_file"
            )));
        }
        let body = json!({ "grant_type": "client_credential", "appid": self.app_id, "secret": self.secret.expose() });
        let v = self
            .send(
                self.http
                    .post(self.url("/cgi-bin/stable_token", &[])?)
                    .json(&body),
            )
            .await?;
        let code = errcode(&v);
        if code != 0 {
            return Err(classify("stable_token", code, &v, true));
        }
        let Some(value) = v["access_token"].as_str().filter(|t| !t.is_empty()) else {
            return Err(SocialError::permanent(format!(
                "{NAME}: stable_token answered without access_token"
            )));
        };
        let expires = v["expires_in"].as_u64().unwrap_or(7200);
        // Renew within the last five minutes (the platform's overlap), or halfway for short tokens.
        let lifetime = expires.saturating_sub(300).max(expires / 2);
        let t = Token {
            value: Secret::new(value),
            renew_at: Instant::now() + Duration::from_secs(lifetime),
        };
        *guard = Some(t.clone());
        Ok(t.value)
    }

    /// Calls `path` with the access token, renewing the token and calling once more when WeChat
    /// refuses it. Returns the answer whatever its errcode.
    async fn call_raw(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &Body,
    ) -> Result<Value, SocialError> {
        let mut refused: Option<String> = None;
        loop {
            let token = self.token(refused.as_deref()).await?;
            let mut q = vec![("access_token", token.expose())];
            q.extend_from_slice(query);
            let req = self.http.post(self.url(path, &q)?);
            let req = match body {
                Body::Json(v) => req.json(v),
                Body::File { bytes, name, mime } => {
                    let part = reqwest::multipart::Part::bytes(bytes.clone())
                        .file_name(name.clone())
                        .mime_str(mime)
                        .map_err(|e| SocialError::permanent(format!("{NAME}: {e}")))?;
                    req.multipart(reqwest::multipart::Form::new().part("media", part))
                }
            };
            let v = self.send(req).await?;
            if TOKEN_REFUSED.contains(&errcode(&v)) && refused.is_none() {
                refused = Some(token.expose().to_owned());
                continue;
            }
            return Ok(v);
        }
    }

    /// [`Self::call_raw`], with any errcode but 0 classified as an error.
    async fn call(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
    ) -> Result<Value, SocialError> {
        let v = self.call_raw(path, query, &body).await?;
        match errcode(&v) {
            0 => Ok(v),
            code => Err(classify(
                path.trim_start_matches("/cgi-bin/"),
                code,
                &v,
                false,
            )),
        }
    }

    /// The cover's permanent material id: the article image uploaded, else the default.
    async fn cover(&self, post: &Post) -> Result<String, SocialError> {
        if let Some((path, _alt, mime)) = &post.image {
            let bytes = tokio::fs::read(path).await.map_err(|e| {
                SocialError::permanent(format!("{NAME}: image {}: {e}", path.display()))
            })?;
            let key = (path.clone(), bytes.len());
            if let Some(id) = self.covers.lock().expect("covers lock").get(&key).cloned() {
                return Ok(id);
            }
            let mime = mime.to_ascii_lowercase();
            let jpeg = matches!(mime.as_str(), "image/jpeg" | "image/jpg" | "image/pjpeg");
            let kind = if jpeg && bytes.len() <= THUMB_MAX_BYTES {
                Some("thumb")
            } else if (jpeg || matches!(mime.as_str(), "image/png" | "image/gif" | "image/bmp"))
                && bytes.len() <= IMAGE_MAX_BYTES
            {
                Some("image")
            } else {
                None
            };
            if let Some(kind) = kind {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "cover".into());
                let v = self
                    .call(
                        "/cgi-bin/material/add_material",
                        &[("type", kind)],
                        Body::File { bytes, name, mime },
                    )
                    .await?;
                let Some(id) = v["media_id"].as_str().filter(|id| !id.is_empty()) else {
                    return Err(SocialError::permanent(format!(
                        "{NAME}: add_material answered without media_id"
                    )));
                };
                self.covers
                    .lock()
                    .expect("covers lock")
                    .insert(key, id.to_owned());
                return Ok(id.to_owned());
            }
            tracing::warn!(
                image = %path.display(),
                mime,
                bytes = bytes.len(),
                "wechat: the article image cannot be a cover (a JPEG up to 64 KB, or bmp/png/jpeg/gif up to 10 MB)"
            );
        }
        self.thumb_media_id.clone().ok_or_else(|| {
            SocialError::permanent(format!(
                "{NAME}: the article has no usable image and thumb_media_id is not set: set thumb_media_id \
                 (a permanent image material) in the account's wechat table"
            ))
        })
    }

    /// The `draft/add` article.
    fn article(&self, post: &Post, thumb: &str) -> Value {
        let mut a = json!({
            "article_type": "news",
            "title": title(post),
            "content": content(post),
            "content_source_url": post.link,
            "thumb_media_id": thumb,
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        });
        let d = digest(post);
        if !d.is_empty() {
            a["digest"] = json!(d);
        }
        if let Some(author) = &self.author {
            a["author"] = json!(author);
        }
        a
    }

    /// An article of the 20 latest publications whose "阅读原文" link is `link`.
    async fn find_published(&self, link: &str) -> Result<Option<Posted>, SocialError> {
        let body = json!({ "offset": 0, "count": 20, "no_content": 1 });
        let v = self
            .call("/cgi-bin/freepublish/batchget", &[], Body::Json(body))
            .await?;
        for item in v["item"].as_array().into_iter().flatten() {
            for news in item["content"]["news_item"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if news["content_source_url"].as_str() == Some(link)
                    && !news["is_deleted"].as_bool().unwrap_or(false)
                {
                    let id = id_string(&item["article_id"]);
                    if id.is_empty() {
                        continue;
                    }
                    let url = news["url"]
                        .as_str()
                        .filter(|u| !u.is_empty())
                        .map(str::to_owned);
                    return Ok(Some(Posted {
                        remote_id: format!("article:{id}"),
                        url,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Refuses a mass send once `daily_quota` sends were made this Beijing-time day, or
    /// `monthly_quota` this Beijing-time month.
    fn check_quota(&self, now: DateTime<Utc>) -> Result<(), SocialError> {
        let month = month_start(beijing_date(now));
        let sent_month = *self.sent_month.lock().expect("quota lock");
        if self.monthly_quota > 0 && sent_month.0 == month && sent_month.1 >= self.monthly_quota {
            let next = month
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(month);
            let start = next
                .and_hms_opt(0, 5, 0)
                .unwrap_or_default()
                .and_local_timezone(beijing())
                .single();
            let wait = start.map_or(Duration::from_secs(86_400), |t| {
                Duration::from_secs(
                    u64::try_from((t.to_utc() - now).num_seconds().max(60)).unwrap_or(86_400),
                )
            });
            return Err(SocialError {
                retry_after: Some(wait),
                ..SocialError::transient(format!(
                    "{NAME}: monthly_quota of {} mass send(s) used up for {month} (Beijing time)",
                    self.monthly_quota
                ))
            });
        }
        if self.daily_quota == 0 {
            return Ok(());
        }
        let today = beijing_date(now);
        let sent = *self.sent.lock().expect("quota lock");
        if sent.0 == today && sent.1 >= self.daily_quota {
            return Err(SocialError {
                retry_after: Some(until_next_quota_day(now)),
                ..SocialError::transient(format!(
                    "{NAME}: daily_quota of {} mass send(s) used up for {today} (Beijing time)",
                    self.daily_quota
                ))
            });
        }
        Ok(())
    }

    fn count_send(&self, now: DateTime<Utc>) {
        let month = month_start(beijing_date(now));
        {
            let mut m = self.sent_month.lock().expect("quota lock");
            if m.0 != month {
                *m = (month, 0);
            }
            m.1 += 1;
        }
        let today = beijing_date(now);
        let mut sent = self.sent.lock().expect("quota lock");
        if sent.0 != today {
            *sent = (today, 0);
        }
        sent.1 += 1;
    }
}

fn now() -> DateTime<Utc> {
    crate::clock::SystemClock.now()
}

fn month_start(d: chrono::NaiveDate) -> chrono::NaiveDate {
    chrono::Datelike::with_day(&d, 1).unwrap_or(d)
}

fn beijing() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

fn beijing_date(now: DateTime<Utc>) -> chrono::NaiveDate {
    now.with_timezone(&beijing()).date_naive()
}

/// Time from `now` to five minutes past the next midnight in Beijing (UTC+8, 16:00 UTC), when
/// WeChat's daily quotas start again.
pub fn until_next_quota_day(now: DateTime<Utc>) -> Duration {
    let reset = beijing_date(now)
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 5, 0))
        .and_then(|t| t.and_local_timezone(beijing()).single())
        .map(|t| t.with_timezone(&Utc));
    reset
        .and_then(|r| (r - now).to_std().ok())
        .unwrap_or(Duration::from_secs(24 * 3600))
}

/// The `clientmsgid` of a job: 24 hex characters, the same on every attempt.
pub fn client_msg_id(job_key: &str) -> String {
    hex::encode(&Sha256::digest(job_key.as_bytes())[..12])
}

/// The article digest: the summary, at most 120 characters.
pub fn digest(post: &Post) -> String {
    text::fit(
        &text::Parts {
            summary: post.summary.clone(),
            ..Default::default()
        },
        &DIGEST,
    )
}

/// The article title, at most 32 characters.
pub fn title(post: &Post) -> String {
    text::fit(
        &text::Parts {
            title: post.title.clone(),
            ..Default::default()
        },
        &TITLE,
    )
}

/// The article body: the title, the summary and a 阅读原文 link, under [`CONTENT_MAX_BYTES`].
pub fn content(post: &Post) -> String {
    let head = format!(
        "<p><strong>{}</strong></p>",
        crate::markdown::escape_html(post.title.trim())
    );
    let tail = format!(
        "<p><a href=\"{}\">阅读原文</a></p>",
        crate::markdown::escape_html(&post.link)
    );
    let room = CONTENT_MAX_BYTES.saturating_sub(head.len() + tail.len() + "<p></p>".len());
    let mut summary = String::new();
    let mut limit = room;
    while limit > 0 {
        let budget = text::Budget {
            counter: text::Counter::Chars,
            max: 20_000,
            max_bytes: Some(limit),
            url_len: None,
        };
        let s = crate::markdown::escape_html(&text::fit(
            &text::Parts {
                summary: post.summary.clone(),
                ..Default::default()
            },
            &budget,
        ));
        if s.len() <= room {
            summary = s;
            break;
        }
        // Escaping made it longer: ask for that much less.
        limit = limit.saturating_sub(s.len() - room);
    }
    if summary.is_empty() {
        format!("{head}{tail}")
    } else {
        format!("{head}<p>{summary}</p>{tail}")
    }
}

fn errcode(v: &Value) -> i64 {
    match &v["errcode"] {
        Value::Number(n) => n.as_i64().unwrap_or(-1),
        Value::String(s) => s.trim().parse().unwrap_or(-1),
        _ => 0,
    }
}

/// An id that WeChat may send as a number or a string.
fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// The retry decision for an errcode (see the module documentation).
fn classify(api: &str, code: i64, v: &Value, fetching_token: bool) -> SocialError {
    let msg = format!(
        "{NAME}: {api}: errcode {code} {}",
        v["errmsg"].as_str().unwrap_or_default()
    );
    let wait = |m: String, d: Duration| SocialError {
        retry_after: Some(d),
        ..SocialError::transient(m)
    };
    match code {
        -1 => SocialError::transient(format!("{msg} (system busy)")),
        45009 => wait(
            format!("{msg} (daily API quota used up)"),
            until_next_quota_day(now()),
        ),
        45028 => wait(
            format!("{msg} (no mass-send quota left)"),
            until_next_quota_day(now()),
        ),
        45011 | 45066 => wait(msg, Duration::from_secs(60)),
        40001 | 40014 | 42001 if !fetching_token => SocialError::transient(format!(
            "{msg} (the access token was refused again after a renewal)"
        )),
        40001 | 40013 | 40125 | 41002 | 41004 => {
            SocialError::permanent(format!("{msg} (check app_id and app_secret)"))
        }
        40164 | 61004 => SocialError::permanent(format!(
            "{msg} (add this server's IP to the account's IP whitelist)"
        )),
        48001 => SocialError::permanent(format!(
            "{msg} (the account has no permission for this API)"
        )),
        _ => SocialError::permanent(msg),
    }
}

#[async_trait::async_trait]
impl Platform for WeChat {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        Composed {
            text: digest(post),
            facets: None,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        self.token(None).await.map(|_| ())
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        match self.mode {
            Mode::Publish => {
                if let Some(done) = self.find_published(&post.link).await? {
                    return Ok(done);
                }
            }
            Mode::MassSend => self.check_quota(now())?,
        }
        let thumb = self.cover(post).await?;
        let v = self
            .call(
                "/cgi-bin/draft/add",
                &[],
                Body::Json(json!({ "articles": [self.article(post, &thumb)] })),
            )
            .await?;
        let Some(media_id) = v["media_id"]
            .as_str()
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
        else {
            return Err(SocialError::permanent(format!(
                "{NAME}: draft/add answered without media_id"
            )));
        };
        match self.mode {
            Mode::Publish => {
                let v = self
                    .call(
                        "/cgi-bin/freepublish/submit",
                        &[],
                        Body::Json(json!({ "media_id": media_id })),
                    )
                    .await?;
                let id = id_string(&v["publish_id"]);
                if id.is_empty() {
                    return Err(SocialError::permanent(format!(
                        "{NAME}: freepublish/submit answered without publish_id"
                    )));
                }
                Ok(Posted {
                    remote_id: id,
                    url: None,
                })
            }
            Mode::MassSend => {
                let body = json!({
                    "filter": { "is_to_all": true },
                    "mpnews": { "media_id": media_id },
                    "msgtype": "mpnews",
                    "send_ignore_reprint": 0,
                    "clientmsgid": client_msg_id(&post.key),
                });
                let v = self
                    .call_raw("/cgi-bin/message/mass/sendall", &[], &Body::Json(body))
                    .await?;
                let code = errcode(&v);
                if code != 0 && code != 45065 {
                    return Err(classify("message/mass/sendall", code, &v, false));
                }
                if code == 45065 {
                    // An earlier attempt was sent; the draft this attempt made was not.
                    if let Err(e) = self
                        .call(
                            "/cgi-bin/draft/delete",
                            &[],
                            Body::Json(json!({ "media_id": media_id })),
                        )
                        .await
                    {
                        tracing::debug!(error = %e, "wechat: could not delete an unsent draft");
                    }
                }
                let id = id_string(&v["msg_id"]);
                if id.is_empty() {
                    return Err(SocialError::permanent(format!(
                        "{NAME}: sendall answered errcode {code} without msg_id"
                    )));
                }
                self.count_send(now());
                Ok(Posted {
                    remote_id: id,
                    url: None,
                })
            }
        }
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        match self.mode {
            Mode::MassSend => {
                let msg_id = posted
                    .remote_id
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| json!(posted.remote_id));
                let body = json!({ "msg_id": msg_id, "article_idx": 0 });
                self.call("/cgi-bin/message/mass/delete", &[], Body::Json(body))
                    .await
                    .map(|_| ())
            }
            Mode::Publish => {
                let article_id = match posted.remote_id.strip_prefix("article:") {
                    Some(a) => a.to_owned(),
                    None => {
                        let body = json!({ "publish_id": posted.remote_id });
                        let v = self
                            .call("/cgi-bin/freepublish/get", &[], Body::Json(body))
                            .await?;
                        match v["publish_status"].as_i64() {
                            Some(0) => id_string(&v["article_id"]),
                            Some(1) => {
                                return Err(SocialError::transient(format!(
                                    "{NAME}: publication {} is still being published",
                                    posted.remote_id
                                )));
                            }
                            // Failed, refused, or already removed: nothing is online.
                            Some(2..=6) => return Ok(()),
                            other => {
                                return Err(SocialError::permanent(format!(
                                    "{NAME}: freepublish/get: unexpected publish_status {other:?}"
                                )));
                            }
                        }
                    }
                };
                if article_id.is_empty() {
                    return Err(SocialError::permanent(format!(
                        "{NAME}: no article_id for {}",
                        posted.remote_id
                    )));
                }
                let body = json!({ "article_id": article_id, "index": 0 });
                self.call("/cgi-bin/freepublish/delete", &[], Body::Json(body))
                    .await
                    .map(|_| ())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn quota_days_start_at_beijing_midnight() {
        // 15:59 UTC is 23:59 in Beijing: the day turns in a minute.
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 15, 59, 0).unwrap();
        assert_eq!(until_next_quota_day(now), Duration::from_secs(6 * 60));
        // 16:00 UTC is midnight: a whole day (plus five minutes) to wait.
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 16, 0, 0).unwrap();
        assert_eq!(
            until_next_quota_day(now),
            Duration::from_secs(24 * 3600 + 5 * 60)
        );
    }

    #[test]
    fn client_msg_ids_are_stable_and_short() {
        let k = client_msg_id("social:a:zh-Hans:wechat");
        assert_eq!(k, client_msg_id("social:a:zh-Hans:wechat"));
        assert_ne!(k, client_msg_id("social:a:ja:wechat"));
        assert_eq!(k.len(), 24);
    }
}
