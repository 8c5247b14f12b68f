//! Where composed messages go: a closed set of backends.
//!
//! | backend  | use                                   | `send` does                        |
//! |----------|---------------------------------------|------------------------------------|
//! | `Smtp`   | production                            | pooled SMTP through lettre         |
//! | `File`   | previews, `--dry-run`                 | writes `<dir>/<message-id>.eml`    |
//! | `Memory` | tests                                 | appends to a shared `Vec<Sent>`    |
//!
//! Production refuses the last two ([`Transport::require_smtp`]).
//!
//! **SMTP limits.** Every send is wrapped in `tokio::time::timeout(timeout_secs)`
//! (lettre's own timeout covers connecting only); waiting for the rate limiter or a
//! per-domain slot is not counted. `rate_per_sec` is a token bucket across the
//! process (burst of one second's worth), `per_domain_concurrency` a semaphore per
//! recipient domain. After a timeout the whole pool is replaced: the abandoned
//! connection may be mid-transaction and lettre would otherwise park it for reuse.
//!
//! **SMTPUTF8.** lettre handles it per connection: when the envelope holds a
//! non-ASCII address it checks the EHLO reply of the very connection that will send,
//! adds the `SMTPUTF8` MAIL parameter itself when advertised, and otherwise fails
//! before `MAIL FROM` with a client error (the connection stays clean and goes back
//! to the pool). The pool does not expose server capabilities, so rather than probe
//! separately we map that error to a permanent [`SendError`] for this recipient; the
//! integration tests pin the mapping against Postfix's smtp-sink, which does not
//! advertise SMTPUTF8.
//!
//! **Errors carry the retry decision**: 4xx, connection loss, TLS failures and
//! timeouts are transient; 5xx replies (with code and server text) and a recipient
//! the server cannot take are permanent.

use super::config::{EmailConfig, Tls};
use super::message::{Composed, redact};
use anyhow::Context as _;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls as LettreTls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransport, AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncTransport as _, Tokio1Executor};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// A message as the memory backend keeps it.
#[derive(Clone, PartialEq, Eq)]
pub struct Sent {
    pub envelope_from: String,
    pub to: String,
    pub message_id: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("to", &redact(&self.to))
            .field("message_id", &self.message_id)
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

/// What the backend said when it took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// SMTP reply code (250), or 0 for the file and memory backends.
    pub code: u16,
    /// The server's reply text (`Queued as 000001`), or where the file went.
    pub message: String,
}

/// A failed send, with the retry decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("smtp: {message}")]
pub struct SendError {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Transient,
    Permanent,
}

impl SendError {
    fn transient(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Transient,
            message: message.into(),
        }
    }
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Permanent,
            message: message.into(),
        }
    }
    /// Worth retrying later: 4xx, connection lost, TLS trouble, timeout.
    pub fn is_transient(&self) -> bool {
        self.kind == Kind::Transient
    }
    /// Retrying cannot help: 5xx, or a recipient this server cannot take.
    pub fn is_permanent(&self) -> bool {
        self.kind == Kind::Permanent
    }
    /// The SMTP reply code, when the server gave one.
    pub fn code(&self) -> Option<u16> {
        let digits = self.message.get(..3)?;
        (digits.bytes().all(|b| b.is_ascii_digit()) && self.message[3..].starts_with(' '))
            .then(|| digits.parse().ok())
            .flatten()
    }

    fn from_lettre(e: &lettre::transport::smtp::Error, c: &Composed) -> Self {
        let text = e
            .to_string()
            .split_once(": ")
            .map(|(_, t)| t.to_owned())
            .unwrap_or_default();
        if let Some(code) = e.status() {
            let code = u16::from(code);
            let message = format!("{code} {}", text.trim());
            return if e.is_permanent() {
                Self::permanent(message)
            } else {
                Self::transient(message)
            };
        }
        if e.is_client() && c.needs_smtputf8 && e.to_string().contains("SMTPUTF8") {
            return Self::permanent(
                "the server does not advertise SMTPUTF8, which this recipient's non-ASCII \
                 address needs; it cannot be delivered through this relay",
            );
        }
        if e.is_client() && e.to_string().contains("8BITMIME") {
            return Self::permanent(
                "the message holds 8-bit text but the server does not advertise 8BITMIME",
            );
        }
        if e.is_timeout() {
            return Self::transient(format!("timed out: {e}"));
        }
        Self::transient(e.to_string())
    }
}

/// The mail backends (STYLE 3: a closed enum, production refuses all but SMTP).
#[derive(Debug)]
pub enum Transport {
    Smtp(Box<Smtp>),
    /// Writes `<dir>/<message-id>.eml`.
    File(PathBuf),
    Memory(Arc<Mutex<Vec<Sent>>>),
}

impl Transport {
    /// The pooled SMTP backend for `[email]`.
    pub fn smtp(cfg: &EmailConfig) -> anyhow::Result<Self> {
        Ok(Self::Smtp(Box::new(Smtp::new(cfg)?)))
    }

    /// A memory backend and the list it fills.
    pub fn memory() -> (Self, Arc<Mutex<Vec<Sent>>>) {
        let v = Arc::new(Mutex::new(Vec::new()));
        (Self::Memory(v.clone()), v)
    }

    /// `smtp`, `file` or `memory`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Smtp(_) => "smtp",
            Self::File(_) => "file",
            Self::Memory(_) => "memory",
        }
    }

    /// Refuses the preview backends where real mail is expected.
    pub fn require_smtp(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            matches!(self, Self::Smtp(_)),
            "email: the {} mail backend is for previews and tests; production sends over SMTP",
            self.name()
        );
        Ok(())
    }

    pub async fn send(&self, c: &Composed) -> Result<Accepted, SendError> {
        match self {
            Self::Smtp(s) => s.send(c).await,
            Self::File(dir) => {
                let name: String = c
                    .message_id
                    .trim_matches(['<', '>'])
                    .chars()
                    .map(|ch| {
                        if ch.is_ascii_alphanumeric() || "@.-_".contains(ch) {
                            ch
                        } else {
                            '_'
                        }
                    })
                    .collect();
                let path = dir.join(format!("{name}.eml"));
                let tmp = dir.join(format!(".{name}.eml.tmp"));
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(&tmp, &c.bytes).await?;
                    tokio::fs::rename(&tmp, &path).await
                };
                write
                    .await
                    .map_err(|e| SendError::transient(format!("file {}: {e}", path.display())))?;
                Ok(Accepted {
                    code: 0,
                    message: path.display().to_string(),
                })
            }
            Self::Memory(v) => {
                v.lock().expect("memory transport lock").push(Sent {
                    envelope_from: c.envelope_from.clone(),
                    to: c.to.clone(),
                    message_id: c.message_id.clone(),
                    bytes: c.bytes.clone(),
                });
                Ok(Accepted {
                    code: 0,
                    message: "kept in memory".into(),
                })
            }
        }
    }

    /// Healthcheck without side effects: for SMTP, connect (TLS, AUTH) and `NOOP`.
    pub async fn check(&self) -> Result<(), SendError> {
        match self {
            Self::Smtp(s) => s.check().await,
            Self::File(dir) => tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| SendError::transient(format!("file {}: {e}", dir.display()))),
            Self::Memory(_) => Ok(()),
        }
    }
}

/// The pooled SMTP client with its limits.
pub struct Smtp {
    /// Replaced after a timeout; senders clone it (an `Arc` inside) per send.
    transport: std::sync::RwLock<AsyncSmtpTransport<Tokio1Executor>>,
    builder: AsyncSmtpTransportBuilder,
    relay: String,
    timeout: Duration,
    rate: Option<TokenBucket>,
    per_domain: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_domain_limit: usize,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("relay", &self.relay)
            .field("timeout", &self.timeout)
            .field("per_domain_limit", &self.per_domain_limit)
            .finish_non_exhaustive()
    }
}

impl Smtp {
    pub fn new(cfg: &EmailConfig) -> anyhow::Result<Self> {
        let host = cfg.smtp_host.trim();
        anyhow::ensure!(!host.is_empty(), "email.smtp_host is empty");
        let tls_params = || {
            TlsParameters::builder(host.to_owned())
                .dangerous_accept_invalid_certs(cfg.tls_accept_invalid_certs)
                .build()
                .with_context(|| format!("TLS settings for {host}"))
        };
        let tls = match cfg.tls {
            Tls::None => LettreTls::None,
            Tls::Opportunistic => LettreTls::Opportunistic(tls_params()?),
            Tls::Starttls => LettreTls::Required(tls_params()?),
            Tls::Implicit => LettreTls::Wrapper(tls_params()?),
        };
        let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(cfg.smtp_port)
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(cfg.pool_size.max(1)));
        if !cfg.smtp_user.is_empty() {
            builder = builder.credentials(Credentials::new(
                cfg.smtp_user.clone(),
                cfg.smtp_password.expose().to_owned(),
            ));
        }
        Ok(Self {
            transport: std::sync::RwLock::new(builder.clone().build()),
            builder,
            relay: format!("{host}:{}", cfg.smtp_port),
            timeout,
            rate: (cfg.rate_per_sec > 0).then(|| TokenBucket::new(cfg.rate_per_sec)),
            per_domain: Mutex::new(HashMap::new()),
            per_domain_limit: cfg.per_domain_concurrency.max(1),
        })
    }

    fn current(&self) -> AsyncSmtpTransport<Tokio1Executor> {
        self.transport.read().expect("smtp transport lock").clone()
    }

    /// Drops the pool (connections in it are closed) and starts a fresh one.
    fn reset_pool(&self) {
        *self.transport.write().expect("smtp transport lock") = self.builder.clone().build();
    }

    fn domain_slot(&self, domain: &str) -> Arc<Semaphore> {
        let mut map = self.per_domain.lock().expect("per-domain lock");
        if map.len() > 4096 {
            // Forget idle domains so the map does not grow with every domain ever seen.
            map.retain(|_, s| Arc::strong_count(s) > 1);
        }
        map.entry(domain.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_domain_limit)))
            .clone()
    }

    pub async fn send(&self, c: &Composed) -> Result<Accepted, SendError> {
        let slot = self.domain_slot(&c.to_domain);
        let _permit = slot
            .acquire_owned()
            .await
            .map_err(|_| SendError::transient("per-domain limiter closed"))?;
        if let Some(rate) = &self.rate {
            rate.take().await;
        }
        let transport = self.current();
        match tokio::time::timeout(self.timeout, transport.send_raw(c.envelope(), &c.bytes)).await {
            Ok(Ok(r)) => {
                tracing::debug!(to = %redact(&c.to), id = %c.message_id, "smtp accepted");
                Ok(Accepted {
                    code: u16::from(r.code()),
                    message: r.message().collect::<Vec<_>>().join(" "),
                })
            }
            Ok(Err(e)) => {
                let err = SendError::from_lettre(&e, c);
                tracing::warn!(to = %redact(&c.to), id = %c.message_id, error = %err, "smtp send failed");
                Err(err)
            }
            Err(_) => {
                self.reset_pool();
                tracing::warn!(to = %redact(&c.to), id = %c.message_id, relay = %self.relay, "smtp send timed out");
                Err(SendError::transient(format!(
                    "timed out after {} s sending to {}",
                    self.timeout.as_secs(),
                    self.relay
                )))
            }
        }
    }

    pub async fn check(&self) -> Result<(), SendError> {
        let transport = self.current();
        match tokio::time::timeout(self.timeout, transport.test_connection()).await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(SendError::transient(format!(
                "{} did not answer NOOP",
                self.relay
            ))),
            Ok(Err(e)) => {
                let msg = e.to_string();
                Err(match e.status().map(u16::from) {
                    Some(code) if e.is_permanent() => SendError::permanent(format!(
                        "{code} {}",
                        msg.split_once(": ").map_or("", |(_, t)| t)
                    )),
                    _ => SendError::transient(format!("{}: {msg}", self.relay)),
                })
            }
            Err(_) => {
                self.reset_pool();
                Err(SendError::transient(format!(
                    "timed out after {} s checking {}",
                    self.timeout.as_secs(),
                    self.relay
                )))
            }
        }
    }
}

/// A token bucket refilled at `rate` tokens per second, holding at most `rate`.
/// Waiters queue on the mutex, so they are served in order.
struct TokenBucket {
    rate: f64,
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl TokenBucket {
    fn new(rate: u32) -> Self {
        let rate = f64::from(rate);
        Self {
            rate,
            state: tokio::sync::Mutex::new((rate, tokio::time::Instant::now())),
        }
    }

    async fn take(&self) {
        let mut s = self.state.lock().await;
        loop {
            let now = tokio::time::Instant::now();
            let refill = now.duration_since(s.1).as_secs_f64() * self.rate;
            s.0 = (s.0 + refill).min(self.rate);
            s.1 = now;
            if s.0 >= 1.0 {
                s.0 -= 1.0;
                return;
            }
            let wait = (1.0 - s.0) / self.rate;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn token_bucket_spaces_sends() {
        let b = TokenBucket::new(50);
        let start = tokio::time::Instant::now();
        for _ in 0..50 {
            b.take().await;
        }
        // the first second's worth goes at once
        assert!(
            start.elapsed() < Duration::from_millis(100),
            "{:?}",
            start.elapsed()
        );
        for _ in 0..10 {
            b.take().await;
        }
        // then one every 20 ms
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(180) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }

    #[test]
    fn send_error_code_is_parsed_from_the_message() {
        let e = SendError::permanent("550 5.1.1 no such user");
        assert_eq!(e.code(), Some(550));
        assert!(e.is_permanent() && !e.is_transient());
        assert_eq!(SendError::transient("timed out").code(), None);
        assert_eq!(e.to_string(), "smtp: 550 5.1.1 no such user");
    }
}
