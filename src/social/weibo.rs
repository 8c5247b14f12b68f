//! Weibo (微博): `POST /2/statuses/share.json`, the open platform's way for a site to share a
//! link to its own pages.
//!
//! What the platform documents (open.weibo.com/wiki/2/statuses/share, /wiki/Error_code), and what
//! this adapter makes of it:
//!
//! - **Request**: a form POST of `access_token` (an OAuth2 user token of the account), `status`
//!   and `rip` (the real IP of the acting user; the current page marks it required), or
//!   `multipart/form-data` when the optional `pic` (JPEG, GIF or PNG under 5 MB) is sent. The
//!   article image is sent as `pic` when it qualifies.
//! - **Text**: at most 140 汉字; it must not contain a `#话题词#` topic, so hashtags are left out
//!   and a `#` in the title or summary becomes `＃`; it must contain a link on the app's bound
//!   safe domain (我的应用 → 应用信息 → 基本应用信息编辑 → 安全域名): the post's link is
//!   required, and a link on another domain is a permanent error before any call. Fitted with
//!   [`text::Budget::WEIBO`].
//! - **Answer**: the status (`idstr`, `user.idstr`); its address is `https://weibo.com/{uid}/{idstr}`
//!   when the answer names the user.
//! - **Errors**: JSON `{"request", "error_code", "error"}`. 10022 / 10023 / 10024 (IP, user and
//!   per-API rate limits) and 20016 (posting too often) are transient with a `retry_after` of one
//!   hour (the documentation gives none; a `Retry-After` header wins); 10001–10003 and
//!   10009–10011 (system errors, busy) are transient; token errors (21314–21317, 21319,
//!   21327 expired_token, 21332 invalid_access_token) are permanent: an operator must
//!   authorise the app again. Other codes are permanent, HTTP 5xx without a code transient.
//! - **Exactly once**: there is no idempotency key, but Weibo refuses the same text again with
//!   20019 (repeat content). The adapter then looks for the status among the account's latest
//!   ones (`statuses/user_timeline`, comparing text with links removed, since Weibo shows them
//!   as t.cn short links) and returns it; if it is not there, the error is permanent.
//! - delete: `POST /2/statuses/destroy.json {id}` (20101, no such status, counts as done).
//!   healthcheck: `GET /2/account/get_uid.json`.

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::config::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API base. Default: `https://api.weibo.com`.
    #[serde(default = "default_api")]
    pub api: String,
    /// An OAuth2 access token of the account for the app, or `access_token_file`. Tokens expire
    /// (error 21327): renew it by authorising the app again.
    #[serde(default)]
    pub access_token: Secret,
    pub access_token_file: Option<PathBuf>,
    /// The app's safe domain (安全域名), e.g. `example.org`: every post's link must be on it or
    /// on a subdomain of it.
    pub safe_domain: String,
    /// The IP address sent as `rip` (the acting user's real IP, which `statuses/share`
    /// requires): the public address of this server.
    pub rip: String,
    /// Where statuses are shown, for the stored post URL. Default: `https://weibo.com`.
    #[serde(default = "default_web")]
    pub web: String,
}

fn default_api() -> String {
    "https://api.weibo.com".into()
}
fn default_web() -> String {
    "https://weibo.com".into()
}

const NAME: &str = "weibo";
/// How long a rate limit is waited out when Weibo does not say.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(3600);
const PIC_MAX_BYTES: usize = 5 * 1024 * 1024;

#[derive(Debug)]
pub struct Weibo {
    api: String,
    token: Secret,
    safe_domain: String,
    rip: String,
    web: String,
    http: reqwest::Client,
}

/// A failed call: the Weibo error code when there was one, and the retry decision.
struct Failure {
    code: Option<i64>,
    error: SocialError,
}

impl From<Failure> for SocialError {
    fn from(f: Failure) -> Self {
        f.error
    }
}

impl Weibo {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        url::Url::parse(&c.api).map_err(|e| anyhow::anyhow!("weibo.api: {e}"))?;
        let domain = c
            .safe_domain
            .trim()
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .trim_start_matches("*.")
            .trim_matches('.')
            .to_ascii_lowercase();
        if domain.is_empty() || domain.contains(['/', ':', ' ']) {
            anyhow::bail!(
                "weibo.safe_domain: {:?} is not a domain name such as example.org",
                c.safe_domain
            );
        }
        let rip: std::net::IpAddr = c
            .rip
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("weibo.rip: {:?} is not an IP address: {e}", c.rip))?;
        Ok(Self {
            api: c.api.trim_end_matches('/').to_owned(),
            token: super::secret(&c.access_token, &c.access_token_file, "weibo.access_token")?,
            safe_domain: domain,
            rip: rip.to_string(),
            web: c.web.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// Refuses a link that is not on the safe domain.
    fn check_domain(&self, link: &str) -> Result<(), SocialError> {
        let host = url::Url::parse(link)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let d = &self.safe_domain;
        match host {
            Some(h) if h == *d || h.ends_with(&format!(".{d}")) => Ok(()),
            _ => Err(SocialError::permanent(format!(
                "{NAME}: the link {link} is not on the app's safe domain {d:?} (safe_domain): \
                 statuses/share only takes links on the domain registered for the app"
            ))),
        }
    }

    fn token(&self) -> Result<&str, SocialError> {
        match self.token.expose() {
            "" => Err(SocialError::permanent(format!(
                "{NAME}: no access token: set access_token or access_token_file"
            ))),
            t => Ok(t),
        }
    }

    /// Sends a request and reads the answer, classifying Weibo's errors.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let r = req.send().await.map_err(|e| Failure {
            code: None,
            error: SocialError::network(NAME, &e),
        })?;
        let (status, headers) = (r.status(), r.headers().clone());
        let body = r.text().await.map_err(|e| Failure {
            code: None,
            error: SocialError::network(NAME, &e),
        })?;
        let v: Option<Value> = serde_json::from_str(&body).ok();
        let code = v.as_ref().and_then(|v| error_code(&v["error_code"]));
        if status.is_success() && code.is_none() {
            return v.ok_or_else(|| {
                let start: String = body.chars().take(200).collect();
                Failure {
                    code: None,
                    error: SocialError::transient(format!("{NAME}: unreadable answer: {start}")),
                }
            });
        }
        let mut e = SocialError::from_status(NAME, status, &headers, &body);
        if let (Some(code), Some(v)) = (code, &v) {
            e.message = format!(
                "{NAME}: error {code} {}",
                v["error"].as_str().unwrap_or_default()
            );
            match code {
                10022 | 10023 | 10024 | 20016 => {
                    e.transient = true;
                    e.retry_after = e.retry_after.or(Some(RATE_LIMIT_WAIT));
                    e.message.push_str(" (rate limited)");
                }
                10001..=10003 | 10009..=10011 => e.transient = true,
                21314..=21317 | 21319 | 21327 | 21332 => {
                    e.transient = false;
                    e.message.push_str(" (the access token is no longer valid: authorise the app again and replace access_token)");
                }
                _ => e.transient = status.is_server_error(),
            }
        }
        Err(Failure { code, error: e })
    }

    /// The article image as `pic`, when Weibo takes it.
    async fn picture(&self, post: &Post) -> Result<Option<reqwest::multipart::Part>, SocialError> {
        let Some((path, _alt, mime)) = &post.image else {
            return Ok(None);
        };
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            SocialError::permanent(format!("{NAME}: image {}: {e}", path.display()))
        })?;
        let mime = mime.to_ascii_lowercase();
        if !matches!(
            mime.as_str(),
            "image/jpeg" | "image/jpg" | "image/gif" | "image/png"
        ) || bytes.len() >= PIC_MAX_BYTES
        {
            tracing::warn!(image = %path.display(), mime, bytes = bytes.len(), "weibo: posting without the image (JPEG, GIF or PNG under 5 MB)");
            return Ok(None);
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pic".into());
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name)
            .mime_str(&mime)
            .map_err(|e| SocialError::permanent(format!("{NAME}: {e}")))?;
        Ok(Some(part))
    }

    fn posted(&self, status: &Value) -> Result<Posted, SocialError> {
        let id = match id_string(&status["idstr"]) {
            s if s.is_empty() => id_string(&status["id"]),
            s => s,
        };
        if id.is_empty() {
            return Err(SocialError::permanent(format!(
                "{NAME}: the answer has no idstr"
            )));
        }
        let uid = match id_string(&status["user"]["idstr"]) {
            s if s.is_empty() => id_string(&status["user"]["id"]),
            s => s,
        };
        let url = (!uid.is_empty()).then(|| format!("{}/{uid}/{id}", self.web));
        Ok(Posted { remote_id: id, url })
    }

    /// The account's status with the text of `status`, among its latest 50.
    async fn find_on_timeline(&self, status: &str) -> Result<Option<Posted>, SocialError> {
        let url = url::Url::parse_with_params(
            &format!("{}/2/statuses/user_timeline.json", self.api),
            &[("access_token", self.token()?), ("count", "50")],
        )
        .map_err(|e| SocialError::permanent(format!("{NAME}: {e}")))?;
        let v = self.send(self.http.get(url)).await?;
        let want = comparable(status);
        for s in v["statuses"].as_array().into_iter().flatten() {
            if comparable(s["text"].as_str().unwrap_or_default()) == want {
                return self.posted(s).map(Some);
            }
        }
        Ok(None)
    }
}

/// The status text of `post`: title, summary and the link, no hashtags, at most 140.
pub fn status_text(post: &Post) -> String {
    let parts = text::Parts {
        title: post.parts.title.replace('#', "＃"),
        summary: post.parts.summary.replace('#', "＃"),
        link: Some(link(post).to_owned()),
        hashtags: vec![],
    };
    text::fit(&parts, &text::Budget::WEIBO)
}

fn link(post: &Post) -> &str {
    post.parts.link.as_deref().unwrap_or(&post.link)
}

/// Text with its links removed and its whitespace collapsed, to recognise a status whose links
/// Weibo rewrote.
fn comparable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    for r in text::find_urls(s) {
        out.push_str(&s[pos..r.start]);
        out.push(' ');
        pos = r.end;
    }
    out.push_str(&s[pos..]);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn error_code(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[async_trait::async_trait]
impl Platform for Weibo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        Composed {
            text: status_text(post),
            facets: None,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        let url = url::Url::parse_with_params(
            &format!("{}/2/account/get_uid.json", self.api),
            &[("access_token", self.token()?)],
        )
        .map_err(|e| SocialError::permanent(format!("{NAME}: {e}")))?;
        let v = self.send(self.http.get(url)).await?;
        match v.get("uid") {
            Some(Value::Number(_) | Value::String(_)) => Ok(()),
            _ => Err(SocialError::permanent(format!(
                "{NAME}: account/get_uid answered without uid"
            ))),
        }
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        self.check_domain(link(post))?;
        let status = status_text(post);
        if !text::fits(&status, &text::Budget::WEIBO) {
            return Err(SocialError::permanent(format!(
                "{NAME}: the link alone is longer than 140: {status}"
            )));
        }
        let token = self.token()?;
        let url = format!("{}/2/statuses/share.json", self.api);
        let req = match self.picture(post).await? {
            Some(pic) => self.http.post(url).multipart(
                reqwest::multipart::Form::new()
                    .text("access_token", token.to_owned())
                    .text("status", status.clone())
                    .text("rip", self.rip.clone())
                    .part("pic", pic),
            ),
            None => self.http.post(url).form(&[
                ("access_token", token),
                ("status", &status),
                ("rip", &self.rip),
            ]),
        };
        match self.send(req).await {
            Ok(v) => self.posted(&v),
            Err(Failure {
                code: Some(20019),
                error,
            }) => match self.find_on_timeline(&status).await? {
                Some(found) => Ok(found),
                None => Err(SocialError::permanent(format!(
                    "{} (Weibo says this text was already posted, but it is not among the account's latest statuses)",
                    error.message
                ))),
            },
            Err(f) => Err(f.error),
        }
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        let req = self
            .http
            .post(format!("{}/2/statuses/destroy.json", self.api))
            .form(&[("access_token", self.token()?), ("id", &posted.remote_id)]);
        match self.send(req).await {
            Ok(_) => Ok(()),
            // Target weibo does not exist: already gone.
            Err(Failure {
                code: Some(20101), ..
            }) => Ok(()),
            Err(f) => Err(f.error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::comparable;

    #[test]
    fn comparable_text_ignores_rewritten_links() {
        assert_eq!(
            comparable("标题\n\n摘要…\nhttps://example.org/zh-Hans/news/a?utm_source=weibo"),
            comparable("标题 摘要… http://t.cn/A6abcdEf")
        );
        assert_ne!(
            comparable("标题 http://t.cn/A6"),
            comparable("别的 http://t.cn/A6")
        );
    }
}
