//! WebSub (W3C) publisher notification: tell each hub which topic URL changed.

use crate::jobs::JobError;

/// `POST hub` with `hub.mode=publish&hub.url=topic`. 2xx is success; 429 and 5xx are
/// transient (with the hub's `Retry-After`), other 4xx are permanent.
pub async fn ping(client: &reqwest::Client, hub: &str, topic: &str) -> Result<(), JobError> {
    let resp = client
        .post(hub)
        .form(&[("hub.mode", "publish"), ("hub.url", topic)])
        .send()
        .await
        .map_err(|e| JobError::transient(format!("websub: {hub}: {e}")))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs);
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    let message = format!("websub: {hub}: {status} {body}");
    if status.as_u16() == 429 || status.is_server_error() {
        Err(JobError {
            message,
            transient: true,
            retry_after,
        })
    } else {
        Err(JobError::permanent(message))
    }
}
