//! The audience endpoints of the admin API: subscribers (double opt-in, confirmed
//! imports, preferences, unsubscribing) and friendship organisations with contacts,
//! and every refusal, on every engine.

use crate::admin_api::{Api, body, enc};
use crate::support::{Db, engines};
use bridgecast::api::{Scope, auth};
use reqwest::Method;
use serde_json::{Value, json};

/// The test API with a token that may read and manage the audience.
async fn start(db: Db) -> (Api, String) {
    let api = Api::start(db).await;
    let (_, audience) = auth::create(
        &api.t.app.store,
        "audience",
        &[Scope::Read, Scope::AudienceWrite],
        api.t.clock_now(),
    )
    .await
    .unwrap();
    (api, audience)
}

async fn confirmation_jobs(api: &Api) -> Vec<String> {
    api.t
        .app
        .store
        .jobs(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == "send_confirmation")
        .map(|j| j.key)
        .collect()
}

fn actions(v: &Value) -> Vec<&str> {
    v["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect()
}

fn assert_refused(s: u16, v: &Value, status: u16, code: &str, field: Option<&str>) {
    assert_eq!(s, status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    if let Some(f) = field {
        assert_eq!(v["error"]["field"], f, "{v}");
    }
}

#[tokio::test]
async fn admin_audience_subscribers_double_opt_in_import_preferences_and_unsubscribe() {
    for db in engines() {
        let (api, tok) = start(db).await;
        let (post, patch, delete) = (Method::POST, Method::PATCH, Method::DELETE);
        // By default: pending, one confirmation mail queued, nothing active.
        let (s, li) = api
            .send(
                post.clone(),
                "/api/v1/subscribers",
                &tok,
                Some(json!({
                    "email": " Li.Wei@Example.ORG ", "locale": "zh-Hans", "name": "李伟",
                    "channels": ["news"], "topics": ["education"],
                    "frequency": "weekly", "time_zone": "Asia/Shanghai", "hour": 9, "weekday": 2
                })),
            )
            .await;
        assert_eq!(s, 201, "{db:?} {li}");
        assert_eq!(li["state"], "pending");
        assert_eq!(li["email"], "Li.Wei@example.org");
        assert_eq!(li["frequency"], "weekly");
        assert_eq!(li["weekday"], 2);
        assert!(li["next_due"].is_null() && li["confirmed_at"].is_null());
        assert!(li.get("handle").is_none(), "the link handle stays private");
        assert_eq!(actions(&li), ["subscribe"]);
        assert_eq!(li["consents"][0]["text_version"], "api");
        let li_id = li["id"].as_str().unwrap().to_owned();
        assert_eq!(
            confirmation_jobs(&api).await,
            [format!("confirm:{li_id}:1")]
        );
        let (s, page) = api.get("/api/v1/subscribers?state=active", &api.read).await;
        assert_eq!((s, page["subscribers"].as_array().unwrap().len()), (200, 0));

        // Confirmed elsewhere: active at once, consent `import`, no confirmation mail.
        // (A second later, so the listing below has a defined order.)
        api.t.clock.advance(chrono::Duration::seconds(1));
        let (s, ana) = api
            .send(
                post.clone(),
                "/api/v1/subscribers",
                &tok,
                Some(json!({
                    "email": "ana@example.org", "locale": "ar", "confirmed": true,
                    "consent_source": "signed form, Brisbane expo 2026"
                })),
            )
            .await;
        assert_eq!(s, 201, "{ana}");
        assert_eq!(ana["state"], "active");
        assert!(ana["confirmed_at"].is_string());
        // Daily at 08:00 UTC by default; it is 12:00 on 2026-11-28.
        assert_eq!(ana["next_due"], "2026-11-29T08:00:00Z");
        assert_eq!(actions(&ana), ["import"]);
        assert_eq!(
            ana["consents"][0]["text_version"],
            "import:signed form, Brisbane expo 2026"
        );
        assert_eq!(confirmation_jobs(&api).await.len(), 1);
        let ana_id = ana["id"].as_str().unwrap().to_owned();
        let ana_path = format!("/api/v1/subscribers/{ana_id}");

        // The same address again, however it is written, is a conflict.
        let (s, v) = api
            .send(
                post.clone(),
                "/api/v1/subscribers",
                &tok,
                Some(json!({"email": "Li.Wei@EXAMPLE.org", "locale": "en"})),
            )
            .await;
        assert_refused(s, &v, 409, "duplicate_subscriber", Some("email"));
        assert_eq!(confirmation_jobs(&api).await.len(), 1);

        // Listing, a page at a time.
        let (s, page) = api.get("/api/v1/subscribers?limit=1", &api.read).await;
        assert_eq!(s, 200, "{page}");
        assert_eq!(page["subscribers"][0]["id"], li_id.as_str());
        assert_eq!(page["next_offset"], 1);
        let (_, page) = api
            .get("/api/v1/subscribers?limit=1&offset=1", &api.read)
            .await;
        assert_eq!(page["subscribers"][0]["id"], ana_id.as_str());
        assert!(page["next_offset"].is_null());
        let (_, page) = api.get("/api/v1/subscribers", &api.read).await;
        let states: Vec<(&str, &str, &str)> = page["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["state"].as_str().unwrap(),
                    s["locale"].as_str().unwrap(),
                    s["frequency"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [("pending", "zh-Hans", "weekly"), ("active", "ar", "daily")]
        );
        let (s, v) = api.get("/api/v1/subscribers?state=gone", &api.read).await;
        assert_refused(s, &v, 400, "invalid_query", Some("state"));

        // Preferences: the next digest follows the new cadence.
        let (s, ana) = api
            .send(
                patch.clone(),
                &ana_path,
                &tok,
                Some(json!({
                    "locale": "ne", "name": "Ana", "channels": ["science-tech"],
                    "topics": ["robotics", "new-energy"], "time_zone": "Asia/Kathmandu", "hour": 7
                })),
            )
            .await;
        assert_eq!(s, 200, "{ana}");
        assert_eq!(
            (
                &ana["locale"],
                &ana["name"],
                &ana["time_zone"],
                &ana["hour"]
            ),
            (
                &json!("ne"),
                &json!("Ana"),
                &json!("Asia/Kathmandu"),
                &json!(7)
            )
        );
        assert_eq!(ana["channels"], json!(["science-tech"]));
        assert_eq!(ana["topics"], json!(["robotics", "new-energy"]));
        // 07:00 in Kathmandu (UTC+5:45) on the 29th.
        assert_eq!(ana["next_due"], "2026-11-29T01:15:00Z");
        assert_eq!(ana["frequency"], "daily", "left out, left alone");
        let (s, ana) = api
            .send(
                patch.clone(),
                &ana_path,
                &tok,
                Some(json!({"frequency": "weekly", "weekday": 3})),
            )
            .await;
        assert_eq!(s, 200, "{ana}");
        // Wednesday 2026-12-02, 07:00 local.
        assert_eq!(ana["next_due"], "2026-12-02T01:15:00Z");
        assert_eq!(ana["locale"], "ne");
        assert_eq!(actions(&ana), ["import", "preferences", "preferences"]);
        // A pending subscriber's preferences change, but no digest is scheduled.
        let (s, li) = api
            .send(
                patch.clone(),
                &format!("/api/v1/subscribers/{li_id}"),
                &tok,
                Some(json!({"frequency": "daily"})),
            )
            .await;
        assert_eq!(
            (s, &li["state"], &li["next_due"]),
            (200, &json!("pending"), &Value::Null)
        );

        // The detail: consent record and deliveries.
        let (s, got) = api.get(&ana_path, &api.read).await;
        assert_eq!(s, 200, "{got}");
        assert_eq!(got["deliveries"], json!([]));
        assert!(got["suppressed"].is_null());
        assert_eq!(got["email"], "ana@example.org");

        // Unsubscribe: the row and the consent record stay.
        let (s, gone) = api.send(delete.clone(), &ana_path, &tok, None).await;
        assert_eq!(s, 200, "{gone}");
        assert_eq!(gone["state"], "unsubscribed");
        assert!(gone["next_due"].is_null() && gone["ended_at"].is_string());
        assert_eq!(
            actions(&gone),
            ["import", "preferences", "preferences", "unsubscribe"]
        );
        assert_eq!(gone["consents"][3]["text_version"], "api");
        let (s, again) = api.send(delete, &ana_path, &tok, None).await;
        assert_eq!(s, 200);
        assert_eq!(actions(&again).len(), 4, "unsubscribing twice records once");
        let (s, got) = api.get(&ana_path, &api.read).await;
        assert_eq!((s, &got["state"]), (200, &json!("unsubscribed")));
        let stored = api.t.app.store.subscriber(&ana_id).await.unwrap().unwrap();
        assert_eq!(stored.state, "unsubscribed");
        assert_eq!(api.t.app.store.consents(&ana_id).await.unwrap().len(), 4);
        // Nobody is active now.
        let (_, page) = api.get("/api/v1/subscribers?state=active", &api.read).await;
        assert_eq!(page["subscribers"], json!([]));
    }
}

#[tokio::test]
async fn admin_audience_organisations_with_contacts_follow_the_cadence() {
    for db in engines() {
        let (api, tok) = start(db).await;
        let org = json!({
            "names": {"en": "Brisbane City Council", "ar": "مجلس مدينة بريزبن", "ne": "ब्रिस्बेन नगर परिषद"},
            "country": "au", "city": "Brisbane", "partner_since": "2002",
            "channels": ["news"], "topics": ["education", "olympics-2032"],
            "frequency": "weekly", "time_zone": "Australia/Brisbane", "hour": 9, "weekday": 1
        });
        let (s, o) = api
            .send(
                Method::PUT,
                "/api/v1/organisations/brisbane",
                &tok,
                Some(org.clone()),
            )
            .await;
        assert_eq!(s, 201, "{db:?} {o}");
        assert_eq!(o["country"], "AU");
        assert_eq!(o["names"]["ar"], "مجلس مدينة بريزبن");
        assert_eq!(o["contacts"], json!([]));
        // Monday 09:00 in Brisbane (UTC+10) after Saturday 2026-11-28 12:00 UTC.
        let weekly = "2026-11-29T23:00:00Z";
        for (name, email, locale, role) in [
            ("Ann Lee", "ann@example.org", "en", "Trade office"),
            ("سارة حداد", "sara@example.org", "ar", "Cultural attaché"),
            ("सीता शर्मा", "sita@example.org", "ne", ""),
        ] {
            let (s, c) = api
                .send(
                    Method::POST,
                    "/api/v1/organisations/brisbane/contacts",
                    &tok,
                    Some(json!({"name": name, "email": email, "locale": locale, "role": role})),
                )
                .await;
            assert_eq!(s, 201, "{c}");
            assert_eq!(
                (&c["state"], &c["locale"], &c["next_due"], &c["since"]),
                (
                    &json!("active"),
                    &json!(locale),
                    &json!(weekly),
                    &json!("2026-11-28T12:00:00Z")
                )
            );
        }
        // The same address again (the domain is case-insensitive) changes the contact.
        let (s, c) = api
            .send(
                Method::POST,
                "/api/v1/organisations/brisbane/contacts",
                &tok,
                Some(json!({"name": "Ann Lee", "email": "ann@EXAMPLE.org", "locale": "en", "role": "Director"})),
            )
            .await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(
            (&c["role"], &c["email"]),
            (&json!("Director"), &json!("ann@example.org"))
        );
        let (s, o) = api.get("/api/v1/organisations/brisbane", &api.read).await;
        assert_eq!(s, 200, "{o}");
        let locales: Vec<&str> = o["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["locale"].as_str().unwrap())
            .collect();
        assert_eq!(locales, ["en", "ar", "ne"], "{o}");

        // A new cadence moves every active contact's next digest.
        let mut daily = org.clone();
        daily["frequency"] = json!("daily");
        daily["hour"] = json!(8);
        let (s, o) = api
            .send(
                Method::PUT,
                "/api/v1/organisations/brisbane",
                &tok,
                Some(daily),
            )
            .await;
        assert_eq!(s, 200, "{o}");
        assert_eq!(o["frequency"], "daily");
        for c in o["contacts"].as_array().unwrap() {
            // 08:00 on Sunday the 29th in Brisbane.
            assert_eq!(c["next_due"], "2026-11-28T22:00:00Z", "{c}");
            assert_eq!(c["state"], "active");
        }
        let key = format!("c:{}", o["contacts"][0]["id"].as_str().unwrap());
        let r = api.t.app.store.recipient(&key).await.unwrap().unwrap();
        assert_eq!(r.cadence.hour, 8);
        // Names replaced, contacts kept.
        let mut renamed = org.clone();
        renamed["names"] = json!({"en": "Brisbane City"});
        let (s, o) = api
            .send(
                Method::PUT,
                "/api/v1/organisations/brisbane",
                &tok,
                Some(renamed),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(o["names"], json!({"en": "Brisbane City"}));
        assert_eq!(o["contacts"].as_array().unwrap().len(), 3);
        // Back to weekly: the next digest moves back too.
        assert_eq!(o["contacts"][0]["next_due"], weekly);

        let (s, list) = api.get("/api/v1/organisations", &api.read).await;
        assert_eq!(s, 200);
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["id"], "brisbane");

        // Removing a contact by address (percent-encoded in the path).
        let path = format!(
            "/api/v1/organisations/brisbane/contacts/{}",
            enc("sita@example.org")
        );
        let (s, v) = api.send(Method::DELETE, &path, &tok, None).await;
        assert_eq!((s, v), (204, Value::Null));
        let (s, v) = api.send(Method::DELETE, &path, &tok, None).await;
        assert_refused(s, &v, 404, "not_found", None);
        let (_, o) = api.get("/api/v1/organisations/brisbane", &api.read).await;
        assert_eq!(o["contacts"].as_array().unwrap().len(), 2);

        // Deleting the organisation takes its contacts.
        let (s, _) = api
            .send(Method::DELETE, "/api/v1/organisations/brisbane", &tok, None)
            .await;
        assert_eq!(s, 204);
        let (s, v) = api.get("/api/v1/organisations/brisbane", &api.read).await;
        assert_refused(s, &v, 404, "not_found", None);
        assert!(
            api.t
                .app
                .store
                .contacts("brisbane")
                .await
                .unwrap()
                .is_empty()
        );
        let (s, v) = api
            .send(Method::DELETE, "/api/v1/organisations/brisbane", &tok, None)
            .await;
        assert_refused(s, &v, 404, "not_found", None);
    }
}

#[tokio::test]
async fn admin_audience_refusals() {
    for db in engines() {
        let (api, tok) = start(db).await;
        let subs = api.url("/api/v1/subscribers");
        let good = json!({"email": "li@example.org", "locale": "en"});
        // No token.
        let r = api.c.post(&subs).json(&good).send().await.unwrap();
        let (s, v) = body(r).await;
        assert_refused(s, &v, 401, "unauthorized", None);
        let r = api.c.get(&subs).send().await.unwrap();
        assert_eq!(r.status(), 401);
        // A read token, or an articles token, may not write the audience.
        for t in [&api.read, &api.write] {
            let (s, v) = api
                .send(Method::POST, "/api/v1/subscribers", t, Some(good.clone()))
                .await;
            assert_refused(s, &v, 403, "insufficient_scope", None);
            let (s, v) = api
                .send(
                    Method::PUT,
                    "/api/v1/organisations/x",
                    t,
                    Some(json!({"names": {"en": "X"}, "country": "DE"})),
                )
                .await;
            assert_refused(s, &v, 403, "insufficient_scope", None);
        }
        // Malformed JSON and the wrong shape.
        let r = api
            .c
            .post(&subs)
            .bearer_auth(&tok)
            .header("content-type", "application/json")
            .body("{\"email\": ")
            .send()
            .await
            .unwrap();
        let (s, v) = body(r).await;
        assert_refused(s, &v, 400, "malformed_json", None);
        let (s, v) = api
            .send(
                Method::POST,
                "/api/v1/subscribers",
                &tok,
                Some(json!({"email": "li@example.org", "locale": "en", "colour": "blue"})),
            )
            .await;
        assert_refused(s, &v, 422, "invalid_json", None);
        let (s, v) = api
            .send(
                Method::POST,
                "/api/v1/subscribers",
                &tok,
                Some(json!({"email": "li@example.org", "locale": "en", "hour": -1})),
            )
            .await;
        assert_refused(s, &v, 422, "invalid_json", Some("hour"));
        // Oversized body (the test API takes 4096 bytes).
        let mut big = good.clone();
        big["name"] = json!("x".repeat(10_000));
        let (s, v) = api
            .send(Method::POST, "/api/v1/subscribers", &tok, Some(big))
            .await;
        assert_refused(s, &v, 413, "body_too_large", None);

        // Field checks, each naming the field.
        let (s, v) = api
            .send(
                Method::POST,
                "/api/v1/subscribers",
                &tok,
                Some(json!({"email": "li@example.org", "locale": "fr"})),
            )
            .await;
        assert_refused(s, &v, 422, "unknown_locale", Some("locale"));
        assert_eq!(v["error"]["locale"], "fr");
        for (email, reason) in [
            ("li.example.org", "has no @"),
            ("li@example", "no dot"),
            ("li wei@example.org", "space"),
            ("li@exa\r\nmple.org", "line break"),
        ] {
            let (s, v) = api
                .send(
                    Method::POST,
                    "/api/v1/subscribers",
                    &tok,
                    Some(json!({"email": email, "locale": "en"})),
                )
                .await;
            assert_refused(s, &v, 422, "invalid_field", Some("email"));
            assert!(
                v["error"]["message"].as_str().unwrap().contains(reason),
                "{email:?}: {v}"
            );
        }
        for (field, value) in [
            ("channels", json!(["gossip"])),
            ("topics", json!(["astrology"])),
            ("frequency", json!("hourly")),
            ("time_zone", json!("Mars/Olympus")),
            ("hour", json!(24)),
            ("weekday", json!(8)),
            ("weekday", json!(0)),
        ] {
            let mut input = good.clone();
            input[field] = value;
            let (s, v) = api
                .send(Method::POST, "/api/v1/subscribers", &tok, Some(input))
                .await;
            assert_refused(s, &v, 422, "invalid_field", Some(field));
        }
        let mut confirmed = good.clone();
        confirmed["confirmed"] = json!(true);
        let (s, v) = api
            .send(Method::POST, "/api/v1/subscribers", &tok, Some(confirmed))
            .await;
        assert_refused(s, &v, 422, "invalid_field", Some("consent_source"));
        // None of that created anyone or queued a mail.
        let (_, page) = api.get("/api/v1/subscribers", &api.read).await;
        assert_eq!(page["subscribers"], json!([]));
        assert!(confirmation_jobs(&api).await.is_empty());

        // Unknown ids.
        for m in [Method::GET, Method::PATCH, Method::DELETE] {
            let json = (m == Method::PATCH).then(|| json!({"hour": 7}));
            let (s, v) = api
                .send(m.clone(), "/api/v1/subscribers/nobody", &tok, json)
                .await;
            assert_refused(s, &v, 404, "not_found", None);
        }
        let (s, v) = api.get("/api/v1/organisations/nowhere", &tok).await;
        assert_refused(s, &v, 404, "not_found", None);
        let (s, v) = api
            .send(
                Method::POST,
                "/api/v1/organisations/nowhere/contacts",
                &tok,
                Some(json!({"name": "A", "email": "a@example.org", "locale": "en"})),
            )
            .await;
        assert_refused(s, &v, 404, "not_found", None);
        let (s, v) = api
            .send(
                Method::DELETE,
                "/api/v1/organisations/nowhere/contacts/a%40example.org",
                &tok,
                None,
            )
            .await;
        assert_refused(s, &v, 404, "not_found", None);

        // Organisation checks.
        let org = json!({"names": {"en": "Kathmandu Metropolitan City"}, "country": "NP", "city": "Kathmandu"});
        for (field, value, named) in [
            ("country", json!("NPL"), "country"),
            ("country", json!("4"), "country"),
            ("names", json!({}), "names"),
            ("names", json!({"en": "  "}), "names.en"),
            ("channels", json!(["gossip"]), "channels"),
            ("time_zone", json!("Asia/Nowhere"), "time_zone"),
            ("frequency", json!("monthly"), "frequency"),
            ("hour", json!(25), "hour"),
        ] {
            let mut input = org.clone();
            input[field] = value;
            let (s, v) = api
                .send(Method::PUT, "/api/v1/organisations/ktm", &tok, Some(input))
                .await;
            assert_refused(s, &v, 422, "invalid_field", Some(named));
        }
        let mut input = org.clone();
        input["names"] = json!({"en": "Kathmandu", "xx": "?"});
        let (s, v) = api
            .send(Method::PUT, "/api/v1/organisations/ktm", &tok, Some(input))
            .await;
        assert_refused(s, &v, 422, "unknown_locale", Some("names.xx"));
        assert_eq!(v["error"]["locale"], "xx");
        let (s, v) = api
            .send(
                Method::PUT,
                "/api/v1/organisations/bad%20id",
                &tok,
                Some(org.clone()),
            )
            .await;
        assert_refused(s, &v, 422, "invalid_field", Some("id"));
        let (s, _) = api
            .send(Method::PUT, "/api/v1/organisations/ktm", &tok, Some(org))
            .await;
        assert_eq!(s, 201);
        // Contact checks.
        let contacts = "/api/v1/organisations/ktm/contacts";
        let contact = json!({"name": "Sita", "email": "sita@example.org", "locale": "ne"});
        for (field, value, code) in [
            ("email", json!("sita@"), "invalid_field"),
            ("locale", json!("np"), "unknown_locale"),
            ("name", json!(" "), "invalid_field"),
        ] {
            let mut input = contact.clone();
            input[field] = value;
            let (s, v) = api.send(Method::POST, contacts, &tok, Some(input)).await;
            assert_refused(s, &v, 422, code, Some(field));
        }
        let mut bad = contact.clone();
        bad["email"] = json!("sita@");
        let (_, v) = api.send(Method::POST, contacts, &tok, Some(bad)).await;
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("nothing after the @"),
            "{v}"
        );
        let (_, o) = api.get("/api/v1/organisations/ktm", &api.read).await;
        assert_eq!(o["contacts"], json!([]));

        // A suppressed address (a hard bounce) is not subscribed again, and a contact
        // with it is kept but gets nothing.
        let now = api.t.clock_now();
        api.t
            .app
            .store
            .suppress("gone@example.org", "bounce", "550 5.1.1 no such user", now)
            .await
            .unwrap();
        let (s, v) = api
            .send(
                Method::POST,
                "/api/v1/subscribers",
                &tok,
                Some(json!({"email": "gone@example.org", "locale": "en"})),
            )
            .await;
        assert_refused(s, &v, 409, "suppressed", Some("email"));
        let mut gone = contact.clone();
        gone["email"] = json!("gone@example.org");
        let (s, c) = api.send(Method::POST, contacts, &tok, Some(gone)).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(
            (&c["state"], &c["next_due"]),
            (&json!("bounced"), &Value::Null)
        );
        assert!(confirmation_jobs(&api).await.is_empty());
    }
}
