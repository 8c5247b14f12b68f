//! One place to see what happened: the per-article timeline (API and `bridgecast
//! status ARTICLE`) after an article went end to end through feeds, WebSub, a stub
//! social account and digests into a real SMTP sink; and the `/admin` status page.

use crate::admin_api::{Api, article, body, enc};
use crate::support::{TestApp, engines};
use crate::websub::Hub;
use bridgecast::social::{self, AccountConfig};
use serde_json::Value;

fn stub_account(id: &str, locales: &[&str], outbox: &str) -> AccountConfig {
    let mut a: AccountConfig = toml::from_str(&format!(
        "id = {id:?}\nlocales = {locales:?}\nenabled = true\n[stub]\noutbox = {outbox:?}\n"
    ))
    .unwrap();
    a.hashtags = false;
    a
}

#[tokio::test]
async fn admin_status_timeline_shows_feeds_pings_posts_and_digests() {
    for db in engines() {
        let hub = Hub::start(vec![]).await;
        let Some((_sink, port, mail, _tmp)) = crate::email_smtp::sink("node", &[]) else {
            return;
        };
        let outbox = format!("timeline-{}", uuid::Uuid::new_v4());
        let (h, o) = (hub.url.clone(), outbox.clone());
        let api = Api::with(TestApp::builder().db(db).config(move |c| {
            c.websub.hubs = vec![h];
            c.social.accounts = vec![stub_account("en-stub", &["en"], &o)];
            c.email.smtp_host = "127.0.0.1".into();
            c.email.smtp_port = port;
            c.email.tls = bridgecast::email::config::Tls::None;
        }))
        .await;
        let t = &api.t;
        // Two English readers and one Arabic reader with instant digests.
        let now = t.app.now();
        let mut instant = crate::email_digest::daily("UTC", 8);
        instant.frequency = bridgecast::email::schedule::Frequency::Instant;
        for (addr, l) in [
            ("a@example.org", "en"),
            ("b@example.org", "en"),
            ("c@example.org", "ar"),
        ] {
            let mut sub = crate::email_digest::subscriber(addr, l, instant.clone(), now);
            sub.since = now - chrono::Duration::minutes(1);
            t.app.store.insert_subscriber(&sub).await.unwrap();
        }
        let (s, v) = api
            .post(
                "/api/v1/articles",
                Some(article("timeline-camp", "2026-11-28T11:00:00Z")),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        t.drain().await;
        bridgecast::email::digest::plan(&t.app).await.unwrap();
        t.drain().await;
        assert_eq!(social::stub::posts(&outbox).len(), 1);
        assert_eq!(
            crate::email_smtp::files(&mail, ".eml").len(),
            3,
            "three digests in the sink"
        );
        let (s, tl) = api
            .get(
                &format!("/api/v1/articles/{}/timeline", enc(&id)),
                &api.read,
            )
            .await;
        assert_eq!(s, 200, "{tl}");
        assert_eq!(tl["article"], id.as_str());
        let locale = |l: &str| -> Value {
            tl["locales"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["locale"] == l)
                .unwrap_or_else(|| panic!("no {l} in {tl}"))
                .clone()
        };
        // en: three feeds with the stored ETags, a ping per feed, the post.
        let en = locale("en");
        let feeds = en["feeds"].as_array().unwrap();
        assert_eq!(feeds.len(), 3, "{en}");
        for f in feeds {
            let path = f["path"].as_str().unwrap();
            let doc = t.app.cache.get(path).unwrap();
            assert_eq!(f["etag"], doc.etag.as_str(), "{path}");
            assert_eq!(f["shows"], "shown");
        }
        let pings = en["websub"].as_array().unwrap();
        assert_eq!(pings.len(), 3, "{en}");
        assert!(
            pings
                .iter()
                .all(|p| p["state"] == "done" && p["hub"] == hub.url.as_str()),
            "{en}"
        );
        let posts = en["social"].as_array().unwrap();
        assert_eq!(posts.len(), 1, "{en}");
        assert_eq!(posts[0]["account"], "en-stub");
        assert_eq!(posts[0]["platform"], "stub");
        assert_eq!(posts[0]["state"], "posted");
        assert_eq!(posts[0]["job_state"], "done");
        assert!(
            posts[0]["remote_url"]
                .as_str()
                .is_some_and(|u| !u.is_empty())
                || posts[0]["remote_id"].is_string(),
            "{posts:?}"
        );
        assert!(posts[0]["last_error"].is_null());
        // Digests: the en digest carried it to both English readers, the ar one (in
        // its English fallback) to the Arabic reader.
        let digests = en["digests"].as_array().unwrap();
        assert_eq!(digests.len(), 1, "{en}");
        assert!(
            digests[0]["digest"].as_str().unwrap().starts_with('i'),
            "{en}"
        );
        assert_eq!(digests[0]["recipients"], 2);
        assert!(digests[0]["sent_at"].is_string());
        assert_eq!(locale("ar")["digests"][0]["recipients"], 1);
        // ja has no translation: its feeds show the en fallback.
        let ja = locale("ja");
        assert!(
            ja["feeds"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["shows"] == "fallback:en"),
            "{ja}"
        );
        // Per translation states.
        assert!(
            tl["translations"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["state"] == "live")
        );
        // `bridgecast status ARTICLE` prints the same rows.
        let text = bridgecast::status::report(&t.app, Some(&id)).await.unwrap();
        for f in feeds {
            assert!(
                text.contains(f["path"].as_str().unwrap())
                    && text.contains(f["etag"].as_str().unwrap()),
                "{text}"
            );
        }
        assert!(
            text.contains("websub") && text.contains("en-stub") && text.contains("posted"),
            "{text}"
        );
        assert!(
            text.contains("social posts: 1") && text.contains("digests: 2"),
            "{text}"
        );
        // Slugs work too.
        let (s, _) = api
            .get("/api/v1/articles/timeline-camp/timeline", &api.read)
            .await;
        assert_eq!(s, 200);
        let (s, v) = api
            .get("/api/v1/articles/nothing/timeline", &api.read)
            .await;
        assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")));
        let r = api
            .c
            .get(api.url(&format!("/api/v1/articles/{}/timeline", enc(&id))))
            .send()
            .await
            .unwrap();
        assert_eq!(body(r).await.0, 401);
    }
}

#[tokio::test]
async fn admin_status_page_signs_in_and_shows_the_state() {
    for db in engines() {
        let outbox = format!("page-{}", uuid::Uuid::new_v4());
        let o = outbox.clone();
        let api = Api::with(TestApp::builder().db(db).config(move |c| {
            c.social.max_age_hours = 24 * 365;
            c.social.accounts = vec![stub_account("cjk-stub", &["zh-Hans"], &o)];
        }))
        .await;
        let t = &api.t;
        t.drain().await;
        let nofollow = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // Without a token: the sign-in form, no JavaScript, not cached.
        let r = nofollow.get(api.url("/admin")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        let form = r.text().await.unwrap();
        assert!(
            form.contains("action=\"/admin/login\"") && !form.contains("<script"),
            "{form}"
        );
        // A wrong token is refused; a token without `read` is forbidden.
        let r = nofollow
            .post(api.url("/admin/login"))
            .form(&[("token", "bc_000000000000_x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().get("set-cookie").is_none());
        let (_, audience) = bridgecast::api::auth::create(
            &t.app.store,
            "audience",
            &[bridgecast::api::Scope::AudienceWrite],
            t.clock_now(),
        )
        .await
        .unwrap();
        let r = nofollow
            .get(api.url("/admin"))
            .bearer_auth(&audience)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        // Signing in sets an HttpOnly, SameSite=Strict cookie that opens the page.
        let r = nofollow
            .post(api.url("/admin/login"))
            .form(&[("token", api.read.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && cookie.contains("Secure"),
            "{cookie}"
        );
        let pair = cookie.split(';').next().unwrap().to_owned();
        let r = nofollow
            .get(api.url("/admin"))
            .header("cookie", &pair)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let page = r.text().await.unwrap();
        for want in [
            "<svg",
            "Feeds",
            "science-tech",
            "zh-Hant",
            "Dead letters",
            "Recent posts",
            "cjk-stub",
            "Pending",
            "Recent sends",
        ] {
            assert!(page.contains(want), "missing {want}");
        }
        assert!(
            !page.contains("<script") && !page.contains("not built"),
            "{page}"
        );
        // Posts of the demo articles went out in the last week: the chart has bars.
        assert!(page.contains("<rect x="), "no bars");
        // The header works as well as the cookie.
        let r = nofollow
            .get(api.url("/admin"))
            .bearer_auth(&api.write)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // Signing out clears the cookie.
        let r = nofollow
            .post(api.url("/admin/logout"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert!(
            r.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
        // Headless Chromium renders it (the same bytes, served without the token).
        if db == crate::support::Db::Sqlite && crate::support::peer_available("browser") {
            let router = axum::Router::new().route(
                "/",
                axum::routing::get(move || {
                    let p = page.clone();
                    async move { axum::response::Html(p) }
                }),
            );
            let base = crate::support::serve_router(router).await;
            let dir = tempfile::tempdir().unwrap();
            let png = dir.path().join("admin.png");
            // Off the runtime's thread: the page is served by this same runtime.
            let (url, file) = (format!("{base}/"), png.clone());
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new("bash")
                    .arg(crate::support::peers_dir().join("screenshot.sh"))
                    .args([url.as_str(), file.to_str().unwrap(), "1200x1600"])
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let bytes = std::fs::read(&png).unwrap();
            assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
            if let Some(keep) = std::env::var_os("BRIDGECAST_KEEP_SCREENSHOTS") {
                std::fs::copy(&png, std::path::Path::new(&keep).join("admin.png")).unwrap();
            }
            assert!(
                bytes.len() > 20_000,
                "a nearly empty screenshot: {} bytes",
                bytes.len()
            );
        }
    }
}
