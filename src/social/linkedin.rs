//! LinkedIn organisation pages: `POST /rest/posts` (the Posts API of the Community
//! Management API) as `urn:li:organization:{id}`.
//!
//! - Every call carries `Authorization: Bearer <token>` (a member token with
//!   `w_organization_social`, the member an administrator or content administrator of
//!   the page), `LinkedIn-Version: YYYYMM` (`version`; LinkedIn supports each monthly
//!   version for at least a year) and `X-Restli-Protocol-Version: 2.0.0`.
//! - The post is an article post: `commentary` is the title, summary and hashtags fitted
//!   to [`text::Budget::LINKEDIN`] (3000 characters) without the link, and the link goes in
//!   `content.article.source` (with the title and summary as the card's `title` and
//!   `description`), so LinkedIn shows the article card. `visibility: PUBLIC`,
//!   `distribution.feedDistribution: MAIN_FEED`, `lifecycleState: PUBLISHED`.
//! - `commentary` is "little" text: the reserved characters `\ | { } @ [ ] ( ) < > # * _ ~`
//!   are escaped with a backslash (unescaped, LinkedIn silently cuts the post at the
//!   first one), except the `#` that starts a hashtag, so hashtags stay hashtags. The
//!   escaped text is what must fit: when the backslashes push it over the limit, it is
//!   fitted again to a shorter budget.
//! - The new post's urn (`urn:li:share:…` or `urn:li:ugcPost:…`) comes back in the
//!   `x-restli-id` header of the 201.
//! - Exactly once: LinkedIn refuses the same content from the same author with 422
//!   `DUPLICATE_POST` ("Content is a duplicate of urn:li:share:…"). A retry after an
//!   unknown outcome sends the same content, so that refusal means the first attempt got
//!   through: the adapter returns the urn it names as the post.
//! - Errors: 429 transient (LinkedIn's limits are per day; the wait is `Retry-After` or
//!   [`RATE_LIMIT_WAIT`]); 5xx transient; 401 (expired token), 403, 422 and other 4xx
//!   permanent.
//! - Delete: `DELETE /rest/posts/{url-encoded urn}` with `X-RestLi-Method: DELETE`; 404
//!   means it is gone already.
//! - Healthcheck: `GET /rest/organizations/{id}`.

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::config::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The API. Default: `https://api.linkedin.com`.
    #[serde(default = "default_api")]
    pub api: String,
    /// The organisation's numeric id (the page posts as `urn:li:organization:{id}`).
    pub organization_id: String,
    /// An OAuth 2.0 access token with `w_organization_social`, or `token_file`, which is
    /// read again for every request.
    #[serde(default)]
    pub token: Secret,
    pub token_file: Option<PathBuf>,
    /// The `LinkedIn-Version` header, `YYYYMM`. Default: `202605`.
    #[serde(default = "default_version")]
    pub version: String,
}

fn default_api() -> String {
    "https://api.linkedin.com".into()
}

fn default_version() -> String {
    "202605".into()
}

const NAME: &str = "linkedin";
/// The wait after a 429 without `Retry-After`.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(900);
/// Characters that are markup in "little" text.
const RESERVED: &[char] = &[
    '\\', '|', '{', '}', '@', '[', ']', '(', ')', '<', '>', '#', '*', '_', '~',
];

#[derive(Debug)]
pub struct LinkedIn {
    api: String,
    organization_id: String,
    token: Secret,
    token_file: Option<PathBuf>,
    version: String,
    http: reqwest::Client,
}

/// A failed call: the HTTP status (0 when nothing came back), the body and the verdict.
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

/// Escapes `s` as "little" text, leaving the `#` that starts each hashtag.
pub fn escape_little(s: &str) -> String {
    let tags: Vec<usize> = text::find_hashtags(s).iter().map(|r| r.start).collect();
    let mut out = String::with_capacity(s.len() + 16);
    for (i, c) in s.char_indices() {
        if RESERVED.contains(&c) && !(c == '#' && tags.contains(&i)) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The urn a duplicate refusal names: "Content is a duplicate of urn:li:share:123".
fn duplicate_of(body: &str) -> Option<String> {
    if !body.contains("DUPLICATE_POST") && !body.contains("is a duplicate of") {
        return None;
    }
    let at = body.find("urn:li:")?;
    let urn: String = body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == ':')
        .collect();
    (urn.matches(':').count() >= 3).then_some(urn)
}

impl LinkedIn {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        url::Url::parse(&c.api).map_err(|e| anyhow::anyhow!("linkedin.api: {e}"))?;
        if c.organization_id.is_empty() || !c.organization_id.bytes().all(|b| b.is_ascii_digit()) {
            anyhow::bail!(
                "linkedin.organization_id: {:?} is not a numeric organisation id",
                c.organization_id
            );
        }
        if c.version.len() != 6 || !c.version.bytes().all(|b| b.is_ascii_digit()) {
            anyhow::bail!("linkedin.version: {:?} is not YYYYMM", c.version);
        }
        let token = super::secret(&c.token, &c.token_file, "linkedin.token")?;
        Ok(Self {
            api: c.api.trim_end_matches('/').to_owned(),
            organization_id: c.organization_id.clone(),
            token,
            token_file: c.token_file.clone(),
            version: c.version.clone(),
            http,
        })
    }

    fn token(&self) -> Result<Secret, SocialError> {
        match &self.token_file {
            Some(_) => super::secret(&self.token, &self.token_file, "linkedin.token")
                .map_err(|e| SocialError::permanent(format!("{NAME}: {e:#}"))),
            None => Ok(self.token.clone()),
        }
    }

    /// The escaped commentary, at most [`text::Budget::LINKEDIN`] once escaped.
    fn commentary(post: &Post) -> String {
        let parts = text::Parts {
            link: None,
            ..post.parts.clone()
        };
        let mut budget = text::Budget::LINKEDIN;
        loop {
            let escaped = escape_little(&text::fit(&parts, &budget));
            let n = text::count(&escaped, &text::Budget::LINKEDIN);
            if n <= text::Budget::LINKEDIN.max || budget.max <= 1 {
                return escaped;
            }
            budget.max = budget
                .max
                .saturating_sub(n - text::Budget::LINKEDIN.max)
                .max(1);
        }
    }

    /// Sends `req` with the token and the version headers; the success body and headers.
    async fn call(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(Value, reqwest::header::HeaderMap), Failure> {
        let token = self.token()?;
        let r = req
            .bearer_auth(token.expose())
            .header("LinkedIn-Version", &self.version)
            .header("X-Restli-Protocol-Version", "2.0.0")
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e))?;
        let (status, headers) = (r.status(), r.headers().clone());
        let body = r.text().await.map_err(|e| SocialError::network(NAME, &e))?;
        if status.is_success() {
            return Ok((serde_json::from_str(&body).unwrap_or(Value::Null), headers));
        }
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        let explanation = v["message"].as_str().unwrap_or(&body).to_owned();
        let mut error = SocialError::from_status(NAME, status, &headers, &explanation);
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS && error.retry_after.is_none() {
            error.retry_after = Some(RATE_LIMIT_WAIT);
        }
        Err(Failure {
            status: status.as_u16(),
            body,
            error,
        })
    }

    fn posted(urn: &str) -> Posted {
        Posted {
            remote_id: urn.to_owned(),
            url: Some(format!("https://www.linkedin.com/feed/update/{urn}/")),
        }
    }
}

#[async_trait::async_trait]
impl Platform for LinkedIn {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        Composed {
            text: Self::commentary(post),
            facets: None,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        let (v, _) = self
            .call(self.http.get(format!(
                "{}/rest/organizations/{}",
                self.api, self.organization_id
            )))
            .await
            .map_err(|f| f.error)?;
        match v["id"].as_u64().map(|i| i.to_string()) {
            Some(id) if id == self.organization_id => Ok(()),
            _ => Err(SocialError::permanent(format!(
                "{NAME}: /rest/organizations/{} answered without its id",
                self.organization_id
            ))),
        }
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        let mut article = json!({ "source": post.link });
        if !post.title.trim().is_empty() {
            article["title"] = json!(post.title.trim());
        }
        if !post.summary.trim().is_empty() {
            article["description"] = json!(post.summary.trim());
        }
        let body = json!({
            "author": format!("urn:li:organization:{}", self.organization_id),
            "commentary": Self::commentary(post),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "content": { "article": article },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        });
        match self
            .call(
                self.http
                    .post(format!("{}/rest/posts", self.api))
                    .json(&body),
            )
            .await
        {
            Ok((_, headers)) => match headers.get("x-restli-id").and_then(|v| v.to_str().ok()) {
                Some(urn) if !urn.is_empty() => Ok(Self::posted(urn)),
                // Made or not: a retry meets the duplicate refusal and learns the urn.
                _ => Err(SocialError::transient(format!(
                    "{NAME}: POST /rest/posts answered without x-restli-id"
                ))),
            },
            Err(f) if f.status == 422 => match duplicate_of(&f.body) {
                Some(urn) => Ok(Self::posted(&urn)),
                None => Err(f.error),
            },
            Err(f) => Err(f.error),
        }
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        let urn: String =
            url::form_urlencoded::byte_serialize(posted.remote_id.as_bytes()).collect();
        match self
            .call(
                self.http
                    .delete(format!("{}/rest/posts/{urn}", self.api))
                    .header("X-RestLi-Method", "DELETE"),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(f) if f.status == 404 => Ok(()),
            Err(f) => Err(f.error),
        }
    }
}
