//! The email audience through the API: subscribers (double opt-in by default, or an
//! import of consent given elsewhere), their preferences and unsubscribing; friendship
//! organisations and their contacts.
//!
//! Preferences are checked by the same code as the subscribe page
//! (`email::pages::form::validate`), and a new pending subscriber goes through the same
//! double opt-in (`email::subscribe::request`): consent recorded, confirmation queued,
//! nothing else sent until they confirm.

use super::{ApiError, ApiJson, ErrorBody};
use crate::app::SharedApp;
use crate::email::pages::form::{self, Field, FormInput, Prefs, Problem};
use crate::email::subscribe::{self, Origin, Outcome};
use crate::store::{
    ACTIVE, BOUNCED, Consent, Contact, Delivery, Organisation, PENDING, Subscriber, UNSUBSCRIBED,
};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// What the consent record says a change through the API came from.
const API_SOURCE: &str = "api";
/// How many of a subscriber's deliveries its detail shows, newest first.
const LAST_DELIVERIES: i64 = 20;

// ---- views

/// A subscriber as the API shows it (never its link handle).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriberView {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub locale: String,
    /// Channel ids; empty means every channel.
    pub channels: Vec<String>,
    /// Topics; empty means every topic.
    pub topics: Vec<String>,
    /// `instant`, `daily` or `weekly`.
    pub frequency: String,
    /// IANA time zone of `hour`.
    pub time_zone: String,
    /// Local hour of a daily or weekly digest, 0-23.
    pub hour: u32,
    /// Day of a weekly digest, 1 = Monday … 7 = Sunday.
    pub weekday: u32,
    /// `pending`, `active`, `unsubscribed` or `bounced`.
    pub state: String,
    /// The next digest covers what goes live after this.
    pub since: DateTime<Utc>,
    /// When the next daily or weekly digest is due (none while not active, or instant).
    pub next_due: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<&Subscriber> for SubscriberView {
    fn from(s: &Subscriber) -> Self {
        Self {
            id: s.id.clone(),
            email: s.email.clone(),
            name: s.name.clone(),
            locale: s.locale.clone(),
            channels: s.channels.clone(),
            topics: s.topics.clone(),
            frequency: s.cadence.frequency.as_str().to_owned(),
            time_zone: s.cadence.time_zone.clone(),
            hour: s.cadence.hour,
            weekday: s.cadence.weekday,
            state: s.state.clone(),
            since: s.since,
            next_due: s.next_due,
            created_at: s.created_at,
            updated_at: s.updated_at,
            confirmed_at: s.confirmed_at,
            ended_at: s.ended_at,
        }
    }
}

/// One line of the consent record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsentView {
    /// `subscribe`, `confirm`, `preferences`, `unsubscribe`, `one-click` or `import`.
    pub action: String,
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub page_locale: Option<String>,
    /// The version of the consent text shown, `api` for a change through the API, or
    /// `import:<source>` for consent given elsewhere.
    pub text_version: Option<String>,
}

impl From<Consent> for ConsentView {
    fn from(c: Consent) -> Self {
        Self {
            action: c.action,
            at: c.at,
            ip: c.ip,
            page_locale: c.page_locale,
            text_version: c.text_version,
        }
    }
}

/// One email sent (or tried) to a recipient.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub job_key: String,
    /// `digest` or `confirmation`.
    pub kind: String,
    pub period: String,
    /// `sent`, `retrying`, `failed`, `bounced`, `skipped` or `empty`.
    pub state: String,
    pub message_id: Option<String>,
    /// Ids of the articles in a digest.
    pub articles: Vec<String>,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub updated_at: DateTime<Utc>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            job_key: d.job_key,
            kind: d.kind,
            period: d.period,
            state: d.state,
            message_id: d.message_id,
            articles: d.articles,
            last_error: d.last_error,
            attempts: d.attempts,
            updated_at: d.updated_at,
        }
    }
}

/// A subscriber with its consent record and last deliveries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriberDetail {
    #[serde(flatten)]
    pub subscriber: SubscriberView,
    /// Why the address is suppressed (a bounce or complaint), if it is.
    pub suppressed: Option<String>,
    /// Oldest first.
    pub consents: Vec<ConsentView>,
    /// Newest first, at most 20.
    pub deliveries: Vec<DeliveryView>,
}

/// One page of subscribers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SubscriberPage {
    pub subscribers: Vec<SubscriberView>,
    /// The `offset` of the next page; none on the last page.
    pub next_offset: Option<i64>,
}

/// A contact of an organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContactView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub locale: String,
    pub role: String,
    /// `active`, `unsubscribed` or `bounced`.
    pub state: String,
    pub since: DateTime<Utc>,
    pub next_due: Option<DateTime<Utc>>,
}

impl From<Contact> for ContactView {
    fn from(c: Contact) -> Self {
        Self {
            id: c.id,
            name: c.name,
            email: c.email,
            locale: c.locale,
            role: c.role,
            state: c.state,
            since: c.since,
            next_due: c.next_due,
        }
    }
}

/// A friendship organisation with its contacts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrganisationView {
    pub id: String,
    /// Name per locale.
    pub names: BTreeMap<String, String>,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub city: String,
    pub partner_since: Option<String>,
    pub channels: Vec<String>,
    pub topics: Vec<String>,
    pub frequency: String,
    pub time_zone: String,
    pub hour: u32,
    pub weekday: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub contacts: Vec<ContactView>,
}

fn org_view(o: Organisation, contacts: Vec<Contact>) -> OrganisationView {
    OrganisationView {
        id: o.id,
        names: o.names,
        country: o.country,
        city: o.city,
        partner_since: o.partner_since,
        channels: o.channels,
        topics: o.topics,
        frequency: o.cadence.frequency.as_str().to_owned(),
        time_zone: o.cadence.time_zone,
        hour: o.cadence.hour,
        weekday: o.cadence.weekday,
        created_at: o.created_at,
        updated_at: o.updated_at,
        contacts: contacts.into_iter().map(ContactView::from).collect(),
    }
}

// ---- inputs

/// A new subscriber. Without `confirmed` it is pending and gets the confirmation mail
/// (double opt-in); with `"confirmed": true` and a `consent_source` it is active at
/// once, and the consent record says `import` from that source.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberInput {
    pub email: String,
    /// A supported locale (`en`, `zh-Hans`, `ar`, ...).
    pub locale: String,
    pub name: Option<String>,
    /// Channel ids; empty or left out: every channel.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Topics; empty or left out: every topic.
    #[serde(default)]
    pub topics: Vec<String>,
    /// `instant`, `daily` (default) or `weekly`.
    pub frequency: Option<String>,
    /// IANA time zone; default `UTC`.
    pub time_zone: Option<String>,
    /// Local hour, 0-23; default 8.
    pub hour: Option<u32>,
    /// 1 = Monday … 7 = Sunday (weekly); default 1.
    pub weekday: Option<u32>,
    /// The person confirmed elsewhere: active now, no confirmation mail.
    #[serde(default)]
    pub confirmed: bool,
    /// Where that consent was given (required with `confirmed`).
    pub consent_source: Option<String>,
}

/// Preferences to change; fields left out stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesPatch {
    /// An empty string removes the name.
    pub name: Option<String>,
    pub locale: Option<String>,
    pub channels: Option<Vec<String>>,
    pub topics: Option<Vec<String>>,
    pub frequency: Option<String>,
    pub time_zone: Option<String>,
    pub hour: Option<u32>,
    pub weekday: Option<u32>,
}

/// An organisation to create or replace (its contacts stay).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationInput {
    /// Name per supported locale; at least one.
    pub names: BTreeMap<String, String>,
    /// ISO 3166-1 alpha-2 (`AU`, `DE`).
    pub country: String,
    #[serde(default)]
    pub city: String,
    pub partner_since: Option<String>,
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    /// `instant`, `daily` (default) or `weekly`.
    pub frequency: Option<String>,
    pub time_zone: Option<String>,
    pub hour: Option<u32>,
    pub weekday: Option<u32>,
}

/// A contact of an organisation; it gets the organisation's digest in its locale.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    pub name: String,
    pub email: String,
    pub locale: String,
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubscriberQuery {
    /// `pending`, `active`, `unsubscribed` or `bounced`; every state when left out.
    pub state: Option<String>,
    /// At most this many, oldest first. Default 100, at most 1000.
    pub limit: Option<i64>,
    /// Skip this many (the previous page's `next_offset`).
    pub offset: Option<i64>,
}

// ---- validation

fn unknown_locale(field: &str, locale: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_locale",
        format!(
            "locale {locale:?} is not supported (supported: {})",
            crate::locale::LOCALES
                .iter()
                .map(|l| l.tag)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .field(field)
    .locale(locale)
}

fn address(field: &str, s: &str) -> Result<String, ApiError> {
    form::check_address(s).map_err(|reason| ApiError::invalid(field, reason))
}

/// The first problem the subscribe form's checks found, as an API error.
fn refusal(f: &FormInput, p: &Problem) -> ApiError {
    let detail = p.detail.clone();
    match p.field {
        Field::Email => ApiError::invalid("email", detail.unwrap_or_default()),
        Field::Locale => unknown_locale("locale", &f.locale),
        Field::Channel => ApiError::invalid("channels", detail.unwrap_or_default()),
        Field::Topic => ApiError::invalid("topics", detail.unwrap_or_default()),
        Field::Frequency => ApiError::invalid(
            "frequency",
            format!(
                "frequency {:?} is not instant, daily or weekly",
                f.frequency
            ),
        ),
        Field::TimeZone => ApiError::invalid(
            "time_zone",
            format!("{:?} is not an IANA time zone", f.time_zone),
        ),
        Field::Hour => ApiError::invalid("hour", format!("{} is not between 0 and 23", f.hour)),
        Field::Weekday => ApiError::invalid(
            "weekday",
            format!("{} is not between 1 (Monday) and 7 (Sunday)", f.weekday),
        ),
    }
}

fn validate(
    app: &SharedApp,
    f: &FormInput,
    with_email: bool,
) -> Result<(Option<String>, Prefs), ApiError> {
    form::validate(f, &app.channels(), with_email).map_err(|problems| refusal(f, &problems[0]))
}

/// Overlays the submitted cadence fields on `f`.
fn cadence_fields(
    f: &mut FormInput,
    frequency: Option<&String>,
    time_zone: Option<&String>,
    hour: Option<u32>,
    weekday: Option<u32>,
) {
    if let Some(v) = frequency {
        f.frequency.clone_from(v);
    }
    if let Some(v) = time_zone {
        f.time_zone.clone_from(v);
    }
    if let Some(v) = hour {
        f.hour = v.to_string();
    }
    if let Some(v) = weekday {
        f.weekday = v.to_string();
    }
}

fn valid_org_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn plain_text(field: &str, s: &str, required: bool) -> Result<String, ApiError> {
    let t = s.trim();
    if required && t.is_empty() {
        return Err(ApiError::invalid(field, format!("{field} is required")));
    }
    if t.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            field,
            format!("{field} contains a control character"),
        ));
    }
    if t.chars().count() > 200 {
        return Err(ApiError::invalid(
            field,
            format!("{field} is longer than 200 characters"),
        ));
    }
    Ok(t.to_owned())
}

// ---- subscribers

async fn subscriber(app: &SharedApp, id: &str) -> Result<Subscriber, ApiError> {
    app.store
        .subscriber(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no subscriber {id:?}")))
}

async fn detail(app: &SharedApp, s: &Subscriber) -> Result<SubscriberDetail, ApiError> {
    Ok(SubscriberDetail {
        subscriber: s.into(),
        suppressed: app.store.suppression(&s.email).await?,
        consents: app
            .store
            .consents(&s.id)
            .await?
            .into_iter()
            .map(ConsentView::from)
            .collect(),
        deliveries: app
            .store
            .deliveries(Some(&format!("s:{}", s.id)), LAST_DELIVERIES)
            .await?
            .into_iter()
            .map(DeliveryView::from)
            .collect(),
    })
}

fn api_consent(s: &Subscriber, action: &str, at: DateTime<Utc>) -> Consent {
    Consent {
        subscriber_id: s.id.clone(),
        action: action.to_owned(),
        at,
        ip: None,
        page_locale: Some(s.locale.clone()),
        text_version: Some(API_SOURCE.to_owned()),
    }
}

/// Subscribers, oldest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/subscribers", operation_id = "list_subscribers", tag = "audience",
    params(SubscriberQuery),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "One page of subscribers", body = SubscriberPage),
        (status = 400, description = "Unknown state or a negative offset", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = ErrorBody),
    ))]
pub async fn list_subscribers(
    State(app): State<SharedApp>,
    Query(q): Query<SubscriberQuery>,
) -> Result<Json<SubscriberPage>, ApiError> {
    let bad = |field: &str, msg: String| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", msg).field(field)
    };
    let state = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) if [PENDING, ACTIVE, UNSUBSCRIBED, BOUNCED].contains(&s) => Some(s),
        Some(other) => {
            return Err(bad(
                "state",
                format!("state {other:?} is not one of pending, active, unsubscribed, bounced"),
            ));
        }
    };
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(bad("offset", "offset is not negative".into()));
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    // One more than asked tells whether there is a next page.
    let mut rows = app.store.subscribers_page(state, limit + 1, offset).await?;
    let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(Json(SubscriberPage {
        subscribers: rows.iter().map(SubscriberView::from).collect(),
        next_offset: more.then_some(offset + limit),
    }))
}

/// One subscriber with its consent record and last deliveries.
#[utoipa::path(get, path = "/api/v1/subscribers/{id}", operation_id = "get_subscriber", tag = "audience",
    params(("id" = String, Path, description = "The subscriber's id")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The subscriber", body = SubscriberDetail),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = ErrorBody),
        (status = 404, description = "No such subscriber", body = ErrorBody),
    ))]
pub async fn get_subscriber(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Json<SubscriberDetail>, ApiError> {
    let s = subscriber(&app, &id).await?;
    Ok(Json(detail(&app, &s).await?))
}

/// Adds a subscriber: pending with a confirmation mail (double opt-in), or with
/// `"confirmed": true` and a `consent_source` active at once (consent `import`).
#[utoipa::path(post, path = "/api/v1/subscribers", operation_id = "create_subscriber", tag = "audience",
    request_body = SubscriberInput,
    security(("bearer" = ["audience:write"])),
    responses(
        (status = 201, description = "Created (pending, or active when confirmed elsewhere)", body = SubscriberDetail),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks audience:write", body = ErrorBody),
        (status = 409, description = "The address is subscribed already, or suppressed", body = ErrorBody),
        (status = 413, description = "Body over api.max_body_bytes", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid field (named)", body = ErrorBody),
    ))]
pub async fn create_subscriber(
    State(app): State<SharedApp>,
    ApiJson(input): ApiJson<SubscriberInput>,
) -> Result<(StatusCode, Json<SubscriberDetail>), ApiError> {
    let mut f = FormInput::blank(&input.locale);
    f.email.clone_from(&input.email);
    f.name = input.name.clone().unwrap_or_default();
    f.channels.clone_from(&input.channels);
    f.topics.clone_from(&input.topics);
    cadence_fields(
        &mut f,
        input.frequency.as_ref(),
        input.time_zone.as_ref(),
        input.hour,
        input.weekday,
    );
    let (email, prefs) = validate(&app, &f, true)?;
    let email = email.ok_or_else(|| anyhow::anyhow!("validate returned no address"))?;
    let source = match (
        input.confirmed,
        input.consent_source.as_deref().map(str::trim),
    ) {
        (true, Some(src)) if !src.is_empty() => Some(plain_text("consent_source", src, true)?),
        (true, _) => {
            return Err(ApiError::invalid(
                "consent_source",
                "a confirmed subscriber needs consent_source: where they gave their consent",
            ));
        }
        (false, Some(_)) => {
            return Err(ApiError::invalid(
                "consent_source",
                "consent_source goes with \"confirmed\": true",
            ));
        }
        (false, None) => None,
    };
    if let Some(reason) = app.store.suppression(&email).await? {
        return Err(ApiError::conflict(
            "suppressed",
            format!("the address is suppressed ({reason}); nothing can be sent to it"),
        )
        .field("email"));
    }
    let duplicate = || {
        ApiError::conflict(
            "duplicate_subscriber",
            "a subscriber with this address exists; PATCH /api/v1/subscribers/{id} changes it",
        )
        .field("email")
    };
    let existing = app.store.subscriber_by_email(&email).await?;
    if existing.is_some() {
        return Err(duplicate());
    }
    let now = app.now();
    let s = match source {
        None => {
            let origin = Origin {
                ip: None,
                page_locale: &prefs.locale,
                text_version: API_SOURCE,
            };
            match subscribe::request(&app, &email, None, &prefs, &origin, true).await? {
                Outcome::Queued(s) => s,
                Outcome::Active(_) | Outcome::Exists(_) => return Err(duplicate()),
            }
        }
        Some(src) => {
            let mut s = Subscriber {
                id: uuid::Uuid::new_v4().simple().to_string(),
                handle: crate::email::token::new_handle(),
                email: email.clone(),
                name: None,
                locale: String::new(),
                channels: vec![],
                topics: vec![],
                cadence: prefs.cadence.clone(),
                state: ACTIVE.into(),
                since: now,
                next_due: None,
                created_at: now,
                updated_at: now,
                confirmed_at: Some(now),
                ended_at: None,
            };
            prefs.apply(&mut s);
            s.next_due = s.cadence.next_slot(now).map(|(t, _)| t);
            let consent = Consent {
                subscriber_id: s.id.clone(),
                action: "import".into(),
                at: now,
                ip: None,
                page_locale: None,
                text_version: Some(format!("import:{src}")),
            };
            // Subscriber and consent in one transaction; a known address adds nothing.
            if app.store.import_subscribers(&[s.clone()], &consent).await? == 0 {
                return Err(duplicate());
            }
            s
        }
    };
    Ok((StatusCode::CREATED, Json(detail(&app, &s).await?)))
}

/// Changes a subscriber's preferences; the next digest time follows the new cadence.
#[utoipa::path(patch, path = "/api/v1/subscribers/{id}", operation_id = "update_subscriber", tag = "audience",
    params(("id" = String, Path, description = "The subscriber's id")),
    request_body = PreferencesPatch,
    security(("bearer" = ["audience:write"])),
    responses(
        (status = 200, description = "Changed", body = SubscriberDetail),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks audience:write", body = ErrorBody),
        (status = 404, description = "No such subscriber", body = ErrorBody),
        (status = 413, description = "Body over api.max_body_bytes", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid field (named)", body = ErrorBody),
    ))]
pub async fn update_subscriber(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<PreferencesPatch>,
) -> Result<Json<SubscriberDetail>, ApiError> {
    let mut s = subscriber(&app, &id).await?;
    let mut f = FormInput::from_subscriber(&s, &s.locale);
    if let Some(v) = &patch.name {
        f.name.clone_from(v);
    }
    if let Some(v) = &patch.locale {
        f.locale.clone_from(v);
    }
    if let Some(v) = &patch.channels {
        f.channels.clone_from(v);
    }
    if let Some(v) = &patch.topics {
        f.topics.clone_from(v);
    }
    cadence_fields(
        &mut f,
        patch.frequency.as_ref(),
        patch.time_zone.as_ref(),
        patch.hour,
        patch.weekday,
    );
    let (_, prefs) = validate(&app, &f, false)?;
    let now = app.now();
    prefs.apply(&mut s);
    s.next_due = if s.state == ACTIVE {
        s.cadence.next_slot(now).map(|(t, _)| t)
    } else {
        None
    };
    s.updated_at = now;
    app.store.update_subscriber(&s).await?;
    app.store
        .add_consent(&api_consent(&s, "preferences", now))
        .await?;
    Ok(Json(detail(&app, &s).await?))
}

/// Unsubscribes: nothing more is sent. The subscriber and its consent record stay.
#[utoipa::path(delete, path = "/api/v1/subscribers/{id}", operation_id = "unsubscribe_subscriber", tag = "audience",
    params(("id" = String, Path, description = "The subscriber's id")),
    security(("bearer" = ["audience:write"])),
    responses(
        (status = 200, description = "Unsubscribed (or already)", body = SubscriberDetail),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks audience:write", body = ErrorBody),
        (status = 404, description = "No such subscriber", body = ErrorBody),
    ))]
pub async fn delete_subscriber(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Json<SubscriberDetail>, ApiError> {
    let mut s = subscriber(&app, &id).await?;
    if s.state != UNSUBSCRIBED {
        let now = app.now();
        s.state = UNSUBSCRIBED.into();
        s.ended_at = Some(now);
        s.next_due = None;
        s.updated_at = now;
        app.store.update_subscriber(&s).await?;
        app.store
            .add_consent(&api_consent(&s, "unsubscribe", now))
            .await?;
    }
    Ok(Json(detail(&app, &s).await?))
}

// ---- organisations

async fn organisation(app: &SharedApp, id: &str) -> Result<Organisation, ApiError> {
    app.store
        .organisation(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no organisation {id:?}")))
}

async fn org_with_contacts(app: &SharedApp, o: Organisation) -> Result<OrganisationView, ApiError> {
    let contacts = app.store.contacts(&o.id).await?;
    Ok(org_view(o, contacts))
}

/// Friendship organisations with their contacts, by id.
#[utoipa::path(get, path = "/api/v1/organisations", operation_id = "list_organisations", tag = "audience",
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The organisations", body = [OrganisationView]),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = ErrorBody),
    ))]
pub async fn list_organisations(
    State(app): State<SharedApp>,
) -> Result<Json<Vec<OrganisationView>>, ApiError> {
    let mut out = Vec::new();
    for o in app.store.organisations().await? {
        out.push(org_with_contacts(&app, o).await?);
    }
    Ok(Json(out))
}

/// One organisation with its contacts and their states.
#[utoipa::path(get, path = "/api/v1/organisations/{id}", operation_id = "get_organisation", tag = "audience",
    params(("id" = String, Path, description = "The organisation's id")),
    security(("bearer" = ["read"])),
    responses(
        (status = 200, description = "The organisation", body = OrganisationView),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks the read scope", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
    ))]
pub async fn get_organisation(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<Json<OrganisationView>, ApiError> {
    let o = organisation(&app, &id).await?;
    Ok(Json(org_with_contacts(&app, o).await?))
}

fn build_org(
    app: &SharedApp,
    id: &str,
    input: &OrganisationInput,
    now: DateTime<Utc>,
) -> Result<Organisation, ApiError> {
    if !valid_org_id(id) {
        return Err(ApiError::invalid(
            "id",
            "an organisation id is 1-64 letters, digits, - or _",
        ));
    }
    if input.names.is_empty() {
        return Err(ApiError::invalid(
            "names",
            "at least one name, keyed by locale",
        ));
    }
    let mut names = BTreeMap::new();
    for (l, n) in &input.names {
        let field = format!("names.{l}");
        if !crate::locale::is_supported(l) {
            return Err(unknown_locale(&field, l));
        }
        names.insert(
            l.clone(),
            plain_text(&field, n, true).map_err(|e| e.locale(l))?,
        );
    }
    let country = input.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::invalid(
            "country",
            format!(
                "{:?} is not an ISO 3166-1 alpha-2 code (two letters, like AU)",
                input.country
            ),
        ));
    }
    // Channels, topics and cadence follow the subscribers' rules.
    let mut f = FormInput::blank(crate::locale::REFERENCE);
    f.channels.clone_from(&input.channels);
    f.topics.clone_from(&input.topics);
    cadence_fields(
        &mut f,
        input.frequency.as_ref(),
        input.time_zone.as_ref(),
        input.hour,
        input.weekday,
    );
    let (_, prefs) = validate(app, &f, false)?;
    let partner_since = match &input.partner_since {
        Some(p) => Some(plain_text("partner_since", p, false)?).filter(|p| !p.is_empty()),
        None => None,
    };
    Ok(Organisation {
        id: id.to_owned(),
        names,
        country,
        city: plain_text("city", &input.city, false)?,
        partner_since,
        channels: prefs.channels,
        topics: prefs.topics,
        cadence: prefs.cadence,
        created_at: now,
        updated_at: now,
    })
}

/// Creates or replaces an organisation; its contacts stay. A new cadence moves every
/// active contact's next digest.
#[utoipa::path(put, path = "/api/v1/organisations/{id}", operation_id = "put_organisation", tag = "audience",
    params(("id" = String, Path, description = "The organisation's id: letters, digits, - or _")),
    request_body = OrganisationInput,
    security(("bearer" = ["audience:write"])),
    responses(
        (status = 200, description = "Replaced", body = OrganisationView),
        (status = 201, description = "Created", body = OrganisationView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks audience:write", body = ErrorBody),
        (status = 413, description = "Body over api.max_body_bytes", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid field (named, with its locale)", body = ErrorBody),
    ))]
pub async fn put_organisation(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OrganisationInput>,
) -> Result<(StatusCode, Json<OrganisationView>), ApiError> {
    let now = app.now();
    let mut o = build_org(&app, &id, &input, now)?;
    let before = app.store.organisation(&id).await?;
    if let Some(b) = &before {
        o.created_at = b.created_at;
    }
    app.store.put_organisation(&o).await?;
    if before.as_ref().is_some_and(|b| b.cadence != o.cadence) {
        let next = o.cadence.next_slot(now).map(|(t, _)| t);
        for c in app.store.contacts(&id).await? {
            if c.state == ACTIVE {
                app.store
                    .set_recipient_schedule(&format!("c:{}", c.id), ACTIVE, next, now)
                    .await?;
            }
        }
    }
    let status = if before.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(org_with_contacts(&app, o).await?)))
}

/// Deletes an organisation and its contacts.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}", operation_id = "delete_organisation", tag = "audience",
    params(("id" = String, Path, description = "The organisation's id")),
    security(("bearer" = ["audience:write"])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks audience:write", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
    ))]
pub async fn delete_organisation(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if app.store.delete_organisation(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no organisation {id:?}")))
    }
}

/// Adds a contact (active from now, on the organisation's cadence), or changes the
/// name, locale and role of the contact with this address.
#[utoipa::path(post, path = "/api/v1/organisations/{id}/contacts", operation_id = "add_contact", tag = "audience",
    params(("id" = String, Path, description = "The organisation's id")),
    request_body = ContactInput,
    security(("bearer" = ["audience:write"])),
    responses(
        (status = 200, description = "The contact existed and was changed", body = ContactView),
        (status = 201, description = "Added", body = ContactView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks audience:write", body = ErrorBody),
        (status = 404, description = "No such organisation", body = ErrorBody),
        (status = 413, description = "Body over api.max_body_bytes", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid field (named)", body = ErrorBody),
    ))]
pub async fn add_contact(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<(StatusCode, Json<ContactView>), ApiError> {
    let org = organisation(&app, &id).await?;
    let name = plain_text("name", &input.name, true)?;
    let email = address("email", &input.email)?;
    if !crate::locale::is_supported(&input.locale) {
        return Err(unknown_locale("locale", &input.locale));
    }
    let role = plain_text("role", &input.role, false)?;
    let now = app.now();
    let existed = app
        .store
        .contacts(&id)
        .await?
        .iter()
        .any(|c| c.email == email);
    let suppressed = app.store.suppression(&email).await?.is_some();
    let contact = Contact {
        id: uuid::Uuid::new_v4().simple().to_string(),
        handle: crate::email::token::new_handle(),
        org_id: org.id.clone(),
        name,
        email,
        locale: input.locale.clone(),
        role,
        state: if suppressed { BOUNCED } else { ACTIVE }.into(),
        since: now,
        next_due: if suppressed {
            None
        } else {
            org.cadence.next_slot(now).map(|(t, _)| t)
        },
    };
    let stored = app.store.put_contact(&contact).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(stored.into())))
}

/// Removes a contact from an organisation.
#[utoipa::path(delete, path = "/api/v1/organisations/{id}/contacts/{email}", operation_id = "delete_contact", tag = "audience",
    params(
        ("id" = String, Path, description = "The organisation's id"),
        ("email" = String, Path, description = "The contact's address (percent-encoded)"),
    ),
    security(("bearer" = ["audience:write"])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No or unknown token", body = ErrorBody),
        (status = 403, description = "The token lacks audience:write", body = ErrorBody),
        (status = 404, description = "No such organisation or contact", body = ErrorBody),
        (status = 422, description = "Not an email address", body = ErrorBody),
    ))]
pub async fn delete_contact(
    State(app): State<SharedApp>,
    Path((id, email)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    organisation(&app, &id).await?;
    let email = address("email", &email)?;
    if app.store.delete_contact(&id, &email).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "organisation {id:?} has no contact {email:?}"
        )))
    }
}
