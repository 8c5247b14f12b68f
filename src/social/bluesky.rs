//! Bluesky (AT Protocol): `app.bsky.feed.post` records on the account's PDS.
//!
//! - Session: `createSession` once with an app password (it is rate limited), then
//!   `refreshSession` when the access token expires.
//! - Text: at most 300 graphemes and 3000 UTF-8 bytes; link and hashtag facets with
//!   UTF-8 byte offsets; `langs`; an `app.bsky.embed.external` card, with the article
//!   image uploaded as a blob for its thumbnail.
//! - Exactly once: the record key is a TID derived from the job key, so a retry after
//!   an unknown outcome asks for the same record and finds it already there.

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::config::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The account's PDS. Default: `https://bsky.social`.
    #[serde(default = "default_service")]
    pub service: String,
    /// Handle or DID.
    pub identifier: String,
    /// An app password (Settings → App passwords), or `app_password_file`.
    #[serde(default)]
    pub app_password: Secret,
    pub app_password_file: Option<PathBuf>,
    /// Where posts are shown, for the stored post URL. Default: `https://bsky.app`.
    #[serde(default = "default_web")]
    pub web: String,
}

fn default_service() -> String {
    "https://bsky.social".into()
}
fn default_web() -> String {
    "https://bsky.app".into()
}

const NAME: &str = "bluesky";
const COLLECTION: &str = "app.bsky.feed.post";

#[derive(Debug, Clone)]
struct Session {
    access: Secret,
    refresh: Secret,
    did: String,
}

#[derive(Debug)]
pub struct Bluesky {
    service: String,
    identifier: String,
    password: Secret,
    web: String,
    http: reqwest::Client,
    session: tokio::sync::Mutex<Option<Session>>,
}

impl Bluesky {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        let password = super::secret(
            &c.app_password,
            &c.app_password_file,
            "bluesky.app_password",
        )?;
        url::Url::parse(&c.service).map_err(|e| anyhow::anyhow!("bluesky.service: {e}"))?;
        Ok(Self {
            service: c.service.trim_end_matches('/').to_owned(),
            identifier: c.identifier.clone(),
            password,
            web: c.web.trim_end_matches('/').to_owned(),
            http,
            session: tokio::sync::Mutex::new(None),
        })
    }

    fn xrpc(&self, method: &str) -> String {
        format!("{}/xrpc/{method}", self.service)
    }

    async fn session(&self, renew: bool) -> Result<Session, SocialError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref()
            && !renew
        {
            return Ok(s.clone());
        }
        // Refresh first: createSession is rate limited much harder.
        if let Some(old) = guard.as_ref() {
            let r = self
                .http
                .post(self.xrpc("com.atproto.server.refreshSession"))
                .bearer_auth(old.refresh.expose())
                .send()
                .await
                .map_err(|e| SocialError::network(NAME, &e))?;
            if r.status().is_success() {
                let s = parse_session(
                    r.json::<Value>()
                        .await
                        .map_err(|e| SocialError::network(NAME, &e))?,
                )?;
                *guard = Some(s.clone());
                return Ok(s);
            }
        }
        let r = self
            .http
            .post(self.xrpc("com.atproto.server.createSession"))
            .json(&json!({ "identifier": self.identifier, "password": self.password.expose() }))
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e))?;
        let status = r.status();
        let headers = r.headers().clone();
        if !status.is_success() {
            let body = r.text().await.unwrap_or_default();
            return Err(SocialError::from_status(NAME, status, &headers, &body));
        }
        let s = parse_session(
            r.json::<Value>()
                .await
                .map_err(|e| SocialError::network(NAME, &e))?,
        )?;
        *guard = Some(s.clone());
        Ok(s)
    }

    /// Calls an XRPC procedure with the session, renewing it once if it expired.
    async fn call(&self, method: &str, body: Body<'_>) -> Result<Value, SocialError> {
        let mut renew = false;
        loop {
            let s = self.session(renew).await?;
            let req = self
                .http
                .post(self.xrpc(method))
                .bearer_auth(s.access.expose());
            let req = match &body {
                Body::Json(v) => req.json(v),
                Body::Bytes(b, mime) => req
                    .header(reqwest::header::CONTENT_TYPE, *mime)
                    .body(b.to_vec()),
            };
            let r = req
                .send()
                .await
                .map_err(|e| SocialError::network(NAME, &e))?;
            let status = r.status();
            let headers = r.headers().clone();
            let text = r.text().await.unwrap_or_default();
            if status.is_success() {
                return serde_json::from_str(&text)
                    .map_err(|e| SocialError::permanent(format!("{NAME}: bad response: {e}")));
            }
            let expired = status.as_u16() == 401 || text.contains("ExpiredToken");
            if expired && !renew {
                renew = true;
                continue;
            }
            return Err(SocialError::from_status(NAME, status, &headers, &text));
        }
    }

    /// Whether the record `rkey` exists in `did`'s repository.
    async fn exists(&self, did: &str, rkey: &str) -> Result<bool, SocialError> {
        let r = self
            .http
            .get(self.xrpc("com.atproto.repo.getRecord"))
            .query(&[("repo", did), ("collection", COLLECTION), ("rkey", rkey)])
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e))?;
        let status = r.status();
        if status.is_success() {
            return Ok(true);
        }
        let headers = r.headers().clone();
        let body = r.text().await.unwrap_or_default();
        if status.as_u16() == 400 && body.contains("RecordNotFound") || status.as_u16() == 404 {
            return Ok(false);
        }
        Err(SocialError::from_status(NAME, status, &headers, &body))
    }

    fn record(&self, post: &Post, thumb: Option<Value>) -> Value {
        let c = self.compose(post);
        let mut external =
            json!({ "uri": post.link, "title": post.title, "description": post.summary });
        if let Some(t) = thumb {
            external["thumb"] = t;
        }
        let mut record = json!({
            "$type": COLLECTION,
            "text": c.text,
            "createdAt": crate::feed::rfc3339(post.created_at),
            "langs": [post.locale],
            "embed": { "$type": "app.bsky.embed.external", "external": external },
        });
        if let Some(f) = c.facets {
            record["facets"] = f;
        }
        record
    }
}

enum Body<'a> {
    Json(Value),
    Bytes(&'a [u8], &'a str),
}

fn parse_session(v: Value) -> Result<Session, SocialError> {
    let get = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    match (get("accessJwt"), get("refreshJwt"), get("did")) {
        (Some(a), Some(r), Some(d)) => Ok(Session {
            access: Secret::new(a),
            refresh: Secret::new(r),
            did: d,
        }),
        _ => Err(SocialError::permanent(format!(
            "{NAME}: session response without tokens"
        ))),
    }
}

/// A TID (13 characters of base32-sortable) derived from the job key: the same key
/// always names the same record.
pub fn record_key(job_key: &str) -> String {
    const ALPHABET: &[u8] = b"234567abcdefghijklmnopqrstuvwxyz";
    let h = Sha256::digest(job_key.as_bytes());
    let mut n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    // Top bit zero; a plausible timestamp range keeps the key sortable like a real TID.
    n &= (1 << 63) - 1;
    n |= 1 << 62;
    let mut out = [b'2'; 13];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

#[async_trait::async_trait]
impl Platform for Bluesky {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        let text = text::fit(&post.parts, &text::Budget::BLUESKY);
        let mut facets: Vec<Value> = text::find_urls(&text)
            .into_iter()
            .map(|r| {
                json!({
                    "index": { "byteStart": r.start, "byteEnd": r.end },
                    "features": [{ "$type": "app.bsky.richtext.facet#link", "uri": &text[r.clone()] }],
                })
            })
            .collect();
        facets.extend(text::find_hashtags(&text).into_iter().map(|r| {
            json!({
                "index": { "byteStart": r.start, "byteEnd": r.end },
                "features": [{ "$type": "app.bsky.richtext.facet#tag", "tag": text[r.clone()].trim_start_matches('#') }],
            })
        }));
        Composed {
            facets: (!facets.is_empty()).then_some(Value::Array(facets)),
            text,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        let s = self.session(false).await?;
        let r = self
            .http
            .get(self.xrpc("com.atproto.server.getSession"))
            .bearer_auth(s.access.expose())
            .send()
            .await
            .map_err(|e| SocialError::network(NAME, &e))?;
        if r.status().is_success() {
            Ok(())
        } else {
            let (status, headers) = (r.status(), r.headers().clone());
            Err(SocialError::from_status(
                NAME,
                status,
                &headers,
                &r.text().await.unwrap_or_default(),
            ))
        }
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        let s = self.session(false).await?;
        let rkey = record_key(&post.key);
        let url = Some(format!("{}/profile/{}/post/{rkey}", self.web, s.did));
        let existing = Posted {
            remote_id: format!("at://{}/{COLLECTION}/{rkey}", s.did),
            url: url.clone(),
        };
        // Look before posting: a record under our key means an earlier attempt whose
        // outcome we never heard of did succeed. (The reference PDS answers a second
        // create with the same key with a 500, so the error alone cannot tell.)
        if self.exists(&s.did, &rkey).await? {
            return Ok(existing);
        }
        let thumb = match &post.image {
            Some((path, _alt, mime)) => {
                let bytes = tokio::fs::read(path).await.map_err(|e| {
                    SocialError::permanent(format!("{NAME}: image {}: {e}", path.display()))
                })?;
                let v = self
                    .call("com.atproto.repo.uploadBlob", Body::Bytes(&bytes, mime))
                    .await?;
                v.get("blob").cloned()
            }
            None => None,
        };
        let body = json!({ "repo": s.did, "collection": COLLECTION, "rkey": rkey, "record": self.record(post, thumb) });
        match self
            .call("com.atproto.repo.createRecord", Body::Json(body))
            .await
        {
            Ok(v) => Ok(Posted {
                remote_id: v["uri"].as_str().unwrap_or_default().to_owned(),
                url,
            }),
            Err(e) if self.exists(&s.did, &rkey).await.unwrap_or(false) => {
                tracing::info!(error = %e, "bluesky: create failed but the record exists; counting it as posted");
                Ok(existing)
            }
            Err(e) => Err(e),
        }
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        let s = self.session(false).await?;
        let rkey = posted.remote_id.rsplit('/').next().unwrap_or_default();
        self.call(
            "com.atproto.repo.deleteRecord",
            Body::Json(json!({ "repo": s.did, "collection": COLLECTION, "rkey": rkey })),
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::record_key;

    #[test]
    fn record_keys_are_stable_tids() {
        let k = record_key("social:tag:x,2026:a:en:bsky-en");
        assert_eq!(k, record_key("social:tag:x,2026:a:en:bsky-en"));
        assert_ne!(k, record_key("social:tag:x,2026:a:ja:bsky-en"));
        assert_eq!(k.len(), 13);
        assert!(
            k.starts_with(|c: char| "234567abcdefghij".contains(c)),
            "{k}"
        );
        assert!(
            k.chars()
                .all(|c| "234567abcdefghijklmnopqrstuvwxyz".contains(c))
        );
    }
}
