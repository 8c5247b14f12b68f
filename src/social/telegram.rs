//! Telegram: a bot posts to a channel or group through the Bot API (`sendMessage`, or
//! `sendPhoto` when the article has an image).
//!
//! - Requests go to `{api}/bot<token>/<method>`: the token is part of the URL, so
//!   transport errors are reported without their URL.
//! - Text: `parse_mode=HTML`. The plain text is fitted first, because Telegram's limits
//!   apply after entity parsing — a message 1–4096 and a caption 0–1024 UTF-16 code units
//!   of visible text ([`text::Budget::TELEGRAM_MESSAGE`], [`text::Budget::TELEGRAM_CAPTION`])
//!   — and only then escaped: `<`, `>`, `&` and `"` become `&lt;`, `&gt;`, `&amp;` and
//!   `&quot;` (the only named entities the Bot API knows) and the title is wrapped in
//!   `<b>…</b>`; neither changes the visible length. The link stays in the text, where
//!   Telegram links it, and `link_preview_options.url` asks for its preview.
//! - Image: a JPEG, PNG or WebP of at most 10 MB goes up as the `photo` of `sendPhoto`
//!   (multipart) with the text as its caption; anything else, or a photo Telegram
//!   refuses (`PHOTO_…`, `IMAGE_…`), falls back to a text message with a link preview.
//! - Errors come as `{"ok":false,"error_code":…,"description":…,"parameters":{…}}`: 429
//!   is transient, waiting `parameters.retry_after` seconds; 5xx transient; 400, 401, 403
//!   and other 4xx permanent.
//! - Exactly once — as far as it goes: the Bot API has no idempotency key and no way to
//!   find a message the bot sent. What we rely on is the job key (one post job per
//!   article, locale and account) and that a job which succeeded is never run again.
//!   An unknown outcome — a timeout or a dropped connection after Telegram accepted the
//!   message — is a transient error, and its retry sends the message a second time.
//!   That duplicate is possible and is not detected.

use super::{Composed, Platform, Post, Posted, SocialError, text};
use crate::config::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Bot API server. Default: `https://api.telegram.org`.
    #[serde(default = "default_api")]
    pub api: String,
    /// The bot's token from @BotFather (`123456:ABC-DEF…`), or `bot_token_file`.
    #[serde(default)]
    pub bot_token: Secret,
    pub bot_token_file: Option<PathBuf>,
    /// Where to post: a public channel or group as `@name`, or a numeric chat id as a
    /// string (`"-1001234567890"`). The bot must be allowed to post there (an admin
    /// with "post messages" in a channel).
    pub chat_id: String,
}

fn default_api() -> String {
    "https://api.telegram.org".into()
}

const NAME: &str = "telegram";
/// `sendPhoto` takes photos up to 10 MB.
const MAX_PHOTO_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Debug)]
pub struct Telegram {
    api: String,
    token: Secret,
    chat_id: String,
    http: reqwest::Client,
}

/// A failed call: Telegram's `description` (empty when nothing came back) and the verdict.
#[derive(Debug)]
struct Failure {
    description: String,
    error: SocialError,
}

impl From<SocialError> for Failure {
    fn from(error: SocialError) -> Self {
        Self {
            description: String::new(),
            error,
        }
    }
}

/// The parameters of one call.
enum Params {
    Json(Value),
    Form(reqwest::multipart::Form),
}

impl Telegram {
    pub fn new(c: &Config, http: reqwest::Client) -> anyhow::Result<Self> {
        url::Url::parse(&c.api).map_err(|e| anyhow::anyhow!("telegram.api: {e}"))?;
        let public = c.chat_id.strip_prefix('@').is_some_and(|n| {
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        if !public && c.chat_id.parse::<i64>().is_err() {
            anyhow::bail!(
                "telegram.chat_id: {:?} is neither @name nor a numeric chat id",
                c.chat_id
            );
        }
        Ok(Self {
            api: c.api.trim_end_matches('/').to_owned(),
            token: super::secret(&c.bot_token, &c.bot_token_file, "telegram.bot_token")?,
            chat_id: c.chat_id.clone(),
            http,
        })
    }

    /// `chat_id` as the API types it: an integer, or the `@name` string.
    fn chat(&self) -> Value {
        self.chat_id
            .parse::<i64>()
            .map_or_else(|_| json!(self.chat_id), |id| json!(id))
    }

    /// The message's address when the chat is public.
    fn url(&self, message_id: i64) -> Option<String> {
        self.chat_id
            .strip_prefix('@')
            .map(|name| format!("https://t.me/{name}/{message_id}"))
    }

    async fn call(&self, method: &str, params: Params) -> Result<Value, Failure> {
        let req = self
            .http
            .post(format!("{}/bot{}/{method}", self.api, self.token.expose()));
        let req = match params {
            Params::Json(v) => req.json(&v),
            Params::Form(f) => req.multipart(f),
        };
        // The URL holds the token: keep it out of messages and logs.
        let network = |e: reqwest::Error| SocialError::network(NAME, &e.without_url());
        let r = req.send().await.map_err(network)?;
        let (status, headers) = (r.status(), r.headers().clone());
        // A body lost after the request went through leaves the outcome unknown: transient.
        let body = r.text().await.map_err(network)?;
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        if status.is_success() && v["ok"] == json!(true) {
            return Ok(v["result"].clone());
        }
        let description = v["description"]
            .as_str()
            .map_or_else(|| body.clone(), str::to_owned);
        // Telegram's HTTP status is its error_code; trust the code should they differ.
        let status = v["error_code"]
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .and_then(|c| reqwest::StatusCode::from_u16(c).ok())
            .filter(|c| !c.is_success())
            .unwrap_or(status);
        let mut explanation = description.clone();
        if let Some(to) = v["parameters"]["migrate_to_chat_id"].as_i64() {
            explanation.push_str(&format!(
                " (the group is now the supergroup {to}: set chat_id to it)"
            ));
        }
        let mut error = SocialError::from_status(NAME, status, &headers, &explanation);
        if let Some(secs) = v["parameters"]["retry_after"].as_u64() {
            error.retry_after = Some(std::time::Duration::from_secs(secs));
        }
        Err(Failure { description, error })
    }

    async fn send_message(&self, post: &Post) -> Result<Value, SocialError> {
        let html = render(&post.parts, &text::Budget::TELEGRAM_MESSAGE)?;
        let params = json!({
            "chat_id": self.chat(),
            "text": html,
            "parse_mode": "HTML",
            "link_preview_options": { "url": post.link, "prefer_large_media": true },
        });
        self.call("sendMessage", Params::Json(params))
            .await
            .map_err(|f| f.error)
    }

    async fn send_photo(&self, post: &Post, path: &Path, mime: &str) -> Result<Value, Failure> {
        let caption = render(&post.parts, &text::Budget::TELEGRAM_CAPTION)?;
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            SocialError::permanent(format!("{NAME}: image {}: {e}", path.display()))
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "photo".into());
        let photo = reqwest::multipart::Part::bytes(bytes)
            .file_name(name)
            .mime_str(mime)
            .map_err(|e| SocialError::permanent(format!("{NAME}: {e}")))?;
        let form = reqwest::multipart::Form::new()
            .text("chat_id", self.chat_id.clone())
            .part("photo", photo)
            .text("caption", caption)
            .text("parse_mode", "HTML");
        self.call("sendPhoto", Params::Form(form)).await
    }
}

/// The post's image when `sendPhoto` takes it: JPEG, PNG or WebP, at most 10 MB.
fn photo(post: &Post) -> Option<(&Path, &str)> {
    let (path, _alt, mime) = post.image.as_ref()?;
    let kind = matches!(mime.as_str(), "image/jpeg" | "image/png" | "image/webp");
    let size = std::fs::metadata(path).ok()?.len();
    (kind && size > 0 && size <= MAX_PHOTO_BYTES).then_some((path.as_path(), mime.as_str()))
}

/// The HTML text of `parts` within `budget`: fitted as plain text (Telegram counts the
/// visible text), then escaped, the title in bold.
fn render(parts: &text::Parts, budget: &text::Budget) -> Result<String, SocialError> {
    let plain = text::fit(parts, budget);
    if !text::fits(&plain, budget) {
        return Err(SocialError::permanent(format!(
            "{NAME}: even the link alone is longer than Telegram allows"
        )));
    }
    let (head, rest) = match plain.split_once("\n\n") {
        Some((head, rest)) => (head, Some(rest)),
        None => (plain.as_str(), None),
    };
    if !is_title(head, &parts.title) {
        return Ok(escape(&plain));
    }
    let mut html = format!("<b>{}</b>", escape(head));
    if let Some(rest) = rest {
        html.push_str("\n\n");
        html.push_str(&escape(rest));
    }
    Ok(html)
}

/// Whether `head`, the first paragraph of a fitted text, is the title, whole or cut
/// (`text::fit` cleans it the same way: no bidi isolates, NFC, trimmed).
fn is_title(head: &str, title: &str) -> bool {
    let title: String = title
        .chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
        .collect::<String>()
        .nfc()
        .collect();
    let title = title.trim();
    !title.is_empty()
        && (head == title
            || head
                .strip_suffix('…')
                .is_some_and(|cut| !cut.trim().is_empty() && title.starts_with(cut.trim_end())))
}

/// Text for `parse_mode=HTML`: `<`, `>`, `&` and `"` as entities.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[async_trait::async_trait]
impl Platform for Telegram {
    fn name(&self) -> &'static str {
        NAME
    }

    fn compose(&self, post: &Post) -> Composed {
        let budget = if photo(post).is_some() {
            text::Budget::TELEGRAM_CAPTION
        } else {
            text::Budget::TELEGRAM_MESSAGE
        };
        let text = render(&post.parts, &budget).unwrap_or_else(|_| text::fit(&post.parts, &budget));
        Composed { text, facets: None }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        let me = self
            .call("getMe", Params::Json(json!({})))
            .await
            .map_err(|f| f.error)?;
        if me["is_bot"] == json!(true) {
            Ok(())
        } else {
            Err(SocialError::permanent(format!(
                "{NAME}: getMe did not describe a bot"
            )))
        }
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        let message = match photo(post) {
            Some((path, mime)) => match self.send_photo(post, path, mime).await {
                Ok(m) => m,
                // Refused as a photo, so nothing was posted: send the text instead.
                Err(f)
                    if !f.error.transient
                        && (f.description.contains("PHOTO_")
                            || f.description.contains("IMAGE_")) =>
                {
                    tracing::warn!(error = %f.error, "telegram: photo refused; sending a text message");
                    self.send_message(post).await?
                }
                Err(f) => return Err(f.error),
            },
            None => self.send_message(post).await?,
        };
        let id = message["message_id"].as_i64().ok_or_else(|| {
            SocialError::permanent(format!("{NAME}: the sent message has no message_id"))
        })?;
        Ok(Posted {
            remote_id: id.to_string(),
            url: self.url(id),
        })
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        let id: i64 = posted.remote_id.parse().map_err(|_| {
            SocialError::permanent(format!(
                "{NAME}: {:?} is not a message id",
                posted.remote_id
            ))
        })?;
        match self
            .call(
                "deleteMessage",
                Params::Json(json!({ "chat_id": self.chat(), "message_id": id })),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Already gone.
            Err(f) if f.description.contains("message to delete not found") => Ok(()),
            Err(f) => Err(f.error),
        }
    }
}
