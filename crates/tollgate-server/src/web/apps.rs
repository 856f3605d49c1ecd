//! The seller's apps: the list with counts, and creating one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tollgate_core::model::{App, AppCounts};

use super::{page, page_with, Chrome, CsrfForm, WebResult, WebSeller};
use crate::manage;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/apps", get(list).post(create))
}

#[derive(askama::Template)]
#[template(path = "apps.html")]
struct AppsPage {
    chrome: Chrome,
    apps: Vec<(App, AppCounts)>,
    name: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    name: String,
}

async fn list(State(state): State<AppState>, seller: WebSeller) -> WebResult<Response> {
    let apps = manage::apps::list(&state, &seller.seller_id).await?;
    page(&AppsPage { chrome: Chrome::seller(&seller, "apps", "Apps"), apps, name: String::new(), error: None })
}

async fn create(
    State(state): State<AppState>,
    seller: WebSeller,
    CsrfForm(form): CsrfForm<CreateForm>,
) -> WebResult<Response> {
    match manage::apps::create(&state, &seller.actor(), &seller.seller_id, &form.name, None).await {
        Ok(app) => Ok(Redirect::to(&format!("/apps/{}", app.id)).into_response()),
        Err(e) => {
            let message = match super::field_error(&e) {
                Some((_, m)) => format!("Name {m}"),
                None => match e {
                    manage::ManageError::Store(tollgate_store::StoreError::Conflict { .. }) => {
                        "You already have an app of that name".to_owned()
                    }
                    other => return Err(other.into()),
                },
            };
            let apps = manage::apps::list(&state, &seller.seller_id).await?;
            page_with(
                StatusCode::BAD_REQUEST,
                &AppsPage {
                    chrome: Chrome::seller(&seller, "apps", "Apps"),
                    apps,
                    name: form.name,
                    error: Some(message),
                },
            )
        }
    }
}
