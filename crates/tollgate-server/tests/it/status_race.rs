//! Admins racing to change one status over the admin API: bans, pauses (and, in a mixed round,
//! unbans and unpauses) of one license, one user and one device license, all sent at once.
//!
//! What "consistent" means here: the answers and the final row must be explained by SOME order
//! of the requests applied one at a time by the admin rule (`tollgate_core::status`), starting
//! from the status before the race. In that order each request gets the answer it really got
//! (200 for a change or a change of nothing; 409 CONFLICT for a refusal such as pausing a banned
//! one), and the last state is the one stored: its status, and the reason of the last ban when
//! banned. Every request was in flight at the same time, so any order is a candidate. A 200
//! whose effect is missing from every such order (a pause written over a ban that was also
//! answered 200, say) fails the test.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tollgate_core::model::{LicenseStatus, UserStatus};
use tollgate_core::status::{self, Lifecycle, StatusAction};

use crate::harness::{SellerLogin, TestServer};

/// One request of the race: the action, and the ban reason it sends.
#[derive(Clone, Debug)]
struct Request {
    action: StatusAction,
    reason: Option<String>,
}

/// What a request was answered: applied (200) or refused (409).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Answer {
    Done,
    Refused,
}

fn route(action: StatusAction) -> &'static str {
    match action {
        StatusAction::Ban => "ban",
        StatusAction::Unban => "unban",
        StatusAction::Pause => "pause",
        StatusAction::Unpause => "unpause",
    }
}

/// Whether some order of `requests` explains `answers` and ends on `end`, by depth-first search
/// over the requests not yet placed (memoised on the set placed and the state reached).
fn explained<S: Lifecycle + std::hash::Hash + std::fmt::Debug>(
    start: (S, Option<String>),
    restored: S,
    requests: &[Request],
    answers: &[Answer],
    end: &(S, Option<String>),
) -> bool {
    fn go<S: Lifecycle + std::hash::Hash>(
        placed: u64,
        state: (S, Option<String>),
        restored: S,
        requests: &[Request],
        answers: &[Answer],
        end: &(S, Option<String>),
        dead: &mut HashSet<(u64, S, Option<String>)>,
    ) -> bool {
        if placed.count_ones() as usize == requests.len() {
            return &state == end;
        }
        if dead.contains(&(placed, state.0, state.1.clone())) {
            return false;
        }
        for (i, r) in requests.iter().enumerate() {
            if placed & (1 << i) != 0 {
                continue;
            }
            let next = match (status::next(state.0, restored, r.action), answers[i]) {
                (Ok(Some(to)), Answer::Done) => {
                    let reason = if to == S::BANNED { r.reason.clone() } else { None };
                    (to, reason)
                }
                (Ok(None), Answer::Done) => state.clone(),
                (Err(_), Answer::Refused) => state.clone(),
                _ => continue,
            };
            if go(placed | (1 << i), next, restored, requests, answers, end, dead) {
                return true;
            }
        }
        dead.insert((placed, state.0, state.1));
        false
    }
    go(0, start, restored, requests, answers, end, &mut HashSet::new())
}

/// Send every request at once to `base`/{action}; the answers, in the requests' order.
async fn race(s: &TestServer, seller: &SellerLogin, base: &str, requests: &[Request]) -> Vec<Answer> {
    let sends = requests.iter().map(|r| {
        let body = match &r.reason {
            Some(reason) => json!({ "reason": reason }),
            None => json!({}),
        };
        let path = format!("{base}/{}", route(r.action));
        async move { s.post(&path, &seller.token, body).await }
    });
    futures::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| match r.status {
            StatusCode::OK => Answer::Done,
            StatusCode::CONFLICT => {
                assert_eq!(r.code(), "CONFLICT", "{}", r.body);
                Answer::Refused
            }
            other => panic!("unexpected answer {other}: {}", r.body),
        })
        .collect()
}

/// Bans (each with its own reason) and pauses, alternating.
fn bans_and_pauses(n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| {
            if i.is_multiple_of(2) {
                Request { action: StatusAction::Ban, reason: Some(format!("ban {i}")) }
            } else {
                Request { action: StatusAction::Pause, reason: None }
            }
        })
        .collect()
}

/// All four actions, in turn.
fn mixed(n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| {
            let action = StatusAction::ALL[i % 4];
            let reason = (action == StatusAction::Ban).then(|| format!("ban {i}"));
            Request { action, reason }
        })
        .collect()
}

fn stored<S: std::str::FromStr>(view: &Value) -> (S, Option<String>) {
    let status = view["status"].as_str().and_then(|s| s.parse().ok()).expect("a known status");
    (status, view["banReason"].as_str().map(str::to_owned))
}

const N: usize = 12;

#[tokio::test]
async fn racing_license_status_changes_are_explained_by_one_order() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Race").await;
    let app_id = app["id"].as_str().unwrap();
    let base = format!("/v1/admin/apps/{app_id}/licenses");
    for requests in [bans_and_pauses(N), mixed(N)] {
        let r = s.post(&base, &seller.token, json!({"count": 1, "durationType": "lifetime"})).await;
        r.assert_status(201);
        let id = r.data()[0]["id"].as_str().unwrap().to_owned();
        let lic = format!("{base}/{id}");
        let answers = race(&s, &seller, &lic, &requests).await;
        let end = stored::<LicenseStatus>(s.get(&lic, &seller.token).await.data());
        let start = (LicenseStatus::Unused, None);
        assert!(
            explained(start, LicenseStatus::Unused, &requests, &answers, &end),
            "no order explains {answers:?} ending {end:?} for {requests:?}"
        );
    }
    // The per-status totals followed every write: each license is counted once, by its status.
    let all = s.get(&format!("{base}?limit=100"), &seller.token).await;
    let mut counted = 0;
    for st in LicenseStatus::ALL {
        let listed = s.get(&format!("{base}?status={st}"), &seller.token).await;
        let want = all.data().as_array().unwrap().iter().filter(|l| l["status"] == st.as_str()).count();
        assert_eq!(listed.body["pagination"]["total"], want, "{st}");
        counted += want;
    }
    assert_eq!(counted, 2);
}

#[tokio::test]
async fn racing_user_status_changes_are_explained_by_one_order() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Race").await;
    let app_id = app["id"].as_str().unwrap().to_owned();
    for (n, requests) in [bans_and_pauses(N), mixed(N)].into_iter().enumerate() {
        let user = crate::harness::user_row(&app_id, &format!("racer{n}"), "not a hash: nobody signs in here".into());
        s.state.store.create_user(&user, &[]).await.unwrap();
        let path = format!("/v1/admin/apps/{app_id}/users/{}", user.id);
        let answers = race(&s, &seller, &path, &requests).await;
        let end = stored::<UserStatus>(s.get(&path, &seller.token).await.data());
        assert!(
            explained((UserStatus::Active, None), UserStatus::Active, &requests, &answers, &end),
            "no order explains {answers:?} ending {end:?} for {requests:?}"
        );
    }
}

#[tokio::test]
async fn racing_device_license_status_changes_are_explained_by_one_order() {
    let s = TestServer::start().await;
    let seller = s.seller().await;
    let app = s.create_app(&seller, "Race").await;
    let app_id = app["id"].as_str().unwrap();
    let base = format!("/v1/admin/apps/{app_id}/devices");
    for (n, requests) in [bans_and_pauses(N), mixed(N)].into_iter().enumerate() {
        let r =
            s.post(&base, &seller.token, json!({"deviceType": "processor", "deviceId": format!("CPU-RACE-{n}")})).await;
        r.assert_status(201);
        let path = format!("{base}/{}", r.data()["id"].as_str().unwrap());
        let answers = race(&s, &seller, &path, &requests).await;
        let end = stored::<LicenseStatus>(s.get(&path, &seller.token).await.data());
        assert!(
            explained((LicenseStatus::Unused, None), LicenseStatus::Unused, &requests, &answers, &end),
            "no order explains {answers:?} ending {end:?} for {requests:?}"
        );
    }
}

#[test]
fn the_checker_refuses_a_pause_written_over_an_answered_ban() {
    let requests = bans_and_pauses(2);
    let both = [Answer::Done, Answer::Done];
    let banned = (LicenseStatus::Banned, Some("ban 0".to_owned()));
    assert!(explained((LicenseStatus::Unused, None), LicenseStatus::Unused, &requests, &both, &banned));
    // The lost update the conditional write prevents: the ban answered 200, then overwritten.
    let paused = (LicenseStatus::Paused, None);
    assert!(!explained((LicenseStatus::Unused, None), LicenseStatus::Unused, &requests, &both, &paused));
    // A refused pause must come after the ban.
    let refused = [Answer::Done, Answer::Refused];
    assert!(explained((LicenseStatus::Unused, None), LicenseStatus::Unused, &requests, &refused, &banned));
    assert!(!explained((LicenseStatus::Unused, None), LicenseStatus::Unused, &requests, &refused, &paused));
}
