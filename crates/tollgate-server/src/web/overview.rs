//! Dashboard pages: an app's overview (live sessions, users, licenses by status, activity and
//! refused calls over 24 hours and 30 days as SVG charts, the latest refused calls).

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use tollgate_store::RefusedCall;

use super::chart::{self, Bar, Chart};
use super::{page, Chrome, WebApp, WebResult};
use crate::manage::overview::{Series, OK_KINDS};
use crate::manage::{self};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/apps/{appId}", get(overview))
}

/// A chart ready for the template: its SVG and legend markup (escaped by the renderer).
struct Drawn {
    svg: String,
    legend: String,
}

#[derive(askama::Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    app_id: String,
    live_sessions: u64,
    users: u64,
    licenses: Vec<(&'static str, u64)>,
    activity_24h: Drawn,
    activity_30d: Drawn,
    refused_24h: Drawn,
    refused_30d: Drawn,
    refused_totals_24h: Vec<(String, u64)>,
    refused_totals_30d: Vec<(String, u64)>,
    recent_refused: Vec<RefusedRow>,
}

struct RefusedRow {
    at: String,
    dialect: String,
    reason: String,
    ip: String,
}

impl RefusedRow {
    fn of(c: &RefusedCall) -> RefusedRow {
        RefusedRow {
            at: c.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            dialect: c.dialect.clone(),
            reason: c.reason.clone(),
            ip: c.ip.clone(),
        }
    }
}

/// Hourly bars are labelled by their hour, daily ones by their date (UTC).
#[derive(Clone, Copy)]
enum Width {
    Hour,
    Day,
}

fn draw(id: &str, label: &str, series: &Series, keys: &[String], width: Width) -> Drawn {
    let bars = series
        .buckets
        .iter()
        .map(|b| {
            let (label, title) = match width {
                Width::Hour => (b.start.format("%H").to_string(), b.start.format("%Y-%m-%d %H:00 UTC").to_string()),
                Width::Day => (b.start.format("%m-%d").to_string(), b.start.format("%Y-%m-%d").to_string()),
            };
            let values = keys.iter().map(|k| b.counts.get(k).copied().unwrap_or(0)).collect();
            Bar { label, title, values }
        })
        .collect();
    let label_every = match width {
        Width::Hour => 3,
        Width::Day => 5,
    };
    let svg = chart::stacked_bars(&Chart { id, label, keys, bars, label_every });
    Drawn { svg, legend: chart::legend(keys) }
}

async fn overview(State(state): State<AppState>, w: WebApp) -> WebResult<Response> {
    let o = manage::overview::overview(&state, &w.app.id).await?;
    let ok_keys: Vec<String> = OK_KINDS.iter().map(|k| (*k).to_owned()).collect();
    // Refusal codes stacked in the order of their 30-day totals, so a code keeps its colour in
    // both charts.
    let refused_keys = o.refused_30d.keys();
    page(&OverviewPage {
        chrome: Chrome::app(&w, "overview", format!("{} · Overview", w.app.name)),
        app_id: w.app.id.clone(),
        live_sessions: o.live_sessions,
        users: o.users,
        licenses: o.licenses.iter().map(|(s, n)| (s.as_str(), *n)).collect(),
        activity_24h: draw(
            "chart-activity-24h",
            "Inits, logins and registrations per hour, last 24 hours",
            &o.activity_24h,
            &ok_keys,
            Width::Hour,
        ),
        activity_30d: draw(
            "chart-activity-30d",
            "Inits, logins and registrations per day, last 30 days",
            &o.activity_30d,
            &ok_keys,
            Width::Day,
        ),
        refused_24h: draw(
            "chart-refused-24h",
            "Refused client calls per hour by reason, last 24 hours",
            &o.refused_24h,
            &refused_keys,
            Width::Hour,
        ),
        refused_30d: draw(
            "chart-refused-30d",
            "Refused client calls per day by reason, last 30 days",
            &o.refused_30d,
            &refused_keys,
            Width::Day,
        ),
        refused_totals_24h: o.refused_24h.totals.clone(),
        refused_totals_30d: o.refused_30d.totals.clone(),
        recent_refused: o.recent_refused.iter().map(RefusedRow::of).collect(),
    })
}
