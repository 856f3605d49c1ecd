//! Sessions: list the live ones, kill one, kill all of an app.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::json;
use tollgate_core::model::SessionView;
use tollgate_core::time::{serde_ts, Timestamp};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::ApiResult;
use crate::extract::{ok, ok_message, ClientIp, OwnedApp};
use crate::manage;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_sessions, kill_all_sessions)).routes(routes!(kill_session))
}

#[derive(Serialize)]
pub struct AppUserRef {
    pub username: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionJson {
    pub id: String,
    pub token: String,
    pub ip: Option<String>,
    pub hwid: Option<String>,
    pub client_id: Option<String>,
    /// The signed-in user, `null` for a session with no account (init only, license-only).
    pub app_user: Option<AppUserRef>,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    pub expires_at: Timestamp,
    #[serde(with = "serde_ts")]
    pub last_seen: Timestamp,
}

impl From<SessionView> for SessionJson {
    fn from(v: SessionView) -> Self {
        let s = v.session;
        SessionJson {
            id: s.id,
            token: s.token,
            ip: s.ip,
            hwid: s.hwid,
            client_id: s.client_id,
            app_user: v.username.map(|username| AppUserRef { username }),
            created_at: s.created_at,
            expires_at: s.expires_at,
            last_seen: s.last_seen,
        }
    }
}

/// List the app's live sessions, newest first.
#[utoipa::path(get, path = "/v1/admin/apps/{appId}/sessions", tag = "sessions", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "Live sessions with `appUser{username}` or null"), (status = 404, description = "App not yours or absent")))]
async fn list_sessions(
    State(state): State<AppState>,
    _owned: OwnedApp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let sessions = manage::sessions::list(&state, &app_id).await?;
    Ok(ok(sessions.into_iter().map(SessionJson::from).collect::<Vec<_>>()))
}

/// Kill one session (force logout); its next request fails.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/sessions/{sessionId}", tag = "sessions", security(("bearer" = [])),
    params(("appId" = String, Path), ("sessionId" = String, Path)),
    responses((status = 200, description = "Killed"), (status = 404, description = "App or session absent or not yours")))]
async fn kill_session(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path((app_id, session_id)): Path<(String, String)>,
) -> ApiResult<impl IntoResponse> {
    manage::sessions::kill(&state, &owned.actor(ip), &app_id, &session_id).await?;
    Ok(ok_message::<()>("Session killed", None))
}

/// Kill every session of the app.
#[utoipa::path(delete, path = "/v1/admin/apps/{appId}/sessions", tag = "sessions", security(("bearer" = [])),
    params(("appId" = String, Path)),
    responses((status = 200, description = "`{killed}`: how many sessions were removed"), (status = 404, description = "App not yours or absent")))]
async fn kill_all_sessions(
    State(state): State<AppState>,
    owned: OwnedApp,
    ClientIp(ip): ClientIp,
    Path(app_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let killed = manage::sessions::kill_all(&state, &owned.actor(ip), &app_id).await?;
    Ok(ok_message("Sessions killed", Some(json!({ "killed": killed }))))
}
