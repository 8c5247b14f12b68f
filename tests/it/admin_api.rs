//! The admin API over HTTP: every endpoint, every refusal (no token, wrong scope,
//! malformed JSON, wrong content type, unknown locale, oversized body), on every engine.

use crate::support::{Db, TestApp, client, engines, serve};
use bridgecast::api::{Scope, auth};
use bridgecast::clock::Clock;
use serde_json::{Value, json};

pub struct Api {
    pub t: TestApp,
    pub base: String,
    pub read: String,
    pub write: String,
    pub c: reqwest::Client,
}

impl Api {
    pub async fn start(db: Db) -> Api {
        Self::with(
            TestApp::builder()
                .db(db)
                .config(|c| c.api.max_body_bytes = 4096),
        )
        .await
    }

    pub async fn with(b: crate::support::Builder) -> Api {
        let t = b.build().await;
        let now = t.clock.now();
        let (_, read) = auth::create(&t.app.store, "reader", &[Scope::Read], now)
            .await
            .unwrap();
        let (_, write) = auth::create(
            &t.app.store,
            "editor",
            &[Scope::Read, Scope::ArticlesWrite],
            now,
        )
        .await
        .unwrap();
        let base = serve(&t.app).await;
        Api {
            t,
            base,
            read,
            write,
            c: client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let r = self
            .c
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        body(r).await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        json: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.c.request(method, self.url(path)).bearer_auth(token);
        if let Some(j) = json {
            r = r.json(&j);
        }
        body(r.send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, json: Option<Value>) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, &self.write, json)
            .await
    }
}

pub async fn body(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        assert!(ct.starts_with("application/json"), "{status} {ct}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    (status, v)
}

/// The percent-encoded path segment for an article id.
pub fn enc(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

pub fn article(slug: &str, published_at: &str) -> Value {
    json!({
        "channel": "news",
        "slug": slug,
        "topics": ["education"],
        "published_at": published_at,
        "translations": [
            {"locale": "en", "title": "Robotics camp opens", "summary": "Forty pupils", "body": "Pupils **build** robots. <script>alert(1)</script>",
             "image": {"url": "https://img.example/robot-camp.png", "alt": "Pupils around a robot arm"}},
            {"locale": "de", "title": "Robotik-Camp eröffnet", "summary": "Vierzig Schüler", "body": "Schüler bauen Roboter."}
        ]
    })
}

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
}

#[tokio::test]
async fn admin_api_refuses_with_json_errors() {
    for db in engines() {
        let api = Api::start(db).await;
        let create = api.url("/api/v1/articles");
        // No token.
        let r = api.c.get(api.url("/api/v1/articles")).send().await.unwrap();
        assert_eq!(r.status(), 401, "{db:?}");
        assert!(r.headers().get("www-authenticate").is_some());
        let (_, v) = body(r).await;
        assert_error(&v, "unauthorized");
        // Unknown, malformed and revoked tokens.
        for bad in [
            "bc_000000000000_00",
            "nonsense",
            &api.read.replace('a', "b"),
        ] {
            let (s, v) = api.get("/api/v1/articles", bad).await;
            assert_eq!(s, 401, "{bad}: {v}");
            assert_error(&v, "invalid_token");
        }
        // The wrong scope is refused before the body is even read.
        let (s, v) = api
            .send(
                reqwest::Method::POST,
                "/api/v1/articles",
                &api.read,
                Some(json!({})),
            )
            .await;
        assert_eq!(s, 403, "{v}");
        assert_error(&v, "insufficient_scope");
        let r = api
            .c
            .post(&create)
            .bearer_auth(&api.read)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        // Malformed JSON, wrong content type, wrong shape.
        let r = api
            .c
            .post(&create)
            .bearer_auth(&api.write)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        let (s, v) = body(r).await;
        assert_eq!(s, 400, "{v}");
        assert_error(&v, "malformed_json");
        let r = api
            .c
            .post(&create)
            .bearer_auth(&api.write)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap();
        let (s, v) = body(r).await;
        assert_eq!(s, 415, "{v}");
        assert_error(&v, "unsupported_media_type");
        let (s, v) = api
            .post(
                "/api/v1/articles",
                Some(json!({"channel": "news", "slug": "x", "translations": [{"locale": "en"}]})),
            )
            .await;
        assert_eq!(s, 422, "{v}");
        assert_error(&v, "invalid_json");
        assert_eq!(v["error"]["field"], "translations[0]", "{v}");
        // Oversized body.
        let mut big = article("big", "2026-11-28T10:00:00Z");
        big["translations"][0]["body"] = json!("x".repeat(10_000));
        let (s, v) = api.post("/api/v1/articles", Some(big)).await;
        assert_eq!(s, 413, "{v}");
        assert_error(&v, "body_too_large");
        // Unknown locale, named with its field and locale.
        let mut a = article("camp", "2026-11-28T10:00:00Z");
        a["translations"][1]["locale"] = json!("fr");
        let (s, v) = api.post("/api/v1/articles", Some(a)).await;
        assert_eq!(s, 422, "{v}");
        assert_error(&v, "unknown_locale");
        assert_eq!(v["error"]["field"], "translations[1].locale");
        assert_eq!(v["error"]["locale"], "fr");
        // An empty title names the field and the locale.
        let mut a = article("camp", "2026-11-28T10:00:00Z");
        a["translations"][1]["title"] = json!("  ");
        let (s, v) = api.post("/api/v1/articles", Some(a)).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["error"]["field"], "translations[1].title");
        assert_eq!(v["error"]["locale"], "de");
        // Other field checks.
        for (field, value, bad) in [
            ("channel", json!("nope"), "channel"),
            ("slug", json!("Not A Slug"), "slug"),
            ("topics", json!(["astrology"]), "topics"),
            ("id", json!("urn:x"), "id"),
        ] {
            let mut a = article("camp", "2026-11-28T10:00:00Z");
            a[field] = value;
            let (s, v) = api.post("/api/v1/articles", Some(a)).await;
            assert_eq!(s, 422, "{field}: {v}");
            assert_eq!(v["error"]["field"], bad, "{v}");
        }
        let mut a = article("camp", "2026-11-28T10:00:00Z");
        a["translations"][1]["image"] = json!({"url": "https://img.example/camp.png", "alt": " "});
        let (s, v) = api.post("/api/v1/articles", Some(a)).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some("translations[1].image.alt")),
            "{v}"
        );
        assert_eq!(v["error"]["locale"], "de");
        let mut a = article("camp", "2026-11-28T10:00:00Z");
        a["translations"][0]["image"] = json!({"url": "javascript:alert(1)", "alt": "x"});
        let (s, v) = api.post("/api/v1/articles", Some(a)).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some("translations[0].image.url")),
            "{v}"
        );
        let mut a = article("camp", "2026-11-28T10:00:00Z");
        a["translations"][0]["status"] = json!("published");
        let (s, v) = api.post("/api/v1/articles", Some(a)).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some("translations[0].status"))
        );
        // Unknown endpoints and methods are JSON too.
        let (s, v) = api.get("/api/v1/nothing-here", &api.read).await;
        assert_eq!(s, 404);
        assert_error(&v, "not_found");
        let (s, v) = api
            .send(
                reqwest::Method::DELETE,
                "/api/v1/articles",
                &api.write,
                None,
            )
            .await;
        assert_eq!(s, 405, "{v}");
        assert_error(&v, "method_not_allowed");
        let (s, v) = api
            .get("/api/v1/articles/tag%3Anone%2C2026%3Ax", &api.read)
            .await;
        assert_eq!(s, 404);
        assert_error(&v, "not_found");
        // CORS is off: a preflight gets no Access-Control-Allow-Origin.
        let r = api
            .c
            .request(reqwest::Method::OPTIONS, api.url("/api/v1/articles"))
            .header("origin", "https://evil.example")
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        // A revoked token stops working.
        let id = api.read.split('_').nth(1).unwrap().to_owned();
        assert!(
            api.t
                .app
                .store
                .revoke_token(&id, api.t.clock.now())
                .await
                .unwrap()
        );
        let (s, _) = api.get("/api/v1/articles", &api.read).await;
        assert_eq!(s, 401);
        // Nothing was written by any of the refusals.
        let (_, list) = api.get("/api/v1/articles", &api.write).await;
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .all(|a| a["source"] != "api"),
            "{list}"
        );
    }
}

#[tokio::test]
async fn admin_api_article_lifecycle_reaches_the_feeds() {
    for db in engines() {
        let api = Api::start(db).await;
        let t = &api.t;
        // Scheduled for tomorrow: stored, not in any feed.
        let (s, v) = api
            .post(
                "/api/v1/articles",
                Some(article("robot-camp", "2026-11-29T09:00:00Z")),
            )
            .await;
        assert_eq!(s, 201, "{db:?}: {v}");
        let id = v["id"].as_str().unwrap().to_owned();
        assert!(
            id.starts_with("tag:feeds.example.org,2026-11-28:news/robot-camp"),
            "{id}"
        );
        assert_eq!(v["source"], "api");
        let en = &v["translations"][1];
        assert_eq!(
            (en["locale"].as_str(), en["state"].as_str()),
            (Some("en"), Some("scheduled"))
        );
        assert!(
            !en["body_html"].as_str().unwrap().contains("<script"),
            "{en}"
        );
        assert!(
            en["body_html"]
                .as_str()
                .unwrap()
                .contains("<strong>build</strong>")
        );
        t.drain().await;
        assert!(
            !t.doc("/feeds/news/en/atom.xml")
                .contains("Robotics camp opens")
        );
        // Creating it again is a conflict.
        let mut again = article("robot-camp", "2026-11-29T09:00:00Z");
        again["id"] = json!(id);
        let (s, v) = api.post("/api/v1/articles", Some(again)).await;
        assert_eq!(s, 409, "{v}");
        // Publish now.
        let path = format!("/api/v1/articles/{}", enc(&id));
        let (s, v) = api.post(&format!("{path}/publish"), None).await;
        assert_eq!(s, 200, "{v}");
        t.drain().await;
        let (_, v) = api.get(&path, &api.read).await;
        assert!(
            v["translations"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["state"] == "live"),
            "{v}"
        );
        assert!(
            t.doc("/feeds/news/en/atom.xml")
                .contains("Robotics camp opens")
        );
        assert!(
            t.doc("/feeds/news/de/rss.xml")
                .contains("Robotik-Camp eröffnet")
        );
        assert!(
            t.doc("/feeds/news/en/rss.xml")
                .contains("https://img.example/robot-camp.png")
        );
        // Locales without a translation fall back as the channel says.
        assert!(
            t.doc("/feeds/news/ja/feed.json")
                .contains("Robotics camp opens")
        );
        // Update: new title, article-level fields kept in step.
        let mut upd = article("robot-camp", "2026-11-28T12:00:00Z");
        upd["translations"] =
            json!([{"locale": "en", "title": "Robotics camp opens its doors", "body": "More."}]);
        let (s, v) = api
            .send(reqwest::Method::PUT, &path, &api.write, Some(upd))
            .await;
        assert_eq!(s, 200, "{v}");
        t.drain().await;
        assert!(
            t.doc("/feeds/news/en/atom.xml")
                .contains("Robotics camp opens its doors")
        );
        // Another article's address is refused.
        let mut clash = article("round-table", "2026-11-28T12:00:00Z");
        clash["translations"] = json!([{"locale": "en", "title": "x"}]);
        let (s, v) = api
            .send(reqwest::Method::PUT, &path, &api.write, Some(clash.clone()))
            .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some("slug")),
            "{v}"
        );
        let (s, v) = api.post("/api/v1/articles", Some(clash)).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (422, Some("slug")),
            "{v}"
        );
        // Correct: updated_at and the note.
        t.clock.advance(chrono::Duration::hours(1));
        let (s, v) = api
            .post(
                &format!("{path}/correct"),
                Some(json!({"note": "The camp has 40 places, not 14.", "translations": [
                    {"locale": "de", "title": "Robotik-Camp eröffnet", "body": "Vierzig Plätze."}
                ]})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let de = v["translations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["locale"] == "de")
            .unwrap();
        assert_eq!(de["correction"], "The camp has 40 places, not 14.");
        assert!(de["updated_at"].as_str().is_some());
        t.drain().await;
        assert!(t.doc("/feeds/news/de/atom.xml").contains("Vierzig Plätze"));
        // A correction of a locale the article lacks names it.
        let (s, v) = api
            .post(
                &format!("{path}/correct"),
                Some(json!({"note": "x", "translations": [{"locale": "ar", "title": "x"}]})),
            )
            .await;
        assert_eq!((s, v["error"]["locale"].as_str()), (422, Some("ar")), "{v}");
        let (s, v) = api
            .post(&format!("{path}/correct"), Some(json!({"note": " "})))
            .await;
        assert_eq!((s, v["error"]["field"].as_str()), (422, Some("note")));
        // A re-scan of the content folder keeps the API's article.
        t.resync().await;
        assert!(
            t.doc("/feeds/news/en/atom.xml")
                .contains("Robotics camp opens its doors")
        );
        // List and fetch.
        let (s, list) = api.get("/api/v1/articles?channel=news", &api.read).await;
        assert_eq!(s, 200);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .any(|a| a["id"] == id.as_str())
        );
        let (_, list) = api
            .get("/api/v1/articles?channel=science-tech", &api.read)
            .await;
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .all(|a| a["channel"] == "science-tech")
        );
        // Retract: a tombstone replaces the entry.
        let (s, v) = api.post(&format!("{path}/retract"), None).await;
        assert_eq!(s, 200, "{v}");
        t.drain().await;
        let atom = t.doc("/feeds/news/en/atom.xml");
        assert!(!atom.contains("Robotics camp opens its doors"), "{atom}");
        assert!(
            atom.contains("deleted-entry") && atom.contains(&id),
            "no tombstone"
        );
        let (s, v) = api.post(&format!("{path}/retract"), None).await;
        assert_eq!(s, 409, "{v}");
        let (s, _) = api.post(&format!("{path}/publish"), None).await;
        assert_eq!(s, 409);
        // Articles from the content folder are the folder's to change.
        let file_id = t
            .app
            .store
            .all_translations()
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.slug == "round-table")
            .unwrap()
            .article_id;
        let (s, v) = api
            .post(&format!("/api/v1/articles/{}/retract", enc(&file_id)), None)
            .await;
        assert_eq!(s, 409, "{v}");
        assert_eq!(v["error"]["code"], "not_api_managed");
        let (s, v) = api
            .get(&format!("/api/v1/articles/{}", enc(&file_id)), &api.read)
            .await;
        assert_eq!(s, 200);
        assert!(v["translations"].as_array().unwrap().len() >= 3, "{v}");
    }
}

#[tokio::test]
async fn admin_api_jobs_list_retry_and_cancel() {
    for db in engines() {
        let api = Api::start(db).await;
        let t = &api.t;
        let now = t.clock.now();
        // A job whose payload no worker can read dies at once.
        t.app
            .store
            .enqueue_now(
                "broken:1",
                "mystery",
                "{}",
                bridgecast::store::EnqueueMode::Coalesce,
                now,
            )
            .await
            .unwrap();
        t.drain().await;
        let (s, dead) = api.get("/api/v1/jobs?state=dead", &api.read).await;
        assert_eq!(s, 200, "{dead}");
        let job = dead
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["key"] == "broken:1")
            .unwrap_or_else(|| panic!("{db:?}: {dead}"))
            .clone();
        assert!(
            job["last_error"]
                .as_str()
                .unwrap()
                .contains("unreadable payload")
        );
        let id = job["id"].as_i64().unwrap();
        let (s, v) = api.post(&format!("/api/v1/jobs/{id}/cancel"), None).await;
        assert_eq!(s, 409, "{v}");
        let (s, v) = api.post(&format!("/api/v1/jobs/{id}/retry"), None).await;
        assert_eq!((s, v["state"].as_str()), (200, Some("pending")), "{v}");
        let (s, v) = api.post(&format!("/api/v1/jobs/{id}/retry"), None).await;
        assert_eq!(s, 409, "{v}");
        let (s, v) = api.post(&format!("/api/v1/jobs/{id}/cancel"), None).await;
        assert_eq!((s, v["state"].as_str()), (200, Some("dead")), "{v}");
        assert_eq!(v["last_error"], "cancelled by an operator");
        let (s, pending) = api.get("/api/v1/jobs?state=pending", &api.read).await;
        assert_eq!(s, 200);
        assert!(
            pending
                .as_array()
                .unwrap()
                .iter()
                .all(|j| j["state"] == "pending")
        );
        let (s, all) = api.get("/api/v1/jobs?limit=5", &api.read).await;
        assert_eq!((s, all.as_array().unwrap().len()), (200, 5));
        let (s, v) = api.get("/api/v1/jobs?state=sleeping", &api.read).await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (400, Some("state")),
            "{v}"
        );
        // A path or query parameter of the wrong type is a JSON 400 too.
        let (s, v) = api.post("/api/v1/jobs/seven/retry", None).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{v}"
        );
        let (s, v) = api.get("/api/v1/jobs?limit=many", &api.read).await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some("bad_request")),
            "{v}"
        );
        let (s, _) = api.post("/api/v1/jobs/999999/retry", None).await;
        assert_eq!(s, 404);
        let (s, v) = api
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/jobs/{id}/retry"),
                &api.read,
                None,
            )
            .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (403, Some("insufficient_scope"))
        );
        let (s, v) = api.get("/api/v1/ingest", &api.read).await;
        assert_eq!((s, v), (200, json!([])));
    }
}

/// Every `$ref` in the document, for checking that each resolves.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    out.extend(x.as_str());
                }
                refs(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn admin_openapi_document_matches_the_routes_and_is_valid_openapi_3() {
    let api = Api::start(Db::Sqlite).await;
    // Served without a token, as JSON.
    let r = api
        .c
        .get(api.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    let (s, doc) = body(r).await;
    assert_eq!(s, 200);
    // Routes and document list the same operations.
    let served: std::collections::BTreeSet<(String, String)> =
        bridgecast::api::route_table(&api.t.app)
            .into_iter()
            .map(|(m, p)| (m.as_str().to_ascii_lowercase(), p.to_owned()))
            .collect();
    let methods = [
        "get", "put", "post", "delete", "patch", "options", "head", "trace",
    ];
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = std::collections::BTreeSet::new();
    for (p, item) in paths {
        for (m, _) in item.as_object().unwrap() {
            if methods.contains(&m.as_str()) {
                documented.insert((m.clone(), p.clone()));
            }
        }
    }
    assert_eq!(served, documented, "routes and OpenAPI document differ");
    assert!(served.iter().all(|(_, p)| p.starts_with("/api/v1/")));
    // Structure of an OpenAPI 3 document.
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert!(!doc["info"]["title"].as_str().unwrap().is_empty());
    assert!(!doc["info"]["version"].as_str().unwrap().is_empty());
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    let mut op_ids = std::collections::BTreeSet::new();
    for (p, item) in paths {
        assert!(p.starts_with('/'), "{p}");
        for (m, op) in item.as_object().unwrap() {
            let at = format!("{m} {p}");
            if let Some(id) = op["operationId"].as_str() {
                assert!(
                    op_ids.insert(id.to_owned()),
                    "{at}: duplicate operationId {id}"
                );
            }
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{at}: responses"));
            assert!(!responses.is_empty(), "{at}");
            for (code, r) in responses {
                assert!(
                    code == "default" || (code.len() == 3 && code.parse::<u16>().is_ok()),
                    "{at}: {code}"
                );
                assert!(r["description"].is_string(), "{at} {code}: description");
            }
            // Each {param} of the path is declared as a required path parameter.
            for seg in p.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(['{', '}']);
                let declared = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|x| x["name"] == name && x["in"] == "path" && x["required"] == true)
                });
                assert!(declared, "{at}: path parameter {name} is not declared");
            }
            for x in op["parameters"].as_array().into_iter().flatten() {
                if x["in"] == "path" {
                    let name = x["name"].as_str().unwrap();
                    assert!(
                        p.contains(&format!("{{{name}}}")),
                        "{at}: path parameter {name} is not in the path"
                    );
                }
            }
            for req in op["security"].as_array().into_iter().flatten() {
                for scheme in req.as_object().unwrap().keys() {
                    assert!(
                        schemes.contains_key(scheme),
                        "{at}: unknown scheme {scheme}"
                    );
                }
            }
        }
    }
    let mut all = vec![];
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(schemas.contains_key(name), "$ref to missing schema {name}");
    }
    // The reference validator, when it is installed (pip install openapi-spec-validator).
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let script = "import json, sys\n\
        from openapi_spec_validator import validate\n\
        validate(json.load(open(sys.argv[1])))\n\
        print('valid')";
    match std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
    {
        Ok(o) if o.status.success() => {
            assert!(String::from_utf8_lossy(&o.stdout).contains("valid"));
        }
        Ok(o) if String::from_utf8_lossy(&o.stderr).contains("No module named") => {
            assert_ne!(
                std::env::var("BRIDGECAST_REQUIRE_PEERS").as_deref(),
                Ok("1"),
                "openapi-spec-validator is not installed (.ci/run installs it)"
            );
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED openapi-spec-validator: not installed (pip install openapi-spec-validator)"
            );
        }
        Ok(o) => panic!(
            "openapi-spec-validator rejects the document: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED openapi-spec-validator: no python3: {e}"
            );
        }
    }
}

#[tokio::test]
async fn admin_tokens_are_created_once_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bridgecast"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&[
        "tokens",
        "create",
        "--scope",
        "read",
        "--scope",
        "articles:write",
        "--name",
        "ci",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("bc_") && token.len() > 70, "{token}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown once"));
    let (id, secret) = token["bc_".len()..].split_once('_').unwrap();
    let out = run(&["tokens", "create", "--scope", "everything"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scope"));
    let list = String::from_utf8(run(&["tokens", "list"]).stdout).unwrap();
    assert!(
        list.contains(id)
            && list.contains("ci")
            && list.contains("read articles:write")
            && list.contains("live"),
        "{list}"
    );
    assert!(!list.contains(secret));
    // Only a digest is stored.
    for f in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/bridgecast.db").display()
    );
    let store = bridgecast::store::Store::connect(&url).await.unwrap();
    let row = auth::verify(&store, &token)
        .await
        .unwrap()
        .expect("live token");
    assert_eq!(row.scopes, ["read", "articles:write"]);
    assert!(
        auth::verify(&store, &format!("bc_{id}_{}", "0".repeat(64)))
            .await
            .unwrap()
            .is_none()
    );
    let out = run(&["tokens", "revoke", id]);
    assert!(out.status.success());
    assert!(auth::verify(&store, &token).await.unwrap().is_none());
    assert!(
        String::from_utf8(run(&["tokens", "list"]).stdout)
            .unwrap()
            .contains("revoked")
    );
    assert_eq!(run(&["tokens", "revoke", id]).status.code(), Some(1));
}

#[tokio::test]
async fn admin_api_every_protected_route_refuses_missing_tokens_and_wrong_scopes() {
    for db in engines() {
        let api = Api::start(db).await;
        let (_, audience) = auth::create(
            &api.t.app.store,
            "audience",
            &[Scope::AudienceWrite],
            api.t.clock_now(),
        )
        .await
        .unwrap();
        let (_, articles) = auth::create(
            &api.t.app.store,
            "articles",
            &[Scope::ArticlesWrite],
            api.t.clock_now(),
        )
        .await
        .unwrap();
        let routes = bridgecast::api::route_table(&api.t.app);
        assert!(routes.len() >= 23);
        for (method, path) in routes {
            if path == "/api/v1/openapi.json" {
                continue;
            }
            // A write to the audience needs audience:write, any other write
            // articles:write: the other write scope is the unrelated one.
            let is_audience = path.starts_with("/api/v1/subscribers")
                || path.starts_with("/api/v1/organisations");
            let unrelated = if is_audience && method != axum::http::Method::GET {
                &articles
            } else {
                &audience
            };
            let path = path
                .replace("{id}", "1")
                .replace("{email}", "a%40example.org");
            let m = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
            let r = api
                .c
                .request(m.clone(), api.url(&path))
                .send()
                .await
                .unwrap();
            let (s, v) = body(r).await;
            assert_eq!(s, 401, "{db:?} {method} {path}: {v}");
            assert_error(&v, "unauthorized");
            // A token with an unrelated scope is forbidden everywhere.
            let (s, v) = api.send(m.clone(), &path, unrelated, None).await;
            assert_eq!(s, 403, "{method} {path}: {v}");
            assert_error(&v, "insufficient_scope");
            // A read-only token may not write.
            if method != axum::http::Method::GET {
                let (s, v) = api.send(m, &path, &api.read, None).await;
                assert_eq!(s, 403, "{method} {path}: {v}");
            }
        }
    }
}

/// The real daemon: a token made with the CLI, an article posted to the API, the
/// worker (not the test) publishing it, and the status page answering.
#[tokio::test]
async fn admin_api_on_the_real_daemon_publishes_without_a_test_driving_the_queue() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_dir(
        &crate::support::repo().join("feeds"),
        &dir.path().join("feeds"),
    );
    let port = crate::support::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bridgecast"))
        .args([
            "tokens",
            "create",
            "--scope",
            "read",
            "--scope",
            "articles:write",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_bridgecast"))
        .arg("serve")
        .current_dir(dir.path())
        .env("BRIDGECAST_LISTEN", format!("127.0.0.1:{port}"))
        .env("BRIDGECAST_BASE_URL", &base)
        .env("BRIDGECAST_SCHEDULER__WATCH", "false")
        .env("BRIDGECAST_JOBS__POLL_MS", "100")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _daemon = Kill(child);
    let c = client();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !c
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(Instant::now() < deadline, "daemon not ready within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = c
        .post(format!("{base}/api/v1/articles"))
        .bearer_auth(&token)
        .json(&article("daemon-camp", "2026-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap();
    let (s, v) = body(r).await;
    assert_eq!(s, 201, "{v}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let atom = c
            .get(format!("{base}/feeds/news/de/atom.xml"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if atom.contains("Robotik-Camp eröffnet") {
            break;
        }
        assert!(Instant::now() < deadline, "not published within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = c
        .get(format!("{base}/admin"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
