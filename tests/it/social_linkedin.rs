//! The LinkedIn adapter against a loopback server that ENFORCES the Posts API contract as
//! learn.microsoft.com/linkedin documents it:
//!
//! - every call carries `Authorization: Bearer <token>` (else 401), `LinkedIn-Version:
//!   YYYYMM` (else 400 "VERSION_MISSING") and `X-Restli-Protocol-Version: 2.0.0`;
//! - `POST /rest/posts`: JSON with `author` (`urn:li:organization:{id}`), `commentary`
//!   (at most 3000 characters, reserved "little" characters escaped — an unescaped one
//!   is where LinkedIn would cut the post, so the server refuses it), `visibility`,
//!   `distribution`, `lifecycleState`, `content.article.source`; 201 with the urn in
//!   `x-restli-id`; the same commentary and article again is 422 DUPLICATE_POST naming
//!   the first post's urn;
//! - `DELETE /rest/posts/{urn-encoded}` → 204, 404 when unknown;
//!   `GET /rest/organizations/{id}`;
//! - scripted 429, 5xx, 401, 403.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bridgecast::config::Secret;
use bridgecast::social::linkedin::{Config, LinkedIn, RATE_LIMIT_WAIT, escape_little};
use bridgecast::social::text::Parts;
use bridgecast::social::{Platform, Post, Posted};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "AQV-linkedin-token";
const ORG: &str = "2414183";

#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

fn err(status: u16, code: &str, message: &str) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: json!({ "status": status, "code": code, "message": message }),
    }
}

#[derive(Debug, Default)]
struct LiState {
    /// (urn, commentary, article source)
    posts: Vec<(String, String, String)>,
    next_id: u64,
    post_attempts: usize,
    accepted: usize,
    script: HashMap<&'static str, VecDeque<Answer>>,
}

type Shared = Arc<Mutex<LiState>>;

struct Server {
    url: String,
    state: Shared,
}

impl Server {
    async fn start(setup: impl FnOnce(&mut LiState)) -> Server {
        let mut s = LiState {
            next_id: 7_300_000_000_000_000_000,
            ..LiState::default()
        };
        setup(&mut s);
        let state = Arc::new(Mutex::new(s));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let url = crate::support::serve_router(app).await;
        Server { url, state }
    }
    fn adapter(&self, token: &str) -> LinkedIn {
        LinkedIn::new(
            &Config {
                api: self.url.clone(),
                organization_id: ORG.into(),
                token: Secret::new(token),
                token_file: None,
                version: "202605".into(),
            },
            reqwest::Client::new(),
        )
        .unwrap()
    }
    fn with<T>(&self, f: impl FnOnce(&LiState) -> T) -> T {
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

/// Where LinkedIn would cut `commentary`: the first reserved character without a
/// backslash before it, other than the `#` starting a hashtag.
fn unescaped_reserved(commentary: &str) -> Option<char> {
    let chars: Vec<char> = commentary.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if "|{}@[]()<>*_~".contains(c) {
            return Some(c);
        }
        if c == '#' && !chars.get(i + 1).is_some_and(|n| n.is_alphanumeric()) {
            return Some(c);
        }
        i += 1;
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
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if h("authorization") != Some(format!("Bearer {TOKEN}")) {
        return reply(err(
            401,
            "EXPIRED_ACCESS_TOKEN",
            "The token used in the request has expired",
        ));
    }
    if !h("linkedin-version").is_some_and(|v| v.len() == 6 && v.bytes().all(|b| b.is_ascii_digit()))
    {
        return reply(err(
            400,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
        ));
    }
    if h("x-restli-protocol-version").as_deref() != Some("2.0.0") {
        return reply(err(
            400,
            "ILLEGAL_ARGUMENT",
            "X-Restli-Protocol-Version 2.0.0 required",
        ));
    }
    let path = uri.path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let endpoint = match (method.as_str(), segments.as_slice()) {
        ("POST", ["rest", "posts"]) => "post",
        ("DELETE", ["rest", "posts", _]) => "delete",
        ("GET", ["rest", "organizations", id]) if *id == ORG => "org",
        _ => return reply(err(404, "NOT_FOUND", "No such resource")),
    };
    if endpoint == "post" {
        g.post_attempts += 1;
    }
    if let Some(a) = g.script.get_mut(endpoint).and_then(VecDeque::pop_front) {
        return reply(a);
    }
    match endpoint {
        "org" => reply(Answer {
            status: 200,
            headers: vec![],
            body: json!({ "id": ORG.parse::<u64>().unwrap(), "vanityName": "bridgecast", "localizedName": "Bridgecast" }),
        }),
        "post" => {
            let Ok(v) = serde_json::from_slice::<Value>(&body) else {
                return reply(err(
                    400,
                    "ILLEGAL_ARGUMENT",
                    "Request body could not be converted to data map",
                ));
            };
            let mut missing = vec![];
            for f in [
                "author",
                "commentary",
                "visibility",
                "distribution",
                "lifecycleState",
            ] {
                if v.get(f).is_none() {
                    missing.push(format!(
                        "ERROR :: /{f} :: field is required but not found and has no default value"
                    ));
                }
            }
            if !missing.is_empty() {
                return reply(err(422, "UNPROCESSABLE_ENTITY", &missing.join("\n")));
            }
            if v["author"] != json!(format!("urn:li:organization:{ORG}")) {
                return reply(err(
                    403,
                    "ACCESS_DENIED",
                    "Not enough permissions to post as this author",
                ));
            }
            if v["visibility"] != "PUBLIC"
                || v["lifecycleState"] != "PUBLISHED"
                || v["distribution"]["feedDistribution"] != "MAIN_FEED"
            {
                return reply(err(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "invalid visibility / lifecycleState / distribution",
                ));
            }
            let commentary = v["commentary"].as_str().unwrap_or_default().to_owned();
            if commentary.chars().count() > 3000 {
                return reply(err(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "/commentary :: length exceeds 3000",
                ));
            }
            if let Some(c) = unescaped_reserved(&commentary) {
                return reply(err(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    &format!("commentary would be cut at an unescaped {c:?}"),
                ));
            }
            let Some(source) = v["content"]["article"]["source"]
                .as_str()
                .map(str::to_owned)
            else {
                return reply(err(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "/content/article/source :: field is required",
                ));
            };
            if let Some((urn, _, _)) = g
                .posts
                .iter()
                .find(|(_, c, s)| *c == commentary && *s == source)
            {
                let urn = urn.clone();
                return reply(err(
                    422,
                    "DUPLICATE_POST",
                    &format!("Content is a duplicate of {urn}"),
                ));
            }
            g.next_id += 1;
            let urn = format!("urn:li:share:{}", g.next_id);
            g.posts.push((urn.clone(), commentary, source));
            g.accepted += 1;
            let mut r = StatusCode::CREATED.into_response();
            r.headers_mut().insert("x-restli-id", urn.parse().unwrap());
            r
        }
        "delete" => {
            if h("x-restli-method").as_deref() != Some("DELETE") {
                return reply(err(
                    400,
                    "ILLEGAL_ARGUMENT",
                    "X-RestLi-Method: DELETE required",
                ));
            }
            let urn: String = url::form_urlencoded::parse(format!("u={}", segments[2]).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let before = g.posts.len();
            g.posts.retain(|(u, _, _)| *u != urn);
            if g.posts.len() == before {
                reply(err(404, "NOT_FOUND", "Post not found"))
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        _ => unreachable!(),
    }
}

fn post(locale: &str, title: &str, summary: &str, tags: &[&str]) -> Post {
    let link =
        format!("https://gdfao.example.org/{locale}/news/hyogo-cooperation/?utm_source=linkedin");
    Post {
        key: format!("social:hyogo:{locale}:li"),
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
        "zh-hans" => post(
            locale,
            "广东与兵库县探讨工科教育、数字孪生城市等领域合作",
            "兵库县国际事务部门(国际交流课)表示,对工科教育交流、数字孪生城市等领域的合作感兴趣。",
            &["友好城市", "教育"],
        ),
        "ar" => post(
            locale,
            "قوانغدونغ تعقد مائدة مستديرة حول التعاون في العلوم والتكنولوجيا",
            "اجتمع ممثلون من سبع دول [في قوانغتشو] يوم 12 سبتمبر.",
            &["المدن_الصديقة"],
        ),
        _ => post(
            "en",
            "Guangdong & Hyogo: cooperation (engineering) <education>",
            "Contact: press@gdfao.example.org — *digital-twin* cities, {autonomous} driving | medicine ~ 50% #1 priority_area [sic] \\o/",
            &["FriendshipCities", "Education"],
        ),
    }
}

#[tokio::test]
async fn linkedin_posts_by_the_contract_table() {
    type Setup = fn(&mut LiState);
    #[derive(Debug)]
    enum Expect {
        Posted { attempts: usize, accepted: usize },
        Transient { retry_after: u64 },
        Permanent,
    }
    let cases: Vec<(&str, Post, &str, Setup, Expect)> = vec![
        (
            "demo",
            demo("en"),
            TOKEN,
            |_| {},
            Expect::Posted {
                attempts: 1,
                accepted: 1,
            },
        ),
        (
            "demo",
            demo("zh-hans"),
            TOKEN,
            |_| {},
            Expect::Posted {
                attempts: 1,
                accepted: 1,
            },
        ),
        (
            "demo",
            demo("ar"),
            TOKEN,
            |_| {},
            Expect::Posted {
                attempts: 1,
                accepted: 1,
            },
        ),
        (
            "429",
            demo("en"),
            TOKEN,
            |s| {
                s.script.entry("post").or_default().push_back(err(429, "TOO_MANY_REQUESTS", "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."))
            },
            Expect::Transient {
                retry_after: RATE_LIMIT_WAIT.as_secs(),
            },
        ),
        (
            "429 with Retry-After",
            demo("en"),
            TOKEN,
            |s| {
                let mut a = err(429, "TOO_MANY_REQUESTS", "throttled");
                a.headers = vec![("retry-after", "60".into())];
                s.script.entry("post").or_default().push_back(a)
            },
            Expect::Transient { retry_after: 60 },
        ),
        (
            "503",
            demo("ar"),
            TOKEN,
            |s| {
                s.script.entry("post").or_default().push_back(err(
                    503,
                    "SERVICE_UNAVAILABLE",
                    "down",
                ))
            },
            Expect::Transient { retry_after: 0 },
        ),
        (
            "expired token",
            demo("en"),
            "expired",
            |_| {},
            Expect::Permanent,
        ),
        (
            "403 not an admin",
            demo("en"),
            TOKEN,
            |s| {
                s.script.entry("post").or_default().push_back(err(
                    403,
                    "ACCESS_DENIED",
                    "Not enough permissions to access: partnerApiPostsExternal.CREATE.20260501",
                ))
            },
            Expect::Permanent,
        ),
        (
            "422 other",
            demo("en"),
            TOKEN,
            |s| {
                s.script.entry("post").or_default().push_back(err(
                    422,
                    "UNPROCESSABLE_ENTITY",
                    "ERROR :: /content/article/source :: invalid URL",
                ))
            },
            Expect::Permanent,
        ),
    ];
    for (name, p, token, setup, expect) in cases {
        let label = format!("{name} [{}]", p.locale);
        let server = Server::start(setup).await;
        let li = server.adapter(token);
        let composed = li.compose(&p).text;
        assert!(
            !composed.contains(&p.link),
            "{label}: the link goes in the article"
        );
        assert_eq!(unescaped_reserved(&composed), None, "{label}: {composed}");
        let result = li.post(&p).await;
        let (attempts, accepted) = server.with(|s| (s.post_attempts, s.accepted));
        match (&expect, &result) {
            (
                Expect::Posted {
                    attempts: a,
                    accepted: n,
                },
                Ok(Posted { remote_id, url }),
            ) => {
                assert_eq!((attempts, accepted), (*a, *n), "{label}");
                let stored =
                    server.with(|s| s.posts.iter().find(|(u, _, _)| u == remote_id).cloned());
                assert_eq!(
                    stored,
                    Some((remote_id.clone(), composed.clone(), p.link.clone())),
                    "{label}"
                );
                assert_eq!(
                    url.as_deref(),
                    Some(format!("https://www.linkedin.com/feed/update/{remote_id}/").as_str())
                );
            }
            (Expect::Transient { retry_after }, Err(e)) => {
                assert!(e.is_transient(), "{label}: {e}");
                assert_eq!(
                    e.retry_after.map(|d| d.as_secs()).unwrap_or(0),
                    *retry_after,
                    "{label}"
                );
            }
            (Expect::Permanent, Err(e)) => assert!(!e.is_transient(), "{label}: {e}"),
            (want, got) => panic!("{label}: want {want:?}, got {got:?}"),
        }
    }
}

#[tokio::test]
async fn a_duplicate_refusal_returns_the_first_post() {
    let server = Server::start(|_| {}).await;
    let li = server.adapter(TOKEN);
    let p = demo("en");
    let first = li.post(&p).await.unwrap();
    let again = li.post(&p).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(server.with(|s| (s.post_attempts, s.accepted)), (2, 1));
}

#[tokio::test]
async fn healthcheck_and_delete() {
    let server = Server::start(|_| {}).await;
    let li = server.adapter(TOKEN);
    li.healthcheck().await.unwrap();
    assert!(
        !server
            .adapter("bad")
            .healthcheck()
            .await
            .unwrap_err()
            .is_transient()
    );
    let done = li.post(&demo("ar")).await.unwrap();
    li.delete(&done).await.unwrap();
    assert!(server.with(|s| s.posts.is_empty()));
    li.delete(&done).await.unwrap();
}

#[test]
fn little_text_escaping_and_budget() {
    assert_eq!(escape_little("a (b) #tag x_y"), "a \\(b\\) #tag x\\_y");
    assert_eq!(escape_little("\\o/ 50% @me"), "\\\\o/ 50% \\@me");
    // Escaping can only lengthen; the escaped commentary still fits 3000.
    let mut p = demo("en");
    p.parts.summary = "(x) ".repeat(1200);
    let server_less = LinkedIn::new(
        &Config {
            api: "http://127.0.0.1:9".into(),
            organization_id: ORG.into(),
            token: Secret::new("t"),
            token_file: None,
            version: "202605".into(),
        },
        reqwest::Client::new(),
    )
    .unwrap();
    let c = server_less.compose(&p).text;
    assert!(c.chars().count() <= 3000, "{}", c.chars().count());
    assert_eq!(unescaped_reserved(&c), None);
}

#[test]
fn config_defaults_and_checks() {
    let c: Config = toml::from_str("organization_id = \"2414183\"\ntoken = \"t\"").unwrap();
    assert_eq!(c.api, "https://api.linkedin.com");
    assert_eq!(c.version, "202605");
    assert!(toml::from_str::<Config>("organization_id = \"1\"\npage = \"t\"").is_err());
    assert!(
        LinkedIn::new(
            &Config {
                version: "2026-05".into(),
                ..c.clone()
            },
            reqwest::Client::new()
        )
        .is_err()
    );
    assert!(
        LinkedIn::new(
            &Config {
                organization_id: "urn:li:organization:1".into(),
                ..c.clone()
            },
            reqwest::Client::new()
        )
        .is_err()
    );
    let li = LinkedIn::new(&c, reqwest::Client::new()).unwrap();
    assert!(!format!("{li:?}").contains("\"t\""));
}
