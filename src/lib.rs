//! bridgecast: write an article once, with translations; publish it as RSS, Atom and
//! JSON feeds in every language, on a schedule, without a person watching.
//!
//! See `ARCHITECTURE.md` for the map of this crate.

pub mod admin_page;
pub mod api;
pub mod app;
pub mod brotli_buffers;
pub mod cli;
pub mod clock;
pub mod config;
pub mod content;
pub mod document;
pub mod email;
pub mod feed;
pub mod http;
pub mod i18n;
pub mod ingest;
pub mod jobs;
pub mod locale;
pub mod markdown;
pub mod metrics;
pub mod parallel;
pub mod publish;
pub mod scheduler;
pub mod social;
pub mod status;
pub mod store;
pub mod timeline;
pub mod websub;
pub mod zero_copy;
