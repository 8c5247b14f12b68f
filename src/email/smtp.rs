//! Where composed messages go: a closed set of backends.
//!
//! | backend  | use                                   | `send` does                        |
//! |----------|---------------------------------------|------------------------------------|
//! | `Smtp`   | production                            | SMTP sessions (lettre) in our pool |
//! | `File`   | previews, `--dry-run`                 | writes `<dir>/<message-id>.eml`    |
//! | `Memory` | tests                                 | appends to a shared `Vec<Sent>`    |
//!
//! Production refuses the last two ([`Transport::require_smtp`]).
//!
//! **The SMTP pool.** lettre speaks the protocol (`AsyncSmtpConnection`: EHLO,
//! STARTTLS, AUTH, replies); we add PIPELINING (RFC 2920: `MAIL`, `RCPT` and `DATA` in
//! one write when the relay offers it, two round trips a message instead of four) and
//! write `DATA` ourselves (dots stuffed with `memchr`, the message and its closing `.`
//! in one write). The pool is ours, for three reasons measured with
//! `bench/email.sh`: our sockets set `TCP_NODELAY` (a message and the reply to the
//! previous command must not wait for the relay's delayed ACK: about 20 ms per
//! message on loopback with Nagle's algorithm), a pooled session is not
//! re-checked with `NOOP` before every message (only after [`CHECK_AFTER_IDLE`]), and a
//! session goes back to the pool only after a completed transaction, so a send
//! abandoned by the timeout closes its connection instead of leaving it mid-transaction.
//! A pooled session the relay had closed meanwhile fails at `MAIL FROM` (no reply, or
//! 421), before anything was accepted; the transaction is then repeated once on a
//! fresh session.
//!
//! **SMTP limits.** Every send is wrapped in `tokio::time::timeout(timeout_secs)`
//! (connecting included); waiting for the rate limiter, a per-domain slot or a pool
//! slot is not counted. `rate_per_sec` is a token bucket across the process (burst of
//! one second's worth), `per_domain_concurrency` a semaphore per recipient domain,
//! `pool_size` the most sessions open at once.
//!
//! **SMTPUTF8 and 8BITMIME** are checked against the EHLO reply of the session that
//! will send: a non-ASCII address without SMTPUTF8 (Postfix's smtp-sink does not
//! offer it; the integration tests pin this) is a permanent error for this recipient
//! before `MAIL FROM`, and the session stays usable.
//!
//! **Errors carry the retry decision**: 4xx, connection loss, TLS failures and
//! timeouts are transient; 5xx replies (with code and server text) and a recipient
//! the server cannot take are permanent.

use super::config::{EmailConfig, Tls};
use super::message::{Composed, redact};
use anyhow::Context as _;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::Response;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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

    /// A reply carries its code and text; anything else (connection lost, TLS,
    /// timeout, a reply that does not parse) is transient, named with `relay`.
    fn from_lettre(e: &lettre::transport::smtp::Error, relay: &str) -> Self {
        let text = e.to_string();
        if let Some(code) = e.status() {
            let code = u16::from(code);
            let reply = text.split_once(": ").map_or("", |(_, t)| t).trim();
            let message = format!("{code} {reply}");
            return if e.is_permanent() {
                Self::permanent(message)
            } else {
                Self::transient(message)
            };
        }
        let at = if relay.is_empty() {
            String::new()
        } else {
            format!("{relay}: ")
        };
        if e.is_timeout() {
            return Self::transient(format!("{at}timed out: {text}"));
        }
        Self::transient(format!("{at}{text}"))
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
    host: String,
    port: u16,
    tls: Tls,
    tls_params: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    relay: String,
    timeout: Duration,
    /// Idle connections, most recently used last; a connection is only put back after a
    /// completed transaction, so a send abandoned mid-way (timeout) takes its
    /// connection with it.
    idle: Mutex<Vec<Idle>>,
    /// At most `pool_size` connections exist, idle or busy.
    slots: Semaphore,
    rate: Option<TokenBucket>,
    per_domain: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_domain_limit: usize,
}

struct Idle {
    conn: Session,
    since: Instant,
}

/// One SMTP session and whether the relay offers PIPELINING (RFC 2920), which
/// lettre's EHLO parsing does not keep.
struct Session {
    conn: AsyncSmtpConnection,
    pipelining: bool,
}

impl std::ops::Deref for Session {
    type Target = AsyncSmtpConnection;
    fn deref(&self) -> &AsyncSmtpConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Session {
    fn deref_mut(&mut self) -> &mut AsyncSmtpConnection {
        &mut self.conn
    }
}

/// A connection idle for longer than this is checked with `NOOP` before use. Servers
/// close idle sessions after minutes (Postfix: 300 s), and a failed check costs only
/// a reconnect.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(20);
/// Idle connections older than this are closed instead of checked.
const MAX_IDLE: Duration = Duration::from_secs(120);

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("relay", &self.relay)
            .field("timeout", &self.timeout)
            .field("per_domain_limit", &self.per_domain_limit)
            .finish_non_exhaustive()
    }
}

/// Where a transaction failed: a connection that fails before the server accepted
/// anything can be replaced and the transaction repeated without any risk of a
/// second copy.
enum Failure {
    /// The session was gone before `MAIL FROM` was accepted (no reply, or 421).
    Stale(SendError),
    /// Anything later, or a reply from the server.
    Failed(SendError),
    /// Refused before anything was sent (the session lacks an extension this message
    /// needs); the session is still clean.
    Unsendable(SendError),
}

impl Smtp {
    pub fn new(cfg: &EmailConfig) -> anyhow::Result<Self> {
        let host = cfg.smtp_host.trim();
        anyhow::ensure!(!host.is_empty(), "email.smtp_host is empty");
        let tls_params = match cfg.tls {
            Tls::None => None,
            _ => Some(
                TlsParameters::builder(host.to_owned())
                    .dangerous_accept_invalid_certs(cfg.tls_accept_invalid_certs)
                    .build()
                    .with_context(|| format!("TLS settings for {host}"))?,
            ),
        };
        let credentials = (!cfg.smtp_user.is_empty()).then(|| {
            Credentials::new(cfg.smtp_user.clone(), cfg.smtp_password.expose().to_owned())
        });
        let pool_size = cfg.pool_size.max(1) as usize;
        Ok(Self {
            host: host.to_owned(),
            port: cfg.smtp_port,
            tls: cfg.tls,
            tls_params,
            credentials,
            hello: ClientId::default(),
            relay: format!("{host}:{}", cfg.smtp_port),
            timeout: Duration::from_secs(cfg.timeout_secs.max(1)),
            idle: Mutex::new(Vec::with_capacity(pool_size)),
            slots: Semaphore::new(pool_size),
            rate: (cfg.rate_per_sec > 0).then(|| TokenBucket::new(cfg.rate_per_sec)),
            per_domain: Mutex::new(HashMap::new()),
            per_domain_limit: cfg.per_domain_concurrency.max(1),
        })
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

    /// Opens a session: TCP with `TCP_NODELAY` (with Nagle's algorithm a small write
    /// after another waits for the peer's delayed ACK, tens of milliseconds per
    /// message), implicit TLS or STARTTLS as configured, EHLO (twice: see below),
    /// AUTH.
    async fn connect(&self) -> Result<Session, SendError> {
        let net = |e: std::io::Error| SendError::transient(format!("{}: {e}", self.relay));
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(net)?;
        tcp.set_nodelay(true).map_err(net)?;
        self.session(tcp)
            .await
            .map_err(|e| SendError::from_lettre(&e, &self.relay))
    }

    async fn session(
        &self,
        tcp: tokio::net::TcpStream,
    ) -> Result<Session, lettre::transport::smtp::Error> {
        let stream: Box<dyn AsyncTokioStream> = match (self.tls, &self.tls_params) {
            (Tls::Implicit, Some(params)) => Box::new(ImplicitTls::wrap(tcp, params).await?),
            _ => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        match (self.tls, &self.tls_params) {
            (Tls::Starttls, Some(params)) => conn.starttls(params.clone(), &self.hello).await?,
            (Tls::Opportunistic, Some(params)) if conn.can_starttls() => {
                conn.starttls(params.clone(), &self.hello).await?;
            }
            _ => {}
        }
        // lettre keeps only the extensions it knows from its EHLO; ask once more (EHLO
        // may be repeated, RFC 5321 §4.1.4) to learn whether commands may be pipelined.
        // Should the relay refuse the repeated EHLO, it is taken as "no pipelining":
        // a refused command leaves the session as it was.
        let pipelining = match conn.command(Ehlo::new(self.hello.clone())).await {
            Ok(ehlo) => ehlo
                .message()
                .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING")),
            Err(e) if e.status().is_some() => false,
            Err(e) => return Err(e),
        };
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(Session { conn, pipelining })
    }

    /// An idle connection that still answers, or a new one.
    async fn checkout(&self) -> Result<(Session, bool), SendError> {
        loop {
            let idle = self.idle.lock().expect("smtp pool lock").pop();
            let Some(Idle { mut conn, since }) = idle else {
                return Ok((self.connect().await?, false));
            };
            let age = since.elapsed();
            if age > MAX_IDLE || (age > CHECK_AFTER_IDLE && !conn.test_connected().await) {
                conn.abort().await;
                continue;
            }
            return Ok((conn, true));
        }
    }

    fn checkin(&self, conn: Session) {
        if !conn.has_broken() {
            self.idle.lock().expect("smtp pool lock").push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    pub async fn send(&self, c: &Composed) -> Result<Accepted, SendError> {
        let slot = self.domain_slot(&c.to_domain);
        let _domain = slot
            .acquire_owned()
            .await
            .map_err(|_| SendError::transient("per-domain limiter closed"))?;
        if let Some(rate) = &self.rate {
            rate.take().await;
        }
        let _connection = self
            .slots
            .acquire()
            .await
            .map_err(|_| SendError::transient("smtp pool closed"))?;
        match tokio::time::timeout(self.timeout, self.send_on_pool(c)).await {
            Ok(Ok(r)) => {
                tracing::debug!(to = %redact(&c.to), id = %c.message_id, "smtp accepted");
                Ok(Accepted {
                    code: u16::from(r.code()),
                    message: r.message().collect::<Vec<_>>().join(" "),
                })
            }
            Ok(Err(err)) => {
                tracing::warn!(to = %redact(&c.to), id = %c.message_id, error = %err, "smtp send failed");
                Err(err)
            }
            Err(_) => {
                tracing::warn!(to = %redact(&c.to), id = %c.message_id, relay = %self.relay, "smtp send timed out");
                Err(SendError::transient(format!(
                    "timed out after {} s sending to {}",
                    self.timeout.as_secs(),
                    self.relay
                )))
            }
        }
    }

    async fn send_on_pool(&self, c: &Composed) -> Result<Response, SendError> {
        let (mut conn, reused) = self.checkout().await?;
        let result = match transaction(&mut conn, c).await {
            // A pooled session the server had closed: nothing was accepted, so one
            // fresh session may repeat the transaction.
            Err(Failure::Stale(_)) if reused => {
                conn.abort().await;
                conn = self.connect().await?;
                transaction(&mut conn, c).await
            }
            r => r,
        };
        match result {
            Ok(r) => {
                self.checkin(conn);
                Ok(r)
            }
            Err(Failure::Unsendable(e)) => {
                self.checkin(conn);
                Err(e)
            }
            Err(Failure::Stale(e) | Failure::Failed(e)) => {
                // After a refusal the session is in an unknown state: close it.
                conn.abort().await;
                Err(e)
            }
        }
    }

    pub async fn check(&self) -> Result<(), SendError> {
        let probe = async {
            let (mut conn, _) = self.checkout().await?;
            if conn.test_connected().await {
                self.checkin(conn);
                Ok(())
            } else {
                conn.abort().await;
                Err(SendError::transient(format!(
                    "{} did not answer NOOP",
                    self.relay
                )))
            }
        };
        tokio::time::timeout(self.timeout, probe)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::transient(format!(
                    "timed out after {} s checking {}",
                    self.timeout.as_secs(),
                    self.relay
                )))
            })
    }
}

/// One `MAIL`/`RCPT`/`DATA` transaction, as lettre's `send` does it, but telling a
/// session that was already dead apart from a refusal.
async fn transaction(conn: &mut Session, c: &Composed) -> Result<Response, Failure> {
    let envelope = c.envelope();
    let mut params = Vec::new();
    if c.needs_smtputf8 {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Unsendable(SendError::permanent(
                "the server does not advertise SMTPUTF8, which this recipient's non-ASCII \
                 address needs; it cannot be delivered through this relay",
            )));
        }
        params.push(MailParameter::SmtpUtfEight);
    }
    if !c.bytes.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failure::Unsendable(SendError::permanent(
                "the message holds 8-bit text but the server does not advertise 8BITMIME",
            )));
        }
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let error = |e: lettre::transport::smtp::Error| SendError::from_lettre(&e, "");
    let failed = |e| Failure::Failed(error(e));
    // No reply at all, or 421 (the server is closing this session, e.g. after its idle
    // timeout): nothing was accepted on this session.
    let at_mail = |e: lettre::transport::smtp::Error| {
        if e.status().is_none_or(|c| u16::from(c) == 421) {
            Failure::Stale(error(e))
        } else {
            failed(e)
        }
    };
    let mail = Mail::new(envelope.from().cloned(), params);
    if conn.pipelining {
        // MAIL, RCPT and DATA in one write, then their replies in order (RFC 2920).
        // Every reply is read before a failure is reported; after one, the caller
        // closes the session anyway.
        let mut head = mail.to_string();
        for to in envelope.to() {
            head.push_str(&Rcpt::new(to.clone(), vec![]).to_string());
        }
        head.push_str(&Data.to_string());
        let mut first = conn.command(head).await.map_err(at_mail).err();
        if let Some(stale @ Failure::Stale(_)) = first {
            return Err(stale);
        }
        for _ in 0..=envelope.to().len() {
            if let Err(e) = conn.read_response().await
                && first.is_none()
            {
                first = Some(failed(e));
            }
        }
        if let Some(f) = first {
            return Err(f);
        }
    } else {
        conn.command(mail).await.map_err(at_mail)?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(failed)?;
        }
        conn.command(Data).await.map_err(failed)?;
    }
    // A composed message is UTF-8 (its body is 7-bit), so it goes through `command`
    // as text, stuffed and terminated in one write; lettre's `message` stuffs dots
    // one byte at a time and writes the terminator separately.
    match std::str::from_utf8(&c.bytes) {
        Ok(text) => conn.command(dot_stuffed(text)).await,
        Err(_) => conn.message(&c.bytes).await,
    }
    .map_err(failed)
}

/// The content of `DATA` as it goes on the wire (RFC 5321 §4.5.2): a `.` doubled at
/// the start of every line, CRLF at the end, then the terminating `.` line.
fn dot_stuffed(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    if rest.starts_with('.') {
        out.push('.');
    }
    while let Some(i) = memchr::memchr_iter(b'\n', rest.as_bytes())
        .find(|&i| rest.as_bytes().get(i + 1) == Some(&b'.'))
    {
        out.push_str(&rest[..=i]);
        out.push('.');
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    out
}

/// Implicit TLS (port 465) over our own socket: lettre upgrades the stream, and this
/// adapter hands the encrypted stream back to lettre as a plain transport.
#[derive(Debug)]
struct ImplicitTls {
    #[allow(deprecated)] // lettre's TLS upgrade is only reachable through this type
    inner: tokio_util::compat::Compat<lettre::transport::smtp::client::AsyncNetworkStream>,
    peer: std::net::SocketAddr,
}

impl ImplicitTls {
    #[allow(deprecated)]
    async fn wrap(
        tcp: tokio::net::TcpStream,
        params: &TlsParameters,
    ) -> Result<Self, lettre::transport::smtp::Error> {
        use lettre::transport::smtp::client::AsyncNetworkStream;
        use tokio_util::compat::FuturesAsyncReadCompatExt as _;
        let peer = tcp.peer_addr().unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
        let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
        stream.upgrade_tls(params.clone()).await?;
        Ok(Self {
            inner: stream.compat(),
            peer,
        })
    }
}

impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        Ok(self.peer)
    }
}

impl tokio::io::AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
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

    // The clock is paused: tokio's time only moves when every task waits on a timer,
    // so the figures below are exact, whatever the machine is doing.
    #[tokio::test(start_paused = true)]
    async fn token_bucket_spaces_sends() {
        let b = TokenBucket::new(50);
        let start = tokio::time::Instant::now();
        for _ in 0..50 {
            b.take().await;
        }
        // the first second's worth goes at once
        assert_eq!(start.elapsed(), Duration::ZERO);
        for _ in 0..10 {
            b.take().await;
        }
        // then one every 20 ms
        let took = start.elapsed().as_secs_f64();
        assert!((took - 0.2).abs() < 0.005, "{took}");
    }

    #[test]
    fn data_is_dot_stuffed_and_terminated() {
        assert_eq!(
            dot_stuffed("a\r\n.b\r\n..\r\nc"),
            "a\r\n..b\r\n...\r\nc\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(".x\r\n"), "..x\r\n.\r\n");
        assert_eq!(dot_stuffed("a.b\r\n.\r\n"), "a.b\r\n..\r\n.\r\n");
        assert_eq!(dot_stuffed("hi\r\n"), "hi\r\n.\r\n");
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
