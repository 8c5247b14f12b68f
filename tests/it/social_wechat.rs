//! The WeChat Official Accounts adapter against a loopback server that ENFORCES the documented
//! contract of the 公众号/服务号 API (developers.weixin.qq.com/doc/service/api/…):
//!
//! - Every call is a POST under `/cgi-bin/` (a GET answers 43002 "require POST method").
//! - `stable_token` takes JSON `{grant_type: "client_credential", appid, secret, force_refresh?}`
//!   (40002 wrong grant_type, 40013 wrong appid, 40125 wrong secret) and answers
//!   `{access_token, expires_in: 7200}`; in normal mode it returns the current token while that
//!   is valid.
//! - Every other call carries `?access_token=`: missing 41001, unknown or superseded 40001,
//!   expired 42001.
//! - Errors are HTTP 200 with `{"errcode", "errmsg"}`.
//! - `material/add_material?type=thumb|image`, multipart field `media` with a file name and a
//!   content type: `thumb` a JPEG of at most 64 KB (40012), `image` bmp/png/jpeg/gif of at most
//!   10 MB (40005, 40009); answers `{media_id, url}`.
//! - `draft/add {articles: [news]}`: title 1–32 characters (45003), author at most 16 (45110),
//!   digest at most 128 (45004), content non-empty and at most 2 KB (45002),
//!   content_source_url at most 1 KB (45005), thumb_media_id a permanent material of the
//!   account (40007), strings and numbers where the page says so (47001); answers `{media_id}`.
//! - `freepublish/submit {media_id}` (a draft, else 40007) answers `{publish_id}` and removes the
//!   draft; `freepublish/batchget {offset, count 1–20, no_content}`, `freepublish/get
//!   {publish_id}`, `freepublish/delete {article_id, index}`.
//! - `message/mass/sendall {filter: {is_to_all}, mpnews: {media_id}, msgtype: "mpnews",
//!   send_ignore_reprint, clientmsgid}`: clientmsgid at most 64 bytes (45067); one already used
//!   answers 45065 "clientmsgid exist" with the first `msg_id`; past the account's mass-send
//!   quota (one, a subscription account's day) 45028; `message/mass/delete {msg_id,
//!   article_idx}`; `draft/delete {media_id}`.
//! - Scriptable faults per endpoint: an errcode instead of the answer, an errcode after the work
//!   was done (an unknown outcome), an HTTP status, or the token expiring just before the call.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bridgecast::config::Secret;
use bridgecast::social::wechat::{self, Mode, WeChat};
use bridgecast::social::{Platform, Post, Posted, SocialError, text};
use chrono::TimeZone;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const APP_ID: &str = "wx0123456789abcdef";
const SECRET: &str = "app-secret";
/// A permanent image material the account already has.
const COVER: &str = "MATERIAL_DEFAULT_COVER";

/// A scripted misbehaviour of one endpoint, used once.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer this errcode without doing anything.
    Errcode(i64),
    /// Do the work, then answer this errcode anyway: the caller cannot know it worked.
    AfterWork(i64),
    /// Answer this HTTP status (a proxy in front failing).
    Http(u16),
    /// The current access token expires just before this call.
    ExpireToken,
}

#[derive(Debug, Clone)]
pub struct Material {
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    pub bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Publication {
    pub publish_id: String,
    pub article_id: String,
    pub news: Value,
    pub deleted: bool,
}

#[derive(Debug, Clone)]
pub struct MassSend {
    pub msg_id: u64,
    pub clientmsgid: Option<String>,
    pub deleted: bool,
}

#[derive(Debug, Default)]
pub struct World {
    token: Option<String>,
    token_expired: bool,
    pub token_fetches: u32,
    pub materials: BTreeMap<String, Material>,
    pub drafts: BTreeMap<String, Value>,
    pub published: Vec<Publication>,
    pub mass: Vec<MassSend>,
    mass_quota: usize,
    faults: Vec<(String, Fault)>,
    /// Every call: endpoint (after `/cgi-bin/`) and its JSON body (a summary for uploads).
    pub calls: Vec<(String, Value)>,
    serial: u64,
}

type Shared = Arc<Mutex<World>>;

pub struct WxServer {
    pub url: String,
    world: Shared,
}

impl WxServer {
    pub async fn start() -> WxServer {
        let mut w = World {
            mass_quota: 1,
            ..World::default()
        };
        w.materials.insert(
            COVER.into(),
            Material {
                kind: "image".into(),
                filename: "cover.png".into(),
                content_type: "image/png".into(),
                bytes: 1000,
            },
        );
        let world = Arc::new(Mutex::new(w));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(world.clone());
        let url = crate::support::serve_router(app).await;
        WxServer { url, world }
    }

    pub fn fault(&self, endpoint: &str, fault: Fault) {
        self.world
            .lock()
            .unwrap()
            .faults
            .push((endpoint.to_owned(), fault));
    }

    pub fn world<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.world.lock().unwrap())
    }

    /// The bodies sent to `endpoint`, in order.
    pub fn calls(&self, endpoint: &str) -> Vec<Value> {
        self.world(|w| {
            w.calls
                .iter()
                .filter(|(e, _)| e == endpoint)
                .map(|(_, b)| b.clone())
                .collect()
        })
    }

    pub fn endpoints(&self) -> Vec<String> {
        self.world(|w| w.calls.iter().map(|(e, _)| e.clone()).collect())
    }
}

fn answer(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn err(code: i64, msg: &str) -> Value {
    json!({ "errcode": code, "errmsg": format!("{msg} rid: 6650a1b2-0c0ffee0-12345678") })
}

fn ok(mut v: Value) -> Value {
    v["errcode"] = json!(0);
    v["errmsg"] = json!("ok");
    v
}

async fn handle(
    State(world): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(endpoint) = uri.path().strip_prefix("/cgi-bin/").map(str::to_owned) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let mut w = world.lock().unwrap();
    let summary = if endpoint == "material/add_material" {
        json!({ "type": query.get("type"), "bytes": body.len() })
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    w.calls.push((endpoint.clone(), summary));
    if method != Method::POST {
        return answer(err(43002, "require POST method"));
    }
    let fault = w
        .faults
        .iter()
        .position(|(e, _)| *e == endpoint)
        .map(|i| w.faults.remove(i).1);
    if endpoint == "stable_token" {
        return match fault {
            Some(Fault::Errcode(c)) => answer(err(c, "scripted")),
            Some(Fault::Http(s)) => StatusCode::from_u16(s).unwrap().into_response(),
            _ => answer(w.stable_token(&body)),
        };
    }
    if matches!(fault, Some(Fault::ExpireToken)) {
        w.token_expired = true;
    }
    match query.get("access_token") {
        None => return answer(err(41001, "access_token missing")),
        Some(t) if Some(t) != w.token.as_ref() => {
            return answer(err(
                40001,
                "invalid credential, access_token is invalid or not latest",
            ));
        }
        Some(_) if w.token_expired => return answer(err(42001, "access_token expired")),
        Some(_) => {}
    }
    match fault {
        Some(Fault::Errcode(c)) => return answer(err(c, "scripted")),
        Some(Fault::Http(s)) => {
            return (StatusCode::from_u16(s).unwrap(), "<html>bad gateway</html>").into_response();
        }
        _ => {}
    }
    let result = if endpoint == "material/add_material" {
        w.add_material(&query, &headers, &body)
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Err(_) => err(47001, "data format error"),
            Ok(b) => match endpoint.as_str() {
                "draft/add" => w.draft_add(&b),
                "draft/delete" => w.draft_delete(&b),
                "freepublish/submit" => w.submit(&b),
                "freepublish/batchget" => w.batchget(&b),
                "freepublish/get" => w.publish_get(&b),
                "freepublish/delete" => w.publish_delete(&b),
                "message/mass/sendall" => w.sendall(&b),
                "message/mass/delete" => w.mass_delete(&b),
                _ => err(40066, "invalid url"),
            },
        }
    };
    match fault {
        Some(Fault::AfterWork(c)) => answer(err(c, "scripted after the work was done")),
        _ => answer(result),
    }
}

fn chars(v: &Value) -> Option<usize> {
    v.as_str().map(|s| s.chars().count())
}

impl World {
    fn next(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn stable_token(&mut self, body: &[u8]) -> Value {
        let Ok(b) = serde_json::from_slice::<Value>(body) else {
            return err(47001, "data format error");
        };
        if b["grant_type"] != "client_credential" {
            return err(40002, "invalid grant_type");
        }
        if b["appid"] != APP_ID {
            return err(40013, "invalid appid");
        }
        if b["secret"] != SECRET {
            return err(40125, "invalid appsecret");
        }
        if !(b["force_refresh"].is_null() || b["force_refresh"].is_boolean()) {
            return err(47001, "data format error");
        }
        self.token_fetches += 1;
        let force = b["force_refresh"].as_bool().unwrap_or(false);
        if self.token.is_none() || self.token_expired || force {
            let n = self.next();
            self.token = Some(format!("TOKEN_{n}"));
            self.token_expired = false;
        }
        json!({ "access_token": self.token, "expires_in": 7200 })
    }

    fn add_material(
        &mut self,
        query: &HashMap<String, String>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Value {
        let ctype = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(parts) = multipart(ctype, body) else {
            return err(41005, "media data missing");
        };
        let Some(media) = parts.iter().find(|p| p.name == "media") else {
            return err(41005, "media data missing");
        };
        let (Some(filename), Some(content_type)) =
            (media.filename.clone(), media.content_type.clone())
        else {
            return err(40005, "invalid file type");
        };
        let kind = query.get("type").map(String::as_str).unwrap_or_default();
        match kind {
            "thumb" => {
                if content_type != "image/jpeg" {
                    return err(40005, "invalid file type");
                }
                if media.data.len() > 64 * 1024 {
                    return err(40012, "invalid thumb size");
                }
            }
            "image" => {
                if !["image/jpeg", "image/png", "image/gif", "image/bmp"]
                    .contains(&content_type.as_str())
                {
                    return err(40005, "invalid file type");
                }
                if media.data.len() > 10 * 1024 * 1024 {
                    return err(40009, "invalid image size");
                }
            }
            _ => return err(40004, "invalid media type"),
        }
        let id = format!("MATERIAL_{}", self.next());
        let m = Material {
            kind: kind.into(),
            filename,
            content_type,
            bytes: media.data.len(),
        };
        self.materials.insert(id.clone(), m);
        json!({ "media_id": id, "url": format!("http://mmbiz.qpic.cn/{id}") })
    }

    fn draft_add(&mut self, b: &Value) -> Value {
        let Some(articles) = b["articles"].as_array().filter(|a| !a.is_empty()) else {
            return err(44003, "empty news data");
        };
        for a in articles {
            for key in [
                "title",
                "author",
                "digest",
                "content",
                "content_source_url",
                "thumb_media_id",
                "article_type",
            ] {
                if !(a[key].is_null() || a[key].is_string()) {
                    return err(47001, "data format error");
                }
            }
            for key in ["need_open_comment", "only_fans_can_comment"] {
                if !(a[key].is_null() || a[key].is_u64()) {
                    return err(47001, "data format error");
                }
            }
            if !matches!(
                a["article_type"].as_str().unwrap_or("news"),
                "news" | "newspic"
            ) {
                return err(47003, "argument invalid! article_type");
            }
            if !matches!(chars(&a["title"]), Some(1..=32)) {
                return err(45003, "title size out of limit");
            }
            if chars(&a["author"]).unwrap_or(0) > 16 {
                return err(45110, "author size out of limit");
            }
            if chars(&a["digest"]).unwrap_or(0) > 128 {
                return err(45004, "description size out of limit");
            }
            let content = a["content"].as_str().unwrap_or_default();
            if content.is_empty() {
                return err(44004, "empty content");
            }
            if content.len() > 2048 {
                return err(45002, "content size out of limit");
            }
            if a["content_source_url"].as_str().unwrap_or_default().len() > 1024 {
                return err(45005, "url size out of limit");
            }
            if !a["thumb_media_id"]
                .as_str()
                .is_some_and(|t| self.materials.contains_key(t))
            {
                return err(40007, "invalid media_id");
            }
        }
        let id = format!("DRAFT_{}", self.next());
        self.drafts.insert(id.clone(), articles[0].clone());
        json!({ "media_id": id })
    }

    fn draft_delete(&mut self, b: &Value) -> Value {
        match b["media_id"].as_str().and_then(|m| self.drafts.remove(m)) {
            Some(_) => ok(json!({})),
            None => err(40007, "invalid media_id"),
        }
    }

    fn submit(&mut self, b: &Value) -> Value {
        let Some(news) = b["media_id"].as_str().and_then(|m| self.drafts.remove(m)) else {
            return err(40007, "invalid media_id");
        };
        let n = self.next();
        let publish_id = format!("{}", 2_247_483_000 + n);
        let article_id = format!("ARTICLE_{n}");
        let mut news = news;
        news["url"] = json!(format!("https://mp.weixin.qq.com/s/{article_id}"));
        news["is_deleted"] = json!(false);
        self.published.push(Publication {
            publish_id: publish_id.clone(),
            article_id,
            news,
            deleted: false,
        });
        ok(json!({ "publish_id": publish_id, "msg_data_id": 2_247_483_000 + n }))
    }

    fn batchget(&mut self, b: &Value) -> Value {
        let (Some(offset), Some(count)) = (b["offset"].as_u64(), b["count"].as_u64()) else {
            return err(47001, "data format error");
        };
        if !(1..=20).contains(&count) {
            return err(47003, "argument invalid! count");
        }
        let no_content = b["no_content"].as_u64() == Some(1);
        let items: Vec<Value> = self
            .published
            .iter()
            .rev()
            .skip(offset as usize)
            .take(count as usize)
            .map(|p| {
                let mut news = p.news.clone();
                news["is_deleted"] = json!(p.deleted);
                if no_content {
                    news.as_object_mut().unwrap().remove("content");
                }
                json!({ "article_id": p.article_id, "content": { "news_item": [news], "create_time": 1_764_000_000 }, "update_time": 1_764_000_000 })
            })
            .collect();
        json!({ "total_count": self.published.len(), "item_count": items.len(), "item": items })
    }

    fn publish_get(&mut self, b: &Value) -> Value {
        match self
            .published
            .iter()
            .find(|p| b["publish_id"].as_str() == Some(&p.publish_id))
        {
            Some(p) => json!({
                "publish_id": p.publish_id,
                "publish_status": if p.deleted { 5 } else { 0 },
                "article_id": p.article_id,
                "article_detail": { "count": 1, "item": [{ "idx": 1, "article_url": p.news["url"] }] },
                "fail_idx": [],
            }),
            None => err(53600, "invalid publish_id"),
        }
    }

    fn publish_delete(&mut self, b: &Value) -> Value {
        if !(b["index"].is_null() || b["index"].is_u64()) {
            return err(47001, "data format error");
        }
        match self
            .published
            .iter_mut()
            .find(|p| b["article_id"].as_str() == Some(&p.article_id) && !p.deleted)
        {
            Some(p) => {
                p.deleted = true;
                ok(json!({}))
            }
            None => err(53600, "invalid article_id"),
        }
    }

    fn sendall(&mut self, b: &Value) -> Value {
        let Some(to_all) = b["filter"]["is_to_all"].as_bool() else {
            return err(47001, "data format error");
        };
        if !to_all && b["filter"]["tag_id"].is_null() {
            return err(40003, "invalid tag_id");
        }
        if b["msgtype"] != "mpnews" {
            return err(40008, "invalid message type");
        }
        if !(b["send_ignore_reprint"].is_null() || b["send_ignore_reprint"].is_u64()) {
            return err(47001, "data format error");
        }
        let clientmsgid = match &b["clientmsgid"] {
            Value::Null => None,
            Value::String(s) if s.len() <= 64 => Some(s.clone()),
            Value::String(_) => return err(45067, "clientmsgid size out of limit"),
            _ => return err(47001, "data format error"),
        };
        if let Some(id) = &clientmsgid
            && let Some(m) = self
                .mass
                .iter()
                .find(|m| m.clientmsgid.as_ref() == Some(id))
        {
            return json!({ "errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": m.msg_id });
        }
        let Some(media_id) = b["mpnews"]["media_id"]
            .as_str()
            .filter(|m| self.drafts.contains_key(*m))
        else {
            return err(40007, "invalid media_id");
        };
        if self.mass.len() >= self.mass_quota {
            return err(45028, "has no masssend quota");
        }
        self.drafts.remove(media_id);
        let msg_id = 1_000_000 + self.next();
        self.mass.push(MassSend {
            msg_id,
            clientmsgid,
            deleted: false,
        });
        json!({ "errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id, "msg_data_id": msg_id + 7 })
    }

    fn mass_delete(&mut self, b: &Value) -> Value {
        match self
            .mass
            .iter_mut()
            .find(|m| b["msg_id"].as_u64() == Some(m.msg_id))
        {
            Some(m) => {
                m.deleted = true;
                ok(json!({}))
            }
            None => err(40007, "invalid msg_id"),
        }
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// Parses a `multipart/form-data` body (RFC 7578); None when it is not one.
pub fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut rest = &body[find(body, delimiter.as_bytes())? + delimiter.len()..];
    let mut parts = vec![];
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        rest = &rest[head_end + 4..];
        let end = find(rest, format!("\r\n{delimiter}").as_bytes())?;
        let data = rest[..end].to_vec();
        rest = &rest[end + 2 + delimiter.len()..];
        let (mut name, mut filename, mut ctype) = (None, None, None);
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':')?;
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                for p in v.split(';').map(str::trim) {
                    if let Some(n) = p.strip_prefix("name=") {
                        name = Some(n.trim_matches('"').to_owned());
                    } else if let Some(f) = p.strip_prefix("filename=") {
                        filename = Some(f.trim_matches('"').to_owned());
                    }
                }
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                ctype = Some(v.trim().to_owned());
            }
        }
        parts.push(Part {
            name: name?,
            filename,
            content_type: ctype,
            data,
        });
    }
    Some(parts)
}

// ---------------------------------------------------------------------------------------------

fn config(server: &WxServer, mode: Mode) -> wechat::Config {
    wechat::Config {
        api: server.url.clone(),
        app_id: APP_ID.into(),
        app_secret: Secret::new(SECRET),
        app_secret_file: None,
        thumb_media_id: None,
        author: None,
        mode,
        daily_quota: 1,
        monthly_quota: 0,
    }
}

fn post(key: &str, title: &str, summary: &str, image: Option<(PathBuf, String, String)>) -> Post {
    let link = format!("https://news.example.org/zh-Hans/news/{key}?utm_source=wechat");
    Post {
        key: format!("social:tag:news.example.org,2026:{key}:zh-Hans:wechat"),
        article: format!("tag:news.example.org,2026:{key}"),
        locale: "zh-Hans".into(),
        parts: text::Parts {
            title: title.into(),
            summary: summary.into(),
            link: Some(link.clone()),
            hashtags: vec!["新能源".into()],
        },
        link,
        title: title.into(),
        summary: summary.into(),
        image,
        created_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .unwrap(),
    }
}

fn simple_post(key: &str, image: Option<(PathBuf, String, String)>) -> Post {
    post(
        key,
        "广东新能源汽车出口创新高",
        "今年前十个月，广东新能源汽车出口同比增长超过四成。",
        image,
    )
}

#[derive(Debug, Clone, Copy)]
enum Image {
    None,
    /// A 2 KB JPEG: uploaded as a thumb.
    SmallJpeg,
    /// A 100 KB PNG: too big for a thumb, uploaded as an image.
    LargePng,
}

fn image(dir: &std::path::Path, kind: Image) -> Option<(PathBuf, String, String)> {
    let (name, mime, bytes): (&str, &str, Vec<u8>) = match kind {
        Image::None => return None,
        Image::SmallJpeg => (
            "cover.jpg",
            "image/jpeg",
            [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7; 2048]].concat(),
        ),
        Image::LargePng => (
            "cover.png",
            "image/png",
            [&b"\x89PNG\r\n\x1a\n"[..], &[0; 100 * 1024]].concat(),
        ),
    };
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    Some((path, "封面".into(), mime.into()))
}

#[derive(Debug)]
enum Expect {
    Posted,
    Transient {
        retry_after_at_least: Option<Duration>,
    },
    Permanent(&'static str),
}

struct Case {
    name: &'static str,
    mode: Mode,
    image: Image,
    thumb_media_id: Option<&'static str>,
    secret: &'static str,
    faults: Vec<(&'static str, Fault)>,
    expect: Expect,
    /// `stable_token` calls made.
    token_fetches: u32,
}

fn case(name: &'static str, expect: Expect) -> Case {
    Case {
        name,
        mode: Mode::Publish,
        image: Image::SmallJpeg,
        thumb_media_id: None,
        secret: SECRET,
        faults: vec![],
        expect,
        token_fetches: 1,
    }
}

const QUOTA_WAIT: Option<Duration> = Some(Duration::from_secs(5 * 60));

#[tokio::test]
async fn wechat_contract_cases() {
    use Expect::*;
    let cases = vec![
        case(
            "publish: the image is uploaded as a thumb, drafted and published",
            Posted,
        ),
        Case {
            image: Image::LargePng,
            ..case(
                "publish: a 100 KB PNG is uploaded as an image material",
                Posted,
            )
        },
        Case {
            image: Image::None,
            thumb_media_id: Some(COVER),
            ..case("publish: no image, the configured cover", Posted)
        },
        Case {
            faults: vec![("draft/add", Fault::ExpireToken)],
            token_fetches: 2,
            ..case(
                "token expired once: renewed exactly once and the call succeeds",
                Posted,
            )
        },
        Case {
            faults: vec![
                ("freepublish/submit", Fault::ExpireToken),
                ("freepublish/submit", Fault::ExpireToken),
            ],
            token_fetches: 2,
            ..case(
                "token refused again after the renewal: transient",
                Transient {
                    retry_after_at_least: None,
                },
            )
        },
        Case {
            faults: vec![("freepublish/submit", Fault::Errcode(-1))],
            ..case(
                "errcode -1 system busy: transient",
                Transient {
                    retry_after_at_least: None,
                },
            )
        },
        Case {
            faults: vec![("draft/add", Fault::Errcode(45009))],
            ..case(
                "45009 daily API quota: transient until the next Beijing day",
                Transient {
                    retry_after_at_least: QUOTA_WAIT,
                },
            )
        },
        Case {
            faults: vec![("material/add_material", Fault::Errcode(45011))],
            ..case(
                "45011 minute quota: transient, a minute",
                Transient {
                    retry_after_at_least: Some(Duration::from_secs(60)),
                },
            )
        },
        Case {
            image: Image::None,
            thumb_media_id: Some("MATERIAL_THAT_DOES_NOT_EXIST"),
            ..case(
                "invalid parameter (an unknown cover, 40007): permanent",
                Permanent("40007"),
            )
        },
        Case {
            faults: vec![("draft/add", Fault::Errcode(45002))],
            ..case("a content limit (45002): permanent", Permanent("45002"))
        },
        Case {
            image: Image::None,
            token_fetches: 1,
            ..case(
                "no image and no thumb_media_id: permanent, naming the setting",
                Permanent("thumb_media_id"),
            )
        },
        Case {
            secret: "wrong-secret",
            token_fetches: 0,
            ..case("a wrong app secret: permanent", Permanent("40125"))
        },
        Case {
            faults: vec![("freepublish/submit", Fault::Http(502))],
            ..case(
                "HTTP 502 from a proxy: transient",
                Transient {
                    retry_after_at_least: None,
                },
            )
        },
        Case {
            mode: Mode::MassSend,
            ..case(
                "mass send: sent to every follower with a clientmsgid",
                Posted,
            )
        },
        Case {
            mode: Mode::MassSend,
            faults: vec![("message/mass/sendall", Fault::Errcode(45028))],
            ..case(
                "45028 no mass-send quota: transient until the next Beijing day",
                Transient {
                    retry_after_at_least: QUOTA_WAIT,
                },
            )
        },
    ];
    for c in cases {
        let server = WxServer::start().await;
        for (endpoint, fault) in &c.faults {
            server.fault(endpoint, fault.clone());
        }
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(&server, c.mode);
        cfg.thumb_media_id = c.thumb_media_id.map(str::to_owned);
        cfg.app_secret = Secret::new(c.secret);
        let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
        let p = simple_post("gd-ev", image(dir.path(), c.image));
        let got = wx.post(&p).await;
        let name = c.name;
        match (&c.expect, &got) {
            (Expect::Posted, Ok(done)) => check_posted(&server, c.mode, c.image, &p, done, name),
            (
                Expect::Transient {
                    retry_after_at_least,
                },
                Err(e),
            ) => {
                assert!(e.transient, "{name}: {e:?}");
                if let Some(min) = retry_after_at_least {
                    let wait = e
                        .retry_after
                        .unwrap_or_else(|| panic!("{name}: no retry_after: {e:?}"));
                    assert!(
                        wait >= *min && wait <= Duration::from_secs(24 * 3600 + 5 * 60),
                        "{name}: {wait:?}"
                    );
                }
            }
            (Expect::Permanent(needle), Err(e)) => {
                assert!(!e.transient, "{name}: {e:?}");
                assert!(
                    e.message.contains(needle),
                    "{name}: {:?} does not name {needle}",
                    e.message
                );
            }
            (want, got) => panic!(
                "{name}: expected {want:?}, got {got:?} after {:?}",
                server.endpoints()
            ),
        }
        assert_eq!(
            server.world(|w| w.token_fetches),
            c.token_fetches,
            "{name}: stable_token calls"
        );
    }
}

fn check_posted(server: &WxServer, mode: Mode, img: Image, p: &Post, done: &Posted, name: &str) {
    let drafts = server.calls("draft/add");
    let article =
        drafts.last().unwrap_or_else(|| panic!("{name}: no draft"))["articles"][0].clone();
    assert_eq!(article["content_source_url"], p.link, "{name}");
    assert_eq!(article["title"], p.title, "{name}");
    assert_eq!(article["digest"], p.summary, "{name}");
    let content = article["content"].as_str().unwrap();
    assert!(
        content.contains("阅读原文") && content.contains(&p.link),
        "{name}: {content}"
    );
    let uploads = server.calls("material/add_material");
    match img {
        Image::None => {
            assert!(uploads.is_empty(), "{name}");
            assert_eq!(article["thumb_media_id"], COVER, "{name}");
        }
        Image::SmallJpeg | Image::LargePng => {
            let kind = if matches!(img, Image::SmallJpeg) {
                "thumb"
            } else {
                "image"
            };
            assert_eq!(uploads.len(), 1, "{name}");
            assert_eq!(uploads[0]["type"], kind, "{name}");
            let cover = article["thumb_media_id"].as_str().unwrap();
            let m = server.world(|w| w.materials[cover].clone());
            let (path, _, mime) = p.image.as_ref().unwrap();
            assert_eq!(m.kind, kind, "{name}");
            assert_eq!(m.content_type, *mime, "{name}");
            assert_eq!(
                Some(m.filename.as_str()),
                path.file_name().and_then(|f| f.to_str()),
                "{name}"
            );
            assert_eq!(
                m.bytes as u64,
                std::fs::metadata(path).unwrap().len(),
                "{name}"
            );
        }
    }
    match mode {
        Mode::Publish => {
            let published = server.world(|w| w.published.clone());
            assert_eq!(published.len(), 1, "{name}");
            assert_eq!(
                done,
                &Posted {
                    remote_id: published[0].publish_id.clone(),
                    url: None
                },
                "{name}"
            );
            assert!(server.calls("message/mass/sendall").is_empty(), "{name}");
        }
        Mode::MassSend => {
            let sends = server.calls("message/mass/sendall");
            assert_eq!(sends.len(), 1, "{name}");
            assert_eq!(sends[0]["filter"]["is_to_all"], true, "{name}");
            assert_eq!(
                sends[0]["clientmsgid"],
                wechat::client_msg_id(&p.key),
                "{name}"
            );
            assert_eq!(
                done.remote_id,
                server.world(|w| w.mass[0].msg_id.to_string()),
                "{name}"
            );
            assert!(server.calls("freepublish/submit").is_empty(), "{name}");
        }
    }
}

#[tokio::test]
async fn mass_send_retried_after_an_unknown_outcome_carries_the_same_clientmsgid_and_sends_once() {
    let server = WxServer::start().await;
    // The send goes out, but the answer says "system busy".
    server.fault("message/mass/sendall", Fault::AfterWork(-1));
    let mut cfg = config(&server, Mode::MassSend);
    cfg.thumb_media_id = Some(COVER.into());
    let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
    let p = simple_post("retry", None);
    let first = wx.post(&p).await.unwrap_err();
    assert!(first.transient, "{first:?}");
    let second = wx.post(&p).await.unwrap();
    let sends = server.calls("message/mass/sendall");
    assert_eq!(sends.len(), 2);
    assert_eq!(sends[0]["clientmsgid"], sends[1]["clientmsgid"]);
    assert!(sends[0]["clientmsgid"].as_str().unwrap().len() <= 64);
    let mass = server.world(|w| w.mass.clone());
    assert_eq!(mass.len(), 1, "followers got it once: {mass:?}");
    assert_eq!(second.remote_id, mass[0].msg_id.to_string());
    // The second attempt's draft was never sent: it was removed again.
    assert_eq!(server.calls("draft/delete").len(), 1);
    assert!(server.world(|w| w.drafts.is_empty()));
    assert_eq!(
        server.world(|w| w.token_fetches),
        1,
        "one token for both attempts"
    );
}

#[tokio::test]
async fn publish_retried_after_an_unknown_outcome_finds_the_publication() {
    let server = WxServer::start().await;
    server.fault("freepublish/submit", Fault::AfterWork(-1));
    let dir = tempfile::tempdir().unwrap();
    let wx = WeChat::new(&config(&server, Mode::Publish), reqwest::Client::new()).unwrap();
    let p = simple_post("unknown-outcome", image(dir.path(), Image::SmallJpeg));
    assert!(wx.post(&p).await.unwrap_err().transient);
    let again = wx.post(&p).await.unwrap();
    let published = server.world(|w| w.published.clone());
    assert_eq!(published.len(), 1);
    assert_eq!(
        again.remote_id,
        format!("article:{}", published[0].article_id)
    );
    assert_eq!(again.url.as_deref(), published[0].news["url"].as_str());
    assert_eq!(server.calls("draft/add").len(), 1, "no second draft");
    assert_eq!(
        server.calls("freepublish/submit").len(),
        1,
        "no second publication"
    );
    // The cover was uploaded once.
    assert_eq!(server.calls("material/add_material").len(), 1);
}

#[tokio::test]
async fn the_local_daily_quota_holds_a_second_mass_send_without_calling() {
    let server = WxServer::start().await;
    let mut cfg = config(&server, Mode::MassSend);
    cfg.thumb_media_id = Some(COVER.into());
    let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
    wx.post(&simple_post("first", None)).await.unwrap();
    let calls = server.endpoints().len();
    let e = wx.post(&simple_post("second", None)).await.unwrap_err();
    assert!(e.transient && e.message.contains("daily_quota"), "{e:?}");
    let wait = e.retry_after.unwrap();
    assert!(
        wait >= Duration::from_secs(5 * 60) && wait <= Duration::from_secs(24 * 3600 + 5 * 60),
        "{wait:?}"
    );
    assert_eq!(server.endpoints().len(), calls, "nothing was called");
}

#[tokio::test]
async fn the_local_monthly_quota_of_a_service_account_holds_sends_until_next_month() {
    let server = WxServer::start().await;
    let mut cfg = config(&server, Mode::MassSend);
    cfg.thumb_media_id = Some(COVER.into());
    cfg.daily_quota = 0;
    cfg.monthly_quota = 1;
    let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
    wx.post(&simple_post("one", None)).await.unwrap();
    let calls = server.endpoints().len();
    let e = wx.post(&simple_post("two", None)).await.unwrap_err();
    assert!(e.transient && e.message.contains("monthly_quota"), "{e:?}");
    let wait = e.retry_after.unwrap();
    assert!(
        wait >= Duration::from_secs(60) && wait <= Duration::from_secs(32 * 86_400),
        "{wait:?}"
    );
    assert_eq!(server.endpoints().len(), calls, "nothing was called");
}

#[tokio::test]
async fn title_digest_and_content_keep_to_the_limits() {
    let server = WxServer::start().await;
    let mut cfg = config(&server, Mode::Publish);
    cfg.thumb_media_id = Some(COVER.into());
    cfg.author = Some("湾区观察编辑部".into());
    let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
    let title =
        "粤港澳大湾区青年创新创业基地建设取得新进展：多个城市联合推出人才支持计划与住房保障措施";
    let summary =
        "这篇报道回顾了大湾区各城市在青年创新创业方面的合作成果，".repeat(30) + "<b>&</b>";
    let p = post("long", title, &summary, None);
    let done = wx.post(&p).await.unwrap();
    assert!(!done.remote_id.is_empty());
    let article = server.calls("draft/add")[0]["articles"][0].clone();
    let (t, d, c) = (
        article["title"].as_str().unwrap(),
        article["digest"].as_str().unwrap(),
        article["content"].as_str().unwrap(),
    );
    assert!(t.chars().count() <= 32 && t.ends_with('…'), "{t}");
    assert!(d.chars().count() <= 120 && d.ends_with('…'), "{d}");
    assert!(
        c.len() <= wechat::CONTENT_MAX_BYTES && c.contains("阅读原文") && c.contains(&p.link),
        "{c}"
    );
    assert!(!c.contains("<b>"), "HTML in the summary is escaped: {c}");
    assert_eq!(article["author"], "湾区观察编辑部");
    assert_eq!(wx.compose(&p).text, d, "compose shows the digest");
}

#[tokio::test]
async fn delete_removes_the_publication_or_the_mass_send() {
    let server = WxServer::start().await;
    let mut cfg = config(&server, Mode::Publish);
    cfg.thumb_media_id = Some(COVER.into());
    let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
    let done = wx.post(&simple_post("to-delete", None)).await.unwrap();
    wx.delete(&done).await.unwrap();
    let deleted = server.calls("freepublish/delete");
    assert_eq!(deleted.len(), 1);
    assert_eq!(
        deleted[0]["article_id"],
        server.world(|w| w.published[0].article_id.clone())
    );
    assert!(server.world(|w| w.published[0].deleted));
    // Asked again (a retried job): the publication is gone, which is done.
    wx.delete(&done).await.unwrap();

    cfg.mode = Mode::MassSend;
    let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
    let done = wx.post(&simple_post("mass-delete", None)).await.unwrap();
    wx.delete(&done).await.unwrap();
    assert_eq!(
        server.calls("message/mass/delete")[0]["msg_id"],
        json!(server.world(|w| w.mass[0].msg_id))
    );
    assert!(server.world(|w| w.mass[0].deleted));
}

#[tokio::test]
async fn healthcheck_fetches_a_token_and_a_token_serves_until_it_expires() {
    let server = WxServer::start().await;
    let mut cfg = config(&server, Mode::Publish);
    cfg.thumb_media_id = Some(COVER.into());
    let wx = WeChat::new(&cfg, reqwest::Client::new()).unwrap();
    wx.healthcheck().await.unwrap();
    assert_eq!(server.endpoints(), ["stable_token"], "no side effect");
    wx.post(&simple_post("a", None)).await.unwrap();
    wx.post(&simple_post("b", None)).await.unwrap();
    assert_eq!(server.world(|w| w.token_fetches), 1);

    let mut bad = config(&server, Mode::Publish);
    bad.app_secret = Secret::new("nope");
    let e: SocialError = WeChat::new(&bad, reqwest::Client::new())
        .unwrap()
        .healthcheck()
        .await
        .unwrap_err();
    assert!(!e.transient && e.message.contains("40125"), "{e:?}");
}

#[test]
fn the_config_has_documented_defaults_and_is_checked() {
    let c: wechat::Config = toml::from_str("app_id = \"wx1\"\napp_secret = \"s\"\n").unwrap();
    assert_eq!(c.api, "https://api.weixin.qq.com");
    assert_eq!(c.mode, Mode::Publish);
    assert_eq!(c.daily_quota, 1);
    let c: wechat::Config =
        toml::from_str("app_id = \"wx1\"\nmode = \"mass_send\"\nthumb_media_id = \"M\"\n").unwrap();
    assert_eq!(c.mode, Mode::MassSend);
    assert!(toml::from_str::<wechat::Config>("app_id = \"wx1\"\nappsecret = \"s\"\n").is_err());
    assert!(toml::from_str::<wechat::Config>("app_id = \"wx1\"\nmode = \"broadcast\"\n").is_err());
    let mut c: wechat::Config = toml::from_str("app_id = \"wx1\"\n").unwrap();
    c.author = Some("一二三四五六七八九十一二三四五六七".into());
    assert!(
        WeChat::new(&c, reqwest::Client::new())
            .unwrap_err()
            .to_string()
            .contains("16")
    );
}
