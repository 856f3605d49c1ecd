//! Dashboard pages: an app's end users. The list (search by username or email, status filter,
//! pages of 50) and one user's page with every action the admin API offers: ban (with a
//! reason), unban, pause, unpause, extend, forget the bound devices, change level, email or
//! password, delete a user variable, delete the user. End users are created by the client
//! protocols (register, license login), never here, as in the admin API.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tollgate_core::model::{User, UserVariable};
use tollgate_core::status::StatusAction;
use tollgate_store::PageRequest;

use super::session::{redirect_with, NoFields};
use super::{field_error, page, page_with, Chrome, CsrfForm, WebApp, WebError, WebResult};
use crate::manage;
use crate::state::AppState;

/// Users shown per page.
pub const PAGE_SIZE: u32 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{appId}/users", get(list))
        .route("/apps/{appId}/users/{userId}", get(show))
        .route("/apps/{appId}/users/{userId}/ban", post(ban))
        .route("/apps/{appId}/users/{userId}/unban", post(unban))
        .route("/apps/{appId}/users/{userId}/pause", post(pause))
        .route("/apps/{appId}/users/{userId}/unpause", post(unpause))
        .route("/apps/{appId}/users/{userId}/extend", post(extend))
        .route("/apps/{appId}/users/{userId}/reset-devices", post(reset_devices))
        .route("/apps/{appId}/users/{userId}/edit", post(edit))
        .route("/apps/{appId}/users/{userId}/delete", post(delete))
        .route("/apps/{appId}/users/{userId}/variables/delete", post(delete_variable))
}

#[derive(Deserialize, Default)]
struct ListQuery {
    search: Option<String>,
    status: Option<String>,
    page: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    app_id: String,
    users: Vec<User>,
    search: String,
    status: String,
    page: u32,
    total: u64,
    has_next: bool,
    /// The query string of the filter, for the pager's links (`&search=..&status=..`).
    filter_qs: String,
}

async fn list(State(state): State<AppState>, w: WebApp, Query(q): Query<ListQuery>) -> WebResult<Response> {
    let filter = manage::users::user_filter(q.status.as_deref(), q.search.as_deref())?;
    let page_no = q.page.as_deref().and_then(|p| p.trim().parse::<u32>().ok()).filter(|p| (1..=1_000_000).contains(p));
    let page_no = page_no.unwrap_or(1);
    let found =
        manage::users::list(&state, &w.app.id, &filter, PageRequest { page: page_no, limit: PAGE_SIZE }).await?;
    let search = filter.search.clone().unwrap_or_default();
    let status = filter.status.map(|s| s.as_str().to_owned()).unwrap_or_default();
    let mut filter_qs = String::new();
    for (k, v) in [("search", &search), ("status", &status)] {
        if !v.is_empty() {
            filter_qs.push_str(&format!("&{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()));
        }
    }
    let has_next = u64::from(page_no) * u64::from(PAGE_SIZE) < found.total;
    page(&UsersPage {
        chrome: Chrome::app(&w, "users", format!("{} · Users", w.app.name)),
        app_id: w.app.id.clone(),
        users: found.items,
        search,
        status,
        page: page_no,
        total: found.total,
        has_next,
        filter_qs,
    })
}

/// What the user page's forms were given, shown again beside an error.
#[derive(Default)]
struct Typed {
    reason: String,
    days: String,
    level: String,
    email: String,
}

#[derive(askama::Template)]
#[template(path = "user.html")]
struct UserPage {
    chrome: Chrome,
    app_id: String,
    user: User,
    variables: Vec<UserVariable>,
    typed: Typed,
    /// The field with an error and its message.
    error: Option<(String, String)>,
}

impl UserPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }
}

async fn user_page(
    state: &AppState,
    w: &WebApp,
    user_id: &str,
    typed: Option<Typed>,
    error: Option<(String, String)>,
) -> WebResult<UserPage> {
    let user = manage::users::get(state, &w.app.id, user_id).await?;
    let variables = manage::users::variables(state, &w.app.id, user_id).await?;
    let typed = typed.unwrap_or_else(|| Typed {
        level: user.level.to_string(),
        email: user.email.clone().unwrap_or_default(),
        ..Typed::default()
    });
    Ok(UserPage {
        chrome: Chrome::app(w, "users", format!("{} · {}", w.app.name, user.username)),
        app_id: w.app.id.clone(),
        user,
        variables,
        typed,
        error,
    })
}

async fn show(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
) -> WebResult<Response> {
    page(&user_page(&state, &w, &user_id, None, None).await?)
}

/// The form again (400) with the error beside its field, or the error page when no field is
/// named.
async fn invalid(
    state: &AppState,
    w: &WebApp,
    user_id: &str,
    e: manage::ManageError,
    typed: impl FnOnce(&User) -> Typed,
) -> WebResult<Response> {
    let Some(err) = field_error(&e) else { return Err(e.into()) };
    let user = manage::users::get(state, &w.app.id, user_id).await?;
    page_with(StatusCode::BAD_REQUEST, &user_page(state, w, user_id, Some(typed(&user)), Some(err)).await?)
}

fn user_url(w: &WebApp, user_id: &str) -> String {
    format!("/apps/{}/users/{}", w.app.id, form_urlencoded::byte_serialize(user_id.as_bytes()).collect::<String>())
}

#[derive(Deserialize)]
struct BanForm {
    #[serde(default)]
    reason: String,
}

async fn ban(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<BanForm>,
) -> WebResult<Response> {
    match manage::users::ban(&state, &w.seller.actor(), &w.app.id, &user_id, Some(&f.reason)).await {
        Ok(()) => Ok(redirect_with(&state, &user_url(&w, &user_id), "User banned.")),
        Err(e) => {
            invalid(&state, &w, &user_id, e, |u| Typed {
                reason: f.reason.clone(),
                level: u.level.to_string(),
                email: u.email.clone().unwrap_or_default(),
                ..Typed::default()
            })
            .await
        }
    }
}

async fn status_action(
    state: &AppState,
    w: &WebApp,
    user_id: &str,
    action: StatusAction,
    notice: &str,
) -> WebResult<Response> {
    manage::users::change_status(state, &w.seller.actor(), &w.app.id, user_id, action, None).await?;
    Ok(redirect_with(state, &user_url(w, user_id), notice))
}

async fn unban(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    status_action(&state, &w, &user_id, StatusAction::Unban, "User unbanned.").await
}

async fn pause(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    status_action(&state, &w, &user_id, StatusAction::Pause, "User paused.").await
}

async fn unpause(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    status_action(&state, &w, &user_id, StatusAction::Unpause, "User unpaused.").await
}

#[derive(Deserialize)]
struct ExtendForm {
    #[serde(default)]
    days: String,
}

async fn extend(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<ExtendForm>,
) -> WebResult<Response> {
    let result = match f.days.trim().parse::<i64>() {
        Ok(days) => manage::users::extend(&state, &w.seller.actor(), &w.app.id, &user_id, days).await,
        Err(_) => Err(tollgate_core::DomainError::validation("days", "must be a whole number of days").into()),
    };
    match result {
        Ok((days, _)) => {
            Ok(redirect_with(&state, &user_url(&w, &user_id), &format!("Subscription extended by {days} days.")))
        }
        Err(e) => {
            invalid(&state, &w, &user_id, e, |u| Typed {
                days: f.days.clone(),
                level: u.level.to_string(),
                email: u.email.clone().unwrap_or_default(),
                ..Typed::default()
            })
            .await
        }
    }
}

async fn reset_devices(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::users::reset_devices(&state, &w.seller.actor(), &w.app.id, &user_id).await?;
    Ok(redirect_with(&state, &user_url(&w, &user_id), "Devices reset."))
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    level: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn edit(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> WebResult<Response> {
    let current = manage::users::get(&state, &w.app.id, &user_id).await?;
    let result = async {
        let level = match f.level.trim() {
            "" => None,
            l => Some(
                l.parse::<i64>()
                    .map_err(|_| tollgate_core::DomainError::validation("level", "must be a whole number"))?,
            ),
        }
        .filter(|l| *l != current.level);
        // A blank email removes it; the same email is no change.
        let email = match f.email.trim() {
            "" if current.email.is_none() => None,
            "" => Some(None),
            e if current.email.as_deref() == Some(e) => None,
            e => Some(Some(e.to_owned())),
        };
        let password = Some(f.password.clone()).filter(|p| !p.is_empty());
        let changes = manage::users::UserChanges { level, email, password };
        manage::users::update(&state, &w.seller.actor(), &w.app.id, &user_id, changes).await
    }
    .await;
    match result {
        Ok(_) => Ok(redirect_with(&state, &user_url(&w, &user_id), "User updated.")),
        Err(e) => {
            invalid(&state, &w, &user_id, e, |_| Typed {
                level: f.level.clone(),
                email: f.email.clone(),
                ..Typed::default()
            })
            .await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::users::delete(&state, &w.seller.actor(), &w.app.id, &user_id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/users", w.app.id), "User deleted."))
}

#[derive(Deserialize)]
struct VariableForm {
    #[serde(default)]
    key: String,
}

async fn delete_variable(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, user_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<VariableForm>,
) -> WebResult<Response> {
    if f.key.is_empty() {
        return Err(WebError::bad_request("No variable named."));
    }
    manage::users::delete_variable(&state, &w.seller.actor(), &w.app.id, &user_id, &f.key).await?;
    Ok(redirect_with(&state, &user_url(&w, &user_id), "Variable deleted."))
}
