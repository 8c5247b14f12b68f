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

/// Where a rendered document goes. The server answers conditional requests with the
/// document's ETag; static files get theirs from the web server that serves them
/// (nginx derives one from size and modification time), so an export skips the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Serve,
    Files,
}

impl Document {
    /// Compresses `body`, and hashes it when it is to be served: a document for
    /// [`Purpose::Files`] has an empty ETag and is only written out, never served.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        purpose: Purpose,
        path: String,
        channel: &str,
        locale: &str,
        content_type: &str,
        body: Vec<u8>,
        last_modified: DateTime<Utc>,
        built_at: DateTime<Utc>,
    ) -> Self {
        let etag = match purpose {
            Purpose::Serve => etag_of(&body),
            Purpose::Files => String::new(),
        };
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

/// A document written but not yet hashed and compressed, which is most of its cost.
/// It owns everything it holds, so it can be finished on another thread.
#[derive(Debug)]
pub struct Draft {
    pub purpose: Purpose,
    pub path: String,
    pub channel: String,
    pub locale: String,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub last_modified: DateTime<Utc>,
    pub built_at: DateTime<Utc>,
}

impl Draft {
    /// The document: [`Document::new`] of the draft's parts.
    pub fn finish(self) -> Document {
        Document::new(
            self.purpose,
            self.path,
            &self.channel,
            &self.locale,
            self.content_type,
            self.body,
            self.last_modified,
            self.built_at,
        )
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
/// Measured with `BENCH_EXPORT=<export> cargo bench --bench pipeline` on 72 archive
/// pages (13 MB), each compressed on its own: gzip 1 at ~530 MB/s (ratio 0.127) against
/// ~210 MB/s for gzip 6 (0.063); brotli 1 at ~480 MB/s (0.066) against ~200 MB/s for
/// brotli 4 (0.055).
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

/// Brotli at quality 1 or 4. On feeds, quality 4 compresses better than 5 and 6 and
/// runs faster; quality 11 would cost a hundred times the CPU for a few percent.
pub fn brotli(body: &[u8], level: Level) -> Vec<u8> {
    brotli_quality(
        body,
        match level {
            Level::Fast => 1,
            Level::Small => 4,
        },
    )
}

/// Brotli at `quality`, the whole input handed to the encoder at once. Through a small
/// reader (as `brotli::BrotliCompress` reads, 4 KiB at a time), qualities 0 and 1
/// compress each read on its own: a fifth of the speed and six times the bytes.
/// Qualities 0 and 1 take their large buffers from a per-thread pool
/// ([`crate::brotli_buffers`]); the others from the standard allocator.
pub fn brotli_quality(body: &[u8], quality: i32) -> Vec<u8> {
    if quality <= 1 {
        brotli_with(body, quality, crate::brotli_buffers::Recycling)
    } else {
        brotli_with(body, quality, brotli::enc::StandardAlloc::default())
    }
}

fn brotli_with<A: brotli::enc::BrotliAlloc>(body: &[u8], quality: i32, alloc: A) -> Vec<u8> {
    use brotli::enc::encode::{
        BrotliEncoderOperation, BrotliEncoderParameter, BrotliEncoderStateStruct,
    };
    // A window no larger than the document: the encoder allocates (and zeroes) tables
    // sized by it, which for a 180 KB page at the default 4 MiB costs more than the
    // compression itself.
    let lgwin = (usize::BITS - body.len().max(1 << 16).leading_zeros()).clamp(16, 22);
    let mut enc = BrotliEncoderStateStruct::new(alloc);
    enc.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_QUALITY, quality as u32);
    enc.set_parameter(BrotliEncoderParameter::BROTLI_PARAM_LGWIN, lgwin);
    enc.set_parameter(
        BrotliEncoderParameter::BROTLI_PARAM_SIZE_HINT,
        u32::try_from(body.len()).unwrap_or(u32::MAX),
    );
    // Output is taken from the encoder's own buffer as it is made, so no buffer of the
    // worst-case size is allocated and zeroed up front.
    let mut out = Vec::with_capacity(body.len() / 8);
    let (mut avail_in, mut in_off) = (body.len(), 0);
    loop {
        let (mut avail_out, mut out_off) = (0, 0);
        let progressed = enc.compress_stream(
            BrotliEncoderOperation::BROTLI_OPERATION_FINISH,
            &mut avail_in,
            body,
            &mut in_off,
            &mut avail_out,
            &mut [],
            &mut out_off,
            &mut None,
            &mut |_, _, _, _| (),
        );
        while enc.has_more_output() {
            // `take_output` returns the rest of the encoder's buffer; `n` says how much
            // of it is output.
            let mut n = 0;
            let made = enc.take_output(&mut n);
            out.extend_from_slice(&made[..n]);
        }
        // With all input given and FINISH asked for, the encoder only fails on a
        // parameter it rejects, and every one set above is in range.
        if enc.is_finished() || !progressed {
            assert!(progressed, "brotli rejected its parameters");
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn unbrotli(b: &[u8]) -> Vec<u8> {
        let mut out = vec![];
        brotli::Decompressor::new(b, 4096)
            .read_to_end(&mut out)
            .expect("valid brotli");
        out
    }

    /// Inputs that reach every path of the encoder: empty, shorter than a block, text
    /// over several 128 KiB fragments, and bytes that do not compress (stored blocks).
    fn samples() -> Vec<Vec<u8>> {
        let text: Vec<u8> = "<entry xml:lang=\"ar\"><title>مرحبا 你好 Grüß</title></entry>\n"
            .bytes()
            .cycle()
            .take(700 << 10)
            .collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        vec![vec![], b"a".to_vec(), text, noise]
    }

    #[test]
    fn brotli_round_trips_at_every_quality_used() {
        for body in samples() {
            for q in [0, 1, 4, 11] {
                let packed = brotli_quality(&body, q);
                assert_eq!(unbrotli(&packed), body, "quality {q}, {} bytes", body.len());
            }
        }
    }

    #[test]
    fn fast_brotli_with_reused_buffers_makes_the_same_bytes_as_fresh_ones() {
        // Sizes around the 128 KiB fragment and the 64 KiB window, text and noise, with
        // the pool full of garbage before each call and, after the first call, holding
        // the encoder's own dirty buffers.
        let text = samples()[2].clone();
        let noise = samples()[3].clone();
        let mut inputs = vec![vec![], b"a".to_vec(), text.clone(), noise.clone()];
        for len in [
            1_000, 40_000, 65_536, 65_537, 131_071, 131_072, 131_073, 200_000,
        ] {
            inputs.push(text[..len].to_vec());
            inputs.push(noise[..len.min(noise.len())].to_vec());
            let mut mixed = text[..len / 2].to_vec();
            mixed.extend_from_slice(&noise[..len / 2]);
            inputs.push(mixed);
        }
        for q in [0, 1] {
            for body in &inputs {
                let fresh = brotli_with(body, q, brotli::enc::StandardAlloc::default());
                crate::brotli_buffers::fill_pool_with_garbage();
                assert_eq!(
                    brotli_quality(body, q),
                    fresh,
                    "quality {q}, {} bytes",
                    body.len()
                );
                assert_eq!(
                    brotli_quality(body, q),
                    fresh,
                    "again, quality {q}, {} bytes",
                    body.len()
                );
                assert_eq!(unbrotli(&fresh), *body);
            }
        }
    }

    #[test]
    fn fast_brotli_compresses_text_as_one_stream_not_per_read() {
        // Compressing 4 KiB reads on their own (what a small reader does to qualities 0
        // and 1) leaves this text at more than a third of its size.
        let text = &samples()[2];
        let packed = brotli(text, Level::Fast);
        assert!(
            packed.len() * 50 < text.len(),
            "{} of {}",
            packed.len(),
            text.len()
        );
    }

    #[test]
    fn documents_carry_gzip_and_brotli_of_their_bytes() {
        for path in [
            "/feeds/news/en/archive/1/atom.xml",
            "/feeds/news/en/atom.xml",
        ] {
            let body = samples()[2].clone();
            let d = Document::new(
                Purpose::Serve,
                path.into(),
                "news",
                "en",
                "application/atom+xml",
                body.clone(),
                DateTime::UNIX_EPOCH,
                DateTime::UNIX_EPOCH,
            );
            let mut plain = vec![];
            flate2::read::GzDecoder::new(&d.gzip[..])
                .read_to_end(&mut plain)
                .unwrap();
            assert_eq!(plain, body);
            assert_eq!(unbrotli(&d.br), body);
        }
    }
}
