//! Dashboard pages: an app's resellers. The list with balances and keys made, creating one,
//! adding and taking away credit (the balance never goes below 0: the store's conditional
//! debit decides, and the page shows its refusal beside the amount), changing a password and
//! deleting. The app's reseller prices are shown read-only (they are set on the settings page).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tollgate_core::time::Timestamp;

use super::session::{redirect_with, NoFields};
use super::{field_error, page, page_with, Chrome, CsrfForm, WebApp, WebResult};
use crate::manage;
use crate::state::AppState;

/// Resellers shown per page.
const PER_PAGE: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{appId}/resellers", get(list).post(create))
        .route("/apps/{appId}/resellers/{resellerId}/credit", post(credit))
        .route("/apps/{appId}/resellers/{resellerId}/password", post(password))
        .route("/apps/{appId}/resellers/{resellerId}/delete", post(delete))
}

pub struct Row {
    pub id: String,
    pub username: String,
    pub balance: i64,
    pub licenses: u64,
    pub created_at: String,
}

/// What a form shows again after a refusal: which form (`create`, or a reseller's id for its
/// credit or password form), the field and the message, and what was typed.
#[derive(Default)]
pub struct FormState {
    pub target: String,
    pub field: String,
    pub message: String,
    pub username: String,
    pub balance: String,
    pub amount: String,
}

impl FormState {
    fn is(&self, target: &str, field: &str) -> bool {
        self.target == target && self.field == field
    }
}

#[derive(askama::Template)]
#[template(path = "resellers.html")]
struct ResellersPage {
    chrome: Chrome,
    app_id: String,
    rows: Vec<Row>,
    prices: Vec<(String, i64)>,
    default_price: i64,
    page: usize,
    pages: usize,
    form: FormState,
}

#[derive(Deserialize)]
struct PageParam {
    page: Option<usize>,
}

fn stamp(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

async fn render(state: &AppState, w: &WebApp, page_no: usize, form: FormState) -> WebResult<ResellersPage> {
    let all = manage::resellers::list(state, &w.app.id).await?;
    let pages = all.len().div_ceil(PER_PAGE).max(1);
    let page_no = page_no.clamp(1, pages);
    let mut rows = Vec::new();
    for r in all.into_iter().skip((page_no - 1) * PER_PAGE).take(PER_PAGE) {
        let licenses = manage::resellers::licenses_made(state, &w.app.id, &r.id).await?;
        rows.push(Row {
            created_at: stamp(&r.created_at),
            id: r.id,
            username: r.username,
            balance: r.balance,
            licenses,
        });
    }
    Ok(ResellersPage {
        chrome: Chrome::app(w, "resellers", format!("{} · Resellers", w.app.name)),
        app_id: w.app.id.clone(),
        rows,
        prices: w.app.settings.reseller_prices.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        default_price: tollgate_core::settings::DEFAULT_RESELLER_PRICE,
        page: page_no,
        pages,
        form,
    })
}

async fn list(State(state): State<AppState>, w: WebApp, Query(q): Query<PageParam>) -> WebResult<Response> {
    page(&render(&state, &w, q.page.unwrap_or(1), FormState::default()).await?)
}

/// A refused form shown again (400) with the error beside its field; any other error is the
/// error page.
async fn refused(state: &AppState, w: &WebApp, e: manage::ManageError, mut form: FormState) -> WebResult<Response> {
    let Some((field, message)) = conflict_or_field(&e) else { return Err(e.into()) };
    form.field = field;
    form.message = message;
    page_with(StatusCode::BAD_REQUEST, &render(state, w, 1, form).await?)
}

fn conflict_or_field(e: &manage::ManageError) -> Option<(String, String)> {
    if let manage::ManageError::Store(tollgate_store::StoreError::Conflict { .. }) = e {
        return Some(("username".to_owned(), "is already used by a reseller of this app".to_owned()));
    }
    field_error(e)
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    balance: String,
}

/// A whole number typed in a form (empty: `empty`), or a validation error on `field`.
fn number(field: &str, text: &str, empty: i64) -> Result<i64, manage::ManageError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(empty);
    }
    t.parse::<i64>().map_err(|_| tollgate_core::DomainError::validation(field, "must be a whole number").into())
}

async fn create(State(state): State<AppState>, w: WebApp, CsrfForm(f): CsrfForm<CreateForm>) -> WebResult<Response> {
    let result = match number("balance", &f.balance, 0) {
        Ok(balance) => {
            manage::resellers::create(&state, &w.seller.actor(), &w.app.id, &f.username, f.password, balance).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => Ok(redirect_with(
            &state,
            &format!("/apps/{}/resellers", w.app.id),
            &format!("Reseller {} created.", r.username),
        )),
        Err(e) => {
            let form =
                FormState { target: "create".into(), username: f.username, balance: f.balance, ..Default::default() };
            refused(&state, &w, e, form).await
        }
    }
}

#[derive(Deserialize)]
struct CreditForm {
    #[serde(default)]
    amount: String,
    /// `add` or `remove`.
    #[serde(default)]
    op: String,
}

async fn credit(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, reseller_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<CreditForm>,
) -> WebResult<Response> {
    let by = w.seller.actor();
    let result = match number("amount", &f.amount, 0) {
        Ok(amount) => match f.op.as_str() {
            "add" => manage::resellers::add_credit(&state, &by, &w.app.id, &reseller_id, amount).await,
            "remove" => manage::resellers::remove_credit(&state, &by, &w.app.id, &reseller_id, amount).await,
            _ => Err(tollgate_core::DomainError::validation("amount", "choose Add or Remove").into()),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(balance) => {
            Ok(redirect_with(&state, &format!("/apps/{}/resellers", w.app.id), &format!("Balance is now {balance}.")))
        }
        Err(e) => {
            let form = FormState { target: reseller_id, amount: f.amount, ..Default::default() };
            refused(&state, &w, e, form).await
        }
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn password(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, reseller_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<PasswordForm>,
) -> WebResult<Response> {
    match manage::resellers::update(&state, &w.seller.actor(), &w.app.id, &reseller_id, Some(f.password), None).await {
        Ok(r) => Ok(redirect_with(
            &state,
            &format!("/apps/{}/resellers", w.app.id),
            &format!("Password of {} changed.", r.username),
        )),
        Err(e) => refused(&state, &w, e, FormState { target: reseller_id, ..Default::default() }).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, reseller_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::resellers::delete(&state, &w.seller.actor(), &w.app.id, &reseller_id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/resellers", w.app.id), "Reseller deleted."))
}
