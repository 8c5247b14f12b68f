//! Articles through the API: create and update with translations, schedule, publish
//! now, correct, retract, list, fetch, and the per-article timeline. Every write goes
//! through `publish::apply_external`, which queues the same renders, posts and
//! follow-ups a change in the content folder would.

use super::{ApiError, ApiJson};
use crate::app::SharedApp;
use crate::content::{self, Status, Translation};
use crate::timeline::{self, Timeline};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};

/// An article to create or replace, with its translations.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    /// The permanent `tag:` URI (RFC 4151). On create it may be left out: one is made
    /// from the base URL's host, today's date, the channel and the slug.
    pub id: Option<String>,
    /// The channel (a folder under `feeds/`).
    pub channel: String,
    /// Lower-case letters, digits and `-`; part of the article's page address.
    pub slug: String,
    #[serde(default)]
    pub topics: Vec<String>,
    /// When the article goes live (RFC 3339). In the future: scheduled. Left out: now,
    /// or what it was.
    pub published_at: Option<DateTime<Utc>>,
    pub translations: Vec<TranslationInput>,
}

/// One translation of an article.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranslationInput {
    /// A locale the channel publishes (`zh-Hans`, `en`, `ar`, ...).
    pub locale: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// Markdown; rendered to sanitised HTML.
    #[serde(default)]
    pub body: String,
    /// `approved` (default), `machine-translated` or `draft`.
    pub status: Option<String>,
    /// Overrides the article's `published_at` for this translation.
    pub published_at: Option<DateTime<Utc>>,
    /// An image shown with the entry (RSS enclosure, Atom/JSON Feed image).
    pub image: Option<ImageInput>,
}

/// An image by absolute URL, with the text that replaces it for readers who cannot see it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageInput {
    /// An absolute http(s) URL.
    pub url: String,
    /// Alternative text; required.
    pub alt: String,
}

/// A correction: what changed, and optionally new text for some translations.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionInput {
    /// Shown to readers with the corrected entry.
    pub note: String,
    /// New text for the translations that change; the note applies to every
    /// translation when this is empty, else to those listed.
    #[serde(default)]
    pub translations: Vec<TranslationInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArticleView {
    pub id: String,
    pub channel: String,
    pub slug: String,
    pub topics: Vec<String>,
    /// `api`, `ingest:<url>` or the content file of the first translation.
    pub source: String,
    pub translations: Vec<TranslationView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TranslationView {
    pub locale: String,
    pub title: String,
    pub summary: String,
    pub body_html: String,
    pub status: String,
    /// `live`, `scheduled`, `draft`, `retracted` or `due`.
    pub state: String,
    pub published_at: DateTime<Utc>,
    pub live_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub retracted_at: Option<DateTime<Utc>>,
    pub correction: Option<String>,
    /// The image's absolute URL, if any.
    pub image: Option<String>,
    /// The article page in this locale.
    pub url: String,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this channel's articles.
    pub channel: Option<String>,
}

type Live = HashMap<(String, String), Option<DateTime<Utc>>>;

fn view(app: &SharedApp, ts: &[&Translation], live: &Live) -> ArticleView {
    let now = app.now();
    let first = ts[0];
    ArticleView {
        id: first.article_id.clone(),
        channel: first.channel.clone(),
        slug: first.slug.clone(),
        topics: first.topics.clone(),
        source: first.source.clone(),
        translations: ts
            .iter()
            .map(|t| {
                let live_at = live
                    .get(&(t.article_id.clone(), t.locale.clone()))
                    .copied()
                    .flatten();
                TranslationView {
                    locale: t.locale.clone(),
                    title: t.title.clone(),
                    summary: t.summary.clone(),
                    body_html: t.body_html.clone(),
                    status: t.status.as_str().to_owned(),
                    state: timeline::state_of(t, live_at, now).to_owned(),
                    published_at: t.published_at,
                    live_at,
                    updated_at: t.updated_at,
                    retracted_at: t.retracted_at,
                    correction: t.correction.clone(),
                    image: t.image.as_ref().map(|i| i.url.clone()),
                    url: app
                        .site()
                        .url(&content::article_path(&t.locale, &t.channel, &t.slug)),
                }
            })
            .collect(),
    }
}

async fn view_of(app: &SharedApp, id: &str) -> Result<ArticleView, ApiError> {
    let mut ts = app.store.translations_of(id).await?;
    if ts.is_empty() {
        return Err(ApiError::not_found(format!("no article {id:?}")));
    }
    ts.sort_by(|a, b| a.locale.cmp(&b.locale));
    let live = app.store.live_times().await?;
    Ok(view(app, &ts.iter().collect::<Vec<_>>(), &live))
}

/// The stored translations of an article the API may change: it must exist and must
/// not belong to the content folder or an upstream feed (they would overwrite it).
async fn api_owned(app: &SharedApp, id: &str) -> Result<Vec<Translation>, ApiError> {
    let ts = app.store.translations_of(id).await?;
    if ts.is_empty() {
        return Err(ApiError::not_found(format!("no article {id:?}")));
    }
    if let Some(t) = ts.iter().find(|t| t.source != "api") {
        return Err(ApiError::conflict(
            "not_api_managed",
            format!("article {id:?} comes from {}; change it there", t.source),
        ));
    }
    Ok(ts)
}

fn parse_status(s: Option<&str>, field: String, locale: &str) -> Result<Status, ApiError> {
    match s {
        None | Some("approved") => Ok(Status::Approved),
        Some("draft") => Ok(Status::Draft),
        Some("machine-translated") => Ok(Status::MachineTranslated),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("status {other:?} is not one of approved, machine-translated, draft"),
        )
        .locale(locale)),
    }
}

/// Applies a translation's submitted text to `t` (new or existing), validating it.
fn fill(
    app: &SharedApp,
    t: &mut Translation,
    input: &TranslationInput,
    i: usize,
) -> Result<(), ApiError> {
    let at = |f: &str| format!("translations[{i}].{f}");
    if input.title.trim().is_empty() {
        return Err(ApiError::invalid(at("title"), "the title is empty").locale(&input.locale));
    }
    if input.title.chars().count() > 500 {
        return Err(
            ApiError::invalid(at("title"), "the title is longer than 500 characters")
                .locale(&input.locale),
        );
    }
    let base = url::Url::parse(app.config.base()).map_err(anyhow::Error::from)?;
    t.title = input.title.trim().to_owned();
    t.summary = input.summary.trim().to_owned();
    t.body_html = crate::markdown::to_safe_html(&input.body, &base);
    t.status = parse_status(input.status.as_deref(), at("status"), &input.locale)?;
    if let Some(p) = input.published_at {
        t.published_at = p;
    }
    if let Some(img) = &input.image {
        let ok = url::Url::parse(&img.url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(ApiError::invalid(
                at("image.url"),
                "an image URL is absolute http or https",
            )
            .locale(&input.locale));
        }
        if img.alt.trim().is_empty() {
            return Err(ApiError::invalid(
                at("image.alt"),
                "describe the image for readers who cannot see it",
            )
            .locale(&input.locale));
        }
        t.image = Some(content::Image {
            url: img.url.clone(),
            alt: img.alt.trim().to_owned(),
            mime: content::mime_for(img.url.split(['?', '#']).next().unwrap_or("")).to_owned(),
            length: 0,
        });
    }
    Ok(())
}

fn check_locale(
    channel: &content::Channel,
    input: &TranslationInput,
    i: usize,
) -> Result<(), ApiError> {
    if !channel.locales.contains(&input.locale) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_locale",
            format!(
                "channel {:?} does not publish locale {:?} (it publishes {})",
                channel.id,
                input.locale,
                channel.locales.join(", ")
            ),
        )
        .field(format!("translations[{i}].locale"))
        .locale(&input.locale));
    }
    Ok(())
}

/// Validates a whole article and builds its translations, starting from `existing`.
fn build(
    app: &SharedApp,
    input: &ArticleInput,
    id: &str,
    existing: &[Translation],
) -> Result<Vec<Translation>, ApiError> {
    let Some(channel) = app.channel(&input.channel) else {
        return Err(ApiError::invalid(
            "channel",
            format!("no channel {:?}", input.channel),
        ));
    };
    if !content::valid_slug(&input.slug) {
        return Err(ApiError::invalid(
            "slug",
            "a slug is lower-case letters, digits and '-'",
        ));
    }
    if let Some(t) = input
        .topics
        .iter()
        .find(|t| !content::TOPICS.contains(&t.as_str()))
    {
        return Err(ApiError::invalid("topics", format!("unknown topic {t:?}")));
    }
    if input.translations.is_empty() {
        return Err(ApiError::invalid(
            "translations",
            "an article needs at least one translation",
        ));
    }
    let now = app.now();
    let mut out: Vec<Translation> = vec![];
    for (i, tin) in input.translations.iter().enumerate() {
        check_locale(&channel, tin, i)?;
        if out.iter().any(|t| t.locale == tin.locale) {
            return Err(ApiError::invalid(
                format!("translations[{i}].locale"),
                "this locale appears twice",
            )
            .locale(&tin.locale));
        }
        let mut t = existing
            .iter()
            .find(|e| e.locale == tin.locale)
            .cloned()
            .unwrap_or_else(|| Translation {
                article_id: id.to_owned(),
                channel: channel.id.clone(),
                slug: input.slug.clone(),
                locale: tin.locale.clone(),
                title: String::new(),
                summary: String::new(),
                body_html: String::new(),
                topics: vec![],
                status: Status::Approved,
                published_at: input.published_at.unwrap_or(now),
                updated_at: None,
                retracted_at: None,
                correction: None,
                image: None,
                source: "api".into(),
                source_hash: String::new(),
            });
        t.channel = channel.id.clone();
        t.slug = input.slug.clone();
        t.topics = input.topics.clone();
        if let Some(p) = input.published_at {
            t.published_at = p;
        }
        fill(app, &mut t, tin, i)?;
        t.source_hash = content::hash_translation(&t);
        out.push(t);
    }
    Ok(out)
}

/// Refuses a channel/slug that another article already has (page addresses must stay
/// unique).
async fn slug_free(app: &SharedApp, input: &ArticleInput, id: &str) -> Result<(), ApiError> {
    if let Some(t) = app
        .store
        .all_translations()
        .await?
        .into_iter()
        .find(|t| t.channel == input.channel && t.slug == input.slug && t.article_id != id)
    {
        return Err(ApiError::invalid(
            "slug",
            format!(
                "{}/{} is already article {}",
                t.channel, t.slug, t.article_id
            ),
        ));
    }
    Ok(())
}

fn new_id(app: &SharedApp, input: &ArticleInput) -> String {
    let host = url::Url::parse(app.config.base())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "localhost".into());
    format!(
        "tag:{host},{}:{}/{}",
        app.now().format("%Y-%m-%d"),
        input.channel,
        input.slug
    )
}

async fn save(app: &SharedApp, ts: &[Translation]) -> Result<(), ApiError> {
    crate::publish::apply_external(app, ts).await?;
    Ok(())
}

/// Every article, newest first, with the state of each translation.
#[utoipa::path(get, path = "/api/v1/articles", operation_id = "list_articles", tag = "articles",
    params(ListQuery),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The articles", body = [ArticleView]),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = super::ErrorBody),
    ))]
pub async fn list(
    State(app): State<SharedApp>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ArticleView>>, ApiError> {
    let all = app.store.all_translations().await?;
    let live = app.store.live_times().await?;
    let mut groups: BTreeMap<&str, Vec<&Translation>> = BTreeMap::new();
    for t in all
        .iter()
        .filter(|t| q.channel.as_deref().is_none_or(|c| c == t.channel))
    {
        groups.entry(t.article_id.as_str()).or_default().push(t);
    }
    let mut out: Vec<ArticleView> = groups
        .into_values()
        .map(|mut ts| {
            ts.sort_by(|a, b| a.locale.cmp(&b.locale));
            view(&app, &ts, &live)
        })
        .collect();
    out.sort_by_key(|a| {
        std::cmp::Reverse(
            a.translations
                .iter()
                .map(|t| t.published_at)
                .max()
                .unwrap_or_default(),
        )
    });
    Ok(Json(out))
}

/// Creates an article with its translations; it goes live at `published_at`.
#[utoipa::path(post, path = "/api/v1/articles", operation_id = "create_article", tag = "articles",
    request_body = ArticleInput,
    security(("bearer" = ["articles:write"])),
    responses(
        (status = 201, description = "Created", body = ArticleView),
        (status = 400, description = "Malformed JSON", body = super::ErrorBody),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks articles:write", body = super::ErrorBody),
        (status = 409, description = "An article with this id exists", body = super::ErrorBody),
        (status = 413, description = "Body over api.max_body_bytes", body = super::ErrorBody),
        (status = 415, description = "Not application/json", body = super::ErrorBody),
        (status = 422, description = "Invalid field (named, with its locale)", body = super::ErrorBody),
    ))]
pub async fn create(
    State(app): State<SharedApp>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<(StatusCode, Json<ArticleView>), ApiError> {
    let id = match &input.id {
        Some(id) if !content::valid_tag_uri(id) => {
            return Err(ApiError::invalid(
                "id",
                "an article id is a tag: URI (RFC 4151), like tag:example.org,2026-01-31:slug",
            ));
        }
        Some(id) => id.clone(),
        None => new_id(&app, &input),
    };
    if !app.store.translations_of(&id).await?.is_empty() {
        return Err(ApiError::conflict(
            "exists",
            format!("article {id:?} exists; PUT /api/v1/articles/{{id}} changes it"),
        ));
    }
    let ts = build(&app, &input, &id, &[])?;
    slug_free(&app, &input, &id).await?;
    save(&app, &ts).await?;
    Ok((StatusCode::CREATED, Json(view_of(&app, &id).await?)))
}

/// One article with the state of each translation.
#[utoipa::path(get, path = "/api/v1/articles/{id}", operation_id = "get_article", tag = "articles",
    params(("id" = String, Path, description = "The article's tag: URI (percent-encoded)")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The article", body = ArticleView),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = super::ErrorBody),
        (status = 404, description = "No such article", body = super::ErrorBody),
    ))]
pub async fn fetch(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Json<ArticleView>, ApiError> {
    Ok(Json(view_of(&app, &id).await?))
}

/// Replaces the listed translations of an API-managed article (others are kept).
#[utoipa::path(put, path = "/api/v1/articles/{id}", operation_id = "update_article", tag = "articles",
    params(("id" = String, Path, description = "The article's tag: URI (percent-encoded)")),
    request_body = ArticleInput,
    security(("bearer" = ["articles:write"])),
    responses(
        (status = 200, description = "Updated", body = ArticleView),
        (status = 400, description = "Malformed JSON", body = super::ErrorBody),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks articles:write", body = super::ErrorBody),
        (status = 404, description = "No such article", body = super::ErrorBody),
        (status = 409, description = "The article belongs to the content folder or a feed", body = super::ErrorBody),
        (status = 422, description = "Invalid field (named, with its locale)", body = super::ErrorBody),
    ))]
pub async fn update(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ArticleInput>,
) -> Result<Json<ArticleView>, ApiError> {
    if input.id.as_deref().is_some_and(|i| i != id) {
        return Err(ApiError::invalid(
            "id",
            "the id in the body differs from the path",
        ));
    }
    let existing = api_owned(&app, &id).await?;
    let mut ts = build(&app, &input, &id, &existing)?;
    slug_free(&app, &input, &id).await?;
    // Channel, slug and topics belong to the article: keep every translation in step.
    let given: Vec<String> = ts.iter().map(|t| t.locale.clone()).collect();
    for e in existing.iter().filter(|e| !given.contains(&e.locale)) {
        let mut e = e.clone();
        e.channel = input.channel.clone();
        e.slug = input.slug.clone();
        e.topics = input.topics.clone();
        if let Some(p) = input.published_at {
            e.published_at = p;
        }
        e.source_hash = content::hash_translation(&e);
        ts.push(e);
    }
    save(&app, &ts).await?;
    Ok(Json(view_of(&app, &id).await?))
}

/// Publishes now: every translation that is scheduled or a draft goes live.
#[utoipa::path(post, path = "/api/v1/articles/{id}/publish", operation_id = "publish_article", tag = "articles",
    params(("id" = String, Path, description = "The article's tag: URI (percent-encoded)")),
    security(("bearer" = ["articles:write"])),
    responses(
        (status = 200, description = "Published", body = ArticleView),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks articles:write", body = super::ErrorBody),
        (status = 404, description = "No such article", body = super::ErrorBody),
        (status = 409, description = "Not API-managed, or retracted", body = super::ErrorBody),
    ))]
pub async fn publish_now(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Json<ArticleView>, ApiError> {
    let now = app.now();
    let mut ts = api_owned(&app, &id).await?;
    if ts.iter().all(|t| t.retracted_at.is_some()) {
        return Err(ApiError::conflict("retracted", "the article was retracted"));
    }
    for t in ts.iter_mut().filter(|t| t.retracted_at.is_none()) {
        if t.status == Status::Draft {
            t.status = Status::Approved;
        }
        if t.published_at > now {
            t.published_at = now;
        }
        t.source_hash = content::hash_translation(t);
    }
    save(&app, &ts).await?;
    Ok(Json(view_of(&app, &id).await?))
}

/// Corrects a published article: new text where given, `updated_at` now and the note.
#[utoipa::path(post, path = "/api/v1/articles/{id}/correct", operation_id = "correct_article", tag = "articles",
    params(("id" = String, Path, description = "The article's tag: URI (percent-encoded)")),
    request_body = CorrectionInput,
    security(("bearer" = ["articles:write"])),
    responses(
        (status = 200, description = "Corrected", body = ArticleView),
        (status = 400, description = "Malformed JSON", body = super::ErrorBody),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks articles:write", body = super::ErrorBody),
        (status = 404, description = "No such article", body = super::ErrorBody),
        (status = 409, description = "Not API-managed", body = super::ErrorBody),
        (status = 422, description = "Invalid field (named, with its locale)", body = super::ErrorBody),
    ))]
pub async fn correct(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CorrectionInput>,
) -> Result<Json<ArticleView>, ApiError> {
    if input.note.trim().is_empty() {
        return Err(ApiError::invalid("note", "say what was corrected"));
    }
    let now = app.now();
    let mut ts = api_owned(&app, &id).await?;
    for (i, tin) in input.translations.iter().enumerate() {
        let Some(t) = ts.iter_mut().find(|t| t.locale == tin.locale) else {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_locale",
                format!("the article has no {:?} translation to correct", tin.locale),
            )
            .field(format!("translations[{i}].locale"))
            .locale(&tin.locale));
        };
        fill(&app, t, tin, i)?;
    }
    for t in ts.iter_mut().filter(|t| {
        input.translations.is_empty() || input.translations.iter().any(|x| x.locale == t.locale)
    }) {
        t.updated_at = Some(now);
        t.correction = Some(input.note.trim().to_owned());
        t.source_hash = content::hash_translation(t);
    }
    save(&app, &ts).await?;
    Ok(Json(view_of(&app, &id).await?))
}

/// Retracts the article: every feed replaces its entry with a tombstone (RFC 6721) and
/// its social posts are deleted where the account says so.
#[utoipa::path(post, path = "/api/v1/articles/{id}/retract", operation_id = "retract_article", tag = "articles",
    params(("id" = String, Path, description = "The article's tag: URI (percent-encoded)")),
    security(("bearer" = ["articles:write"])),
    responses(
        (status = 200, description = "Retracted", body = ArticleView),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks articles:write", body = super::ErrorBody),
        (status = 404, description = "No such article", body = super::ErrorBody),
        (status = 409, description = "Not API-managed, or already retracted", body = super::ErrorBody),
    ))]
pub async fn retract(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Json<ArticleView>, ApiError> {
    let now = app.now();
    let mut ts = api_owned(&app, &id).await?;
    if ts.iter().all(|t| t.retracted_at.is_some()) {
        return Err(ApiError::conflict(
            "retracted",
            "the article is already retracted",
        ));
    }
    for t in ts.iter_mut().filter(|t| t.retracted_at.is_none()) {
        t.retracted_at = Some(now);
        t.source_hash = content::hash_translation(t);
    }
    save(&app, &ts).await?;
    Ok(Json(view_of(&app, &id).await?))
}

/// What happened to the article in every locale: feeds (with ETags), WebSub pings,
/// social posts, digests.
#[utoipa::path(get, path = "/api/v1/articles/{id}/timeline", operation_id = "article_timeline", tag = "articles",
    params(("id" = String, Path, description = "The article's tag: URI, channel/slug or slug (percent-encoded)")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The timeline", body = Timeline),
        (status = 401, description = "No or unknown token", body = super::ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = super::ErrorBody),
        (status = 404, description = "No such article", body = super::ErrorBody),
    ))]
pub async fn timeline(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Json<Timeline>, ApiError> {
    match timeline::build(&app, &id).await? {
        Some(t) => Ok(Json(t)),
        None => Err(ApiError::not_found(format!("no article {id:?}"))),
    }
}
