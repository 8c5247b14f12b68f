//! `/admin`: a small server-rendered status page for operators, behind the same tokens
//! as the API (`read` scope). A browser signs in with a form that sets an HttpOnly,
//! SameSite=Strict cookie; scripts and tools may send `Authorization: Bearer` instead.
//! No JavaScript: the chart is an inline SVG drawn here.
//!
//! It shows channels × locales with their last build, the queue, dead letters,
//! upstream sources, recent social posts, and posts per hour over the last week.
//! Email sends (deliveries the relay accepted) join the chart and the table.

use crate::api::{Scope, auth};
use crate::app::SharedApp;
use crate::feed::{self, Format};
use crate::markdown::escape_html as esc;
use crate::store::JobState;
use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::collections::HashMap;
use std::fmt::Write;

const COOKIE: &str = "bridgecast_admin";

pub fn router() -> Router<SharedApp> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/login", post(login))
        .route("/admin/logout", post(logout))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn shell(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style></head>\
         <body>{body}</body></html>\n",
        esc(title)
    )
}

const STYLE: &str = "body{font:15px/1.4 system-ui,'Noto Sans',sans-serif;margin:1.5rem auto;max-width:72rem;padding:0 1rem;color:#1d2433}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d5dbe5}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eef1f5;vertical-align:top}\
th{background:#f5f7fa}.num{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#a4161a}.ok{color:#1b7f3b}\
.muted{color:#6b7687}.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #d5dbe5;border-radius:6px;padding:.5rem 1rem;min-width:8rem}\
.card b{display:block;font-size:1.5rem}code{font-size:.85em;word-break:break-all}form.inline{display:inline}\
input[type=password]{width:28rem;max-width:100%;padding:.4rem}button{padding:.4rem .9rem}";

fn login_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>bridgecast status</h1><p>{}</p>\
         <form method=\"post\" action=\"/admin/login\"><label>Token (read scope)<br>\
         <input type=\"password\" name=\"token\" autocomplete=\"off\" required></label> \
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"muted\">Create one with <code>bridgecast tokens create --scope read</code>.</p>",
        esc(message)
    );
    html(status, shell("bridgecast: sign in", &body))
}

async fn page(State(app): State<SharedApp>, headers: HeaderMap) -> Response {
    let token = auth::bearer(&headers)
        .map(str::to_owned)
        .or_else(|| cookie_token(&headers));
    if token.is_none() {
        return login_page(StatusCode::UNAUTHORIZED, "Sign in with an API token.");
    }
    if let Err(e) = auth::check(&app, token.as_deref(), Scope::Read).await {
        return login_page(e.status, &e.message);
    }
    match render(&app).await {
        Ok(body) => html(StatusCode::OK, shell("bridgecast status", &body)),
        Err(e) => {
            tracing::error!(error = %e, "status page failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                shell(
                    "bridgecast status",
                    "<p>The status could not be read; see the server log.</p>",
                ),
            )
        }
    }
}

#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    token: String,
}

async fn login(State(app): State<SharedApp>, Form(f): Form<LoginForm>) -> Response {
    let token = f.token.trim();
    if let Err(e) = auth::check(&app, Some(token), Scope::Read).await {
        return login_page(e.status, &e.message);
    }
    let secure = if app.config.base().starts_with("https:") {
        "; Secure"
    } else {
        ""
    };
    let mut r = Redirect::to("/admin").into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=43200{secure}"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout() -> Response {
    let mut r = Redirect::to("/admin").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "bridgecast_admin=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r
}

/// Email sends (messages the relay accepted), for the chart.
#[derive(Debug, Default)]
pub struct Sends {
    pub at: Vec<DateTime<Utc>>,
}

async fn render(app: &SharedApp) -> anyhow::Result<String> {
    let now = app.now();
    let mut out = String::new();
    let q = app.store.queue_counts().await?;
    let dead = app.store.jobs(Some(JobState::Dead), 20).await?;
    let posts = app.store.posts(None).await?;
    let sends = Sends {
        at: app
            .store
            .sent_since(now - chrono::Duration::days(7))
            .await?,
    };
    let _ = write!(
        out,
        "<h1>bridgecast status</h1><form method=\"post\" action=\"/admin/logout\"><p class=\"muted\">As of {} \
         <button type=\"submit\">Sign out</button></p></form>",
        feed::rfc3339(now)
    );
    let _ = write!(
        out,
        "<div class=\"cards\"><div class=\"card\">Pending<b>{}</b></div><div class=\"card\">Running<b>{}</b></div>\
         <div class=\"card\">Done<b>{}</b></div><div class=\"card{}\">Dead letters<b>{}</b></div>\
         <div class=\"card\">Posts, 7 days<b>{}</b></div><div class=\"card\">Sends, 7 days<b>{}</b></div></div>",
        q.pending,
        q.running,
        q.done,
        if q.dead > 0 { " bad" } else { "" },
        q.dead,
        posts
            .iter()
            .filter(|p| p.state == "posted" && p.updated_at > now - Duration::days(7))
            .count(),
        sends.at.len(),
    );
    // Posts and sends per hour, last 7 days.
    let post_times: Vec<DateTime<Utc>> = posts
        .iter()
        .filter(|p| p.state == "posted")
        .map(|p| p.updated_at)
        .collect();
    out.push_str("<h2>Posts and sends per hour, last 7 days</h2>");
    out.push_str(&chart(now, &post_times, &sends.at));
    // Channels × locales.
    let docs: HashMap<String, (String, DateTime<Utc>)> = app
        .store
        .document_index()
        .await?
        .into_iter()
        .map(|(p, e, b)| (p, (e, b)))
        .collect();
    let translations = app.translations().await?;
    out.push_str("<h2>Feeds</h2><table><thead><tr><th>Channel</th><th>Locale</th><th class=\"num\">Entries</th><th>Last build</th><th>ETag (Atom)</th></tr></thead><tbody>");
    for c in app.channels().iter() {
        for l in &c.locales {
            let sel = feed::select(c, l, &translations, now);
            let path = feed::feed_path(&c.id, l, None, Format::Atom);
            let (built, etag) = match docs.get(&path) {
                Some((e, b)) => (feed::rfc3339(*b), format!("<code>{}</code>", esc(e))),
                None => (
                    "<span class=\"bad\">not built</span>".to_owned(),
                    String::new(),
                ),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td lang=\"{l}\">{}</td><td class=\"num\">{}</td><td>{built}</td><td>{etag}</td></tr>",
                esc(&c.id),
                esc(l),
                sel.entries.len(),
            );
        }
    }
    out.push_str("</tbody></table>");
    // Dead letters.
    let _ = write!(out, "<h2>Dead letters ({})</h2>", q.dead);
    if dead.is_empty() {
        out.push_str("<p class=\"ok\">None.</p>");
    } else {
        out.push_str("<table><thead><tr><th>#</th><th>Job</th><th class=\"num\">Attempts</th><th>Last error</th><th>When</th></tr></thead><tbody>");
        for j in &dead {
            let _ = write!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"bad\">{}</td><td>{}</td></tr>",
                j.id,
                esc(&j.key),
                j.attempts,
                esc(j.last_error.as_deref().unwrap_or("")),
                feed::rfc3339(j.updated_at)
            );
        }
        out.push_str("</tbody></table><p class=\"muted\">Retry with <code>POST /api/v1/jobs/{id}/retry</code>.</p>");
    }
    // Upstream sources.
    let sources = app.store.ingest_sources().await?;
    if !sources.is_empty() {
        out.push_str("<h2>Upstream feeds</h2><table><thead><tr><th>Source</th><th>Channel</th><th>Locale</th><th>Last poll</th><th>Outcome</th></tr></thead><tbody>");
        for s in &sources {
            let outcome = match (s.last_status.as_deref(), &s.last_error) {
                (Some("error"), Some(e)) => format!("<span class=\"bad\">{}</span>", esc(e)),
                (Some(st), _) => format!("<span class=\"ok\">{}</span>", esc(st)),
                (None, _) => "not polled".to_owned(),
            };
            let _ = write!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{outcome}</td></tr>",
                esc(&s.url),
                esc(&s.channel),
                esc(&s.locale),
                s.last_polled_at.map(feed::rfc3339).unwrap_or_default(),
            );
        }
        out.push_str("</tbody></table>");
    }
    // Recent posts.
    let mut recent = posts.clone();
    recent.sort_by_key(|p| std::cmp::Reverse(p.updated_at));
    out.push_str("<h2>Recent posts</h2>");
    if recent.is_empty() {
        out.push_str("<p class=\"muted\">No posts yet.</p>");
    } else {
        out.push_str("<table><thead><tr><th>When</th><th>Account</th><th>Locale</th><th>State</th><th>Where</th></tr></thead><tbody>");
        for p in recent.iter().take(20) {
            let where_ = match (&p.remote_url, &p.last_error) {
                (Some(u), _) => format!("<code>{}</code>", esc(u)),
                (None, Some(e)) => format!("<span class=\"bad\">{}</span>", esc(e)),
                _ => String::new(),
            };
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{} <span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{where_}</td></tr>",
                feed::rfc3339(p.updated_at),
                esc(&p.account),
                esc(&p.platform),
                esc(&p.locale),
                esc(&p.state),
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("<h2>Recent sends</h2>");
    let recent = app.store.deliveries(None, 20).await?;
    if recent.is_empty() {
        out.push_str("<p class=\"muted\">No email sent yet.</p>");
    } else {
        out.push_str(
            "<table><thead><tr><th>When</th><th>Recipient</th><th>Locale</th><th>Message</th>\
             <th>State</th><th>Detail</th></tr></thead><tbody>",
        );
        for d in recent {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
                feed::rfc3339(d.updated_at),
                esc(&crate::email::message::redact(&d.email)),
                esc(&d.locale),
                esc(&d.kind),
                esc(&d.period),
                esc(&d.state),
                esc(d.last_error.as_deref().or(d.reply.as_deref()).unwrap_or("")),
            );
        }
        out.push_str("</tbody></table>");
    }
    let audience = app.store.audience_counts().await?;
    if !audience.is_empty() {
        out.push_str("<h2>Audience</h2><p>");
        for (kind, state, n) in audience {
            let _ = write!(out, "{n} {}s {} · ", esc(&kind), esc(&state));
        }
        out.push_str("</p>");
    }
    Ok(out)
}

/// Two series (posts, sends) as bars per hour over the 7 days before `now`.
pub fn chart(now: DateTime<Utc>, posts: &[DateTime<Utc>], sends: &[DateTime<Utc>]) -> String {
    const HOURS: usize = 24 * 7;
    let end = now.duration_trunc(Duration::hours(1)).unwrap_or(now) + Duration::hours(1);
    let start = end - Duration::hours(HOURS as i64);
    let bucket = |ts: &[DateTime<Utc>]| {
        let mut b = vec![0u32; HOURS];
        for t in ts.iter().filter(|t| **t >= start && **t < end) {
            let i = usize::try_from((*t - start).num_hours()).unwrap_or(0);
            if let Some(x) = b.get_mut(i) {
                *x += 1;
            }
        }
        b
    };
    let (p, s) = (bucket(posts), bucket(sends));
    let max = p.iter().chain(&s).copied().max().unwrap_or(0).max(1);
    let (w, h, left, bottom) = (840.0_f64, 200.0_f64, 36.0_f64, 24.0_f64);
    let bw = (w - left) / HOURS as f64;
    let plot = h - bottom - 8.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" \
         aria-label=\"Posts and sends per hour over the last 7 days: {} posts, {} sends\">\
         <title>Posts and sends per hour, last 7 days</title>",
        p.iter().sum::<u32>(),
        s.iter().sum::<u32>()
    );
    let _ = write!(
        svg,
        "<line x1=\"{left}\" y1=\"{0}\" x2=\"{w}\" y2=\"{0}\" stroke=\"#98a2b3\"/>\
         <text x=\"{1}\" y=\"12\" font-size=\"10\" text-anchor=\"end\" fill=\"#6b7687\">{max}</text>\
         <text x=\"{1}\" y=\"{0}\" font-size=\"10\" text-anchor=\"end\" fill=\"#6b7687\">0</text>",
        h - bottom,
        left - 4.0
    );
    for day in 0..7 {
        let x = left + (day * 24) as f64 * bw;
        let label = (start + Duration::days(day as i64)).format("%a %d");
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"8\" x2=\"{x:.1}\" y2=\"{0}\" stroke=\"#eef1f5\"/>\
             <text x=\"{1:.1}\" y=\"{2}\" font-size=\"10\" fill=\"#6b7687\">{label}</text>",
            h - bottom,
            x + 2.0,
            h - 8.0
        );
    }
    for (series, color, offset) in [(&p, "#2f6fdf", 0.0), (&s, "#e07a1f", 0.5)] {
        for (i, n) in series.iter().enumerate().filter(|(_, n)| **n > 0) {
            let bh = plot * f64::from(*n) / f64::from(max);
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.2}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{n}</title></rect>",
                left + i as f64 * bw + offset * bw,
                h - bottom - bh,
                bw / 2.0
            );
        }
    }
    let _ = write!(
        svg,
        "<rect x=\"{0}\" y=\"2\" width=\"8\" height=\"8\" fill=\"#2f6fdf\"/><text x=\"{1}\" y=\"10\" font-size=\"10\">posts</text>\
         <rect x=\"{2}\" y=\"2\" width=\"8\" height=\"8\" fill=\"#e07a1f\"/><text x=\"{3}\" y=\"10\" font-size=\"10\">sends</text></svg>",
        w - 110.0,
        w - 98.0,
        w - 55.0,
        w - 43.0
    );
    svg
}
