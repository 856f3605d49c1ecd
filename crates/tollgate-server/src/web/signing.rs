//! Dashboard page: the server's active signing key, public half only, to pin in client
//! programs (its PEM with a copy button, its kid, and how to verify an answer).

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::{page, Chrome, WebResult, WebSeller};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/signing-key", get(show))
}

#[derive(askama::Template)]
#[template(path = "signing.html")]
struct SigningPage {
    chrome: Chrome,
    kid: String,
    pem: String,
    created_at: String,
}

async fn show(State(state): State<AppState>, seller: WebSeller) -> WebResult<Response> {
    let signer = state.signer.get();
    page(&SigningPage {
        chrome: Chrome::seller(&seller, "signing-key", "Signing key"),
        kid: signer.kid().to_owned(),
        pem: signer.public_key_pem().to_owned(),
        created_at: signer.created_at().format("%Y-%m-%d %H:%M UTC").to_string(),
    })
}
