//! A rendered document (a feed, an archive page, a landing page) with everything the
//! server needs to answer any request for it without work: the bytes, a strong ETag,
//! and gzip and brotli variants made once at render time.

use axum::body::Bytes;
use axum::http::HeaderValue;
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
    /// Response header values made once, so that answering a request formats nothing.
    pub(crate) headers: Headers,
}

/// The header values of a document's responses.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Headers {
    /// The ETag of each encoding, indexed by [`Encoding`].
    pub etag: [HeaderValue; 3],
    pub last_modified: HeaderValue,
    pub content_type: HeaderValue,
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
        Self::assemble(
            path,
            channel.to_owned(),
            locale.to_owned(),
            content_type.to_owned(),
            etag,
            last_modified,
            built_at,
            [body.into(), gzip.into(), br.into()],
        )
    }

    /// A document from parts already made (as stored): `bodies` are identity, gzip
    /// and brotli. Invalid header text (never produced by `new`) is replaced by a
    /// value that still answers: an empty ETag never matches, a missing type is bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn assemble(
        path: String,
        channel: String,
        locale: String,
        content_type: String,
        etag: String,
        last_modified: DateTime<Utc>,
        built_at: DateTime<Utc>,
        bodies: [Bytes; 3],
    ) -> Self {
        let value = |s: &str, fallback: &'static str| {
            HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(fallback))
        };
        let bare = etag.trim_end_matches('"');
        let headers = Headers {
            etag: [
                value(&etag, "\"\""),
                value(&format!("{bare}-gz\""), "\"\""),
                value(&format!("{bare}-br\""), "\"\""),
            ],
            last_modified: value(&http_date(last_modified), "Thu, 01 Jan 1970 00:00:00 GMT"),
            content_type: value(&content_type, "application/octet-stream"),
        };
        let [body, gzip, br] = bodies;
        Self {
            path,
            channel,
            locale,
            content_type,
            etag,
            last_modified,
            built_at,
            body,
            gzip,
            br,
            headers,
        }
    }

    /// The `ETag` header value of an encoded variant.
    pub fn etag_header(&self, encoding: Encoding) -> &HeaderValue {
        &self.headers.etag[encoding as usize]
    }

    pub fn last_modified_header(&self) -> &HeaderValue {
        &self.headers.last_modified
    }

    pub fn content_type_header(&self) -> &HeaderValue {
        &self.headers.content_type
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
    Identity = 0,
    Gzip = 1,
    Brotli = 2,
}

/// An HTTP date (IMF-fixdate, RFC 9110 §5.6.7).
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
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
