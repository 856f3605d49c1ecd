//! The loader builder, Authon's `/v1/builder/*` (seller Bearer token): which loader templates
//! this server has, and a loader built for one of the seller's apps (docs/builder.md).

pub mod templates;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientIp, SellerAuth, ValidJson};
use crate::manage::builder::{self, BuildError, BuildRequest};
use crate::manage::Actor;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(builder_status))
        .routes(routes!(build_loader))
        .layer(axum::middleware::from_fn(crate::extract::refuse_nul))
}

/// The templates found now; reading folders and files is done off the async threads.
pub async fn discover(state: &AppState) -> Vec<templates::Template> {
    let dir = state.config.data_dir.clone();
    tokio::task::spawn_blocking(move || templates::discover(&dir)).await.unwrap_or_default()
}

/// `{success, templates}`: Authon's documented shape, without a `data` wrapper.
#[derive(ToSchema)]
#[allow(dead_code)]
struct StatusBody {
    success: bool,
    /// Every template name this server has, each `true`.
    templates: std::collections::BTreeMap<String, bool>,
}

/// The loader templates this server can build from.
#[utoipa::path(get, path = "/v1/builder/status", tag = "builder", security(("bearer" = [])),
    responses((status = 200, description = "`{success: true, templates: {\"loader_rust_linux_x86_64\": true, ...}}`", body = StatusBody),
              (status = 401, description = "No or invalid seller token")))]
async fn builder_status(State(state): State<AppState>, _seller: SellerAuth) -> ApiResult<impl IntoResponse> {
    let found = discover(&state).await;
    let templates: Map<String, Value> = found.into_iter().map(|t| (t.name, Value::Bool(true))).collect();
    Ok(axum::Json(json!({ "success": true, "templates": templates })))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildBody {
    /// One of the seller's apps.
    pub app_id: String,
    /// `rust`: Tollgate's own loader.
    pub language: String,
    /// A file of that app, downloaded and run (or saved) after sign-in; none: sign-in only.
    pub file_id: Option<String>,
    /// Shown by the loader and used for the file name: 1-64 characters, no control characters.
    #[schema(min_length = 1, max_length = 64)]
    pub title: String,
    /// What the loader asks for: `login`, `license` or `both`.
    pub auth_type: String,
    /// A template name from `/v1/builder/status`; default: this host's, else the only one.
    pub template: Option<String>,
}

/// Build a loader: a prebuilt template with the app's configuration (this server's public URL,
/// the app id and API key, the server's signing public key, title, authType, fileId) written
/// into it.
#[utoipa::path(post, path = "/v1/builder/build", tag = "builder", security(("bearer" = [])),
    request_body = BuildBody,
    responses((status = 200, description = "The loader; `Content-Disposition: attachment; filename=\"<Title>_loader\"`", content_type = "application/octet-stream", body = inline(crate::download::FileBytes)),
              (status = 400, description = "Unknown language (the available ones listed), invalid field named, or a template name needed"),
              (status = 401, description = "No or invalid seller token"),
              (status = 404, description = "`APP_NOT_FOUND`, `FILE_NOT_FOUND` or `TEMPLATE_NOT_FOUND` (the available ones listed)"),
              (status = 409, description = "`PUBLIC_URL_REQUIRED`: the server has no `public_url`; `NO_TEMPLATE`: it has no template")))]
async fn build_loader(
    State(state): State<AppState>,
    seller: SellerAuth,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<BuildBody>,
) -> ApiResult<Response> {
    let req = BuildRequest {
        app_id: body.app_id,
        language: body.language,
        file_id: body.file_id,
        title: body.title,
        auth_type: body.auth_type,
        template: body.template,
    };
    let by = Actor::seller(&seller.seller_id, ip);
    let built = builder::build(&state, &by, &seller.seller_id, req).await.map_err(api_error)?;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", built.file_name))
        .map_err(|_| ApiError::internal())?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        built.bytes,
    )
        .into_response())
}

fn api_error(e: BuildError) -> ApiError {
    let message = e.to_string();
    match e {
        BuildError::Language => ApiError::bad_request("UNSUPPORTED_LANGUAGE", message),
        BuildError::Invalid(d) => d.into(),
        BuildError::AppNotFound => ApiError::new(StatusCode::NOT_FOUND, "APP_NOT_FOUND", message),
        BuildError::FileNotFound => ApiError::new(StatusCode::NOT_FOUND, "FILE_NOT_FOUND", message),
        BuildError::PublicUrlRequired => ApiError::new(StatusCode::CONFLICT, "PUBLIC_URL_REQUIRED", message),
        BuildError::NoTemplate => ApiError::new(StatusCode::CONFLICT, "NO_TEMPLATE", message),
        BuildError::UnknownTemplate { .. } => ApiError::new(StatusCode::NOT_FOUND, "TEMPLATE_NOT_FOUND", message),
        BuildError::TemplateAmbiguous { .. } => ApiError::validation("template", &message),
        BuildError::TooLarge(_) => ApiError::bad_request("CONFIG_TOO_LARGE", message),
        BuildError::Store(s) => s.into(),
        BuildError::Template => ApiError::internal(),
    }
}
