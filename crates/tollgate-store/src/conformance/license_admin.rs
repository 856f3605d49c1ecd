//! A seller's daily license work: lookup by key in any case, edits, extensions (one at a time
//! and racing).

use super::*;

use tollgate_core::license::ExtendRefusal;

/// Keys are found whatever their case; among keys that differ only by case (made before keys
/// were generated in upper case) the exact spelling wins, else the oldest.
pub async fn license_key_case<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other = app(&owner.id);
    s.create_app(&other).await.unwrap();
    let upper = license(&a.id, "CASE-ABCD-EFGH-JKMN");
    s.insert_licenses(std::slice::from_ref(&upper)).await.unwrap();
    for spelling in ["CASE-ABCD-EFGH-JKMN", "case-abcd-efgh-jkmn", "Case-AbCd-eFgH-jKmN"] {
        assert_eq!(s.license_by_key(&a.id, spelling).await.unwrap().as_ref(), Some(&upper), "{spelling}");
        assert_eq!(s.license_by_key(&other.id, spelling).await.unwrap(), None, "another app's key");
    }
    assert_eq!(s.license_by_key(&a.id, "CASE-ABCD-EFGH-JKM").await.unwrap(), None, "no prefix match");
    assert_eq!(s.license_by_key(&a.id, "CASE-ABCD-EFGH-JKM_").await.unwrap(), None, "no LIKE pattern");
    assert_eq!(s.license_by_key(&a.id, "CASE-ABCD-EFGH-JKM%").await.unwrap(), None, "no LIKE pattern");

    // Legacy keys differing only by case: both stay (the unique constraint is exact).
    let mut older = license(&a.id, "legacy-key");
    older.created_at = now() - Duration::days(2);
    let mut newer = license(&a.id, "LEGACY-KEY");
    newer.created_at = now() - Duration::days(1);
    s.insert_licenses(&[newer.clone(), older.clone()]).await.unwrap();
    assert_eq!(s.license_by_key(&a.id, "legacy-key").await.unwrap().map(|l| l.id), Some(older.id.clone()));
    assert_eq!(s.license_by_key(&a.id, "LEGACY-KEY").await.unwrap().map(|l| l.id), Some(newer.id.clone()));
    assert_eq!(
        s.license_by_key(&a.id, "Legacy-Key").await.unwrap().map(|l| l.id),
        Some(older.id.clone()),
        "no exact spelling: the oldest"
    );
    assert_conflict(s.insert_licenses(&[license(&a.id, "LEGACY-KEY")]).await, constraint::LICENSE_APP_KEY);
}

/// Edits write only the fields given, in the app only.
pub async fn license_edits<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other = app(&owner.id);
    s.create_app(&other).await.unwrap();
    let mut lic = license(&a.id, "EDIT-0001");
    lic.note = Some("first".into());
    lic.devices = vec!["HWID-1".into(), "HWID-2".into()];
    lic.max_devices = 2;
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();

    let only_level = LicensePatch { level: Some(7), ..Default::default() };
    let got = s.update_license(&a.id, &lic.id, &only_level).await.unwrap().unwrap();
    let mut want = lic.clone();
    want.level = 7;
    assert_eq!(got, want);
    let all = LicensePatch { note: Some(Some("second".into())), level: Some(0), max_devices: Some(1) };
    let got = s.update_license(&a.id, &lic.id, &all).await.unwrap().unwrap();
    want.note = Some("second".into());
    want.level = 0;
    want.max_devices = 1;
    assert_eq!(got, want, "devices already bound stay bound");
    let clear = LicensePatch { note: Some(None), ..Default::default() };
    want.note = None;
    assert_eq!(s.update_license(&a.id, &lic.id, &clear).await.unwrap(), Some(want.clone()));
    assert_eq!(s.update_license(&a.id, &lic.id, &LicensePatch::default()).await.unwrap(), Some(want.clone()));
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(want.clone()));
    assert_eq!(s.update_license(&other.id, &lic.id, &all).await.unwrap(), None, "another app's license");
    assert_eq!(s.update_license(&a.id, "lic_missing", &all).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(want));
}

/// Extensions: an unused key's duration grows, a used key's expiry moves from the later of
/// expiry and now (and its user's with it), `EXPIRED` comes back with the counts, lifetime keys
/// and other apps' keys are refused with nothing written.
pub async fn license_extensions<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other = app(&owner.id);
    s.create_app(&other).await.unwrap();
    let t = now();
    let day = DurationType::Days(1);

    let unused = license(&a.id, "EXT-UNUSED");
    let mut hours = license(&a.id, "EXT-HOURS");
    hours.duration = DurationType::Hours(12);
    let mut running = license(&a.id, "EXT-RUNNING");
    running.status = LicenseStatus::Used;
    running.activated_at = Some(t - Duration::days(1));
    running.expires_at = Some(t + Duration::days(3));
    let mut lapsed = running.clone();
    lapsed.id = ids::new_id(prefix::LICENSE);
    lapsed.key = "EXT-LAPSED".into();
    lapsed.status = LicenseStatus::Expired;
    lapsed.expires_at = Some(t - Duration::days(2));
    let mut life = license(&a.id, "EXT-LIFE");
    life.duration = DurationType::Lifetime;
    let mut life_used = life.clone();
    life_used.id = ids::new_id(prefix::LICENSE);
    life_used.key = "EXT-LIFE-USED".into();
    life_used.status = LicenseStatus::Used;
    life_used.activated_at = Some(t);
    let u = stored_user(s, &a.id, "holder").await;
    let mut owned = running.clone();
    owned.id = ids::new_id(prefix::LICENSE);
    owned.key = "EXT-OWNED".into();
    owned.user_id = Some(u.id.clone());
    let all = [&unused, &hours, &running, &lapsed, &life, &life_used, &owned];
    s.insert_licenses(&all.iter().map(|l| (*l).clone()).collect::<Vec<_>>()).await.unwrap();

    let extended = |o: LicenseExtendOutcome| match o {
        LicenseExtendOutcome::Extended { license, user } => (license, user),
        other => panic!("expected Extended, got {other:?}"),
    };

    let (got, user) = extended(s.extend_license(&a.id, &unused.id, DurationType::Days(2), t).await.unwrap());
    let mut want = unused.clone();
    want.duration = DurationType::Days(32);
    assert_eq!((got, user), (want.clone(), None));
    assert_eq!(s.get_license(&a.id, &unused.id).await.unwrap(), Some(want), "the new duration is stored");

    let (got, _) = extended(s.extend_license(&a.id, &hours.id, day, t).await.unwrap());
    assert_eq!((got.duration, got.expires_at), (DurationType::Hours(36), None));

    let (got, user) = extended(s.extend_license(&a.id, &running.id, day, t).await.unwrap());
    assert_eq!((got.expires_at, got.status, user), (Some(t + Duration::days(4)), LicenseStatus::Used, None));

    let (got, _) = extended(s.extend_license(&a.id, &lapsed.id, DurationType::Hours(12), t).await.unwrap());
    assert_eq!((got.expires_at, got.status), (Some(t + Duration::hours(12)), LicenseStatus::Used));

    let (got, user) = extended(s.extend_license(&a.id, &owned.id, day, t).await.unwrap());
    assert_eq!(got.expires_at, Some(t + Duration::days(4)));
    let user = user.expect("the license's user");
    assert_eq!(user.id, u.id);
    assert_eq!(user.expires_at, u.expires_at.map(|e| e + Duration::days(1)), "the user's expiry moved too");
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(user));

    for l in [&life, &life_used] {
        assert_eq!(
            s.extend_license(&a.id, &l.id, day, t).await.unwrap(),
            LicenseExtendOutcome::Refused(ExtendRefusal::Lifetime),
            "{}",
            l.key
        );
        assert_eq!(s.get_license(&a.id, &l.id).await.unwrap().as_ref(), Some(l), "nothing written");
    }
    let far = DurationType::Days(36_500);
    assert_eq!(
        s.extend_license(&a.id, &running.id, far, t).await.unwrap(),
        LicenseExtendOutcome::Refused(ExtendRefusal::TooLong)
    );
    assert_eq!(s.extend_license(&other.id, &running.id, day, t).await.unwrap(), LicenseExtendOutcome::Missing);
    assert_eq!(s.extend_license(&a.id, "lic_missing", day, t).await.unwrap(), LicenseExtendOutcome::Missing);
    assert_eq!(s.extend_license("app_missing", &running.id, day, t).await.unwrap(), LicenseExtendOutcome::Missing);
    let still = s.get_license(&a.id, &running.id).await.unwrap().unwrap();
    assert_eq!(still.expires_at, Some(t + Duration::days(4)), "refusals wrote nothing");

    let rows = totals_match(s, &a.id, "after extensions").await;
    assert_eq!(rows.iter().filter(|l| l.status == LicenseStatus::Expired).count(), 0, "EXPIRED came back to USED");
}

/// 20 extensions of one key at once by one day each: every one counts, on a used key (its
/// expiry) and on an unused one (its duration).
pub async fn license_extend_concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 20;
    let (_, a) = seller_with_app(s.as_ref()).await;
    let t = now();
    let mut used = license(&a.id, "RACE-EXT-USED");
    used.status = LicenseStatus::Used;
    used.activated_at = Some(t);
    used.expires_at = Some(t + Duration::days(5));
    let unused = license(&a.id, "RACE-EXT-UNUSED");
    s.insert_licenses(&[used.clone(), unused.clone()]).await.unwrap();
    for id in [&used.id, &unused.id] {
        let barrier = Arc::new(Barrier::new(N));
        let tasks: Vec<_> = (0..N)
            .map(|_| {
                let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), id.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    s.extend_license(&app_id, &id, DurationType::Days(1), t).await.unwrap()
                })
            })
            .collect();
        for done in futures::future::join_all(tasks).await {
            assert!(matches!(done.unwrap(), LicenseExtendOutcome::Extended { .. }));
        }
    }
    let got = s.get_license(&a.id, &used.id).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(t + Duration::days(5 + N as i64)));
    let got = s.get_license(&a.id, &unused.id).await.unwrap().unwrap();
    assert_eq!(got.duration, DurationType::Days(30 + N as u32));
}
