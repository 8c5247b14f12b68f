//! Mastodon: `POST /api/v1/statuses` on the account's instance.
//!
//! - Length: the instance's own limit, read from `/api/v2/instance`
//!   (`configuration.statuses.max_characters`, `characters_reserved_per_url`), counted
//!   as the server counts (graphemes, every URL as the reserved length).
//! - `language` on every status; the article image uploaded with its description.
//! - Exactly once: an `Idempotency-Key` derived from the job key, the same on every
//!   retry, so the instance returns the first status instead of making a second.

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::config::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The instance, e.g. `https://mastodon.social`.
    pub instance: String,
    /// An access token with `write:statuses` and `write:media`, or `token_file`.
    #[serde(default)]
    pub token: Secret,
    pub token_file: Option<PathBuf>,
    /// `public`, `unlisted`, `private` or `direct`. Default: `public`.
    #[serde(default = "default_visibility")]
    pub visibility: String,
}

fn default_visibility() -> String {
    "public".into()
}

const NAME: &str = "mastodon";

#[derive(Debug)]
pub struct Mastodon {
    instance: String,
    token: Secret,
    visibility: String,
    http: reqwest::Client,
    /// The instance's limit once read.
    budget: tokio::sync::OnceCell<text::Budget>,
}

impl Mastodon {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        url::Url::parse(&c.instance).map_err(|e| anyhow::anyhow!("mastodon.instance: {e}"))?;
        if !matches!(
            c.visibility.as_str(),
            "public" | "unlisted" | "private" | "direct"
        ) {
            anyhow::bail!(
                "mastodon.visibility: {:?} is not public, unlisted, private or direct",
                c.visibility
            );
        }
        Ok(Self {
            instance: c.instance.trim_end_matches('/').to_owned(),
            token: super::secret(&c.token, &c.token_file, "mastodon.token")?,
            visibility: c.visibility.clone(),
            http,
            budget: tokio::sync::OnceCell::new(),
        })
    }

    async fn budget(&self) -> Result<text::Budget, SocialError> {
        self.budget
            .get_or_try_init(|| async {
                let r = self
                    .http
                    .get(format!("{}/api/v2/instance", self.instance))
                    .send()
                    .await
                    .map_err(|e| SocialError::network(NAME, &e))?;
                let (status, headers) = (r.status(), r.headers().clone());
                let body = r.text().await.unwrap_or_default();
                if !status.is_success() {
                    return Err(SocialError::from_status(NAME, status, &headers, &body));
                }
                let v: Value = serde_json::from_str(&body).unwrap_or_default();
                let statuses = &v["configuration"]["statuses"];
                let max = statuses["max_characters"].as_u64().unwrap_or(500) as usize;
                let url = statuses["characters_reserved_per_url"]
                    .as_u64()
                    .unwrap_or(23) as usize;
                Ok(text::Budget {
                    max,
                    url_len: Some(url),
                    ..text::Budget::MASTODON
                })
            })
            .await
            .copied()
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, SocialError> {
        let r = req
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e))?;
        let (status, headers) = (r.status(), r.headers().clone());
        let body = r.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(serde_json::from_str(&body).unwrap_or(Value::Null));
        }
        let mut e = SocialError::from_status(NAME, status, &headers, &body);
        // Mastodon says when its rate limit resets rather than sending Retry-After.
        if e.retry_after.is_none()
            && let Some(reset) = headers
                .get("x-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
            && let Ok(at) = chrono::DateTime::parse_from_rfc3339(reset)
        {
            let wait = (at.to_utc() - crate::clock::Clock::now(&crate::clock::SystemClock))
                .num_seconds()
                .max(1);
            e.retry_after = Some(std::time::Duration::from_secs(wait as u64));
        }
        Err(e)
    }
}

/// The `Idempotency-Key` of a job: the same for every attempt of that job.
pub fn idempotency_key(job_key: &str) -> String {
    hex::encode(&Sha256::digest(job_key.as_bytes())[..16])
}

#[async_trait::async_trait]
impl Platform for Mastodon {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        let budget = self.budget.get().copied().unwrap_or(text::Budget::MASTODON);
        Composed {
            text: text::fit(&post.parts, &budget),
            facets: None,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        self.send(self.http.get(format!(
            "{}/api/v1/accounts/verify_credentials",
            self.instance
        )))
        .await
        .map(|_| ())
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        let budget = self.budget().await?;
        let status = text::fit(&post.parts, &budget);
        let mut media_ids = vec![];
        if let Some((path, alt, mime)) = &post.image {
            let bytes = tokio::fs::read(path).await.map_err(|e| {
                SocialError::permanent(format!("{NAME}: image {}: {e}", path.display()))
            })?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let part = reqwest::multipart::Part::bytes(bytes)
                .file_name(name)
                .mime_str(mime)
                .map_err(|e| SocialError::permanent(format!("{NAME}: {e}")))?;
            let form = reqwest::multipart::Form::new()
                .part("file", part)
                .text("description", alt.clone());
            let v = self
                .send(
                    self.http
                        .post(format!("{}/api/v2/media", self.instance))
                        .multipart(form),
                )
                .await?;
            if let Some(id) = v["id"].as_str() {
                media_ids.push(id.to_owned());
            }
        }
        let body = json!({
            "status": status,
            "language": post.locale,
            "visibility": self.visibility,
            "media_ids": media_ids,
        });
        let v = self
            .send(
                self.http
                    .post(format!("{}/api/v1/statuses", self.instance))
                    .header("Idempotency-Key", idempotency_key(&post.key))
                    .json(&body),
            )
            .await?;
        let id = v["id"]
            .as_str()
            .ok_or_else(|| SocialError::permanent(format!("{NAME}: status without id")))?;
        Ok(Posted {
            remote_id: id.to_owned(),
            url: v["url"].as_str().map(str::to_owned),
        })
    }

    fn can_edit(&self) -> bool {
        true
    }

    /// `PUT /api/v1/statuses/:id`: Mastodon keeps the edit history visible.
    async fn edit(&self, posted: &Posted, post: &Post) -> Result<Posted, SocialError> {
        let budget = self.budget().await?;
        let body = json!({ "status": text::fit(&post.parts, &budget), "language": post.locale });
        let v = self
            .send(
                self.http
                    .put(format!(
                        "{}/api/v1/statuses/{}",
                        self.instance, posted.remote_id
                    ))
                    .json(&body),
            )
            .await?;
        Ok(Posted {
            remote_id: posted.remote_id.clone(),
            url: v["url"].as_str().map(str::to_owned).or(posted.url.clone()),
        })
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        self.send(self.http.delete(format!(
            "{}/api/v1/statuses/{}",
            self.instance, posted.remote_id
        )))
        .await
        .map(|_| ())
    }
}
