//! X (formerly Twitter): `POST /2/tweets` with an OAuth 2.0 user-context access token.
//!
//! - Length: twitter-text's weighted count, at most 280 ([`text::Budget::X`]): Latin and
//!   general punctuation weigh 1, CJK and most other scripts 2, every URL 23 (the t.co
//!   link), NFC first.
//! - Auth: `Authorization: Bearer <user access token>` with the scopes `tweet.read`,
//!   `tweet.write` and `users.read`. Such a token lasts two hours unless it was issued
//!   with `offline.access` and is refreshed; with `token_file` the file is read again for
//!   every request, so something outside the daemon can rotate the token without a
//!   restart. An expired token is a 401, a permanent error.
//! - Exactly once: X has no idempotency key. Before posting, the adapter looks for its own
//!   post among the account's latest 20 (`GET /2/users/{user_id}/tweets`): a post whose
//!   `entities.urls[].expanded_url` is the article link (X shortens the link in `text` to
//!   t.co) is returned instead of posting again, so a retry after an unknown outcome
//!   finds the first attempt ("look before you retry"). X also refuses a text that
//!   repeats a recent post (403 "duplicate content"); that answer means an earlier attempt
//!   got through, and the adapter looks the post up again. If the account may not read its
//!   timeline (a 403 on the look-up, as on plans without read access), it posts anyway
//!   and relies on that duplicate refusal alone. What is left: a post that went through
//!   but is neither visible in the timeline yet nor seen as a duplicate by X.
//! - Errors: 429 is transient, waiting until `x-rate-limit-reset` (unix seconds; the
//!   24-hour user or app reset when that quota is what ran out) when there is no
//!   `Retry-After`; 5xx transient; 401, 403 and other 4xx permanent.
//! - The article image is not uploaded: X builds the link's card from the page's own
//!   metadata.

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::config::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API. Default: `https://api.x.com`.
    #[serde(default = "default_api")]
    pub api: String,
    /// The account's numeric user id (`GET /2/users/me` shows it): where its own recent
    /// posts are looked up.
    pub user_id: String,
    /// An OAuth 2.0 user access token (scopes `tweet.read tweet.write users.read`), or
    /// `token_file`, which is read again for every request.
    #[serde(default)]
    pub token: Secret,
    pub token_file: Option<PathBuf>,
}

fn default_api() -> String {
    "https://api.x.com".into()
}

const NAME: &str = "x";
/// How many of the account's latest posts are searched for the article link.
const LOOK_BACK: &str = "20";

#[derive(Debug)]
pub struct X {
    api: String,
    user_id: String,
    token: Secret,
    token_file: Option<PathBuf>,
    http: reqwest::Client,
}

/// A failed call: the HTTP status (0 when nothing came back), the body, and the verdict.
#[derive(Debug)]
struct Failure {
    status: u16,
    body: String,
    error: SocialError,
}

impl From<SocialError> for Failure {
    fn from(error: SocialError) -> Self {
        Self {
            status: 0,
            body: String::new(),
            error,
        }
    }
}

impl X {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        url::Url::parse(&c.api).map_err(|e| anyhow::anyhow!("x.api: {e}"))?;
        if c.user_id.is_empty() || !c.user_id.bytes().all(|b| b.is_ascii_digit()) {
            anyhow::bail!(
                "x.user_id: {:?} is not a numeric user id (GET /2/users/me shows it)",
                c.user_id
            );
        }
        // Read once now so an unreadable file fails at start, not at the first post.
        let token = super::secret(&c.token, &c.token_file, "x.token")?;
        Ok(Self {
            api: c.api.trim_end_matches('/').to_owned(),
            user_id: c.user_id.clone(),
            token,
            token_file: c.token_file.clone(),
            http,
        })
    }

    /// The current token: the file's content when there is a file (it may be rotated).
    fn token(&self) -> Result<Secret, SocialError> {
        match &self.token_file {
            Some(_) => super::secret(&self.token, &self.token_file, "x.token")
                .map_err(|e| SocialError::permanent(format!("{NAME}: {e:#}"))),
            None => Ok(self.token.clone()),
        }
    }

    async fn call(&self, req: reqwest::RequestBuilder) -> Result<Value, Failure> {
        let token = self.token()?;
        let r = req
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e))?;
        let (status, headers) = (r.status(), r.headers().clone());
        // A body lost after the request went through leaves the outcome unknown: transient.
        let body = r.text().await.map_err(|e| SocialError::network(NAME, &e))?;
        if status.is_success() {
            return Ok(serde_json::from_str(&body).unwrap_or(Value::Null));
        }
        Err(Failure {
            status: status.as_u16(),
            error: classify(status, &headers, &body),
            body,
        })
    }

    fn posted(id: &str) -> Posted {
        Posted {
            remote_id: id.to_owned(),
            url: Some(format!("https://x.com/i/web/status/{id}")),
        }
    }

    /// The account's post linking to `link` among its latest, if any.
    async fn find(&self, link: &str) -> Result<Option<Posted>, Failure> {
        let mut url = url::Url::parse(&format!("{}/2/users/{}/tweets", self.api, self.user_id))
            .map_err(|e| SocialError::permanent(format!("{NAME}: {e}")))?;
        url.query_pairs_mut()
            .append_pair("max_results", LOOK_BACK)
            .append_pair("tweet.fields", "entities")
            .append_pair("exclude", "replies,retweets");
        let v = self.call(self.http.get(url)).await?;
        let tweets = v["data"].as_array().map(Vec::as_slice).unwrap_or_default();
        Ok(tweets
            .iter()
            .find(|t| links_to(t, link))
            .and_then(|t| t["id"].as_str())
            .map(Self::posted))
    }
}

/// Whether the tweet object `t` carries `link`: in its URL entities (the original behind
/// the t.co link) or, should X ever leave it unshortened, in its text.
fn links_to(t: &Value, link: &str) -> bool {
    let urls = t["entities"]["urls"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    urls.iter().any(|u| {
        ["expanded_url", "unwound_url"]
            .iter()
            .any(|k| u[*k].as_str().is_some_and(|s| same_link(s, link)))
    }) || t["text"].as_str().is_some_and(|s| s.contains(link))
}

/// Equal as written or once parsed (host case, default port, empty path).
fn same_link(a: &str, b: &str) -> bool {
    a == b || matches!((url::Url::parse(a), url::Url::parse(b)), (Ok(a), Ok(b)) if a == b)
}

/// X's answer to a text it has seen recently from the same account.
fn is_duplicate(body: &str) -> bool {
    let body = body.to_lowercase();
    body.contains("duplicate content") || body.contains("status is a duplicate")
}

/// The HTTP verdict, with X's explanation (`detail`, `errors[].message`) as the message
/// and, for a 429 without `Retry-After`, the wait until the exhausted quota resets.
fn classify(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> SocialError {
    let v: Value = serde_json::from_str(body).unwrap_or_default();
    let mut said: Vec<&str> = v["errors"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["message"].as_str().or(e["detail"].as_str()))
        .collect();
    if let Some(d) = v["detail"].as_str() {
        said.insert(0, d);
    }
    let explanation = if said.is_empty() {
        body.to_owned()
    } else {
        said.join("; ")
    };
    let mut e = SocialError::from_status(NAME, status, headers, &explanation);
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS && e.retry_after.is_none() {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let mut resets: Vec<i64> = header("x-rate-limit-reset").into_iter().collect();
        for quota in ["x-user-limit-24hour", "x-app-limit-24hour"] {
            if header(&format!("{quota}-remaining")) == Some(0) {
                resets.extend(header(&format!("{quota}-reset")));
            }
        }
        if let Some(reset) = resets.into_iter().max() {
            let now = crate::clock::Clock::now(&crate::clock::SystemClock).timestamp();
            e.retry_after = Some(std::time::Duration::from_secs((reset - now).max(1) as u64));
        }
    }
    e
}

#[async_trait::async_trait]
impl Platform for X {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        Composed {
            text: text::fit(&post.parts, &text::Budget::X),
            facets: None,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        let v = self
            .call(self.http.get(format!("{}/2/users/me", self.api)))
            .await
            .map_err(|f| f.error)?;
        match v["data"]["id"].as_str() {
            Some(id) if id == self.user_id => Ok(()),
            Some(id) => Err(SocialError::permanent(format!(
                "{NAME}: the token belongs to user {id}, but user_id is {}",
                self.user_id
            ))),
            None => Err(SocialError::permanent(format!(
                "{NAME}: /2/users/me answered without data.id"
            ))),
        }
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        let status = self.compose(post).text;
        if !text::fits(&status, &text::Budget::X) {
            return Err(SocialError::permanent(format!(
                "{NAME}: even the link alone is longer than X allows"
            )));
        }
        match self.find(&post.link).await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => {}
            Err(f) if f.status == 403 => {
                tracing::warn!(error = %f.error, "x: cannot read the account's posts; posting without looking first");
            }
            Err(f) => return Err(f.error),
        }
        match self
            .call(
                self.http
                    .post(format!("{}/2/tweets", self.api))
                    .json(&json!({ "text": status })),
            )
            .await
        {
            Ok(v) => match v["data"]["id"].as_str() {
                Some(id) => Ok(Self::posted(id)),
                // Made or not: the next attempt looks before it posts.
                None => Err(SocialError::transient(format!(
                    "{NAME}: POST /2/tweets answered without data.id"
                ))),
            },
            Err(f) if f.status == 403 && is_duplicate(&f.body) => match self.find(&post.link).await
            {
                Ok(Some(done)) => Ok(done),
                Ok(None) => Err(SocialError::permanent(format!(
                    "{NAME}: refused as duplicate content, yet no post with {} is among the account's latest {LOOK_BACK}",
                    post.link
                ))),
                Err(f) => Err(f.error),
            },
            Err(f) => Err(f.error),
        }
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        match self
            .call(
                self.http
                    .delete(format!("{}/2/tweets/{}", self.api, posted.remote_id)),
            )
            .await
        {
            Ok(v) if v["data"]["deleted"] == json!(false) => Err(SocialError::permanent(format!(
                "{NAME}: post {} was not deleted",
                posted.remote_id
            ))),
            Ok(_) => Ok(()),
            // Already gone.
            Err(f) if f.status == 404 => Ok(()),
            Err(f) => Err(f.error),
        }
    }
}
