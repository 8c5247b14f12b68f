//! Signed, opaque link tokens for confirmation, preference and unsubscribe links.
//!
//! A token is `base64url(purpose ‖ handle ‖ expiry ‖ mac)`: the recipient's random
//! 128-bit handle (never its database id), the expiry in seconds since the epoch (0:
//! none) and the first 16 bytes of HMAC-SHA256 over the rest under the site's secret.
//! Verification is constant time. Rotating a recipient's handle revokes its links.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const MAC_LEN: usize = 16;
const HANDLE_LEN: usize = 16;
const LEN: usize = 1 + HANDLE_LEN + 8 + MAC_LEN;

/// What a token lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Confirm a pending subscription (double opt-in).
    Confirm = 1,
    /// See and change preferences.
    Manage = 2,
    /// Unsubscribe (the page and the RFC 8058 one-click POST).
    Unsubscribe = 3,
}

impl Purpose {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Purpose::Confirm),
            2 => Some(Purpose::Manage),
            3 => Some(Purpose::Unsubscribe),
            _ => None,
        }
    }
}

/// Why a token was refused. Pages show one message for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is malformed")]
    Malformed,
    #[error("the link was altered or is not ours")]
    BadSignature,
    #[error("the link is meant for something else")]
    WrongPurpose,
    #[error("the link has expired")]
    Expired,
}

/// The signing key.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey([redacted])")
    }
}

impl TokenKey {
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    fn mac(&self, data: &[u8]) -> [u8; MAC_LEN] {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        m.update(b"bridgecast-link-v1");
        m.update(data);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// A token for `handle` (32 hex characters), valid until `expires` when given.
    pub fn issue(&self, purpose: Purpose, handle: &str, expires: Option<DateTime<Utc>>) -> String {
        let mut buf = Vec::with_capacity(LEN);
        buf.push(purpose as u8);
        let mut h = [0u8; HANDLE_LEN];
        hex::decode_to_slice(handle, &mut h).unwrap_or_default();
        buf.extend_from_slice(&h);
        let exp = expires.map_or(0, |t| t.timestamp().max(1));
        buf.extend_from_slice(&exp.to_be_bytes());
        let mac = self.mac(&buf);
        buf.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// The handle a token carries, if it is ours, unaltered, for `purpose` and not
    /// expired at `now`.
    pub fn verify(
        &self,
        token: &str,
        purpose: Purpose,
        now: DateTime<Utc>,
    ) -> Result<String, TokenError> {
        let raw = URL_SAFE_NO_PAD
            .decode(token.trim())
            .map_err(|_| TokenError::Malformed)?;
        if raw.len() != LEN {
            return Err(TokenError::Malformed);
        }
        let (data, mac) = raw.split_at(LEN - MAC_LEN);
        if !bool::from(self.mac(data).ct_eq(mac)) {
            return Err(TokenError::BadSignature);
        }
        if Purpose::from_byte(data[0]) != Some(purpose) {
            return Err(TokenError::WrongPurpose);
        }
        let mut exp = [0u8; 8];
        exp.copy_from_slice(&data[1 + HANDLE_LEN..]);
        let exp = i64::from_be_bytes(exp);
        if exp != 0 && now.timestamp() > exp {
            return Err(TokenError::Expired);
        }
        Ok(hex::encode(&data[1..=HANDLE_LEN]))
    }
}

/// A new random handle (32 hex characters).
pub fn new_handle() -> String {
    let bytes: [u8; HANDLE_LEN] = rand::random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trip_and_refusals() {
        let key = TokenKey::new(b"secret");
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let h = new_handle();
        let t = key.issue(
            Purpose::Confirm,
            &h,
            Some(now + chrono::Duration::hours(72)),
        );
        assert_eq!(key.verify(&t, Purpose::Confirm, now), Ok(h.clone()));
        assert!(!t.contains(&h), "the handle is not readable in the token");
        assert_eq!(
            key.verify(&t, Purpose::Unsubscribe, now),
            Err(TokenError::WrongPurpose)
        );
        assert_eq!(
            key.verify(&t, Purpose::Confirm, now + chrono::Duration::hours(73)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            TokenKey::new(b"other").verify(&t, Purpose::Confirm, now),
            Err(TokenError::BadSignature)
        );
        // Flip one bit anywhere: refused.
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..raw.len() {
            raw[i] ^= 1;
            let forged = URL_SAFE_NO_PAD.encode(&raw);
            assert!(
                key.verify(&forged, Purpose::Confirm, now).is_err(),
                "byte {i}"
            );
            raw[i] ^= 1;
        }
        assert_eq!(
            key.verify("not a token", Purpose::Confirm, now),
            Err(TokenError::Malformed)
        );
        let u = key.issue(Purpose::Unsubscribe, &h, None);
        assert_eq!(
            key.verify(&u, Purpose::Unsubscribe, now + chrono::Duration::days(3650)),
            Ok(h)
        );
    }
}
