//! The Mastodon adapter against a loopback server that ENFORCES Mastodon's documented
//! contract (docs.joinmastodon.org):
//!
//! - `GET /api/v2/instance`: `configuration.statuses.max_characters` = 140 and
//!   `characters_reserved_per_url` = 23 here, so every demo text must be fitted;
//! - `POST /api/v1/statuses`: `Authorization: Bearer` (else 401 `{"error":"The access
//!   token is invalid"}`), JSON with `status` counted as Mastodon's
//!   `StatusLengthValidator` counts (extended graphemes, each http(s) URL as 23), over
//!   140 is 422 `{"error":"Validation failed: Text character limit of 140 exceeded"}`;
//!   `language` an ISO 639 code (optionally with BCP 47 subtags) — required here;
//!   `visibility` one of public, unlisted, private, direct; `media_ids` only of uploaded
//!   media; a repeated `Idempotency-Key` returns the first status and creates nothing;
//! - `POST /api/v2/media`: multipart with `file` and `description`;
//! - `DELETE /api/v1/statuses/:id`, `GET /api/v1/accounts/verify_credentials`;
//! - scripted 429 with `X-RateLimit-Reset` (ISO 8601), 503, 401, 422.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bridgecast::clock::{Clock, SystemClock};
use bridgecast::config::Secret;
use bridgecast::social::mastodon::{Config, Mastodon};
use bridgecast::social::text::Parts;
use bridgecast::social::{Platform, Post};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use unicode_segmentation::UnicodeSegmentation;

const TOKEN: &str = "mastodon-app-token";
const LIMIT: usize = 140;

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

fn error(status: u16, message: &str) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: json!({ "error": message }),
    }
}

#[derive(Debug, Clone)]
struct Status {
    id: String,
    text: String,
    language: String,
    media_ids: Vec<String>,
}

#[derive(Debug, Default)]
struct MState {
    statuses: Vec<Status>,
    /// id → (description, bytes)
    media: HashMap<String, (String, usize)>,
    idempotency: HashMap<String, String>,
    next_id: u64,
    post_attempts: usize,
    script: HashMap<&'static str, VecDeque<Answer>>,
}

type Shared = Arc<Mutex<MState>>;

struct Server {
    url: String,
    state: Shared,
}

impl Server {
    async fn start(setup: impl FnOnce(&mut MState)) -> Server {
        let mut s = MState {
            next_id: 113_000_000_000_000_000,
            ..MState::default()
        };
        setup(&mut s);
        let state = Arc::new(Mutex::new(s));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let url = crate::support::serve_router(app).await;
        Server { url, state }
    }
    fn adapter(&self, token: &str) -> Mastodon {
        Mastodon::new(
            &Config {
                instance: self.url.clone(),
                token: Secret::new(token),
                token_file: None,
                visibility: "public".into(),
            },
            reqwest::Client::new(),
        )
        .unwrap()
    }
    fn with<T>(&self, f: impl FnOnce(&MState) -> T) -> T {
        f(&self.state.lock().unwrap())
    }
}

fn reply(a: Answer) -> Response {
    let mut r = (StatusCode::from_u16(a.status).unwrap(), axum::Json(a.body)).into_response();
    for (k, v) in a.headers {
        r.headers_mut().insert(k, v.parse().unwrap());
    }
    r
}

fn ok(body: Value) -> Response {
    reply(Answer {
        status: 200,
        headers: vec![],
        body,
    })
}

/// Mastodon's `StatusLengthValidator`, written independently of the adapter: every
/// http(s) URL (up to whitespace) becomes 23 characters, then graphemes are counted.
fn mastodon_length(text: &str) -> usize {
    let mut n = 0;
    for (k, word) in text.split(' ').enumerate() {
        if k > 0 {
            n += 1;
        }
        for (j, piece) in word.split('\n').enumerate() {
            if j > 0 {
                n += 1;
            }
            n += if piece.starts_with("https://") || piece.starts_with("http://") {
                23
            } else {
                piece.graphemes(true).count()
            };
        }
    }
    n
}

/// ISO 639-1/639-3 with optional BCP 47 subtags.
fn is_language(l: &str) -> bool {
    let mut parts = l.split('-');
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The value of multipart field `name`, and whether it came with a filename.
fn multipart_field(body: &[u8], boundary: &str, name: &str) -> Option<(Vec<u8>, bool)> {
    let sep = format!("--{boundary}");
    let text = body;
    let mut start = 0;
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    while let Some(at) = find(text, sep.as_bytes(), start) {
        let head_start = at + sep.len();
        let head_end = find(text, b"\r\n\r\n", head_start)?;
        let head = String::from_utf8_lossy(&text[head_start..head_end]).into_owned();
        let value_start = head_end + 4;
        let value_end = find(text, format!("\r\n{sep}").as_bytes(), value_start)?;
        if head.contains(&format!("name=\"{name}\"")) {
            return Some((
                text[value_start..value_end].to_vec(),
                head.contains("filename="),
            ));
        }
        start = value_end;
    }
    None
}

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut g = s.lock().unwrap();
    let path = uri.path().to_owned();
    let base = format!(
        "http://{}",
        headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
    );
    if method == Method::GET && path == "/api/v2/instance" {
        return ok(json!({
            "domain": "mastodon.example",
            "configuration": { "statuses": {
                "max_characters": LIMIT, "max_media_attachments": 4, "characters_reserved_per_url": 23,
            }},
        }));
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return reply(error(401, "The access token is invalid"));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let endpoint = match (method.as_str(), segments.as_slice()) {
        ("POST", ["api", "v1", "statuses"]) => "post",
        ("POST", ["api", "v2", "media"]) => "media",
        ("DELETE", ["api", "v1", "statuses", _]) => "delete",
        ("GET", ["api", "v1", "accounts", "verify_credentials"]) => "me",
        _ => return reply(error(404, "Record not found")),
    };
    if endpoint == "post" {
        g.post_attempts += 1;
    }
    if let Some(a) = g.script.get_mut(endpoint).and_then(VecDeque::pop_front) {
        return reply(a);
    }
    let status_json = |st: &Status| {
        json!({ "id": st.id, "content": st.text, "language": st.language,
                "url": format!("{base}/@bridgecast/{}", st.id), "visibility": "public",
                "media_attachments": st.media_ids.iter().map(|m| json!({ "id": m })).collect::<Vec<_>>() })
    };
    match endpoint {
        "me" => ok(json!({ "id": "1", "username": "bridgecast", "acct": "bridgecast" })),
        "media" => {
            let boundary = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("multipart/form-data; boundary="))
                .map(str::to_owned);
            let Some(boundary) = boundary else {
                return reply(error(422, "Validation failed: File can't be blank"));
            };
            let file = multipart_field(&body, &boundary, "file");
            let Some((bytes, true)) = file.filter(|(b, _)| !b.is_empty()) else {
                return reply(error(422, "Validation failed: File can't be blank"));
            };
            let description = multipart_field(&body, &boundary, "description")
                .map(|(d, _)| String::from_utf8(d).unwrap())
                .unwrap_or_default();
            g.next_id += 1;
            let id = g.next_id.to_string();
            g.media
                .insert(id.clone(), (description.clone(), bytes.len()));
            ok(json!({ "id": id, "type": "image", "description": description }))
        }
        "post" => {
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if let Some(id) = key.as_ref().and_then(|k| g.idempotency.get(k)) {
                let st = g.statuses.iter().find(|s| s.id == *id).unwrap().clone();
                return ok(status_json(&st));
            }
            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                return reply(error(422, "Validation failed: Text can't be blank"));
            };
            let text = v["status"].as_str().unwrap_or_default().to_owned();
            let media_ids: Vec<String> = v["media_ids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|m| m.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if text.trim().is_empty() && media_ids.is_empty() {
                return reply(error(422, "Validation failed: Text can't be blank"));
            }
            if mastodon_length(&text) > LIMIT {
                return reply(error(
                    422,
                    &format!("Validation failed: Text character limit of {LIMIT} exceeded"),
                ));
            }
            let language = v["language"].as_str().unwrap_or_default().to_owned();
            if !is_language(&language) {
                return reply(error(
                    422,
                    "Validation failed: Language is not a valid ISO 639 code",
                ));
            }
            if !matches!(
                v["visibility"].as_str(),
                Some("public" | "unlisted" | "private" | "direct")
            ) {
                return reply(error(
                    422,
                    "Validation failed: Visibility is not included in the list",
                ));
            }
            if let Some(m) = media_ids.iter().find(|m| !g.media.contains_key(*m)) {
                return reply(error(
                    422,
                    &format!("Validation failed: media {m} not found"),
                ));
            }
            g.next_id += 1;
            let st = Status {
                id: g.next_id.to_string(),
                text,
                language,
                media_ids,
            };
            if let Some(k) = key {
                g.idempotency.insert(k, st.id.clone());
            }
            g.statuses.push(st.clone());
            ok(status_json(&st))
        }
        "delete" => {
            let id = segments[3];
            match g.statuses.iter().position(|s| s.id == id) {
                Some(i) => {
                    let st = g.statuses.remove(i);
                    ok(status_json(&st))
                }
                None => reply(error(404, "Record not found")),
            }
        }
        _ => unreachable!(),
    }
}

fn post(locale: &str, title: &str, summary: &str, tags: &[&str]) -> Post {
    let link = format!(
        "https://gdfao.example.org/{locale}/news/hyogo-cooperation/?utm_source=mastodon&utm_medium=social"
    );
    Post {
        key: format!("social:tag:gdfao.example.org,2026:hyogo:{locale}:masto-{locale}"),
        article: "tag:gdfao.example.org,2026:hyogo".into(),
        locale: locale.into(),
        parts: Parts {
            title: title.into(),
            summary: summary.into(),
            link: Some(link.clone()),
            hashtags: tags.iter().map(|t| (*t).to_owned()).collect(),
        },
        link,
        title: title.into(),
        summary: summary.into(),
        image: None,
        created_at: chrono::DateTime::from_timestamp(1_789_000_000, 0).unwrap(),
    }
}

fn demo(locale: &str) -> Post {
    match locale {
        "de" => post(
            locale,
            "Guangdong und Hyogo loten Zusammenarbeit in Ingenieurausbildung und digitalen Zwillingsstädten aus",
            "Das Büro für internationale Angelegenheiten der Präfektur Hyogo nannte beim Runden Tisch in Guangzhou Ingenieurausbildung, digitale Zwillingsstädte, autonomes Fahren und nachhaltiges Bauen.",
            &["Partnerstädte", "Bildung"],
        ),
        "es" => post(
            locale,
            "Guangdong y Hyogo exploran la cooperación en educación en ingeniería y ciudades gemelas digitales",
            "La oficina de asuntos internacionales de Hyogo señaló en la mesa redonda de Cantón su interés por la educación en ingeniería, la conducción autónoma y la construcción sostenible.",
            &["CiudadesHermanas", "Educación"],
        ),
        "ar" => post(
            locale,
            "قوانغدونغ تعقد مائدة مستديرة مع مدنها ومنظماتها الصديقة حول التعاون في العلوم والتكنولوجيا",
            "اجتمع ممثلون من سبع دول في قوانغتشو يوم 12 سبتمبر في مائدة مستديرة حول التعاون الدولي مع مقاطعة قوانغدونغ، مع التركيز على العلوم والتكنولوجيا.",
            &["المدن_الصديقة", "العلوم_والتكنولوجيا"],
        ),
        "ms" => post(
            locale,
            "Guangdong dan Hyogo meneroka kerjasama dalam pendidikan kejuruteraan dan bandar kembar digital",
            "Pejabat hal ehwal antarabangsa Hyogo menyatakan minat terhadap pendidikan kejuruteraan, pemanduan autonomi, perubatan dan pembinaan mampan di meja bulat Guangzhou.",
            &["BandarBersaudara", "Pendidikan"],
        ),
        _ => post(
            "ne",
            "विज्ञान तथा प्रविधि सहकार्यबारे ग्वाङ्दोङमा अन्तर्राष्ट्रिय मैत्री सहर तथा संस्थाहरूसँग गोलमेच बैठक",
            "सात देशका प्रतिनिधिहरूले सेप्टेम्बर १२ मा ग्वाङ्जाउमा ग्वाङ्दोङसँगको अन्तर्राष्ट्रिय सहकार्य, विशेषगरी विज्ञान तथा प्रविधि क्षेत्रबारे छलफल गरे।",
            &["मैत्री_सहर", "विज्ञान_प्रविधि"],
        ),
    }
}

#[tokio::test]
async fn mastodon_posts_by_the_contract_table() {
    type Setup = fn(&mut MState);
    #[derive(Debug)]
    enum Expect {
        Posted,
        Transient {
            retry_after: Option<std::ops::RangeInclusive<u64>>,
        },
        Permanent,
    }
    let mut cases: Vec<(&str, Post, &str, Setup, Expect)> = vec![];
    for l in ["de", "es", "ar", "ms", "ne"] {
        cases.push((
            "demo text fits 140 and keeps the link",
            demo(l),
            TOKEN,
            |_| {},
            Expect::Posted,
        ));
    }
    cases.extend([
        (
            "429 with X-RateLimit-Reset",
            demo("de"),
            TOKEN,
            (|s: &mut MState| {
                let reset = (SystemClock.now() + chrono::Duration::seconds(300))
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let mut a = error(429, "Too many requests");
                a.headers = vec![
                    ("x-ratelimit-limit", "300".into()),
                    ("x-ratelimit-remaining", "0".into()),
                    ("x-ratelimit-reset", reset),
                ];
                s.script.entry("post").or_default().push_back(a);
            }) as Setup,
            Expect::Transient {
                retry_after: Some(280..=301),
            },
        ),
        (
            "503",
            demo("es"),
            TOKEN,
            |s| {
                s.script
                    .entry("post")
                    .or_default()
                    .push_back(error(503, "Service Unavailable"))
            },
            Expect::Transient { retry_after: None },
        ),
        (
            "401 invalid token",
            demo("ar"),
            "revoked",
            |_| {},
            Expect::Permanent,
        ),
        (
            "422 validation",
            demo("ms"),
            TOKEN,
            |s| {
                s.script.entry("post").or_default().push_back(error(
                    422,
                    "Validation failed: Text character limit of 140 exceeded",
                ))
            },
            Expect::Permanent,
        ),
    ]);
    for (name, p, token, setup, expect) in cases {
        let label = format!("{name} [{}]", p.locale);
        let server = Server::start(setup).await;
        let m = server.adapter(token);
        let result = m.post(&p).await;
        match (&expect, &result) {
            (Expect::Posted, Ok(done)) => {
                let st = server
                    .with(|s| s.statuses.iter().find(|s| s.id == done.remote_id).cloned())
                    .expect("stored");
                assert!(mastodon_length(&st.text) <= LIMIT, "{label}: {}", st.text);
                assert!(
                    st.text.ends_with(&p.link),
                    "{label}: the link is kept whole: {}",
                    st.text
                );
                assert!(st.text.contains('…'), "{label}: fitted: {}", st.text);
                assert_eq!(st.language, p.locale, "{label}");
                assert_eq!(
                    m.compose(&p).text,
                    st.text,
                    "{label}: compose shows what was sent"
                );
                assert!(
                    done.url
                        .as_deref()
                        .is_some_and(|u| u.ends_with(&done.remote_id)),
                    "{label}"
                );
            }
            (Expect::Transient { retry_after }, Err(e)) => {
                assert!(e.is_transient(), "{label}: {e}");
                match retry_after {
                    Some(r) => {
                        let secs = e.retry_after.map(|d| d.as_secs());
                        assert!(
                            secs.is_some_and(|s| r.contains(&s)),
                            "{label}: {secs:?} not in {r:?}"
                        );
                    }
                    None => assert_eq!(e.retry_after, None, "{label}"),
                }
            }
            (Expect::Permanent, Err(e)) => assert!(!e.is_transient(), "{label}: {e}"),
            (want, got) => panic!("{label}: want {want:?}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn the_same_post_twice_is_one_status() {
    let server = Server::start(|_| {}).await;
    let m = server.adapter(TOKEN);
    let p = demo("es");
    let first = m.post(&p).await.unwrap();
    let again = m.post(&p).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(server.with(|s| (s.post_attempts, s.statuses.len())), (2, 1));
}

#[tokio::test]
async fn an_image_goes_up_with_its_description() {
    let server = Server::start(|_| {}).await;
    let m = server.adapter(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("round-table.png");
    std::fs::write(&file, b"\x89PNG\r\n\x1a\nnot really a png").unwrap();
    let mut p = demo("ms");
    p.image = Some((
        file,
        "Wakil tujuh negara di meja bulat".into(),
        "image/png".into(),
    ));
    let done = m.post(&p).await.unwrap();
    let (st, media) = server.with(|s| {
        (
            s.statuses
                .iter()
                .find(|s| s.id == done.remote_id)
                .cloned()
                .unwrap(),
            s.media.clone(),
        )
    });
    assert_eq!(st.media_ids.len(), 1);
    assert_eq!(
        media.get(&st.media_ids[0]),
        Some(&("Wakil tujuh negara di meja bulat".to_owned(), 24))
    );
}

#[tokio::test]
async fn healthcheck_delete_and_the_contract_itself() {
    let server = Server::start(|_| {}).await;
    let m = server.adapter(TOKEN);
    m.healthcheck().await.unwrap();
    assert!(
        !server
            .adapter("bad")
            .healthcheck()
            .await
            .unwrap_err()
            .is_transient()
    );
    let done = m.post(&demo("de")).await.unwrap();
    m.delete(&done).await.unwrap();
    assert!(server.with(|s| s.statuses.is_empty()));
    // The server refuses what Mastodon refuses.
    let http = reqwest::Client::new();
    let send = |body: Value| {
        http.post(format!("{}/api/v1/statuses", server.url))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    let r = send(json!({ "status": "x".repeat(141), "language": "de", "visibility": "public" }))
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "Validation failed: Text character limit of 140 exceeded"
    );
    let long_link = format!(
        "{} https://example.org/{}",
        "x".repeat(116),
        "p".repeat(200)
    );
    assert_eq!(mastodon_length(&long_link), 140);
    assert_eq!(
        send(json!({ "status": long_link, "language": "de", "visibility": "public" }))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        send(json!({ "status": "hi", "visibility": "public" }))
            .await
            .unwrap()
            .status(),
        422,
        "language required"
    );
    assert_eq!(
        send(json!({ "status": "hi", "language": "German", "visibility": "public" }))
            .await
            .unwrap()
            .status(),
        422
    );
}
