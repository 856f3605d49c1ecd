//! Writes under real concurrency: each rule holds however the calls interleave.

use super::*;

/// Single-use and uniqueness under real concurrency: tasks start together behind a barrier.
pub async fn concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 40;
    let (owner, a) = seller_with_app(s.as_ref()).await;
    let owner = owner.id;

    // One refresh token, 40 consumers: exactly one wins, nobody errors.
    let token = refresh_token(&owner, &"7".repeat(64), now() + Duration::days(1));
    s.insert_refresh_token(&token).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (s, barrier, hash) = (s.clone(), barrier.clone(), token.token_hash.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.consume_refresh_token(&hash, now()).await
            })
        })
        .collect();
    let mut winners = 0;
    for t in futures::future::join_all(tasks).await {
        match t.unwrap() {
            Ok(RefreshUse::Fresh { seller_id, .. }) => {
                assert_eq!(seller_id, owner);
                winners += 1;
            }
            Ok(RefreshUse::Reused { .. } | RefreshUse::Invalid) => {}
            Err(e) => panic!("consume_refresh_token failed under concurrency: {e:?}"),
        }
    }
    assert_eq!(winners, 1, "a refresh token is consumed exactly once");

    // One username (in any case), 40 registrations: exactly one is taken.
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            let name = if i % 2 == 0 { "Racer" } else { "rACER" };
            let u = user(&a.id, name);
            tokio::spawn(async move {
                barrier.wait().await;
                s.create_user(&u, &[]).await
            })
        })
        .collect();
    let (mut ok, mut conflicts) = (0, 0);
    for t in futures::future::join_all(tasks).await {
        match t.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict { constraint }) => {
                assert_eq!(constraint, constraint::USER_APP_USERNAME);
                conflicts += 1;
            }
            Err(e) => panic!("create_user failed under concurrency: {e:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, N - 1));
    assert_eq!(s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap().total, 1);

    // One key, 10 batches: exactly one batch lands.
    let barrier = Arc::new(Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            let batch = vec![license(&a.id, &format!("RACE-OWN-{i}")), license(&a.id, "RACE-SHARED")];
            tokio::spawn(async move {
                barrier.wait().await;
                s.insert_licenses(&batch).await
            })
        })
        .collect();
    let results: Vec<_> = futures::future::join_all(tasks).await.into_iter().map(|t| t.unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert_conflict(r, constraint::LICENSE_APP_KEY);
    }
    assert_eq!(s.list_licenses(&a.id, &LicenseFilter::default(), page(1, 100)).await.unwrap().total, 2);

    // 20 concurrent one-day extensions add up to 20 days.
    let t = now();
    let mut sub = user(&a.id, "subscriber");
    sub.expires_at = Some(t + Duration::days(1));
    s.create_user(&sub, &[]).await.unwrap();
    let barrier = Arc::new(Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), sub.id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.extend_user(&app_id, &id, 1, t).await
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        assert!(t.unwrap().unwrap().is_some());
    }
    assert_eq!(s.get_user(&a.id, &sub.id).await.unwrap().unwrap().expires_at, Some(t + Duration::days(21)));
}

/// Redemption under real concurrency: a key is consumed once, a name taken once, a nonce new once,
/// a device list never past its limit.
pub async fn redemption_concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 40;
    let (owner, _) = seller_with_app(s.as_ref()).await;
    let fresh_app = || {
        let s = s.clone();
        let owner_id = owner.id.clone();
        async move {
            let a = app(&owner_id);
            s.create_app(&a).await.unwrap();
            a
        }
    };
    let t = now();
    let act = Activation { at: t, expires_at: Some(t + Duration::days(30)), device: None, session: None };

    // One key, 40 registrations under 40 names: one registers, the rest find the key taken.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-REG");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let users: Vec<User> = (0..N).map(|i| user(&a.id, &format!("racer{i:02}"))).collect();
    let results = race(&s, N, |s, i| {
        let (u, key_id, act) = (users[i].clone(), key.id.clone(), act.clone());
        async move { s.register_with_license(&u, &key_id, &act, None, &[]).await }
    })
    .await;
    let mut winners = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Ok(RegisterOutcome::Registered) => winners.push(i),
            Ok(RegisterOutcome::LicenseTaken) => {}
            other => panic!("register_with_license under concurrency: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one key registers one user: {winners:?}");
    let listed = s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items, vec![users[winners[0]].clone()]);
    let got = s.get_license(&a.id, &key.id).await.unwrap().unwrap();
    assert_eq!((got.status, got.user_id), (LicenseStatus::Used, Some(users[winners[0]].id.clone())));
    totals_match(s.as_ref(), &a.id, "after 40 registrations on one key").await;

    // One name (in any case), 40 keys: one registers, the rest find the name taken, and only the
    // winner's key is used.
    let a = fresh_app().await;
    let keys: Vec<License> = (0..N).map(|i| license(&a.id, &format!("RACE-NAME-{i:02}"))).collect();
    s.insert_licenses(&keys).await.unwrap();
    let results = race(&s, N, |s, i| {
        let u = user(&a.id, if i % 2 == 0 { "Taken" } else { "tAKEN" });
        let (key_id, act) = (keys[i].id.clone(), act.clone());
        async move { (u.id.clone(), s.register_with_license(&u, &key_id, &act, None, &[]).await) }
    })
    .await;
    let mut winners = Vec::new();
    for (i, (user_id, r)) in results.into_iter().enumerate() {
        match r {
            Ok(RegisterOutcome::Registered) => winners.push((i, user_id)),
            Ok(RegisterOutcome::UsernameTaken) => {}
            other => panic!("register_with_license under concurrency: {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "one name is taken once");
    let (won, winner_id) = winners.pop().unwrap();
    assert_eq!(s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap().total, 1);
    for (i, k) in keys.iter().enumerate() {
        let got = s.get_license(&a.id, &k.id).await.unwrap().unwrap();
        if i == won {
            assert_eq!((got.status, got.user_id), (LicenseStatus::Used, Some(winner_id.clone())));
        } else {
            assert_eq!(got, k.clone(), "a refused registration leaves its key as it was");
        }
    }
    let rows = totals_match(s.as_ref(), &a.id, "after 40 registrations of one name").await;
    assert_eq!(rows.iter().filter(|l| l.status == LicenseStatus::Unused).count(), N - 1);
    let used = LicenseFilter { status: Some(LicenseStatus::Used), ..Default::default() };
    assert_eq!(s.list_licenses(&a.id, &used, page(1, 1)).await.unwrap().total, 1);

    // One key, 40 first uses by key login: one activates it.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-ACT");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let results = race(&s, N, |s, i| {
        let (app_id, key_id) = (a.id.clone(), key.id.clone());
        let act = Activation { device: Some(format!("HWID-{i:02}")), ..act.clone() };
        async move { s.activate_license(&app_id, &key_id, &act, &[]).await.unwrap() }
    })
    .await;
    let won: Vec<License> = results.into_iter().flatten().collect();
    assert_eq!(won.len(), 1, "a key is activated once");
    assert_eq!(s.get_license(&a.id, &key.id).await.unwrap(), Some(won[0].clone()));
    assert_eq!(won[0].devices.len(), 1);
    totals_match(s.as_ref(), &a.id, "after 40 activations of one key").await;

    // One nonce, 40 requests: one is new.
    let results =
        race(&s, N, |s, _| async move { s.remember_nonce("race-nonce", t + Duration::minutes(5)).await }).await;
    let new = results.into_iter().map(|r| r.unwrap()).filter(|fresh| *fresh).count();
    assert_eq!(new, 1, "a nonce is new once");

    // 40 batches at once, each holding the same 20 shared nonces (in a different order) and one
    // of its own: each shared nonce is new in exactly one batch, each own nonce in its batch.
    let results = race(&s, N, |s, i| async move {
        let mut batch: Vec<(String, _)> =
            (0..20).map(|k| (format!("shared-{}", (k + i) % 20), t + Duration::minutes(5))).collect();
        batch.push((format!("own-{i}"), t + Duration::minutes(5)));
        let seen = s.remember_nonces(&batch).await.unwrap();
        (batch, seen)
    })
    .await;
    let mut firsts = std::collections::HashMap::<String, usize>::new();
    for (batch, seen) in &results {
        assert_eq!(seen.len(), batch.len());
        assert!(seen[20], "a batch's own nonce is new");
        for ((nonce, _), fresh) in batch.iter().zip(seen).take(20) {
            *firsts.entry(nonce.clone()).or_default() += usize::from(*fresh);
        }
    }
    assert_eq!(firsts.len(), 20);
    assert!(firsts.values().all(|n| *n == 1), "each shared nonce is new once: {firsts:?}");

    // 20 devices at once onto a license and a user allowing 3: exactly 3 bound.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-BIND");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let mut binder = user(&a.id, "binder");
    binder.devices = Vec::new();
    s.create_user(&binder, &[]).await.unwrap();
    let results = race(&s, 40, |s, i| {
        let (app_id, key_id, user_id) = (a.id.clone(), key.id.clone(), binder.id.clone());
        async move {
            let device = format!("DEV-{:02}", i / 2);
            if i.is_multiple_of(2) {
                (device.clone(), s.bind_license_device(&app_id, &key_id, &device, 3).await.unwrap())
            } else {
                (device.clone(), s.bind_user_device(&app_id, &user_id, &device, 3).await.unwrap())
            }
        }
    })
    .await;
    let (on_license, on_user): (Vec<_>, Vec<_>) = results.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    for (what, results, mut bound) in [
        ("license", on_license, s.get_license(&a.id, &key.id).await.unwrap().unwrap().devices),
        ("user", on_user, s.get_user(&a.id, &binder.id).await.unwrap().unwrap().devices),
    ] {
        let mut added: Vec<String> = Vec::new();
        for (_, (device, outcome)) in results {
            match outcome {
                DeviceBinding::Added => added.push(device),
                DeviceBinding::LimitReached => {}
                other => panic!("{what}: unexpected {other:?}"),
            }
        }
        added.sort();
        bound.sort();
        assert_eq!(added.len(), 3, "{what}: exactly the limit is added");
        assert_eq!(bound, added, "{what}: the list holds exactly the added devices");
    }

    // One key, 10 extensions of one user: one lands, and the time is added once.
    let a = fresh_app().await;
    let key = license(&a.id, "RACE-EXT");
    s.insert_licenses(std::slice::from_ref(&key)).await.unwrap();
    let mut sub = user(&a.id, "subscriber");
    sub.expires_at = Some(t + Duration::days(10));
    s.create_user(&sub, &[]).await.unwrap();
    let results = race(&s, 10, |s, _| {
        let (app_id, user_id, key_id, act) = (a.id.clone(), sub.id.clone(), key.id.clone(), act.clone());
        async move { s.extend_with_license(&app_id, &user_id, &key_id, &act, Some(30 * DAY_MS), &[]).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().flatten().count(), 1, "a key extends once");
    let got = s.get_user(&a.id, &sub.id).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(t + Duration::days(40)));

    // 10 keys extending one user at once: every one lands and no time is lost.
    let keys: Vec<License> = (0..10).map(|i| license(&a.id, &format!("RACE-EXT-{i}"))).collect();
    s.insert_licenses(&keys).await.unwrap();
    let results = race(&s, 10, |s, i| {
        let (app_id, user_id, key_id, act) = (a.id.clone(), sub.id.clone(), keys[i].id.clone(), act.clone());
        async move { s.extend_with_license(&app_id, &user_id, &key_id, &act, Some(DAY_MS), &[]).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().flatten().count(), 10);
    let got = s.get_user(&a.id, &sub.id).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(t + Duration::days(50)));
    let rows = totals_match(s.as_ref(), &a.id, "after concurrent extensions").await;
    assert!(rows.iter().all(|l| l.status == LicenseStatus::Used && l.user_id.as_deref() == Some(sub.id.as_str())));
}

/// Quotas hold under concurrency: 20 capped session creates with room for 3 create 3, and 20
/// registers into an app capped at 4 users register 4 and consume 4 keys.
pub async fn quota_concurrency<S: Store>(s: Arc<S>) {
    const N: usize = 20;
    let (_, a) = seller_with_app(s.as_ref()).await;
    let t = now();
    // One live session and one expired one already: the expired one does not count.
    s.create_session(&session(&a.id, None, t + Duration::hours(1)), &[]).await.unwrap();
    s.create_session(&session(&a.id, None, t - Duration::hours(1)), &[]).await.unwrap();
    let results = race(&s, N, |s, _| {
        let (sess, t) = (session(&a.id, None, t + Duration::hours(24)), t);
        async move { s.create_session_capped(&sess, 4, t, &[]).await }
    })
    .await;
    let created = results.into_iter().map(|r| r.unwrap()).filter(|c| *c).count();
    assert_eq!(created, 3, "room for 3 under a quota of 4 with 1 live");
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 4);

    let keys: Vec<License> = (0..N).map(|i| license(&a.id, &format!("QUOTA-{i:02}"))).collect();
    s.insert_licenses(&keys).await.unwrap();
    let act = Activation { at: t, expires_at: None, device: None, session: None };
    let results = race(&s, N, |s, i| {
        let (u, key_id, act) = (user(&a.id, &format!("quota{i:02}")), keys[i].id.clone(), act.clone());
        async move { s.register_with_license(&u, &key_id, &act, Some(4), &[]).await }
    })
    .await;
    let mut registered = 0;
    for r in results {
        match r.unwrap() {
            RegisterOutcome::Registered => registered += 1,
            RegisterOutcome::QuotaReached => {}
            other => panic!("register under a quota: {other:?}"),
        }
    }
    assert_eq!(registered, 4);
    let users = s.list_users(&a.id, &UserFilter::default(), page(1, 100)).await.unwrap();
    assert_eq!(users.total, 4);
    let used = LicenseFilter { status: Some(LicenseStatus::Used), ..LicenseFilter::default() };
    assert_eq!(s.list_licenses(&a.id, &used, page(1, 100)).await.unwrap().total, 4, "refused registers consume no key");
}
