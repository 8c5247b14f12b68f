//! A rendered document (a feed, an archive page, a landing page) with everything the
//! server needs to answer any request for it without work: the bytes, a strong ETag,
//! and gzip and brotli variants made once at render time.

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::io::Write;

#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    /// URL path, starting with `/`.
    pub path: String,
    pub channel: String,
    pub locale: String,
    pub content_type: String,
    /// Strong validator of the identity bytes, quoted (`"…"`).
    pub etag: String,
    /// When the content last changed (newest entry), for `Last-Modified`.
    pub last_modified: DateTime<Utc>,
    /// When these bytes were produced.
    pub built_at: DateTime<Utc>,
    pub body: Bytes,
    pub gzip: Bytes,
    pub br: Bytes,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("path", &self.path)
            .field("etag", &self.etag)
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Document {
    /// Hashes and compresses `body`.
    pub fn new(
        path: String,
        channel: &str,
        locale: &str,
        content_type: &str,
        body: Vec<u8>,
        last_modified: DateTime<Utc>,
        built_at: DateTime<Utc>,
    ) -> Self {
        let etag = etag_of(&body);
        let level = if path.contains("/archive/") {
            Level::Fast
        } else {
            Level::Small
        };
        let gzip = gzip(&body, level);
        let br = brotli(&body, level);
        Self {
            path,
            channel: channel.to_owned(),
            locale: locale.to_owned(),
            content_type: content_type.to_owned(),
            etag,
            last_modified,
            built_at,
            body: body.into(),
            gzip: gzip.into(),
            br: br.into(),
        }
    }

    /// The ETag of an encoded variant: a different representation needs a different
    /// strong validator.
    pub fn etag_for(&self, encoding: Encoding) -> String {
        match encoding {
            Encoding::Identity => self.etag.clone(),
            Encoding::Gzip => format!("{}-gz\"", self.etag.trim_end_matches('"')),
            Encoding::Brotli => format!("{}-br\"", self.etag.trim_end_matches('"')),
        }
    }

    /// Whether `tag` (quoted, `W/` already removed) is the ETag of any of this document's
    /// encodings, compared without allocating: this runs on every revalidation.
    pub fn validates(&self, tag: &str) -> bool {
        let Some(inner) = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
            return false;
        };
        let base = self.etag.trim_matches('"');
        inner == base
            || inner
                .strip_prefix(base)
                .is_some_and(|rest| rest == "-gz" || rest == "-br")
    }

    pub fn bytes(&self, encoding: Encoding) -> &Bytes {
        match encoding {
            Encoding::Identity => &self.body,
            Encoding::Gzip => &self.gzip,
            Encoding::Brotli => &self.br,
        }
    }
}

/// A content coding the server can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// A strong ETag: the first 128 bits of the SHA-256 of the bytes.
pub fn etag_of(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(&Sha256::digest(body)[..16]))
}

/// How hard to compress. Archive pages are large, numerous and rarely fetched, so they
/// get the fast settings; current feeds and pages, fetched all day, get the small ones.
/// Measured with `cargo bench --bench pipeline` on archive pages: gzip 1 runs at
/// ~330 MB/s against ~175 MB/s for gzip 6; brotli 3 at ~145 MB/s against ~50 MB/s for
/// brotli 6, for a few percent more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Fast,
    Small,
}

pub fn gzip(body: &[u8], level: Level) -> Vec<u8> {
    let l = match level {
        Level::Fast => 1,
        Level::Small => 6,
    };
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(l),
    );
    enc.write_all(body).expect("writing to a Vec cannot fail");
    enc.finish().expect("writing to a Vec cannot fail")
}

/// Brotli at quality 3 or 4: on feeds, quality 4 compresses better than 5 and 6 and runs
/// twice as fast; quality 11 would cost a hundred times the CPU for a few percent.
pub fn brotli(body: &[u8], level: Level) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() / 4);
    let quality = match level {
        Level::Fast => 3,
        Level::Small => 4,
    };
    // A window no larger than the document: the encoder allocates (and zeroes) tables
    // sized by it, which for a 180 KB page at the default 4 MiB costs more than the
    // compression itself.
    let lgwin = (usize::BITS - body.len().max(1 << 16).leading_zeros()).clamp(16, 22) as i32;
    let params = brotli::enc::BrotliEncoderParams {
        quality,
        lgwin,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &body[..], &mut out, &params)
        .expect("writing to a Vec cannot fail");
    out
}
