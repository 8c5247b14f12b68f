//! WebSub pings against a local hub that answers with scripted statuses.

use crate::support::TestApp;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use bridgecast::clock::Clock;
use std::sync::{Arc, Mutex};

/// Scripted answers still to give, and the bodies received.
type Shared = Arc<Mutex<(Vec<(u16, Option<u64>)>, Vec<String>)>>;

/// A loopback hub: answers each request with the next scripted `(status, retry_after)`
/// (then 204) and records the form bodies it got.
pub struct Hub {
    pub url: String,
    state: Shared,
}

impl Hub {
    pub async fn start(script: Vec<(u16, Option<u64>)>) -> Hub {
        let state = Arc::new(Mutex::new((
            script.into_iter().rev().collect::<Vec<_>>(),
            vec![],
        )));
        let app = axum::Router::new()
            .route(
                "/",
                axum::routing::post(|State(s): State<Shared>, body: String| async move {
                    let mut g = s.lock().unwrap();
                    g.1.push(body);
                    let (code, retry) = g.0.pop().unwrap_or((204, None));
                    let mut r = StatusCode::from_u16(code).unwrap().into_response();
                    if let Some(secs) = retry {
                        r.headers_mut()
                            .insert("retry-after", secs.to_string().parse().unwrap());
                    }
                    r
                }),
            )
            .with_state(state.clone());
        let url = format!("{}/", crate::support::serve_router(app).await);
        Hub { url, state }
    }
    pub fn hits(&self) -> usize {
        self.state.lock().unwrap().1.len()
    }
    pub fn bodies(&self) -> Vec<String> {
        self.state.lock().unwrap().1.clone()
    }
}

#[tokio::test]
async fn a_changed_feed_pings_the_hub_and_honours_retry_after() {
    let hub = Hub::start(vec![(429, Some(120))]).await;
    let url = hub.url.clone();
    let t = TestApp::builder()
        .config(move |c| c.websub.hubs = vec![url])
        .build()
        .await;
    // The first render of all 18 feeds × 3 formats pinged for each current document;
    // one got a 429 and waits at least the two minutes the hub asked for.
    let bodies = hub.bodies();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("hub.mode=publish") && b.contains("feeds%2Fnews%2Fen%2Fatom.xml")),
        "{bodies:?}"
    );
    let retrying: Vec<_> = t
        .app
        .store
        .jobs(Some(bridgecast::store::JobState::Pending), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == "websub_ping")
        .collect();
    assert_eq!(retrying.len(), 1);
    assert!(retrying[0].run_at - t.clock.now() >= chrono::Duration::seconds(120));
    t.clock.advance(chrono::Duration::minutes(3));
    t.drain().await;
    assert_eq!(t.app.store.queue_counts().await.unwrap().pending, 0);
    assert_eq!(hub.hits(), 18 * 3 + 1);
}

#[tokio::test]
async fn a_client_error_is_a_dead_letter_at_once() {
    let hub = Hub::start(vec![(400, None)]).await;
    let t = TestApp::demo().await;
    let job = bridgecast::jobs::Job::WebSubPing {
        hub: hub.url.clone(),
        topic: "https://feeds.example.org/x".into(),
    };
    job.submit(&t.app).await.unwrap();
    t.drain().await;
    let row = t.app.store.job(&job.key()).await.unwrap().unwrap();
    assert_eq!(row.state, bridgecast::store::JobState::Dead);
    assert_eq!(row.attempts, 1);
}

/// The worker keeps `jobs.concurrency` jobs in flight: while one job waits on a slow
/// hub, the jobs queued after it still run (no batch waits for its slowest job).
#[tokio::test]
async fn a_slow_job_does_not_hold_back_the_jobs_queued_after_it() {
    use bridgecast::jobs::{self, Job};
    let release = Arc::new(tokio::sync::Notify::new());
    let waiting = release.clone();
    let slow = axum::Router::new().route(
        "/",
        axum::routing::post(move || {
            let waiting = waiting.clone();
            async move {
                waiting.notified().await;
                StatusCode::NO_CONTENT
            }
        }),
    );
    let slow_url = format!("{}/", crate::support::serve_router(slow).await);
    let fast = Hub::start(vec![]).await;
    let t = TestApp::builder()
        .config(|c| c.jobs.concurrency = 2)
        .build()
        .await;
    let ping = |hub: &str, n: usize| Job::WebSubPing {
        hub: hub.to_owned(),
        topic: format!("https://feeds.example.org/feeds/news/en/{n}.xml"),
    };
    ping(&slow_url, 0).submit(&t.app).await.unwrap();
    for n in 1..=4 {
        ping(&fast.url, n).submit(&t.app).await.unwrap();
    }
    let app = t.app.clone();
    let drain = tokio::spawn(async move { jobs::drain(&app).await });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while fast.hits() < 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of 4 quick jobs ran while the slow one waited",
            fast.hits()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!drain.is_finished(), "the slow job is still waiting");
    release.notify_one();
    assert_eq!(drain.await.unwrap().unwrap(), 5);
    for n in 0..=4 {
        let hub = if n == 0 { &slow_url } else { &fast.url };
        let row = t.app.store.job(&ping(hub, n).key()).await.unwrap().unwrap();
        assert_eq!(row.state, bridgecast::store::JobState::Done, "job {n}");
    }
}
