//! A handful of counters in the Prometheus text format. Gauges that live in the
//! database (queue depth) are read at scrape time by the HTTP handler.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: [AtomicU64; 5],
    pub http_not_modified: AtomicU64,
    pub feed_renders: AtomicU64,
    pub documents_changed: AtomicU64,
    pub jobs_succeeded: AtomicU64,
    pub jobs_retried: AtomicU64,
    pub jobs_dead: AtomicU64,
    pub websub_pings: AtomicU64,
    pub emails_sent: AtomicU64,
    pub emails_bounced: AtomicU64,
}

impl Metrics {
    pub fn http(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.http_requests[class].fetch_add(1, Ordering::Relaxed);
        if status == 304 {
            self.http_not_modified.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(u64::try_from(n).unwrap_or(0), Ordering::Relaxed);
    }

    /// The text exposition, with `extra` gauges `(name, help, value)` appended.
    pub fn render(&self, extra: &[(&str, &str, i64)]) -> String {
        let mut out = String::new();
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        out.push_str("# HELP bridgecast_http_requests_total HTTP responses by status class.\n");
        out.push_str("# TYPE bridgecast_http_requests_total counter\n");
        for (i, c) in self.http_requests.iter().enumerate() {
            let _ = writeln!(
                out,
                "bridgecast_http_requests_total{{class=\"{}xx\"}} {}",
                i + 1,
                g(c)
            );
        }
        for (name, help, c) in [
            (
                "bridgecast_http_not_modified_total",
                "Conditional requests answered 304.",
                &self.http_not_modified,
            ),
            (
                "bridgecast_feed_renders_total",
                "Channel x locale feed renders.",
                &self.feed_renders,
            ),
            (
                "bridgecast_documents_changed_total",
                "Rendered documents whose bytes changed.",
                &self.documents_changed,
            ),
            (
                "bridgecast_jobs_succeeded_total",
                "Jobs that succeeded.",
                &self.jobs_succeeded,
            ),
            (
                "bridgecast_jobs_retried_total",
                "Job attempts that failed and were scheduled again.",
                &self.jobs_retried,
            ),
            (
                "bridgecast_jobs_dead_total",
                "Jobs that became dead letters.",
                &self.jobs_dead,
            ),
            (
                "bridgecast_websub_pings_total",
                "WebSub hub notifications sent.",
                &self.websub_pings,
            ),
            (
                "bridgecast_emails_sent_total",
                "Messages the SMTP relay accepted.",
                &self.emails_sent,
            ),
            (
                "bridgecast_emails_bounced_total",
                "Addresses refused for good and suppressed.",
                &self.emails_bounced,
            ),
        ] {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                g(c)
            );
        }
        let zero_copy = crate::zero_copy::stats();
        let _ = write!(
            out,
            "# HELP bridgecast_http_sendfile_bytes_total Body bytes sent from memory files without a copy.\n\
             # TYPE bridgecast_http_sendfile_bytes_total counter\n\
             bridgecast_http_sendfile_bytes_total {}\n\
             # HELP bridgecast_http_sendfile_files Memory files holding bodies to send.\n\
             # TYPE bridgecast_http_sendfile_files gauge\n\
             bridgecast_http_sendfile_files {}\n\
             # HELP bridgecast_http_sendfile_file_bytes Bytes held in those memory files.\n\
             # TYPE bridgecast_http_sendfile_file_bytes gauge\n\
             bridgecast_http_sendfile_file_bytes {}\n",
            zero_copy.sent_bytes, zero_copy.files, zero_copy.file_bytes
        );
        for (name, help, v) in extra {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}\n"
            );
        }
        out
    }
}
