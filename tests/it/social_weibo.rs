//! The Weibo adapter against a loopback server that ENFORCES the documented contract of the open
//! platform (open.weibo.com/wiki/2/statuses/share, /wiki/Error_code):
//!
//! - `POST /2/statuses/share.json`, form-urlencoded, or `multipart/form-data` when `pic` (JPEG,
//!   GIF or PNG under 5 MB, 20005/20006) is sent; other methods 10021.
//! - `access_token` is required and valid (21332 invalid_access_token; 21327 expired_token once
//!   scripted to expire), `rip` is required (10016) and an IP address (10017), `status` is required
//!   (10016).
//! - `status`: at most 140 by Weibo's count (a character above U+00FF counts one, others half,
//!   rounded up; a link counts as its t.cn short form, 20 ASCII characters) else 20012 "Text too
//!   long, please input text less than 140 characters!"; no `#topic#` (10017); at least one link
//!   on the app's safe domain (10017); the same text as an earlier status: 20019 "repeat content!".
//! - Errors are HTTP 400 with JSON `{"request", "error_code", "error"}`.
//! - `GET /2/statuses/user_timeline.json` (the account's statuses, newest first, links shown as
//!   t.cn short links), `POST /2/statuses/destroy.json {id}` (20101 when there is no such
//!   status), `GET /2/account/get_uid.json` → `{"uid"}`.
//! - Scriptable faults per endpoint: an error code with an HTTP status, a status stored and then
//!   answered with an HTTP error (an unknown outcome), or the token expiring.

use crate::social_wechat::multipart;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bridgecast::config::Secret;
use bridgecast::social::weibo::{self, Weibo};
use bridgecast::social::{Platform, Post, Posted, text};
use chrono::TimeZone;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "2.00weibo-access-token";
const UID: &str = "5678901234";
const SAFE_DOMAIN: &str = "example.org";

#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this HTTP status and error code without doing anything.
    Error(u16, i64, &'static str),
    /// Store the status, then answer this HTTP status: the caller cannot know it worked.
    AfterWork(u16),
    /// The access token expires before this call.
    ExpireToken,
}

#[derive(Debug, Clone)]
pub struct Status {
    pub idstr: String,
    pub text: String,
    pub pic: Option<(String, String)>,
    pub deleted: bool,
}

#[derive(Debug, Default)]
pub struct World {
    token_expired: bool,
    /// Whether share answers carry the `user` object.
    with_user: bool,
    pub statuses: Vec<Status>,
    faults: Vec<(String, Fault)>,
    /// Every call: endpoint and its fields.
    pub calls: Vec<(String, HashMap<String, String>)>,
    serial: u64,
}

type Shared = Arc<Mutex<World>>;

pub struct WeiboServer {
    pub url: String,
    world: Shared,
}

impl WeiboServer {
    pub async fn start(with_user: bool) -> WeiboServer {
        let world = Arc::new(Mutex::new(World {
            with_user,
            ..World::default()
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(world.clone());
        let url = crate::support::serve_router(app).await;
        WeiboServer { url, world }
    }
    pub fn fault(&self, endpoint: &str, fault: Fault) {
        self.world
            .lock()
            .unwrap()
            .faults
            .push((endpoint.to_owned(), fault));
    }
    pub fn statuses(&self) -> Vec<Status> {
        self.world.lock().unwrap().statuses.clone()
    }
    pub fn calls(&self, endpoint: &str) -> Vec<HashMap<String, String>> {
        let w = self.world.lock().unwrap();
        w.calls
            .iter()
            .filter(|(e, _)| e == endpoint)
            .map(|(_, f)| f.clone())
            .collect()
    }
}

fn error(http: u16, request: &str, code: i64, msg: &str) -> Response {
    let body = json!({ "request": request, "error_code": code, "error": msg });
    (StatusCode::from_u16(http).unwrap(), axum::Json(body)).into_response()
}

/// Weibo's count: above U+00FF one per UTF-16 unit, up to U+00FF half, a link as its 20-character
/// t.cn form; rounded up.
pub fn weibo_length(status: &str) -> usize {
    let mut half = 0;
    let mut rest = status;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            half += 20;
            rest = &rest[end..];
            continue;
        }
        half += if u32::from(c) <= 0xFF {
            1
        } else {
            2 * c.len_utf16()
        };
        rest = &rest[c.len_utf8()..];
    }
    half.div_ceil(2)
}

fn links(status: &str) -> Vec<&str> {
    status
        .split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .collect()
}

/// A `#topic#`: two `#` with something but no line break between them.
fn has_topic(status: &str) -> bool {
    let marks: Vec<usize> = status.match_indices('#').map(|(i, _)| i).collect();
    marks
        .windows(2)
        .any(|w| w[1] > w[0] + 1 && !status[w[0]..w[1]].contains('\n'))
}

/// The text as the timeline shows it: links shortened.
fn shortened(text: &str, id: &str) -> String {
    let mut out = text.to_owned();
    for l in links(text) {
        out = out.replace(l, &format!("http://t.cn/A6{}", &id[id.len() - 6..]));
    }
    out
}

fn status_json(s: &Status, with_user: bool) -> Value {
    let mut v = json!({
        "created_at": "Sat Nov 28 20:00:00 +0800 2026",
        "id": s.idstr.parse::<u64>().unwrap(),
        "idstr": s.idstr,
        "mid": s.idstr,
        "text": shortened(&s.text, &s.idstr),
    });
    if with_user {
        v["user"] =
            json!({ "id": UID.parse::<u64>().unwrap(), "idstr": UID, "screen_name": "湾区观察" });
    }
    v
}

async fn handle(
    State(world): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = uri.path().trim_start_matches('/').to_owned();
    let request = format!("/{endpoint}");
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut fields: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let mut pic = None;
    if method == Method::POST {
        if ctype.starts_with("multipart/form-data") {
            let Some(parts) = multipart(&ctype, &body) else {
                return error(400, &request, 10007, "Unsupport mediatype");
            };
            for p in parts {
                if p.name == "pic" {
                    pic = Some(p);
                } else {
                    fields.insert(p.name, String::from_utf8(p.data).unwrap());
                }
            }
        } else if ctype.starts_with("application/x-www-form-urlencoded") {
            fields.extend(url::form_urlencoded::parse(&body).into_owned());
        } else {
            return error(400, &request, 10007, "Unsupport mediatype");
        }
    }
    let mut w = world.lock().unwrap();
    w.calls.push((endpoint.clone(), fields.clone()));
    let wanted = match endpoint.as_str() {
        "2/statuses/share.json" | "2/statuses/destroy.json" => Method::POST,
        "2/statuses/user_timeline.json" | "2/account/get_uid.json" => Method::GET,
        _ => return error(404, &request, 10020, "Request api not found!"),
    };
    if method != wanted {
        return error(
            405,
            &request,
            10021,
            "HTTP method is not suported for this request!",
        );
    }
    let fault = w
        .faults
        .iter()
        .position(|(e, _)| *e == endpoint)
        .map(|i| w.faults.remove(i).1);
    if matches!(fault, Some(Fault::ExpireToken)) {
        w.token_expired = true;
    }
    match fields.get("access_token").map(String::as_str) {
        Some(TOKEN) if w.token_expired => return error(400, &request, 21327, "expired_token"),
        Some(TOKEN) => {}
        _ => return error(400, &request, 21332, "invalid_access_token"),
    }
    if let Some(Fault::Error(http, code, msg)) = fault {
        return error(http, &request, code, msg);
    }
    let with_user = w.with_user;
    let answer = match endpoint.as_str() {
        "2/statuses/share.json" => {
            let Some(rip) = fields.get("rip") else {
                return error(
                    400,
                    &request,
                    10016,
                    "Miss required parameter (rip) , see doc for more info.",
                );
            };
            if rip.parse::<std::net::IpAddr>().is_err() {
                return error(
                    400,
                    &request,
                    10017,
                    "Parameter (rip)'s value invalid, expect (an IP), see doc for more info.",
                );
            }
            let Some(status) = fields.get("status").cloned() else {
                return error(
                    400,
                    &request,
                    10016,
                    "Miss required parameter (status) , see doc for more info.",
                );
            };
            if weibo_length(&status) > 140 {
                return error(
                    400,
                    &request,
                    20012,
                    "Text too long, please input text less than 140 characters!",
                );
            }
            if has_topic(&status) {
                return error(
                    400,
                    &request,
                    10017,
                    "Parameter (status)'s value invalid, expect (no #topic#)",
                );
            }
            let on_domain = links(&status).iter().any(|l| {
                url::Url::parse(l)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .is_some_and(|h| h == SAFE_DOMAIN || h.ends_with(&format!(".{SAFE_DOMAIN}")))
            });
            if !on_domain {
                return error(
                    400,
                    &request,
                    10017,
                    "Parameter (status)'s value invalid, expect (a link on the safe domain)",
                );
            }
            if let Some(p) = &pic {
                let ok_type = ["image/jpeg", "image/gif", "image/png"]
                    .contains(&p.content_type.as_deref().unwrap_or_default());
                if !ok_type || p.filename.is_none() {
                    return error(
                        400,
                        &request,
                        20005,
                        "Unsupported image type, only suport JPG, GIF, PNG!",
                    );
                }
                if p.data.len() >= 5 * 1024 * 1024 {
                    return error(400, &request, 20006, "Image size too large!");
                }
            }
            if w.statuses.iter().any(|s| s.text == status && !s.deleted) {
                return error(400, &request, 20019, "repeat content!");
            }
            w.serial += 1;
            let s = Status {
                idstr: format!("{}", 5_100_000_000_000_000u64 + w.serial),
                text: status,
                pic: pic.map(|p| {
                    (
                        p.filename.unwrap_or_default(),
                        p.content_type.unwrap_or_default(),
                    )
                }),
                deleted: false,
            };
            w.statuses.push(s.clone());
            status_json(&s, with_user)
        }
        "2/statuses/user_timeline.json" => {
            let count: usize = fields
                .get("count")
                .and_then(|c| c.parse().ok())
                .unwrap_or(20);
            let list: Vec<Value> = w
                .statuses
                .iter()
                .rev()
                .filter(|s| !s.deleted)
                .take(count)
                .map(|s| status_json(s, true))
                .collect();
            json!({ "statuses": list, "total_number": list.len() })
        }
        "2/statuses/destroy.json" => {
            let id = fields.get("id").cloned().unwrap_or_default();
            match w.statuses.iter_mut().find(|s| s.idstr == id && !s.deleted) {
                Some(s) => {
                    s.deleted = true;
                    let s = s.clone();
                    status_json(&s, with_user)
                }
                None => return error(400, &request, 20101, "Target weibo does not exist!"),
            }
        }
        _ => json!({ "uid": UID.parse::<u64>().unwrap() }),
    };
    match fault {
        Some(Fault::AfterWork(http)) => (
            StatusCode::from_u16(http).unwrap(),
            "<html>502 Bad Gateway</html>",
        )
            .into_response(),
        _ => axum::Json(answer).into_response(),
    }
}

// ---------------------------------------------------------------------------------------------

fn config(server: &WeiboServer) -> weibo::Config {
    weibo::Config {
        api: server.url.clone(),
        access_token: Secret::new(TOKEN),
        access_token_file: None,
        safe_domain: SAFE_DOMAIN.into(),
        rip: "203.0.113.7".into(),
        web: "https://weibo.com".into(),
    }
}

fn post(locale: &str, title: &str, summary: &str, link: &str) -> Post {
    Post {
        key: format!("social:tag:example.org,2026:bay-youth:{locale}:weibo"),
        article: "tag:example.org,2026:bay-youth".into(),
        locale: locale.into(),
        parts: text::Parts {
            title: title.into(),
            summary: summary.into(),
            link: Some(link.into()),
            hashtags: vec!["新能源".into(), "大湾区".into()],
        },
        link: link.into(),
        title: title.into(),
        summary: summary.into(),
        image: None,
        created_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .unwrap(),
    }
}

const LINK: &str =
    "https://news.example.org/zh-Hans/news/bay-youth?utm_source=weibo&utm_medium=social";

fn zh() -> Post {
    post(
        "zh-Hans",
        "大湾区青年创业基地新进展",
        "多个城市联合推出人才支持计划。",
        LINK,
    )
}

fn zh_long() -> Post {
    post(
        "zh-Hans",
        "粤港澳大湾区青年创新创业基地建设取得新进展",
        &"这篇报道回顾了大湾区各城市在青年创新创业方面的合作成果，包括人才公寓、创业补贴和跨境办公的便利措施。".repeat(4),
        LINK,
    )
}

fn ja_long() -> Post {
    post(
        "ja",
        "兵庫の若者たちが伝統工芸と新技術をつなぐ",
        &"地域の職人と学生が協力し、伝統的な技法をデジタル製造と組み合わせる取り組みが広がっています。".repeat(4),
        "https://news.example.org/ja/news/hyogo-crafts?utm_source=weibo",
    )
}

fn ar_long() -> Post {
    post(
        "ar",
        "شباب المنطقة يربطون الحرف التقليدية بالتقنيات الحديثة",
        &"يستكشف هذا التقرير كيف تربط المبادرات الشبابية بين الثقافة التقليدية والتقنيات الحديثة في المدن الساحلية. ".repeat(4),
        "https://news.example.org/ar/news/crafts?utm_source=weibo",
    )
}

#[derive(Debug)]
enum Expect {
    /// Posted; the status must have been cut to fit (`…`) when true.
    Posted {
        cut: bool,
        url: bool,
    },
    Transient {
        retry_after: Option<Duration>,
    },
    Permanent(&'static str),
}

struct Case {
    name: &'static str,
    post: Post,
    with_user: bool,
    image: Option<(&'static str, &'static str, usize)>,
    faults: Vec<(&'static str, Fault)>,
    expect: Expect,
    /// share calls made.
    shares: usize,
}

fn case(name: &'static str, post: Post, expect: Expect) -> Case {
    Case {
        name,
        post,
        with_user: true,
        image: None,
        faults: vec![],
        expect,
        shares: 1,
    }
}

const HOUR: Option<Duration> = Some(Duration::from_secs(3600));

#[tokio::test]
async fn weibo_contract_cases() {
    let mut title_with_hash = zh();
    title_with_hash.parts.title = "C# 与 #开源# 社区的大湾区聚会".into();
    let cases = vec![
        case(
            "a short zh-Hans post, with its address",
            zh(),
            Expect::Posted {
                cut: false,
                url: true,
            },
        ),
        Case {
            with_user: false,
            ..case(
                "an answer without the user: no address",
                zh(),
                Expect::Posted {
                    cut: false,
                    url: false,
                },
            )
        },
        case(
            "a long zh-Hans summary fits 140 and keeps the link",
            zh_long(),
            Expect::Posted {
                cut: true,
                url: true,
            },
        ),
        case(
            "a long ja summary fits 140 and keeps the link",
            ja_long(),
            Expect::Posted {
                cut: true,
                url: true,
            },
        ),
        case(
            "a long ar summary fits 140 and keeps the link",
            ar_long(),
            Expect::Posted {
                cut: true,
                url: true,
            },
        ),
        case(
            "hashtags and #…# in the title never read as a topic",
            title_with_hash,
            Expect::Posted {
                cut: false,
                url: true,
            },
        ),
        Case {
            image: Some(("cover.jpg", "image/jpeg", 4096)),
            ..case(
                "the article image goes as pic (multipart)",
                zh(),
                Expect::Posted {
                    cut: false,
                    url: true,
                },
            )
        },
        Case {
            image: Some(("cover.webp", "image/webp", 4096)),
            ..case(
                "an image Weibo does not take is left out",
                zh(),
                Expect::Posted {
                    cut: false,
                    url: true,
                },
            )
        },
        case(
            "a link on a subdomain of the safe domain",
            post("zh-Hans", "标题", "摘要", "https://www.example.org/a"),
            Expect::Posted {
                cut: false,
                url: true,
            },
        ),
        Case {
            shares: 0,
            ..case(
                "a link off the safe domain: permanent, before any call",
                post("zh-Hans", "标题", "摘要", "https://example.com.evil.net/a"),
                Expect::Permanent("safe domain"),
            )
        },
        Case {
            faults: vec![(
                "2/statuses/share.json",
                Fault::Error(403, 10023, "User requests out of rate limit!"),
            )],
            ..case(
                "10023 user rate limit: transient, an hour",
                zh(),
                Expect::Transient { retry_after: HOUR },
            )
        },
        Case {
            faults: vec![(
                "2/statuses/share.json",
                Fault::Error(400, 10022, "IP requests out of rate limit!"),
            )],
            ..case(
                "10022 IP rate limit: transient, an hour",
                zh(),
                Expect::Transient { retry_after: HOUR },
            )
        },
        Case {
            faults: vec![(
                "2/statuses/share.json",
                Fault::Error(
                    400,
                    10024,
                    "User requests for (/2/statuses/share.json) out of rate limit!",
                ),
            )],
            ..case(
                "10024 per-API rate limit: transient, an hour",
                zh(),
                Expect::Transient { retry_after: HOUR },
            )
        },
        Case {
            faults: vec![(
                "2/statuses/share.json",
                Fault::Error(400, 10001, "System error"),
            )],
            ..case(
                "10001 system error: transient",
                zh(),
                Expect::Transient { retry_after: None },
            )
        },
        Case {
            faults: vec![("2/statuses/share.json", Fault::ExpireToken)],
            ..case(
                "21327 expired token: permanent, an operator renews it",
                zh(),
                Expect::Permanent("authorise the app again"),
            )
        },
        Case {
            faults: vec![(
                "2/statuses/share.json",
                Fault::Error(400, 20012, "Text too long"),
            )],
            ..case(
                "20012 text too long: permanent",
                zh(),
                Expect::Permanent("20012"),
            )
        },
        Case {
            faults: vec![(
                "2/statuses/share.json",
                Fault::Error(400, 20019, "repeat content!"),
            )],
            ..case(
                "20019 repeat content not on the timeline: permanent, saying so",
                zh(),
                Expect::Permanent("already posted"),
            )
        },
        Case {
            faults: vec![(
                "2/statuses/share.json",
                Fault::Error(503, 10002, "Service unavailable"),
            )],
            ..case(
                "HTTP 503: transient",
                zh(),
                Expect::Transient { retry_after: None },
            )
        },
    ];
    for c in cases {
        let server = WeiboServer::start(c.with_user).await;
        for (endpoint, fault) in &c.faults {
            server.fault(endpoint, fault.clone());
        }
        let dir = tempfile::tempdir().unwrap();
        let mut p = c.post.clone();
        if let Some((name, mime, size)) = c.image {
            let path: PathBuf = dir.path().join(name);
            std::fs::write(&path, vec![0xFF; size]).unwrap();
            p.image = Some((path, "封面".into(), mime.into()));
        }
        let wb = Weibo::new(&config(&server), reqwest::Client::new()).unwrap();
        let got = wb.post(&p).await;
        let name = c.name;
        match (&c.expect, &got) {
            (Expect::Posted { cut, url }, Ok(done)) => {
                let statuses = server.statuses();
                assert_eq!(statuses.len(), 1, "{name}");
                let s = &statuses[0];
                let want_url = url.then(|| format!("https://weibo.com/{UID}/{}", s.idstr));
                assert_eq!(
                    done,
                    &Posted {
                        remote_id: s.idstr.clone(),
                        url: want_url
                    },
                    "{name}"
                );
                let link = p.parts.link.as_deref().unwrap();
                assert!(
                    s.text.ends_with(link),
                    "{name}: the link is kept whole: {}",
                    s.text
                );
                assert!(weibo_length(&s.text) <= 140, "{name}");
                assert!(text::count(&s.text, &text::Budget::WEIBO) <= 140, "{name}");
                assert_eq!(s.text.contains('…'), *cut, "{name}: {}", s.text);
                assert!(!s.text.contains('#'), "{name}: no topic marks: {}", s.text);
                assert_eq!(
                    wb.compose(&p).text,
                    s.text,
                    "{name}: compose shows what is sent"
                );
                let pic = c.image.filter(|(_, mime, _)| *mime != "image/webp");
                assert_eq!(
                    s.pic,
                    pic.map(|(n, m, _)| (n.to_owned(), m.to_owned())),
                    "{name}"
                );
                let share = &server.calls("2/statuses/share.json")[0];
                assert_eq!(share["rip"], "203.0.113.7", "{name}");
            }
            (Expect::Transient { retry_after }, Err(e)) => {
                assert!(e.transient, "{name}: {e:?}");
                assert_eq!(&e.retry_after, retry_after, "{name}: {e:?}");
            }
            (Expect::Permanent(needle), Err(e)) => {
                assert!(!e.transient, "{name}: {e:?}");
                assert!(
                    e.message.contains(needle),
                    "{name}: {:?} does not say {needle:?}",
                    e.message
                );
            }
            (want, got) => panic!("{name}: expected {want:?}, got {got:?}"),
        }
        assert_eq!(
            server.calls("2/statuses/share.json").len(),
            c.shares,
            "{name}: share calls"
        );
    }
}

#[tokio::test]
async fn a_retry_after_an_unknown_outcome_finds_the_status_on_the_timeline() {
    let server = WeiboServer::start(true).await;
    server.fault("2/statuses/share.json", Fault::AfterWork(502));
    let wb = Weibo::new(&config(&server), reqwest::Client::new()).unwrap();
    let p = zh_long();
    let first = wb.post(&p).await.unwrap_err();
    assert!(first.transient, "{first:?}");
    let again = wb.post(&p).await.unwrap();
    let statuses = server.statuses();
    assert_eq!(statuses.len(), 1, "posted once");
    assert_eq!(
        again,
        Posted {
            remote_id: statuses[0].idstr.clone(),
            url: Some(format!("https://weibo.com/{UID}/{}", statuses[0].idstr))
        }
    );
    assert_eq!(server.calls("2/statuses/share.json").len(), 2);
    assert_eq!(server.calls("2/statuses/user_timeline.json").len(), 1);
}

#[tokio::test]
async fn delete_healthcheck_and_the_contract_itself() {
    let server = WeiboServer::start(true).await;
    let wb = Weibo::new(&config(&server), reqwest::Client::new()).unwrap();
    wb.healthcheck().await.unwrap();
    assert_eq!(server.calls("2/account/get_uid.json").len(), 1);
    assert!(server.statuses().is_empty(), "a healthcheck posts nothing");

    let done = wb.post(&zh()).await.unwrap();
    wb.delete(&done).await.unwrap();
    assert_eq!(
        server.calls("2/statuses/destroy.json")[0]["id"],
        done.remote_id
    );
    assert!(server.statuses()[0].deleted);
    // Deleting again (a retried job): Weibo says it does not exist, which is done.
    wb.delete(&done).await.unwrap();

    // The server refuses what the documentation refuses.
    let share = |status: String| {
        let url = format!("{}/2/statuses/share.json", server.url);
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[
                    ("access_token", TOKEN),
                    ("status", &status),
                    ("rip", "203.0.113.7"),
                ])
                .send()
                .await
                .unwrap();
            r.json::<Value>().await.unwrap()["error_code"].clone()
        }
    };
    // 129 + a space (half) + the link (10) = 140: the limit, accepted; one more is too long.
    assert_eq!(
        share(format!("{} {LINK}", "长".repeat(130))).await,
        json!(20012)
    );
    assert_eq!(
        share(format!("{} {LINK}", "长".repeat(129))).await,
        Value::Null
    );
    assert_eq!(share(format!("#话题# 内容 {LINK}")).await, json!(10017));
    assert_eq!(
        share("内容 https://example.com/a".into()).await,
        json!(10017)
    );

    let mut expired = config(&server);
    expired.access_token = Secret::new("not-the-token");
    let e = Weibo::new(&expired, reqwest::Client::new())
        .unwrap()
        .healthcheck()
        .await
        .unwrap_err();
    assert!(!e.transient && e.message.contains("21332"), "{e:?}");
}

#[test]
fn the_config_is_checked() {
    let c: weibo::Config = toml::from_str(
        "access_token = \"t\"\nsafe_domain = \"https://Example.org/\"\nrip = \"203.0.113.7\"\n",
    )
    .unwrap();
    assert_eq!(c.api, "https://api.weibo.com");
    assert_eq!(c.web, "https://weibo.com");
    assert!(Weibo::new(&c, reqwest::Client::new()).is_ok());
    assert!(
        toml::from_str::<weibo::Config>(
            "safe_domain = \"example.org\"\nrip = \"1.2.3.4\"\ntoken = \"t\"\n"
        )
        .is_err()
    );
    let bad_rip = weibo::Config {
        rip: "localhost".into(),
        ..c.clone()
    };
    assert!(
        Weibo::new(&bad_rip, reqwest::Client::new())
            .unwrap_err()
            .to_string()
            .contains("rip")
    );
    let bad_domain = weibo::Config {
        safe_domain: "example.org/path".into(),
        ..c
    };
    assert!(
        Weibo::new(&bad_domain, reqwest::Client::new())
            .unwrap_err()
            .to_string()
            .contains("safe_domain")
    );
}
