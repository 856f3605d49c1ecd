//! The reseller API (`/v1/reseller/*`): a reseller of an app signs in with the app's id and API
//! key and its own username and password, buys license keys with its credit, and lists them.
//!
//! A reseller token is good for that reseller on that app only, and for nothing else: the admin
//! routes refuse it (`SellerAuth` accepts seller access tokens only) and these routes refuse a
//! seller's. Every request reads the reseller again ([`ResellerAuth`]), so deleting it or changing
//! its password ends its tokens at once. The rules are in [`crate::manage::resellers`].

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use tollgate_core::model::{App, Reseller};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::admin::licenses::LicenseView;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ClientIp, Envelope, PageQuery, ValidJson, ValidQuery};
use crate::manage::resellers::{self, Purchase};
use crate::state::AppState;

/// The reseller API's part of the OpenAPI document: its tag and its bearer scheme.
#[derive(OpenApi)]
#[openapi(
    modifiers(&ResellerBearer),
    tags((name = "reseller", description = "The reseller API: sign in, buy license keys with credit, list them (docs/resellers.md)"))
)]
struct ResellerDoc;

struct ResellerBearer;

impl Modify for ResellerBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "resellerBearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("The `token` of `POST /v1/reseller/login`"))
                    .build(),
            ),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ResellerDoc::openapi())
        .routes(routes!(login))
        .routes(routes!(buy_licenses, list_licenses))
        .routes(routes!(balance))
        .layer(axum::middleware::from_fn(crate::extract::refuse_nul))
}

/// The signed-in reseller of a request: a valid, unexpired reseller token whose reseller still
/// exists with the password it had when the token was issued, on an app that is active.
#[derive(Debug, Clone)]
pub struct ResellerAuth {
    pub reseller: Reseller,
    pub app: App,
}

impl<S> FromRequestParts<S> for ResellerAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = crate::extract::bearer_token(parts)?;
        let (reseller_id, app_id, generation) =
            state.tokens.verify_reseller(token).ok_or_else(|| ApiError::unauthorized("Invalid or expired token"))?;
        let (reseller, app) = resellers::authenticate(&state, &reseller_id, &app_id, generation).await?;
        Ok(ResellerAuth { reseller, app })
    }
}

fn one() -> i64 {
    1
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResellerLoginBody {
    /// The app's id.
    pub app_id: String,
    /// The app's API key.
    pub api_key: String,
    pub username: String,
    pub password: String,
}

/// A signed-in reseller.
#[derive(Serialize, ToSchema)]
pub struct ResellerSession {
    /// Bearer token for the other reseller routes, valid 24 hours.
    pub token: String,
    pub username: String,
    /// Credits left.
    pub balance: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResellerGenerateBody {
    /// 1 to 50.
    #[schema(minimum = 1, maximum = 50)]
    pub count: i64,
    /// A license duration (`30d`, `lifetime`, ...); the clock starts at first use.
    pub duration_type: String,
    /// 0 to 1000000 (default 1).
    #[schema(minimum = 0, maximum = 1_000_000)]
    #[serde(default = "one")]
    pub level: i64,
    /// 1 to 1000 (default 1).
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default = "one")]
    pub max_devices: i64,
    /// Keys look like `PREFIX-XXXX-XXXX-XXXX` (1-16 letters, digits or `_`).
    #[schema(min_length = 1, max_length = 16, pattern = "^[A-Za-z0-9_]+$")]
    pub prefix: Option<String>,
}

/// The keys bought and the balance left.
#[derive(Serialize, ToSchema)]
pub struct PurchaseAnswer {
    /// Always `true`.
    pub success: bool,
    /// The new keys, all `UNUSED`.
    pub data: Vec<LicenseView>,
    /// Credits left after the purchase.
    pub balance: i64,
}

/// `{page, limit, total}` of a listing.
#[derive(Serialize, ToSchema)]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    /// Every license of the listing, whatever the page.
    pub total: u64,
}

/// A page of the reseller's own keys, newest first.
#[derive(Serialize, ToSchema)]
pub struct ResellerLicensePage {
    /// Always `true`.
    pub success: bool,
    pub data: Vec<LicenseView>,
    pub pagination: Pagination,
}

#[derive(Serialize, ToSchema)]
pub struct BalanceView {
    /// Credits left.
    pub balance: i64,
}

fn envelope<T>(data: T) -> Json<Envelope<T>> {
    Json(Envelope { success: true, message: None, data })
}

/// Sign in as a reseller of an app.
#[utoipa::path(post, path = "/v1/reseller/login", tag = "reseller", operation_id = "resellerLogin",
    request_body = ResellerLoginBody,
    responses((status = 200, description = "A token for this reseller on this app, valid 24 hours", body = Envelope<ResellerSession>),
              (status = 400, description = "Invalid or missing field, named"),
              (status = 401, description = "Unknown app or wrong API key; or `Invalid credentials` (unknown username or wrong password)"),
              (status = 403, description = "The app is paused or disabled"),
              (status = 429, description = "Too many failed attempts from this address, with `Retry-After`"),
              (status = 503, description = "`SERVER_BUSY`: too many password checks at once, with `Retry-After`")))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<ResellerLoginBody>,
) -> ApiResult<impl IntoResponse> {
    let signed_in =
        resellers::login(&state, ip, body.app_id.trim(), &body.api_key, &body.username, body.password).await?;
    Ok(envelope(ResellerSession {
        token: signed_in.token,
        username: signed_in.reseller.username,
        balance: signed_in.reseller.balance,
    }))
}

/// Buy license keys: `count` × the app's price for the duration is taken from the balance, in the
/// same transaction as the keys are stored.
#[utoipa::path(post, path = "/v1/reseller/licenses", tag = "reseller", operation_id = "resellerGenerateLicenses",
    security(("resellerBearer" = [])), request_body = ResellerGenerateBody,
    responses((status = 201, description = "The new keys and the balance left", body = PurchaseAnswer),
              (status = 400, description = "Invalid or missing field, named"),
              (status = 401, description = "Missing, invalid or expired reseller token; reseller deleted or its password changed"),
              (status = 402, description = "`INSUFFICIENT_CREDIT`: the balance does not cover the keys; nothing created"),
              (status = 403, description = "The app is paused or disabled")))]
async fn buy_licenses(
    State(state): State<AppState>,
    auth: ResellerAuth,
    ClientIp(ip): ClientIp,
    ValidJson(body): ValidJson<ResellerGenerateBody>,
) -> ApiResult<impl IntoResponse> {
    let purchase = Purchase::new(body.count, &body.duration_type, body.level, body.max_devices, body.prefix)?;
    let (licenses, balance) = resellers::buy_licenses(&state, ip, &auth.reseller, &auth.app, &purchase).await?;
    let data = licenses.into_iter().map(LicenseView::from).collect();
    Ok((StatusCode::CREATED, Json(PurchaseAnswer { success: true, data, balance })))
}

/// List the keys this reseller bought, newest first.
#[utoipa::path(get, path = "/v1/reseller/licenses", tag = "reseller", operation_id = "resellerListLicenses",
    security(("resellerBearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of the reseller's own keys", body = ResellerLicensePage),
              (status = 400, description = "Invalid query parameter, named"),
              (status = 401, description = "Missing, invalid or expired reseller token; reseller deleted or its password changed"),
              (status = 403, description = "The app is paused or disabled")))]
async fn list_licenses(
    State(state): State<AppState>,
    auth: ResellerAuth,
    ValidQuery(q): ValidQuery<PageQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = q.page()?;
    let found = resellers::list_licenses(&state, &auth.reseller, page).await?;
    let data = found.items.into_iter().map(LicenseView::from).collect();
    let pagination = Pagination { page: page.page, limit: page.limit, total: found.total };
    Ok(Json(ResellerLicensePage { success: true, data, pagination }))
}

/// The reseller's credit.
#[utoipa::path(get, path = "/v1/reseller/balance", tag = "reseller", operation_id = "resellerBalance",
    security(("resellerBearer" = [])),
    responses((status = 200, description = "Credits left", body = Envelope<BalanceView>),
              (status = 401, description = "Missing, invalid or expired reseller token; reseller deleted or its password changed"),
              (status = 403, description = "The app is paused or disabled")))]
async fn balance(auth: ResellerAuth) -> ApiResult<impl IntoResponse> {
    Ok(envelope(BalanceView { balance: auth.reseller.balance }))
}
