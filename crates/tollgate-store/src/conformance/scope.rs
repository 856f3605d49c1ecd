//! Tenant scope: nothing of one owner's or one app's is reached through another's.

use super::*;

/// Every per-app read and write, given one app's object ids and another app's id, misses; and
/// an owner never reaches another owner's app.
pub async fn tenant_scope<S: Store>(s: &S) {
    let (owner_a, a) = seller_with_app(s).await;
    let (owner_b, b) = seller_with_app(s).await;
    let t = now();

    let u = stored_user(s, &a.id, "alice").await;
    let lic = license(&a.id, "SCOPE-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let sess = session(&a.id, Some(&u.id), t + Duration::hours(1));
    s.create_session(&sess, &[]).await.unwrap();
    s.create_variable(&variable(&a.id, "k")).await.unwrap();
    s.set_user_variable(&user_variable(&a.id, &u.id, "k")).await.unwrap();
    let bl = blacklist_entry(&a.id, BlacklistKind::Ip, "192.0.2.0/24");
    s.add_blacklist(&bl).await.unwrap();
    let rsl = reseller(&a.id, "rita");
    s.create_reseller(&rsl).await.unwrap();
    let f = file(&a.id, "x.bin");
    s.create_file(&f).await.unwrap();
    let wh = webhook(&a.id);
    s.create_webhook(&wh).await.unwrap();
    s.append_log(&log_entry(&a.id, "m", t)).await.unwrap();
    s.append_audit(&audit_entry(&owner_a.id, "a", t)).await.unwrap();

    // Apps through the wrong owner.
    assert_eq!(s.get_app(&owner_b.id, &a.id).await.unwrap(), None);
    assert_eq!(s.app_by_owner_and_name(&owner_b.id, &a.name).await.unwrap(), None);
    let mut stolen = a.clone();
    stolen.owner_id = owner_b.id.clone();
    assert!(!s.update_app(&stolen).await.unwrap());
    assert!(!s.delete_app(&owner_b.id, &a.id).await.unwrap());
    assert!(s.list_apps(&owner_b.id).await.unwrap().iter().all(|(x, _)| x.id != a.id));

    // Everything under app A, addressed through app B.
    let x = &b.id;
    let all = page(1, 100);
    assert_eq!(s.get_license(x, &lic.id).await.unwrap(), None);
    assert_eq!(s.license_by_key(x, &lic.key).await.unwrap(), None);
    assert_eq!(
        s.set_license_status(x, &lic.id, LicenseStatus::Unused, LicenseStatus::Banned, None, &[]).await.unwrap(),
        None
    );
    assert_eq!(s.reset_license_devices(x, &lic.id).await.unwrap(), None);
    assert!(!s.delete_license(x, &lic.id, &[]).await.unwrap());
    assert_eq!(s.list_licenses(x, &LicenseFilter::default(), all).await.unwrap().total, 0);

    assert_eq!(s.get_user(x, &u.id).await.unwrap(), None);
    assert_eq!(s.user_by_username(x, &u.username).await.unwrap(), None);
    assert_eq!(s.update_user(x, &u.id, &UserPatch { level: Some(7), ..Default::default() }).await.unwrap(), None);
    assert_eq!(s.set_user_status(x, &u.id, UserStatus::Active, UserStatus::Banned, None, &[]).await.unwrap(), None);
    assert_eq!(s.reset_user_devices(x, &u.id).await.unwrap(), None);
    assert_eq!(s.extend_user(x, &u.id, 1, t).await.unwrap(), None);
    assert!(!s.delete_user(x, &u.id).await.unwrap());
    assert_eq!(s.list_users(x, &UserFilter::default(), all).await.unwrap().total, 0);
    assert_not_found(s.set_user_variable(&user_variable(x, &u.id, "k2")).await);
    assert_eq!(s.get_user_variable(x, &u.id, "k").await.unwrap(), None);
    assert!(s.list_user_variables(x, &u.id).await.unwrap().is_empty());
    assert!(!s.delete_user_variable(x, &u.id, "k").await.unwrap());

    assert_eq!(s.get_variable(x, "k").await.unwrap(), None);
    assert_eq!(
        s.update_variable(x, "k", &VariablePatch { value: Some("pwned".into()), ..Default::default() }, t)
            .await
            .unwrap(),
        None
    );
    assert!(!s.delete_variable(x, "k").await.unwrap());
    assert!(s.list_variables(x).await.unwrap().is_empty());

    assert!(!s.delete_blacklist(x, &bl.id).await.unwrap());
    assert!(s.list_blacklist(x).await.unwrap().is_empty());

    assert_eq!(s.session_by_token(x, &sess.token).await.unwrap(), None);
    assert!(!s.touch_session(x, &sess.id, t, None).await.unwrap());
    assert!(!s.delete_session(x, &sess.id).await.unwrap());
    assert_eq!(s.delete_app_sessions(x).await.unwrap(), 0);
    assert!(s.list_live_sessions(x, t).await.unwrap().is_empty());
    assert_eq!(s.count_live_sessions(x, t).await.unwrap(), 0);

    assert_eq!(s.get_reseller(x, &rsl.id).await.unwrap(), None);
    assert_eq!(s.reseller_by_username(x, &rsl.username).await.unwrap(), None);
    assert_eq!(
        s.update_reseller(x, &rsl.id, &ResellerPatch { balance: Some(9), ..Default::default() }).await.unwrap(),
        None
    );
    assert!(!s.delete_reseller(x, &rsl.id).await.unwrap());
    assert!(s.list_resellers(x).await.unwrap().is_empty());

    assert_eq!(s.get_file(x, &f.id).await.unwrap(), None);
    assert!(!s.delete_file(x, &f.id).await.unwrap());
    assert!(s.list_files(x).await.unwrap().is_empty());

    assert_eq!(s.get_webhook(x, &wh.id).await.unwrap(), None);
    assert_eq!(
        s.update_webhook(x, &wh.id, &WebhookPatch { enabled: Some(false), ..Default::default() }).await.unwrap(),
        None
    );
    assert!(!s.delete_webhook(x, &wh.id).await.unwrap());
    assert!(s.list_webhooks(x).await.unwrap().is_empty());

    assert_eq!(s.list_logs(x, all).await.unwrap().total, 0);
    assert_eq!(s.list_audit(&owner_b.id, all).await.unwrap().total, 0);

    // And everything under A is still there, unchanged.
    assert_eq!(s.get_app(&owner_a.id, &a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(lic));
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(sess));
    assert_eq!(s.get_variable(&a.id, "k").await.unwrap(), Some(s.list_variables(&a.id).await.unwrap()[0].clone()));
    assert_eq!(s.get_variable(&a.id, "k").await.unwrap().unwrap().value, "value of k");
    assert_eq!(s.list_user_variables(&a.id, &u.id).await.unwrap().len(), 1);
    assert_eq!(s.list_blacklist(&a.id).await.unwrap(), vec![bl]);
    assert_eq!(s.get_reseller(&a.id, &rsl.id).await.unwrap(), Some(rsl));
    assert_eq!(s.get_file(&a.id, &f.id).await.unwrap(), Some(f));
    assert_eq!(s.get_webhook(&a.id, &wh.id).await.unwrap(), Some(wh));
    assert_eq!(s.list_logs(&a.id, all).await.unwrap().total, 1);
    assert_eq!(s.list_audit(&owner_a.id, all).await.unwrap().total, 1);
}

/// The client API's per-app reads and writes, given one app's object ids and another app's id,
/// miss and change nothing.
pub async fn client_tenant_scope<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();
    let u = stored_user(s, &a.id, "alice").await;
    let lic = license(&a.id, "CSCOPE-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let sess = session(&a.id, None, t + Duration::hours(1));
    s.create_session(&sess, &[]).await.unwrap();
    let chan = chat_channel(&a.id, "lobby");
    s.create_channel(&chan).await.unwrap();
    let msg = chat_message(&a.id, &chan.id, "hi", t);
    s.post_message(&msg).await.unwrap();
    let mute = chat_mute(&a.id, &chan.id, &u.id);
    s.mute_user(&mute).await.unwrap();
    let dev = device_license(&a.id, DeviceType::Motherboard, "MB-SCOPE");
    s.create_device_license(&dev).await.unwrap();

    let x = &b.id;
    let act = Activation { at: t, expires_at: None, device: Some("X".into()), session: None };
    assert_eq!(s.activate_license(x, &lic.id, &act, &[]).await.unwrap(), None);
    assert_eq!(s.extend_with_license(x, &u.id, &lic.id, &act, Some(DAY_MS), &[]).await.unwrap(), None);
    assert_eq!(s.bind_license_device(x, &lic.id, "X", 9).await.unwrap(), DeviceBinding::Missing);
    assert_eq!(s.bind_user_device(x, &u.id, "X", 9).await.unwrap(), DeviceBinding::Missing);
    assert!(!s.record_login(x, &u.id, Some("192.0.2.1"), t, &[]).await.unwrap());
    assert!(!s.bind_session(x, &sess.id, None, None, Some("X"), t + Duration::days(3)).await.unwrap());

    assert!(s.list_channels(x).await.unwrap().is_empty());
    assert_eq!(s.get_channel(x, &chan.id).await.unwrap(), None);
    assert_eq!(s.channel_by_name(x, &chan.name).await.unwrap(), None);
    assert!(!s.delete_channel(x, &chan.id).await.unwrap());
    assert_not_found(s.mute_user(&ChatMute { app_id: x.clone(), ..mute.clone() }).await);
    assert!(!s.unmute_user(x, &chan.id, &u.id).await.unwrap());
    assert!(s.list_mutes(x, &chan.id).await.unwrap().is_empty());
    assert_eq!(s.get_mute(x, &chan.id, &u.id).await.unwrap(), None);
    assert_not_found(s.post_message(&ChatMessage { app_id: x.clone(), ..chat_message(x, &chan.id, "m", t) }).await);
    assert!(s.list_messages(x, &chan.id, None, 100).await.unwrap().is_empty());

    assert_eq!(s.list_device_licenses(x, page(1, 100)).await.unwrap().total, 0);
    assert_eq!(s.get_device_license(x, &dev.id).await.unwrap(), None);
    assert_eq!(s.device_license_by_device(x, dev.device_type, &dev.device_id).await.unwrap(), None);
    let patch = DeviceLicensePatch { level: Some(9), ..Default::default() };
    assert_eq!(s.update_device_license(x, &dev.id, &patch).await.unwrap(), None);
    assert_eq!(
        s.set_device_license_status(x, &dev.id, LicenseStatus::Unused, LicenseStatus::Banned, None).await.unwrap(),
        None
    );
    assert_eq!(s.extend_device_license(x, &dev.id, 9, t).await.unwrap(), None);
    assert_eq!(s.record_device_login(x, &dev.id, None, Some("X"), t).await.unwrap(), None);
    assert!(!s.delete_device_license(x, &dev.id).await.unwrap());

    // Everything under A is unchanged.
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap(), Some(lic));
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), Some(sess));
    assert_eq!(s.list_channels(&a.id).await.unwrap(), vec![chan.clone()]);
    assert_eq!(s.list_messages(&a.id, &chan.id, None, 10).await.unwrap(), vec![msg]);
    assert_eq!(s.get_mute(&a.id, &chan.id, &u.id).await.unwrap(), Some(mute));
    assert_eq!(s.get_device_license(&a.id, &dev.id).await.unwrap(), Some(dev));
    assert_eq!(totals_match(s, &a.id, "after the scoped misses").await.len(), 1);
}
