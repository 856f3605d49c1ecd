//! Dashboard pages: an app's live sessions. The table refreshes itself every 3 seconds (the
//! page's script fetches `/apps/{appId}/sessions/live`, the same table template alone); ending
//! one session or all goes through `manage::sessions`, which also closes Blazeauth WebSocket
//! connections holding them at once. After a kill the redirect shows the list without it.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tollgate_core::model::SessionView;
use tollgate_core::time::Timestamp;

use super::session::{redirect_with, NoFields};
use super::{page, Chrome, CsrfForm, WebApp, WebResult};
use crate::manage;
use crate::state::AppState;

/// Rows shown; more live sessions than this are counted, not listed.
pub const MAX_ROWS: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{appId}/sessions", get(full))
        .route("/apps/{appId}/sessions/live", get(live))
        .route("/apps/{appId}/sessions/kill-all", post(kill_all))
        .route("/apps/{appId}/sessions/{sessionId}/kill", post(kill))
}

/// One row of the table.
struct Row {
    id: String,
    /// The username, the license key, or nothing (a session with no account yet).
    who: Option<String>,
    kind: &'static str,
    ip: Option<String>,
    hwid: Option<String>,
    client_id: Option<String>,
    created_at: Timestamp,
    last_seen: Timestamp,
    expires_at: Timestamp,
}

#[derive(askama::Template)]
#[template(path = "sessions_partial.html")]
struct Partial {
    app_id: String,
    csrf: String,
    rows: Vec<Row>,
    /// Live sessions not listed (past [`MAX_ROWS`]).
    more: usize,
}

#[derive(askama::Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    app_id: String,
    csrf: String,
    rows: Vec<Row>,
    more: usize,
}

async fn rows(state: &AppState, app_id: &str) -> WebResult<(Vec<Row>, usize)> {
    let all = manage::sessions::list(state, app_id).await?;
    let more = all.len().saturating_sub(MAX_ROWS);
    let mut out = Vec::with_capacity(all.len().min(MAX_ROWS));
    for SessionView { session: s, username } in all.into_iter().take(MAX_ROWS) {
        let (who, kind) = match (username, &s.license_id) {
            (Some(u), _) => (Some(u), "user"),
            (None, Some(lid)) => {
                let key = state.store.get_license(app_id, lid).await?.map(|l| l.key);
                (key, "license")
            }
            (None, None) => (None, ""),
        };
        out.push(Row {
            id: s.id,
            who,
            kind,
            ip: s.ip,
            hwid: s.hwid,
            client_id: s.client_id,
            created_at: s.created_at,
            last_seen: s.last_seen,
            expires_at: s.expires_at,
        });
    }
    Ok((out, more))
}

async fn full(State(state): State<AppState>, w: WebApp) -> WebResult<Response> {
    let (rows, more) = rows(&state, &w.app.id).await?;
    page(&SessionsPage {
        chrome: Chrome::app(&w, "sessions", format!("{} · Sessions", w.app.name)),
        app_id: w.app.id.clone(),
        csrf: w.seller.csrf.clone(),
        rows,
        more,
    })
}

/// The table alone, for the page's refresh.
async fn live(State(state): State<AppState>, w: WebApp) -> WebResult<Response> {
    let (rows, more) = rows(&state, &w.app.id).await?;
    let html =
        askama::Template::render(&Partial { app_id: w.app.id.clone(), csrf: w.seller.csrf.clone(), rows, more })?;
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Html(html)).into_response())
}

async fn kill(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, session_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::sessions::kill(&state, &w.seller.actor(), &w.app.id, &session_id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/sessions", w.app.id), "Session ended."))
}

async fn kill_all(State(state): State<AppState>, w: WebApp, CsrfForm(_): CsrfForm<NoFields>) -> WebResult<Response> {
    let n = manage::sessions::kill_all(&state, &w.seller.actor(), &w.app.id).await?;
    let notice = if n == 1 { "1 session ended.".to_owned() } else { format!("{n} sessions ended.") };
    Ok(redirect_with(&state, &format!("/apps/{}/sessions", w.app.id), &notice))
}
