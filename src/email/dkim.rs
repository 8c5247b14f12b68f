//! DKIM: loading the configured private key in whichever common PEM form it comes,
//! generating a demo key on first run, and signing (RFC 6376 with relaxed/relaxed
//! canonicalisation; `rsa-sha256`, or `ed25519-sha256` as RFC 8463 defines it).
//!
//! | file begins with                | accepted as                     |
//! |---------------------------------|---------------------------------|
//! | `BEGIN RSA PRIVATE KEY`         | RSA, PKCS#1                     |
//! | `BEGIN PRIVATE KEY`             | RSA or Ed25519, PKCS#8          |
//! | anything else                   | refused, with the file's name   |
//!
//! The signer hashes the body without copying it: a body with no blanks to fold or
//! remove (what `mime` writes) goes into SHA-256 in one piece, any other line by line
//! through the relaxed canonicalisation.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::LineEnding;
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A DKIM private key, RSA or Ed25519.
pub struct DkimKey {
    inner: Inner,
    path: PathBuf,
}

enum Inner {
    Rsa(Box<RsaPrivateKey>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl std::fmt::Debug for DkimKey {
    /// Never prints key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkimKey")
            .field("algorithm", &self.algorithm_name())
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DkimKey {
    /// Loads a PEM private key (see the module table for the accepted forms).
    pub fn load(path: &Path) -> Result<Self> {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("DKIM key {}: cannot read", path.display()))?;
        Self::from_pem(&pem, path)
    }

    /// Parses PEM text; `path` only names the source in errors.
    pub fn from_pem(pem: &str, path: &Path) -> Result<Self> {
        let shown = path.display();
        let label = pem
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("-----BEGIN "))
            .and_then(|l| l.strip_prefix("-----BEGIN "))
            .and_then(|l| l.strip_suffix("-----"))
            .with_context(|| format!("DKIM key {shown}: not a PEM file (no -----BEGIN line)"))?;
        let inner = match label {
            "RSA PRIVATE KEY" => Inner::Rsa(Box::new(
                RsaPrivateKey::from_pkcs1_pem(pem)
                    .map_err(|e| anyhow::anyhow!("DKIM key {shown}: bad PKCS#1 RSA key: {e}"))?,
            )),
            "PRIVATE KEY" => {
                if let Ok(k) = RsaPrivateKey::from_pkcs8_pem(pem) {
                    Inner::Rsa(Box::new(k))
                } else if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
                    Inner::Ed25519(Box::new(k))
                } else {
                    bail!(
                        "DKIM key {shown}: a PKCS#8 key that is neither RSA nor Ed25519 \
                         (or is damaged); DKIM signs with RSA or Ed25519 only"
                    )
                }
            }
            "ENCRYPTED PRIVATE KEY" => bail!(
                "DKIM key {shown}: the key is encrypted; store it without a passphrase \
                 (`openssl pkey -in KEY -out PLAIN.pem`) and keep the file mode 0600"
            ),
            "OPENSSH PRIVATE KEY" => bail!(
                "DKIM key {shown}: an OpenSSH key; convert it to PKCS#8 PEM \
                 (`ssh-keygen -p -m PKCS8 -f KEY`)"
            ),
            "EC PRIVATE KEY" => {
                bail!("DKIM key {shown}: an EC (ECDSA) key; DKIM signs with RSA or Ed25519 only")
            }
            other => bail!(
                "DKIM key {shown}: unsupported PEM block \"{other}\"; expected \
                 \"RSA PRIVATE KEY\" (PKCS#1) or \"PRIVATE KEY\" (PKCS#8, RSA or Ed25519)"
            ),
        };
        if let Inner::Rsa(k) = &inner {
            let bits = rsa::traits::PublicKeyParts::size(k.as_ref()) * 8;
            if bits < 1024 {
                bail!("DKIM key {shown}: RSA key of {bits} bits; verifiers require 1024 or more");
            }
        }
        Ok(Self {
            inner,
            path: path.to_owned(),
        })
    }

    /// Generates a fresh RSA-2048 key (held in memory only).
    pub fn generate_rsa() -> Result<Self> {
        let mut rng = rsa::rand_core::OsRng;
        let k = RsaPrivateKey::new(&mut rng, 2048).context("generate an RSA DKIM key")?;
        Ok(Self {
            inner: Inner::Rsa(Box::new(k)),
            path: PathBuf::new(),
        })
    }

    /// Where the key was loaded from (empty for a generated key not yet written).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rsa` or `ed25519`, as in the `k=` tag of the DNS record.
    pub fn algorithm_name(&self) -> &'static str {
        match self.inner {
            Inner::Rsa(_) => "rsa",
            Inner::Ed25519(_) => "ed25519",
        }
    }

    /// The public key as a `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
    pub fn public_pem(&self) -> String {
        match &self.inner {
            Inner::Rsa(k) => RsaPublicKey::from(k.as_ref())
                .to_public_key_pem(LineEnding::LF)
                .expect("encode an RSA public key"),
            Inner::Ed25519(k) => k
                .verifying_key()
                .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .expect("encode an Ed25519 public key"),
        }
    }

    /// The DNS TXT record to publish at `<selector>._domainkey.<domain>`:
    /// `v=DKIM1; k=rsa; p=...` (the DER SubjectPublicKeyInfo) or, for Ed25519, the
    /// raw 32-byte key as RFC 8463 asks.
    pub fn dns_record(&self) -> String {
        let p = match &self.inner {
            Inner::Rsa(k) => B64.encode(
                RsaPublicKey::from(k.as_ref())
                    .to_public_key_der()
                    .expect("encode an RSA public key")
                    .as_bytes(),
            ),
            Inner::Ed25519(k) => B64.encode(k.verifying_key().as_bytes()),
        };
        format!("v=DKIM1; k={}; p={p}", self.algorithm_name())
    }

    /// Signs a SHA-256 digest: PKCS#1 v1.5 for RSA, PureEdDSA over the digest for
    /// Ed25519 (RFC 8463 §3).
    fn sign_digest(&self, digest: &[u8]) -> Result<Vec<u8>> {
        match &self.inner {
            Inner::Rsa(k) => k
                .sign(Pkcs1v15Sign::new::<Sha256>(), digest)
                .with_context(|| format!("DKIM key {}: RSA signing failed", self.path.display())),
            Inner::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                Ok(k.sign(digest).to_bytes().to_vec())
            }
        }
    }

    fn private_pkcs1_pem(&self) -> Result<String> {
        match &self.inner {
            Inner::Rsa(k) => Ok(k.to_pkcs1_pem(LineEnding::LF)?.to_string()),
            Inner::Ed25519(_) => bail!("only RSA demo keys are written"),
        }
    }
}

/// Signs messages for one domain and selector.
#[derive(Debug)]
pub struct Signer {
    key: DkimKey,
    domain: String,
    selector: String,
    /// The `h=` tag: every header name to sign, lower case, `:`-separated.
    signed: String,
}

impl Signer {
    /// `headers`: the header names the signature covers. A name the message lacks is
    /// still listed (RFC 6376 §5.4: it then signs the header's absence).
    pub fn new(key: DkimKey, domain: &str, selector: &str, headers: &[&str]) -> Self {
        Self {
            key,
            domain: domain.to_owned(),
            selector: selector.to_owned(),
            signed: headers
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(":"),
        }
    }

    /// The `DKIM-Signature` header field (name, value and CRLF) for a message whose
    /// header block (every field with its CRLF) and body are given; `timestamp` is
    /// the `t=` tag, seconds since the epoch.
    pub fn sign(&self, header_block: &str, body: &[u8], timestamp: i64) -> Result<String> {
        let bh = B64.encode(relaxed_body_hash(body));
        let alg = match self.key.inner {
            Inner::Rsa(_) => "rsa-sha256",
            Inner::Ed25519(_) => "ed25519-sha256",
        };
        // Folded between tags and between the names of `h=` (both allow FWS), so no
        // line passes 78 characters; `b=` comes last and is empty while hashing.
        let mut field = format!(
            "DKIM-Signature: v=1; a={alg}; c=relaxed/relaxed; d={d}; s={s};\r\n\tt={timestamp};\r\n\th=",
            d = self.domain,
            s = self.selector,
        );
        let mut column = 3;
        for (i, name) in self.signed.split(':').enumerate() {
            if i > 0 {
                field.push(':');
                column += 1;
                if column + name.len() > 72 {
                    field.push_str("\r\n\t");
                    column = 1;
                }
            }
            field.push_str(name);
            column += name.len();
        }
        field.push_str(";\r\n\tbh=");
        field.push_str(&bh);
        field.push_str(";\r\n\tb=");
        let mut hashed = String::with_capacity(1024);
        for name in self.signed.split(':') {
            if let Some(f) = find_field(header_block, name) {
                relaxed_field(f, &mut hashed);
                hashed.push_str("\r\n");
            }
        }
        relaxed_field(&field, &mut hashed);
        let signature = self.key.sign_digest(&Sha256::digest(hashed.as_bytes()))?;
        let b = B64.encode(signature);
        // The signature in lines of at most 72 characters, folded with FWS (which the
        // base64 of `b=` may contain, RFC 6376 §3.5).
        for (i, chunk) in b.as_bytes().chunks(72).enumerate() {
            if i > 0 {
                field.push_str("\r\n\t");
            }
            field.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        }
        field.push_str("\r\n");
        Ok(field)
    }
}

/// The last field named `name` (ASCII case-insensitive) in a header block, with its
/// continuation lines, without the final CRLF.
fn find_field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    let mut found = None;
    let mut start = 0;
    while start < block.len() {
        // A field ends at a CRLF not followed by a space or tab.
        let mut end = start;
        loop {
            match crlf(&block.as_bytes()[end..]) {
                Some(i) => {
                    end += i + 2;
                    if !matches!(block.as_bytes().get(end), Some(b' ' | b'\t')) {
                        break;
                    }
                }
                None => {
                    end = block.len();
                    break;
                }
            }
        }
        let field = block[start..end].trim_end_matches("\r\n");
        if let Some((n, _)) = field.split_once(':')
            && n.trim_end().eq_ignore_ascii_case(name)
        {
            found = Some(field);
        }
        start = end;
    }
    found
}

/// Appends the relaxed canonical form of one header field (RFC 6376 §3.4.2): the name
/// in lower case, no space around the colon, the value unfolded with each run of
/// spaces and tabs made one space and none at either end. No CRLF is appended.
fn relaxed_field(field: &str, out: &mut String) {
    let (name, value) = field.split_once(':').unwrap_or((field, ""));
    out.push_str(&name.trim_end().to_ascii_lowercase());
    out.push(':');
    let (mut space, mut started) = (false, false);
    for c in value.chars() {
        match c {
            '\r' | '\n' => {}
            ' ' | '\t' => space = true,
            c => {
                if space && started {
                    out.push(' ');
                }
                space = false;
                started = true;
                out.push(c);
            }
        }
    }
}

/// Searchers built once: building one costs more than searching a digest with it.
static TWO_BLANKS: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"  "));
static BLANK_AT_END: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b" \r\n"));

/// Where the first CRLF in `s` starts.
fn crlf(s: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', s)
        .find(|&i| i > 0 && s[i - 1] == b'\r')
        .map(|i| i - 1)
}

/// SHA-256 of the body in relaxed canonical form (RFC 6376 §3.4.4): spaces and tabs
/// at the end of a line removed, other runs of them made one space, empty lines at the
/// end removed, and a final CRLF when the body is not empty. Lines end with CRLF.
pub fn relaxed_body_hash(body: &[u8]) -> [u8; 32] {
    // A body with no tab, no two spaces in a row and no space before a line end (what
    // `mime` writes: quoted-printable escapes trailing blanks, base64 has none) is its
    // own relaxed form but for the empty lines at its end: hashed in one pass.
    let clean = memchr::memchr(b'\t', body).is_none()
        && TWO_BLANKS.find(body).is_none()
        && BLANK_AT_END.find(body).is_none()
        && body.last() != Some(&b' ');
    if !clean {
        return relaxed_body_hash_by_line(body);
    }
    let mut end = body.len();
    while body[..end].ends_with(b"\r\n") {
        end -= 2;
    }
    let mut hash = Sha256::new();
    if end > 0 {
        hash.update(&body[..end]);
        hash.update(b"\r\n");
    }
    hash.finalize().into()
}

/// [`relaxed_body_hash`] line by line, for bodies with blanks to fold or remove.
fn relaxed_body_hash_by_line(body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    let mut empty_lines = 0usize;
    let mut scratch = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = match crlf(rest) {
            Some(i) => (&rest[..i], &rest[i + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        // Single spaces inside a line stay as they are.
        let relax = memchr::memchr(b'\t', line).is_some()
            || line.last() == Some(&b' ')
            || TWO_BLANKS.find(line).is_some();
        let line = if relax {
            scratch.clear();
            let mut space = false;
            for &b in line {
                if b == b' ' || b == b'\t' {
                    space = true;
                } else {
                    if space {
                        scratch.push(b' ');
                    }
                    space = false;
                    scratch.push(b);
                }
            }
            &scratch[..]
        } else {
            line
        };
        if line.is_empty() {
            empty_lines += 1;
            continue;
        }
        for _ in 0..empty_lines {
            hash.update(b"\r\n");
        }
        empty_lines = 0;
        hash.update(line);
        hash.update(b"\r\n");
    }
    hash.finalize().into()
}

/// Loads `<dir>/<selector>.pem`, or on first run generates an RSA-2048 key there
/// (mode 0600) with `<selector>.pub.pem` and `<selector>.dns` (the TXT record text)
/// beside it. Later runs reuse the key and rewrite only missing companions.
pub fn generate_demo_key(dir: &Path, selector: &str, domain: &str) -> Result<PathBuf> {
    if selector.is_empty()
        || !selector
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        bail!("DKIM selector {selector:?} is not a DNS label");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let key_path = dir.join(format!("{selector}.pem"));
    let key = if key_path.exists() {
        DkimKey::load(&key_path)?
    } else {
        let mut key = DkimKey::generate_rsa()?;
        let tmp = dir.join(format!(".{selector}.pem.tmp"));
        let _ = std::fs::remove_file(&tmp);
        {
            let mut f = open_private(&tmp)?;
            f.write_all(key.private_pkcs1_pem()?.as_bytes())
                .and_then(|()| f.sync_all())
                .with_context(|| format!("write {}", tmp.display()))?;
        }
        std::fs::rename(&tmp, &key_path)
            .with_context(|| format!("rename to {}", key_path.display()))?;
        key.path = key_path.clone();
        tracing::info!(
            key = %key_path.display(),
            "generated a demo DKIM key; publish {}.dns as TXT at {selector}._domainkey.{domain}",
            selector
        );
        key
    };
    let pub_path = dir.join(format!("{selector}.pub.pem"));
    if !pub_path.exists() {
        std::fs::write(&pub_path, key.public_pem())
            .with_context(|| format!("write {}", pub_path.display()))?;
    }
    let dns_path = dir.join(format!("{selector}.dns"));
    if !dns_path.exists() {
        std::fs::write(&dns_path, format!("{}\n", key.dns_record()))
            .with_context(|| format!("write {}", dns_path.display()))?;
    }
    Ok(key_path)
}

#[cfg(unix)]
fn open_private(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {}", path.display()))
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("create {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_body_canonicalisation_follows_rfc_6376() {
        // RFC 6376 §3.4.6, the relaxed example.
        assert_eq!(
            relaxed_body_hash(b" C \r\nD \t E\r\n\r\n\r\n"),
            <[u8; 32]>::from(Sha256::digest(b" C\r\nD E\r\n"))
        );
        // A missing final CRLF is added; an empty body hashes as empty.
        assert_eq!(
            relaxed_body_hash(b"a\r\n\r\nb"),
            <[u8; 32]>::from(Sha256::digest(b"a\r\n\r\nb\r\n"))
        );
        assert_eq!(
            relaxed_body_hash(b"\r\n\r\n"),
            <[u8; 32]>::from(Sha256::digest(b""))
        );
    }

    #[test]
    fn the_one_pass_body_hash_agrees_with_the_line_by_line_one() {
        let bodies: [&[u8]; 9] = [
            b"",
            b"a",
            b"a\r\n",
            b"a\r\n\r\n\r\n",
            b"\r\n",
            b"x\r\r\n",
            b"a b\r\n\r\nc d\r\n=20\r\n",
            b"bare\nnewline\r\nend\r",
            "=E4=B8=AD\r\n5paH5a2X\r\n\r\n".as_bytes(),
        ];
        for body in bodies {
            assert_eq!(
                relaxed_body_hash(body),
                relaxed_body_hash_by_line(body),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn relaxed_header_canonicalisation_and_lookup() {
        let block =
            "From: A <a@example.org>\r\nSubject:  Two\r\n \t lines  \r\nsubject: last\r\nX: y\r\n";
        let mut out = String::new();
        relaxed_field(find_field(block, "SUBJECT").unwrap(), &mut out);
        assert_eq!(out, "subject:last");
        out.clear();
        relaxed_field("Subject:  Two\r\n \t lines:  a  ", &mut out);
        assert_eq!(out, "subject:Two lines: a");
        assert_eq!(find_field(block, "from"), Some("From: A <a@example.org>"));
        assert_eq!(find_field(block, "To"), None);
    }

    #[test]
    fn an_ed25519_signature_verifies_over_the_canonical_headers() {
        use ed25519_dalek::Verifier as _;
        let seed = [7u8; 32];
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let verifying = signing.verifying_key();
        let key = DkimKey {
            inner: Inner::Ed25519(Box::new(signing)),
            path: PathBuf::new(),
        };
        let signer = Signer::new(key, "example.org", "s1", &["From", "Subject", "To"]);
        let block = "From: a@example.org\r\nSubject: Hi\r\n";
        let field = signer.sign(block, b"Body\r\n", 1_700_000_000).unwrap();
        assert!(
            field.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"),
            "{field}"
        );
        assert!(field.contains("h=from:subject:to;") && field.contains("t=1700000000;"));
        let long = Signer::new(
            DkimKey {
                inner: Inner::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&seed))),
                path: PathBuf::new(),
            },
            "example.org",
            "s1",
            crate::email::message::SIGNED_HEADERS,
        )
        .sign(block, b"", 0)
        .unwrap();
        assert!(long.lines().all(|l| l.len() <= 78), "{long}");
        assert!(long.contains("list-unsubscribe-post"), "{long}");
        assert!(field.lines().all(|l| l.len() <= 78), "{field}");
        // What a verifier does: empty b=, canonicalise, hash, check.
        let (unsigned, b) = field.trim_end().rsplit_once("b=").unwrap();
        let mut hashed = String::from("from:a@example.org\r\nsubject:Hi\r\n");
        relaxed_field(&format!("{unsigned}b="), &mut hashed);
        let sig: String = b.split_whitespace().collect();
        let sig = ed25519_dalek::Signature::from_slice(&B64.decode(sig).unwrap()).unwrap();
        let digest = Sha256::digest(hashed.as_bytes());
        verifying.verify(&digest, &sig).expect("verifies");
        assert!(verifying.verify(&Sha256::digest(b"other"), &sig).is_err());
    }

    #[test]
    fn refuses_what_is_not_a_dkim_key_and_names_the_file() {
        let p = Path::new("/etc/bridgecast/dkim.pem");
        for (pem, want) in [
            ("hello", "not a PEM file"),
            (
                "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
                "EC",
            ),
            (
                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "unsupported PEM block",
            ),
            (
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                "neither RSA nor Ed25519",
            ),
        ] {
            let e = DkimKey::from_pem(pem, p).unwrap_err().to_string();
            assert!(e.contains("/etc/bridgecast/dkim.pem"), "{e}");
            assert!(e.contains(want), "{e}");
        }
    }
}
