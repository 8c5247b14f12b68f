//! The X adapter against a loopback server that ENFORCES the X API v2 contract as
//! docs.x.com documents it, so a passing case means X would have taken the request:
//!
//! - every call carries `Authorization: Bearer <user access token>` (else 401, problem JSON);
//! - `POST /2/tweets`: a JSON object body (`Content-Type: application/json`) of documented
//!   fields only, `text` a non-empty string of at most 280 by X's weighted count
//!   (counted here independently of `bridgecast::social::text`), else 400 with X's
//!   `{"errors":[…],"title":"Invalid Request","detail":…}`; a text the account posted
//!   before is refused with 403 "duplicate content"; success is 201 `{"data":{"id","text"}}`;
//! - `GET /2/users/:id/tweets`: `max_results` within 5–100, `entities` only when asked for
//!   in `tweet.fields`, the link in `text` shortened to t.co and the original in
//!   `entities.urls[].expanded_url`, no `data` at all when there is nothing;
//! - `GET /2/users/me`, `DELETE /2/tweets/:id`;
//! - scripted answers per endpoint: 429 with `x-rate-limit-reset` (unix seconds) or
//!   `Retry-After`, 5xx, 401, 403 — and timeline reads that lag behind posts.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bridgecast::clock::{Clock, SystemClock};
use bridgecast::config::Secret;
use bridgecast::social::text::{Budget, Parts};
use bridgecast::social::x::{Config, X};
use bridgecast::social::{Platform, Post, Posted, text};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use unicode_normalization::UnicodeNormalization;

const TOKEN: &str = "oauth2-user-token";
const USER: &str = "1500000000000000001";
const SEEDED: &str = "1800000000000000042";

/// One scripted answer.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

fn problem(status: u16, title: &str, detail: &str) -> Answer {
    Answer {
        status,
        headers: vec![],
        body: json!({ "title": title, "detail": detail, "type": "about:blank", "status": status }),
    }
}

#[derive(Debug, Clone)]
struct Tweet {
    id: String,
    /// The text as posted (links unshortened).
    text: String,
}

#[derive(Debug, Default)]
struct XState {
    /// Oldest first.
    tweets: Vec<Tweet>,
    next_id: u64,
    post_attempts: usize,
    accepted: usize,
    /// Timeline reads still to answer as if no post existed (X's timelines lag).
    blind_reads: usize,
    /// Answers to give before the real ones, per endpoint: `post`, `timeline`, `me`, `delete`.
    script: HashMap<&'static str, VecDeque<Answer>>,
    /// `METHOD path` of every request.
    log: Vec<String>,
}

impl XState {
    fn seed(&mut self, id: &str, text: &str) {
        self.tweets.push(Tweet {
            id: id.into(),
            text: text.into(),
        });
    }
    fn script(&mut self, endpoint: &'static str, a: Answer) {
        self.script.entry(endpoint).or_default().push_back(a);
    }
}

type Shared = Arc<Mutex<XState>>;

struct Server {
    url: String,
    state: Shared,
}

impl Server {
    async fn start(setup: impl FnOnce(&mut XState)) -> Server {
        let mut s = XState {
            next_id: 1_900_000_000_000_000_000,
            ..XState::default()
        };
        setup(&mut s);
        let state = Arc::new(Mutex::new(s));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let url = crate::support::serve_router(app).await;
        Server { url, state }
    }
    fn adapter(&self, token: &str) -> X {
        let c = Config {
            api: self.url.clone(),
            user_id: USER.into(),
            token: Secret::new(token),
            token_file: None,
        };
        X::new(&c, reqwest::Client::new()).unwrap()
    }
    fn with<T>(&self, f: impl FnOnce(&XState) -> T) -> T {
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

fn invalid(message: &str) -> Response {
    reply(Answer {
        status: 400,
        headers: vec![],
        body: json!({
            "errors": [{ "message": message }],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }),
    })
}

/// X's weighted length as docs.x.com/fundamentals/counting-characters states it, written
/// independently of the adapter's counter: NFC; a code point weighs 1 in U+0000–U+10FF,
/// U+2000–U+200D, U+2010–U+201F and U+2032–U+2037, 2 elsewhere; an http(s) URL (up to
/// whitespace) 23. Emoji sequences are not merged, which is only stricter than X.
fn x_length(text: &str) -> usize {
    let chars: Vec<char> = text.nfc().collect();
    let (mut n, mut i) = (0, 0);
    while i < chars.len() {
        let ahead: String = chars[i..chars.len().min(i + 8)].iter().collect();
        if ahead.starts_with("https://") || ahead.starts_with("http://") {
            while i < chars.len() && !chars[i].is_whitespace() {
                i += 1;
            }
            n += 23;
            continue;
        }
        n += match u32::from(chars[i]) {
            0..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037 => 1,
            _ => 2,
        };
        i += 1;
    }
    n
}

/// A tweet object as X returns it: the link shortened in `text`, the original in the
/// URL entities (only when `entities` was asked for).
fn tweet_json(t: &Tweet, entities: bool) -> Value {
    let mut shown = String::new();
    let mut urls = vec![];
    for (k, word) in t.text.split(' ').enumerate() {
        if k > 0 {
            shown.push(' ');
        }
        let mut line_words = vec![];
        for (j, piece) in word.split('\n').enumerate() {
            if j > 0 {
                line_words.push("\n".to_owned());
            }
            if piece.starts_with("http://") || piece.starts_with("https://") {
                let tco = format!("https://t.co/{:010}", urls.len());
                let start = shown.chars().count()
                    + line_words
                        .iter()
                        .map(|w: &String| w.chars().count())
                        .sum::<usize>();
                urls.push(json!({
                    "start": start, "end": start + tco.chars().count(), "url": tco,
                    "expanded_url": piece, "display_url": piece.split("://").nth(1).unwrap_or(piece),
                }));
                line_words.push(tco);
            } else {
                line_words.push(piece.to_owned());
            }
        }
        shown.push_str(&line_words.concat());
    }
    let mut v = json!({ "id": t.id, "text": shown, "edit_history_tweet_ids": [t.id] });
    if entities && !urls.is_empty() {
        v["entities"] = json!({ "urls": urls });
    }
    v
}

const TWEET_FIELDS: &[&str] = &[
    "card_uri",
    "community_id",
    "direct_message_deep_link",
    "edit_options",
    "for_super_followers_only",
    "geo",
    "media",
    "nullcast",
    "poll",
    "quote_tweet_id",
    "reply",
    "reply_settings",
    "share_with_followers",
    "text",
];

async fn handle(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut g = s.lock().unwrap();
    let path = uri.path().to_owned();
    g.log.push(format!("{method} {path}"));
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        != Some(&format!("Bearer {TOKEN}"))
    {
        return reply(problem(401, "Unauthorized", "Unauthorized"));
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let endpoint = match (method.as_str(), segments.as_slice()) {
        ("GET", ["2", "users", "me"]) => "me",
        ("GET", ["2", "users", id, "tweets"]) if id.bytes().all(|b| b.is_ascii_digit()) => {
            "timeline"
        }
        ("POST", ["2", "tweets"]) => "post",
        ("DELETE", ["2", "tweets", id]) if id.bytes().all(|b| b.is_ascii_digit()) => "delete",
        _ => {
            return reply(Answer {
                status: 404,
                headers: vec![],
                body: json!({ "errors": [{ "message": "Sorry, that page does not exist", "code": 34 }] }),
            });
        }
    };
    if endpoint == "post" {
        g.post_attempts += 1;
    }
    if let Some(a) = g.script.get_mut(endpoint).and_then(VecDeque::pop_front) {
        return reply(a);
    }
    match endpoint {
        "me" => reply(Answer {
            status: 200,
            headers: vec![],
            body: json!({ "data": { "id": USER, "name": "Bridgecast", "username": "bridgecast" } }),
        }),
        "timeline" => {
            let query: HashMap<String, String> =
                url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
            let max = match query.get("max_results").map(|m| m.parse::<usize>()) {
                None => 10,
                Some(Ok(m)) if (5..=100).contains(&m) => m,
                Some(_) => {
                    return invalid(
                        "The `max_results` query parameter value is not between 5 and 100",
                    );
                }
            };
            if let Some(ex) = query.get("exclude")
                && !ex.split(',').all(|e| e == "replies" || e == "retweets")
            {
                return invalid(
                    "The `exclude` query parameter value is not one of [replies, retweets]",
                );
            }
            let entities = query
                .get("tweet.fields")
                .is_some_and(|f| f.split(',').any(|f| f == "entities"));
            let blind = g.blind_reads > 0;
            g.blind_reads = g.blind_reads.saturating_sub(1);
            let ours = segments[2] == USER && !blind;
            let data: Vec<Value> = if ours {
                g.tweets
                    .iter()
                    .rev()
                    .take(max)
                    .map(|t| tweet_json(t, entities))
                    .collect()
            } else {
                vec![]
            };
            let body = if data.is_empty() {
                json!({ "meta": { "result_count": 0 } })
            } else {
                json!({ "data": data, "meta": { "result_count": data.len() } })
            };
            reply(Answer {
                status: 200,
                headers: vec![],
                body,
            })
        }
        "post" => {
            let json_body = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"));
            let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
                return invalid("The request body is not a JSON object");
            };
            if !json_body {
                return invalid("Content-Type must be application/json");
            }
            if let Some(k) = fields.keys().find(|k| !TWEET_FIELDS.contains(&k.as_str())) {
                return invalid(&format!("The `{k}` field is not a known field"));
            }
            let Some(Value::String(text)) = fields.get("text") else {
                return invalid("The `text` field must be a string");
            };
            if text.trim().is_empty() {
                return invalid("The `text` field must not be empty");
            }
            if x_length(text) > 280 {
                return invalid(
                    "Your Tweet text is too long. For more information on how Twitter determines text length see https://github.com/twitter/twitter-text.",
                );
            }
            if g.tweets.iter().any(|t| t.text == *text) {
                return reply(problem(
                    403,
                    "Forbidden",
                    "You are not allowed to create a Tweet with duplicate content.",
                ));
            }
            g.next_id += 1;
            let id = g.next_id.to_string();
            g.tweets.push(Tweet {
                id: id.clone(),
                text: text.clone(),
            });
            g.accepted += 1;
            reply(Answer {
                status: 201,
                headers: vec![],
                body: json!({ "data": { "id": id, "text": text } }),
            })
        }
        "delete" => {
            let id = segments[2];
            let before = g.tweets.len();
            g.tweets.retain(|t| t.id != id);
            if g.tweets.len() == before {
                reply(problem(
                    404,
                    "Not Found Error",
                    &format!("Could not find tweet with id: [{id}]."),
                ))
            } else {
                reply(Answer {
                    status: 200,
                    headers: vec![],
                    body: json!({ "data": { "deleted": true } }),
                })
            }
        }
        _ => unreachable!(),
    }
}

fn post(locale: &str, title: &str, summary: &str, tags: &[&str]) -> Post {
    let link = format!(
        "https://gdfao.example.org/{}/news/hyogo-cooperation/?utm_source=x",
        locale.to_lowercase()
    );
    Post {
        key: format!("social:tag:gdfao.example.org,2026:hyogo:{locale}:x-{locale}"),
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

const ZH_TITLE: &str = "广东与兵库县探讨工科教育、数字孪生城市等领域合作";
const ZH_SUMMARY: &str = "兵库县国际事务部门在广州圆桌会上表示,对工科教育交流、数字孪生城市、自动驾驶、医学和可持续建筑等领域的合作感兴趣。";
const JA_TITLE: &str = "広東省と兵庫県、工学教育やデジタルツイン都市などの分野で協力を模索";
const JA_SUMMARY: &str = "兵庫県の国際担当部署は広州での円卓会議で、工学教育交流、デジタルツイン都市、自動運転、医学、持続可能な建築などの分野での協力に関心を示した。";
const AR_TITLE: &str =
    "قوانغدونغ تعقد مائدة مستديرة مع مدنها ومنظماتها الصديقة حول التعاون في العلوم والتكنولوجيا";
const AR_SUMMARY: &str = "اجتمع ممثلون من سبع دول في قوانغتشو يوم 12 سبتمبر في مائدة مستديرة حول التعاون الدولي مع مقاطعة قوانغدونغ، مع التركيز على العلوم والتكنولوجيا.";
const NE_TITLE: &str =
    "विज्ञान तथा प्रविधि सहकार्यबारे ग्वाङ्दोङमा अन्तर्राष्ट्रिय मैत्री सहर तथा संस्थाहरूसँग गोलमेच बैठक";
const NE_SUMMARY: &str = "सात देशका प्रतिनिधिहरूले सेप्टेम्बर १२ मा ग्वाङ्जाउमा ग्वाङ्दोङसँगको अन्तर्राष्ट्रिय सहकार्य, विशेषगरी विज्ञान तथा प्रविधि क्षेत्रबारे छलफल गरे।";

fn demo(locale: &str) -> Post {
    match locale {
        "zh-Hans" => post(
            locale,
            ZH_TITLE,
            ZH_SUMMARY,
            &["友好城市", "教育", "科学技术"],
        ),
        "ja" => post(
            locale,
            JA_TITLE,
            JA_SUMMARY,
            &["友好都市", "教育", "科学技術"],
        ),
        "ar" => post(
            locale,
            AR_TITLE,
            AR_SUMMARY,
            &["المدن_الصديقة", "العلوم_والتكنولوجيا"],
        ),
        "ne" => post(locale, NE_TITLE, NE_SUMMARY, &["मैत्री_सहर", "विज्ञान_प्रविधि"]),
        _ => post(
            "en",
            "Guangdong and Hyogo explore cooperation in engineering education",
            "Hyogo's international affairs office named engineering education, digital-twin cities and autonomous driving.",
            &["FriendshipCities", "Education"],
        ),
    }
}

/// The demo post with its summary written out three times: longer than any budget here.
fn long(locale: &str) -> Post {
    let mut p = demo(locale);
    p.parts.summary = [p.parts.summary.as_str(); 3].join(" ");
    p.summary = p.parts.summary.clone();
    p
}

#[derive(Debug)]
enum Expect {
    /// Posted; `attempts` POSTs reached the server and `accepted` were taken; `seeded`:
    /// the result is the post that was already there.
    Posted {
        attempts: usize,
        accepted: usize,
        seeded: bool,
    },
    Transient {
        attempts: usize,
        retry_after: Option<RangeInclusive<u64>>,
    },
    Permanent {
        attempts: usize,
    },
}

struct Case {
    name: &'static str,
    post: Post,
    token: &'static str,
    /// Prepares the server, given the post and the text the adapter composes for it.
    setup: fn(&mut XState, &Post, &str),
    expect: Expect,
}

fn nothing(_: &mut XState, _: &Post, _: &str) {}

fn now() -> i64 {
    SystemClock.now().timestamp()
}

#[tokio::test]
async fn x_posts_by_the_contract_table() {
    let mut cases = vec![];
    for locale in ["en", "zh-Hans", "ja", "ar", "ne"] {
        cases.push(Case {
            name: "demo text",
            post: demo(locale),
            token: TOKEN,
            setup: nothing,
            expect: Expect::Posted {
                attempts: 1,
                accepted: 1,
                seeded: false,
            },
        });
        cases.push(Case {
            name: "long text is fitted, never refused as too long",
            post: long(locale),
            token: TOKEN,
            setup: nothing,
            expect: Expect::Posted {
                attempts: 1,
                accepted: 1,
                seeded: false,
            },
        });
    }
    cases.extend([
        Case {
            name: "our post with this link is already there: no POST",
            post: demo("ja"),
            token: TOKEN,
            setup: |s, p, _| {
                s.seed(
                    "1800000000000000001",
                    "something else https://gdfao.example.org/ja/news/other/",
                );
                s.seed(SEEDED, &format!("earlier wording\n{}", p.link));
                s.seed("1800000000000000050", "a later post");
            },
            expect: Expect::Posted {
                attempts: 0,
                accepted: 0,
                seeded: true,
            },
        },
        Case {
            name: "other links in the timeline: posts",
            post: demo("zh-Hans"),
            token: TOKEN,
            setup: |s, _, _| {
                s.seed(
                    SEEDED,
                    "https://gdfao.example.org/zh-hans/news/round-table/?utm_source=x",
                )
            },
            expect: Expect::Posted {
                attempts: 1,
                accepted: 1,
                seeded: false,
            },
        },
        Case {
            name: "timeline lags, X refuses the duplicate: the earlier post is found",
            post: demo("ar"),
            token: TOKEN,
            setup: |s, _, composed| {
                s.seed(SEEDED, composed);
                s.blind_reads = 1;
            },
            expect: Expect::Posted {
                attempts: 1,
                accepted: 0,
                seeded: true,
            },
        },
        Case {
            name: "duplicate refused and never visible: permanent",
            post: demo("ne"),
            token: TOKEN,
            setup: |s, _, composed| {
                s.seed(SEEDED, composed);
                s.blind_reads = 100;
            },
            expect: Expect::Permanent { attempts: 1 },
        },
        Case {
            name: "429 with x-rate-limit-reset",
            post: demo("zh-Hans"),
            token: TOKEN,
            setup: |s, _, _| {
                let mut a = problem(429, "Too Many Requests", "Too Many Requests");
                a.headers = vec![
                    ("x-rate-limit-limit", "100".into()),
                    ("x-rate-limit-remaining", "0".into()),
                    ("x-rate-limit-reset", (now() + 120).to_string()),
                ];
                s.script("post", a);
            },
            expect: Expect::Transient {
                attempts: 1,
                retry_after: Some(100..=121),
            },
        },
        Case {
            name: "429 on the daily user cap waits for its reset",
            post: demo("ja"),
            token: TOKEN,
            setup: |s, _, _| {
                let mut a = problem(429, "Too Many Requests", "Too Many Requests");
                a.headers = vec![
                    ("x-rate-limit-remaining", "99".into()),
                    ("x-rate-limit-reset", (now() + 60).to_string()),
                    ("x-user-limit-24hour-limit", "17".into()),
                    ("x-user-limit-24hour-remaining", "0".into()),
                    ("x-user-limit-24hour-reset", (now() + 3600).to_string()),
                ];
                s.script("post", a);
            },
            expect: Expect::Transient {
                attempts: 1,
                retry_after: Some(3500..=3601),
            },
        },
        Case {
            name: "429 with Retry-After",
            post: demo("en"),
            token: TOKEN,
            setup: |s, _, _| {
                let mut a = problem(429, "Too Many Requests", "Too Many Requests");
                a.headers = vec![("retry-after", "30".into())];
                s.script("post", a);
            },
            expect: Expect::Transient {
                attempts: 1,
                retry_after: Some(30..=30),
            },
        },
        Case {
            name: "429 on the look-up: nothing posted blind",
            post: demo("en"),
            token: TOKEN,
            setup: |s, _, _| {
                let mut a = problem(429, "Too Many Requests", "Too Many Requests");
                a.headers = vec![("x-rate-limit-reset", (now() + 300).to_string())];
                s.script("timeline", a);
            },
            expect: Expect::Transient {
                attempts: 0,
                retry_after: Some(280..=301),
            },
        },
        Case {
            name: "503",
            post: demo("ar"),
            token: TOKEN,
            setup: |s, _, _| {
                s.script(
                    "post",
                    problem(503, "Service Unavailable", "Service Unavailable"),
                )
            },
            expect: Expect::Transient {
                attempts: 1,
                retry_after: None,
            },
        },
        Case {
            name: "wrong token: 401 on the look-up",
            post: demo("en"),
            token: "expired-token",
            setup: nothing,
            expect: Expect::Permanent { attempts: 0 },
        },
        Case {
            name: "401 on POST",
            post: demo("ne"),
            token: TOKEN,
            setup: |s, _, _| s.script("post", problem(401, "Unauthorized", "Unauthorized")),
            expect: Expect::Permanent { attempts: 1 },
        },
        Case {
            name: "403 on POST (app not allowed to write)",
            post: demo("ne"),
            token: TOKEN,
            setup: |s, _, _| {
                s.script(
                    "post",
                    problem(
                        403,
                        "Forbidden",
                        "You are not permitted to perform this action.",
                    ),
                );
            },
            expect: Expect::Permanent { attempts: 1 },
        },
        Case {
            name: "no read access (403 on the look-up): posts anyway",
            post: demo("zh-Hans"),
            token: TOKEN,
            setup: |s, _, _| {
                s.script(
                    "timeline",
                    problem(
                        403,
                        "Client Forbidden",
                        "This request must be made using an approved developer account.",
                    ),
                );
            },
            expect: Expect::Posted {
                attempts: 1,
                accepted: 1,
                seeded: false,
            },
        },
    ]);

    for case in cases {
        let label = format!("{} [{}]", case.name, case.post.locale);
        let composed = text::fit(&case.post.parts, &Budget::X);
        let setup = case.setup;
        let p = case.post.clone();
        let c = composed.clone();
        let server = Server::start(move |s| setup(s, &p, &c)).await;
        let x = server.adapter(case.token);
        assert_eq!(x.compose(&case.post).text, composed, "{label}");
        assert!(
            x_length(&composed) <= 280,
            "{label}: the contract's count says {} for {composed:?}",
            x_length(&composed)
        );
        let result = x.post(&case.post).await;
        let (attempts, accepted) = server.with(|s| (s.post_attempts, s.accepted));
        match (&case.expect, &result) {
            (
                Expect::Posted {
                    attempts: a,
                    accepted: n,
                    seeded,
                },
                Ok(Posted { remote_id, url }),
            ) => {
                assert_eq!(
                    (attempts, accepted),
                    (*a, *n),
                    "{label}: POSTs made / taken"
                );
                if *seeded {
                    assert_eq!(remote_id, SEEDED, "{label}");
                } else {
                    let stored =
                        server.with(|s| s.tweets.iter().find(|t| t.id == *remote_id).cloned());
                    assert_eq!(
                        stored.map(|t| t.text),
                        Some(composed.clone()),
                        "{label}: the text X took"
                    );
                }
                assert_eq!(
                    url.as_deref(),
                    Some(format!("https://x.com/i/web/status/{remote_id}").as_str()),
                    "{label}"
                );
            }
            (
                Expect::Transient {
                    attempts: a,
                    retry_after,
                },
                Err(e),
            ) => {
                assert!(e.is_transient(), "{label}: {e}");
                assert_eq!(attempts, *a, "{label}: POSTs made");
                match retry_after {
                    Some(range) => {
                        let secs = e.retry_after.map(|d| d.as_secs());
                        assert!(
                            secs.is_some_and(|s| range.contains(&s)),
                            "{label}: retry_after {secs:?}, want {range:?}"
                        );
                    }
                    None => assert_eq!(e.retry_after, None, "{label}"),
                }
            }
            (Expect::Permanent { attempts: a }, Err(e)) => {
                assert!(!e.is_transient(), "{label}: {e}");
                assert_eq!(attempts, *a, "{label}: POSTs made");
            }
            (want, got) => panic!("{label}: want {want:?}, got {got:?}"),
        }
        if case.name.starts_with("long") {
            assert!(composed.contains('…'), "{label}: {composed:?} was not cut");
            assert!(
                composed.ends_with(&case.post.link),
                "{label}: the link is never cut"
            );
        }
    }
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_finds_the_first_post() {
    let server = Server::start(|_| {}).await;
    let x = server.adapter(TOKEN);
    let p = demo("zh-Hans");
    let first = x.post(&p).await.unwrap();
    // The answer to the first attempt never arrived; the job runs again.
    let again = x.post(&p).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(server.with(|s| (s.post_attempts, s.accepted)), (1, 1));
    let log = server.with(|s| s.log.clone());
    assert_eq!(
        log,
        [
            format!("GET /2/users/{USER}/tweets"),
            "POST /2/tweets".into(),
            format!("GET /2/users/{USER}/tweets"),
        ]
    );
}

#[tokio::test]
async fn the_contract_server_refuses_what_x_refuses() {
    let server = Server::start(|_| {}).await;
    let http = reqwest::Client::new();
    let send = |body: Value| {
        http.post(format!("{}/2/tweets", server.url))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    // 141 CJK characters weigh 282.
    let r = send(json!({ "text": "字".repeat(141) })).await.unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["title"], "Invalid Request");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too long"),
        "{v}"
    );
    // 280 ASCII characters plus a long link: 257 + 23.
    let ok = format!(
        "{} https://example.org/{}",
        "a".repeat(256),
        "p".repeat(100)
    );
    assert_eq!(x_length(&ok), 280);
    assert_eq!(send(json!({ "text": ok })).await.unwrap().status(), 201);
    assert_eq!(
        send(json!({ "text": ok })).await.unwrap().status(),
        403,
        "duplicate"
    );
    assert_eq!(send(json!({ "text": 5 })).await.unwrap().status(), 400);
    assert_eq!(
        send(json!({ "text": "hi", "lang": "en" }))
            .await
            .unwrap()
            .status(),
        400
    );
    let r = http
        .post(format!("{}/2/tweets", server.url))
        .json(&json!({ "text": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The adapter's count agrees with the contract's on every demo text.
    for locale in ["en", "zh-Hans", "ja", "ar", "ne"] {
        for p in [demo(locale), long(locale)] {
            let t = text::fit(&p.parts, &Budget::X);
            assert!(
                text::count(&t, &Budget::X) >= x_length(&t),
                "{locale}: {t:?}"
            );
        }
    }
}

#[tokio::test]
async fn healthcheck_and_delete() {
    let server = Server::start(|_| {}).await;
    let x = server.adapter(TOKEN);
    x.healthcheck().await.unwrap();
    assert_eq!(server.with(|s| s.post_attempts), 0, "no side effect");
    assert!(
        !server
            .adapter("bad")
            .healthcheck()
            .await
            .unwrap_err()
            .is_transient()
    );
    let other = X::new(
        &Config {
            api: server.url.clone(),
            user_id: "42".into(),
            token: Secret::new(TOKEN),
            token_file: None,
        },
        reqwest::Client::new(),
    )
    .unwrap();
    let e = other.healthcheck().await.unwrap_err();
    assert!(e.message.contains("belongs to user"), "{e}");

    let done = x.post(&demo("ja")).await.unwrap();
    x.delete(&done).await.unwrap();
    assert!(server.with(|s| s.tweets.is_empty()));
    // Deleting again is fine: it is gone.
    x.delete(&done).await.unwrap();
}

#[tokio::test]
async fn the_token_file_is_read_for_every_request() {
    let server = Server::start(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x-token");
    std::fs::write(&file, "old-token\n").unwrap();
    let c = Config {
        api: server.url.clone(),
        user_id: USER.into(),
        token: Secret::default(),
        token_file: Some(file.clone()),
    };
    let x = X::new(&c, reqwest::Client::new()).unwrap();
    assert!(x.healthcheck().await.is_err());
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    x.healthcheck().await.unwrap();
}

#[test]
fn config_defaults_and_checks() {
    let c: Config = toml::from_str("user_id = \"123\"\ntoken = \"t\"").unwrap();
    assert_eq!(c.api, "https://api.x.com");
    assert!(
        toml::from_str::<Config>("user_id = \"123\"\ntokn = \"t\"").is_err(),
        "unknown fields are refused"
    );
    assert!(
        X::new(
            &Config {
                user_id: "@bridgecast".into(),
                ..c.clone()
            },
            reqwest::Client::new()
        )
        .is_err()
    );
    assert!(X::new(&c, reqwest::Client::new()).is_ok());
    assert!(
        !format!("{:?}", X::new(&c, reqwest::Client::new()).unwrap()).contains("\"t\""),
        "the token never prints"
    );
}
