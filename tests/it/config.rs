//! Configuration: the shipped example parses, the environment overrides, secrets
//! come from files and never print.

use crate::support::repo;
use bridgecast::config::Config;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_example_config_in_deploy_parses_and_matches_the_defaults() {
    let path = repo().join("deploy/bridgecast.toml");
    let c = Config::load_with_env(Some(&path), &[]).expect("deploy/bridgecast.toml parses");
    let d = Config::default();
    assert_eq!(c.feeds.items, d.feeds.items);
    assert_eq!(c.jobs.max_attempts, d.jobs.max_attempts);
    assert_eq!(c.scheduler.rescan_every_secs, d.scheduler.rescan_every_secs);
    assert_eq!(c.api.max_body_bytes, d.api.max_body_bytes);
    assert_eq!(c.ingest.poll_every_secs, d.ingest.poll_every_secs);
    assert_eq!(c.ingest.max_bytes, d.ingest.max_bytes);
    assert_eq!(c.ingest.max_wait_secs, d.ingest.max_wait_secs);
}

#[test]
fn environment_overrides_and_file_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db");
    std::fs::write(&secret, "postgres://u:hunter2@db/bc\n").unwrap();
    let c = Config::load_with_env(
        None,
        &env(&[
            ("BRIDGECAST_FEEDS__ITEMS", "30"),
            ("BRIDGECAST_BASE_URL", "https://news.example.org"),
            ("BRIDGECAST_WEBSUB__HUBS", "[\"https://hub.example.org/\"]"),
            ("BRIDGECAST_DATABASE_URL_FILE", secret.to_str().unwrap()),
            ("BRIDGECAST_TEST_POSTGRES", "ignored"),
            ("PATH", "/usr/bin"),
        ]),
    )
    .unwrap();
    assert_eq!(c.feeds.items, 30);
    assert_eq!(c.base_url, "https://news.example.org");
    assert_eq!(c.websub.hubs, ["https://hub.example.org/"]);
    assert_eq!(c.database_url(), "postgres://u:hunter2@db/bc");
    assert!(!format!("{c:?}").contains("hunter2"), "secrets never print");
}

#[test]
fn mistakes_are_refused_with_the_reason() {
    let e = Config::load_with_env(None, &env(&[("BRIDGECAST_FEEDS__ITMES", "3")])).unwrap_err();
    assert!(
        e.to_string()
            .contains("no such configuration key (feeds.itmes)"),
        "{e}"
    );
    let e = Config::load_with_env(None, &env(&[("BRIDGECAST_FEEDS__ITEMS", "many")])).unwrap_err();
    assert!(e.to_string().contains("not a valid value"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(
        &p,
        "base_url = \"https://x.org\"\n\n[feeds]\nitems = 10\ncolour = \"red\"\n",
    )
    .unwrap();
    let e = format!("{:#}", Config::load_with_env(Some(&p), &[]).unwrap_err());
    assert!(e.contains("unknown field `colour`"), "{e}");
    std::fs::write(&p, "base_url = \"ftp://x.org\"\n").unwrap();
    assert!(Config::load_with_env(Some(&p), &[]).is_err());
}
