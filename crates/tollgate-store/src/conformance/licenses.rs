//! Licenses: round trips, filters, totals and the listing cursor.

use super::*;

pub async fn licenses<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other_app = app(&owner.id);
    s.create_app(&other_app).await.unwrap();
    let u = stored_user(s, &a.id, "holder").await;
    let rsl = reseller(&a.id, "rsl");
    s.create_reseller(&rsl).await.unwrap();

    // Round trip of every field, filled and empty.
    let t = now();
    let mut full = license(&a.id, "TG-FULL-0000-0001");
    full.status = LicenseStatus::Used;
    full.level = 3;
    full.duration = DurationType::Hours(1);
    full.max_devices = 2;
    full.note = Some("customer #7".into());
    full.prefix = Some("TG".into());
    full.created_by = Creator::Reseller(rsl.id.clone());
    full.activated_at = Some(t - Duration::minutes(7));
    full.expires_at = Some(t + Duration::minutes(53));
    full.user_id = Some(u.id.clone());
    full.devices = vec!["HWID-A".into(), "hwid-b".into()];
    full.ban_reason = Some("kept".into());
    let mut bare = license(&a.id, "TG-BARE-0000-0002");
    bare.created_by = Creator::Seller(owner.id.clone());
    bare.duration = DurationType::Lifetime;
    s.insert_licenses(&[full.clone(), bare.clone()]).await.unwrap();
    for l in [&full, &bare] {
        assert_eq!(s.get_license(&a.id, &l.id).await.unwrap(), Some(l.clone()));
        assert_eq!(s.license_by_key(&a.id, &l.key).await.unwrap(), Some(l.clone()));
        assert_eq!(s.get_license(&other_app.id, &l.id).await.unwrap(), None);
        assert_eq!(s.license_by_key(&other_app.id, &l.key).await.unwrap(), None);
    }
    assert_eq!(
        s.license_by_key(&a.id, &full.key.to_lowercase()).await.unwrap(),
        Some(full.clone()),
        "key lookup ignores case"
    );
    assert_eq!(s.get_license(&a.id, "lic_missing").await.unwrap(), None);
    s.insert_licenses(&[]).await.unwrap();

    // Keys are unique per app; a batch with a duplicate inserts nothing.
    s.insert_licenses(&[license(&other_app.id, &full.key)]).await.unwrap();
    let fresh = license(&a.id, "TG-NEW-0000-0003");
    assert_conflict(s.insert_licenses(&[fresh.clone(), license(&a.id, &full.key)]).await, constraint::LICENSE_APP_KEY);
    assert_eq!(s.get_license(&a.id, &fresh.id).await.unwrap(), None);
    assert!(
        s.insert_licenses(&[license("app_missing", "TG-ORPHAN")]).await.is_err(),
        "a license needs an existing app"
    );

    // Large batches cross the backend's chunking; still all or none.
    let big_app = app(&owner.id);
    s.create_app(&big_app).await.unwrap();
    let mut batch: Vec<License> = (0..1201).map(|i| license(&big_app.id, &format!("BULK-{i:05}"))).collect();
    batch.push(license(&big_app.id, "BULK-00000"));
    assert_conflict(s.insert_licenses(&batch).await, constraint::LICENSE_APP_KEY);
    let none = LicenseFilter::default();
    assert_eq!(s.list_licenses(&big_app.id, &none, page(1, 1)).await.unwrap().total, 0);
    batch.pop();
    s.insert_licenses(&batch).await.unwrap();
    assert_eq!(s.list_licenses(&big_app.id, &none, page(1, 1)).await.unwrap().total, 1201);
    assert_eq!(s.license_by_key(&big_app.id, "BULK-01200").await.unwrap(), Some(batch[1200].clone()));

    // Listing: order, pagination, filters, search.
    let list_app = app(&owner.id);
    s.create_app(&list_app).await.unwrap();
    let base = now() - Duration::hours(1);
    let spec: [(&str, LicenseStatus, Option<&str>, bool, i64); 7] = [
        ("TG-AAAA-0001", LicenseStatus::Unused, None, false, 0),
        ("TG-BBBB-0002", LicenseStatus::Used, Some("VIP customer"), false, 1),
        ("TG-CCCC-0003", LicenseStatus::Banned, Some("50% off"), true, 2),
        ("TG-DDDD-0004", LicenseStatus::Unused, Some("500 off"), true, 3),
        ("tg-eeee_0005", LicenseStatus::Unused, Some("vip"), false, 3),
        ("TG-FFFF-0006", LicenseStatus::Paused, None, false, 4),
        ("TG-GGGG-0007", LicenseStatus::Expired, None, false, 5),
    ];
    let all: Vec<License> = spec
        .iter()
        .map(|(key, status, note, by_reseller, secs)| {
            let mut l = license(&list_app.id, key);
            l.status = *status;
            l.note = note.map(Into::into);
            l.created_by =
                if *by_reseller { Creator::Reseller(rsl.id.clone()) } else { Creator::Seller(owner.id.clone()) };
            l.created_at = base + Duration::seconds(*secs);
            l
        })
        .collect();
    s.insert_licenses(&all).await.unwrap();
    let ordered = newest_first(&all, |l| (l.created_at, l.id.clone()));
    let keys = |ls: &[License]| ls.iter().map(|l| l.key.clone()).collect::<Vec<_>>();

    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_licenses(&list_app.id, &none, page(p, 3)).await.unwrap();
        assert_eq!(got.total, 7);
        assert!(got.items.len() <= 3);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered, "newest first, id breaks ties, pages join up");
    let beyond = s.list_licenses(&list_app.id, &none, page(4, 3)).await.unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 7);

    let expect =
        |pred: &dyn Fn(&License) -> bool| keys(&ordered.iter().filter(|l| pred(l)).cloned().collect::<Vec<_>>());
    let cases: Vec<(LicenseFilter, Vec<String>)> = vec![
        (
            LicenseFilter { status: Some(LicenseStatus::Unused), ..Default::default() },
            expect(&|l| l.status == LicenseStatus::Unused),
        ),
        (
            LicenseFilter { created_by: Some(rsl.id.clone()), ..Default::default() },
            expect(&|l| matches!(l.created_by, Creator::Reseller(_))),
        ),
        (
            LicenseFilter { search: Some("vip".into()), ..Default::default() },
            vec!["tg-eeee_0005".into(), "TG-BBBB-0002".into()],
        ),
        (LicenseFilter { search: Some("tg-bbbb".into()), ..Default::default() }, vec!["TG-BBBB-0002".into()]),
        (LicenseFilter { search: Some("50%".into()), ..Default::default() }, vec!["TG-CCCC-0003".into()]),
        (LicenseFilter { search: Some("TG-EEEE_".into()), ..Default::default() }, vec!["tg-eeee_0005".into()]),
        (LicenseFilter { search: Some("tg-_".into()), ..Default::default() }, vec![]),
        (LicenseFilter { search: Some("tg-%".into()), ..Default::default() }, vec![]),
        (LicenseFilter { search: Some("no such thing".into()), ..Default::default() }, vec![]),
        // The beginning of the key or the note, not the middle.
        (LicenseFilter { search: Some("BBBB".into()), ..Default::default() }, vec![]),
        (LicenseFilter { search: Some("customer".into()), ..Default::default() }, vec![]),
        (LicenseFilter { search: Some("tG-".into()), ..Default::default() }, keys(&ordered)),
        (LicenseFilter { search: Some("tg-gggg-0007".into()), ..Default::default() }, vec!["TG-GGGG-0007".into()]),
        (LicenseFilter { search: Some("TG-GGGG-00078".into()), ..Default::default() }, vec![]),
        (
            LicenseFilter { status: Some(LicenseStatus::Unused), search: Some("VIP".into()), ..Default::default() },
            vec!["tg-eeee_0005".into()],
        ),
        (
            LicenseFilter {
                status: Some(LicenseStatus::Unused),
                search: Some("500".into()),
                created_by: Some(rsl.id.clone()),
                after: None,
            },
            vec!["TG-DDDD-0004".into()],
        ),
    ];
    for (filter, want) in cases {
        let got = s.list_licenses(&list_app.id, &filter, page(1, 100)).await.unwrap();
        assert_eq!(keys(&got.items), want, "{filter:?}");
        assert_eq!(got.total, want.len() as u64, "{filter:?}");
        let first = s.list_licenses(&list_app.id, &filter, page(1, 1)).await.unwrap();
        assert_eq!(first.total, want.len() as u64, "total ignores the page");
        assert_eq!(keys(&first.items), want.into_iter().take(1).collect::<Vec<_>>());
    }
    assert_eq!(s.list_licenses(&other_app.id, &none, page(1, 100)).await.unwrap().total, 1);

    // Banning a license ends the sessions opened with it; other sessions live on.
    let mut lic_session = session(&a.id, None, now() + Duration::hours(1));
    lic_session.license_id = Some(bare.id.clone());
    let bystander = session(&a.id, None, now() + Duration::hours(1));
    s.create_session(&lic_session, &[]).await.unwrap();
    s.create_session(&bystander, &[]).await.unwrap();

    // Status changes keep a reason only when banning.
    let banned = s
        .set_license_status(&a.id, &bare.id, LicenseStatus::Unused, LicenseStatus::Banned, Some("chargeback"), &[])
        .await
        .unwrap()
        .unwrap();
    let mut want = bare.clone();
    want.status = LicenseStatus::Banned;
    want.ban_reason = Some("chargeback".into());
    assert_eq!(banned, want);
    assert_eq!(s.get_license(&a.id, &bare.id).await.unwrap(), Some(want));
    assert_eq!(s.session_by_token(&a.id, &lic_session.token).await.unwrap(), None);
    assert!(s.session_by_token(&a.id, &bystander.token).await.unwrap().is_some());
    let paused = s
        .set_license_status(&a.id, &bare.id, LicenseStatus::Banned, LicenseStatus::Paused, Some("ignored"), &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(paused.status, LicenseStatus::Paused);
    assert_eq!(paused.ban_reason, None);
    assert_eq!(
        s.set_license_status(&other_app.id, &bare.id, LicenseStatus::Paused, LicenseStatus::Banned, None, &[])
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_license(&a.id, &bare.id).await.unwrap().unwrap().status, LicenseStatus::Paused);

    // Device reset, scoped.
    assert_eq!(s.reset_license_devices(&other_app.id, &full.id).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &full.id).await.unwrap().unwrap().devices, full.devices);
    let reset = s.reset_license_devices(&a.id, &full.id).await.unwrap().unwrap();
    let mut want = full.clone();
    want.devices.clear();
    assert_eq!(reset, want);
    assert_eq!(s.get_license(&a.id, &full.id).await.unwrap(), Some(want));

    // Delete, scoped.
    assert!(!s.delete_license(&other_app.id, &full.id, &[]).await.unwrap());
    assert!(s.delete_license(&a.id, &full.id, &[]).await.unwrap());
    assert!(!s.delete_license(&a.id, &full.id, &[]).await.unwrap());
    assert_eq!(s.get_license(&a.id, &full.id).await.unwrap(), None);
    assert!(s.get_license(&a.id, &bare.id).await.unwrap().is_some());
}

/// Listing totals stay exact through every kind of write to licenses.
pub async fn license_totals<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let b = app(&owner.id);
    s.create_app(&b).await.unwrap();
    assert!(totals_match(s, &a.id, "a new app").await.is_empty());

    // A batch of several statuses, across the backend's insert chunks.
    let batch: Vec<License> = (0..1250)
        .map(|i| {
            let mut l = license(&a.id, &format!("TOT-{i:05}"));
            l.status = match i % 10 {
                0..=5 => LicenseStatus::Unused,
                6 | 7 => LicenseStatus::Used,
                8 => LicenseStatus::Expired,
                _ => LicenseStatus::Banned,
            };
            l
        })
        .collect();
    s.insert_licenses(&batch).await.unwrap();
    let rows = totals_match(s, &a.id, "after a batch insert").await;
    assert_eq!(rows.len(), 1250);
    s.insert_licenses(&[license(&b.id, "TOT-B-1"), license(&b.id, "TOT-B-2")]).await.unwrap();
    assert_eq!(totals_match(s, &b.id, "the other app").await.len(), 2);
    assert_eq!(totals_match(s, &a.id, "after another app's insert").await.len(), 1250);

    // A batch that fails inserts nothing, and counts nothing.
    let failing = vec![license(&a.id, "TOT-NEW"), license(&a.id, "TOT-00001")];
    assert_conflict(s.insert_licenses(&failing).await, constraint::LICENSE_APP_KEY);
    assert_eq!(totals_match(s, &a.id, "after a refused batch").await.len(), 1250);

    // Status changes, each kind.
    let unused = batch[0].id.clone();
    let used = batch[6].id.clone();
    s.set_license_status(&a.id, &unused, LicenseStatus::Unused, LicenseStatus::Banned, Some("fraud"), &[])
        .await
        .unwrap()
        .unwrap();
    totals_match(s, &a.id, "after a ban").await;
    s.set_license_status(&a.id, &unused, LicenseStatus::Banned, LicenseStatus::Unused, None, &[])
        .await
        .unwrap()
        .unwrap();
    totals_match(s, &a.id, "after an unban").await;
    s.set_license_status(&a.id, &used, LicenseStatus::Used, LicenseStatus::Paused, None, &[]).await.unwrap().unwrap();
    totals_match(s, &a.id, "after a pause").await;
    s.set_license_status(&a.id, &used, LicenseStatus::Paused, LicenseStatus::Used, None, &[]).await.unwrap().unwrap();
    totals_match(s, &a.id, "after an unpause").await;
    s.set_license_status(&a.id, &used, LicenseStatus::Used, LicenseStatus::Used, None, &[]).await.unwrap().unwrap();
    totals_match(s, &a.id, "after setting the status it already had").await;
    s.set_license_status(&a.id, &unused, LicenseStatus::Unused, LicenseStatus::Banned, None, &[])
        .await
        .unwrap()
        .unwrap();
    s.set_license_status(&a.id, &unused, LicenseStatus::Banned, LicenseStatus::Paused, None, &[])
        .await
        .unwrap()
        .unwrap();
    totals_match(s, &a.id, "after banned to paused").await;
    // Out of scope or absent: nothing changes.
    assert_eq!(
        s.set_license_status(&b.id, &used, LicenseStatus::Used, LicenseStatus::Banned, None, &[]).await.unwrap(),
        None
    );
    assert_eq!(
        s.set_license_status(&a.id, "lic_missing", LicenseStatus::Unused, LicenseStatus::Banned, None, &[])
            .await
            .unwrap(),
        None
    );
    totals_match(s, &a.id, "after status changes that found nothing").await;
    assert_eq!(totals_match(s, &b.id, "the other app, after status changes").await.len(), 2);

    // Deletes: of an unused license, of a banned one, of a paused one; refused ones change nothing.
    assert!(s.delete_license(&a.id, &batch[1].id, &[]).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after a delete").await.len(), 1249);
    let banned = batch[9].id.clone();
    assert_eq!(s.get_license(&a.id, &banned).await.unwrap().unwrap().status, LicenseStatus::Banned);
    assert!(s.delete_license(&a.id, &banned, &[]).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after deleting a banned license").await.len(), 1248);
    assert!(s.delete_license(&a.id, &unused, &[]).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after deleting a paused license").await.len(), 1247);
    assert!(!s.delete_license(&a.id, &banned, &[]).await.unwrap());
    assert!(!s.delete_license(&b.id, &used, &[]).await.unwrap());
    assert_eq!(totals_match(s, &a.id, "after deletes that found nothing").await.len(), 1247);

    // Back to a count seen before (the counts may keep rows at zero); keys freed by deletes can
    // be used again.
    s.insert_licenses(&[license(&a.id, "TOT-00001")]).await.unwrap();
    assert_eq!(totals_match(s, &a.id, "after re-using a deleted key").await.len(), 1248);
    let banned_only = LicenseFilter { status: Some(LicenseStatus::Banned), ..Default::default() };
    let (banned_rows, _) = all_rows(s, &a.id, &banned_only).await;
    for l in &banned_rows {
        assert!(s.delete_license(&a.id, &l.id, &[]).await.unwrap());
    }
    let left = s.list_licenses(&a.id, &banned_only, page(1, 1)).await.unwrap();
    assert_eq!((left.total, left.items.len()), (0, 0), "no banned license left");
    totals_match(s, &a.id, "after deleting every banned license").await;

    // The filtered listings that are always counted agree too.
    let (all, _) = all_rows(s, &a.id, &LicenseFilter::default()).await;
    let by_seller = LicenseFilter { created_by: Some("seller_fixture".into()), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &by_seller, page(1, 1)).await.unwrap().total, all.len() as u64);
    let search = LicenseFilter { search: Some("tot-".into()), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &search, page(1, 1)).await.unwrap().total, all.len() as u64);

    // Deleting the app takes its licenses and their totals; a new app starts at zero.
    assert!(s.delete_app(&owner.id, &a.id).await.unwrap());
    assert!(totals_match(s, &a.id, "after deleting the app").await.is_empty());
    assert_eq!(totals_match(s, &b.id, "the other app, after the delete").await.len(), 2);

    // Concurrent writers to one app's counts lose no update.
    let c = app(&owner.id);
    s.create_app(&c).await.unwrap();
    let seeded: Vec<License> = (0..30).map(|i| license(&c.id, &format!("CONC-{i:03}"))).collect();
    s.insert_licenses(&seeded).await.unwrap();
    let mut tasks = Vec::new();
    for (i, l) in seeded.iter().enumerate() {
        let (s, app_id, id) = (s, c.id.clone(), l.id.clone());
        tasks.push(async move {
            match i % 3 {
                0 => assert!(s
                    .set_license_status(&app_id, &id, LicenseStatus::Unused, LicenseStatus::Banned, None, &[])
                    .await
                    .unwrap()
                    .is_some()),
                1 => assert!(s.delete_license(&app_id, &id, &[]).await.unwrap()),
                _ => s.insert_licenses(&[license(&app_id, &format!("CONC-NEW-{i:03}"))]).await.unwrap(),
            }
        });
    }
    futures::future::join_all(tasks).await;
    assert_eq!(totals_match(s, &c.id, "after concurrent writes").await.len(), 30);
}

/// Keyset pagination: walking a listing by cursor gives what walking it by pages gives.
pub async fn license_cursor<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other = app(&owner.id);
    s.create_app(&other).await.unwrap();

    // 5 instants, several licenses in each millisecond, so most of the order is decided by the
    // id. Some ids differ only in case or punctuation: byte order (`str`'s), not a locale's.
    let base = now() - Duration::hours(2);
    let mut all: Vec<License> = Vec::new();
    for i in 0..37 {
        let mut l = license(&a.id, &format!("CUR-{i:03}"));
        l.created_at = base + Duration::milliseconds(i64::from(i % 5));
        l.status = if i % 3 == 0 { LicenseStatus::Used } else { LicenseStatus::Unused };
        l.note = (i % 4 == 0).then(|| "gift".to_owned());
        all.push(l);
    }
    for (n, id) in ["lic_Zeta", "lic_alpha", "lic_Alpha", "lic__under", "lic_-dash", "lic_0zero"].iter().enumerate() {
        let mut l = license(&a.id, &format!("CUR-X{n}"));
        l.id = (*id).to_owned();
        l.created_at = base + Duration::milliseconds(2);
        all.push(l);
    }
    s.insert_licenses(&all).await.unwrap();
    s.insert_licenses(&[license(&other.id, "CUR-OTHER")]).await.unwrap();
    let ordered = newest_first(&all, |l| (l.created_at, l.id.clone()));

    let filters = [
        LicenseFilter::default(),
        LicenseFilter { status: Some(LicenseStatus::Used), ..Default::default() },
        LicenseFilter { search: Some("gift".into()), ..Default::default() },
        LicenseFilter { created_by: Some("seller_fixture".into()), ..Default::default() },
    ];
    for filter in &filters {
        let want: Vec<License> = ordered
            .iter()
            .filter(|l| filter.status.is_none_or(|st| l.status == st))
            .filter(|l| filter.search.is_none() || l.note.as_deref() == Some("gift"))
            .cloned()
            .collect();
        let (by_pages, _) = all_rows(s, &a.id, filter).await;
        assert_eq!(by_pages, want, "{filter:?}: by pages");

        for limit in [1, 4, 7, 100] {
            let mut by_cursor: Vec<License> = Vec::new();
            let mut cursor = LicenseFilter { after: None, ..filter.clone() };
            // The page number is ignored once there is a cursor: ask for a far one.
            let mut p = 1;
            loop {
                let got = s.list_licenses(&a.id, &cursor, page(p, limit)).await.unwrap();
                assert_eq!(got.total, want.len() as u64, "{filter:?}, limit {limit}: total ignores the cursor");
                assert!(got.items.len() <= limit as usize);
                let Some(last) = got.items.last() else { break };
                cursor.after = Some(LicenseCursor::of(last));
                p = 1000;
                by_cursor.extend(got.items);
                assert!(by_cursor.len() <= want.len(), "{filter:?}, limit {limit}: the walk does not end");
            }
            assert_eq!(by_cursor, want, "{filter:?}, limit {limit}: by cursor");
        }
    }

    // After the last license: nothing. After a position past the newest: everything.
    let last = LicenseCursor::of(ordered.last().unwrap());
    let after_last = LicenseFilter { after: Some(last), ..Default::default() };
    assert!(s.list_licenses(&a.id, &after_last, page(1, 100)).await.unwrap().items.is_empty());
    let future = LicenseCursor { created_at: now() + Duration::days(1), id: String::new() };
    let from_top = LicenseFilter { after: Some(future), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &from_top, page(1, 100)).await.unwrap().items, ordered);

    // A cursor is a position, not a license: after its license is deleted it still leads on.
    let mid = &ordered[20];
    assert!(s.delete_license(&a.id, &mid.id, &[]).await.unwrap());
    let after_mid = LicenseFilter { after: Some(LicenseCursor::of(mid)), ..Default::default() };
    let got = s.list_licenses(&a.id, &after_mid, page(1, 3)).await.unwrap();
    assert_eq!(got.items, ordered[21..24].to_vec());
    assert_eq!(got.total, ordered.len() as u64 - 1);

    // Same position, equal created_at: only ids strictly below come after.
    let tie = LicenseCursor { created_at: base + Duration::milliseconds(2), id: "lic_Zeta".into() };
    let got = s
        .list_licenses(&a.id, &LicenseFilter { after: Some(tie.clone()), ..Default::default() }, page(1, 100))
        .await
        .unwrap();
    let want: Vec<License> = ordered
        .iter()
        .filter(|l| l.id != mid.id)
        .filter(|l| (l.created_at, l.id.as_str()) < (tie.created_at, tie.id.as_str()))
        .cloned()
        .collect();
    assert_eq!(got.items, want);
    assert!(got.items.iter().all(|l| l.id != "lic_alpha" && l.id != "lic__under"), "lowercase sorts after Z");

    // Scoped: a cursor does not reach another app's licenses.
    let got = s.list_licenses(&other.id, &from_top, page(1, 100)).await.unwrap();
    assert_eq!(got.items.len(), 1);
    assert_eq!(got.total, 1);
}

/// A search reads its matches through the key and note indexes when they are few and counts
/// them exactly; past `SEARCH_COUNT_CAP` it says "more than" and still lists every match, in
/// order, by page and by cursor.
pub async fn license_search<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let other = app(&owner.id);
    s.create_app(&other).await.unwrap();
    let cap = usize::try_from(SEARCH_COUNT_CAP).unwrap();
    let base = now() - Duration::hours(2);
    let mut all = Vec::new();
    for i in 0..cap + 400 {
        let mut l = license(&a.id, &format!("MANY-{i:05}"));
        l.created_at = base + Duration::milliseconds(i as i64);
        l.note = Some(if i % 100 != 3 { "Bulk order".into() } else { format!("order {i}") });
        if i % 1000 == 7 {
            l.status = LicenseStatus::Banned;
        }
        all.push(l);
    }
    for i in 0..5 {
        let mut l = license(&a.id, &format!("FEW-{i}"));
        l.created_at = base + Duration::milliseconds(i);
        l.note = Some("bulk buyer".into());
        all.push(l);
    }
    s.insert_licenses(&all).await.unwrap();
    // Another app's matches never show.
    let theirs: Vec<License> = (0..20).map(|i| license(&other.id, &format!("MANY-X{i}"))).collect();
    s.insert_licenses(&theirs).await.unwrap();
    let ordered = newest_first(&all, |l| (l.created_at, l.id.clone()));
    let matching = |f: &dyn Fn(&License) -> bool| ordered.iter().filter(|l| f(l)).cloned().collect::<Vec<_>>();
    let starts = |text: &Option<String>, p: &str| text.as_deref().is_some_and(|t| t.to_lowercase().starts_with(p));

    let cases: Vec<(LicenseFilter, Vec<License>, bool)> = vec![
        // Many keys: the total is capped, the listing is whole.
        (
            LicenseFilter { search: Some("many-".into()), ..Default::default() },
            matching(&|l| l.key.starts_with("MANY-")),
            true,
        ),
        // Many notes ("bulk order") and a few more ("bulk buyer").
        (
            LicenseFilter { search: Some("BULK".into()), ..Default::default() },
            matching(&|l| starts(&l.note, "bulk")),
            true,
        ),
        // Few: counted exactly.
        (
            LicenseFilter { search: Some("few-".into()), ..Default::default() },
            matching(&|l| l.key.starts_with("FEW-")),
            false,
        ),
        (
            LicenseFilter { search: Some("bulk b".into()), ..Default::default() },
            matching(&|l| starts(&l.note, "bulk b")),
            false,
        ),
        (
            LicenseFilter { search: Some("MANY-0001".into()), ..Default::default() },
            matching(&|l| l.key.starts_with("MANY-0001")),
            false,
        ),
        // Many match the text, few with the status as well: counted exactly.
        (
            LicenseFilter { status: Some(LicenseStatus::Banned), search: Some("many".into()), ..Default::default() },
            matching(&|l| l.status == LicenseStatus::Banned && l.key.starts_with("MANY")),
            false,
        ),
        (
            LicenseFilter { status: Some(LicenseStatus::Unused), search: Some("order 1".into()), ..Default::default() },
            matching(&|l| l.status == LicenseStatus::Unused && starts(&l.note, "order 1")),
            false,
        ),
    ];
    for (filter, want, capped) in cases {
        assert!(!want.is_empty(), "{filter:?}");
        assert_eq!(want.len() > cap, capped, "{filter:?}: the fixture");
        let first = s.list_licenses(&a.id, &filter, page(1, 100)).await.unwrap();
        let total = if capped { SEARCH_COUNT_CAP + 1 } else { want.len() as u64 };
        assert_eq!(first.total, total, "{filter:?}: total");
        assert_eq!(first.items, want[..want.len().min(100)], "{filter:?}: first page");
        let second = s.list_licenses(&a.id, &filter, page(2, 100)).await.unwrap();
        assert_eq!(second.items, want[want.len().min(100)..want.len().min(200)], "{filter:?}: second page");
        // Every match, by cursor, in order.
        let mut by_cursor = Vec::new();
        let mut cursor = filter.clone();
        loop {
            let got = s.list_licenses(&a.id, &cursor, page(1, 100)).await.unwrap();
            assert_eq!(got.total, total, "{filter:?}: total beside a cursor");
            let Some(last) = got.items.last() else { break };
            cursor.after = Some(LicenseCursor::of(last));
            by_cursor.extend(got.items);
        }
        assert_eq!(by_cursor.len(), want.len(), "{filter:?}: by cursor");
        assert!(by_cursor == want, "{filter:?}: by cursor, in order");
    }
}
