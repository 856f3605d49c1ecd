//! App users, their variables and look-alike usernames.

use super::*;

pub async fn users<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;

    // Round trip, filled and empty.
    let full = stored_user(s, &a.id, "Alice").await;
    let mut bare = user(&a.id, "bob");
    bare.email = None;
    bare.expires_at = None;
    bare.devices = Vec::new();
    bare.max_devices = 7;
    bare.last_ip = None;
    bare.status = UserStatus::Banned;
    bare.ban_reason = Some("spam".into());
    bare.last_login = None;
    s.create_user(&bare, &[]).await.unwrap();
    for u in [&full, &bare] {
        assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
        assert_eq!(s.get_user(&b.id, &u.id).await.unwrap(), None);
        assert_eq!(s.user_by_username(&a.id, &u.username).await.unwrap(), Some(u.clone()));
        assert_eq!(s.user_by_username(&b.id, &u.username).await.unwrap(), None);
    }
    assert_eq!(
        s.user_by_username(&a.id, "ALICE").await.unwrap(),
        Some(full.clone()),
        "usernames compare case-insensitively"
    );
    assert_eq!(s.user_by_username(&a.id, "nobody").await.unwrap(), None);
    assert_eq!(s.get_user(&a.id, "usr_missing").await.unwrap(), None);

    assert_conflict(s.create_user(&user(&a.id, "aLiCe"), &[]).await, constraint::USER_APP_USERNAME);
    s.create_user(&user(&b.id, "alice"), &[]).await.unwrap();
    assert!(s.create_user(&user("app_missing", "x"), &[]).await.is_err(), "a user needs an existing app");

    // Listing.
    let list_app = app(&a.owner_id);
    s.create_app(&list_app).await.unwrap();
    let base = now() - Duration::hours(5);
    let spec: [(&str, Option<&str>, UserStatus, i64); 6] = [
        ("zed", Some("zed@corp.example"), UserStatus::Active, 0),
        ("Mallory", None, UserStatus::Banned, 1),
        ("carol_99", Some("carol@home.example"), UserStatus::Active, 2),
        ("carol999", Some("c9@CORP.example"), UserStatus::Paused, 2),
        ("dave%", Some("dave@home.example"), UserStatus::Active, 3),
        ("erin", Some("erin@corp.example"), UserStatus::Active, 4),
    ];
    let all: Vec<User> = spec
        .iter()
        .map(|(name, email, status, secs)| {
            let mut u = user(&list_app.id, name);
            u.email = email.map(Into::into);
            u.status = *status;
            u.created_at = base + Duration::seconds(*secs);
            u
        })
        .collect();
    for u in &all {
        s.create_user(u, &[]).await.unwrap();
    }
    let ordered = newest_first(&all, |u| (u.created_at, u.id.clone()));
    let names = |us: &[User]| us.iter().map(|u| u.username.clone()).collect::<Vec<_>>();
    let none = UserFilter::default();
    let mut paged = Vec::new();
    for p in 1..=2 {
        let got = s.list_users(&list_app.id, &none, page(p, 4)).await.unwrap();
        assert_eq!(got.total, 6);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    let carols: Vec<String> =
        ordered.iter().filter(|u| u.username.starts_with("carol")).map(|u| u.username.clone()).collect();
    let cases: Vec<(UserFilter, Vec<String>)> = vec![
        (UserFilter { status: Some(UserStatus::Active), search: None }, strs(&["erin", "dave%", "carol_99", "zed"])),
        (
            UserFilter { status: None, search: Some("CAROL".into()) },
            // Both carols share a created_at: the id breaks the tie.
            carols,
        ),
        (UserFilter { status: None, search: Some("l_9".into()) }, strs(&["carol_99"])),
        (UserFilter { status: None, search: Some("%".into()) }, strs(&["dave%"])),
        (UserFilter { status: None, search: Some("corp.example".into()) }, strs(&["erin", "carol999", "zed"])),
        (UserFilter { status: Some(UserStatus::Active), search: Some("CORP".into()) }, strs(&["erin", "zed"])),
        (UserFilter { status: Some(UserStatus::Banned), search: None }, strs(&["Mallory"])),
    ];
    for (filter, want) in cases {
        let got = s.list_users(&list_app.id, &filter, page(1, 100)).await.unwrap();
        assert_eq!(names(&got.items), want, "{filter:?}");
        assert_eq!(got.total, want.len() as u64, "{filter:?}");
    }
    assert_eq!(s.list_users(&b.id, &none, page(1, 100)).await.unwrap().total, 1);

    // Patches change only what they name.
    let patched =
        s.update_user(&a.id, &full.id, &UserPatch { level: Some(9), ..Default::default() }).await.unwrap().unwrap();
    let mut want = full.clone();
    want.level = 9;
    assert_eq!(patched, want);
    let patched = s
        .update_user(
            &a.id,
            &full.id,
            &UserPatch { email: Some(None), password_hash: Some("$argon2id$new".into()), ..Default::default() },
        )
        .await
        .unwrap()
        .unwrap();
    want.email = None;
    want.password_hash = "$argon2id$new".into();
    assert_eq!(patched, want);
    let patched = s
        .update_user(&a.id, &full.id, &UserPatch { email: Some(Some("new@mail.example".into())), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    want.email = Some("new@mail.example".into());
    assert_eq!(patched, want);
    assert_eq!(s.update_user(&a.id, &full.id, &UserPatch::default()).await.unwrap(), Some(want.clone()));
    assert_eq!(
        s.update_user(&b.id, &full.id, &UserPatch { level: Some(1), ..Default::default() }).await.unwrap(),
        None
    );
    assert_eq!(s.get_user(&a.id, &full.id).await.unwrap(), Some(want.clone()));

    // Status: banning or pausing ends the user's sessions, and only theirs.
    let t = now();
    let later = t + Duration::hours(1);
    let carl = stored_user(s, &a.id, "carl").await;
    let s_full = session(&a.id, Some(&full.id), later);
    let s_carl = session(&a.id, Some(&carl.id), later);
    s.create_session(&s_full, &[]).await.unwrap();
    s.create_session(&s_carl, &[]).await.unwrap();

    assert_eq!(
        s.set_user_status(&b.id, &full.id, UserStatus::Active, UserStatus::Banned, Some("x"), &[]).await.unwrap(),
        None
    );
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 2);
    let active =
        s.set_user_status(&a.id, &full.id, UserStatus::Active, UserStatus::Active, None, &[]).await.unwrap().unwrap();
    assert_eq!(active, want);
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 2);

    let banned = s
        .set_user_status(&a.id, &full.id, UserStatus::Active, UserStatus::Banned, Some("cheating"), &[])
        .await
        .unwrap()
        .unwrap();
    want.status = UserStatus::Banned;
    want.ban_reason = Some("cheating".into());
    assert_eq!(banned, want);
    assert_eq!(s.get_user(&a.id, &full.id).await.unwrap(), Some(want.clone()));
    assert_eq!(s.session_by_token(&a.id, &s_full.token).await.unwrap(), None);
    assert!(s.session_by_token(&a.id, &s_carl.token).await.unwrap().is_some());

    let s_carl2 = session(&a.id, Some(&carl.id), later);
    s.create_session(&s_carl2, &[]).await.unwrap();
    let paused =
        s.set_user_status(&a.id, &carl.id, UserStatus::Active, UserStatus::Paused, None, &[]).await.unwrap().unwrap();
    assert_eq!(paused.status, UserStatus::Paused);
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 0);

    // Devices.
    assert_eq!(s.reset_user_devices(&b.id, &full.id).await.unwrap(), None);
    let reset = s.reset_user_devices(&a.id, &full.id).await.unwrap().unwrap();
    want.devices.clear();
    assert_eq!(reset, want);
    assert_eq!(s.reset_user_devices(&a.id, &full.id).await.unwrap(), Some(want.clone()), "idempotent");

    // Extension: from now when expired, from the expiry when in the future, never from none.
    let t = now();
    let mut expired = user(&a.id, "expired");
    expired.expires_at = Some(t - Duration::days(5));
    let mut future = user(&a.id, "future");
    future.expires_at = Some(t + Duration::days(10));
    let mut forever = user(&a.id, "forever");
    forever.expires_at = None;
    for u in [&expired, &future, &forever] {
        s.create_user(u, &[]).await.unwrap();
    }
    let mut just_now = user(&a.id, "just-now");
    just_now.expires_at = Some(t);
    s.create_user(&just_now, &[]).await.unwrap();
    for (u, want) in [
        (&expired, Some(t + Duration::days(3))),
        (&future, Some(t + Duration::days(13))),
        (&forever, None),
        (&just_now, Some(t + Duration::days(3))),
    ] {
        let got = s.extend_user(&a.id, &u.id, 3, t).await.unwrap().unwrap();
        assert_eq!(got.expires_at, want, "{}", u.username);
    }
    assert_eq!(s.extend_user(&b.id, &future.id, 3, t).await.unwrap(), None);
    assert_eq!(s.get_user(&a.id, &future.id).await.unwrap().unwrap().expires_at, Some(t + Duration::days(13)));
    let rest = s.get_user(&a.id, &future.id).await.unwrap().unwrap();
    let mut want_future = future.clone();
    want_future.expires_at = Some(t + Duration::days(13));
    assert_eq!(rest, want_future, "extension touches nothing else");

    // Delete: sessions and variables go, licenses stay unlinked.
    let doomed = stored_user(s, &a.id, "doomed").await;
    let sess = session(&a.id, Some(&doomed.id), later);
    s.create_session(&sess, &[]).await.unwrap();
    s.set_user_variable(&user_variable(&a.id, &doomed.id, "k")).await.unwrap();
    let mut lic = license(&a.id, "LINKED-1");
    lic.user_id = Some(doomed.id.clone());
    lic.status = LicenseStatus::Used;
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();

    assert!(!s.delete_user(&b.id, &doomed.id).await.unwrap());
    assert!(s.get_user(&a.id, &doomed.id).await.unwrap().is_some());
    assert!(s.delete_user(&a.id, &doomed.id).await.unwrap());
    assert!(!s.delete_user(&a.id, &doomed.id).await.unwrap());
    assert_eq!(s.get_user(&a.id, &doomed.id).await.unwrap(), None);
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), None);
    assert_eq!(s.get_user_variable(&a.id, &doomed.id, "k").await.unwrap(), None);
    let mut unlinked = lic.clone();
    unlinked.user_id = None;
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(unlinked));
}

pub async fn user_variables<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let u = stored_user(s, &a.id, "alice").await;
    let other = stored_user(s, &a.id, "bob").await;
    let foreign = stored_user(s, &b.id, "carol").await;

    let v = user_variable(&a.id, &u.id, "theme");
    s.set_user_variable(&v).await.unwrap();
    assert_eq!(s.get_user_variable(&a.id, &u.id, "theme").await.unwrap(), Some(v.clone()));
    assert_eq!(s.get_user_variable(&a.id, &u.id, "THEME").await.unwrap(), None);
    assert_eq!(s.get_user_variable(&a.id, &other.id, "theme").await.unwrap(), None);
    assert_eq!(s.get_user_variable(&b.id, &u.id, "theme").await.unwrap(), None);

    // Overwrite.
    let mut v2 = v.clone();
    v2.value = "dark".into();
    v2.updated_at = now();
    s.set_user_variable(&v2).await.unwrap();
    assert_eq!(s.get_user_variable(&a.id, &u.id, "theme").await.unwrap(), Some(v2.clone()));

    // Sorted by key, per user.
    for key in ["zeta", "alpha", "Mid"] {
        s.set_user_variable(&user_variable(&a.id, &u.id, key)).await.unwrap();
    }
    s.set_user_variable(&user_variable(&a.id, &other.id, "other")).await.unwrap();
    let keys: Vec<String> = s.list_user_variables(&a.id, &u.id).await.unwrap().into_iter().map(|v| v.key).collect();
    assert_eq!(keys, vec!["Mid", "alpha", "theme", "zeta"]);
    assert!(s.list_user_variables(&b.id, &u.id).await.unwrap().is_empty());

    // A user of another app cannot be written through this app.
    assert_not_found(s.set_user_variable(&user_variable(&a.id, &foreign.id, "x")).await);
    assert_not_found(s.set_user_variable(&user_variable(&a.id, "usr_missing", "x")).await);
    assert!(s.list_user_variables(&b.id, &foreign.id).await.unwrap().is_empty());

    assert!(!s.delete_user_variable(&b.id, &u.id, "theme").await.unwrap());
    assert!(s.delete_user_variable(&a.id, &u.id, "theme").await.unwrap());
    assert!(!s.delete_user_variable(&a.id, &u.id, "theme").await.unwrap());
    assert_eq!(s.get_user_variable(&a.id, &u.id, "theme").await.unwrap(), None);
    assert_eq!(s.list_user_variables(&a.id, &u.id).await.unwrap().len(), 3);
}

/// Usernames are unique, and found, by their look-alike key (NFKC, case, confusables).
pub async fn username_keys<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let good = stored_user(s, &a.id, "gooduser").await;
    for alike in ["GoodUser", "\u{ff47}ooduser", "g\u{43e}\u{43e}duser", "g00duser"] {
        assert_conflict(s.create_user(&user(&a.id, alike), &[]).await, constraint::USER_APP_USERNAME);
        // ... and each finds the one account, shown as it was typed.
        let found = s.user_by_username(&a.id, alike).await.unwrap().unwrap();
        assert_eq!((found.id.as_str(), found.username.as_str()), (good.id.as_str(), "gooduser"), "{alike}");
    }
    // Another app may have its own.
    stored_user(s, &b.id, "g\u{43e}\u{43e}duser").await;
    assert!(s.user_by_username(&a.id, "gooduser2").await.unwrap().is_none());

    // The same for resellers.
    let r = reseller(&a.id, "Seller1");
    s.create_reseller(&r).await.unwrap();
    assert_conflict(s.create_reseller(&reseller(&a.id, "sellerl")).await, constraint::RESELLER_APP_USERNAME);
    assert_conflict(s.create_reseller(&reseller(&a.id, "\u{ff33}eller1")).await, constraint::RESELLER_APP_USERNAME);
    assert_eq!(s.reseller_by_username(&a.id, "SELLER1").await.unwrap().map(|x| x.id), Some(r.id.clone()));
    s.create_reseller(&reseller(&b.id, "seller1")).await.unwrap();
}

/// A license's own variables: per license, per app, overwritten in place, gone with the license.
pub async fn license_variables<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let lic = license(&a.id, "KEY-LV-AAAA");
    let other = license(&a.id, "KEY-LV-BBBB");
    let foreign = license(&b.id, "KEY-LV-CCCC");
    s.insert_licenses(&[lic.clone(), other.clone()]).await.unwrap();
    s.insert_licenses(std::slice::from_ref(&foreign)).await.unwrap();

    let at = now();
    let v = LicenseVariable {
        app_id: a.id.clone(),
        license_id: lic.id.clone(),
        key: "Theme".into(),
        value: "light".into(),
        updated_at: at,
    };
    s.set_license_variable(&v).await.unwrap();
    assert_eq!(s.get_license_variable(&a.id, &lic.id, "Theme").await.unwrap(), Some(v.clone()));
    assert_eq!(s.get_license_variable(&a.id, &lic.id, "theme").await.unwrap(), None);
    assert_eq!(s.get_license_variable(&a.id, &other.id, "Theme").await.unwrap(), None);
    assert_eq!(s.get_license_variable(&b.id, &lic.id, "Theme").await.unwrap(), None);

    // Overwrite in place.
    let v2 = LicenseVariable { value: "dark".into(), updated_at: at + Duration::milliseconds(5), ..v.clone() };
    s.set_license_variable(&v2).await.unwrap();
    assert_eq!(s.get_license_variable(&a.id, &lic.id, "Theme").await.unwrap(), Some(v2.clone()));

    // A license of another app, or none at all, cannot be written through this app.
    let through_a = LicenseVariable { license_id: foreign.id.clone(), ..v.clone() };
    assert_not_found(s.set_license_variable(&through_a).await);
    let missing = LicenseVariable { license_id: "lic_missing".into(), ..v.clone() };
    assert_not_found(s.set_license_variable(&missing).await);
    assert_eq!(s.get_license_variable(&b.id, &foreign.id, "Theme").await.unwrap(), None);

    // Gone with the license.
    assert!(s.delete_license(&a.id, &lic.id, &[]).await.unwrap());
    assert_eq!(s.get_license_variable(&a.id, &lic.id, "Theme").await.unwrap(), None);
}
