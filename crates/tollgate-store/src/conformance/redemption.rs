//! The client API: redeeming keys, binding devices, logins.

use super::*;

/// Redeeming keys: first use, register and extend, each all or nothing, totals kept.
pub async fn redemption<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let b = app(&owner.id);
    s.create_app(&b).await.unwrap();
    let t = now();

    let mut k_act = license(&a.id, "RED-ACT");
    k_act.level = 3;
    k_act.max_devices = 2;
    let k_plain = license(&a.id, "RED-PLAIN");
    let mut k_reg = license(&a.id, "RED-REG");
    k_reg.level = 4;
    let k_free = license(&a.id, "RED-FREE");
    let mut k_ext = license(&a.id, "RED-EXT");
    k_ext.level = 5;
    let k_ext2 = license(&a.id, "RED-EXT2");
    let mut k_life = license(&a.id, "RED-LIFE");
    k_life.duration = DurationType::Lifetime;
    let k_never = license(&a.id, "RED-NEVER");
    let k_left = license(&a.id, "RED-LEFT");
    let mut k_banned = license(&a.id, "RED-BANNED");
    k_banned.status = LicenseStatus::Banned;
    let keys = [&k_act, &k_plain, &k_reg, &k_free, &k_ext, &k_ext2, &k_life, &k_never, &k_left, &k_banned];
    s.insert_licenses(&keys.iter().map(|l| (*l).clone()).collect::<Vec<_>>()).await.unwrap();
    let k_b = license(&b.id, "RED-B");
    s.insert_licenses(std::slice::from_ref(&k_b)).await.unwrap();
    totals_match(s, &a.id, "before any redemption").await;

    // First use by key login: UNUSED -> USED with no user, the activation written.
    let act =
        Activation { at: t, expires_at: Some(t + Duration::days(30)), device: Some("HWID-A".into()), session: None };
    let want = activated(&k_act, &act, None);
    assert_eq!(s.activate_license(&a.id, &k_act.id, &act, &[]).await.unwrap(), Some(want.clone()));
    assert_eq!(s.get_license(&a.id, &k_act.id).await.unwrap(), Some(want.clone()));
    // Only once: a second first use writes nothing.
    let later =
        Activation { at: t + Duration::minutes(1), expires_at: None, device: Some("HWID-Z".into()), session: None };
    assert_eq!(s.activate_license(&a.id, &k_act.id, &later, &[]).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_act.id).await.unwrap(), Some(want));
    // No device: the (empty) list stays; no expiry: a lifetime activation.
    let bare = Activation { at: t, expires_at: None, device: None, session: None };
    let got = s.activate_license(&a.id, &k_plain.id, &bare, &[]).await.unwrap().unwrap();
    assert_eq!(got, activated(&k_plain, &bare, None));
    assert!(got.devices.is_empty());
    // Not UNUSED, another app's, missing: nothing.
    assert_eq!(s.activate_license(&a.id, &k_banned.id, &act, &[]).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_banned.id).await.unwrap(), Some(k_banned.clone()));
    assert_eq!(s.activate_license(&b.id, &k_reg.id, &act, &[]).await.unwrap(), None);
    assert_eq!(s.activate_license(&a.id, &k_b.id, &act, &[]).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_reg.id).await.unwrap(), Some(k_reg.clone()));
    assert_eq!(s.get_license(&b.id, &k_b.id).await.unwrap(), Some(k_b.clone()));
    assert_eq!(s.activate_license(&a.id, "lic_missing", &act, &[]).await.unwrap(), None);
    totals_match(s, &a.id, "after activations").await;

    // Register: the user inserted and the key linked to them, in one go.
    let mut newbie = user(&a.id, "Newbie");
    newbie.level = 4;
    newbie.devices = vec!["HWID-R".into()];
    newbie.max_devices = 3;
    let reg =
        Activation { at: t, expires_at: Some(t + Duration::days(7)), device: Some("HWID-R".into()), session: None };
    assert_eq!(
        s.register_with_license(&newbie, &k_reg.id, &reg, None, &[]).await.unwrap(),
        RegisterOutcome::Registered
    );
    assert_eq!(s.get_user(&a.id, &newbie.id).await.unwrap(), Some(newbie.clone()));
    let reg_want = activated(&k_reg, &reg, Some(&newbie.id));
    assert_eq!(s.get_license(&a.id, &k_reg.id).await.unwrap(), Some(reg_want.clone()));
    totals_match(s, &a.id, "after a registration").await;

    // The key again, under another name: refused, and the other user is not created.
    let second = user(&a.id, "second");
    assert_eq!(
        s.register_with_license(&second, &k_reg.id, &reg, None, &[]).await.unwrap(),
        RegisterOutcome::LicenseTaken
    );
    assert_eq!(s.get_user(&a.id, &second.id).await.unwrap(), None);
    assert_eq!(s.user_by_username(&a.id, "second").await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_reg.id).await.unwrap(), Some(reg_want));
    // A key used by key login, a banned key, another app's key, a missing key: the same.
    for key_id in [&k_act.id, &k_banned.id, &k_b.id, &"lic_missing".to_owned()] {
        assert_eq!(
            s.register_with_license(&second, key_id, &reg, None, &[]).await.unwrap(),
            RegisterOutcome::LicenseTaken,
            "{key_id}"
        );
    }
    assert_eq!(s.user_by_username(&a.id, "second").await.unwrap(), None);
    // The name taken (in any case) with a good key: refused, and the key stays UNUSED.
    let dup = user(&a.id, "NEWBIE");
    assert_eq!(
        s.register_with_license(&dup, &k_free.id, &reg, None, &[]).await.unwrap(),
        RegisterOutcome::UsernameTaken
    );
    assert_eq!(s.get_user(&a.id, &dup.id).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_free.id).await.unwrap(), Some(k_free.clone()));
    // The user's app is the scope: a user of app B cannot take app A's key.
    let foreign = user(&b.id, "Newbie");
    assert_eq!(
        s.register_with_license(&foreign, &k_free.id, &reg, None, &[]).await.unwrap(),
        RegisterOutcome::LicenseTaken
    );
    assert_eq!(s.get_user(&b.id, &foreign.id).await.unwrap(), None);
    assert_eq!(s.get_license(&a.id, &k_free.id).await.unwrap(), Some(k_free.clone()));
    totals_match(s, &a.id, "after refused registrations").await;
    assert_eq!(totals_match(s, &b.id, "the other app, after refused registrations").await.len(), 1);
    assert_eq!(s.list_users(&b.id, &UserFilter::default(), page(1, 10)).await.unwrap().total, 0);

    // Extend an active subscription: the key's time on top of the expiry, the higher level.
    let mut sub = user(&a.id, "sub");
    sub.level = 2;
    sub.expires_at = Some(t + Duration::days(10));
    s.create_user(&sub, &[]).await.unwrap();
    let ext = Activation { at: t, expires_at: Some(t + Duration::days(30)), device: None, session: None };
    let got = s.extend_with_license(&a.id, &sub.id, &k_ext.id, &ext, Some(30 * DAY_MS), &[]).await.unwrap();
    let mut sub_want = sub.clone();
    sub_want.level = 5;
    sub_want.expires_at = Some(t + Duration::days(40));
    assert_eq!(got, Some(sub_want.clone()));
    assert_eq!(s.get_user(&a.id, &sub.id).await.unwrap(), Some(sub_want.clone()));
    assert_eq!(s.get_license(&a.id, &k_ext.id).await.unwrap(), Some(activated(&k_ext, &ext, Some(&sub.id))));
    // Only once.
    assert_eq!(s.extend_with_license(&a.id, &sub.id, &k_ext.id, &ext, Some(DAY_MS), &[]).await.unwrap(), None);
    assert_eq!(s.get_user(&a.id, &sub.id).await.unwrap(), Some(sub_want.clone()));

    // A lapsed subscription starts again from now; a higher level is kept.
    let mut lapsed = user(&a.id, "lapsed");
    lapsed.level = 9;
    lapsed.expires_at = Some(t - Duration::days(3));
    s.create_user(&lapsed, &[]).await.unwrap();
    let got = s.extend_with_license(&a.id, &lapsed.id, &k_ext2.id, &ext, Some(DAY_MS), &[]).await.unwrap().unwrap();
    assert_eq!((got.level, got.expires_at), (9, Some(t + Duration::days(1))));

    // A lifetime key: the subscription never ends from then on, and a timed key keeps it so.
    let life = Activation { at: t, expires_at: None, device: None, session: None };
    let got = s.extend_with_license(&a.id, &sub.id, &k_life.id, &life, None, &[]).await.unwrap().unwrap();
    assert_eq!((got.level, got.expires_at), (5, None));
    let got = s.extend_with_license(&a.id, &sub.id, &k_never.id, &ext, Some(DAY_MS), &[]).await.unwrap().unwrap();
    assert_eq!((got.level, got.expires_at), (5, None));
    assert_eq!(s.get_license(&a.id, &k_never.id).await.unwrap().unwrap().user_id, Some(sub.id.clone()));

    // No such user in the app, or the key in another app: nothing, and the key stays UNUSED.
    let stranger = stored_user(s, &b.id, "stranger").await;
    for (app_id, user_id) in [(&a.id, &stranger.id), (&a.id, &"usr_missing".to_owned()), (&b.id, &sub.id)] {
        assert_eq!(s.extend_with_license(app_id, user_id, &k_left.id, &ext, Some(DAY_MS), &[]).await.unwrap(), None);
    }
    assert_eq!(s.get_license(&a.id, &k_left.id).await.unwrap(), Some(k_left.clone()));
    assert_eq!(s.get_user(&b.id, &stranger.id).await.unwrap(), Some(stranger));
    assert_eq!(s.extend_with_license(&a.id, &sub.id, &k_banned.id, &ext, Some(DAY_MS), &[]).await.unwrap(), None);
    let rows = totals_match(s, &a.id, "after extensions").await;
    let used = rows.iter().filter(|l| l.status == LicenseStatus::Used).count();
    assert_eq!(used, 7, "act, plain, reg, ext, ext2, life, never");
}

/// Binding devices to licenses and users: known, added, refused at the limit, missing.
pub async fn device_binding<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;

    let mut lic = license(&a.id, "BIND-1");
    lic.devices = vec!["HWID-A".into()];
    lic.max_devices = 2;
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();

    assert_eq!(s.bind_license_device(&a.id, &lic.id, "HWID-A", 2).await.unwrap(), DeviceBinding::Known);
    // Device ids compare exactly.
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "hwid-a", 2).await.unwrap(), DeviceBinding::Added);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["HWID-A", "hwid-a"]));
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "HWID-C", 2).await.unwrap(), DeviceBinding::LimitReached);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["HWID-A", "hwid-a"]));
    // A known device is known even past a lower limit.
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "hwid-a", 1).await.unwrap(), DeviceBinding::Known);
    // The limit is the caller's.
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "HWID-C", 3).await.unwrap(), DeviceBinding::Added);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["HWID-A", "hwid-a", "HWID-C"]));
    assert_eq!(s.bind_license_device(&b.id, &lic.id, "HWID-D", 9).await.unwrap(), DeviceBinding::Missing);
    assert_eq!(s.bind_license_device(&a.id, "lic_missing", "HWID-D", 9).await.unwrap(), DeviceBinding::Missing);
    let mut want = lic.clone();
    want.devices = strs(&["HWID-A", "hwid-a", "HWID-C"]);
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(want), "nothing else changes");
    // After a reset the first device binds again; a limit of 0 binds nothing.
    s.reset_license_devices(&a.id, &lic.id).await.unwrap().unwrap();
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "NEW", 0).await.unwrap(), DeviceBinding::LimitReached);
    assert_eq!(s.bind_license_device(&a.id, &lic.id, "NEW", 1).await.unwrap(), DeviceBinding::Added);
    assert_eq!(license_devices(s, &a.id, &lic.id).await, strs(&["NEW"]));

    // The same for users.
    let u = stored_user(s, &a.id, "binder").await;
    assert_eq!(u.devices, strs(&["HWID-1", "hwid-2"]));
    assert_eq!(s.bind_user_device(&a.id, &u.id, "hwid-2", 2).await.unwrap(), DeviceBinding::Known);
    assert_eq!(s.bind_user_device(&a.id, &u.id, "HWID-3", 2).await.unwrap(), DeviceBinding::LimitReached);
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.bind_user_device(&a.id, &u.id, "HWID-3", 3).await.unwrap(), DeviceBinding::Added);
    assert_eq!(s.bind_user_device(&b.id, &u.id, "HWID-4", 9).await.unwrap(), DeviceBinding::Missing);
    assert_eq!(s.bind_user_device(&a.id, "usr_missing", "HWID-4", 9).await.unwrap(), DeviceBinding::Missing);
    let mut want = u.clone();
    want.devices.push("HWID-3".into());
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want));
}

/// A login's writes: the user's last login, the session's link, device and expiry.
pub async fn logins<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let u = stored_user(s, &a.id, "alice").await;

    assert!(s.record_login(&a.id, &u.id, Some("198.51.100.9"), t, &[]).await.unwrap());
    let mut want = u.clone();
    want.last_login = Some(t);
    want.last_ip = Some("198.51.100.9".into());
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want.clone()));
    // No address: the last one is kept.
    assert!(s.record_login(&a.id, &u.id, None, t + Duration::seconds(1), &[]).await.unwrap());
    want.last_login = Some(t + Duration::seconds(1));
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want.clone()));
    // Another app's id, or no such user: nothing written, no error.
    assert!(!s.record_login(&b.id, &u.id, Some("192.0.2.66"), t + Duration::seconds(2), &[]).await.unwrap());
    assert!(!s.record_login(&a.id, "usr_missing", None, t, &[]).await.unwrap());
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(want));

    // A token alone finds its session in any app, expired ones too.
    let live = session(&a.id, None, t + Duration::hours(1));
    let dead = session(&b.id, None, t - Duration::seconds(1));
    s.create_session(&live, &[]).await.unwrap();
    s.create_session(&dead, &[]).await.unwrap();
    assert_eq!(s.session_by_token_any(&live.token).await.unwrap(), Some(live.clone()));
    assert_eq!(s.session_by_token_any(&dead.token).await.unwrap(), Some(dead.clone()));
    assert_eq!(s.session_by_token_any(&ids::new_token()).await.unwrap(), None);
    assert_eq!(s.session_by_token_any(&live.token.to_uppercase()).await.unwrap(), None, "tokens compare exactly");

    // Binding: links set, device recorded, expiry moved forward only.
    let lic = license(&a.id, "LOGIN-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let mut sess = session(&a.id, None, t + Duration::hours(1));
    sess.hwid = None;
    s.create_session(&sess, &[]).await.unwrap();
    let day = t + Duration::hours(24);
    assert!(s.bind_session(&a.id, &sess.id, Some(&u.id), None, Some("HWID-9"), day).await.unwrap());
    let mut want = sess.clone();
    want.user_id = Some(u.id.clone());
    want.hwid = Some("HWID-9".into());
    want.expires_at = day;
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(want.clone()));
    assert!(s.bind_session(&a.id, &sess.id, None, Some(&lic.id), None, t + Duration::hours(2)).await.unwrap());
    want.license_id = Some(lic.id.clone());
    assert_eq!(
        s.session_by_token(&a.id, &sess.token).await.unwrap(),
        Some(want.clone()),
        "None keeps a link and the device; an earlier expiry does not shorten"
    );
    // Never to another app's user or license, nor through another app's id.
    let stranger = stored_user(s, &b.id, "stranger").await;
    let foreign_lic = license(&b.id, "LOGIN-B");
    s.insert_licenses(std::slice::from_ref(&foreign_lic)).await.unwrap();
    let far = t + Duration::days(9);
    assert!(!s.bind_session(&a.id, &sess.id, Some(&stranger.id), None, Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&a.id, &sess.id, None, Some(&foreign_lic.id), Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&a.id, &sess.id, Some("usr_missing"), None, Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&b.id, &sess.id, None, None, Some("X"), far).await.unwrap());
    assert!(!s.bind_session(&a.id, "sess_missing", None, None, Some("X"), far).await.unwrap());
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(want));
}

/// A redemption signs the caller's session in inside its own transaction: both or neither.
pub async fn redemption_signs_in<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let (k_reg, k_act, k_gone) = (license(&a.id, "SIGN-REG"), license(&a.id, "SIGN-ACT"), license(&a.id, "SIGN-GONE"));
    s.insert_licenses(&[k_reg.clone(), k_act.clone(), k_gone.clone()]).await.unwrap();
    let live = session(&a.id, None, t + Duration::minutes(5));
    s.create_session(&live, &[]).await.unwrap();
    let other_app = session(&b.id, None, t + Duration::minutes(5));
    s.create_session(&other_app, &[]).await.unwrap();
    let later = t + Duration::hours(1);
    let link = |id: &str| SessionLink { session_id: id.into(), hwid: Some("HWID-S".into()), expires_at: later };

    // Register: the user exists, the key is theirs and the session is signed in as them.
    let u = user(&a.id, "signer");
    let reg = Activation { at: t, expires_at: None, device: None, session: Some(link(&live.id)) };
    assert_eq!(s.register_with_license(&u, &k_reg.id, &reg, None, &[]).await.unwrap(), RegisterOutcome::Registered);
    let got = s.session_by_token(&a.id, &live.token).await.unwrap().unwrap();
    assert_eq!(
        (got.user_id.as_deref(), got.hwid.as_deref(), got.expires_at),
        (Some(u.id.as_str()), Some("HWID-S"), later)
    );

    // A session that is gone, or another app's: nothing is written, the key stays UNUSED.
    for sid in ["ses_missing", other_app.id.as_str()] {
        let late = user(&a.id, &format!("late-{sid}"));
        let act = Activation { at: t, expires_at: None, device: None, session: Some(link(sid)) };
        assert_eq!(
            s.register_with_license(&late, &k_gone.id, &act, None, &[]).await.unwrap(),
            RegisterOutcome::SessionGone
        );
        assert_eq!(s.get_user(&a.id, &late.id).await.unwrap(), None);
        assert_eq!(s.get_license(&a.id, &k_gone.id).await.unwrap(), Some(k_gone.clone()));
        assert_not_found(s.activate_license(&a.id, &k_gone.id, &act, &[]).await);
        assert_eq!(s.get_license(&a.id, &k_gone.id).await.unwrap(), Some(k_gone.clone()));
    }
    assert_eq!(s.session_by_token(&b.id, &other_app.token).await.unwrap(), Some(other_app.clone()));

    // Key login's first use: the license is used and the session is the license's.
    let keyed = session(&a.id, None, t + Duration::minutes(5));
    s.create_session(&keyed, &[]).await.unwrap();
    let act = Activation { at: t, expires_at: None, device: None, session: Some(link(&keyed.id)) };
    let used = s.activate_license(&a.id, &k_act.id, &act, &[]).await.unwrap().unwrap();
    assert_eq!(used.status, LicenseStatus::Used);
    let got = s.session_by_token(&a.id, &keyed.token).await.unwrap().unwrap();
    assert_eq!((got.license_id.as_deref(), got.expires_at), (Some(k_act.id.as_str()), later));
    totals_match(s, &a.id, "after redemptions that sign in").await;
}
