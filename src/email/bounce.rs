//! Delivery status notifications (RFC 3464): parsed from a bounce maildir or from
//! the bounce endpoint, and applied like an SMTP refusal at send time: a permanent
//! failure (`Action: failed`, `Status: 5.x.x`) suppresses the address; a temporary
//! one (`4.x.x`, `delayed`) is recorded on the delivery and changes nothing else.

use crate::app::App;
use anyhow::{Context, Result};
use std::path::Path;

/// One recipient's line in a DSN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// The failed address, lowercased.
    pub recipient: String,
    /// `failed`, `delayed`, `delivered`, `relayed`, `expanded`.
    pub action: String,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: String,
    pub diagnostic: Option<String>,
    /// `Message-ID` of the message that bounced, when the DSN returned its headers.
    pub message_id: Option<String>,
}

impl Bounce {
    /// Whether the address should get nothing more.
    pub fn is_permanent(&self) -> bool {
        self.action.eq_ignore_ascii_case("failed") && self.status.starts_with('5')
    }
}

/// The per-recipient reports of a DSN message. A message that is not a DSN is an error.
pub fn parse_dsn(raw: &[u8]) -> Result<Vec<Bounce>> {
    let mail = mailparse::parse_mail(raw).context("not a MIME message")?;
    let mut status_text = None;
    let mut original_id = None;
    for part in mail.parts() {
        let mime = part.ctype.mimetype.to_ascii_lowercase();
        if mime == "message/delivery-status" || mime == "message/global-delivery-status" {
            status_text = Some(
                String::from_utf8_lossy(&part.get_body_raw().unwrap_or_default()).into_owned(),
            );
        } else if mime == "text/rfc822-headers"
            || mime == "message/rfc822"
            || mime == "message/global-headers"
        {
            let body = part.get_body_raw().unwrap_or_default();
            if let Ok((headers, _)) = mailparse::parse_headers(&body) {
                use mailparse::MailHeaderMap;
                original_id = headers.get_first_value("Message-ID");
            }
        }
    }
    let text = status_text.context("no message/delivery-status part: not a DSN")?;
    let mut out = Vec::new();
    // Blocks of header fields separated by blank lines: the first is per message,
    // the rest one per recipient.
    let normalised = text.replace("\r\n", "\n");
    for block in normalised.split("\n\n").skip(1) {
        let Ok((fields, _)) = mailparse::parse_headers(block.as_bytes()) else {
            continue;
        };
        use mailparse::MailHeaderMap;
        let recipient = fields
            .get_first_value("Final-Recipient")
            .or_else(|| fields.get_first_value("Original-Recipient"));
        let (Some(recipient), Some(action)) = (recipient, fields.get_first_value("Action")) else {
            continue;
        };
        let address = recipient
            .split_once(';')
            .map_or(recipient.as_str(), |(_, a)| a)
            .trim()
            .trim_matches(['<', '>'])
            .to_ascii_lowercase();
        out.push(Bounce {
            recipient: address,
            action: action.trim().to_ascii_lowercase(),
            status: fields
                .get_first_value("Status")
                .unwrap_or_default()
                .trim()
                .to_owned(),
            diagnostic: fields.get_first_value("Diagnostic-Code"),
            message_id: original_id.clone(),
        });
    }
    if out.is_empty() {
        anyhow::bail!("DSN names no recipient");
    }
    Ok(out)
}

/// Applies parsed reports: permanent failures suppress the address and mark its
/// recipients bounced; the matching delivery (by Message-ID) records what happened.
/// Returns how many addresses were suppressed.
pub async fn apply(app: &App, bounces: &[Bounce]) -> Result<usize> {
    let now = app.now();
    let mut suppressed = 0;
    for b in bounces {
        let detail = format!(
            "DSN {} {}{}",
            b.action,
            b.status,
            b.diagnostic
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
        if b.is_permanent() {
            app.store
                .suppress(&b.recipient, "bounce", &detail, now)
                .await?;
            crate::metrics::Metrics::inc(&app.metrics.emails_bounced);
            suppressed += 1;
        }
        if let Some(id) = &b.message_id
            && let Some(mut d) = app.store.delivery_by_message_id(id).await?
            && d.email.eq_ignore_ascii_case(&b.recipient)
        {
            if b.is_permanent() {
                d.state = "bounced".into();
            }
            d.last_error = Some(detail.clone());
            d.updated_at = now;
            app.store.put_delivery(&d).await?;
        }
        tracing::info!(recipient = %crate::email::message::redact(&b.recipient), action = %b.action, status = %b.status, "DSN applied");
    }
    Ok(suppressed)
}

/// Reads new DSNs from the configured bounce maildir (`new/`), applies them and moves
/// each file to `cur/` (a file that is not a DSN goes to `cur/` with `:2,F` so an
/// operator can look at it).
pub async fn scan_maildir(app: &App) -> Result<usize> {
    let dir = &app.config.email.bounce_maildir;
    if dir.as_os_str().is_empty() {
        return Ok(0);
    }
    scan(app, dir).await
}

async fn scan(app: &App, dir: &Path) -> Result<usize> {
    let new = dir.join("new");
    let cur = dir.join("cur");
    std::fs::create_dir_all(&cur)?;
    let mut entries: Vec<_> = match std::fs::read_dir(&new) {
        Ok(rd) => rd.filter_map(|e| e.ok()).map(|e| e.path()).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e).with_context(|| format!("reading {}", new.display())),
    };
    entries.sort();
    let mut n = 0;
    for path in entries {
        let raw = std::fs::read(&path)?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let flag = match parse_dsn(&raw) {
            Ok(bounces) => {
                n += apply(app, &bounces).await?;
                "S"
            }
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "bounce maildir: not a DSN");
                "F"
            }
        };
        std::fs::rename(&path, cur.join(format!("{name}:2,{flag}")))?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape Postfix sends (abridged).
    pub const POSTFIX_DSN: &str = "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
To: bounces@example.org\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\
\r\n\
--B1\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
\r\n\
--B1\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.example.org\r\n\
Arrival-Date: Sat, 28 Nov 2026 12:00:00 +0000\r\n\
\r\n\
Final-Recipient: rfc822; Gone@Example.NET\r\n\
Original-Recipient: rfc822;gone@example.net\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: Recipient address rejected\r\n\
\r\n\
Final-Recipient: rfc822; busy@example.net\r\n\
Action: delayed\r\n\
Status: 4.2.2\r\n\
\r\n\
--B1\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: digest@example.org\r\n\
Message-ID: <abc123@example.org>\r\n\
Subject: Digest\r\n\
\r\n\
--B1--\r\n";

    #[test]
    fn parses_a_postfix_dsn() {
        let b = parse_dsn(POSTFIX_DSN.as_bytes()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].recipient, "gone@example.net");
        assert_eq!(b[0].status, "5.1.1");
        assert!(b[0].is_permanent());
        assert_eq!(b[0].message_id.as_deref(), Some("<abc123@example.org>"));
        assert!(b[0].diagnostic.as_deref().unwrap().contains("550"));
        assert_eq!(b[1].action, "delayed");
        assert!(!b[1].is_permanent());
    }

    #[test]
    fn refuses_what_is_not_a_dsn() {
        let err = parse_dsn(b"Subject: hello\r\n\r\nJust a reply.\r\n").unwrap_err();
        assert!(err.to_string().contains("not a DSN"), "{err}");
    }
}
