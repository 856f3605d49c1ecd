//! What WebSocket clients need from the store: accounts made without a license (capped per app
//! and address), dropped sessions kept for resumption, signing a session out, an exact session
//! expiry, file transfer counts and account notes.

use tollgate_core::events::{Event, EventKind};

use super::*;

const IP: &str = "203.0.113.50";

/// A user made at `at`, with a note and the address it came from.
fn signup(app_id: &str, username: &str, at: Timestamp) -> User {
    User {
        created_at: at,
        note: Some(format!("made by {username}, \u{e9}t\u{e9}")),
        last_ip: Some(IP.into()),
        last_login: None,
        devices: Vec::new(),
        ..user(app_id, username)
    }
}

async fn exists<S: Store>(s: &S, app_id: &str, username: &str) -> bool {
    s.user_by_username(app_id, username).await.unwrap().is_some()
}

/// The cap per app and address, its window, the oldest sign-up counted, the username and the
/// quota, in that order; the sign-up record outliving the account; events; the purge.
pub async fn unlicensed_signups<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let day = t - Duration::hours(24);
    let create = |u: User, ip: &'static str, since: Timestamp, cap: u32, quota: Option<i64>| async move {
        s.create_unlicensed_user(&u, ip, since, cap, quota, &[]).await.unwrap()
    };

    // One made 25 hours ago: counted over two days, not over the last one.
    let old = signup(&a.id, "Old", t - Duration::hours(25));
    assert_eq!(create(old.clone(), IP, t - Duration::hours(48), 3, None).await, UnlicensedSignup::Created);
    assert_eq!(s.get_user(&a.id, &old.id).await.unwrap(), Some(old.clone()), "written as given, note and all");

    // Three in the last day; the fourth is capped, with the oldest of the three, and not written.
    let first = signup(&a.id, "First", t - Duration::hours(3));
    for (i, at) in [t - Duration::hours(3), t - Duration::hours(2), t - Duration::hours(1)].into_iter().enumerate() {
        let u = if i == 0 { first.clone() } else { signup(&a.id, &format!("Second{i}"), at) };
        assert_eq!(create(u, IP, day, 3, None).await, UnlicensedSignup::Created, "sign-up {i}");
    }
    let fourth = signup(&a.id, "Fourth", t);
    assert_eq!(create(fourth.clone(), IP, day, 3, None).await, UnlicensedSignup::Capped { oldest: first.created_at });
    assert!(!exists(s, &a.id, "Fourth").await);
    assert_eq!(
        create(fourth.clone(), IP, t - Duration::hours(48), 4, None).await,
        UnlicensedSignup::Capped { oldest: old.created_at },
        "over two days the old one counts, and is the oldest"
    );
    // The cap is per address and per app.
    assert_eq!(create(signup(&a.id, "Elsewhere", t), "198.51.100.9", day, 3, None).await, UnlicensedSignup::Created);
    assert_eq!(create(signup(&b.id, "Fourth", t), IP, day, 3, None).await, UnlicensedSignup::Created);
    // Cap 0: nobody, and the oldest is the window's start.
    assert_eq!(
        create(signup(&a.id, "Nobody", t), "192.0.2.77", day, 0, None).await,
        UnlicensedSignup::Capped { oldest: day }
    );
    assert!(!exists(s, &a.id, "Nobody").await);

    // Deleting an account does not give its address the turn back.
    assert!(s.delete_user(&a.id, &first.id).await.unwrap());
    assert_eq!(create(fourth.clone(), IP, day, 3, None).await, UnlicensedSignup::Capped { oldest: first.created_at });
    assert!(!exists(s, &a.id, "Fourth").await);

    // The cap comes before the username: a taken name at the cap is `Capped`.
    assert_eq!(
        create(signup(&a.id, "SECOND1", t), IP, day, 3, None).await,
        UnlicensedSignup::Capped { oldest: first.created_at }
    );
    // Under the cap, a taken name (in any case, or a look-alike) is refused and records nothing:
    // two more fit under a cap of 5 afterwards, and not a third.
    for taken in ["SECOND1", "second2", "0ld"] {
        let dup = signup(&a.id, taken, t);
        assert_eq!(create(dup.clone(), IP, day, 5, None).await, UnlicensedSignup::UsernameTaken, "{taken}");
        assert_eq!(s.get_user(&a.id, &dup.id).await.unwrap(), None);
    }
    assert_eq!(create(signup(&a.id, "Fifth", t), IP, day, 5, None).await, UnlicensedSignup::Created);
    assert_eq!(create(fourth.clone(), IP, day, 5, None).await, UnlicensedSignup::Created);
    assert_eq!(
        create(signup(&a.id, "Sixth", t), IP, day, 5, None).await,
        UnlicensedSignup::Capped { oldest: first.created_at }
    );

    // The quota: the app's users (of any origin) against it; the name before the quota.
    let (_, c) = seller_with_app(s).await;
    stored_user(s, &c.id, "Licensed1").await;
    stored_user(s, &c.id, "Licensed2").await;
    assert_eq!(create(signup(&c.id, "Third", t), IP, day, 3, Some(2)).await, UnlicensedSignup::QuotaReached);
    assert!(!exists(s, &c.id, "Third").await);
    assert_eq!(create(signup(&c.id, "LICENSED1", t), IP, day, 3, Some(2)).await, UnlicensedSignup::UsernameTaken);
    assert_eq!(create(signup(&c.id, "Third", t), IP, day, 3, Some(3)).await, UnlicensedSignup::Created);
    assert_eq!(create(signup(&c.id, "Fourth", t), IP, day, 3, Some(3)).await, UnlicensedSignup::QuotaReached);
    // A refused quota recorded no sign-up: two more fit under the cap of 3.
    assert_eq!(create(signup(&c.id, "Fourth", t), IP, day, 3, None).await, UnlicensedSignup::Created);
    assert_eq!(create(signup(&c.id, "Fifth", t), IP, day, 3, None).await, UnlicensedSignup::Created);
    assert!(matches!(create(signup(&c.id, "Sixth", t), IP, day, 3, None).await, UnlicensedSignup::Capped { .. }));
    assert_eq!(s.list_users(&c.id, &UserFilter::default(), page(1, 10)).await.unwrap().total, 5);

    // Events are queued with the account, and only when it is made.
    let (_, d) = seller_with_app(s).await;
    let hook = Webhook { events: vec![EventKind::UserRegister.as_str().into()], ..webhook(&d.id) };
    s.create_webhook(&hook).await.unwrap();
    let event = |u: &User| Event::new(&d.id, EventKind::UserRegister, t, serde_json::json!({ "user": u.id }));
    let made = signup(&d.id, "Hooked", t);
    let outcome = s.create_unlicensed_user(&made, IP, day, 1, None, &[event(&made)]).await.unwrap();
    assert_eq!(outcome, UnlicensedSignup::Created);
    let refused = signup(&d.id, "Refused", t);
    let outcome = s.create_unlicensed_user(&refused, IP, day, 1, None, &[event(&refused)]).await.unwrap();
    assert_eq!(outcome, UnlicensedSignup::Capped { oldest: t });
    assert_eq!(s.list_deliveries(&d.id, &hook.id, page(1, 10)).await.unwrap().total, 1);

    // A missing app: NotFound, nothing written.
    let orphan = signup("app_missing", "Orphan", t);
    match s.create_unlicensed_user(&orphan, IP, day, 3, None, &[]).await {
        Err(StoreError::NotFound) => {}
        other => panic!("expected NotFound for a missing app, got {other:?}"),
    }

    // The purge forgets sign-ups older than a day (and only those): over two days, `old` no
    // longer counts, so a cap of 6 that was full has room for one.
    let twice = t - Duration::hours(48);
    assert!(matches!(create(signup(&a.id, "Late", t), IP, twice, 6, None).await, UnlicensedSignup::Capped { .. }));
    s.purge_resumes(t).await.unwrap();
    assert_eq!(create(signup(&a.id, "Late", t), IP, twice, 6, None).await, UnlicensedSignup::Created);
    assert_eq!(
        create(signup(&a.id, "Later", t), IP, twice, 6, None).await,
        UnlicensedSignup::Capped { oldest: first.created_at },
        "the sign-ups of the last day are kept"
    );
    // The accounts themselves are not touched by the purge.
    assert_eq!(s.get_user(&a.id, &old.id).await.unwrap(), Some(old));

    // The records go with their app.
    assert!(s.delete_app(&b.owner_id, &b.id).await.unwrap());
}

/// Concurrent sign-ups: the cap, the quota and a name each let exactly as many through as they
/// allow, whatever the interleaving; nobody errors.
pub async fn unlicensed_signup_concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 12;
    let (_, a) = seller_with_app(s.as_ref()).await;
    let day = now() - Duration::hours(24);
    let race = |users: Vec<(User, String)>, cap: u32, quota: Option<i64>| {
        let barrier = Arc::new(Barrier::new(users.len()));
        let tasks: Vec<_> = users
            .into_iter()
            .map(|(u, ip)| {
                let (s, barrier) = (s.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.create_unlicensed_user(&u, &ip, day, cap, quota, &[]).await
                })
            })
            .collect();
        async move {
            let mut outcomes = BTreeMap::new();
            for t in futures::future::join_all(tasks).await {
                let outcome = t.unwrap().unwrap_or_else(|e| panic!("create_unlicensed_user failed: {e:?}"));
                let name = match outcome {
                    UnlicensedSignup::Created => "created",
                    UnlicensedSignup::Capped { .. } => "capped",
                    UnlicensedSignup::UsernameTaken => "taken",
                    UnlicensedSignup::QuotaReached => "quota",
                };
                *outcomes.entry(name).or_insert(0) += 1;
            }
            outcomes
        }
    };
    let users = |app_id: &str, prefix: &str, ip: &dyn Fn(usize) -> String| -> Vec<(User, String)> {
        (0..N).map(|i| (signup(app_id, &format!("{prefix}{i}"), now()), ip(i))).collect()
    };

    // One address, cap 3: exactly 3 accounts.
    let got = race(users(&a.id, "Same", &|_| IP.to_owned()), 3, None).await;
    assert_eq!(got, BTreeMap::from([("created", 3), ("capped", N - 3)]));
    assert_eq!(s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap().total, 3);

    // Every one from its own address, quota 3 in a fresh app: exactly 3 accounts.
    let (_, b) = seller_with_app(s.as_ref()).await;
    let got = race(users(&b.id, "Many", &|i| format!("192.0.2.{i}")), 3, Some(3)).await;
    assert_eq!(got, BTreeMap::from([("created", 3), ("quota", N - 3)]));
    assert_eq!(s.list_users(&b.id, &UserFilter::default(), page(1, 100)).await.unwrap().total, 3);

    // One name in any case from many addresses: exactly one account.
    let (_, c) = seller_with_app(s.as_ref()).await;
    let same_name: Vec<_> = (0..N)
        .map(|i| {
            let name = if i % 2 == 0 { "Racer" } else { "rACER" };
            (signup(&c.id, name, now()), format!("198.51.100.{i}"))
        })
        .collect();
    let got = race(same_name, 3, None).await;
    assert_eq!(got, BTreeMap::from([("created", 1), ("taken", N - 1)]));
}

fn resume(app_id: &str, id_hash: &str, expires_at: Timestamp) -> ResumeRecord {
    ResumeRecord {
        id_hash: id_hash.into(),
        app_id: app_id.into(),
        session_id: ids::new_id(prefix::SESSION),
        state: format!(r#"{{"hash":"{id_hash}","note":"\u00e9t\u00e9 \"quoted\""}}"#),
        expires_at,
    }
}

/// Save (an upsert), take once, expired never handed out (and removed), purge, cascade.
pub async fn resume_records<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();

    let r1 = resume(&a.id, &"a1".repeat(32), t + Duration::minutes(2));
    s.save_resume(&r1).await.unwrap();
    assert_eq!(s.take_resume(&"ff".repeat(32), t).await.unwrap(), None, "an unknown hash");
    assert_eq!(s.take_resume(&r1.id_hash, t).await.unwrap(), Some(r1.clone()));
    assert_eq!(s.take_resume(&r1.id_hash, t).await.unwrap(), None, "taken once only");

    // Saving again replaces the record.
    let r2 = resume(&a.id, &"b2".repeat(32), t + Duration::minutes(1));
    s.save_resume(&r2).await.unwrap();
    let r2_new =
        ResumeRecord { state: "{}".into(), expires_at: t + Duration::minutes(5), session_id: "ses_other".into(), ..r2 };
    s.save_resume(&r2_new).await.unwrap();
    assert_eq!(s.take_resume(&r2_new.id_hash, t).await.unwrap(), Some(r2_new.clone()));

    // Expired (or expiring exactly now): not handed out, and removed all the same.
    let r3 = resume(&a.id, &"c3".repeat(32), t - Duration::seconds(1));
    let r4 = resume(&a.id, &"d4".repeat(32), t);
    for r in [&r3, &r4] {
        s.save_resume(r).await.unwrap();
        assert_eq!(s.take_resume(&r.id_hash, t).await.unwrap(), None, "expired {}", r.expires_at);
        assert_eq!(s.take_resume(&r.id_hash, t - Duration::hours(1)).await.unwrap(), None, "removed when taken");
    }

    // Purge: the expired ones (expiring exactly now included), not the others.
    let live = resume(&a.id, &"e5".repeat(32), t + Duration::hours(1));
    let edge = resume(&b.id, &"f6".repeat(32), t);
    let dead = resume(&b.id, &"a7".repeat(32), t - Duration::minutes(2));
    for r in [&live, &edge, &dead] {
        s.save_resume(r).await.unwrap();
    }
    assert_eq!(s.purge_resumes(t).await.unwrap(), 2);
    assert_eq!(s.purge_resumes(t).await.unwrap(), 0);
    for r in [&edge, &dead] {
        assert_eq!(s.take_resume(&r.id_hash, t - Duration::hours(1)).await.unwrap(), None, "purged");
    }
    assert_eq!(s.take_resume(&live.id_hash, t).await.unwrap(), Some(live));

    // The records go with their app.
    let gone = resume(&b.id, &"b8".repeat(32), t + Duration::hours(1));
    s.save_resume(&gone).await.unwrap();
    assert!(s.delete_app(&b.owner_id, &b.id).await.unwrap());
    assert_eq!(s.take_resume(&gone.id_hash, t).await.unwrap(), None);
    // A record of a missing app cannot be saved.
    assert!(s.save_resume(&resume("app_missing", &"c9".repeat(32), t + Duration::hours(1))).await.is_err());
}

/// Eight reconnects with one resume id at once: exactly one gets the record.
pub async fn resume_take_concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 8;
    let (_, a) = seller_with_app(s.as_ref()).await;
    for round in 0..3 {
        let r = resume(&a.id, &format!("{round:02}").repeat(32), now() + Duration::minutes(2));
        s.save_resume(&r).await.unwrap();
        let barrier = Arc::new(Barrier::new(N));
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                let (s, barrier, hash) = (s.clone(), barrier.clone(), r.id_hash.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.take_resume(&hash, now()).await
                })
            })
            .collect();
        let mut got = Vec::new();
        for t in futures::future::join_all(tasks).await {
            match t.unwrap() {
                Ok(Some(record)) => got.push(record),
                Ok(None) => {}
                Err(e) => panic!("take_resume failed under concurrency: {e:?}"),
            }
        }
        assert_eq!(got, vec![r], "round {round}: exactly one take gets the record");
    }
}

/// Signing a session out keeps it open without user or license; the expiry is set exactly.
pub async fn session_unbind_expiry<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let u = stored_user(s, &a.id, "Bound").await;
    let lic = license(&a.id, "UNBIND-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let t = now();
    let mut ses = session(&a.id, Some(&u.id), t + Duration::hours(24));
    ses.license_id = Some(lic.id.clone());
    s.create_session(&ses, &[]).await.unwrap();
    let other = session(&a.id, Some(&u.id), t + Duration::hours(24));
    s.create_session(&other, &[]).await.unwrap();

    // Another app's id or a missing one: false, nothing changes.
    assert!(!s.unbind_session(&b.id, &ses.id).await.unwrap());
    assert!(!s.unbind_session(&a.id, "ses_missing").await.unwrap());
    assert_eq!(s.session_by_token(&a.id, &ses.token).await.unwrap(), Some(ses.clone()));

    assert!(s.unbind_session(&a.id, &ses.id).await.unwrap());
    let unbound = Session { user_id: None, license_id: None, ..ses.clone() };
    assert_eq!(s.session_by_token(&a.id, &ses.token).await.unwrap(), Some(unbound.clone()));
    assert!(s.unbind_session(&a.id, &ses.id).await.unwrap(), "an unbound session is still there");
    assert_eq!(s.session_by_token(&a.id, &other.token).await.unwrap(), Some(other.clone()), "only that one");
    // Unbound, it no longer ends with its user.
    assert!(s.delete_user(&a.id, &u.id).await.unwrap());
    assert_eq!(s.session_by_token(&a.id, &ses.token).await.unwrap(), Some(unbound.clone()));
    assert_eq!(s.session_by_token(&a.id, &other.token).await.unwrap(), None);

    // The expiry: exactly what is given, earlier or later.
    for at in [t + Duration::minutes(1), t + Duration::days(3), t - Duration::seconds(5)] {
        assert!(s.set_session_expiry(&a.id, &ses.id, at).await.unwrap());
        let want = Session { expires_at: at, ..unbound.clone() };
        assert_eq!(s.session_by_token(&a.id, &ses.token).await.unwrap(), Some(want));
    }
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 0, "expired by the last one");
    assert!(!s.set_session_expiry(&b.id, &ses.id, t + Duration::days(1)).await.unwrap());
    assert!(!s.set_session_expiry(&a.id, "ses_missing", t + Duration::days(1)).await.unwrap());
    assert_eq!(s.session_by_token(&a.id, &ses.token).await.unwrap().unwrap().expires_at, t - Duration::seconds(5));
}

/// Transfers counted (concurrent ones too) and stamped; scoped by app; the fields round trip.
pub async fn file_transfers<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let f = file(&a.id, "setup.exe");
    s.create_file(&f).await.unwrap();
    assert_eq!(s.get_file(&a.id, &f.id).await.unwrap(), Some(f.clone()), "none yet");

    let t1 = t - Duration::minutes(3);
    assert!(s.record_file_transfer(&a.id, &f.id, t1).await.unwrap());
    let want = FileMeta { transfer_count: 1, last_transferred_at: Some(t1), ..f.clone() };
    assert_eq!(s.get_file(&a.id, &f.id).await.unwrap(), Some(want));

    // Ten at once: all counted.
    let t2 = t - Duration::minutes(1);
    let all = futures::future::join_all((0..10).map(|_| s.record_file_transfer(&a.id, &f.id, t2))).await;
    assert!(all.into_iter().all(|r| r.unwrap()));
    let want = FileMeta { transfer_count: 11, last_transferred_at: Some(t2), ..f.clone() };
    assert_eq!(s.get_file(&a.id, &f.id).await.unwrap(), Some(want.clone()));
    assert_eq!(s.list_files(&a.id).await.unwrap(), vec![want.clone()]);

    // Another app's id or a missing file: false, nothing changes.
    assert!(!s.record_file_transfer(&b.id, &f.id, t).await.unwrap());
    assert!(!s.record_file_transfer(&a.id, "file_missing", t).await.unwrap());
    assert_eq!(s.get_file(&a.id, &f.id).await.unwrap(), Some(want));

    // A file created with counts keeps them.
    let counted = FileMeta { transfer_count: 7, last_transferred_at: Some(t - Duration::days(2)), ..file(&b.id, "x") };
    s.create_file(&counted).await.unwrap();
    assert_eq!(s.get_file(&b.id, &counted.id).await.unwrap(), Some(counted));
}

/// An account's note round trips through every way a user is written and read.
pub async fn user_notes<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let t = now();
    let noted = User { note: Some("line one\nline two \u{1f511} 'quoted'".into()), ..user(&a.id, "Noted") };
    let plain = User { note: None, ..user(&a.id, "Plain") };
    let empty = User { note: Some(String::new()), ..user(&a.id, "Empty") };
    for u in [&noted, &plain, &empty] {
        s.create_user(u, &[]).await.unwrap();
        assert_eq!(s.get_user(&a.id, &u.id).await.unwrap().as_ref(), Some(u));
        assert_eq!(s.user_by_username(&a.id, &u.username).await.unwrap().as_ref(), Some(u));
    }
    let listed = s.list_users(&a.id, &UserFilter::default(), page(1, 10)).await.unwrap().items;
    let mut notes: Vec<_> = listed.into_iter().map(|u| (u.username, u.note)).collect();
    notes.sort();
    assert_eq!(
        notes,
        vec![
            ("Empty".to_owned(), Some(String::new())),
            ("Noted".to_owned(), noted.note.clone()),
            ("Plain".to_owned(), None)
        ]
    );

    // A registration with a license writes it too.
    let key = license(&a.id, "NOTE-REG-1");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let reg = Activation { at: t, expires_at: Some(t + Duration::days(7)), device: None, session: None };
    let registered = User { note: Some("from a key".into()), ..user(&a.id, "Registered") };
    assert_eq!(
        s.register_with_license(&registered, &key.id, &reg, None, &[]).await.unwrap(),
        RegisterOutcome::Registered
    );
    assert_eq!(s.get_user(&a.id, &registered.id).await.unwrap().and_then(|u| u.note), registered.note);
    // Edits of other fields leave it alone.
    let patch = UserPatch { level: Some(9), ..Default::default() };
    let edited = s.update_user(&a.id, &noted.id, &patch).await.unwrap().unwrap();
    assert_eq!(edited.note, noted.note);
}

/// SQL that takes a migrated database back to before `0010_websocket`, rows kept (as a database
/// written by the previous version), the same on both backends.
pub const UNDO_WEBSOCKET_MIGRATION: &str = "
    DROP TABLE ws_resumes;
    DROP TABLE unlicensed_signups;
    ALTER TABLE app_users DROP COLUMN note;
    ALTER TABLE files DROP COLUMN transfer_count;
    ALTER TABLE files DROP COLUMN last_transferred_at;
    DELETE FROM _sqlx_migrations WHERE version = 10";

/// What a database that `UNDO_WEBSOCKET_MIGRATION` took back, and that was migrated again,
/// holds: `before` and `file` as they were (no note, no transfers), and every new table working.
pub async fn check_upgraded_to_websocket<S: Store>(s: &S, before: &User, file: &FileMeta) {
    let app_id = before.app_id.as_str();
    let want = User { note: None, ..before.clone() };
    assert_eq!(s.get_user(app_id, &before.id).await.unwrap(), Some(want), "the user, without a note");
    let want = FileMeta { transfer_count: 0, last_transferred_at: None, ..file.clone() };
    assert_eq!(s.get_file(app_id, &file.id).await.unwrap(), Some(want), "the file, never transferred");

    let t = now();
    assert!(s.record_file_transfer(app_id, &file.id, t).await.unwrap());
    assert_eq!(s.get_file(app_id, &file.id).await.unwrap().unwrap().transfer_count, 1);
    let made = signup(app_id, "AfterUpgrade", t);
    let day = t - Duration::hours(24);
    assert_eq!(s.create_unlicensed_user(&made, IP, day, 1, None, &[]).await.unwrap(), UnlicensedSignup::Created);
    assert_eq!(s.get_user(app_id, &made.id).await.unwrap(), Some(made));
    let r = resume(app_id, &"ab".repeat(32), t + Duration::minutes(1));
    s.save_resume(&r).await.unwrap();
    assert_eq!(s.take_resume(&r.id_hash, t).await.unwrap(), Some(r));
}
