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
