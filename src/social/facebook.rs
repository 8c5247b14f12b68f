//! Facebook Pages: `POST /{page-id}/feed` on the Graph API with a Page access token.
//!
//! - Text: the `message` is the title, summary and hashtags fitted to
//!   [`text::Budget::FACEBOOK`] (63 206 characters) *without* the link; the article link
//!   goes in the `link` field so Facebook builds its preview card from the page's own
//!   metadata. The article image is not uploaded (the card shows it).
//! - Auth: a Page access token (tasks `CREATE_CONTENT`; permissions `pages_manage_posts`,
//!   `pages_read_engagement`, `pages_show_list`), sent as the `access_token` parameter:
//!   in the form body of a POST, in the query of GET and DELETE. Transport errors are
//!   therefore reported without their URL. With `page_token_file` the file is read again
//!   for every request, so a rotated token needs no restart.
//! - Exactly once: the Graph API has no idempotency key. Before posting, the adapter
//!   reads the Page's latest posts (`GET /{page-id}/posts?fields=id,message`) and returns
//!   a post whose `message` is the one it is about to send ("look before you retry").
//!   Facebook also refuses the same message twice in a row (code 506, "Duplicate status
//!   message"); that answer means an earlier attempt got through, and the post is looked
//!   up again. If the token may not read the Page's posts (permission errors), it posts
//!   anyway and relies on the 506 alone.
//! - Errors: `{"error":{"message","type","code","error_subcode","fbtrace_id"}}`, classified
//!   by `code` first (Facebook sends most of them with HTTP 400):
//!   - 4, 17, 32, 613, 80001 (app, user, Page and BUC rate limits) and 341 (app limit):
//!     transient, waiting `Retry-After`, else the largest `estimated_time_to_regain_access`
//!     (minutes) in `X-Business-Use-Case-Usage`, else [`RATE_LIMIT_WAIT`] (10 minutes);
//!   - 1, 2 (unknown / service error) and `is_transient: true`: transient;
//!   - 368 (temporarily blocked for policy violations; Facebook says wait and retry):
//!     transient, waiting [`BLOCKED_WAIT`] (one hour);
//!   - 190 (expired or invalid token), 102, 10 and 200–299 (permissions): permanent;
//!   - 506 (duplicate post): see above; permanent when the earlier post cannot be found;
//!   - anything else by HTTP status (5xx transient, 4xx permanent).
//! - Post URL: `https://www.facebook.com/{post_id}` (`post_id` is `{page-id}_{id}`).

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::config::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Graph API, with its version. Default: `https://graph.facebook.com/v26.0`.
    #[serde(default = "default_api")]
    pub api: String,
    /// The Page's numeric id.
    pub page_id: String,
    /// A Page access token, or `page_token_file`, which is read again for every request.
    #[serde(default)]
    pub page_token: Secret,
    pub page_token_file: Option<PathBuf>,
}

fn default_api() -> String {
    "https://graph.facebook.com/v26.0".into()
}

const NAME: &str = "facebook";
/// How many of the Page's latest posts are searched for the message.
const LOOK_BACK: &str = "25";
/// The wait after a rate limit that says nothing of its own.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(600);
/// The wait after code 368 (temporarily blocked).
pub const BLOCKED_WAIT: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct Facebook {
    api: String,
    page_id: String,
    token: Secret,
    token_file: Option<PathBuf>,
    http: reqwest::Client,
}

/// A failed call: the Graph error `code` (0 when there was none) and the verdict.
#[derive(Debug)]
struct Failure {
    code: i64,
    subcode: i64,
    error: SocialError,
}

impl From<SocialError> for Failure {
    fn from(error: SocialError) -> Self {
        Self {
            code: 0,
            subcode: 0,
            error,
        }
    }
}

impl Facebook {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        url::Url::parse(&c.api).map_err(|e| anyhow::anyhow!("facebook.api: {e}"))?;
        if c.page_id.is_empty() || !c.page_id.bytes().all(|b| b.is_ascii_digit()) {
            anyhow::bail!("facebook.page_id: {:?} is not a numeric Page id", c.page_id);
        }
        let token = super::secret(&c.page_token, &c.page_token_file, "facebook.page_token")?;
        Ok(Self {
            api: c.api.trim_end_matches('/').to_owned(),
            page_id: c.page_id.clone(),
            token,
            token_file: c.page_token_file.clone(),
            http,
        })
    }

    fn token(&self) -> Result<Secret, SocialError> {
        match &self.token_file {
            Some(_) => super::secret(&self.token, &self.token_file, "facebook.page_token")
                .map_err(|e| SocialError::permanent(format!("{NAME}: {e:#}"))),
            None => Ok(self.token.clone()),
        }
    }

    fn message(post: &Post) -> String {
        let parts = text::Parts {
            link: None,
            ..post.parts.clone()
        };
        text::fit(&parts, &text::Budget::FACEBOOK)
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let r = req
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e.without_url()))?;
        let (status, headers) = (r.status(), r.headers().clone());
        let body = r
            .text()
            .await
            .map_err(|e| SocialError::network(NAME, &e.without_url()))?;
        if status.is_success() {
            return Ok(serde_json::from_str(&body).unwrap_or(Value::Null));
        }
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        Err(Failure {
            code: v["error"]["code"].as_i64().unwrap_or(0),
            subcode: v["error"]["error_subcode"].as_i64().unwrap_or(0),
            error: classify(status, &headers, &body),
        })
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, Failure> {
        let token = self.token()?;
        let mut q: Vec<(&str, &str)> = query.to_vec();
        q.push(("access_token", token.expose()));
        self.call(self.http.get(format!("{}/{path}", self.api)).query(&q))
            .await
    }

    fn posted(id: &str) -> Posted {
        Posted {
            remote_id: id.to_owned(),
            url: Some(format!("https://www.facebook.com/{id}")),
        }
    }

    /// The Page's post with exactly `message` among its latest, if any.
    async fn find(&self, message: &str) -> Result<Option<Posted>, Failure> {
        let v = self
            .get(
                &format!("{}/posts", self.page_id),
                &[("fields", "id,message"), ("limit", LOOK_BACK)],
            )
            .await?;
        let posts = v["data"].as_array().map(Vec::as_slice).unwrap_or_default();
        Ok(posts
            .iter()
            .find(|p| p["message"].as_str() == Some(message))
            .and_then(|p| p["id"].as_str())
            .map(Self::posted))
    }
}

/// Permission and token errors: reading the Page's posts is not allowed.
fn is_permission(code: i64) -> bool {
    code == 10 || (200..=299).contains(&code)
}

/// The verdict on a Graph API error (see the module documentation).
fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> SocialError {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let err = &v["error"];
    let code = err["code"].as_i64();
    let explanation = match (err["message"].as_str(), code) {
        (Some(m), Some(c)) => {
            let sub = err["error_subcode"]
                .as_i64()
                .map(|s| format!("/{s}"))
                .unwrap_or_default();
            let trace = err["fbtrace_id"]
                .as_str()
                .map(|t| format!(" (fbtrace_id {t})"))
                .unwrap_or_default();
            format!("code {c}{sub}: {m}{trace}")
        }
        _ => body.to_owned(),
    };
    let mut e = SocialError::from_status(NAME, status, headers, &explanation);
    match code {
        Some(4 | 17 | 32 | 341 | 613 | 80001) => {
            e.transient = true;
            if e.retry_after.is_none() {
                e.retry_after = Some(regain_access(headers).unwrap_or(RATE_LIMIT_WAIT));
            }
        }
        Some(368) => {
            e.transient = true;
            e.retry_after = e.retry_after.or(Some(BLOCKED_WAIT));
        }
        Some(1 | 2) => e.transient = true,
        Some(190 | 102 | 10 | 506) => e.transient = false,
        Some(c) if (200..=299).contains(&c) => e.transient = false,
        _ if err["is_transient"] == Value::Bool(true) => e.transient = true,
        _ => {}
    }
    e
}

/// The largest `estimated_time_to_regain_access` (minutes) in `X-Business-Use-Case-Usage`:
/// `{"<business id>": [{"type": "pages", "call_count": 100, …, "estimated_time_to_regain_access": 5}]}`.
fn regain_access(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v: Value =
        serde_json::from_str(headers.get("x-business-use-case-usage")?.to_str().ok()?).ok()?;
    let minutes = v
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|u| u["estimated_time_to_regain_access"].as_u64())
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(minutes * 60))
}

#[async_trait::async_trait]
impl Platform for Facebook {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        Composed {
            text: Self::message(post),
            facets: None,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        let v = self
            .get(&self.page_id, &[("fields", "id,name")])
            .await
            .map_err(|f| f.error)?;
        match v["id"].as_str() {
            Some(id) if id == self.page_id => Ok(()),
            Some(id) => Err(SocialError::permanent(format!(
                "{NAME}: the token is for {id}, but page_id is {}",
                self.page_id
            ))),
            None => Err(SocialError::permanent(format!(
                "{NAME}: /{} answered without id",
                self.page_id
            ))),
        }
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        let message = Self::message(post);
        match self.find(&message).await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {}
            Err(f) if is_permission(f.code) => {
                tracing::warn!(error = %f.error, "facebook: cannot read the Page's posts; posting without looking first");
            }
            Err(f) => return Err(f.error),
        }
        let token = self.token()?;
        let form = [
            ("message", message.as_str()),
            ("link", post.link.as_str()),
            ("access_token", token.expose()),
        ];
        match self
            .call(
                self.http
                    .post(format!("{}/{}/feed", self.api, self.page_id))
                    .form(&form),
            )
            .await
        {
            Ok(v) => match v["id"].as_str() {
                Some(id) => Ok(Self::posted(id)),
                None => Err(SocialError::transient(format!(
                    "{NAME}: POST /{}/feed answered without id",
                    self.page_id
                ))),
            },
            Err(f) if f.code == 506 => match self.find(&message).await {
                Ok(Some(done)) => Ok(done),
                Ok(None) => Err(SocialError::permanent(format!(
                    "{NAME}: refused as a duplicate post (code 506), yet no post with this message is among the Page's latest {LOOK_BACK}"
                ))),
                Err(f) => Err(f.error),
            },
            Err(f) => Err(f.error),
        }
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        let token = self.token()?;
        match self
            .call(
                self.http
                    .delete(format!("{}/{}", self.api, posted.remote_id))
                    .query(&[("access_token", token.expose())]),
            )
            .await
        {
            Ok(v) if v["success"] == Value::Bool(false) => Err(SocialError::permanent(format!(
                "{NAME}: post {} was not deleted",
                posted.remote_id
            ))),
            Ok(_) => Ok(()),
            // Code 100, subcode 33: the object does not exist (any more).
            Err(f) if f.code == 100 && f.subcode == 33 => Ok(()),
            Err(f) => Err(f.error),
        }
    }
}
