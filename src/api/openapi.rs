//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types, so it cannot drift from the code.
//! A test checks that it lists exactly the routes the router serves.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "bridgecast admin API",
        description = "Articles with translations, jobs, per-article timelines, upstream ingest state and the email audience. \
                       Authenticate with `Authorization: Bearer <token>` from `bridgecast tokens create`."
    ),
    paths(
        document,
        super::articles::list,
        super::articles::create,
        super::articles::fetch,
        super::articles::update,
        super::articles::publish_now,
        super::articles::correct,
        super::articles::retract,
        super::articles::timeline,
        super::jobs::list,
        super::jobs::retry,
        super::jobs::cancel,
        super::jobs::ingest_sources,
        super::audience::list_subscribers,
        super::audience::create_subscriber,
        super::audience::get_subscriber,
        super::audience::update_subscriber,
        super::audience::delete_subscriber,
        super::audience::list_organisations,
        super::audience::get_organisation,
        super::audience::put_organisation,
        super::audience::delete_organisation,
        super::audience::add_contact,
        super::audience::delete_contact,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "articles", description = "Articles and their translations"),
        (name = "jobs", description = "The durable job queue"),
        (name = "ingest", description = "Upstream feeds"),
        (name = "audience", description = "Email subscribers and friendship organisations with contacts"),
    )
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "openapi_document", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
