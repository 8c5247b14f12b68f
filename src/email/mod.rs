//! Email: localised digests for subscribers and for the contacts of friendship
//! organisations, delivered over SMTP, DKIM-signed, never twice and never lost.
//!
//! - [`config`]: the `[email]` section.
//! - [`render`]: a digest or confirmation in one locale, HTML and plain text, from fluent.
//! - [`message`]: the exact RFC 5322 message (headers, MIME, DKIM signature).
//! - [`smtp`]: the pooled SMTP client with timeouts, rate and per-domain limits.
//!
//! The types below are what those parts hand each other.

pub mod bounce;
pub mod config;
pub mod csv;
pub mod demo;
pub mod digest;
pub mod dkim;
pub mod mail;
pub mod message;
pub mod mime;
pub mod pages;
pub mod render;
pub mod schedule;
pub mod smtp;
pub mod status;
pub mod subscribe;
pub mod token;

pub use config::EmailConfig;

use chrono::{DateTime, Utc};

/// One article as a digest shows it, already resolved to the recipient's locale
/// through the channel's fallback chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigestItem {
    pub article_id: String,
    pub title: String,
    pub summary: String,
    /// Absolute URL of the article page in `lang`.
    pub url: String,
    /// The language the text is really in (differs from the digest's locale for a
    /// fallback).
    pub lang: String,
    pub published_at: DateTime<Utc>,
    /// Whether this is a correction of something sent before.
    pub corrected: bool,
    /// The article's other translations: `(locale, absolute URL)`.
    pub alternates: Vec<(String, String)>,
    /// The channel it came from (a fluent message id for its title).
    pub channel_title_msg: String,
}

/// Everything a digest needs besides the articles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestInput {
    /// The digest's locale (the recipient's).
    pub locale: String,
    pub recipient_name: Option<String>,
    /// For an organisation's contact: the organisation's name in `locale`.
    pub organisation: Option<String>,
    pub items: Vec<DigestItem>,
    /// `daily`, `weekly` or `instant`.
    pub frequency: String,
    /// The end of the period the digest covers.
    pub period_end: DateTime<Utc>,
    /// The recipient's IANA time zone, for dates in the text.
    pub time_zone: String,
    /// Where the recipient changes their preferences (absolute URL).
    pub preferences_url: String,
    /// Where the recipient unsubscribes (absolute URL of the page, which asks first).
    pub unsubscribe_url: String,
    /// The site's landing page in `locale`.
    pub site_url: String,
}

/// A rendered message body: subject, HTML and plain text in one locale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub locale: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// A message ready to be built, signed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub to_name: Option<String>,
    /// The address as the recipient gave it (may hold a Unicode domain).
    pub to_email: String,
    pub body: Rendered,
    /// The full `Message-ID` value including angle brackets, on the sender's domain.
    /// Derived from the job key, so a retry re-sends the same id.
    pub message_id: String,
    /// The `List-Id` value, e.g. `Digest (en) <en.digest.example.org>`.
    pub list_id: String,
    /// HTTPS one-click target (RFC 8058); also the first `List-Unsubscribe` entry.
    pub unsubscribe_post_url: Option<String>,
    /// `mailto:` entry of `List-Unsubscribe`, when configured.
    pub unsubscribe_mailto: Option<String>,
    pub date: DateTime<Utc>,
}

/// Writes a file only its owner can read (keys, secrets), atomically.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
