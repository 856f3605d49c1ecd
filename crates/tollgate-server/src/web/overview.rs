//! Dashboard pages: an app's overview.

use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::{page, Chrome, WebApp, WebResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/apps/{appId}", get(overview))
}

#[derive(askama::Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
}

async fn overview(w: WebApp) -> WebResult<Response> {
    page(&OverviewPage { chrome: Chrome::app(&w, "overview", format!("{} · Overview", w.app.name)) })
}
