//! The exact RFC 5322 message: headers, the text/HTML alternative, the DKIM
//! signature, and the envelope it travels in.
//!
//! **Invariant: nothing a reader or translator wrote can start a header.** Every
//! value from an [`Outgoing`] goes through [`one_line`] (control characters and
//! Unicode line separators become spaces) before lettre sees it, and lettre then
//! encodes what is left (RFC 2047 for non-ASCII, quoting for display names). URLs
//! are re-serialised by the `url` crate, which percent-encodes anything unsafe.
//!
//! Addresses are normalised by [`normalize_address`]: an IDN domain is punycoded,
//! because lettre would otherwise keep it in Unicode and the message would need
//! SMTPUTF8; a non-ASCII local part cannot be rewritten and is flagged instead.

use super::Outgoing;
use super::config::EmailConfig;
use super::dkim::DkimKey;
use anyhow::Context as _;
use lettre::address::Envelope;
use lettre::message::header::{ContentTransferEncoding, HeaderName, HeaderValue, MIME_VERSION_1_0};
use lettre::message::{Body, Mailbox};
use lettre::{Address, Message};
use sha2::{Digest as _, Sha256};
use std::time::SystemTime;

/// Why an address was refused; `Display` gives a reason a person can act on (and
/// never repeats the address, so it is safe to log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressError {
    Empty,
    LineBreak,
    ControlCharacter,
    Whitespace,
    MissingAt,
    TooManyAts,
    EmptyLocalPart,
    EmptyDomain,
    DomainWithoutDot,
    InvalidDomain,
    InvalidLocalPart,
    TooLong,
}

impl std::fmt::Display for AddressError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Empty => "is empty",
            Self::LineBreak => "contains a line break",
            Self::ControlCharacter => "contains a control character",
            Self::Whitespace => "contains a space",
            Self::MissingAt => "has no @",
            Self::TooManyAts => "contains more than one @",
            Self::EmptyLocalPart => "nothing before the @",
            Self::EmptyDomain => "nothing after the @",
            Self::DomainWithoutDot => "has a domain with no dot",
            Self::InvalidDomain => "domain is not a valid host name",
            Self::InvalidLocalPart => "the part before the @ is not valid",
            Self::TooLong => "too long",
        })
    }
}

impl std::error::Error for AddressError {}

/// A checked recipient or sender address.
#[derive(Clone, PartialEq, Eq)]
pub struct Normalized {
    address: Address,
    /// The local part is not ASCII: only a server advertising SMTPUTF8 may take it.
    pub needs_smtputf8: bool,
}

impl Normalized {
    /// `local@domain`, the domain lowercased and in ASCII (punycode).
    pub fn as_str(&self) -> &str {
        self.address.as_ref()
    }
    pub fn domain(&self) -> &str {
        self.address.domain()
    }
    pub fn address(&self) -> &Address {
        &self.address
    }
}

impl std::fmt::Debug for Normalized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Normalized")
            .field("address", &redact(self.as_str()))
            .field("needs_smtputf8", &self.needs_smtputf8)
            .finish()
    }
}

/// Trims and checks an address, lowercases and punycodes its domain
/// (`bücher.example` → `xn--bcher-kva.example`) and flags a non-ASCII local part.
/// The local part keeps its case: only the receiving server may fold it.
pub fn normalize_address(s: &str) -> Result<Normalized, AddressError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(AddressError::Empty);
    }
    if s.contains(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}']) {
        return Err(AddressError::LineBreak);
    }
    if s.chars().any(char::is_control) {
        return Err(AddressError::ControlCharacter);
    }
    if s.chars().any(char::is_whitespace) {
        return Err(AddressError::Whitespace);
    }
    let (local, domain) = s.rsplit_once('@').ok_or(AddressError::MissingAt)?;
    if local.is_empty() {
        return Err(AddressError::EmptyLocalPart);
    }
    if local.contains('@') {
        return Err(AddressError::TooManyAts);
    }
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err(AddressError::EmptyDomain);
    }
    let ascii = idna::domain_to_ascii(domain).map_err(|_| AddressError::InvalidDomain)?;
    if ascii.is_empty() {
        return Err(AddressError::InvalidDomain);
    }
    if !ascii.contains('.') {
        return Err(AddressError::DomainWithoutDot);
    }
    if local.len() > 64 || ascii.len() > 253 || local.len() + 1 + ascii.len() > 254 {
        return Err(AddressError::TooLong);
    }
    let address = Address::new(local, &ascii).map_err(|e| match e {
        lettre::address::AddressError::InvalidUser => AddressError::InvalidLocalPart,
        _ => AddressError::InvalidDomain,
    })?;
    Ok(Normalized {
        needs_smtputf8: !local.is_ascii(),
        address,
    })
}

/// [`normalize_address`], as the string the store keeps.
pub fn normalized(s: &str) -> Result<String, AddressError> {
    normalize_address(s).map(|n| n.as_str().to_owned())
}

/// `u***@e***.org`: enough to tell addresses apart in a log, not enough to mail them.
pub fn redact(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let mut out = format!("{}***", first(local));
    if !domain.is_empty() {
        out.push('@');
        out.push_str(&first(host));
        out.push_str("***");
        if !tld.is_empty() {
            out.push('.');
            out.push_str(tld);
        }
    }
    out
}

/// `<32 hex digits@domain>`: the first 128 bits of SHA-256 of the job key, so a
/// retried job re-sends the same Message-ID and receivers can drop the duplicate.
pub fn message_id(job_key: &str, domain: &str) -> String {
    let digest = Sha256::digest(job_key.as_bytes());
    format!("<{}@{}>", hex::encode(&digest[..16]), domain)
}

/// Replaces control characters and Unicode line separators with spaces, collapses
/// runs of whitespace and trims: the value can no longer end its header.
pub fn one_line(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why a message could not be built. Never worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("recipient address {0}")]
    Address(#[from] AddressError),
    #[error("message: {0}")]
    Invalid(String),
}

/// A signed message ready for a [`super::smtp::Transport`].
#[derive(Clone)]
pub struct Composed {
    /// Envelope sender (`MAIL FROM`), for bounces.
    pub envelope_from: String,
    /// The normalised recipient (`RCPT TO`).
    pub to: String,
    /// The recipient's domain in ASCII, for per-domain limits.
    pub to_domain: String,
    /// The `Message-ID` header value.
    pub message_id: String,
    /// The recipient's local part is not ASCII.
    pub needs_smtputf8: bool,
    /// The whole message with CRLF line endings (and a `DKIM-Signature` when signed).
    pub bytes: Vec<u8>,
    envelope: Envelope,
}

impl Composed {
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

impl std::fmt::Debug for Composed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composed")
            .field("to", &redact(&self.to))
            .field("message_id", &self.message_id)
            .field("needs_smtputf8", &self.needs_smtputf8)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// The headers the DKIM signature covers. Headers a message lacks (a
/// `List-Unsubscribe-Post` without an HTTPS link) are still listed, which keeps
/// anyone from adding them later without breaking the signature.
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Language",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
];

/// Builds and signs messages for one sender configuration.
pub struct Composer {
    from: Mailbox,
    envelope_from: Address,
    signing_domain: String,
    dkim: Option<super::dkim::Signer>,
    mailto: Option<String>,
}

impl std::fmt::Debug for Composer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composer")
            .field("from", &redact(self.from.email.as_ref()))
            .field("signing_domain", &self.signing_domain)
            .field("dkim", &self.dkim.is_some())
            .finish_non_exhaustive()
    }
}

impl Composer {
    /// `key`: the DKIM key, or `None` to send unsigned (previews, tests). The
    /// signing domain is `dkim_domain`, else the `From` domain.
    pub fn new(cfg: &EmailConfig, key: Option<DkimKey>) -> anyhow::Result<Self> {
        let parsed: Mailbox = cfg
            .from
            .parse()
            .with_context(|| format!("email.from {:?} is not `Name <address>`", cfg.from))?;
        let from_addr = normalize_address(parsed.email.as_ref())
            .map_err(|e| anyhow::anyhow!("email.from: address {e}"))?;
        anyhow::ensure!(
            !from_addr.needs_smtputf8,
            "email.from: the address must be ASCII, or every message would need SMTPUTF8"
        );
        let envelope_from = if cfg.return_path.trim().is_empty() {
            from_addr.clone()
        } else {
            normalize_address(&cfg.return_path)
                .map_err(|e| anyhow::anyhow!("email.return_path: address {e}"))?
        };
        anyhow::ensure!(
            !envelope_from.needs_smtputf8,
            "email.return_path must be ASCII"
        );
        let signing_domain = if cfg.dkim_domain.trim().is_empty() {
            from_addr.domain().to_owned()
        } else {
            idna::domain_to_ascii(cfg.dkim_domain.trim())
                .map_err(|_| anyhow::anyhow!("email.dkim_domain is not a host name"))?
        };
        let dkim = match key {
            None => None,
            Some(key) => {
                anyhow::ensure!(
                    !cfg.dkim_selector.trim().is_empty(),
                    "email.dkim_selector is empty"
                );
                Some(super::dkim::Signer::new(
                    key,
                    &signing_domain,
                    cfg.dkim_selector.trim(),
                    SIGNED_HEADERS,
                ))
            }
        };
        let mailto = match cfg.unsubscribe_mailto.trim() {
            "" => None,
            m => Some(m.to_owned()),
        };
        let name = parsed
            .name
            .as_deref()
            .map(one_line)
            .filter(|n| !n.is_empty());
        Ok(Self {
            from: Mailbox::new(name, from_addr.address().clone()),
            envelope_from: envelope_from.address().clone(),
            signing_domain,
            dkim,
            mailto,
        })
    }

    /// The DKIM `d=` domain (also the right domain for Message-IDs).
    pub fn signing_domain(&self) -> &str {
        &self.signing_domain
    }

    /// The `From` mailbox, normalised.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub fn compose(&self, out: &Outgoing) -> Result<Composed, ComposeError> {
        let to = normalize_address(&out.to_email)?;
        let name = out
            .to_name
            .as_deref()
            .map(one_line)
            .filter(|n| !n.is_empty());
        let to_mailbox = Mailbox::new(name, to.address().clone());
        let message_id = checked_message_id(&out.message_id)?;
        let envelope = Envelope::new(Some(self.envelope_from.clone()), vec![to.address().clone()])
            .map_err(|e| ComposeError::Invalid(format!("envelope: {e}")))?;

        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to_mailbox)
            .subject(one_line(&out.body.subject))
            .date(SystemTime::from(out.date))
            .message_id(Some(message_id.clone()))
            .envelope(envelope.clone());
        if let Some(lang) = language_tag(&out.body.locale) {
            b = b.raw_header(raw("Content-Language", lang));
        }
        let list_id = one_line(&out.list_id);
        if !list_id.is_empty() {
            b = b.raw_header(raw("List-Id", list_id));
        }
        let https = out
            .unsubscribe_post_url
            .as_deref()
            .and_then(|u| url::Url::parse(u.trim()).ok())
            .filter(|u| u.scheme() == "https");
        let mailto = out
            .unsubscribe_mailto
            .as_deref()
            .or(self.mailto.as_deref())
            .and_then(mailto_url);
        let entries: Vec<String> = https
            .iter()
            .map(|u| format!("<{u}>"))
            .chain(mailto.iter().map(|u| format!("<{u}>")))
            .collect();
        if !entries.is_empty() {
            b = b.raw_header(raw("List-Unsubscribe", entries.join(", ")));
        }
        if https.is_some() {
            b = b.raw_header(raw(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
        }
        b = b.raw_header(raw("Auto-Submitted", "auto-generated".into()));

        // lettre writes the headers (RFC 2047, quoting, folding); the body is ours,
        // made in one pass (see `mime`), and so is the signature over both.
        let boundary = super::mime::boundary(&message_id);
        b = b.header(MIME_VERSION_1_0).raw_header(raw(
            "Content-Type",
            super::mime::alternative_content_type(&boundary),
        ));
        let headers = b
            .body(Body::dangerous_pre_encoded(
                Vec::new(),
                ContentTransferEncoding::SevenBit,
            ))
            .map_err(|e| ComposeError::Invalid(e.to_string()))?
            .headers()
            .to_string();
        let body = super::mime::alternative(&boundary, &out.body.text, &out.body.html);
        let signature = match &self.dkim {
            Some(signer) => signer
                .sign(&headers, &body, out.date.timestamp())
                .map_err(|e| ComposeError::Invalid(format!("{e:#}")))?,
            None => String::new(),
        };
        let mut bytes = Vec::with_capacity(signature.len() + headers.len() + 2 + body.len());
        bytes.extend_from_slice(signature.as_bytes());
        bytes.extend_from_slice(headers.as_bytes());
        bytes.extend_from_slice(b"\r\n");
        bytes.extend_from_slice(&body);
        Ok(Composed {
            envelope_from: self.envelope_from.to_string(),
            to: to.as_str().to_owned(),
            to_domain: to.domain().to_owned(),
            message_id,
            needs_smtputf8: to.needs_smtputf8,
            bytes,
            envelope,
        })
    }
}

fn raw(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// A `<left@right>` id of printable ASCII without spaces, or an error.
fn checked_message_id(id: &str) -> Result<String, ComposeError> {
    let id = id.trim();
    let ok = id.len() <= 250
        && id.starts_with('<')
        && id.ends_with('>')
        && id[1..id.len() - 1].contains('@')
        && id[1..id.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"<>\"\\".contains(&b));
    if ok {
        Ok(id.to_owned())
    } else {
        Err(ComposeError::Invalid(format!(
            "Message-ID {:?} is not <left@right>",
            one_line(id)
        )))
    }
}

/// A BCP 47-looking tag (`pt-BR`, `zh-Hant`), else `None`.
fn language_tag(locale: &str) -> Option<String> {
    let l = locale.trim().replace('_', "-");
    let ok = !l.is_empty()
        && l.len() <= 35
        && l.split('-')
            .all(|p| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    ok.then_some(l)
}

/// `mailto:` URL for `List-Unsubscribe`, from a bare address or a `mailto:` URL.
fn mailto_url(s: &str) -> Option<url::Url> {
    let s = s.trim();
    let s = if s.to_ascii_lowercase().starts_with("mailto:") {
        s.to_owned()
    } else {
        format!("mailto:{s}")
    };
    url::Url::parse(&s).ok().filter(|u| u.scheme() == "mailto")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_address_checks_and_punycodes() {
        let n = normalize_address("  Reader@Bücher.Example ").unwrap();
        assert_eq!(n.as_str(), "Reader@xn--bcher-kva.example");
        assert_eq!(n.domain(), "xn--bcher-kva.example");
        assert!(!n.needs_smtputf8);

        let n = normalize_address("jürgen@example.de").unwrap();
        assert_eq!(n.as_str(), "jürgen@example.de");
        assert!(n.needs_smtputf8);

        assert_eq!(
            normalize_address("x@EXAMPLE.org.").unwrap().as_str(),
            "x@example.org"
        );
    }

    #[test]
    fn normalize_address_gives_reasons() {
        for (input, reason) in [
            ("", "is empty"),
            ("   ", "is empty"),
            ("reader.example.org", "has no @"),
            ("reader@localhost", "has a domain with no dot"),
            ("a@b.org\r\nBcc: x@evil.example", "contains a line break"),
            ("a@b.org\nx", "contains a line break"),
            ("a\u{7}@b.org", "contains a control character"),
            ("a b@c.org", "contains a space"),
            ("@example.org", "nothing before the @"),
            ("a@", "nothing after the @"),
            ("a@b@example.org", "contains more than one @"),
            ("a@exa_mple..org", "domain is not a valid host name"),
            ("a..b@example.org", "the part before the @ is not valid"),
        ] {
            let e = normalize_address(input).expect_err(input);
            assert_eq!(e.to_string(), reason, "{input:?}");
        }
        let long = format!("{}@example.org", "a".repeat(65));
        assert_eq!(normalize_address(&long).unwrap_err(), AddressError::TooLong);
    }

    #[test]
    fn message_id_is_deterministic_and_on_the_domain() {
        let a = message_id("digest:42:2026-11-28", "example.org");
        assert_eq!(a, message_id("digest:42:2026-11-28", "example.org"));
        assert_ne!(a, message_id("digest:42:2026-11-29", "example.org"));
        assert!(a.starts_with('<') && a.ends_with("@example.org>"), "{a}");
        assert_eq!(a.len(), 1 + 32 + 1 + "example.org".len() + 1);
        assert!(a[1..33].bytes().all(|b| b.is_ascii_hexdigit()));
        // SHA-256("") starts e3b0c442 98fc1c14 9afbf4c8 996fb924
        assert_eq!(
            message_id("", "x.org"),
            "<e3b0c44298fc1c149afbf4c8996fb924@x.org>"
        );
    }

    #[test]
    fn one_line_and_redact() {
        assert_eq!(one_line("a\r\nBcc: x\u{2028}y\t z "), "a Bcc: x y z");
        assert_eq!(redact("user@example.org"), "u***@e***.org");
        assert_eq!(redact("nobody"), "n***");
    }

    #[test]
    fn language_tags_and_ids_are_checked() {
        assert_eq!(language_tag("pt_BR").as_deref(), Some("pt-BR"));
        assert_eq!(language_tag("de\r\nX: y"), None);
        assert!(checked_message_id("<a@b>").is_ok());
        assert!(checked_message_id("<a@b>\r\nBcc: x").is_err());
        assert!(checked_message_id("a@b").is_err());
    }
}
