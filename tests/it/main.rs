//! The integration suite: one binary, so it links once.

mod binary;
mod config;
mod content;
mod feeds;
mod http;
mod i18n;
mod peers;
mod props;
mod snapshots;
mod social;
mod social_text;
mod store;
mod support;
mod websub;
