//! The mail side of the app as the digest jobs see it: compose (sign) and send,
//! with SMTP replies sorted into "try again", "this address is refused" (bounce:
//! suppress it) and "this cannot work" (a per-recipient or configuration error that
//! is reported and kept as a dead letter).

use crate::config::Config;
use crate::email::config::TransportKind;
use crate::email::dkim::{self, DkimKey};
use crate::email::message::{ComposeError, Composed, Composer};
use crate::email::smtp::{SendError, Sent, Transport};
use crate::email::{EmailConfig, Outgoing};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct Mail {
    config: EmailConfig,
    key_dir: PathBuf,
    domain: String,
    /// Built on first use: the demo key is generated then, not at every start.
    composer: Mutex<Option<Arc<Composer>>>,
    transport: Transport,
    /// What the memory backend (tests) received.
    pub sent: Option<Arc<Mutex<Vec<Sent>>>>,
}

/// Why a send failed, and what follows.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{0}")]
    Compose(#[from] ComposeError),
    #[error("{0}")]
    Send(#[from] SendError),
}

/// Reply codes that refuse the recipient for good (mailbox unknown, disabled, full
/// for good, address syntax, policy). Authentication and command errors are ours to
/// fix, not the address's fault, and do not suppress it.
const REFUSED: &[u16] = &[521, 550, 551, 552, 553, 554, 556];

impl MailError {
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Compose(_) => false,
            // A refused login or a command the relay does not take is a setting to
            // fix: retry with backoff (and end as a dead letter) rather than give up.
            MailError::Send(e) => {
                e.is_transient() || e.code().is_some_and(|c| !REFUSED.contains(&c))
            }
        }
    }

    /// The server refused this recipient for good: suppress the address.
    pub fn is_recipient_refused(&self) -> bool {
        matches!(self, MailError::Send(e) if e.is_permanent() && e.code().is_some_and(|c| REFUSED.contains(&c)))
    }
}

impl Mail {
    pub fn new(config: &Config) -> Result<Self> {
        let cfg = config.email.clone();
        let (transport, sent) = match cfg.transport {
            TransportKind::Smtp => (Transport::smtp(&cfg)?, None),
            TransportKind::File => (Transport::File(config.data_dir.join("outbox")), None),
            TransportKind::Memory => {
                let (t, v) = Transport::memory();
                (t, Some(v))
            }
        };
        let from_domain = cfg
            .from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').trim().to_ascii_lowercase())
            .unwrap_or_else(|| "localhost".into());
        let domain = if cfg.dkim_domain.is_empty() {
            from_domain
        } else {
            cfg.dkim_domain.clone()
        };
        Ok(Self {
            config: cfg,
            key_dir: config.data_dir.join("dkim"),
            domain,
            composer: Mutex::new(None),
            transport,
            sent,
        })
    }

    /// The sender's domain (Message-IDs, DKIM).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn composer(&self) -> Result<Arc<Composer>> {
        let mut slot = self.composer.lock().expect("composer lock");
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let path = if self.config.dkim_key_file.as_os_str().is_empty() {
            dkim::generate_demo_key(&self.key_dir, &self.config.dkim_selector, &self.domain)
                .context("generating the demo DKIM key")?
        } else {
            self.config.dkim_key_file.clone()
        };
        let key = DkimKey::load(&path)?;
        let c = Arc::new(Composer::new(&self.config, Some(key))?);
        *slot = Some(c.clone());
        Ok(c)
    }

    /// The signed message, exactly as it would be sent.
    pub fn compose(&self, out: &Outgoing) -> Result<Composed, MailError> {
        let composer = self
            .composer()
            .map_err(|e| MailError::Compose(ComposeError::Invalid(format!("{e:#}"))))?;
        Ok(composer.compose(out)?)
    }

    /// The bytes of [`Mail::compose`], for `digest preview`.
    pub fn preview(&self, out: &Outgoing) -> Result<Vec<u8>> {
        Ok(self.compose(out)?.bytes)
    }

    /// Sends; the server's reply on success.
    pub async fn send(&self, c: &Composed) -> Result<String, MailError> {
        let a = self.transport.send(c).await?;
        Ok(if a.code == 0 {
            a.message
        } else {
            format!("{} {}", a.code, a.message)
        })
    }
}
