//! Dashboard pages: an app's blacklist, grouped by type (IP addresses and CIDR ranges, HWIDs,
//! usernames, client ids): add an entry with its reason (checked by the same rules as the
//! admin API, the error shown beside the field) and remove one.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::session::{redirect_with, NoFields};
use super::{field_error, page, page_with, Chrome, CsrfForm, WebApp, WebResult};
use crate::manage;
use crate::state::AppState;

/// Entries shown per page.
const PER_PAGE: usize = 100;
/// The types, in the order the page lists them, with their labels.
const KINDS: [(&str, &str); 4] =
    [("IP", "IP address or CIDR range"), ("HWID", "HWID"), ("USERNAME", "Username"), ("CLIENT_ID", "Client id")];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{appId}/blacklist", get(list).post(add))
        .route("/apps/{appId}/blacklist/{entryId}/delete", post(remove))
}

pub struct Row {
    pub id: String,
    pub kind: String,
    pub value: String,
    pub reason: String,
    pub created_at: String,
}

#[derive(askama::Template)]
#[template(path = "blacklist.html")]
struct BlacklistPage {
    chrome: Chrome,
    app_id: String,
    kinds: Vec<(&'static str, &'static str)>,
    filter: String,
    rows: Vec<Row>,
    page: usize,
    pages: usize,
    kind: String,
    value: String,
    reason: String,
    error_field: String,
    error: String,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    page: Option<usize>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn render(state: &AppState, w: &WebApp, q: ListQuery) -> WebResult<BlacklistPage> {
    let filter = q.kind.map(|k| k.trim().to_ascii_uppercase()).filter(|k| KINDS.iter().any(|(v, _)| v == k));
    let mut all = manage::blacklist::list(state, &w.app.id).await?;
    if let Some(f) = &filter {
        all.retain(|e| e.kind.as_str() == f);
    }
    // Grouped by type (in the page's order), oldest first within a type.
    all.sort_by_key(|e| KINDS.iter().position(|(k, _)| *k == e.kind.as_str()).unwrap_or(KINDS.len()));
    let pages = all.len().div_ceil(PER_PAGE).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let rows = all
        .into_iter()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|e| Row {
            id: e.id,
            kind: e.kind.as_str().to_owned(),
            value: e.value,
            reason: e.reason.unwrap_or_default(),
            created_at: e.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    Ok(BlacklistPage {
        chrome: Chrome::app(w, "blacklist", format!("{} · Blacklist", w.app.name)),
        app_id: w.app.id.clone(),
        kinds: KINDS.to_vec(),
        filter: filter.unwrap_or_default(),
        rows,
        page: page_no,
        pages,
        kind: "IP".to_owned(),
        value: String::new(),
        reason: String::new(),
        error_field: String::new(),
        error: String::new(),
    })
}

async fn list(State(state): State<AppState>, w: WebApp, Query(q): Query<ListQuery>) -> WebResult<Response> {
    page(&render(&state, &w, q).await?)
}

#[derive(Deserialize)]
struct AddForm {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    reason: String,
}

async fn add(State(state): State<AppState>, w: WebApp, CsrfForm(f): CsrfForm<AddForm>) -> WebResult<Response> {
    let by = w.seller.actor();
    match manage::blacklist::add(&state, &by, &w.app.id, &f.kind, &f.value, Some(&f.reason)).await {
        Ok(e) => Ok(redirect_with(
            &state,
            &format!("/apps/{}/blacklist", w.app.id),
            &format!("{} {} blacklisted.", e.kind.as_str(), e.value),
        )),
        Err(e) => {
            let (field, message) = match &e {
                manage::ManageError::Store(tollgate_store::StoreError::Conflict { .. }) => {
                    ("value".to_owned(), "is already blacklisted".to_owned())
                }
                _ => field_error(&e).ok_or(e)?,
            };
            let mut p = render(&state, &w, ListQuery::default()).await?;
            p.kind = f.kind;
            p.value = f.value;
            p.reason = f.reason;
            p.error_field = field;
            p.error = message;
            page_with(StatusCode::BAD_REQUEST, &p)
        }
    }
}

async fn remove(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, entry_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::blacklist::remove(&state, &w.seller.actor(), &w.app.id, &entry_id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/blacklist", w.app.id), "Blacklist entry removed."))
}
