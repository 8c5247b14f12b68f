//! The HTTP server. Handlers read the document cache or the store and never do
//! outbound work: a feed request costs a hash-map lookup and a reference count.

use crate::app::SharedApp;
use crate::document::{Document, Encoding};
use crate::feed::{self, html};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::DateTime;
use std::pin::Pin;
use std::task::{Context, Poll};

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
        .layer(CountLayer(app.clone()))
        .with_state(app)
}

/// What the server runs for each connection: [`FastPath`] over the router.
pub fn make_service(app: SharedApp) -> MakeService {
    MakeService {
        router: router(app.clone()),
        app,
    }
}

#[derive(Clone)]
pub struct MakeService {
    app: SharedApp,
    router: Router,
}

impl std::fmt::Debug for MakeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MakeService").finish_non_exhaustive()
    }
}

impl MakeService {
    /// The service for one connection from `peer`.
    pub fn connection(&self, peer: std::net::SocketAddr) -> FastPath {
        FastPath {
            app: self.app.clone(),
            router: self.router.clone(),
            peer,
        }
    }
}

impl<'a, L> tower_service::Service<axum::serve::IncomingStream<'a, L>> for MakeService
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
{
    type Response = FastPath;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<FastPath, std::convert::Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, s: axum::serve::IncomingStream<'a, L>) -> Self::Future {
        std::future::ready(Ok(self.connection(*s.remote_addr())))
    }
}

/// Answers a GET or HEAD for a cached document (the feeds, nearly all the traffic)
/// straight from the cache, exactly as the router's fallback would, without routing
/// it; everything else goes to the router, with the peer's address as `ConnectInfo`.
#[derive(Clone)]
pub struct FastPath {
    app: SharedApp,
    router: Router,
    peer: std::net::SocketAddr,
}

impl std::fmt::Debug for FastPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastPath")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl tower_service::Service<Request> for FastPath {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = futures_util::future::Either<
        std::future::Ready<Result<Response, std::convert::Infallible>>,
        axum::routing::future::RouteFuture<std::convert::Infallible>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        if (req.method() == Method::GET || req.method() == Method::HEAD)
            && let Some(doc) = self.app.cache.get(req.uri().path())
        {
            let resp = serve(&doc, req.headers(), req.method(), &self.app.cache_control);
            self.app.metrics.http(resp.status().as_u16());
            return futures_util::future::Either::Left(std::future::ready(Ok(resp)));
        }
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(self.peer));
        futures_util::future::Either::Right(self.router.call(req))
    }
}

/// Counts responses by status for `/metrics`. A plain tower layer: a request costs no
/// boxed future and no cloned service, as `axum::middleware::from_fn` would.
#[derive(Clone)]
struct CountLayer(SharedApp);

impl<S> tower_layer::Layer<S> for CountLayer {
    type Service = Count<S>;

    fn layer(&self, inner: S) -> Count<S> {
        Count {
            inner,
            app: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct Count<S> {
    inner: S,
    app: SharedApp,
}

impl<S> tower_service::Service<Request> for Count<S>
where
    S: tower_service::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Counted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        Counted {
            inner: self.inner.call(req),
            app: self.app.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    struct Counted<F> {
        #[pin]
        inner: F,
        app: SharedApp,
    }
}

impl<F, E> Future for Counted<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        if let Ok(resp) = &out {
            this.app.metrics.http(resp.status().as_u16());
        }
        Poll::Ready(out)
    }
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
async fn cached(State(app): State<SharedApp>, req: Request) -> Response {
    let (method, headers) = (req.method(), req.headers());
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let path = req.uri().path();
    if let Some(doc) = app.cache.get(path) {
        return serve(&doc, headers, method, &app.cache_control);
    }
    // `/en` without the slash: the landing page lives at `/en/`.
    if crate::locale::is_supported(path.trim_start_matches('/'))
        && app.cache.get(&format!("{path}/")).is_some()
    {
        return Redirect::permanent(&format!("{path}/")).into_response();
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let [locale, channel, slug] = parts[..] {
        return article(&app, locale, channel, slug, method).await;
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

/// Answers a request for a cached document: 304 when the client's copy is current,
/// else the representation for its `Accept-Encoding`. Every header value was made when
/// the document was rendered; this only looks up and copies.
pub fn serve(
    doc: &Document,
    headers: &HeaderMap,
    method: &Method,
    cache_control: &HeaderValue,
) -> Response {
    let enc = choose_encoding(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
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
    let (status, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, None)
    } else {
        (StatusCode::OK, Some(doc.bytes(enc).clone()))
    };
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.reserve(8);
    h.insert(header::ETAG, doc.etag_header(enc).clone());
    h.insert(header::LAST_MODIFIED, doc.last_modified_header().clone());
    h.insert(header::CACHE_CONTROL, cache_control.clone());
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let Some(bytes) = body else { return resp };
    h.insert(header::CONTENT_TYPE, doc.content_type_header().clone());
    match enc {
        Encoding::Identity => {}
        Encoding::Gzip => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Encoding::Brotli => {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
        }
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    if method != Method::HEAD {
        if enc == Encoding::Identity {
            crate::zero_copy::prepare(&bytes);
        }
        *resp.body_mut() = Body::from(bytes);
    }
    resp
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
