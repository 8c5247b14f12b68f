//! The HTTP server. Handlers read the document cache or the store and never do
//! outbound work: a feed request costs a hash-map lookup and a reference count.

use crate::app::SharedApp;
use crate::document::{Document, Encoding};
use crate::feed::{self, html};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

pub fn router(app: SharedApp) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/media/{channel}/{file}", get(media))
        .merge(crate::email::pages::routes())
        .merge(crate::api::router(&app))
        .merge(crate::admin_page::router())
        .fallback(cached)
        .layer(middleware::from_fn_with_state(app.clone(), count))
        .with_state(app)
}

async fn count(State(app): State<SharedApp>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    app.metrics.http(resp.status().as_u16());
    resp
}

/// Sends readers to the landing page in their language.
async fn root(State(app): State<SharedApp>, headers: HeaderMap) -> Response {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let locales = html::site_locales(&app.channels());
    let mut chosen = crate::i18n::negotiate(accept, crate::locale::REFERENCE);
    if !locales.contains(&chosen) {
        chosen = locales.first().copied().unwrap_or(crate::locale::REFERENCE);
    }
    let mut resp = Redirect::to(&format!("/{chosen}/")).into_response();
    resp.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    resp
}

async fn readyz(State(app): State<SharedApp>) -> Response {
    if app.is_ready() && app.store.ping().await {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn metrics(State(app): State<SharedApp>) -> Response {
    let q = app.store.queue_counts().await.unwrap_or_default();
    let failing_sources = app.store.ingest_sources().await.map_or(0, |s| {
        s.iter()
            .filter(|s| s.last_status.as_deref() == Some("error"))
            .count()
    });
    let extra = [
        ("bridgecast_jobs_pending", "Jobs waiting to run.", q.pending),
        (
            "bridgecast_jobs_running",
            "Jobs leased to a worker.",
            q.running,
        ),
        ("bridgecast_jobs_dead", "Dead letters.", q.dead),
        (
            "bridgecast_documents_cached",
            "Rendered documents in memory.",
            i64::try_from(app.cache.len()).unwrap_or(0),
        ),
        (
            "bridgecast_ingest_sources_failing",
            "Upstream feeds whose last poll failed.",
            i64::try_from(failing_sources).unwrap_or(0),
        ),
        (
            "bridgecast_content_problems",
            "Problems in the content folder.",
            i64::try_from(app.problems().len()).unwrap_or(0),
        ),
    ];
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(&extra),
    )
        .into_response()
}

async fn media(
    State(app): State<SharedApp>,
    axum::extract::Path((channel, file)): axum::extract::Path<(String, String)>,
) -> Response {
    let Some(c) = app.channel(&channel) else {
        return not_found();
    };
    if file.starts_with('.') || file.contains(['/', '\\']) {
        return not_found();
    }
    match tokio::fs::read(c.dir.join("media").join(&file)).await {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    crate::content::mime_for(&file).to_owned(),
                ),
                (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => not_found(),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

/// Feeds, archive pages, landing pages and the OPML come from the cache; anything
/// else shaped like `/{locale}/{channel}/{slug}` is an article page.
async fn cached(
    State(app): State<SharedApp>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let path = uri.path();
    if let Some(doc) = app.cache.get(path) {
        return serve(&doc, &headers, &method, app.config.feeds.max_age_secs);
    }
    // `/en` without the slash: the landing page lives at `/en/`.
    if crate::locale::is_supported(path.trim_start_matches('/'))
        && app.cache.get(&format!("{path}/")).is_some()
    {
        return Redirect::permanent(&format!("{path}/")).into_response();
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let [locale, channel, slug] = parts[..] {
        return article(&app, locale, channel, slug, &method).await;
    }
    not_found()
}

async fn article(
    app: &SharedApp,
    locale: &str,
    channel: &str,
    slug: &str,
    method: &Method,
) -> Response {
    let Ok(Some(t)) = app.store.translation_at(channel, slug, locale).await else {
        return not_found();
    };
    let now = app.now();
    if t.status == crate::content::Status::Draft || t.published_at > now {
        return not_found();
    }
    let others: Vec<_> = app
        .store
        .translations_of(&t.article_id)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|o| {
            o.locale != t.locale
                && o.status != crate::content::Status::Draft
                && o.published_at <= now
        })
        .collect();
    let page = feed::html::article(app.site(), &t, &others);
    let status = if t.retracted_at.is_some_and(|r| r <= now) {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(page)
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Picks the best encoding the client accepts among those we hold (br, then gzip).
pub fn choose_encoding(accept: Option<&str>) -> Encoding {
    let Some(accept) = accept else {
        return Encoding::Identity;
    };
    let mut br = false;
    let mut gz = false;
    for part in accept.split(',') {
        let mut it = part.split(';');
        let name = it.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = it
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        if q <= 0.0 {
            continue;
        }
        match name.as_str() {
            "br" => br = true,
            "gzip" | "x-gzip" => gz = true,
            "*" => {
                br = true;
                gz = true;
            }
            _ => {}
        }
    }
    if br {
        Encoding::Brotli
    } else if gz {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Answers a request for a cached document: 304 when the client's copy is current,
/// else the representation for its `Accept-Encoding`.
pub fn serve(doc: &Document, headers: &HeaderMap, method: &Method, max_age: u64) -> Response {
    let enc = choose_encoding(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let etag = doc.etag_for(enc);
    let not_modified = match headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        // If-None-Match uses weak comparison, and every encoding of the same bytes
        // is the same content, so any of our three validators matches.
        Some(inm) => inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || doc.validates(t)),
        None => headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
            .is_some_and(|since| doc.last_modified.timestamp() <= since.timestamp()),
    };
    let mut b = Response::builder()
        .header(header::ETAG, etag)
        .header(header::LAST_MODIFIED, http_date(doc.last_modified))
        .header(header::CACHE_CONTROL, format!("public, max-age={max_age}"))
        .header(header::VARY, "Accept-Encoding");
    if not_modified {
        return b
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_else(|_| not_found());
    }
    b = b.header(header::CONTENT_TYPE, &doc.content_type);
    match enc {
        Encoding::Identity => {}
        Encoding::Gzip => b = b.header(header::CONTENT_ENCODING, "gzip"),
        Encoding::Brotli => b = b.header(header::CONTENT_ENCODING, "br"),
    }
    let bytes = doc.bytes(enc).clone();
    b = b.header(header::CONTENT_LENGTH, bytes.len());
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    b.status(StatusCode::OK)
        .body(body)
        .unwrap_or_else(|_| not_found())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_negotiation_respects_q_values() {
        assert_eq!(choose_encoding(None), Encoding::Identity);
        assert_eq!(choose_encoding(Some("gzip, deflate, br")), Encoding::Brotli);
        assert_eq!(choose_encoding(Some("gzip")), Encoding::Gzip);
        assert_eq!(choose_encoding(Some("br;q=0, gzip;q=0.5")), Encoding::Gzip);
        assert_eq!(choose_encoding(Some("identity")), Encoding::Identity);
        assert_eq!(choose_encoding(Some("*")), Encoding::Brotli);
    }
}
