//! Dashboard pages: an app's client log messages (`/apps/{appId}/logs`) and the seller's audit
//! trail across their apps (`/audit`), both newest first, a page at a time.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tollgate_core::time::Timestamp;
use tollgate_store::PageRequest;

use super::{page, Chrome, WebApp, WebResult, WebSeller};
use crate::manage;
use crate::state::AppState;

/// Entries shown per page.
const PER_PAGE: u32 = 50;
/// The deepest page a link may ask for (the store's own bound on `page`).
const MAX_PAGE: u32 = 1_000_000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/apps/{appId}/logs", get(logs)).route("/audit", get(audit))
}

fn stamp(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[derive(Deserialize)]
struct PageParam {
    page: Option<u32>,
}

impl PageParam {
    fn request(&self) -> PageRequest {
        PageRequest { page: self.page.unwrap_or(1).clamp(1, MAX_PAGE), limit: PER_PAGE }
    }
}

fn page_count(total: u64) -> u32 {
    u32::try_from(total.div_ceil(u64::from(PER_PAGE))).unwrap_or(u32::MAX).max(1)
}

pub struct LogRow {
    pub message: String,
    pub username: String,
    pub ip: String,
    pub hwid: String,
    pub at: String,
}

#[derive(askama::Template)]
#[template(path = "logs.html")]
struct LogsPage {
    chrome: Chrome,
    app_id: String,
    rows: Vec<LogRow>,
    page: u32,
    pages: u32,
}

async fn logs(State(state): State<AppState>, w: WebApp, Query(q): Query<PageParam>) -> WebResult<Response> {
    let req = q.request();
    let found = manage::logs::list_logs(&state, &w.app.id, req).await?;
    let rows = found
        .items
        .into_iter()
        .map(|e| LogRow {
            message: e.message,
            username: e.username.unwrap_or_default(),
            ip: e.ip.unwrap_or_default(),
            hwid: e.hwid.unwrap_or_default(),
            at: stamp(&e.created_at),
        })
        .collect();
    page(&LogsPage {
        chrome: Chrome::app(&w, "logs", format!("{} · Logs", w.app.name)),
        app_id: w.app.id.clone(),
        rows,
        page: req.page,
        pages: page_count(found.total),
    })
}

pub struct AuditRow {
    pub action: String,
    pub actor: String,
    pub app_id: String,
    pub app_name: String,
    pub target: String,
    pub ip: String,
    pub at: String,
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditRow>,
    page: u32,
    pages: u32,
}

async fn audit(State(state): State<AppState>, seller: WebSeller, Query(q): Query<PageParam>) -> WebResult<Response> {
    let req = q.request();
    let found = manage::logs::list_audit(&state, &seller.seller_id, req).await?;
    // The seller's apps by id, for their names (an entry about a deleted app shows its id).
    let names: HashMap<String, String> =
        manage::apps::list(&state, &seller.seller_id).await?.into_iter().map(|(app, _)| (app.id, app.name)).collect();
    let rows = found
        .items
        .into_iter()
        .map(|e| {
            let app_id = e.app_id.unwrap_or_default();
            AuditRow {
                action: e.action,
                actor: if e.actor == seller.seller_id { "you".to_owned() } else { e.actor },
                app_name: names.get(&app_id).cloned().unwrap_or_default(),
                app_id,
                target: e.target.unwrap_or_default(),
                ip: e.ip.unwrap_or_default(),
                at: stamp(&e.created_at),
            }
        })
        .collect();
    page(&AuditPage {
        chrome: Chrome::seller(&seller, "audit", "Audit trail"),
        rows,
        page: req.page,
        pages: page_count(found.total),
    })
}
