//! DKIM keys: loading the configured private key in whichever common PEM form it
//! comes, handing lettre the form it wants, and generating a demo key on first run.
//!
//! | file begins with                | accepted as                     |
//! |---------------------------------|---------------------------------|
//! | `BEGIN RSA PRIVATE KEY`         | RSA, PKCS#1                     |
//! | `BEGIN PRIVATE KEY`             | RSA or Ed25519, PKCS#8          |
//! | anything else                   | refused, with the file's name   |
//!
//! lettre's [`DkimSigningKey`] takes RSA only as a PKCS#1 PEM string and Ed25519
//! only as the base64 of the 32-byte seed, so both are converted here.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use lettre::message::dkim::{DkimSigningAlgorithm, DkimSigningKey};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
use rsa::pkcs8::LineEnding;
use rsa::{RsaPrivateKey, RsaPublicKey};
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

    /// The key in the form lettre's signer takes: PKCS#1 PEM for RSA, the base64
    /// seed for Ed25519. A new value each call, since lettre's key is not `Clone`.
    pub fn to_lettre(&self) -> Result<DkimSigningKey> {
        let (text, alg) = match &self.inner {
            Inner::Rsa(k) => (
                k.to_pkcs1_pem(LineEnding::LF)
                    .context("encode the RSA key as PKCS#1")?
                    .to_string(),
                DkimSigningAlgorithm::Rsa,
            ),
            Inner::Ed25519(k) => (B64.encode(k.to_bytes()), DkimSigningAlgorithm::Ed25519),
        };
        DkimSigningKey::new(&text, alg).map_err(|e| {
            anyhow::anyhow!("DKIM key {}: lettre refused it: {e}", self.path.display())
        })
    }

    fn private_pkcs1_pem(&self) -> Result<String> {
        match &self.inner {
            Inner::Rsa(k) => Ok(k.to_pkcs1_pem(LineEnding::LF)?.to_string()),
            Inner::Ed25519(_) => bail!("only RSA demo keys are written"),
        }
    }
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
