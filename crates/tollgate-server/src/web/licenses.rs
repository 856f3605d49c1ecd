//! Dashboard pages: the app's licenses. The list (newest first, status filter, search by key
//! or note, cursor pages), generating keys, one license's page with its actions, and the CSV
//! export of the current filter, streamed page by page.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tollgate_core::license::{self as rules, LicenseChanges, LicenseSpec};
use tollgate_core::model::{Creator, License, LicenseStatus};
use tollgate_core::status::StatusAction;
use tollgate_core::time::Timestamp;
use tollgate_core::DomainError;
use tollgate_store::{LicenseCursor, LicenseFilter, PageRequest};

use super::session::{redirect_with, NoFields};
use super::{field_error, page, page_with, Chrome, CsrfForm, WebApp, WebResult};
use crate::manage::licenses::{self as lic, ExtendBy, ListQuery};
use crate::manage::ManageError;
use crate::state::AppState;

/// Licenses on one page of the list.
const PAGE_SIZE: u32 = 50;
/// Licenses read per step of the CSV export.
const EXPORT_CHUNK: u32 = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps/{appId}/licenses", get(list).post(generate))
        .route("/apps/{appId}/licenses.csv", get(export_csv))
        .route("/apps/{appId}/licenses/{licenseId}", get(show))
        .route("/apps/{appId}/licenses/{licenseId}/ban", post(ban))
        .route("/apps/{appId}/licenses/{licenseId}/unban", post(unban))
        .route("/apps/{appId}/licenses/{licenseId}/pause", post(pause))
        .route("/apps/{appId}/licenses/{licenseId}/unpause", post(unpause))
        .route("/apps/{appId}/licenses/{licenseId}/reset-devices", post(reset_devices))
        .route("/apps/{appId}/licenses/{licenseId}/delete", post(delete))
        .route("/apps/{appId}/licenses/{licenseId}/extend", post(extend))
        .route("/apps/{appId}/licenses/{licenseId}/edit", post(edit))
}

/// Field name → message, shown beside the fields.
type Errors = BTreeMap<String, String>;

fn one_error(e: &ManageError) -> Option<Errors> {
    field_error(e).map(|(f, m)| Errors::from([(f, m)]))
}

fn ts(t: &Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn ts_opt(t: &Option<Timestamp>) -> String {
    t.as_ref().map(ts).unwrap_or_default()
}

/// One row of the list, as shown.
struct Row {
    id: String,
    key: String,
    status: &'static str,
    level: i64,
    duration: String,
    devices: String,
    note: String,
    created: String,
    expires: String,
}

impl Row {
    fn of(l: &License) -> Row {
        Row {
            id: l.id.clone(),
            key: l.key.clone(),
            status: l.status.as_str(),
            level: l.level,
            duration: l.duration.to_string(),
            devices: format!("{}/{}", l.devices.len(), l.max_devices),
            note: l.note.clone().unwrap_or_default(),
            created: ts(&l.created_at),
            expires: ts_opt(&l.expires_at),
        }
    }
}

#[derive(Deserialize, Default)]
struct ListParams {
    status: Option<String>,
    search: Option<String>,
    cursor: Option<String>,
}

/// The generate form as typed.
#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct GenerateForm {
    #[serde(default)]
    count: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    max_devices: String,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    mask: String,
    #[serde(default)]
    note: String,
}

impl Default for GenerateForm {
    fn default() -> Self {
        GenerateForm {
            count: "1".into(),
            duration: "30d".into(),
            level: "1".into(),
            max_devices: "1".into(),
            prefix: String::new(),
            mask: String::new(),
            note: String::new(),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "licenses.html")]
struct ListPage {
    chrome: Chrome,
    app_id: String,
    rows: Vec<Row>,
    total: u64,
    /// A search matched more than `total`: shown as "more than".
    total_capped: bool,
    status: String,
    search: String,
    statuses: &'static [LicenseStatus],
    /// Query string (without `?`) of the next page, when there is one.
    next: Option<String>,
    /// Query string of the current filter, for the CSV link and "first page".
    filter_qs: String,
    deep: bool,
    form: GenerateForm,
    errors: Errors,
    filter_error: Option<String>,
    new_keys: Vec<(String, String)>,
}

impl ListPage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

fn qs(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

async fn list_page(
    state: &AppState,
    w: &WebApp,
    params: &ListParams,
    form: GenerateForm,
    errors: Errors,
    new_keys: Vec<(String, String)>,
) -> WebResult<ListPage> {
    let status = params.status.clone().unwrap_or_default();
    let search = params.search.clone().unwrap_or_default();
    let query = ListQuery { status: Some(&status), search: Some(&search), cursor: params.cursor.as_deref() };
    let (listing, filter_error) = match query.filter() {
        Ok(filter) => {
            let page = PageRequest { page: 1, limit: PAGE_SIZE };
            (lic::list(state, &w.app.id, &filter, page, true).await?, None)
        }
        Err(e) => {
            let message = match e {
                DomainError::Validation { field, message } => format!("{field} {message}"),
                other => other.to_string(),
            };
            (lic::Listing { items: Vec::new(), total: 0, total_capped: false, next_cursor: None }, Some(message))
        }
    };
    let next = listing.next_cursor.as_deref().map(|c| qs(&[("status", &status), ("search", &search), ("cursor", c)]));
    Ok(ListPage {
        chrome: Chrome::app(w, "licenses", "Licenses"),
        app_id: w.app.id.clone(),
        rows: listing.items.iter().map(Row::of).collect(),
        total: listing.total,
        total_capped: listing.total_capped,
        filter_qs: qs(&[("status", &status), ("search", &search)]),
        deep: params.cursor.as_deref().is_some_and(|c| !c.trim().is_empty()),
        status: status.trim().to_ascii_uppercase(),
        search,
        statuses: LicenseStatus::ALL,
        next,
        form,
        errors,
        filter_error,
        new_keys,
    })
}

async fn list(State(state): State<AppState>, w: WebApp, Query(params): Query<ListParams>) -> WebResult<Response> {
    let p = list_page(&state, &w, &params, GenerateForm::default(), Errors::new(), Vec::new()).await?;
    let status = if p.filter_error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    page_with(status, &p)
}

/// A whole number typed in a form field, or the field's error.
fn number(field: &str, text: &str) -> Result<i64, DomainError> {
    text.trim().parse().map_err(|_| DomainError::validation(field, "must be a whole number"))
}

fn spec_of(form: &GenerateForm) -> Result<(usize, LicenseSpec), DomainError> {
    let count = rules::batch_count("count", number("count", &form.count)?, rules::ADMIN_MAX_BATCH)?;
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let spec = LicenseSpec {
        duration: rules::parse_duration("duration", &form.duration)?,
        level: number("level", &form.level)?,
        max_devices: number("maxDevices", &form.max_devices)?,
        prefix: opt(&form.prefix),
        mask: opt(&form.mask),
        note: opt(&form.note),
    };
    Ok((count, spec))
}

/// Generate keys: the list again with the new keys on top (copyable), or the form with its
/// error beside the field.
async fn generate(
    State(state): State<AppState>,
    w: WebApp,
    CsrfForm(form): CsrfForm<GenerateForm>,
) -> WebResult<Response> {
    let creator = Creator::Seller(w.seller.seller_id.clone());
    let done = match spec_of(&form) {
        Ok((count, spec)) => lic::generate(&state, &w.seller.actor(), &w.app.id, &spec, creator, count).await,
        Err(e) => Err(e.into()),
    };
    match done {
        Ok(licenses) => {
            let keys = licenses.iter().map(|l| (l.id.clone(), l.key.clone())).collect();
            let mut p =
                list_page(&state, &w, &ListParams::default(), GenerateForm::default(), Errors::new(), keys).await?;
            let n = licenses.len();
            p.chrome.flash = Some(format!("{n} license{} generated.", if n == 1 { "" } else { "s" }));
            page(&p)
        }
        Err(e) => {
            let Some(errors) = one_error(&e) else { return Err(e.into()) };
            let p = list_page(&state, &w, &ListParams::default(), form, errors, Vec::new()).await?;
            page_with(StatusCode::BAD_REQUEST, &p)
        }
    }
}

#[derive(askama::Template)]
#[template(path = "license.html")]
struct LicensePage {
    chrome: Chrome,
    app_id: String,
    l: License,
    row: Row,
    activated: String,
    level_name: String,
    creator: String,
    errors: Errors,
    reason: String,
    days: String,
    note: String,
    level: String,
    max_devices: String,
}

impl LicensePage {
    fn err(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

fn license_page(w: &WebApp, l: License, errors: Errors) -> LicensePage {
    let creator = match &l.created_by {
        Creator::Seller(id) => format!("seller {id}"),
        Creator::Reseller(id) => format!("reseller {id}"),
    };
    LicensePage {
        chrome: Chrome::app(w, "licenses", format!("License {}", l.key)),
        app_id: w.app.id.clone(),
        row: Row::of(&l),
        activated: ts_opt(&l.activated_at),
        level_name: w.app.settings.level_name(l.level),
        creator,
        errors,
        reason: String::new(),
        days: String::new(),
        note: l.note.clone().unwrap_or_default(),
        level: l.level.to_string(),
        max_devices: l.max_devices.to_string(),
        l,
    }
}

async fn show(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, license_id)): Path<(String, String)>,
) -> WebResult<Response> {
    let l = lic::get(&state, &w.app.id, &license_id).await?;
    page(&license_page(&w, l, Errors::new()))
}

fn back(w: &WebApp, license_id: &str) -> String {
    format!("/apps/{}/licenses/{license_id}", w.app.id)
}

/// The license page again with the error beside its field (400), keeping what was typed.
async fn refused(
    state: &AppState,
    w: &WebApp,
    license_id: &str,
    e: ManageError,
    keep: impl FnOnce(&mut LicensePage),
) -> WebResult<Response> {
    let Some(errors) = one_error(&e) else { return Err(e.into()) };
    let l = lic::get(state, &w.app.id, license_id).await?;
    let mut p = license_page(w, l, errors);
    keep(&mut p);
    page_with(StatusCode::BAD_REQUEST, &p)
}

#[derive(Deserialize)]
struct BanForm {
    #[serde(default)]
    reason: String,
}

async fn ban(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, license_id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<BanForm>,
) -> WebResult<Response> {
    let done = match rules::ban_reason("reason", Some(&form.reason)) {
        Ok(reason) => {
            lic::change_status(&state, &w.seller.actor(), &w.app.id, &license_id, StatusAction::Ban, reason).await
        }
        Err(e) => Err(e.into()),
    };
    match done {
        Ok(()) => Ok(redirect_with(&state, &back(&w, &license_id), "License banned.")),
        Err(e) => refused(&state, &w, &license_id, e, |p| p.reason = form.reason).await,
    }
}

async fn status_action(
    state: AppState,
    w: WebApp,
    license_id: String,
    action: StatusAction,
    notice: &str,
) -> WebResult<Response> {
    lic::change_status(&state, &w.seller.actor(), &w.app.id, &license_id, action, None).await?;
    Ok(redirect_with(&state, &back(&w, &license_id), notice))
}

async fn unban(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    status_action(state, w, id, StatusAction::Unban, "License unbanned.").await
}

async fn pause(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    status_action(state, w, id, StatusAction::Pause, "License paused.").await
}

async fn unpause(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    status_action(state, w, id, StatusAction::Unpause, "License unpaused.").await
}

async fn reset_devices(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    lic::reset_devices(&state, &w.seller.actor(), &w.app.id, &id).await?;
    Ok(redirect_with(&state, &back(&w, &id), "Devices reset."))
}

async fn delete(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> WebResult<Response> {
    lic::delete(&state, &w.seller.actor(), &w.app.id, &id).await?;
    Ok(redirect_with(&state, &format!("/apps/{}/licenses", w.app.id), "License deleted."))
}

#[derive(Deserialize)]
struct ExtendForm {
    #[serde(default)]
    days: String,
}

/// Extend by `days`: a number of days, or a duration (`12h`, `14d`).
async fn extend(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<ExtendForm>,
) -> WebResult<Response> {
    let text = form.days.trim();
    let amount = match text.parse::<i64>() {
        Ok(days) => ExtendBy::Days(days),
        Err(_) => ExtendBy::Duration(text.to_owned()),
    };
    match lic::extend(&state, &w.seller.actor(), &w.app.id, &id, amount).await {
        Ok(done) => Ok(redirect_with(&state, &back(&w, &id), &format!("License extended by {}.", done.by))),
        Err(ManageError::Domain(DomainError::Validation { message, .. })) => {
            let e = DomainError::validation("days", &message).into();
            refused(&state, &w, &id, e, |p| p.days = form.days).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    max_devices: String,
}

async fn edit(
    State(state): State<AppState>,
    w: WebApp,
    Path((_, id)): Path<(String, String)>,
    CsrfForm(form): CsrfForm<EditForm>,
) -> WebResult<Response> {
    let changes = (|| -> Result<LicenseChanges, DomainError> {
        Ok(LicenseChanges {
            note: Some(Some(form.note.trim().to_owned()).filter(|n| !n.is_empty())),
            level: Some(number("level", &form.level)?),
            max_devices: Some(number("maxDevices", &form.max_devices)?),
        })
    })();
    let done = match changes {
        Ok(c) => lic::update(&state, &w.seller.actor(), &w.app.id, &id, c).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    match done {
        Ok(()) => Ok(redirect_with(&state, &back(&w, &id), "License saved.")),
        Err(e) => {
            refused(&state, &w, &id, e, |p| {
                p.note = form.note;
                p.level = form.level;
                p.max_devices = form.max_devices;
            })
            .await
        }
    }
}

/// One CSV cell: quoted when it holds a comma, a quote or a line break (quotes doubled), and
/// a leading `=`, `+`, `-`, `@` (or tab, carriage return) neutralised with a `'` so a
/// spreadsheet does not read it as a formula.
pub fn csv_cell(v: &str) -> String {
    let guarded;
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{v}");
        guarded.as_str()
    } else {
        v
    };
    if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

const CSV_HEADER: &str =
    "key,status,level,duration,max_devices,devices,note,user_id,created_at,activated_at,expires_at,ban_reason\r\n";

fn csv_row(out: &mut String, l: &License) {
    let rfc = |t: &Option<Timestamp>| t.as_ref().map(tollgate_core::time::rfc3339).unwrap_or_default();
    let cells = [
        l.key.clone(),
        l.status.as_str().to_owned(),
        l.level.to_string(),
        l.duration.to_string(),
        l.max_devices.to_string(),
        l.devices.len().to_string(),
        l.note.clone().unwrap_or_default(),
        l.user_id.clone().unwrap_or_default(),
        tollgate_core::time::rfc3339(&l.created_at),
        rfc(&l.activated_at),
        rfc(&l.expires_at),
        l.ban_reason.clone().unwrap_or_default(),
    ];
    let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// The licenses of the current filter as CSV, read [`EXPORT_CHUNK`] at a time through the
/// cursor and sent as they are read: never the whole set in memory.
async fn export_csv(State(state): State<AppState>, w: WebApp, Query(params): Query<ListParams>) -> WebResult<Response> {
    let query = ListQuery { status: params.status.as_deref(), search: params.search.as_deref(), cursor: None };
    let filter = query.filter().map_err(ManageError::from)?;
    struct Step {
        state: AppState,
        app_id: String,
        filter: LicenseFilter,
        first: bool,
        done: bool,
    }
    let start = Step { state, app_id: w.app.id.clone(), filter, first: true, done: false };
    let stream = futures::stream::unfold(start, |mut s| async move {
        if s.done {
            return None;
        }
        let mut out = String::new();
        if s.first {
            out.push_str(CSV_HEADER);
            s.first = false;
        }
        let page = PageRequest { page: 1, limit: EXPORT_CHUNK };
        match lic::list(&s.state, &s.app_id, &s.filter, page, true).await {
            Ok(listing) => {
                for l in &listing.items {
                    csv_row(&mut out, l);
                }
                match (listing.next_cursor, listing.items.last()) {
                    (Some(_), Some(last)) => s.filter.after = Some(LicenseCursor::of(last)),
                    _ => s.done = true,
                }
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(out)), s))
            }
            Err(e) => {
                tracing::error!(error = %e, "license export stopped");
                s.done = true;
                Some((Err(std::io::Error::other("license export failed")), s))
            }
        }
    });
    let name = format!("attachment; filename=\"licenses-{}.csv\"", w.app.id);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)],
        Body::from_stream(stream),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_guarded() {
        assert_eq!(csv_cell("ABC-123"), "ABC-123");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@x"), "'@x");
        assert_eq!(csv_cell("=a,b"), "\"'=a,b\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }
}
