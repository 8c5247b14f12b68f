//! The admin API under `/api/v1`: JSON over HTTP for editors and operators, behind
//! bearer tokens with scopes (`auth.rs`), described by an OpenAPI document generated
//! from these handlers (`openapi.rs`).
//!
//! Every refusal is a JSON [`ErrorBody`] with a status from the 4xx family; a failure of
//! our own is a 500 with a generic message (the details go to the log, not the client).
//! No CORS headers are sent: browsers on other origins cannot call the API.

pub mod articles;
pub mod audience;
pub mod auth;
pub mod jobs;
pub mod openapi;

pub use auth::Scope;

use crate::app::SharedApp;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, any, on};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `[api]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Largest request body the admin API accepts, in bytes; a larger one is refused
    /// with 413. Default: 1048576 (1 MiB).
    pub max_body_bytes: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
        }
    }
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, and where.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`unauthorized`, `insufficient_scope`,
    /// `malformed_json`, `unknown_locale`, `invalid_field`, `not_found`, ...).
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The offending field as a path (`translations[1].title`), when there is one.
    pub field: Option<String>,
    /// The locale of the offending translation, when there is one.
    pub locale: Option<String>,
}

/// A refusal (or an internal failure) on its way to becoming an [`ErrorBody`].
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub locale: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            locale: None,
        }
    }

    /// 422 naming a field (and, through [`ApiError::locale`], the translation).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).field(field)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error = %e, "admin API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed; the server log has the details",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
                locale: self.locale,
            },
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bridgecast\""),
            );
        }
        resp
    }
}

/// `axum::Json`, with every rejection (wrong content type, malformed JSON, a value of
/// the wrong shape, a body over the limit) turned into an [`ApiError`].
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(json_rejection(rej.status(), &rej.body_text())),
        }
    }
}

fn json_rejection(status: StatusCode, text: &str) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            status,
            "body_too_large",
            "the request body is larger than api.max_body_bytes",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            status,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            // serde_path_to_error puts the path first: "translations[0].title: missing field".
            let detail = text
                .split_once("target type: ")
                .map_or(text, |(_, d)| d)
                .to_owned();
            let mut e = ApiError::new(status, "invalid_json", detail.clone());
            if let Some((path, _)) = detail.split_once(": ")
                && !path.contains(' ')
            {
                e = e.field(path);
            }
            e
        }
        _ => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {text}"),
        ),
    }
}

/// The admin API's routes, recorded as they are added so tests can compare them with
/// the OpenAPI document.
pub(crate) struct Routes {
    app: SharedApp,
    router: Router<SharedApp>,
    list: Vec<(Method, &'static str)>,
}

impl Routes {
    fn new(app: &SharedApp) -> Self {
        Self {
            app: app.clone(),
            router: Router::new(),
            list: vec![],
        }
    }

    /// Adds one operation; with a scope, requests without a token holding it are
    /// refused before the body is read.
    fn add<H, T>(mut self, method: Method, path: &'static str, scope: Option<Scope>, h: H) -> Self
    where
        H: Handler<T, SharedApp>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a standard method");
        let mut route = on(filter, h);
        if let Some(scope) = scope {
            route = route.route_layer(middleware::from_fn_with_state(
                Guard {
                    app: self.app.clone(),
                    scope,
                },
                guard,
            ));
        }
        self.router = self.router.route(path, route);
        self.list.push((method, path));
        self
    }
}

fn routes(app: &SharedApp) -> Routes {
    use Method as M;
    use Scope::{ArticlesWrite as W, AudienceWrite as A, Read as R};
    Routes::new(app)
        .add(M::GET, "/api/v1/openapi.json", None, openapi::document)
        .add(M::GET, "/api/v1/articles", Some(R), articles::list)
        .add(M::POST, "/api/v1/articles", Some(W), articles::create)
        .add(M::GET, "/api/v1/articles/{id}", Some(R), articles::fetch)
        .add(M::PUT, "/api/v1/articles/{id}", Some(W), articles::update)
        .add(
            M::POST,
            "/api/v1/articles/{id}/publish",
            Some(W),
            articles::publish_now,
        )
        .add(
            M::POST,
            "/api/v1/articles/{id}/correct",
            Some(W),
            articles::correct,
        )
        .add(
            M::POST,
            "/api/v1/articles/{id}/retract",
            Some(W),
            articles::retract,
        )
        .add(
            M::GET,
            "/api/v1/articles/{id}/timeline",
            Some(R),
            articles::timeline,
        )
        .add(M::GET, "/api/v1/jobs", Some(R), jobs::list)
        .add(M::POST, "/api/v1/jobs/{id}/retry", Some(W), jobs::retry)
        .add(M::POST, "/api/v1/jobs/{id}/cancel", Some(W), jobs::cancel)
        .add(M::GET, "/api/v1/ingest", Some(R), jobs::ingest_sources)
        .add(
            M::GET,
            "/api/v1/subscribers",
            Some(R),
            audience::list_subscribers,
        )
        .add(
            M::POST,
            "/api/v1/subscribers",
            Some(A),
            audience::create_subscriber,
        )
        .add(
            M::GET,
            "/api/v1/subscribers/{id}",
            Some(R),
            audience::get_subscriber,
        )
        .add(
            M::PATCH,
            "/api/v1/subscribers/{id}",
            Some(A),
            audience::update_subscriber,
        )
        .add(
            M::DELETE,
            "/api/v1/subscribers/{id}",
            Some(A),
            audience::delete_subscriber,
        )
        .add(
            M::GET,
            "/api/v1/organisations",
            Some(R),
            audience::list_organisations,
        )
        .add(
            M::GET,
            "/api/v1/organisations/{id}",
            Some(R),
            audience::get_organisation,
        )
        .add(
            M::PUT,
            "/api/v1/organisations/{id}",
            Some(A),
            audience::put_organisation,
        )
        .add(
            M::DELETE,
            "/api/v1/organisations/{id}",
            Some(A),
            audience::delete_organisation,
        )
        .add(
            M::POST,
            "/api/v1/organisations/{id}/contacts",
            Some(A),
            audience::add_contact,
        )
        .add(
            M::DELETE,
            "/api/v1/organisations/{id}/contacts/{email}",
            Some(A),
            audience::delete_contact,
        )
}

/// Every `(method, path)` the API serves, in axum's path syntax (which is OpenAPI's).
pub fn route_table(app: &SharedApp) -> Vec<(Method, &'static str)> {
    routes(app).list
}

/// The API's router, to merge into the server's (state not yet applied).
pub fn router(app: &SharedApp) -> Router<SharedApp> {
    routes(app)
        .router
        .route("/api/v1", any(unknown))
        .route("/api/v1/", any(unknown))
        .route("/api/v1/{*rest}", any(unknown))
        .layer(middleware::map_response(json_errors))
        .layer(DefaultBodyLimit::max(app.config.api.max_body_bytes))
}

async fn unknown() -> ApiError {
    ApiError::not_found("no such API endpoint; see /api/v1/openapi.json")
}

/// Whatever axum itself refuses (a wrong method, a path or query parameter of the wrong
/// type) comes back as plain text; give it our JSON body so every refusal looks alike.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(resp.into_body(), 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        s if s.is_server_error() => "internal",
        _ => "refused",
    };
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        "this endpoint does not take that method".to_owned()
    } else if status.is_server_error() || text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_owned()
    } else {
        text
    };
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

#[derive(Debug, Clone)]
struct Guard {
    app: SharedApp,
    scope: Scope,
}

async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    match auth::authorize(&g.app, req.headers(), g.scope).await {
        Ok(token) => {
            req.extensions_mut().insert(token);
            // A panicking handler becomes a JSON 500, never a dropped connection or a
            // panic message.
            match tokio::spawn(next.run(req)).await {
                Ok(resp) => resp,
                Err(e) => ApiError::from(anyhow::anyhow!("admin API handler panicked: {e}"))
                    .into_response(),
            }
        }
        Err(e) => e.into_response(),
    }
}
