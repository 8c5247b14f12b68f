//! Bearer tokens: `bc_<id>_<secret>`, where the secret is 256 random bits. The store
//! keeps the id, the scopes and a SHA-256 of the secret; the token itself is shown
//! once, when created. A request costs one lookup by id and a constant-time comparison
//! of digests, so neither the timing nor the error tells an attacker how close a guess was.

use super::ApiError;
use crate::app::App;
use crate::store::{Store, TokenRow};
use anyhow::{Result, bail};
use axum::http::{HeaderMap, StatusCode, header};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Read articles, jobs, timelines, ingest state, the audience and the status page.
    Read,
    /// Create, change, publish, correct and retract articles; retry and cancel jobs.
    ArticlesWrite,
    /// Manage subscribers and friendship organisations (the email endpoints).
    AudienceWrite,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::ArticlesWrite, Scope::AudienceWrite];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::ArticlesWrite => "articles:write",
            Scope::AudienceWrite => "audience:write",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token and returns it in full; only its digest is stored.
pub async fn create(
    store: &Store,
    name: &str,
    scopes: &[Scope],
    now: DateTime<Utc>,
) -> Result<(TokenRow, String)> {
    if scopes.is_empty() {
        bail!("a token needs at least one --scope ({})", scope_names());
    }
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut id);
    rand::rng().fill_bytes(&mut secret);
    let id = hex::encode(id);
    let secret = hex::encode(secret);
    let mut scopes: Vec<Scope> = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let row = TokenRow {
        id: id.clone(),
        name: name.to_owned(),
        hash: digest(&secret),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    store.create_token(&row).await?;
    Ok((row, format!("bc_{id}_{secret}")))
}

/// The scope names, for messages.
pub fn scope_names() -> String {
    Scope::ALL.map(Scope::as_str).join(", ")
}

/// The live token this string is, or `None`.
pub async fn verify(store: &Store, token: &str) -> Result<Option<TokenRow>> {
    let Some((id, secret)) = token
        .strip_prefix("bc_")
        .and_then(|rest| rest.split_once('_'))
    else {
        return Ok(None);
    };
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(row) = store.token(id).await? else {
        return Ok(None);
    };
    let same: bool = digest(secret).as_bytes().ct_eq(row.hash.as_bytes()).into();
    Ok((same && row.revoked_at.is_none()).then_some(row))
}

/// The bearer token of a request, if it sent one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks that `token` is live and holds `scope`: 401 when it is missing or not a live
/// token, 403 when it lacks the scope.
pub async fn check(app: &App, token: Option<&str>, scope: Scope) -> Result<TokenRow, ApiError> {
    let Some(token) = token else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send Authorization: Bearer <token> (create one with `bridgecast tokens create`)",
        ));
    };
    let Some(row) = verify(&app.store, token).await? else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the token is unknown or revoked",
        ));
    };
    if !row.scopes.iter().any(|s| s == scope.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            format!("this needs a token with the {} scope", scope.as_str()),
        ));
    }
    if let Err(e) = app.store.touch_token(&row.id, app.now()).await {
        tracing::warn!(error = %e, "could not record token use");
    }
    Ok(row)
}

/// [`check`] for the token in the `Authorization` header.
pub async fn authorize(app: &App, headers: &HeaderMap, scope: Scope) -> Result<TokenRow, ApiError> {
    check(app, bearer(headers), scope).await
}
