//! Client activity: counters add up across batches, refused calls list newest first, both are
//! scoped by app, deleted apps are skipped, and the retention purge keeps what it should.

use super::*;

fn counter(app_id: &str, hour: Timestamp, kind: &str, reason: &str, dialect: &str, n: u64) -> ActivityCount {
    ActivityCount { app_id: app_id.into(), hour, kind: kind.into(), reason: reason.into(), dialect: dialect.into(), n }
}

fn refused(app_id: &str, at: Timestamp, reason: &str) -> RefusedCall {
    RefusedCall {
        id: ids::new_id("ref"),
        app_id: app_id.into(),
        at,
        dialect: "authly".into(),
        reason: reason.into(),
        ip: "2001:db8::7".into(),
    }
}

pub async fn activity<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let b = app(&owner.id);
    s.create_app(&b).await.unwrap();
    let h = hour_of(now());
    assert_eq!(hour_of(h + Duration::minutes(59)), h);
    assert_eq!(hour_of(h - Duration::milliseconds(1)), h - Duration::hours(1));

    // Empty: nothing, not an error.
    assert!(s.activity_since(&a.id, h - Duration::days(30)).await.unwrap().is_empty());
    assert!(s.recent_refused(&a.id, 10).await.unwrap().is_empty());
    s.record_activity(&ActivityBatch::default()).await.unwrap();

    // Two batches add up per key; other keys and apps stay apart.
    let first = ActivityBatch {
        counts: vec![
            counter(&a.id, h, kind::INIT, "", "", 3),
            counter(&a.id, h, kind::REFUSED, "InvalidSecret", "authly", 2),
            counter(&a.id, h - Duration::hours(2), kind::LOGIN, "", "", 1),
            counter(&b.id, h, kind::INIT, "", "", 7),
        ],
        refused: vec![refused(&a.id, h + Duration::seconds(1), "InvalidSecret")],
    };
    s.record_activity(&first).await.unwrap();
    let second = ActivityBatch {
        counts: vec![
            counter(&a.id, h, kind::INIT, "", "", 4),
            counter(&a.id, h, kind::REFUSED, "InvalidSecret", "authly", 1),
            counter(&a.id, h, kind::REFUSED, "InvalidSecret", "authon", 5),
            // An app that does not exist: skipped, and the rest of the batch is written.
            counter("app_missing", h, kind::INIT, "", "", 9),
        ],
        refused: vec![refused(&a.id, h + Duration::seconds(2), "IpBlocked"), refused("app_missing", h, "IpBlocked")],
    };
    s.record_activity(&second).await.unwrap();

    let got = s.activity_since(&a.id, h - Duration::days(1)).await.unwrap();
    let find = |kind: &str, reason: &str, dialect: &str, hour: Timestamp| {
        got.iter().find(|c| c.kind == kind && c.reason == reason && c.dialect == dialect && c.hour == hour).map(|c| c.n)
    };
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got.iter().all(|c| c.app_id == a.id));
    assert_eq!(got[0].hour, h - Duration::hours(2), "oldest first");
    assert_eq!(find(kind::INIT, "", "", h), Some(7));
    assert_eq!(find(kind::REFUSED, "InvalidSecret", "authly", h), Some(3));
    assert_eq!(find(kind::REFUSED, "InvalidSecret", "authon", h), Some(5));
    assert_eq!(find(kind::LOGIN, "", "", h - Duration::hours(2)), Some(1));
    // `since` is inclusive and cuts older hours.
    assert_eq!(s.activity_since(&a.id, h).await.unwrap().len(), 3);
    let other = s.activity_since(&b.id, h).await.unwrap();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].n, 7);

    let calls = s.recent_refused(&a.id, 10).await.unwrap();
    assert_eq!(calls.iter().map(|c| c.reason.as_str()).collect::<Vec<_>>(), ["IpBlocked", "InvalidSecret"]);
    assert_eq!(calls[0], second.refused[0]);
    assert_eq!(s.recent_refused(&a.id, 1).await.unwrap().len(), 1);
    assert!(s.recent_refused(&b.id, 10).await.unwrap().is_empty());

    // Deleting the app takes its activity with it.
    s.delete_app(&owner.id, &b.id).await.unwrap();
    assert!(s.activity_since(&b.id, h).await.unwrap().is_empty());
}

pub async fn activity_purge<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let h = hour_of(t);

    // a: 40 recent refusals and one 31 days old; b: 3 recent.
    let mut rows: Vec<RefusedCall> =
        (0..40).map(|i| refused(&a.id, t - Duration::seconds(i), "InvalidPassword")).collect();
    rows.push(refused(&a.id, t - Duration::days(31), "Old"));
    rows.extend((0..3).map(|i| refused(&b.id, t - Duration::seconds(i), "IpBlocked")));
    let counts = vec![
        counter(&a.id, h, kind::INIT, "", "", 1),
        counter(&a.id, hour_of(t - Duration::days(34)), kind::INIT, "", "", 1),
        counter(&a.id, hour_of(t - Duration::days(36)), kind::INIT, "", "", 1),
    ];
    s.record_activity(&ActivityBatch { counts, refused: rows.clone() }).await.unwrap();

    let gone = s.purge_activity(t - Duration::days(30), 25, t - Duration::days(35)).await.unwrap();
    // 1 too old, 15 beyond the newest 25 of a, 1 counter.
    assert_eq!(gone, 17);
    let kept = s.recent_refused(&a.id, 100).await.unwrap();
    assert_eq!(kept.len(), 25);
    assert_eq!(kept, rows[..25].to_vec(), "the newest are kept");
    assert_eq!(s.recent_refused(&b.id, 100).await.unwrap().len(), 3, "another app's rows are its own");
    let counters = s.activity_since(&a.id, t - Duration::days(60)).await.unwrap();
    assert_eq!(counters.len(), 2);
    assert!(counters.iter().all(|c| c.hour >= t - Duration::days(35)));

    // Nothing more to do: nothing goes.
    assert_eq!(s.purge_activity(t - Duration::days(30), 25, t - Duration::days(35)).await.unwrap(), 0);
}

/// The overview's cheap reads: license totals by status and the account count.
pub async fn activity_totals<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    assert!(s.license_status_counts(&a.id).await.unwrap().iter().all(|(_, n)| *n == 0));
    assert_eq!(s.count_users(&a.id).await.unwrap(), 0);
    let mut batch: Vec<License> = (0..5).map(|i| license(&a.id, &format!("ACT-{i}"))).collect();
    batch[0].status = LicenseStatus::Banned;
    batch[1].status = LicenseStatus::Used;
    s.insert_licenses(&batch).await.unwrap();
    let counts: BTreeMap<String, u64> =
        s.license_status_counts(&a.id).await.unwrap().into_iter().map(|(st, n)| (st.as_str().to_owned(), n)).collect();
    assert_eq!(counts.get("UNUSED"), Some(&3));
    assert_eq!(counts.get("USED"), Some(&1));
    assert_eq!(counts.get("BANNED"), Some(&1));
    s.create_user(&user(&a.id, "Counted"), &[]).await.unwrap();
    assert_eq!(s.count_users(&a.id).await.unwrap(), 1);
}
