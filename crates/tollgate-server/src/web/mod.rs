//! The seller's dashboard: server-rendered HTML pages (askama templates under `templates/`)
//! over the same use cases as the admin API and the command line ([`crate::manage`]). Plain
//! forms that POST and redirect (so every page works without JavaScript and with the keyboard
//! alone), a small script of our own (`assets/app.js`) for what needs it: the sessions page's
//! refresh, the upload's progress bar, copy buttons and confirmations. Nothing is fetched from
//! another site; the pages' Content-Security-Policy allows only this server's own script and
//! stylesheet.
//!
//! Every page under `/apps/{appId}` takes [`WebApp`]: another seller's app, or none, is a 404
//! page. Every POST passes the CSRF check ([`session`]).

pub mod apps;
pub mod auth;
pub mod blacklist;
pub mod chart;
pub mod error;
pub mod files;
pub mod licenses;
pub mod logs;
pub mod overview;
pub mod resellers;
pub mod session;
pub mod sessions;
pub mod signing;
pub mod users;
pub mod variables;
pub mod webhooks;

use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tollgate_core::model::App;

pub use error::{WebError, WebResult};
pub use session::{CsrfForm, WebApp, WebSeller};

use crate::state::AppState;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/assets/app.css", get(css))
        .route("/assets/app.js", get(js))
        .merge(auth::routes())
        .merge(apps::routes())
        .merge(overview::routes())
        .merge(licenses::routes())
        .merge(users::routes())
        .merge(sessions::routes())
        .merge(variables::routes())
        .merge(files::routes())
        .merge(resellers::routes())
        .merge(blacklist::routes())
        .merge(webhooks::routes())
        .merge(logs::routes())
        .merge(signing::routes())
        .layer(axum::middleware::from_fn_with_state(state, session::layer))
}

/// `GET /` for a browser (a WebSocket upgrade on `/` is a Blazeauth client): the apps list,
/// which sends a visitor who is not signed in to the sign-in page.
pub async fn home() -> Response {
    Redirect::to("/apps").into_response()
}

/// What every page shows around its content: the signed-in seller's menu, the app's menu when
/// the page is about one app, the notice left by the last action, and the CSRF token its forms
/// carry.
pub struct Chrome {
    pub title: String,
    pub signed_in: bool,
    pub csrf: String,
    pub flash: Option<String>,
    pub app: Option<AppNav>,
    /// Which menu entry is the current page (`overview`, `settings`, `licenses`, ...).
    pub section: &'static str,
}

/// The app a page is about, as its menu shows it.
pub struct AppNav {
    pub id: String,
    pub name: String,
    pub status: &'static str,
}

impl Chrome {
    /// A page of the signed-in seller that is not about one app.
    pub fn seller(s: &WebSeller, section: &'static str, title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            signed_in: true,
            csrf: s.csrf.clone(),
            flash: s.flash.clone(),
            app: None,
            section,
        }
    }

    /// A page about one of the seller's apps.
    pub fn app(w: &WebApp, section: &'static str, title: impl Into<String>) -> Chrome {
        Chrome { app: Some(AppNav::of(&w.app)), ..Chrome::seller(&w.seller, section, title) }
    }

    /// A page for a visitor who is not signed in (sign-in, sign-up).
    pub fn guest(csrf: &str, flash: Option<String>, title: impl Into<String>) -> Chrome {
        Chrome { title: title.into(), signed_in: false, csrf: csrf.to_owned(), flash, app: None, section: "" }
    }
}

impl AppNav {
    pub fn of(app: &App) -> AppNav {
        AppNav { id: app.id.clone(), name: app.name.clone(), status: app.status.as_str() }
    }
}

/// A rendered page, 200.
pub fn page<T: askama::Template>(t: &T) -> WebResult<Response> {
    Ok(Html(t.render()?).into_response())
}

/// A rendered page with another status (a form shown again with its errors: 400, 401, 409...).
pub fn page_with<T: askama::Template>(status: axum::http::StatusCode, t: &T) -> WebResult<Response> {
    Ok((status, Html(t.render()?)).into_response())
}

/// The field a domain validation error names, and its message, to show beside that field.
pub fn field_error(e: &crate::manage::ManageError) -> Option<(String, String)> {
    match e {
        crate::manage::ManageError::Domain(tollgate_core::DomainError::Validation { field, message }) => {
            Some((field.clone(), message.clone()))
        }
        crate::manage::ManageError::Domain(tollgate_core::DomainError::MissingFields(field)) => {
            Some((field.clone(), "is required".to_owned()))
        }
        _ => None,
    }
}

async fn css() -> Response {
    asset("text/css; charset=utf-8", include_str!("../../assets/app.css"))
}

async fn js() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../../assets/app.js"))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response()
}
