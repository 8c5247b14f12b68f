//! The body of a digest as it travels: a `multipart/alternative` of a plain-text and
//! an HTML part, each in quoted-printable or base64 (mostly-ASCII German or Spanish
//! stays readable quoted-printable; Chinese, Japanese, Arabic and Nepali are half the
//! size or less in base64).
//!
//! Written in one pass into one buffer, with CRLF line endings and no line over 76
//! characters, so the message is 7-bit clean and needs no SMTP extension.
//!
//! The boundary starts with `=_`, which neither encoding can produce (quoted-printable
//! writes `=` as `=3D`; base64 has no `_`), so no part can contain it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest as _, Sha256};

/// Longest encoded line, without its CRLF (RFC 2045 §6.7, §6.8).
const LINE: usize = 76;

/// A boundary for the message identified by `seed` (its Message-ID): the same
/// message gets the same bytes.
pub fn boundary(seed: &str) -> String {
    format!(
        "=_bc{}",
        hex::encode(&Sha256::digest(seed.as_bytes())[..12])
    )
}

/// The `Content-Type` header value of [`alternative`].
pub fn alternative_content_type(boundary: &str) -> String {
    format!("multipart/alternative; boundary=\"{boundary}\"")
}

/// The body of a `multipart/alternative` message: `text` first, `html` second (the
/// last part is the preferred one).
pub fn alternative(boundary: &str, text: &str, html: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity((text.len() + html.len()) * 3 / 2 + 512);
    for (kind, content) in [("text/plain", text), ("text/html", html)] {
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"; charset=utf-8\r\nContent-Transfer-Encoding: ");
        if prefers_quoted_printable(content.as_bytes()) {
            out.extend_from_slice(b"quoted-printable\r\n\r\n");
            quoted_printable(&mut out, content.as_bytes());
        } else {
            out.extend_from_slice(b"base64\r\n\r\n");
            base64_lines(&mut out, content.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out
}

/// Bytes quoted-printable writes as themselves (outside line ends).
const fn literal(b: u8) -> bool {
    matches!(b, b'!'..=b'<' | b'>'..=b'~')
}

/// Appends `b` escaped: `=` and two upper-case hex digits.
fn push_escaped(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
}

/// For each byte: 0 when quoted-printable writes it as itself anywhere in a line
/// (`literal`), 1 for a space or tab (itself, except at a line's end), 2 when it is
/// always escaped.
const CLASS: [u8; 256] = {
    let mut t = [2u8; 256];
    let mut b = 0;
    while b < 256 {
        if literal(b as u8) {
            t[b] = 0;
        } else if matches!(b as u8, b' ' | b'\t') {
            t[b] = 1;
        }
        b += 1;
    }
    t
};

/// Whether quoted-printable comes out at most a quarter longer than base64 for `s`:
/// text in a Latin script stays readable in the raw message, text in other scripts
/// (where quoted-printable would double or triple it) goes in base64.
fn prefers_quoted_printable(s: &[u8]) -> bool {
    let escaped: usize = s
        .iter()
        .map(|&b| usize::from(CLASS[usize::from(b)] == 2 && b != b'\n' && b != b'\r'))
        .sum();
    let qp = s.len() + 2 * escaped;
    let b64 = s.len().div_ceil(3) * 4;
    qp <= b64 + b64 / 4
}

/// Appends `s` in quoted-printable (RFC 2045 §6.7): line breaks in `s` (LF or CRLF)
/// become CRLF, spaces and tabs are escaped at the end of a line, and longer lines
/// are split with soft breaks (`=` CRLF) so no line exceeds 76 characters.
pub fn quoted_printable(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + s.len() / 16);
    let mut lines = s.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Invariant: before any byte but the line's last, `column <= LINE - 1`.
        let mut column = 0;
        let mut i = 0;
        while i < line.len() {
            let b = line[i];
            let last = i + 1 == line.len();
            if !last && CLASS[usize::from(b)] < 2 {
                // A run of bytes written as themselves, the line's last byte excluded:
                // copied in slices that fill each output line up to its soft break.
                let mut j = i + 1;
                while j + 1 < line.len() && CLASS[usize::from(line[j])] < 2 {
                    j += 1;
                }
                while i < j {
                    let room = LINE - 1 - column;
                    if room == 0 {
                        out.extend_from_slice(b"=\r\n");
                        column = 0;
                        continue;
                    }
                    let take = room.min(j - i);
                    out.extend_from_slice(&line[i..i + take]);
                    column += take;
                    i += take;
                }
                continue;
            }
            let plain = literal(b);
            let width = if plain { 1 } else { 3 };
            // Room for this token plus a soft break's `=`, unless it ends the line.
            let limit = if last { LINE } else { LINE - 1 };
            if column + width > limit {
                out.extend_from_slice(b"=\r\n");
                column = 0;
            }
            if plain {
                out.push(b);
            } else {
                push_escaped(out, b);
            }
            column += width;
            i += 1;
        }
        if lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Appends `s` in base64, 76 characters a line, lines separated by CRLF.
fn base64_lines(out: &mut Vec<u8>, s: &[u8]) {
    // 57 input bytes make one 76-character line.
    let mut chunks = s.chunks(57).peekable();
    let mut line = [0u8; LINE];
    while let Some(chunk) = chunks.next() {
        let n = B64
            .encode_slice(chunk, &mut line)
            .expect("57 bytes fit in 76 characters");
        out.extend_from_slice(&line[..n]);
        if chunks.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qp(s: &str) -> String {
        let mut out = Vec::new();
        quoted_printable(&mut out, s.as_bytes());
        String::from_utf8(out).unwrap()
    }

    /// Decodes quoted-printable as a mail reader does.
    fn unqp(s: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let joined = s.replace("=\r\n", "");
        let b = joined.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'=' {
                out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn quoted_printable_escapes_what_it_must_and_keeps_lines_short() {
        assert_eq!(qp("a=b"), "a=3Db");
        assert_eq!(qp("trailing \nnext\t"), "trailing=20\r\nnext=09");
        assert_eq!(qp("é"), "=C3=A9");
        assert_eq!(qp("a\r\nb"), "a\r\nb");
        let long = "x".repeat(200) + " " + &"é".repeat(50) + "\n" + &"y".repeat(76);
        let out = qp(&long);
        for line in out.split("\r\n") {
            assert!(line.len() <= LINE, "{} chars: {line}", line.len());
            assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
        }
        // A 76-character line fits without a soft break.
        assert!(out.ends_with(&format!("\r\n{}", "y".repeat(76))), "{out}");
        assert_eq!(unqp(&out), long.replace('\n', "\r\n").into_bytes());
    }

    /// Quoted-printable one byte at a time, the plain reading of RFC 2045 §6.7.
    fn qp_bytewise(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut lines = s.split(|&b| b == b'\n').peekable();
        while let Some(line) = lines.next() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let mut column = 0;
            for (i, &b) in line.iter().enumerate() {
                let last = i + 1 == line.len();
                let plain = literal(b) || (matches!(b, b' ' | b'\t') && !last);
                let width = if plain { 1 } else { 3 };
                let limit = if last { LINE } else { LINE - 1 };
                if column + width > limit {
                    out.extend_from_slice(b"=\r\n");
                    column = 0;
                }
                if plain {
                    out.push(b);
                } else {
                    push_escaped(&mut out, b);
                }
                column += width;
            }
            if lines.peek().is_some() {
                out.extend_from_slice(b"\r\n");
            }
        }
        out
    }

    #[test]
    fn quoted_printable_in_runs_matches_the_bytewise_encoding() {
        // Lines of every length around the limit, made of runs of plain bytes, blanks
        // (at line ends too) and escaped bytes in a fixed pseudo-random mix.
        let alphabet: [&str; 8] = ["a", " ", "\t", "é", "=", "Zz", "\r\n", "\n"];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for len in 0..400 {
            let mut s = String::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let pick = (seed % 64) as usize;
                s.push_str(alphabet[if pick < 40 { 0 } else { pick % 8 }]);
            }
            let mut fast = Vec::new();
            quoted_printable(&mut fast, s.as_bytes());
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(qp_bytewise(s.as_bytes())).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn each_part_takes_the_shorter_encoding() {
        let b = boundary("<x@example.org>");
        assert!(b.starts_with("=_bc") && b.len() == 28, "{b}");
        assert_eq!(b, boundary("<x@example.org>"));
        let body = String::from_utf8(alternative(
            &b,
            "Neue Artikel: Übersicht\n",
            "<p>广东省与昆士兰州的合作</p>",
        ))
        .unwrap();
        let parts: Vec<&str> = body.split(&format!("--{b}")).collect();
        assert_eq!(parts.len(), 4, "{body}");
        assert!(parts[1].contains("text/plain; charset=utf-8"));
        assert!(parts[1].contains("quoted-printable") && parts[1].contains("Neue Artikel"));
        assert!(parts[2].contains("text/html; charset=utf-8"));
        assert!(parts[2].contains("base64"));
        let encoded: String = parts[2]
            .split("\r\n\r\n")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(
            B64.decode(encoded).unwrap(),
            "<p>广东省与昆士兰州的合作</p>".as_bytes()
        );
        assert_eq!(parts[3], "--\r\n");
        assert!(body.lines().all(|l| l.len() <= LINE));
        assert!(body.is_ascii());
    }
}
