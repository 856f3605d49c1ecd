//! The seller's apps: the list with counts, creating one, and one app's settings page (every
//! setting on one form, its keys, pause, a new API key, delete).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tollgate_core::model::{App, AppCounts, AppStatus};
use tollgate_core::settings::{AppPatch, RawVersionControl, RawVersionRule};
use tollgate_core::DomainError;

use super::session::{redirect_with, NoFields};
use super::{page, page_with, Chrome, CsrfForm, WebApp, WebResult, WebSeller};
use crate::manage;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apps", get(list).post(create))
        .route("/apps/{appId}/settings", get(settings).post(save_settings))
        .route("/apps/{appId}/regenerate-key", get(regenerate_confirm).post(regenerate_key))
        .route("/apps/{appId}/delete", get(delete_confirm).post(delete_app))
        .route("/apps/{appId}/pause", post(pause))
        .route("/apps/{appId}/unpause", post(unpause))
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

// ---------------------------------------------------------------------------------------------
// Settings: every setting of the app on one form, plus its keys, pause, regenerate, delete.
// ---------------------------------------------------------------------------------------------

/// The settings form as typed: field name (the camelCase setting, `versionControl.x` for the
/// nested ones) → text. A checkbox is present (`on`) when ticked.
type Typed = BTreeMap<String, String>;

/// How one field of the settings form is drawn.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Number,
    Check,
    Lines,
    Status,
}

struct Field {
    id: &'static str,
    label: &'static str,
    hint: &'static str,
    kind: Kind,
    value: String,
    checked: bool,
    error: Option<String>,
}

impl Field {
    fn is(&self, kind: &str) -> bool {
        let k = match self.kind {
            Kind::Text => "text",
            Kind::Number => "number",
            Kind::Check => "check",
            Kind::Lines => "lines",
            Kind::Status => "status",
        };
        k == kind
    }
}

/// Every field of the form, in order: (id, label, kind, hint).
const FIELDS: &[(&str, &str, Kind, &str)] = &[
    ("name", "Name", Kind::Text, ""),
    ("version", "Version", Kind::Text, "e.g. 1.3 or 2.0.1"),
    ("status", "Status", Kind::Status, ""),
    ("hashCheck", "Check the client's file hash", Kind::Check, ""),
    ("hashes", "Allowed hashes", Kind::Lines, "One SHA-256 (64 hex characters) per line."),
    ("ipWhitelist", "IP whitelist", Kind::Lines, "One address or CIDR per line; empty lets everyone in."),
    ("blockVpn", "Block VPNs and proxies", Kind::Check, ""),
    ("blockedCountries", "Blocked countries", Kind::Text, "ISO codes separated by spaces or commas, e.g. RU KP."),
    ("versionControl.enabled", "Version control", Kind::Check, ""),
    ("versionControl.autoUpdate", "Auto update", Kind::Check, ""),
    ("versionControl.forceUpdate", "Force update", Kind::Check, ""),
    ("versionControl.downloadUrl", "Download URL", Kind::Text, "Blank for none."),
    ("versionControl.changelog", "Changelog", Kind::Lines, ""),
    (
        "versionControl.rules",
        "Version rules",
        Kind::Lines,
        "One rule per line: version | ALLOW, REMIND or GRACE | deadline (RFC 3339, GRACE needs one) | message",
    ),
    ("sessionQuota", "Session quota", Kind::Number, "Live sessions at once; blank for no limit."),
    ("accountsQuota", "Accounts quota", Kind::Number, "Accounts in the app; blank for no limit."),
    ("hwidLock", "Lock users to their first device", Kind::Check, ""),
    ("allowPasswordChange", "Let users change their password", Kind::Check, ""),
    ("accountsRequireLicense", "Accounts need a license", Kind::Check, ""),
    ("licenseFileTtl", "License file lifetime (seconds)", Kind::Number, "3600 (an hour) to 31536000 (a year)."),
    ("levelNames", "Level names", Kind::Lines, "One level=Name per line, e.g. 1=Basic."),
    ("resellerPrices", "Reseller prices", Kind::Lines, "One duration=credits per line, e.g. 30d=5; unlisted costs 1."),
];

fn on(b: bool) -> Option<String> {
    b.then(|| "on".to_owned())
}

/// The form filled in from the app as stored.
fn typed_of(app: &App) -> Typed {
    let s = &app.settings;
    let vc = &s.version_control;
    let rules: Vec<String> = vc
        .rules
        .iter()
        .map(|r| {
            let mode =
                serde_json::to_value(r.mode).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
            let until = r.allowed_until.as_ref().map(tollgate_core::time::rfc3339).unwrap_or_default();
            let message = r.message.clone().unwrap_or_default();
            format!("{} | {mode} | {until} | {message}", r.version).trim_end_matches([' ', '|']).to_owned()
        })
        .collect();
    let pairs: Vec<(&str, Option<String>)> = vec![
        ("name", Some(app.name.clone())),
        ("version", Some(app.version.clone())),
        ("status", Some(app.status.as_str().to_owned())),
        ("hashCheck", on(s.hash_check)),
        ("hashes", Some(s.hashes.join("\n"))),
        ("ipWhitelist", Some(s.ip_whitelist.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))),
        ("blockVpn", on(s.block_vpn)),
        ("blockedCountries", Some(s.blocked_countries.join(" "))),
        ("versionControl.enabled", on(vc.enabled)),
        ("versionControl.autoUpdate", on(vc.auto_update)),
        ("versionControl.forceUpdate", on(vc.force_update)),
        ("versionControl.downloadUrl", vc.download_url.clone()),
        ("versionControl.changelog", vc.changelog.clone()),
        ("versionControl.rules", Some(rules.join("\n"))),
        ("sessionQuota", s.session_quota.map(|q| q.to_string())),
        ("accountsQuota", s.accounts_quota.map(|q| q.to_string())),
        ("hwidLock", on(s.hwid_lock)),
        ("allowPasswordChange", on(s.allow_password_change)),
        ("accountsRequireLicense", on(s.accounts_require_license)),
        ("licenseFileTtl", Some(s.license_file_ttl.to_string())),
        ("levelNames", Some(s.level_names.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n"))),
        (
            "resellerPrices",
            Some(s.reseller_prices.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")),
        ),
    ];
    pairs.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))).collect()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// `key=value` lines as a map; a line without `=` is the field's error.
fn pairs(field: &str, text: &str) -> Result<Vec<(String, String)>, DomainError> {
    lines(text)
        .into_iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => Ok((k.trim().to_owned(), v.trim().to_owned())),
            None => Err(DomainError::validation(field, format!("`{l}`: each line is key=value"))),
        })
        .collect()
}

fn quota(field: &str, text: Option<&String>) -> Result<Option<u32>, DomainError> {
    match text.map(|t| t.trim()).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| DomainError::validation(field, "must be a whole number, or blank")),
    }
}

/// The typed form as an [`AppPatch`]: only shaping (lines, checkboxes, numbers); every rule is
/// the core's, applied by `manage::apps::update`.
fn patch_of(t: &Typed) -> Result<AppPatch, DomainError> {
    let get = |k: &str| t.get(k).cloned().unwrap_or_default();
    let check = |k: &str| Some(t.contains_key(k));
    let opt_text = |k: &str| Some(Some(get(k).trim().to_owned()).filter(|v| !v.is_empty()));
    let rules = lines(&get("versionControl.rules"))
        .into_iter()
        .map(|l| {
            let mut parts = l.splitn(4, '|').map(|p| p.trim().to_owned());
            let version = parts.next().unwrap_or_default();
            let mode = parts.next().unwrap_or_default();
            let allowed_until = parts.next().filter(|p| !p.is_empty());
            let message = parts.next().filter(|p| !p.is_empty());
            RawVersionRule { version, mode, message, allowed_until }
        })
        .collect();
    let level_names = pairs("levelNames", &get("levelNames"))?.into_iter().collect();
    let reseller_prices = pairs("resellerPrices", &get("resellerPrices"))?
        .into_iter()
        .map(|(k, v)| {
            v.parse::<i64>().map(|p| (k.clone(), p)).map_err(|_| {
                DomainError::validation("resellerPrices", format!("`{k}`: the price must be a whole number"))
            })
        })
        .collect::<Result<_, _>>()?;
    let ttl = get("licenseFileTtl");
    let ttl = ttl
        .trim()
        .parse::<i64>()
        .map_err(|_| DomainError::validation("licenseFileTtl", "must be a whole number of seconds"))?;
    Ok(AppPatch {
        name: Some(get("name")),
        version: Some(get("version")),
        status: Some(get("status")),
        hash_check: check("hashCheck"),
        hashes: Some(lines(&get("hashes"))),
        ip_whitelist: Some(lines(&get("ipWhitelist"))),
        block_vpn: check("blockVpn"),
        blocked_countries: Some(
            get("blockedCountries")
                .split([' ', ',', '\n', '\r', '\t'])
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        version_control: Some(RawVersionControl {
            enabled: check("versionControl.enabled"),
            auto_update: check("versionControl.autoUpdate"),
            download_url: opt_text("versionControl.downloadUrl"),
            force_update: check("versionControl.forceUpdate"),
            changelog: Some(Some(get("versionControl.changelog")).filter(|v| !v.trim().is_empty())),
            rules: Some(rules),
        }),
        session_quota: Some(quota("sessionQuota", t.get("sessionQuota"))?),
        accounts_quota: Some(quota("accountsQuota", t.get("accountsQuota"))?),
        hwid_lock: check("hwidLock"),
        allow_password_change: check("allowPasswordChange"),
        accounts_require_license: check("accountsRequireLicense"),
        license_file_ttl: Some(ttl),
        level_names: Some(level_names),
        reseller_prices: Some(reseller_prices),
    })
}

/// The form field an error belongs to: `versionControl.rules[2].mode` is the rules box (the
/// message names the line), `resellerPrices.30d` the prices box.
fn error_field(field: &str, message: &str) -> (String, String) {
    if let Some(rest) = field.strip_prefix("versionControl.rules[") {
        let (index, what) = rest.split_once(']').unwrap_or((rest, ""));
        let line = index.parse::<usize>().map(|i| i + 1).unwrap_or(0);
        let what = what.trim_start_matches('.');
        return ("versionControl.rules".to_owned(), format!("line {line}: {what} {message}"));
    }
    if let Some(key) = field.strip_prefix("resellerPrices.") {
        return ("resellerPrices".to_owned(), format!("`{key}`: {message}"));
    }
    (field.to_owned(), message.to_owned())
}

#[derive(askama::Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    app: App,
    fields: Vec<Field>,
    statuses: &'static [AppStatus],
    public_key_pem: String,
    kid: String,
    error: Option<String>,
}

fn settings_page(state: &AppState, w: &WebApp, typed: &Typed, error: Option<(String, String)>) -> SettingsPage {
    let fields = FIELDS
        .iter()
        .map(|(id, label, kind, hint)| Field {
            id,
            label,
            hint,
            kind: *kind,
            value: typed.get(*id).cloned().unwrap_or_default(),
            checked: typed.contains_key(*id),
            error: error.as_ref().filter(|(f, _)| f == id).map(|(_, m)| m.clone()),
        })
        .collect::<Vec<_>>();
    // An error naming no field of the form is shown above it.
    let orphan = error.filter(|(f, _)| !FIELDS.iter().any(|(id, ..)| id == f)).map(|(f, m)| format!("{f}: {m}"));
    let signer = state.signer.get();
    SettingsPage {
        chrome: Chrome::app(w, "settings", "Settings"),
        app: w.app.clone(),
        fields,
        statuses: AppStatus::ALL,
        public_key_pem: signer.public_key_pem().to_owned(),
        kid: signer.kid().to_owned(),
        error: orphan,
    }
}

async fn settings(State(state): State<AppState>, w: WebApp) -> WebResult<Response> {
    let typed = typed_of(&w.app);
    page(&settings_page(&state, &w, &typed, None))
}

async fn save_settings(
    State(state): State<AppState>,
    w: WebApp,
    CsrfForm(typed): CsrfForm<Typed>,
) -> WebResult<Response> {
    let done = match patch_of(&typed) {
        Ok(patch) => manage::apps::update(&state, &w.seller.actor(), &w.app, patch).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    let e = match done {
        Ok(()) => return Ok(redirect_with(&state, &format!("/apps/{}/settings", w.app.id), "Settings saved.")),
        Err(e) => e,
    };
    let error = match super::field_error(&e) {
        Some((f, m)) => error_field(&f, &m),
        None => match e {
            manage::ManageError::Store(tollgate_store::StoreError::Conflict { .. }) => {
                ("name".to_owned(), "is used by another of your apps".to_owned())
            }
            other => return Err(other.into()),
        },
    };
    page_with(StatusCode::BAD_REQUEST, &settings_page(&state, &w, &typed, Some(error)))
}

#[derive(askama::Template)]
#[template(path = "app_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    app: App,
    /// `regenerate` or `delete`.
    what: &'static str,
    typed: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    name: String,
}

/// A new API key. The settings page's button carries `confirm=yes` behind a `data-confirm`
/// dialog; a post without it (no script) gets the confirmation page first.
async fn regenerate_key(
    State(state): State<AppState>,
    w: WebApp,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> WebResult<Response> {
    if form.confirm != "yes" {
        return regenerate_confirm(State(state), w).await;
    }
    manage::apps::regenerate_key(&state, &w.seller.actor(), &w.app).await?;
    Ok(redirect_with(
        &state,
        &format!("/apps/{}/settings", w.app.id),
        "New API key issued: the old one no longer works.",
    ))
}

async fn regenerate_confirm(State(_state): State<AppState>, w: WebApp) -> WebResult<Response> {
    let chrome = Chrome::app(&w, "settings", "Regenerate the API key");
    page(&ConfirmPage { chrome, app: w.app.clone(), what: "regenerate", typed: String::new(), error: None })
}

async fn delete_confirm(w: WebApp) -> WebResult<Response> {
    let chrome = Chrome::app(&w, "settings", "Delete the app");
    page(&ConfirmPage { chrome, app: w.app.clone(), what: "delete", typed: String::new(), error: None })
}

/// Delete the app once its name is typed exactly.
async fn delete_app(
    State(state): State<AppState>,
    w: WebApp,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> WebResult<Response> {
    if form.name.trim() != w.app.name {
        let chrome = Chrome::app(&w, "settings", "Delete the app");
        let error = Some("Type the app's name exactly to delete it.".to_owned());
        let p = ConfirmPage { chrome, app: w.app.clone(), what: "delete", typed: form.name, error };
        return page_with(StatusCode::BAD_REQUEST, &p);
    }
    manage::apps::delete(&state, &w.seller.actor(), &w.seller.seller_id, &w.app.id).await?;
    Ok(redirect_with(&state, "/apps", &format!("App {} deleted.", w.app.name)))
}

async fn set_status(state: &AppState, w: &WebApp, status: AppStatus, notice: &str) -> WebResult<Response> {
    let patch = AppPatch { status: Some(status.as_str().to_owned()), ..AppPatch::default() };
    manage::apps::update(state, &w.seller.actor(), &w.app, patch).await?;
    Ok(redirect_with(state, &format!("/apps/{}/settings", w.app.id), notice))
}

async fn pause(State(state): State<AppState>, w: WebApp, CsrfForm(_): CsrfForm<NoFields>) -> WebResult<Response> {
    set_status(&state, &w, AppStatus::Paused, "App paused.").await
}

async fn unpause(State(state): State<AppState>, w: WebApp, CsrfForm(_): CsrfForm<NoFields>) -> WebResult<Response> {
    set_status(&state, &w, AppStatus::Active, "App active again.").await
}
