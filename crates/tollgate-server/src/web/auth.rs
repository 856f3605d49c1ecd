//! Sign in, sign up (when the server's seller sign-up is open) and sign out.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::session::{set_cookie, CsrfToken, Flash, SESSION_COOKIE};
use super::{page, page_with, Chrome, CsrfForm, WebError, WebResult, WebSeller};
use crate::config::SellerSignup;
use crate::extract::ClientIp;
use crate::manage::{self, ManageError};
use crate::state::{AppState, WEB_SESSION_TTL};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/signup", get(signup_page).post(signup))
        .route("/logout", post(logout))
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    email: String,
    next: String,
    error: Option<String>,
    signup_open: bool,
}

#[derive(askama::Template)]
#[template(path = "signup.html")]
struct SignupPage {
    chrome: Chrome,
    name: String,
    email: String,
    /// The field the error is about (`name`, `email`, `password`), and the error.
    error_field: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Only a path of this site: `/apps/...`, never `//host` or `https://host`.
fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() <= 512;
    if ok {
        next.to_owned()
    } else {
        "/apps".to_owned()
    }
}

fn signup_open(state: &AppState) -> bool {
    state.config.seller_signup == SellerSignup::Open
}

async fn login_page(
    State(state): State<AppState>,
    Extension(CsrfToken(csrf)): Extension<CsrfToken>,
    Extension(Flash(flash)): Extension<Flash>,
    Query(q): Query<NextQuery>,
) -> WebResult<Response> {
    let next = safe_next(q.next.as_deref().unwrap_or("/apps"));
    page(&LoginPage {
        chrome: Chrome::guest(&csrf, flash, "Sign in"),
        email: String::new(),
        next,
        error: None,
        signup_open: signup_open(&state),
    })
}

/// A session cookie for `seller_id`, and a redirect to `to`.
async fn signed_in(state: &AppState, seller_id: &str, to: &str) -> WebResult<Response> {
    let token = manage::sellers::issue_web_session(state, seller_id).await?;
    let mut res = Redirect::to(to).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(state, SESSION_COOKIE, &token, WEB_SESSION_TTL.as_secs()));
    Ok(res)
}

async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Extension(CsrfToken(csrf)): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> WebResult<Response> {
    let next = safe_next(&form.next);
    match manage::sellers::authenticate(&state, ip, &form.email, form.password).await {
        Ok(seller) => signed_in(&state, &seller.id, &next).await,
        Err(ManageError::Unauthorized(m)) => page_with(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                chrome: Chrome::guest(&csrf, None, "Sign in"),
                email: form.email,
                next,
                error: Some(m.to_owned()),
                signup_open: signup_open(&state),
            },
        ),
        Err(e) => Err(WebError::from(e)),
    }
}

async fn signup_page(
    State(state): State<AppState>,
    Extension(CsrfToken(csrf)): Extension<CsrfToken>,
) -> WebResult<Response> {
    if !signup_open(&state) {
        return Err(closed());
    }
    page(&SignupPage {
        chrome: Chrome::guest(&csrf, None, "Create an account"),
        name: String::new(),
        email: String::new(),
        error_field: String::new(),
        error: None,
    })
}

fn closed() -> WebError {
    WebError::new(StatusCode::FORBIDDEN, "Sign-up is closed", "Seller sign-up is closed on this server.")
}

async fn signup(
    State(state): State<AppState>,
    Extension(CsrfToken(csrf)): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> WebResult<Response> {
    if !signup_open(&state) {
        return Err(closed());
    }
    match manage::sellers::create(&state, &form.email, &form.password, &form.name).await {
        Ok(seller) => signed_in(&state, &seller.id, "/apps").await,
        Err(e) => {
            let (field, message) = match super::field_error(&e) {
                Some(fe) => fe,
                None => match e {
                    ManageError::Store(tollgate_store::StoreError::Conflict { .. }) => {
                        ("email".to_owned(), "is already registered".to_owned())
                    }
                    other => return Err(WebError::from(other)),
                },
            };
            let status = if field == "email" && message.contains("registered") {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            page_with(
                status,
                &SignupPage {
                    chrome: Chrome::guest(&csrf, None, "Create an account"),
                    name: form.name,
                    email: form.email,
                    error: Some(format!("{field} {message}")),
                    error_field: field,
                },
            )
        }
    }
}

/// Sign out: this seller's dashboard sessions and access tokens end everywhere.
async fn logout(
    State(state): State<AppState>,
    seller: WebSeller,
    CsrfForm(_): CsrfForm<super::session::NoFields>,
) -> WebResult<Response> {
    manage::sellers::sign_out_everywhere(&state, &seller.actor(), &seller.seller_id).await?;
    let mut res = super::session::redirect_with(&state, "/login", "Signed out.");
    res.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0));
    Ok(res)
}
