//! Email addresses as recipients give them, checked and normalised.
//! (Replaced by the composer's normaliser when the SMTP part lands.)

/// Trims, checks and normalises an address; the error says why it is refused.
pub fn normalize(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.chars().any(char::is_control) {
        return Err("contains a line break or control character".into());
    }
    let (local, domain) = s.rsplit_once('@').ok_or("missing @")?;
    if local.is_empty() || domain.is_empty() || !domain.contains('.') {
        return Err("the domain has no dot".into());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}
