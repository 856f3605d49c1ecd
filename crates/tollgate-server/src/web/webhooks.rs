//! Dashboard pages: an app's webhooks. The list (enable, disable, test ping, delete), creating
//! one (the URL, the events as checkboxes from the catalogue the admin API accepts, the
//! format), the signing secret shown once on the page that answers the creation, and a page
//! per webhook with its settings and its delivery log (state, attempts, last status, time;
//! send one again).
//!
//! The secret is rendered straight into the answer to the creation, not carried over a
//! redirect: it never sits in a cookie or a URL, and reloading that page cannot show it again
//! (the browser asks before posting the form twice, and a second post makes a second webhook).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tollgate_core::model::{Webhook, WEBHOOK_EVENTS};
use tollgate_core::time::Timestamp;
use tollgate_store::PageRequest;

use super::session::{redirect_with, NoFields};
use super::{field_error, page, page_with, Chrome, CsrfForm, WebApp, WebResult};
use crate::manage;
use crate::state::AppState;

/// Deliveries shown per page of the log.
const PER_PAGE: u32 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{appId}/webhooks", get(list).post(create))
        .route("/apps/{appId}/webhooks/{webhookId}", get(detail).post(edit))
        .route("/apps/{appId}/webhooks/{webhookId}/enabled", post(set_enabled))
        .route("/apps/{appId}/webhooks/{webhookId}/test", post(test))
        .route("/apps/{appId}/webhooks/{webhookId}/delete", post(delete))
        .route("/apps/{appId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver", post(redeliver))
}

fn stamp(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub struct HookRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub format: &'static str,
    pub enabled: bool,
    pub disabled_reason: String,
    pub failing_since: String,
}

impl From<Webhook> for HookRow {
    fn from(w: Webhook) -> Self {
        HookRow {
            id: w.id,
            url: w.url,
            events: w.events.join(", "),
            format: w.format.as_str(),
            enabled: w.enabled,
            disabled_reason: w.disabled_reason.unwrap_or_default(),
            failing_since: w.failing_since.as_ref().map(stamp).unwrap_or_default(),
        }
    }
}

/// A create or edit form as typed, with the error beside its field.
#[derive(Default)]
pub struct HookForm {
    pub url: String,
    pub events: Vec<String>,
    pub format: String,
    pub enabled: bool,
    pub error_field: String,
    pub error: String,
}

impl HookForm {
    fn checked(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

/// The form's fields, read from its pairs (the events are repeated `events` fields).
fn read_form(pairs: Vec<(String, String)>) -> HookForm {
    let mut f = HookForm { format: "standard".to_owned(), ..HookForm::default() };
    for (k, v) in pairs {
        match k.as_str() {
            "url" => f.url = v,
            "events" => f.events.push(v),
            "format" => f.format = v,
            "enabled" => f.enabled = v == "on" || v == "true",
            _ => {}
        }
    }
    f
}

#[derive(askama::Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    app_id: String,
    hooks: Vec<HookRow>,
    catalogue: &'static [&'static str],
    form: HookForm,
    /// The webhook just made and its secret, shown this once.
    created: Option<(String, String)>,
}

async fn render_list(state: &AppState, w: &WebApp, form: HookForm) -> WebResult<WebhooksPage> {
    let hooks = manage::webhooks::list(state, &w.app.id).await?;
    Ok(WebhooksPage {
        chrome: Chrome::app(w, "webhooks", format!("{} · Webhooks", w.app.name)),
        app_id: w.app.id.clone(),
        hooks: hooks.into_iter().map(HookRow::from).collect(),
        catalogue: WEBHOOK_EVENTS,
        form,
        created: None,
    })
}

async fn list(State(state): State<AppState>, w: WebApp) -> WebResult<Response> {
    let form = HookForm { format: "standard".to_owned(), ..HookForm::default() };
    page(&render_list(&state, &w, form).await?)
}

/// The field a refusal names (`events[0]` is shown beside the events), or the error page.
fn refusal(e: manage::ManageError) -> WebResult<(String, String)> {
    match field_error(&e) {
        Some((field, message)) => {
            let field = if field.starts_with("events") { "events".to_owned() } else { field };
            Ok((field, message))
        }
        None => Err(e.into()),
    }
}

async fn create(
    State(state): State<AppState>,
    w: WebApp,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    let mut form = read_form(pairs);
    let by = w.seller.actor();
    match manage::webhooks::create(&state, &by, &w.app.id, &form.url, &form.events, Some(&form.format)).await {
        Ok(created) => {
            let mut p =
                render_list(&state, &w, HookForm { format: "standard".to_owned(), ..HookForm::default() }).await?;
            p.chrome.flash = Some("Webhook created.".to_owned());
            p.created = Some((created.webhook.id, created.secret));
            page(&p)
        }
        Err(e) => {
            (form.error_field, form.error) = refusal(e)?;
            page_with(StatusCode::BAD_REQUEST, &render_list(&state, &w, form).await?)
        }
    }
}

pub struct DeliveryRow {
    pub id: String,
    pub event: String,
    pub state: String,
    pub attempts: u32,
    pub last_status: String,
    pub created_at: String,
    pub last_attempt_at: String,
    pub error: String,
}

#[derive(askama::Template)]
#[template(path = "webhook.html")]
struct WebhookPage {
    chrome: Chrome,
    app_id: String,
    hook: HookRow,
    catalogue: &'static [&'static str],
    form: HookForm,
    deliveries: Vec<DeliveryRow>,
    page: u32,
    pages: u32,
}

#[derive(Deserialize)]
struct PageParam {
    page: Option<u32>,
}

async fn render_detail(
    state: &AppState,
    w: &WebApp,
    webhook_id: &str,
    page_no: u32,
    form: Option<HookForm>,
) -> WebResult<WebhookPage> {
    let hook = manage::webhooks::get(state, &w.app.id, webhook_id).await?;
    let page_no = page_no.clamp(1, 1_000_000);
    let found =
        manage::webhooks::deliveries(state, &w.app.id, webhook_id, PageRequest { page: page_no, limit: PER_PAGE })
            .await?;
    let pages = u32::try_from(found.total.div_ceil(u64::from(PER_PAGE))).unwrap_or(u32::MAX).max(1);
    let deliveries = found
        .items
        .into_iter()
        .map(|r| {
            let last = r.attempts.last();
            DeliveryRow {
                last_status: last.and_then(|a| a.status_code).map(|c| c.to_string()).unwrap_or_else(|| "—".to_owned()),
                error: last.and_then(|a| a.error.clone()).unwrap_or_default(),
                id: r.delivery.id,
                event: r.delivery.event,
                state: r.delivery.state.as_str().to_owned(),
                attempts: r.delivery.attempts,
                created_at: stamp(&r.delivery.created_at),
                last_attempt_at: r.delivery.last_attempt_at.as_ref().map(stamp).unwrap_or_default(),
            }
        })
        .collect();
    let form = form.unwrap_or_else(|| HookForm {
        url: hook.url.clone(),
        events: hook.events.clone(),
        format: hook.format.as_str().to_owned(),
        enabled: hook.enabled,
        ..HookForm::default()
    });
    Ok(WebhookPage {
        chrome: Chrome::app(w, "webhooks", format!("{} · Webhook", w.app.name)),
        app_id: w.app.id.clone(),
        hook: HookRow::from(hook),
        catalogue: WEBHOOK_EVENTS,
        form,
        deliveries,
        page: page_no,
        pages,
    })
}

async fn detail(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, webhook_id)): Path<(String, String)>,
    Query(q): Query<PageParam>,
) -> WebResult<Response> {
    page(&render_detail(&state, &w, &webhook_id, q.page.unwrap_or(1), None).await?)
}

async fn edit(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, webhook_id)): Path<(String, String)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> WebResult<Response> {
    let mut form = read_form(pairs);
    let change = manage::webhooks::Change {
        url: Some(&form.url),
        events: Some(&form.events),
        enabled: Some(form.enabled),
        format: Some(&form.format),
    };
    match manage::webhooks::update(&state, &w.seller.actor(), &w.app.id, &webhook_id, change).await {
        Ok(_) => Ok(redirect_with(&state, &format!("/apps/{}/webhooks/{webhook_id}", w.app.id), "Webhook saved.")),
        Err(e) => {
            (form.error_field, form.error) = refusal(e)?;
            page_with(StatusCode::BAD_REQUEST, &render_detail(&state, &w, &webhook_id, 1, Some(form)).await?)
        }
    }
}

#[derive(Deserialize)]
struct EnabledForm {
    #[serde(default)]
    enabled: String,
}

async fn set_enabled(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, webhook_id)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<EnabledForm>,
) -> WebResult<Response> {
    let enabled = f.enabled == "true";
    let change = manage::webhooks::Change { enabled: Some(enabled), ..Default::default() };
    manage::webhooks::update(&state, &w.seller.actor(), &w.app.id, &webhook_id, change).await?;
    let notice = if enabled { "Webhook enabled." } else { "Webhook disabled." };
    Ok(redirect_with(&state, &format!("/apps/{}/webhooks", w.app.id), notice))
}

async fn test(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, webhook_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    let ping = manage::webhooks::test(&state, &w.seller.actor(), &w.app.id, &webhook_id).await?;
    let notice = match (ping.ok, ping.status_code, ping.error) {
        (true, Some(code), _) => format!("Test ping delivered: the endpoint answered {code}."),
        (false, Some(code), _) => format!("Test ping failed: the endpoint answered {code}."),
        (_, None, Some(why)) => format!("Test ping failed: {why}."),
        (_, None, None) => "Test ping failed: no answer.".to_owned(),
    };
    Ok(redirect_with(&state, &format!("/apps/{}/webhooks/{webhook_id}", w.app.id), &notice))
}

async fn delete(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, webhook_id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::webhooks::delete(&state, &w.seller.actor(), &w.app.id, &webhook_id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/webhooks", w.app.id), "Webhook deleted."))
}

async fn redeliver(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, webhook_id, delivery_id)): Path<(String, String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    manage::webhooks::redeliver(&state, &w.seller.actor(), &w.app.id, &webhook_id, &delivery_id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/webhooks/{webhook_id}", w.app.id), "Delivery queued again."))
}
