//! Dashboard pages: an app's variables. The list, a form to create one (key, value, read-only,
//! sign-in required), an edit form per variable (value and flags; the key is the variable's
//! name and does not change) and delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tollgate_core::model::AppVariable;
use tollgate_store::VariablePatch;

use super::session::{redirect_with, NoFields};
use super::{field_error, page_with, Chrome, CsrfForm, WebApp, WebResult};
use crate::manage;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{appId}/variables", get(list).post(create))
        .route("/apps/{appId}/variables/{key}", post(update))
        .route("/apps/{appId}/variables/{key}/delete", post(delete))
}

/// The create form as typed, with its error.
#[derive(Default)]
struct NewVar {
    key: String,
    value: String,
    read_only: bool,
    auth_required: bool,
}

#[derive(askama::Template)]
#[template(path = "variables.html")]
struct VariablesPage {
    chrome: Chrome,
    app_id: String,
    variables: Vec<AppVariable>,
    new: NewVar,
    /// The create form's field with an error, and its message.
    error: Option<(String, String)>,
    /// The variable whose edit form failed, its field and message.
    edit_error: Option<(String, String, String)>,
}

impl VariablesPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| f == field).map(|(_, m)| m.as_str())
    }

    fn edit_error_for(&self, key: &str) -> Option<&str> {
        self.edit_error.as_ref().filter(|(k, _, _)| k == key).map(|(_, _, m)| m.as_str())
    }
}

async fn render(
    state: &AppState,
    w: &WebApp,
    status: StatusCode,
    new: NewVar,
    error: Option<(String, String)>,
    edit_error: Option<(String, String, String)>,
) -> WebResult<Response> {
    let variables = manage::variables::list(state, &w.app.id).await?;
    page_with(
        status,
        &VariablesPage {
            chrome: Chrome::app(w, "variables", format!("{} · Variables", w.app.name)),
            app_id: w.app.id.clone(),
            variables,
            new,
            error,
            edit_error,
        },
    )
}

async fn list(State(state): State<AppState>, w: WebApp) -> WebResult<Response> {
    render(&state, &w, StatusCode::OK, NewVar::default(), None, None).await
}

/// A checkbox: present (whatever its value) means checked.
#[derive(Deserialize)]
struct VarForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    value: String,
    #[serde(default, rename = "readOnly")]
    read_only: Option<String>,
    #[serde(default, rename = "authRequired")]
    auth_required: Option<String>,
}

fn vars_url(w: &WebApp) -> String {
    format!("/apps/{}/variables", w.app.id)
}

async fn create(State(state): State<AppState>, w: WebApp, CsrfForm(f): CsrfForm<VarForm>) -> WebResult<Response> {
    let (read_only, auth_required) = (f.read_only.is_some(), f.auth_required.is_some());
    let result = manage::variables::create(
        &state,
        &w.seller.actor(),
        &w.app.id,
        &f.key,
        f.value.clone(),
        read_only,
        auth_required,
    )
    .await;
    match result {
        Ok(v) => Ok(redirect_with(&state, &vars_url(&w), &format!("Variable {} created.", v.key))),
        Err(e) => {
            let err = match field_error(&e) {
                Some(fe) => fe,
                None => match e {
                    manage::ManageError::Store(tollgate_store::StoreError::Conflict { .. }) => {
                        ("key".to_owned(), "is already used by another variable".to_owned())
                    }
                    other => return Err(other.into()),
                },
            };
            let new = NewVar { key: f.key, value: f.value, read_only, auth_required };
            render(&state, &w, StatusCode::BAD_REQUEST, new, Some(err), None).await
        }
    }
}

async fn update(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, key)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<VarForm>,
) -> WebResult<Response> {
    let patch = VariablePatch {
        value: Some(f.value),
        read_only: Some(f.read_only.is_some()),
        auth_required: Some(f.auth_required.is_some()),
    };
    match manage::variables::update(&state, &w.seller.actor(), &w.app.id, &key, patch).await {
        Ok(v) => Ok(redirect_with(&state, &vars_url(&w), &format!("Variable {} saved.", v.key))),
        Err(e) => match field_error(&e) {
            Some((field, message)) => {
                render(&state, &w, StatusCode::BAD_REQUEST, NewVar::default(), None, Some((key, field, message))).await
            }
            None => Err(e.into()),
        },
    }
}

async fn delete(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, key)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::variables::delete(&state, &w.seller.actor(), &w.app.id, &key).await?;
    Ok(redirect_with(&state, &vars_url(&w), &format!("Variable {key} deleted.")))
}
