//! The webhook outbox: events fanned out to subscribed webhooks in the write's own transaction,
//! claimed under leases, attempts recorded, endpoint health, redelivery, listing and purging.

use serde_json::json;
use tollgate_core::events::{Event, EventKind};

use super::*;

/// A webhook of the app subscribed to `kinds`.
fn hook(app_id: &str, kinds: &[&str], enabled: bool) -> Webhook {
    Webhook { events: kinds.iter().map(|k| (*k).to_owned()).collect(), enabled, ..webhook(app_id) }
}

fn event(app_id: &str, kind: EventKind, at: Timestamp, case: &str) -> Event {
    Event::new(app_id, kind, at, json!({ "case": case }))
}

/// How many deliveries the webhook has.
async fn queued<S: Store>(s: &S, app_id: &str, hook_id: &str) -> u64 {
    s.list_deliveries(app_id, hook_id, page(1, 100)).await.unwrap().total
}

fn attempt(delivery_id: &str, number: u32, at: Timestamp, status_code: Option<u16>) -> DeliveryAttempt {
    DeliveryAttempt {
        delivery_id: delivery_id.into(),
        number,
        at,
        status_code,
        latency_ms: 12 + number,
        response: format!("answer {number} \u{e9}"),
        error: status_code.is_none().then(|| "connection refused".to_owned()),
    }
}

fn ids_of(claims: &[Claim]) -> Vec<String> {
    claims.iter().map(|c| c.delivery.id.clone()).collect()
}

async fn record<S: Store>(s: &S, d: &Delivery) -> DeliveryRecord {
    s.get_delivery(&d.app_id, &d.webhook_id, &d.id).await.unwrap().expect("delivery exists")
}

/// Wait (a few seconds at most: on PostgreSQL the notification goes through the server) for
/// `WebhooksDue` on `rx`, ignoring other invalidations.
async fn expect_due(rx: &mut tokio::sync::broadcast::Receiver<Invalidation>, what: &str) {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(Invalidation::WebhooksDue) => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("invalidation feed closed: {e}"),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("no WebhooksDue after {what}"));
}

/// Fan-out, the writes that queue events (only when they write), and a delivery's life.
pub async fn webhook_outbox<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let b = app(&owner.id);
    s.create_app(&b).await.unwrap();
    let t = now();
    // The writes' events fall long after every claim below, so those claims never see them.
    let late = t + Duration::days(365);

    // --- fan-out: enabled webhooks of the event's app subscribed to its kind, and only those.
    let all = hook(&a.id, WEBHOOK_EVENTS, true);
    let logins = hook(&a.id, &["user.login"], true);
    let off = hook(&a.id, WEBHOOK_EVENTS, false);
    let other_kind = hook(&a.id, &["file.download"], true);
    let hook_b = hook(&b.id, WEBHOOK_EVENTS, true);
    for h in [&all, &logins, &off, &other_kind, &hook_b] {
        s.create_webhook(h).await.unwrap();
    }
    assert_eq!(s.get_webhook(&a.id, &all.id).await.unwrap(), Some(all.clone()));

    let mut rx = s.subscribe();
    let login_a = event(&a.id, EventKind::UserLogin, late, "emit a");
    let login_b = event(&b.id, EventKind::UserLogin, late, "emit b");
    assert_eq!(s.emit(&[login_a.clone(), login_b.clone()]).await.unwrap(), 3);
    expect_due(&mut rx, "emit").await;
    assert_eq!(queued(s, &a.id, &all.id).await, 1);
    assert_eq!(queued(s, &a.id, &logins.id).await, 1);
    assert_eq!(queued(s, &a.id, &off.id).await, 0, "a disabled webhook gets nothing");
    assert_eq!(queued(s, &a.id, &other_kind.id).await, 0, "an unsubscribed webhook gets nothing");
    assert_eq!(queued(s, &b.id, &hook_b.id).await, 1);
    assert_eq!(queued(s, &a.id, &hook_b.id).await, 0);
    let page_a = s.list_deliveries(&a.id, &all.id, page(1, 10)).await.unwrap();
    let d = &page_a.items[0].delivery;
    assert!(d.id.starts_with("whmsg_"), "{}", d.id);
    let want = Delivery {
        id: d.id.clone(),
        webhook_id: all.id.clone(),
        app_id: a.id.clone(),
        event: "user.login".into(),
        payload: login_a.body(),
        state: DeliveryState::Pending,
        attempts: 0,
        failures: 0,
        next_attempt_at: Some(late),
        last_attempt_at: None,
        created_at: late,
    };
    assert_eq!(page_a.items, vec![DeliveryRecord { delivery: want, attempts: vec![] }]);
    let b_items = s.list_deliveries(&b.id, &hook_b.id, page(1, 10)).await.unwrap().items;
    assert_eq!(b_items[0].delivery.payload, login_b.body());
    assert_eq!(b_items[0].delivery.app_id, b.id);
    assert_eq!(s.emit(&[]).await.unwrap(), 0);
    // A test ping's kind is subscribed by no webhook.
    assert_eq!(s.emit(&[event(&a.id, EventKind::WebhookTest, late, "ping")]).await.unwrap(), 0);
    // Two events of one kind in one call: one delivery each.
    let two = [event(&a.id, EventKind::UserBan, late, "1"), event(&a.id, EventKind::UserBan, late, "2")];
    assert_eq!(s.emit(&two).await.unwrap(), 2);

    // --- the ten writes: queued when they write, nothing when they do not.
    let mut n = queued(s, &a.id, &all.id).await;
    macro_rules! step {
        ($what:expr, $grew:expr) => {{
            let got = queued(s, &a.id, &all.id).await;
            assert_eq!(got, n + u64::from($grew), "{}", $what);
            n = got;
        }};
    }
    let ev = |kind: EventKind, case: &str| vec![event(&a.id, kind, late, case)];

    // create_user
    let u = user(&a.id, "Hooked");
    let mut rx = s.subscribe();
    s.create_user(&u, &ev(EventKind::UserRegister, "create_user")).await.unwrap();
    expect_due(&mut rx, "create_user").await;
    step!("create_user", true);
    assert_conflict(
        s.create_user(&user(&a.id, "hooked"), &ev(EventKind::UserRegister, "conflict")).await,
        constraint::USER_APP_USERNAME,
    );
    step!("create_user conflict", false);

    // record_login
    assert!(s.record_login(&a.id, &u.id, Some("192.0.2.1"), t, &ev(EventKind::UserLogin, "login")).await.unwrap());
    step!("record_login", true);
    assert!(!s.record_login(&a.id, "usr_missing", None, t, &ev(EventKind::UserLogin, "missing")).await.unwrap());
    step!("record_login of a missing user", false);

    // extend_with_license
    let keys: Vec<License> =
        ["HOOK-1", "HOOK-2", "HOOK-3", "HOOK-4", "HOOK-5", "HOOK-6"].iter().map(|k| license(&a.id, k)).collect();
    s.insert_licenses(&keys).await.unwrap();
    let act = Activation { at: t, expires_at: Some(t + Duration::days(30)), device: None, session: None };
    let ext = s
        .extend_with_license(&a.id, &u.id, &keys[0].id, &act, Some(86_400_000), &ev(EventKind::LicenseActivate, "ext"))
        .await
        .unwrap();
    assert!(ext.is_some());
    step!("extend_with_license", true);
    let again = s
        .extend_with_license(&a.id, &u.id, &keys[0].id, &act, Some(1), &ev(EventKind::LicenseActivate, "ext used"))
        .await
        .unwrap();
    assert_eq!(again, None);
    step!("extend_with_license of a used key", false);

    // set_user_status
    let banned = s
        .set_user_status(
            &a.id,
            &u.id,
            UserStatus::Active,
            UserStatus::Banned,
            Some("spam"),
            &ev(EventKind::UserBan, "ban"),
        )
        .await
        .unwrap();
    assert!(banned.is_some());
    step!("set_user_status", true);
    let stale = s
        .set_user_status(&a.id, &u.id, UserStatus::Active, UserStatus::Banned, None, &ev(EventKind::UserBan, "stale"))
        .await
        .unwrap();
    assert_eq!(stale, None);
    step!("set_user_status from a stale status", false);

    // set_license_status
    let lic = &keys[1];
    let set = s
        .set_license_status(
            &a.id,
            &lic.id,
            LicenseStatus::Unused,
            LicenseStatus::Paused,
            None,
            &ev(EventKind::LicenseExpire, "pause"),
        )
        .await
        .unwrap();
    assert!(set.is_some());
    step!("set_license_status", true);
    let stale = s
        .set_license_status(
            &a.id,
            &lic.id,
            LicenseStatus::Unused,
            LicenseStatus::Banned,
            None,
            &ev(EventKind::LicenseExpire, "stale"),
        )
        .await
        .unwrap();
    assert_eq!(stale, None);
    step!("set_license_status from a stale status", false);

    // delete_license
    assert!(s.delete_license(&a.id, &lic.id, &ev(EventKind::LicenseDelete, "delete")).await.unwrap());
    step!("delete_license", true);
    assert!(!s.delete_license(&a.id, &lic.id, &ev(EventKind::LicenseDelete, "missing")).await.unwrap());
    step!("delete_license of a missing license", false);

    // activate_license
    let got = s.activate_license(&a.id, &keys[2].id, &act, &ev(EventKind::LicenseActivate, "activate")).await.unwrap();
    assert!(got.is_some());
    step!("activate_license", true);
    let got = s.activate_license(&a.id, &keys[2].id, &act, &ev(EventKind::LicenseActivate, "used")).await.unwrap();
    assert_eq!(got, None);
    step!("activate_license of a key not UNUSED", false);

    // register_with_license: only Registered queues.
    let reg = user(&a.id, "Registrant");
    let out =
        s.register_with_license(&reg, &keys[3].id, &act, None, &ev(EventKind::UserRegister, "reg")).await.unwrap();
    assert_eq!(out, RegisterOutcome::Registered);
    step!("register_with_license", true);
    let out = s
        .register_with_license(&user(&a.id, "Other"), &keys[3].id, &act, None, &ev(EventKind::UserRegister, "taken"))
        .await
        .unwrap();
    assert_eq!(out, RegisterOutcome::LicenseTaken);
    step!("register_with_license LicenseTaken", false);
    let out = s
        .register_with_license(
            &user(&a.id, "REGISTRANT"),
            &keys[4].id,
            &act,
            None,
            &ev(EventKind::UserRegister, "name"),
        )
        .await
        .unwrap();
    assert_eq!(out, RegisterOutcome::UsernameTaken);
    step!("register_with_license UsernameTaken", false);
    let users_now = s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap().total;
    let out = s
        .register_with_license(
            &user(&a.id, "Quota"),
            &keys[5].id,
            &act,
            Some(u32::try_from(users_now).unwrap()),
            &ev(EventKind::UserRegister, "quota"),
        )
        .await
        .unwrap();
    assert_eq!(out, RegisterOutcome::QuotaReached);
    step!("register_with_license QuotaReached", false);

    // create_session and create_session_capped
    let sess = session(&a.id, None, late + Duration::days(1));
    s.create_session(&sess, &ev(EventKind::SessionCreate, "session")).await.unwrap();
    step!("create_session", true);
    let capped = session(&a.id, None, late + Duration::days(1));
    assert!(s.create_session_capped(&capped, 100, t, &ev(EventKind::SessionCreate, "capped")).await.unwrap());
    step!("create_session_capped", true);
    let live = u32::try_from(s.count_live_sessions(&a.id, t).await.unwrap()).unwrap();
    let refused = session(&a.id, None, late + Duration::days(1));
    assert!(!s.create_session_capped(&refused, live, t, &ev(EventKind::SessionCreate, "quota")).await.unwrap());
    step!("create_session_capped at quota", false);
    // create_sessions: each created session queues its events; one of a gone app queues nothing.
    let mut rx = s.subscribe();
    let batch = vec![
        (session(&a.id, None, late + Duration::days(1)), ev(EventKind::SessionCreate, "batch 1")),
        (session("app_gone", None, late + Duration::days(1)), ev(EventKind::SessionCreate, "gone")),
        (session(&a.id, None, late + Duration::days(1)), ev(EventKind::SessionCreate, "batch 2")),
    ];
    assert_eq!(s.create_sessions(&batch).await.unwrap(), [true, false, true]);
    expect_due(&mut rx, "create_sessions").await;
    let got = queued(s, &a.id, &all.id).await;
    assert_eq!(got, n + 2, "create_sessions queues the events of the sessions it created");
    n = got;

    // The same writes with no event queue nothing.
    s.create_user(&user(&a.id, "Silent"), &[]).await.unwrap();
    s.create_session(&session(&a.id, None, late), &[]).await.unwrap();
    assert_eq!(queued(s, &a.id, &all.id).await, n, "writes without events queue nothing");

    delivery_life(s, &owner, t).await;
}

/// Claims, leases, attempts, health, redelivery, listing, purging, deletion.
async fn delivery_life<S: Store>(s: &S, owner: &Seller, t: Timestamp) {
    let c = app(&owner.id);
    s.create_app(&c).await.unwrap();
    let hc = hook(&c.id, &["user.login"], true);
    let other = hook(&c.id, &["user.ban"], true);
    s.create_webhook(&hc).await.unwrap();
    s.create_webhook(&other).await.unwrap();
    let ms = Duration::milliseconds;
    let min = Duration::minutes;
    let events: Vec<Event> =
        (0..3).map(|i| event(&c.id, EventKind::UserLogin, t + ms(i), &format!("life {i}"))).collect();
    assert_eq!(s.emit(&events).await.unwrap(), 3);
    let mut ds: Vec<Delivery> =
        s.list_deliveries(&c.id, &hc.id, page(1, 10)).await.unwrap().items.into_iter().map(|r| r.delivery).collect();
    ds.sort_by_key(|d| d.next_attempt_at);
    let (d1, d2, d3) = (ds[0].clone(), ds[1].clone(), ds[2].clone());

    // Not due yet, then the oldest due first, `limit` at most, with their webhook.
    assert!(s.claim_deliveries(t - ms(1), "L0", t + min(1), 10).await.unwrap().is_empty());
    let first = s.claim_deliveries(t + ms(2), "L1", t + min(1), 2).await.unwrap();
    assert_eq!(ids_of(&first), vec![d1.id.clone(), d2.id.clone()]);
    assert_eq!(first[0].delivery, d1);
    assert_eq!(first[0].webhook, hc);
    // Held ones are not taken again while their lease runs.
    let second = s.claim_deliveries(t + ms(2), "L2", t + min(1), 10).await.unwrap();
    assert_eq!(ids_of(&second), vec![d3.id.clone()]);
    assert!(s.claim_deliveries(t + Duration::seconds(30), "L3", t + min(1), 10).await.unwrap().is_empty());
    // A lease that ran out: claimable again, under the new lease.
    let again = s.claim_deliveries(t + min(1), "L4", t + min(2), 10).await.unwrap();
    assert_eq!(ids_of(&again), vec![d1.id.clone(), d2.id.clone(), d3.id.clone()]);

    // The old lease cannot report: nothing written.
    let at1 = t + min(1) + ms(5);
    let a1 = attempt(&d1.id, 1, at1, Some(500));
    assert!(!s.finish_attempt("L1", &a1, AttemptOutcome::Delivered, EndpointHealth::Healthy).await.unwrap());
    assert_eq!(record(s, &d1).await, DeliveryRecord { delivery: d1.clone(), attempts: vec![] });

    // Delivered.
    let a1 = attempt(&d1.id, 1, at1, Some(204));
    assert!(s.finish_attempt("L4", &a1, AttemptOutcome::Delivered, EndpointHealth::Healthy).await.unwrap());
    let done = Delivery {
        state: DeliveryState::Delivered,
        attempts: 1,
        next_attempt_at: None,
        last_attempt_at: Some(at1),
        ..d1.clone()
    };
    assert_eq!(record(s, &d1).await, DeliveryRecord { delivery: done.clone(), attempts: vec![a1.clone()] });

    // Retry: pending again, due at `at`, one failure; the endpoint is failing since this attempt.
    let at2 = at1 + ms(10);
    let a2 = attempt(&d2.id, 1, at2, None);
    let retry_at = t + min(10);
    let out = AttemptOutcome::Retry { at: retry_at };
    assert!(s.finish_attempt("L4", &a2, out, EndpointHealth::Failing).await.unwrap());
    let r2 = record(s, &d2).await;
    let waiting = Delivery {
        attempts: 1,
        failures: 1,
        next_attempt_at: Some(retry_at),
        last_attempt_at: Some(at2),
        ..d2.clone()
    };
    assert_eq!(r2, DeliveryRecord { delivery: waiting, attempts: vec![a2.clone()] });
    assert_eq!(s.get_webhook(&c.id, &hc.id).await.unwrap().unwrap().failing_since, Some(at2));

    // Failed for good; the endpoint keeps failing since the first failure.
    let at3 = at2 + ms(10);
    let a3 = attempt(&d3.id, 1, at3, Some(410));
    assert!(s.finish_attempt("L4", &a3, AttemptOutcome::Failed, EndpointHealth::Failing).await.unwrap());
    let failed = record(s, &d3).await.delivery;
    assert_eq!(
        (failed.state, failed.failures, failed.attempts, failed.next_attempt_at),
        (DeliveryState::Failed, 1, 1, None)
    );
    assert_eq!(s.get_webhook(&c.id, &hc.id).await.unwrap().unwrap().failing_since, Some(at2));
    // The lease is released with the report: a second report is refused.
    let a3b = attempt(&d3.id, 2, at3, Some(200));
    assert!(!s.finish_attempt("L4", &a3b, AttemptOutcome::Delivered, EndpointHealth::Healthy).await.unwrap());

    // Not due before its retry time; due after it. Delivered and failed ones never again.
    assert!(s.claim_deliveries(t + min(5), "L5", t + min(6), 10).await.unwrap().is_empty());
    let retried = s.claim_deliveries(retry_at, "L6", retry_at + min(1), 10).await.unwrap();
    assert_eq!(ids_of(&retried), vec![d2.id.clone()]);
    let a2b = attempt(&d2.id, 2, retry_at + ms(1), Some(200));
    assert!(s.finish_attempt("L6", &a2b, AttemptOutcome::Delivered, EndpointHealth::Healthy).await.unwrap());
    let r2 = record(s, &d2).await;
    assert_eq!((r2.delivery.state, r2.delivery.attempts, r2.delivery.failures), (DeliveryState::Delivered, 2, 0));
    assert_eq!(r2.attempts, vec![a2.clone(), a2b.clone()]);
    let healed = s.get_webhook(&c.id, &hc.id).await.unwrap().unwrap();
    assert_eq!(healed.failing_since, None);
    assert!(s.claim_deliveries(t + Duration::days(30), "L7", t + Duration::days(31), 10).await.unwrap().is_empty());

    // Disable: the webhook is switched off with its reason; its pending deliveries wait.
    let t4 = t + min(20);
    assert_eq!(s.emit(&[event(&c.id, EventKind::UserLogin, t4, "d4")]).await.unwrap(), 1);
    let held = s.claim_deliveries(t4, "L8", t4 + min(1), 10).await.unwrap();
    assert_eq!(held.len(), 1);
    let d4 = held[0].delivery.clone();
    let a4 = attempt(&d4.id, 1, t4, Some(503));
    let disable = EndpointHealth::Disable { reason: "failing since yesterday: 503".into() };
    let out = AttemptOutcome::Retry { at: t4 + min(1) };
    assert!(s.finish_attempt("L8", &a4, out, disable).await.unwrap());
    let off = s.get_webhook(&c.id, &hc.id).await.unwrap().unwrap();
    assert!(!off.enabled);
    assert_eq!(off.disabled_reason.as_deref(), Some("failing since yesterday: 503"));
    assert_eq!(off.failing_since, Some(t4));
    assert!(s.claim_deliveries(t4 + min(5), "L9", t4 + min(6), 10).await.unwrap().is_empty(), "webhook disabled");
    assert_eq!(s.emit(&[event(&c.id, EventKind::UserLogin, t4, "while off")]).await.unwrap(), 0);
    // The seller enables it: reason and failure clock cleared, its deliveries claimable again.
    let on = s
        .update_webhook(&c.id, &hc.id, &WebhookPatch { enabled: Some(true), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on, Webhook { enabled: true, disabled_reason: None, failing_since: None, ..off.clone() });
    let back = s.claim_deliveries(t4 + min(5), "L10", t4 + min(6), 10).await.unwrap();
    assert_eq!(ids_of(&back), vec![d4.id.clone()]);
    let a4b = attempt(&d4.id, 2, t4 + min(5), Some(200));
    assert!(s.finish_attempt("L10", &a4b, AttemptOutcome::Delivered, EndpointHealth::Healthy).await.unwrap());
    // Unchanged leaves the webhook alone; format is written.
    let discord = s
        .update_webhook(&c.id, &hc.id, &WebhookPatch { format: Some(WebhookFormat::Discord), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(discord.format, WebhookFormat::Discord);
    assert_eq!(s.get_webhook(&c.id, &hc.id).await.unwrap(), Some(discord.clone()));

    // A test ping: inserted as given, held, never claimed, reported without touching health.
    let ping = Delivery {
        id: ids::new_id(prefix::DELIVERY),
        webhook_id: hc.id.clone(),
        app_id: c.id.clone(),
        event: "webhook.test".into(),
        payload: Event::webhook_test(&c.id, &hc.id, t).body(),
        state: DeliveryState::Pending,
        attempts: 0,
        failures: 0,
        next_attempt_at: None,
        last_attempt_at: None,
        created_at: t + min(25),
    };
    s.insert_delivery(&ping, "PING").await.unwrap();
    assert_eq!(record(s, &ping).await, DeliveryRecord { delivery: ping.clone(), attempts: vec![] });
    assert!(s.claim_deliveries(t + Duration::days(30), "L11", t + Duration::days(31), 10).await.unwrap().is_empty());
    let ap = attempt(&ping.id, 1, t + min(25), None);
    assert!(s.finish_attempt("PING", &ap, AttemptOutcome::Failed, EndpointHealth::Unchanged).await.unwrap());
    assert_eq!(record(s, &ping).await.delivery.state, DeliveryState::Failed);
    assert_eq!(s.get_webhook(&c.id, &hc.id).await.unwrap(), Some(discord.clone()));
    let stray = Delivery { id: ids::new_id(prefix::DELIVERY), webhook_id: "wh_missing".into(), ..ping.clone() };
    assert!(matches!(s.insert_delivery(&stray, "X").await, Err(StoreError::NotFound)));
    let wrong_app = Delivery { id: ids::new_id(prefix::DELIVERY), app_id: owner.id.clone(), ..ping.clone() };
    assert!(matches!(s.insert_delivery(&wrong_app, "X").await, Err(StoreError::NotFound)));

    // Redeliver: pending, due now, failures 0, same id, attempts kept; the lease released.
    let mut rx = s.subscribe();
    let t5 = t + min(40);
    let re = s.redeliver(&c.id, &hc.id, &d3.id, t5).await.unwrap().unwrap();
    let want = Delivery { state: DeliveryState::Pending, failures: 0, next_attempt_at: Some(t5), ..failed.clone() };
    assert_eq!(re, want);
    expect_due(&mut rx, "redeliver").await;
    assert_eq!(record(s, &d3).await.attempts, vec![a3.clone()]);
    let taken = s.claim_deliveries(t5, "L12", t5 + min(1), 10).await.unwrap();
    assert_eq!(ids_of(&taken), vec![d3.id.clone()]);
    // Redelivering a held delivery releases it: the holder's report is refused.
    s.redeliver(&c.id, &hc.id, &d3.id, t5).await.unwrap().unwrap();
    let late_report = attempt(&d3.id, 2, t5, Some(200));
    assert!(!s.finish_attempt("L12", &late_report, AttemptOutcome::Delivered, EndpointHealth::Healthy).await.unwrap());
    assert_eq!(s.redeliver(&c.id, &other.id, &d3.id, t5).await.unwrap(), None);
    assert_eq!(s.redeliver(&owner.id, &hc.id, &d3.id, t5).await.unwrap(), None);
    assert_eq!(s.redeliver(&c.id, &hc.id, "whmsg_missing", t5).await.unwrap(), None);

    // Listing: newest first, paged, with attempts in order; scoped by app and webhook.
    let mut all: Vec<Delivery> = vec![d1.clone(), d2.clone(), d3.clone(), d4.clone(), ping.clone()];
    all.sort_by(|x, y| (y.created_at, &y.id).cmp(&(x.created_at, &x.id)));
    let p1 = s.list_deliveries(&c.id, &hc.id, page(1, 2)).await.unwrap();
    let p2 = s.list_deliveries(&c.id, &hc.id, page(2, 2)).await.unwrap();
    let p3 = s.list_deliveries(&c.id, &hc.id, page(3, 2)).await.unwrap();
    assert_eq!((p1.total, p2.total, p3.total), (5, 5, 5));
    let listed: Vec<String> =
        [&p1, &p2, &p3].iter().flat_map(|p| p.items.iter().map(|r| r.delivery.id.clone())).collect();
    assert_eq!(listed, all.iter().map(|d| d.id.clone()).collect::<Vec<_>>());
    let r4 = p1.items.iter().find(|r| r.delivery.id == d4.id).expect("newest on page 1");
    assert_eq!(r4.attempts, vec![a4.clone(), a4b.clone()]);
    for p in [&p1, &p2, &p3] {
        for r in &p.items {
            assert_eq!(r, &record(s, &r.delivery).await, "a listed delivery reads as it lists");
        }
    }
    assert!(s.list_deliveries(&c.id, &hc.id, page(4, 2)).await.unwrap().items.is_empty());
    let foreign = s.list_deliveries(&owner.id, &hc.id, page(1, 10)).await.unwrap();
    assert_eq!((foreign.total, foreign.items.len()), (0, 0));
    assert_eq!(s.list_deliveries(&c.id, &other.id, page(1, 10)).await.unwrap().total, 0);
    assert_eq!(s.get_delivery(&c.id, &other.id, &d1.id).await.unwrap(), None);
    assert_eq!(s.get_delivery(&owner.id, &hc.id, &d1.id).await.unwrap(), None);
    assert_eq!(s.get_delivery(&c.id, &hc.id, "whmsg_missing").await.unwrap(), None);

    // Purge: only finished deliveries created before the cut; their attempts with them.
    // d1, d2 (delivered) and d3 (pending again) are old; d4 (delivered) and the ping (failed) new.
    assert_eq!(s.purge_deliveries(t + min(15)).await.unwrap(), 2);
    assert_eq!(s.get_delivery(&c.id, &hc.id, &d1.id).await.unwrap(), None);
    assert_eq!(s.get_delivery(&c.id, &hc.id, &d2.id).await.unwrap(), None);
    assert!(s.get_delivery(&c.id, &hc.id, &d3.id).await.unwrap().is_some());
    assert!(s.get_delivery(&c.id, &hc.id, &d4.id).await.unwrap().is_some());
    assert_eq!(s.purge_deliveries(t + min(15)).await.unwrap(), 0);

    // Deleting the webhook deletes its deliveries: d4 and the ping (finished) are gone, so a
    // purge after it finds nothing; d3 (pending, due) is no longer claimed.
    assert!(s.delete_webhook(&c.id, &hc.id).await.unwrap());
    assert_eq!(s.purge_deliveries(t + Duration::days(2)).await.unwrap(), 0);
    assert!(s.claim_deliveries(t + Duration::days(1), "L13", t + Duration::days(2), 10).await.unwrap().is_empty());
    assert_eq!(s.list_deliveries(&c.id, &hc.id, page(1, 10)).await.unwrap().total, 0);
}

/// Many workers claiming at once: every delivery is taken exactly once.
pub async fn webhook_claim_concurrency<S: Store>(s: Arc<S>) {
    const DELIVERIES: usize = 200;
    const CLAIMERS: usize = 16;
    let (_, a) = seller_with_app(s.as_ref()).await;
    let h = hook(&a.id, &["session.create"], true);
    s.create_webhook(&h).await.unwrap();
    let t = now();
    let events: Vec<Event> = (0..DELIVERIES)
        .map(|i| event(&a.id, EventKind::SessionCreate, t + Duration::milliseconds((i % 7) as i64), &i.to_string()))
        .collect();
    assert_eq!(s.emit(&events).await.unwrap(), DELIVERIES as u64);

    let at = t + Duration::seconds(1);
    let barrier = Arc::new(Barrier::new(CLAIMERS));
    let tasks: Vec<_> = (0..CLAIMERS)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            tokio::spawn(async move {
                let lease = format!("worker-{i}");
                let mut mine = Vec::new();
                barrier.wait().await;
                loop {
                    let claims = s.claim_deliveries(at, &lease, at + Duration::minutes(5), 7).await.unwrap();
                    if claims.is_empty() {
                        return mine;
                    }
                    for c in claims {
                        assert_eq!(c.webhook.id, c.delivery.webhook_id);
                        mine.push(c.delivery.id);
                    }
                }
            })
        })
        .collect();
    let mut seen = BTreeMap::new();
    for t in futures::future::join_all(tasks).await {
        for id in t.unwrap() {
            *seen.entry(id).or_insert(0) += 1;
        }
    }
    assert_eq!(seen.len(), DELIVERIES, "every delivery claimed");
    assert!(seen.values().all(|n| *n == 1), "no delivery claimed twice");
    assert!(s.claim_deliveries(at, "late", at + Duration::minutes(5), 100).await.unwrap().is_empty());
    // All of them come back once the leases have run out.
    let back = s.claim_deliveries(at + Duration::minutes(5), "after", at + Duration::minutes(10), 500).await.unwrap();
    assert_eq!(back.len(), DELIVERIES);
}
