//! The mail side of the app: composing and sending, as the digest jobs see it.
//! (Transport wiring lands with the SMTP client.)

use crate::config::Config;
use crate::email::Outgoing;

#[derive(Debug)]
pub struct Mail {
    domain: String,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailError(String);

impl MailError {
    pub fn is_transient(&self) -> bool {
        true
    }
    pub fn is_recipient_refused(&self) -> bool {
        false
    }
}

impl Mail {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let domain = config
            .email
            .from
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').to_owned())
            .unwrap_or_else(|| "localhost".into());
        Ok(Self { domain })
    }
    pub fn domain(&self) -> &str {
        &self.domain
    }
    pub fn compose(&self, out: &Outgoing) -> Result<Vec<u8>, MailError> {
        Ok(out.body.text.clone().into_bytes())
    }
    pub fn preview(&self, out: &Outgoing) -> anyhow::Result<Vec<u8>> {
        Ok(self.compose(out)?)
    }
    pub async fn send(&self, _m: &[u8]) -> Result<String, MailError> {
        Err(MailError("no SMTP transport configured yet".into()))
    }
}
