//! The `[email]` section of the configuration.

use crate::config::Secret;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// Plain text; only for a relay on loopback.
    None,
    /// STARTTLS when the server offers it, plain otherwise.
    Opportunistic,
    /// STARTTLS, refusing a server that does not offer it.
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// Where messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// An SMTP relay (production).
    #[default]
    Smtp,
    /// `.eml` files under `data_dir/outbox/` (the demo and development; the daemon
    /// warns at start).
    File,
    /// Kept in memory (tests).
    Memory,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Digests are planned and sent only while true (previews always work).
    pub enabled: bool,
    /// `smtp` (default), `file` or `memory` (tests).
    pub transport: TransportKind,
    /// `From` header, `Name <address>`.
    pub from: String,
    /// Envelope sender for bounces; defaults to the `From` address.
    pub return_path: String,
    /// Domain part of `List-Id`, e.g. `digest.example.org`.
    pub list_domain: String,
    /// SMTP relay host and port.
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: Tls,
    /// Accept any server certificate (a self-signed test relay only).
    pub tls_accept_invalid_certs: bool,
    pub smtp_user: String,
    pub smtp_password: Secret,
    /// Whole-send timeout per message, connection included.
    pub timeout_secs: u64,
    /// SMTP sessions open at once (busy or idle), reused between messages.
    pub pool_size: u32,
    /// Messages per second across the process; 0 means no limit.
    pub rate_per_sec: u32,
    /// Messages in flight at once to one recipient domain.
    pub per_domain_concurrency: usize,
    /// DKIM selector and signing domain (defaults to the `From` domain).
    pub dkim_selector: String,
    pub dkim_domain: String,
    /// PEM private key: RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8). Empty: a demo
    /// RSA key is generated under `data_dir/dkim/` on first run.
    pub dkim_key_file: PathBuf,
    /// Secret for signing links in messages and pages. Empty: generated under
    /// `data_dir/` on first run.
    pub token_secret: Secret,
    /// Optional `mailto:` unsubscribe address for `List-Unsubscribe`.
    pub unsubscribe_mailto: String,
    /// How long a confirmation link stays valid.
    pub confirm_ttl_hours: u64,
    /// Confirmation messages per address per day (the rest are refused quietly).
    pub confirmations_per_address_per_day: u32,
    /// Subscription requests per client IP per hour.
    pub subscribe_per_ip_per_hour: u32,
    /// A maildir whose `new/` folder receives delivery status notifications.
    pub bounce_maildir: PathBuf,
    /// Recipients planned per transaction by the digest sweep.
    pub batch: usize,
    /// A folder with `subscribers.csv` and `organisations.csv` loaded into an empty
    /// store at start (the demo audience). Empty: none.
    pub demo_dir: PathBuf,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            transport: TransportKind::Smtp,
            from: "bridgecast <digest@example.org>".into(),
            return_path: String::new(),
            list_domain: "digest.example.org".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: 25,
            tls: Tls::Starttls,
            tls_accept_invalid_certs: false,
            smtp_user: String::new(),
            smtp_password: Secret::default(),
            timeout_secs: 30,
            pool_size: 8,
            rate_per_sec: 0,
            per_domain_concurrency: 8,
            dkim_selector: "bridgecast".into(),
            dkim_domain: String::new(),
            dkim_key_file: PathBuf::new(),
            token_secret: Secret::default(),
            unsubscribe_mailto: String::new(),
            confirm_ttl_hours: 72,
            confirmations_per_address_per_day: 3,
            subscribe_per_ip_per_hour: 20,
            bounce_maildir: PathBuf::new(),
            batch: 256,
            demo_dir: PathBuf::new(),
        }
    }
}
