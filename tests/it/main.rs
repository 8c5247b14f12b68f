//! The integration suite: one binary, so it links once.

mod admin_api;
mod admin_ingest;
mod admin_status;
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
mod social_facebook;
mod social_linkedin;
mod social_mastodon;
mod social_telegram;
mod social_text;
mod social_wechat;
mod social_weibo;
mod social_x;
mod store;
mod support;
mod websub;
