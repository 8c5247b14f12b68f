//! Placeholder until this part lands.
pub fn message_id(job_key: &str, domain: &str) -> String {
    format!("<{job_key}@{domain}>")
}
