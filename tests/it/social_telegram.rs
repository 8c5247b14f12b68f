//! The Telegram adapter against a loopback Bot API server that ENFORCES the contract
//! core.telegram.org/bots/api documents, so a passing case means Telegram would have
//! taken the request:
//!
//! - the token is in the path, `/bot<token>/<method>` (else 401 `Unauthorized`); method
//!   names are case-insensitive; parameters come as JSON, a form, multipart/form-data
//!   (files) or the query string; every answer is `{"ok":…,"result"|"error_code",
//!   "description","parameters"}`;
//! - `chat_id` (Integer or String) must name the chat (else 400 `chat not found`);
//! - `parse_mode=HTML` is parsed as documented: only the listed tags, properly nested,
//!   and no bare `<`, `>` or `&` — only `&lt;`, `&gt;`, `&amp;`, `&quot;` and numeric
//!   entities (else 400 `can't parse entities`);
//! - lengths are counted after entity parsing, in UTF-16 code units: a message text
//!   1–4096 (400 `message is too long`), a caption 0–1024 (400 `message caption is too
//!   long`);
//! - `link_preview_options` must be a LinkPreviewOptions object; `sendPhoto` needs a
//!   `photo` file part; `deleteMessage` an existing `message_id`;
//! - scripted answers for the send methods: 429 with `parameters.retry_after`, 5xx (also
//!   an HTML page from the proxy in front), 403, or a refused photo.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bridgecast::config::Secret;
use bridgecast::social::telegram::{Config, Telegram};
use bridgecast::social::text::{self, Budget, Parts};
use bridgecast::social::{Platform, Post, Posted};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11";
const CHANNEL: &str = "@bridgecast_demo";
const NUMERIC: &str = "-1001234567890";

/// One scripted answer: status and body (JSON, or raw text as a proxy would send).
#[derive(Debug, Clone)]
enum Answer {
    Json(u16, Value),
    Raw(u16, &'static str),
}

fn error(code: u16, description: &str) -> Answer {
    Answer::Json(
        code,
        json!({ "ok": false, "error_code": code, "description": description }),
    )
}

/// A message the server accepted.
#[derive(Debug, Clone)]
struct Sent {
    method: String,
    /// The text or caption after entity parsing.
    visible: String,
    /// Text inside `<b>`/`<strong>`.
    bold: Vec<String>,
    photo: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
struct TgState {
    chat: String,
    next_id: i64,
    messages: BTreeMap<i64, Sent>,
    /// Every call: method (as sent) and its parameters.
    calls: Vec<(String, Map<String, Value>)>,
    /// Answers for the next send calls, before the real ones.
    script: VecDeque<Answer>,
}

type Shared = Arc<Mutex<TgState>>;

struct Server {
    url: String,
    state: Shared,
}

impl Server {
    async fn start(chat: &str, script: Vec<Answer>) -> Server {
        let state = Arc::new(Mutex::new(TgState {
            chat: chat.into(),
            next_id: 700,
            script: script.into(),
            ..TgState::default()
        }));
        let app = axum::Router::new()
            .route("/{bot}/{method}", axum::routing::any(handle))
            .fallback(|| async { answer(error(404, "Not Found")) })
            .with_state(state.clone());
        let url = crate::support::serve_router(app).await;
        Server { url, state }
    }
    fn adapter(&self, token: &str, chat: &str) -> Telegram {
        let c = Config {
            api: self.url.clone(),
            bot_token: Secret::new(token),
            bot_token_file: None,
            chat_id: chat.into(),
        };
        Telegram::new(&c, reqwest::Client::new()).unwrap()
    }
    fn with<T>(&self, f: impl FnOnce(&TgState) -> T) -> T {
        f(&self.state.lock().unwrap())
    }
}

fn answer(a: Answer) -> Response {
    match a {
        Answer::Json(code, v) => {
            (StatusCode::from_u16(code).unwrap(), axum::Json(v)).into_response()
        }
        Answer::Raw(code, body) => (
            StatusCode::from_u16(code).unwrap(),
            [("content-type", "text/html")],
            body,
        )
            .into_response(),
    }
}

fn bad(description: &str) -> Response {
    answer(error(400, &format!("Bad Request: {description}")))
}

/// The parts of a multipart/form-data body: name → text, or a file as
/// `{"filename","content_type","bytes"}` (the bytes as an array).
fn multipart(content_type: &str, body: &[u8]) -> Option<Map<String, Value>> {
    fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    }
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}").into_bytes();
    let mut out = Map::new();
    let mut pos = find(body, &delim, 0)? + delim.len();
    while !body.get(pos..)?.starts_with(b"--") {
        pos += 2; // CRLF after the delimiter
        let next = find(body, &delim, pos)?;
        let part = &body[pos..next.checked_sub(2)?];
        let split = find(part, b"\r\n\r\n", 0)?;
        let head = std::str::from_utf8(&part[..split]).ok()?;
        let data = &part[split + 4..];
        let disposition = head
            .lines()
            .find(|l| l.to_lowercase().starts_with("content-disposition:"))?;
        let attr = |key: &str| {
            disposition.split(';').find_map(|p| {
                p.trim()
                    .strip_prefix(&format!("{key}=\""))
                    .map(|v| v.trim_end_matches('"').to_owned())
            })
        };
        let name = attr("name")?;
        let value = match attr("filename") {
            Some(filename) => {
                let ctype = head.lines().find_map(|l| {
                    l.strip_prefix("Content-Type: ")
                        .or(l.strip_prefix("content-type: "))
                });
                json!({ "filename": filename, "content_type": ctype, "bytes": data })
            }
            None => Value::String(String::from_utf8(data.to_vec()).ok()?),
        };
        out.insert(name, value);
        pos = next + delim.len();
    }
    Some(out)
}

/// Telegram's HTML parse mode (core.telegram.org/bots/api#html-style): the visible text
/// and the bold spans, or the error Telegram gives.
fn parse_html(s: &str) -> Result<(String, Vec<String>), String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
        "tg-time",
    ];
    let mut out = String::new();
    let mut open: Vec<(String, usize)> = vec![];
    let mut bold = vec![];
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        match c {
            '<' => {
                let end = s[i..].find('>').map(|e| e + i).ok_or(format!(
                    "can't parse entities: Unclosed start tag at byte offset {i}"
                ))?;
                let inner = &s[i + 1..end];
                if let Some(name) = inner.strip_prefix('/') {
                    let name = name.trim().to_lowercase();
                    match open.pop() {
                        Some((tag, start)) if tag == name => {
                            if tag == "b" || tag == "strong" {
                                bold.push(out[start..].to_owned());
                            }
                        }
                        Some((tag, _)) => {
                            return Err(format!(
                                "can't parse entities: Unmatched end tag at byte offset {i}, expected \"</{tag}>\", found \"</{name}>\""
                            ));
                        }
                        None => {
                            return Err(format!(
                                "can't parse entities: Unexpected end tag at byte offset {i}"
                            ));
                        }
                    }
                } else {
                    let name = inner.split_whitespace().next().unwrap_or("").to_lowercase();
                    if !TAGS.contains(&name.as_str()) {
                        return Err(format!(
                            "can't parse entities: Unsupported start tag \"{name}\" at byte offset {i}"
                        ));
                    }
                    open.push((name, out.len()));
                }
                i = end + 1;
            }
            '&' => {
                let end = s[i..].find(';').map(|e| e + i).filter(|e| e - i <= 10);
                let entity = end.map(|e| &s[i + 1..e]).unwrap_or("");
                let decoded = match entity {
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "amp" => Some('&'),
                    "quot" => Some('"'),
                    e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                        .ok()
                        .and_then(char::from_u32),
                    e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
                    _ => None,
                };
                let (Some(c), Some(end)) = (decoded, end) else {
                    return Err(format!(
                        "can't parse entities: Unsupported HTML entity at byte offset {i}: \"&\" must be escaped"
                    ));
                };
                out.push(c);
                i = end + 1;
            }
            '>' => {
                return Err(format!(
                    "can't parse entities: Character '>' is reserved at byte offset {i}"
                ));
            }
            c => {
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    match open.pop() {
        Some((tag, _)) => Err(format!(
            "can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
        )),
        None => Ok((out, bold)),
    }
}

fn utf16(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A JSON-serialized parameter: as sent in a JSON body, or a string to parse.
fn json_param(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

async fn handle(
    State(s): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut g = s.lock().unwrap();
    let ctype = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut params: Map<String, Value> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
    let parsed = if ctype.starts_with("application/json") {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v.as_object().cloned())
    } else if ctype.starts_with("multipart/form-data") {
        multipart(&ctype, &body)
    } else if ctype.starts_with("application/x-www-form-urlencoded") {
        Some(
            url::form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        )
    } else {
        Some(Map::new())
    };
    let Some(parsed) = parsed else {
        return bad("can't parse request body");
    };
    params.extend(parsed);
    g.calls.push((method.clone(), params.clone()));
    if bot != format!("bot{TOKEN}") {
        return answer(error(401, "Unauthorized"));
    }
    let method = method.to_lowercase();
    if !matches!(
        method.as_str(),
        "getme" | "sendmessage" | "sendphoto" | "deletemessage"
    ) {
        return answer(error(404, "Not Found"));
    }
    if method == "getme" {
        return answer(Answer::Json(
            200,
            json!({ "ok": true, "result": { "id": 123456, "is_bot": true, "first_name": "Bridgecast", "username": "bridgecast_bot" } }),
        ));
    }
    let chat = match params.get("chat_id") {
        Some(Value::String(c)) => c.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return bad("chat_id is empty"),
    };
    if chat != g.chat {
        return bad("chat not found");
    }
    if method == "deletemessage" {
        let id = match params.get("message_id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        return match id.and_then(|id| g.messages.remove(&id)) {
            Some(_) => answer(Answer::Json(200, json!({ "ok": true, "result": true }))),
            None => bad("message to delete not found"),
        };
    }
    if let Some(a) = g.script.pop_front() {
        return answer(a);
    }
    let (field, limit, too_long) = if method == "sendphoto" {
        ("caption", 1024, "message caption is too long")
    } else {
        ("text", 4096, "message is too long")
    };
    let raw = match params.get(field) {
        Some(Value::String(t)) => t.clone(),
        None if method == "sendphoto" => String::new(),
        _ => return bad("message text is empty"),
    };
    let (visible, bold) = match params.get("parse_mode").and_then(Value::as_str) {
        None => (raw.clone(), vec![]),
        Some(m) if m.eq_ignore_ascii_case("html") => match parse_html(&raw) {
            Ok(parsed) => parsed,
            Err(e) => return bad(&e),
        },
        Some(_) => return bad("unsupported parse_mode"),
    };
    if method == "sendmessage" && visible.trim().is_empty() {
        return bad("message text is empty");
    }
    if utf16(&visible) > limit {
        return bad(too_long);
    }
    if let Some(o) = params.get("link_preview_options") {
        let ok = json_param(o)
            .and_then(|v| v.as_object().cloned())
            .is_some_and(|o| {
                o.iter().all(|(k, v)| match k.as_str() {
                    "url" => v.is_string(),
                    "is_disabled" | "prefer_small_media" | "prefer_large_media"
                    | "show_above_text" => v.is_boolean(),
                    _ => false,
                })
            });
        if !ok {
            return bad("can't parse link preview options JSON object");
        }
    }
    let photo = if method == "sendphoto" {
        let bytes: Option<Vec<u8>> =
            params
                .get("photo")
                .and_then(|p| p["bytes"].as_array())
                .map(|b| {
                    b.iter()
                        .filter_map(|x| x.as_u64().and_then(|x| u8::try_from(x).ok()))
                        .collect()
                });
        match bytes {
            Some(b) if !b.is_empty() => Some(b),
            _ => return bad("there is no photo in the request"),
        }
    } else {
        None
    };
    g.next_id += 1;
    let id = g.next_id;
    g.messages.insert(
        id,
        Sent {
            method: method.clone(),
            visible: visible.clone(),
            bold,
            photo,
        },
    );
    let chat_json = if g.chat.starts_with('@') {
        json!({ "id": -1001234567890_i64, "type": "channel", "title": "Bridgecast", "username": g.chat.trim_start_matches('@') })
    } else {
        json!({ "id": g.chat.parse::<i64>().unwrap(), "type": "channel", "title": "Bridgecast" })
    };
    let mut result = json!({ "message_id": id, "date": 1789000000, "chat": chat_json });
    result[field] = Value::String(visible);
    answer(Answer::Json(200, json!({ "ok": true, "result": result })))
}

fn post(locale: &str, title: &str, summary: &str, tags: &[&str]) -> Post {
    let link = format!(
        "https://gdfao.example.org/{}/news/round-table/?utm_source=telegram",
        locale.to_lowercase()
    );
    Post {
        key: format!("social:tag:gdfao.example.org,2026:round-table:{locale}:tg-{locale}"),
        article: "tag:gdfao.example.org,2026:round-table".into(),
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
        "zh-Hans" => post(locale, ZH_TITLE, ZH_SUMMARY, &["友好城市", "科学技术"]),
        "ja" => post(locale, JA_TITLE, JA_SUMMARY, &["友好都市", "科学技術"]),
        "ar" => post(
            locale,
            AR_TITLE,
            AR_SUMMARY,
            &["المدن_الصديقة", "العلوم_والتكنولوجيا"],
        ),
        "ne" => post(locale, NE_TITLE, NE_SUMMARY, &["मैत्री_सहर", "विज्ञान_प्रविधि"]),
        _ => post(
            "en",
            "Guangdong holds a round table with its friendship cities on science and technology",
            "Representatives from seven countries met in Guangzhou on 12 September.",
            &["FriendshipCities"],
        ),
    }
}

/// The demo post with a summary far beyond a message: 100 times over (with an emoji, two
/// UTF-16 units, in every copy).
fn long(locale: &str) -> Post {
    let mut p = demo(locale);
    p.parts.summary = vec![format!("{} 🌏", p.parts.summary); 100].join(" ");
    p.summary = p.parts.summary.clone();
    p
}

fn with_image(mut p: Post, dir: &std::path::Path, name: &str, mime: &str) -> Post {
    let path = dir.join(name);
    std::fs::write(&path, b"\x89PNG\r\n\x1a\n not really a picture").unwrap();
    p.image = Some((path, "delegates around a table".into(), mime.into()));
    p
}

#[derive(Debug)]
enum Expect {
    /// Sent with this method (`sendmessage`/`sendphoto`); `public`: the URL is on t.me.
    Sent {
        method: &'static str,
        public: bool,
    },
    Transient {
        retry_after: Option<u64>,
    },
    Permanent,
}

struct Case {
    name: &'static str,
    post: Post,
    token: &'static str,
    /// The chat the adapter is configured with; the server knows `CHANNEL` unless the
    /// case says `NUMERIC`.
    chat: &'static str,
    server_chat: &'static str,
    script: Vec<Answer>,
    expect: Expect,
}

#[tokio::test]
async fn telegram_posts_by_the_contract_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sent = |method| Expect::Sent {
        method,
        public: true,
    };
    let case = |name, post, expect| Case {
        name,
        post,
        token: TOKEN,
        chat: CHANNEL,
        server_chat: CHANNEL,
        script: vec![],
        expect,
    };
    let mut cases = vec![];
    for locale in ["en", "zh-Hans", "ja", "ar", "ne"] {
        cases.push(case("demo text", demo(locale), sent("sendmessage")));
        cases.push(case(
            "long text is fitted, never refused as too long",
            long(locale),
            sent("sendmessage"),
        ));
        cases.push(case(
            "long caption is fitted to 1024",
            with_image(long(locale), d, "p.png", "image/png"),
            sent("sendphoto"),
        ));
    }
    cases.extend([
        case(
            "HTML special characters in the title and summary",
            post(
                "en",
                "Trade <b>&</b> \"ties\": 5 > 3 & <script>alert(1)</script> &amp;",
                "R&D costs < 5% of GDP; A&B > C.",
                &["Trade"],
            ),
            sent("sendmessage"),
        ),
        case("a photo", with_image(demo("ja"), d, "a.jpg", "image/jpeg"), sent("sendphoto")),
        case("an SVG is no photo: a text message", with_image(demo("ar"), d, "a.svg", "image/svg+xml"), sent("sendmessage")),
        Case {
            script: vec![error(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")],
            ..case("a photo Telegram refuses: a text message", with_image(demo("ne"), d, "b.png", "image/png"), sent("sendmessage"))
        },
        Case {
            chat: NUMERIC,
            server_chat: NUMERIC,
            ..case("numeric chat id: no public URL", demo("zh-Hans"), Expect::Sent { method: "sendmessage", public: false })
        },
        Case {
            script: vec![Answer::Json(
                429,
                json!({ "ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": { "retry_after": 7 } }),
            )],
            ..case("429 with parameters.retry_after", demo("ja"), Expect::Transient { retry_after: Some(7) })
        },
        Case {
            script: vec![error(500, "Internal Server Error")],
            ..case("500", demo("ar"), Expect::Transient { retry_after: None })
        },
        Case {
            script: vec![Answer::Raw(502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")],
            ..case("502 from the proxy, not JSON", demo("ne"), Expect::Transient { retry_after: None })
        },
        Case { token: "123456:revoked", ..case("wrong token: 401", demo("en"), Expect::Permanent) },
        Case { server_chat: "@someone_else", ..case("unknown chat: 400", demo("en"), Expect::Permanent) },
        Case {
            script: vec![error(403, "Forbidden: bot is not a member of the channel chat")],
            ..case("bot not in the channel: 403", demo("zh-Hans"), Expect::Permanent)
        },
    ]);

    for case in cases {
        let label = format!("{} [{}]", case.name, case.post.locale);
        let server = Server::start(case.server_chat, case.script.clone()).await;
        let tg = server.adapter(case.token, case.chat);
        let composed = tg.compose(&case.post).text;
        let result = tg.post(&case.post).await;
        match (&case.expect, &result) {
            (Expect::Sent { method, public }, Ok(Posted { remote_id, url })) => {
                let id: i64 = remote_id.parse().unwrap();
                let m = server
                    .with(|s| s.messages.get(&id).cloned())
                    .unwrap_or_else(|| panic!("{label}: no message {id}"));
                assert_eq!(m.method, *method, "{label}");
                let want_url = public.then(|| format!("https://t.me/bridgecast_demo/{id}"));
                assert_eq!(url, &want_url, "{label}");
                let (call, params) = server.with(|s| s.calls.last().cloned()).unwrap();
                assert_eq!(call.to_lowercase(), *method, "{label}");
                assert_eq!(params["parse_mode"], "HTML", "{label}");
                let (field, budget) = if *method == "sendphoto" {
                    ("caption", Budget::TELEGRAM_CAPTION)
                } else {
                    ("text", Budget::TELEGRAM_MESSAGE)
                };
                // What Telegram shows is exactly the fitted plain text.
                assert_eq!(m.visible, text::fit(&case.post.parts, &budget), "{label}");
                assert!(utf16(&m.visible) <= budget.max, "{label}");
                assert!(
                    m.visible.ends_with(&case.post.link),
                    "{label}: the link is never cut"
                );
                assert_eq!(m.bold.len(), 1, "{label}: the title is bold");
                assert!(m.visible.starts_with(&m.bold[0]), "{label}");
                if case.name.starts_with("long") {
                    assert!(m.visible.contains('…'), "{label}: not cut");
                }
                if case.script.is_empty() {
                    assert_eq!(
                        composed, params[field],
                        "{label}: compose shows what is sent"
                    );
                }
                if *method == "sendphoto" {
                    assert!(m.photo.is_some(), "{label}");
                } else {
                    assert_eq!(
                        params["link_preview_options"]["url"],
                        case.post.link.as_str(),
                        "{label}"
                    );
                }
                if case.name.starts_with("HTML") {
                    assert_eq!(
                        m.bold[0], case.post.title,
                        "{label}: the title reads as written"
                    );
                    assert!(
                        m.visible.contains("R&D costs < 5% of GDP; A&B > C."),
                        "{label}: {:?}",
                        m.visible
                    );
                }
            }
            (Expect::Transient { retry_after }, Err(e)) => {
                assert!(e.is_transient(), "{label}: {e}");
                assert_eq!(e.retry_after.map(|d| d.as_secs()), *retry_after, "{label}");
            }
            (Expect::Permanent, Err(e)) => assert!(!e.is_transient(), "{label}: {e}"),
            (want, got) => panic!("{label}: want {want:?}, got {got:?}"),
        }
        if let Err(e) = &result {
            assert!(
                !e.message.contains(TOKEN),
                "{label}: the token leaked into {e}"
            );
        }
    }
}

#[tokio::test]
async fn the_contract_server_refuses_what_telegram_refuses() {
    let server = Server::start(CHANNEL, vec![]).await;
    let http = reqwest::Client::new();
    let send = |text: String| {
        http.post(format!("{}/bot{TOKEN}/sendMessage", server.url))
            .json(&json!({ "chat_id": CHANNEL, "text": text, "parse_mode": "HTML" }))
            .send()
    };
    let description = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        (status, v["description"].as_str().unwrap_or("").to_owned())
    };
    // 4097 visible characters, though entities make the markup far longer.
    let (s, d) = description(
        send(format!("<b>{}</b>", "&amp;".repeat(4097)))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, d.as_str()), (400, "Bad Request: message is too long"));
    // 4096 visible UTF-16 units: 2048 emoji.
    assert_eq!(send("🌏".repeat(2048)).await.unwrap().status(), 200);
    assert_eq!(send("🌏".repeat(2049)).await.unwrap().status(), 400);
    for unescaped in ["a < b", "a & b", "a > b", "<script>x</script>", "<b>open"] {
        let (s, d) = description(send(unescaped.into()).await.unwrap()).await;
        assert_eq!(s, 400, "{unescaped}");
        assert!(d.contains("can't parse entities"), "{unescaped}: {d}");
    }
    assert_eq!(
        send("&lt;&gt;&amp;&quot;&#39;&#x1F30F; <b>ok</b>".into())
            .await
            .unwrap()
            .status(),
        200
    );
    let r = http
        .post(format!("{}/botWRONG/sendMessage", server.url))
        .json(&json!({ "chat_id": CHANNEL, "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn healthcheck_delete_and_no_token_in_errors() {
    let server = Server::start(CHANNEL, vec![]).await;
    let tg = server.adapter(TOKEN, CHANNEL);
    tg.healthcheck().await.unwrap();
    assert!(server.with(|s| s.messages.is_empty()), "no side effect");
    assert!(
        !server
            .adapter("1:bad", CHANNEL)
            .healthcheck()
            .await
            .unwrap_err()
            .is_transient()
    );

    let done = tg.post(&demo("ne")).await.unwrap();
    tg.delete(&done).await.unwrap();
    assert!(server.with(|s| s.messages.is_empty()));
    // Gone already: nothing to do.
    tg.delete(&done).await.unwrap();
    let (method, params) = server.with(|s| s.calls.last().cloned()).unwrap();
    assert_eq!(method, "deleteMessage");
    assert_eq!(
        params["message_id"],
        json!(done.remote_id.parse::<i64>().unwrap())
    );

    // Nothing listens here: the transport error must not show the URL with the token.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let c = Config {
        api: format!("http://{addr}"),
        bot_token: Secret::new(TOKEN),
        bot_token_file: None,
        chat_id: CHANNEL.into(),
    };
    let offline = Telegram::new(&c, reqwest::Client::new()).unwrap();
    let e = offline.post(&demo("en")).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(
        !e.message.contains(TOKEN) && !e.message.contains("123456"),
        "{e}"
    );
}

#[test]
fn config_defaults_and_checks() {
    let c: Config = toml::from_str("bot_token = \"1:x\"\nchat_id = \"@bridgecast_demo\"").unwrap();
    assert_eq!(c.api, "https://api.telegram.org");
    assert!(
        toml::from_str::<Config>("token = \"1:x\"\nchat_id = \"@a\"").is_err(),
        "unknown fields are refused"
    );
    assert!(
        Telegram::new(
            &Config {
                chat_id: "bridgecast_demo".into(),
                ..c.clone()
            },
            reqwest::Client::new()
        )
        .is_err()
    );
    assert!(
        Telegram::new(
            &Config {
                chat_id: NUMERIC.into(),
                ..c.clone()
            },
            reqwest::Client::new()
        )
        .is_ok()
    );
    let tg = Telegram::new(&c, reqwest::Client::new()).unwrap();
    assert!(!format!("{tg:?}").contains("1:x"), "the token never prints");
}
