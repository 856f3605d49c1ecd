//! The caller's audit trail: every admin action they took, newest first.

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Serialize;
use tollgate_core::model::AuditEntry;
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok_page, PageQuery, SellerAuth, ValidQuery};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub id: String,
    pub action: String,
    pub actor: String,
    pub target: Option<String>,
    pub app_id: Option<String>,
    pub ip: Option<String>,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        AuditView {
            id: e.id,
            action: e.action,
            actor: e.actor,
            target: e.target,
            app_id: e.app_id,
            ip: e.ip,
            created_at: e.created_at,
        }
    }
}

/// Page through your audit trail, newest first.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "audit", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, description = "From 1 (default 1)"),
           ("limit" = Option<u32>, Query, description = "1 to 100 (default 20)")),
    responses((status = 200, description = "Audit entries `{id, action, actor, target, appId, ip, createdAt}` with `pagination`"),
              (status = 400, description = "Invalid query parameter, named"), (status = 401, description = "Missing or invalid token")))]
async fn list_audit(
    State(state): State<AppState>,
    auth: SellerAuth,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = q.page()?;
    let entries = manage::logs::list_audit(&state, &auth.seller_id, page).await?;
    Ok(ok_page(entries.items.into_iter().map(AuditView::from).collect::<Vec<_>>(), page, entries.total))
}
