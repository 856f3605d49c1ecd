//! The seller, admin and reseller REST API: Authon v1's seller, admin, reseller and builder routes,
//! extended with the app settings the other dialects need, and with REST methods where Authon's
//! documentation gives none.
//!
//! Every admin route is scoped to the caller's own apps ([`crate::extract::OwnedApp`]): an app of
//! another seller, or anything under it, answers 404 and nothing changes. A handler reads the
//! request, calls the use case in [`crate::manage`] and shapes the answer.

pub mod apps;
pub mod audit;
pub mod auth;
pub mod blacklist;
pub mod chats;
pub mod devices;
pub mod files;
pub mod licenses;
pub mod logs;
pub mod resellers;
pub mod sessions;
pub mod users;
pub mod variables;
pub mod webhooks;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(apps::router())
        .merge(licenses::router())
        .merge(users::router())
        .merge(variables::router())
        .merge(blacklist::router())
        .merge(sessions::router())
        .merge(resellers::router())
        .merge(files::router())
        .merge(webhooks::router())
        .merge(logs::router())
        .merge(audit::router())
        .merge(chats::router())
        .merge(devices::router())
        .layer(axum::middleware::from_fn(crate::extract::refuse_nul))
}
