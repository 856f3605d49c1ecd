//! Webhook events: what happened in an app, when, and the data each kind carries.
//!
//! The client and admin use cases build an [`Event`] for what they change and hand it to the store
//! with the change itself, so the store writes it to the outbox in the same transaction: a change
//! that is rolled back sends nothing, and one that is committed is never lost. The delivery worker
//! later sends the event's [`Event::body`] to every enabled webhook of the app subscribed to its
//! kind.
//!
//! This module also holds the delivery rules that do not depend on I/O: the retry schedule and
//! when a failing endpoint is disabled.

use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};

use crate::model::{FileMeta, License, Session, User};
use crate::string_enum::string_enum;
use crate::time::{rfc3339, Timestamp};

string_enum!(
    /// The kinds of event. Every kind but `webhook.test` can be subscribed to.
    EventKind {
        UserRegister => "user.register",
        UserLogin => "user.login",
        UserBan => "user.ban",
        LicenseActivate => "license.activate",
        LicenseExpire => "license.expire",
        LicenseDelete => "license.delete",
        FileDownload => "file.download",
        SessionCreate => "session.create",
        WebhookTest => "webhook.test",
    }
);

impl EventKind {
    /// Whether a webhook may list this kind in its `events` (a test ping is sent on request only).
    pub fn subscribable(self) -> bool {
        self != EventKind::WebhookTest
    }
}

/// One thing that happened in an app.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub app_id: String,
    pub kind: EventKind,
    pub at: Timestamp,
    /// The kind's own fields (documented per kind); always a JSON object.
    pub data: Value,
}

/// Where a client call came from, as far as the event cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct Origin<'a> {
    pub ip: Option<&'a str>,
    pub hwid: Option<&'a str>,
}

fn obj(data: impl Serialize) -> Value {
    serde_json::to_value(data).unwrap_or_else(|_| json!({}))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserData<'a> {
    user_id: &'a str,
    username: &'a str,
    ip: Option<&'a str>,
    hwid: Option<&'a str>,
    app_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterData<'a> {
    user_id: &'a str,
    username: &'a str,
    email: Option<&'a str>,
    level: i64,
    expires_at: Option<String>,
    license_id: Option<&'a str>,
    ip: Option<&'a str>,
    hwid: Option<&'a str>,
    app_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BanData<'a> {
    user_id: &'a str,
    username: &'a str,
    reason: Option<&'a str>,
    app_id: &'a str,
}

/// The fields every license event has.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LicenseData<'a> {
    license_id: &'a str,
    key: &'a str,
    level: i64,
    status: &'a str,
    expires_at: Option<String>,
    app_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActivateData<'a> {
    #[serde(flatten)]
    license: LicenseData<'a>,
    user_id: Option<&'a str>,
    username: Option<&'a str>,
    ip: Option<&'a str>,
    hwid: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeleteData<'a> {
    #[serde(flatten)]
    license: LicenseData<'a>,
    user_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileData<'a> {
    file_id: &'a str,
    name: &'a str,
    size: i64,
    user_id: Option<&'a str>,
    username: Option<&'a str>,
    license_id: Option<&'a str>,
    ip: Option<&'a str>,
    app_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionData<'a> {
    session_id: &'a str,
    ip: Option<&'a str>,
    hwid: Option<&'a str>,
    expires_at: String,
    app_id: &'a str,
}

fn license_data<'a>(license: &'a License, status: &'a str) -> LicenseData<'a> {
    LicenseData {
        license_id: &license.id,
        key: &license.key,
        level: license.level,
        status,
        expires_at: license.expires_at.as_ref().map(rfc3339),
        app_id: &license.app_id,
    }
}

impl Event {
    pub fn new(app_id: &str, kind: EventKind, at: Timestamp, data: Value) -> Event {
        Event { app_id: app_id.to_owned(), kind, at, data }
    }

    /// The standard body every webhook of the `standard` format receives:
    /// `{"event": "<kind>", "timestamp": "<RFC 3339>", "data": {...}}`.
    pub fn body(&self) -> String {
        json!({ "event": self.kind.as_str(), "timestamp": rfc3339(&self.at), "data": self.data }).to_string()
    }

    /// `user.register`: an account was created (by a client, with or without a key, or by the
    /// seller). `license` is the key redeemed for it, if any.
    pub fn user_register(user: &User, license: Option<&License>, origin: Origin<'_>, at: Timestamp) -> Event {
        let data = RegisterData {
            user_id: &user.id,
            username: &user.username,
            email: user.email.as_deref(),
            level: user.level,
            expires_at: user.expires_at.as_ref().map(rfc3339),
            license_id: license.map(|l| l.id.as_str()),
            ip: origin.ip,
            hwid: origin.hwid,
            app_id: &user.app_id,
        };
        Event::new(&user.app_id, EventKind::UserRegister, at, obj(data))
    }

    /// `user.login`: `{userId, username, ip, hwid, appId}`.
    pub fn user_login(user: &User, origin: Origin<'_>, at: Timestamp) -> Event {
        let data = UserData {
            user_id: &user.id,
            username: &user.username,
            ip: origin.ip,
            hwid: origin.hwid,
            app_id: &user.app_id,
        };
        Event::new(&user.app_id, EventKind::UserLogin, at, obj(data))
    }

    /// `user.ban`: the seller (or the client program itself) banned the user.
    pub fn user_ban(user: &User, reason: Option<&str>, at: Timestamp) -> Event {
        let data = BanData { user_id: &user.id, username: &user.username, reason, app_id: &user.app_id };
        Event::new(&user.app_id, EventKind::UserBan, at, obj(data))
    }

    /// `license.activate`: a key was used for the first time, by key login or redeemed onto the
    /// account `user`. `license` is the key as it was before; `expires_at` the expiry it got.
    pub fn license_activate(
        license: &License,
        expires_at: Option<Timestamp>,
        user: Option<&User>,
        origin: Origin<'_>,
        at: Timestamp,
    ) -> Event {
        let data = ActivateData {
            license: LicenseData { expires_at: expires_at.as_ref().map(rfc3339), ..license_data(license, "USED") },
            user_id: user.map(|u| u.id.as_str()),
            username: user.map(|u| u.username.as_str()),
            ip: origin.ip,
            hwid: origin.hwid,
        };
        Event::new(&license.app_id, EventKind::LicenseActivate, at, obj(data))
    }

    /// `license.expire`: a client used a key whose time had run out (noticed at that use, once).
    pub fn license_expire(license: &License, at: Timestamp) -> Event {
        Event::new(&license.app_id, EventKind::LicenseExpire, at, obj(license_data(license, "EXPIRED")))
    }

    /// `license.delete`: the seller deleted the key; `license` is the key as it was.
    pub fn license_delete(license: &License, at: Timestamp) -> Event {
        let data =
            DeleteData { license: license_data(license, license.status.as_str()), user_id: license.user_id.as_deref() };
        Event::new(&license.app_id, EventKind::LicenseDelete, at, obj(data))
    }

    /// `file.download`: a client session started downloading a file.
    pub fn file_download(
        file: &FileMeta,
        user: Option<&User>,
        license_id: Option<&str>,
        ip: Option<&str>,
        at: Timestamp,
    ) -> Event {
        let data = FileData {
            file_id: &file.id,
            name: &file.name,
            size: file.size,
            user_id: user.map(|u| u.id.as_str()),
            username: user.map(|u| u.username.as_str()),
            license_id,
            ip,
            app_id: &file.app_id,
        };
        Event::new(&file.app_id, EventKind::FileDownload, at, obj(data))
    }

    /// `session.create`: a client program opened a session (its id, never its token).
    pub fn session_create(session: &Session, at: Timestamp) -> Event {
        let data = SessionData {
            session_id: &session.id,
            ip: session.ip.as_deref(),
            hwid: session.hwid.as_deref(),
            expires_at: rfc3339(&session.expires_at),
            app_id: &session.app_id,
        };
        Event::new(&session.app_id, EventKind::SessionCreate, at, obj(data))
    }

    /// `webhook.test`: the seller's test ping.
    pub fn webhook_test(app_id: &str, webhook_id: &str, at: Timestamp) -> Event {
        let data = json!({ "webhookId": webhook_id, "appId": app_id, "message": "Test event from Tollgate" });
        Event::new(app_id, EventKind::WebhookTest, at, data)
    }
}

/// The waits between attempts after a failure: the first retry comes `schedule[0]` after the
/// first attempt, and so on; when the schedule is used up the delivery has failed for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl Default for RetrySchedule {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about a day and a bit.
    fn default() -> Self {
        let m = 60;
        let h = 3600;
        RetrySchedule([5, 5 * m, 30 * m, 2 * h, 5 * h, 10 * h, 10 * h].map(Duration::from_secs).to_vec())
    }
}

impl RetrySchedule {
    /// `5s,5m,30m,2h,5h,10h,10h`: waits with a unit each (`ms`, `s`, `m`, `h`, `d`), at most 50.
    /// An empty text means no retries.
    pub fn parse(text: &str) -> Result<RetrySchedule, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(RetrySchedule(Vec::new()));
        }
        let waits = text.split(',').map(|s| parse_span(s.trim())).collect::<Result<Vec<_>, _>>()?;
        if waits.len() > 50 {
            return Err("at most 50 retries".to_owned());
        }
        Ok(RetrySchedule(waits))
    }

    /// The wait before the next attempt after `failed` attempts in a row have failed (1 after
    /// the first); `None` when no attempt is left.
    pub fn after_failures(&self, failed: u32) -> Option<Duration> {
        let i = usize::try_from(failed).ok()?.checked_sub(1)?;
        self.0.get(i).copied()
    }

    /// How many attempts a delivery gets at most.
    pub fn max_attempts(&self) -> usize {
        self.0.len() + 1
    }
}

/// A span with a unit: `500ms`, `5s`, `5m`, `2h`, `5d`; a whole number, greater than zero.
pub fn parse_span(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration like 5s, 5m, 2h or 5d");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => return if n > 0 { Ok(Duration::from_millis(n)) } else { Err(bad()) },
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    if n == 0 || n > 365 * 86_400 / secs {
        return Err(bad());
    }
    Ok(Duration::from_secs(n * secs))
}

/// Whether an endpoint failing since `since` has failed long enough (`disable_after`) at `now`
/// to be disabled.
pub fn should_disable(since: Timestamp, now: Timestamp, disable_after: Duration) -> bool {
    let limit = chrono::Duration::from_std(disable_after).unwrap_or(chrono::Duration::MAX);
    now.signed_duration_since(since) >= limit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_is_the_documented_one() {
        assert_eq!(RetrySchedule::default(), RetrySchedule::parse("5s,5m,30m,2h,5h,10h,10h").unwrap());
        let s = RetrySchedule::default();
        assert_eq!(s.max_attempts(), 8);
        assert_eq!(s.after_failures(1), Some(Duration::from_secs(5)));
        assert_eq!(s.after_failures(7), Some(Duration::from_secs(36_000)));
        assert_eq!(s.after_failures(8), None);
        assert_eq!(s.after_failures(0), None);
    }

    #[test]
    fn schedules_parse_strictly() {
        assert_eq!(RetrySchedule::parse("1s, 2s").unwrap().0, vec![Duration::from_secs(1), Duration::from_secs(2)]);
        assert_eq!(RetrySchedule::parse("250ms").unwrap().0, vec![Duration::from_millis(250)]);
        assert_eq!(RetrySchedule::parse("").unwrap().max_attempts(), 1);
        for bad in ["5", "s", "0s", "5x", "-5s", "1s,,2s", "5 s", "999999d"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
        assert!(RetrySchedule::parse(&vec!["1s"; 51].join(",")).is_err());
    }

    #[test]
    fn disabling_waits_for_the_whole_span() {
        let t0 = crate::time::from_millis(1_000_000);
        let five_days = Duration::from_secs(5 * 86_400);
        assert!(!should_disable(t0, t0 + chrono::Duration::days(5) - chrono::Duration::milliseconds(1), five_days));
        assert!(should_disable(t0, t0 + chrono::Duration::days(5), five_days));
    }

    #[test]
    fn kinds_and_the_subscribable_list_agree() {
        for k in EventKind::ALL {
            assert_eq!(k.subscribable(), crate::model::WEBHOOK_EVENTS.contains(&k.as_str()), "{k}");
        }
    }

    fn keys(e: &Event) -> Vec<&str> {
        let mut k: Vec<&str> = e.data.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn each_kind_carries_its_documented_fields_and_nothing_secret() {
        use crate::model::{Creator, LicenseStatus, UserStatus};
        let at = crate::time::from_millis(1_700_000_000_000);
        let user = User {
            note: None,
            id: "usr_1".into(),
            app_id: "app_1".into(),
            username: "alice".into(),
            password_hash: "$argon2id$v=19$secret-hash".into(),
            email: None,
            level: 2,
            expires_at: None,
            devices: vec![],
            max_devices: 1,
            last_ip: None,
            status: UserStatus::Active,
            ban_reason: None,
            last_login: None,
            created_at: at,
        };
        let license = License {
            id: "lic_1".into(),
            app_id: "app_1".into(),
            key: "K-1".into(),
            status: LicenseStatus::Unused,
            level: 2,
            duration: crate::DurationType::Days(30),
            max_devices: 1,
            note: None,
            prefix: None,
            created_by: Creator::Seller("sel_1".into()),
            created_at: at,
            activated_at: None,
            expires_at: None,
            user_id: None,
            devices: vec![],
            ban_reason: None,
        };
        let session = Session {
            id: "ses_1".into(),
            app_id: "app_1".into(),
            token: "the-bearer-token".into(),
            user_id: None,
            license_id: None,
            ip: Some("10.0.0.1".into()),
            hwid: None,
            client_id: None,
            created_at: at,
            expires_at: at,
            last_seen: at,
        };
        let file = FileMeta {
            last_transferred_at: None,
            transfer_count: 0,
            id: "fil_1".into(),
            app_id: "app_1".into(),
            name: "a.bin".into(),
            size: 3,
            min_level: 1,
            sha256: String::new(),
            created_at: at,
        };
        let origin = Origin { ip: Some("10.0.0.1"), hwid: Some("HW") };
        let login = Event::user_login(&user, origin, at);
        assert_eq!(
            login.data,
            json!({ "userId": "usr_1", "username": "alice", "ip": "10.0.0.1", "hwid": "HW", "appId": "app_1" })
        );
        let cases = [
            (
                Event::user_register(&user, Some(&license), origin, at),
                vec!["appId", "email", "expiresAt", "hwid", "ip", "level", "licenseId", "userId", "username"],
            ),
            (Event::user_ban(&user, Some("r"), at), vec!["appId", "reason", "userId", "username"]),
            (
                Event::license_activate(&license, Some(at), None, origin, at),
                vec!["appId", "expiresAt", "hwid", "ip", "key", "level", "licenseId", "status", "userId", "username"],
            ),
            (Event::license_expire(&license, at), vec!["appId", "expiresAt", "key", "level", "licenseId", "status"]),
            (
                Event::license_delete(&license, at),
                vec!["appId", "expiresAt", "key", "level", "licenseId", "status", "userId"],
            ),
            (
                Event::file_download(&file, Some(&user), None, Some("10.0.0.1"), at),
                vec!["appId", "fileId", "ip", "licenseId", "name", "size", "userId", "username"],
            ),
            (Event::session_create(&session, at), vec!["appId", "expiresAt", "hwid", "ip", "sessionId"]),
        ];
        for (event, want) in &cases {
            assert_eq!(keys(event), *want, "{}", event.kind);
            let body = event.body();
            assert!(!body.contains("argon2") && !body.contains("the-bearer-token"), "{body}");
        }
        assert_eq!(cases[2].0.data["status"], "USED");
        assert_eq!(cases[3].0.data["status"], "EXPIRED");
        assert_eq!(cases[4].0.data["status"], "UNUSED");
    }

    #[test]
    fn body_is_event_timestamp_data() {
        let at = crate::time::from_millis(1_700_000_000_123);
        let e = Event::webhook_test("app_1", "wh_1", at);
        let v: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(v["event"], "webhook.test");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["data"]["webhookId"], "wh_1");
    }
}
