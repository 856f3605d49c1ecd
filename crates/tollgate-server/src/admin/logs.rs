//! Client log messages of an app (what clients sent with `log`), newest first.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Serialize;
use tollgate_core::model::LogEntry;
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok_page, OwnedApp, PageQuery, ValidQuery};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_logs))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogView {
    pub id: String,
    pub message: String,
    pub username: Option<String>,
    pub user_id: Option<String>,
    pub ip: Option<String>,
    pub hwid: Option<String>,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

impl From<LogEntry> for LogView {
    fn from(e: LogEntry) -> Self {
        LogView {
            id: e.id,
            message: e.message,
            username: e.username,
            user_id: e.user_id,
            ip: e.ip,
            hwid: e.hwid,
            created_at: e.created_at,
        }
    }
}

/// Page through the app's client log messages, newest first.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/logs", tag = "logs", security(("bearer" = [])),
    params(("appId" = String, Path), ("page" = Option<u32>, Query, description = "From 1 (default 1)"),
           ("limit" = Option<u32>, Query, description = "1 to 100 (default 20)")),
    responses((status = 200, description = "Log messages with `pagination{page, limit, total}`"), (status = 400, description = "Invalid query parameter, named"),
              (status = 404, description = "App not yours or absent")))]
async fn list_logs(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = q.page()?;
    let logs = manage::logs::list_logs(&state, &app_id, page).await?;
    Ok(ok_page(logs.items.into_iter().map(LogView::from).collect::<Vec<_>>(), page, logs.total))
}
