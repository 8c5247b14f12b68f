//! The subscriber's web pages: subscribe (double opt-in), confirm, preferences and
//! unsubscribe, plus the RFC 8058 one-click endpoint mail clients POST to.
//!
//! Security rests on three rules:
//! - **A GET never changes anything.** Mail scanners and link previews fetch every
//!   link in a message, so a link opens a page whose button POSTs the token.
//! - **Only a signed token changes a known recipient.** The subscribe form may only
//!   create or refresh *pending* state, which nobody receives mail for but the
//!   confirmation; that is why the pages need no CSRF token.
//! - **The subscribe page reveals nothing about an address.** Known, unknown, active
//!   or suppressed: the answer is the same "check your inbox" page.
//!
//! Pages are localised from `locales/*/pages.ftl`, set `lang` and `dir`, load no
//! script, and are sent with `Cache-Control: no-store` and `Referrer-Policy:
//! no-referrer` because their URLs carry tokens.

pub mod form;
pub mod html;

use crate::email::subscribe;

use crate::app::{App, SharedApp};
use crate::email::token::Purpose;
use crate::i18n::negotiate;
use crate::locale::{self, LOCALES, REFERENCE};
use crate::store::{ACTIVE, Consent, PENDING, Subscriber, UNSUBSCRIBED};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Duration;
use form::{FormInput, Problem};
use html::FormKind;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

/// The version of the consent sentence the subscribe page shows. Change it whenever
/// the wording of `pages-consent` changes in any locale; consent records keep it.
pub const TEXT_VERSION: &str = "2026-11-v1";

/// How long a preference link issued by these pages stays valid.
const MANAGE_TTL_DAYS: i64 = 90;

/// The subscriber routes, merged into the server's router.
pub fn routes() -> Router<SharedApp> {
    Router::new()
        .route("/subscribe", get(subscribe_page).post(subscribe))
        .route("/subscribe/confirm", get(confirm_page).post(confirm))
        .route("/subscription", get(manage_page).post(manage))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
        .route("/unsubscribe/one-click", post(one_click))
}

type Params = Query<HashMap<String, String>>;
type Peer = Option<axum::Extension<ConnectInfo<SocketAddr>>>;

// ---- responses

/// `default-src 'none'`: no script, no frame, no fetch; the one inline style is
/// allowed by its hash, forms may only post back here.
static CSP: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine as _;
    use sha2::Digest as _;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(html::STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; form-action 'self'; \
         base-uri 'none'; frame-ancestors 'none'"
    )
});

fn secure_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&CSP) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

fn page(status: StatusCode, html: String) -> Response {
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    secure_headers(&mut resp);
    resp
}

/// A page made of a title and a body, with no language links.
fn simple(app: &App, status: StatusCode, locale: &str, title_id: &str, body: &str) -> Response {
    let title = app.i18n.msg(locale, title_id, &[]);
    page(status, html::document(locale, &title, &[], body))
}

fn text(status: StatusCode, body: &'static str) -> Response {
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response();
    secure_headers(&mut resp);
    resp
}

fn internal(e: &anyhow::Error) -> Response {
    tracing::error!(error = %e, "subscriber page failed");
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on our side. Please try again later.\n",
    )
}

/// Refused, forged, altered, expired or misdirected links all get this one page.
fn bad_link(app: &App, locale: &str) -> Response {
    let body = format!(
        "{}{}",
        html::para(&app.i18n, locale, "pages-bad-link"),
        html::link(
            &app.i18n,
            locale,
            "pages-subscribe-again",
            &format!("/subscribe?lang={locale}")
        )
    );
    simple(
        app,
        StatusCode::BAD_REQUEST,
        locale,
        "pages-bad-link-title",
        &body,
    )
}

fn too_many(app: &App, locale: &str, retry_after_secs: i64) -> Response {
    let mut resp = simple(
        app,
        StatusCode::TOO_MANY_REQUESTS,
        locale,
        "pages-rate-limited-title",
        &html::para(&app.i18n, locale, "pages-rate-limited"),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    resp
}

fn check_inbox(app: &App, locale: &str) -> Response {
    simple(
        app,
        StatusCode::OK,
        locale,
        "pages-check-inbox-title",
        &html::para(&app.i18n, locale, "pages-check-inbox"),
    )
}

// ---- request helpers

/// The locale a page is shown in: `?lang=` (or the form's hidden `page_locale`), then
/// the recipient's own locale, then `Accept-Language`.
fn page_locale(asked: Option<&str>, recipient: Option<&str>, headers: &HeaderMap) -> &'static str {
    for l in [asked, recipient].into_iter().flatten() {
        if let Some(i) = locale::info(l) {
            return i.tag;
        }
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    negotiate(accept, REFERENCE)
}

fn lang_param(q: &HashMap<String, String>) -> Option<&str> {
    q.get("lang").map(String::as_str)
}

/// The client's address as the socket saw it. Behind a reverse proxy this is the
/// proxy's; `X-Forwarded-For` is not trusted because anyone can send it.
fn client_ip(peer: &Peer) -> Option<IpAddr> {
    peer.as_ref().map(|p| p.0.0.ip())
}

/// The rate-limit bucket of a client: its IPv4 address, or its IPv6 /64 (one
/// household or server gets a whole /64, so limiting single addresses is no limit).
fn ip_bucket(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => format!("subscribe-ip:{v4}"),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("subscribe-ip:{v4}"),
            None => {
                let s = v6.segments();
                format!(
                    "subscribe-ip:{:x}:{:x}:{:x}:{:x}::/64",
                    s[0], s[1], s[2], s[3]
                )
            }
        },
        None => "subscribe-ip:unknown".into(),
    }
}

/// The per-address bucket names a hash, so the rate table holds no addresses.
fn address_bucket(email: &str) -> String {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(email.as_bytes());
    format!("confirm-address:{}", hex::encode(&h[..16]))
}

/// The token from a form body's `t`, else from the query.
fn token<'a>(body: &'a FormInput, q: &'a HashMap<String, String>) -> &'a str {
    if body.token.is_empty() {
        q.get("t").map_or("", String::as_str)
    } else {
        &body.token
    }
}

fn consent(
    s: &Subscriber,
    action: &str,
    app: &App,
    ip: Option<IpAddr>,
    page_locale: &str,
) -> Consent {
    Consent {
        subscriber_id: s.id.clone(),
        action: action.to_owned(),
        at: app.now(),
        ip: ip.map(|i| i.to_string()),
        page_locale: Some(page_locale.to_owned()),
        text_version: Some(TEXT_VERSION.to_owned()),
    }
}

fn manage_url(app: &App, handle: &str) -> String {
    let t = app.tokens.issue(
        Purpose::Manage,
        handle,
        Some(app.now() + Duration::days(MANAGE_TTL_DAYS)),
    );
    format!("/subscription?t={t}")
}

// ---- subscribe

fn subscribe_form(
    app: &App,
    status: StatusCode,
    locale: &str,
    f: &FormInput,
    problems: &[Problem],
) -> Response {
    let title = app.i18n.msg(locale, "pages-subscribe-title", &[]);
    let langs: Vec<(&str, String)> = LOCALES
        .iter()
        .map(|l| (l.tag, format!("/subscribe?lang={}", l.tag)))
        .collect();
    let body = format!(
        "{}{}",
        html::para(&app.i18n, locale, "pages-subscribe-intro"),
        html::prefs_form(
            &app.i18n,
            locale,
            &app.channels(),
            f,
            problems,
            FormKind::Subscribe
        )
    );
    page(status, html::document(locale, &title, &langs, &body))
}

async fn subscribe_page(
    State(app): State<SharedApp>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let locale = page_locale(lang_param(&q), None, &headers);
    let mut resp = subscribe_form(&app, StatusCode::OK, locale, &FormInput::blank(locale), &[]);
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    resp
}

async fn subscribe(
    State(app): State<SharedApp>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = FormInput::parse(&body);
    let locale = page_locale(Some(&f.page_locale), None, &headers);
    let ip = client_ip(&peer);
    match subscribe_inner(&app, &f, locale, ip).await {
        Ok(r) => r,
        Err(e) => internal(&e),
    }
}

async fn subscribe_inner(
    app: &App,
    f: &FormInput,
    locale: &'static str,
    ip: Option<IpAddr>,
) -> anyhow::Result<Response> {
    let cfg = &app.config.email;
    let now = app.now();
    // Every attempt counts, valid or not: the limit is on what one client can make
    // us do, and a form that is refused still costs a page.
    if !app
        .store
        .rate_allow(
            &ip_bucket(ip),
            now,
            Duration::hours(1),
            cfg.subscribe_per_ip_per_hour,
        )
        .await?
    {
        return Ok(too_many(app, locale, 3600));
    }
    let (email, prefs) = match form::validate(f, &app.channels(), true) {
        Ok((Some(email), prefs)) => (email, prefs),
        Ok((None, _)) => anyhow::bail!("validate returned no address"),
        Err(problems) => {
            return Ok(subscribe_form(
                app,
                StatusCode::BAD_REQUEST,
                locale,
                f,
                &problems,
            ));
        }
    };
    if app.store.suppression(&email).await?.is_some() {
        return Ok(check_inbox(app, locale));
    }
    let existing = app.store.subscriber_by_email(&email).await?;
    if existing.as_ref().is_some_and(|s| s.state == ACTIVE) {
        // Their preferences change only through their own link.
        return Ok(check_inbox(app, locale));
    }
    // Past the daily number of confirmations for this address, requests are dropped
    // quietly: answering differently would tell a stranger the address is in use.
    if !app
        .store
        .rate_allow(
            &address_bucket(&email),
            now,
            Duration::days(1),
            cfg.confirmations_per_address_per_day,
        )
        .await?
    {
        return Ok(check_inbox(app, locale));
    }
    let origin = subscribe::Origin {
        ip,
        page_locale: locale,
        text_version: TEXT_VERSION,
    };
    subscribe::request(app, &email, existing, &prefs, &origin, false).await?;
    Ok(check_inbox(app, locale))
}

// ---- confirm

async fn confirm_page(
    State(app): State<SharedApp>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let t = q.get("t").map_or("", String::as_str);
    let Ok(handle) = app.tokens.verify(t, Purpose::Confirm, app.now()) else {
        return bad_link(&app, page_locale(lang_param(&q), None, &headers));
    };
    let s = match app.store.subscriber_by_handle(&handle).await {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(&app, page_locale(lang_param(&q), None, &headers)),
        Err(e) => return internal(&e),
    };
    let locale = page_locale(lang_param(&q), Some(&s.locale), &headers);
    let body = format!(
        "{}{}",
        html::para(&app.i18n, locale, "pages-confirm-intro"),
        html::button_form(
            &app.i18n,
            locale,
            "/subscribe/confirm",
            t,
            "pages-confirm-button"
        )
    );
    simple(&app, StatusCode::OK, locale, "pages-confirm-title", &body)
}

async fn confirm(
    State(app): State<SharedApp>,
    peer: Peer,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = FormInput::parse(&body);
    let asked = (!f.page_locale.is_empty()).then_some(f.page_locale.as_str());
    let now = app.now();
    let Ok(handle) = app.tokens.verify(token(&f, &q), Purpose::Confirm, now) else {
        return bad_link(&app, page_locale(asked, None, &headers));
    };
    let mut s = match app.store.subscriber_by_handle(&handle).await {
        Ok(Some(s)) => s,
        Ok(None) => return bad_link(&app, page_locale(asked, None, &headers)),
        Err(e) => return internal(&e),
    };
    let locale = page_locale(asked, Some(&s.locale), &headers);
    if s.state == PENDING {
        s.state = ACTIVE.into();
        s.confirmed_at = Some(now);
        s.ended_at = None;
        s.next_due = s.cadence.next_slot(now).map(|(t, _)| t);
        s.updated_at = now;
        let c = consent(&s, "confirm", &app, client_ip(&peer), locale);
        if let Err(e) = app.store.update_subscriber(&s).await {
            return internal(&e);
        }
        if let Err(e) = app.store.add_consent(&c).await {
            return internal(&e);
        }
    } else if s.state != ACTIVE {
        // Unsubscribed or bounced since the link was sent: the link is spent.
        return bad_link(&app, locale);
    }
    let body = format!(
        "{}{}",
        html::para(&app.i18n, locale, "pages-confirmed"),
        html::link(
            &app.i18n,
            locale,
            "pages-manage-link",
            &manage_url(&app, &s.handle)
        )
    );
    simple(&app, StatusCode::OK, locale, "pages-confirmed-title", &body)
}

// ---- preferences

/// The preference page; 400 when it shows problems.
fn manage_form(
    app: &App,
    locale: &str,
    s: &Subscriber,
    f: &FormInput,
    problems: &[Problem],
    token: &str,
    saved: bool,
) -> Response {
    let title = app.i18n.msg(locale, "pages-preferences-title", &[]);
    let mut body = String::new();
    if saved {
        body.push_str(&format!(
            "<p class=\"notice\" role=\"status\">{}</p>\n",
            crate::markdown::escape_html(&app.i18n.msg(locale, "pages-preferences-saved", &[]))
        ));
    }
    body.push_str(&html::prefs_form(
        &app.i18n,
        locale,
        &app.channels(),
        f,
        problems,
        FormKind::Manage {
            email: &s.email,
            token,
        },
    ));
    let unsub = app.tokens.issue(Purpose::Unsubscribe, &s.handle, None);
    body.push_str(&html::link(
        &app.i18n,
        locale,
        "pages-unsubscribe-link",
        &format!("/unsubscribe?t={unsub}"),
    ));
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(status, html::document(locale, &title, &[], &body))
}

async fn manage_page(
    State(app): State<SharedApp>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let t = q.get("t").map_or("", String::as_str);
    let Ok(handle) = app.tokens.verify(t, Purpose::Manage, app.now()) else {
        return bad_link(&app, page_locale(lang_param(&q), None, &headers));
    };
    match app.store.subscriber_by_handle(&handle).await {
        Ok(Some(s)) => {
            let locale = page_locale(lang_param(&q), Some(&s.locale), &headers);
            let f = FormInput::from_subscriber(&s, locale);
            return manage_form(&app, locale, &s, &f, &[], t, false);
        }
        Ok(None) => {}
        Err(e) => return internal(&e),
    }
    // An organisation's contact: the organisation sets the cadence and topics, so the
    // contact can only see who it is and leave.
    match app.store.recipient_by_handle(&handle).await {
        Ok(Some(r)) => {
            let locale = page_locale(lang_param(&q), Some(&r.locale), &headers);
            let org = r
                .organisation
                .as_ref()
                .map(|o| o.name_in(locale))
                .unwrap_or_default();
            let unsub = app.tokens.issue(Purpose::Unsubscribe, &r.handle, None);
            let body = format!(
                "{}<p class=\"org\">{}</p>\n{}",
                html::para(&app.i18n, locale, "pages-contact-intro"),
                crate::markdown::escape_html(&org),
                html::button_form(
                    &app.i18n,
                    locale,
                    "/unsubscribe",
                    &unsub,
                    "pages-unsubscribe-button"
                )
            );
            simple(
                &app,
                StatusCode::OK,
                locale,
                "pages-preferences-title",
                &body,
            )
        }
        Ok(None) => bad_link(&app, page_locale(lang_param(&q), None, &headers)),
        Err(e) => internal(&e),
    }
}

async fn manage(
    State(app): State<SharedApp>,
    peer: Peer,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = FormInput::parse(&body);
    let asked = (!f.page_locale.is_empty()).then_some(f.page_locale.as_str());
    let now = app.now();
    let t = token(&f, &q).to_owned();
    let Ok(handle) = app.tokens.verify(&t, Purpose::Manage, now) else {
        return bad_link(&app, page_locale(asked, None, &headers));
    };
    let mut s = match app.store.subscriber_by_handle(&handle).await {
        Ok(Some(s)) => s,
        // Contacts have nothing to save here.
        Ok(None) => return bad_link(&app, page_locale(asked, None, &headers)),
        Err(e) => return internal(&e),
    };
    let locale = page_locale(asked, Some(&s.locale), &headers);
    let prefs = match form::validate(&f, &app.channels(), false) {
        Ok((_, p)) => p,
        Err(problems) => {
            return manage_form(&app, locale, &s, &f, &problems, &t, false);
        }
    };
    prefs.apply(&mut s);
    s.next_due = if s.state == ACTIVE {
        s.cadence.next_slot(now).map(|(slot, _)| slot)
    } else {
        None
    };
    s.updated_at = now;
    let c = consent(&s, "preferences", &app, client_ip(&peer), locale);
    if let Err(e) = app.store.update_subscriber(&s).await {
        return internal(&e);
    }
    if let Err(e) = app.store.add_consent(&c).await {
        return internal(&e);
    }
    // The page follows the language just chosen unless the reader picked a page
    // language explicitly.
    let locale = page_locale(None, Some(&s.locale), &headers);
    let shown = FormInput::from_subscriber(&s, locale);
    manage_form(&app, locale, &s, &shown, &[], &t, true)
}

// ---- unsubscribe

async fn unsubscribe_page(
    State(app): State<SharedApp>,
    Query(q): Params,
    headers: HeaderMap,
) -> Response {
    let t = q.get("t").map_or("", String::as_str);
    let Ok(handle) = app.tokens.verify(t, Purpose::Unsubscribe, app.now()) else {
        return bad_link(&app, page_locale(lang_param(&q), None, &headers));
    };
    let r = match app.store.recipient_by_handle(&handle).await {
        Ok(Some(r)) => r,
        Ok(None) => return bad_link(&app, page_locale(lang_param(&q), None, &headers)),
        Err(e) => return internal(&e),
    };
    let locale = page_locale(lang_param(&q), Some(&r.locale), &headers);
    let mut body = html::para(&app.i18n, locale, "pages-unsubscribe-intro");
    if let Some(o) = &r.organisation {
        body.push_str(&format!(
            "<p class=\"org\">{}</p>\n",
            crate::markdown::escape_html(&o.name_in(locale))
        ));
    }
    body.push_str(&html::button_form(
        &app.i18n,
        locale,
        "/unsubscribe",
        t,
        "pages-unsubscribe-button",
    ));
    simple(
        &app,
        StatusCode::OK,
        locale,
        "pages-unsubscribe-title",
        &body,
    )
}

/// Unsubscribes the recipient with `handle` (a subscriber or one contact), and
/// returns its locale; `None` when nobody has that handle.
async fn unsubscribe_handle(
    app: &App,
    handle: &str,
    action: &str,
    ip: Option<IpAddr>,
    asked: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let now = app.now();
    if let Some(mut s) = app.store.subscriber_by_handle(handle).await? {
        if s.state != UNSUBSCRIBED {
            s.state = UNSUBSCRIBED.into();
            s.ended_at = Some(now);
            s.next_due = None;
            s.updated_at = now;
            app.store.update_subscriber(&s).await?;
            let l = asked
                .and_then(locale::info)
                .map_or(s.locale.as_str(), |i| i.tag);
            app.store
                .add_consent(&consent(&s, action, app, ip, l))
                .await?;
        }
        return Ok(Some(s.locale));
    }
    if let Some(r) = app.store.recipient_by_handle(handle).await? {
        app.store
            .set_recipient_schedule(&r.key, UNSUBSCRIBED, None, now)
            .await?;
        return Ok(Some(r.locale));
    }
    Ok(None)
}

async fn unsubscribe(
    State(app): State<SharedApp>,
    peer: Peer,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = FormInput::parse(&body);
    let asked = (!f.page_locale.is_empty()).then_some(f.page_locale.as_str());
    let Ok(handle) = app
        .tokens
        .verify(token(&f, &q), Purpose::Unsubscribe, app.now())
    else {
        return bad_link(&app, page_locale(asked, None, &headers));
    };
    let theirs =
        match unsubscribe_handle(&app, &handle, "unsubscribe", client_ip(&peer), asked).await {
            Ok(Some(l)) => l,
            Ok(None) => return bad_link(&app, page_locale(asked, None, &headers)),
            Err(e) => return internal(&e),
        };
    let locale = page_locale(asked, Some(&theirs), &headers);
    let body = format!(
        "{}{}",
        html::para(&app.i18n, locale, "pages-unsubscribed"),
        html::link(
            &app.i18n,
            locale,
            "pages-subscribe-again",
            &format!("/subscribe?lang={locale}")
        )
    );
    simple(
        &app,
        StatusCode::OK,
        locale,
        "pages-unsubscribed-title",
        &body,
    )
}

/// Whether a one-click body is exactly the RFC 8058 one: the field
/// `List-Unsubscribe=One-Click`, form-urlencoded or as a multipart/form-data field.
fn is_one_click(headers: &HeaderMap, body: &[u8]) -> bool {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let text = String::from_utf8_lossy(body);
        return text.split("Content-Disposition:").skip(1).any(|part| {
            part.contains("name=\"List-Unsubscribe\"")
                && part
                    .split_once("\r\n\r\n")
                    .is_some_and(|(_, v)| v.starts_with("One-Click\r\n"))
        });
    }
    url::form_urlencoded::parse(body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
}

async fn one_click(
    State(app): State<SharedApp>,
    peer: Peer,
    Query(q): Params,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !is_one_click(&headers, &body) {
        return text(
            StatusCode::BAD_REQUEST,
            "expected the body List-Unsubscribe=One-Click (RFC 8058)\n",
        );
    }
    let t = q.get("t").map_or("", String::as_str);
    let Ok(handle) = app.tokens.verify(t, Purpose::Unsubscribe, app.now()) else {
        return text(StatusCode::BAD_REQUEST, "invalid or expired link\n");
    };
    match unsubscribe_handle(&app, &handle, "one-click", client_ip(&peer), None).await {
        Ok(Some(_)) => text(StatusCode::OK, "unsubscribed\n"),
        // A handle nobody has (rotated or deleted): the link was revoked.
        Ok(None) => text(StatusCode::BAD_REQUEST, "invalid or expired link\n"),
        Err(e) => internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(ip_bucket(Some(a)), ip_bucket(Some(b)));
        let v4: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_bucket(Some(v4)), "subscribe-ip:192.0.2.7");
    }

    #[test]
    fn one_click_bodies() {
        let form = HeaderMap::new();
        assert!(is_one_click(&form, b"List-Unsubscribe=One-Click"));
        assert!(!is_one_click(&form, b"List-Unsubscribe=Yes"));
        assert!(!is_one_click(&form, b""));
        let mut multi = HeaderMap::new();
        multi.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("multipart/form-data; boundary=x"),
        );
        assert!(is_one_click(
            &multi,
            b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n"
        ));
    }
}
