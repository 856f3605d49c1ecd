//! Apps, scoped by owner.

use super::*;

pub async fn apps<S: Store>(s: &S) {
    let owner = seller();
    s.create_seller(&owner).await.unwrap();
    let other = seller();
    s.create_seller(&other).await.unwrap();

    let mut a1 = app(&owner.id);
    a1.settings = rich_settings();
    a1.status = AppStatus::Paused;
    s.create_app(&a1).await.unwrap();

    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(s.get_app(&other.id, &a1.id).await.unwrap(), None);
    assert_eq!(s.app_by_id(&a1.id).await.unwrap(), Some(a1.clone()));
    assert_eq!(s.app_by_id("app_missing").await.unwrap(), None);
    assert_eq!(s.app_by_ws_key(&a1.ws_key).await.unwrap(), Some(a1.clone()));
    assert_eq!(s.app_by_ws_key(&ids::new_ws_key()).await.unwrap(), None);
    assert_eq!(s.app_by_owner_and_name(&owner.id, &a1.name).await.unwrap(), Some(a1.clone()));
    assert_eq!(
        s.app_by_owner_and_name(&owner.id, &a1.name.to_uppercase()).await.unwrap(),
        None,
        "app names are case-sensitive"
    );
    assert_eq!(s.app_by_owner_and_name(&other.id, &a1.name).await.unwrap(), None);

    // Names are unique per owner and case-sensitive; keys are unique everywhere.
    let mut same_name_other_owner = app(&other.id);
    same_name_other_owner.name = a1.name.clone();
    s.create_app(&same_name_other_owner).await.unwrap();
    let mut same_name = app(&owner.id);
    same_name.name = a1.name.clone();
    assert_conflict(s.create_app(&same_name).await, constraint::APP_OWNER_NAME);
    let mut other_case = app(&owner.id);
    other_case.name = a1.name.to_uppercase();
    other_case.created_at = a1.created_at + Duration::seconds(1);
    s.create_app(&other_case).await.unwrap();
    let mut same_api_key = app(&owner.id);
    same_api_key.api_key = a1.api_key.clone();
    assert_conflict(s.create_app(&same_api_key).await, constraint::APP_API_KEY);
    let mut same_ws_key = app(&other.id);
    same_ws_key.ws_key = a1.ws_key.clone();
    assert_conflict(s.create_app(&same_ws_key).await, constraint::APP_WS_KEY);
    assert!(s.create_app(&app("seller_missing")).await.is_err(), "an app needs an existing owner");

    // Listing: oldest first, only the owner's, with counts.
    let mut a0 = app(&owner.id);
    a0.created_at = a1.created_at - Duration::seconds(1);
    s.create_app(&a0).await.unwrap();
    stored_user(s, &a1.id, "u1").await;
    stored_user(s, &a1.id, "u2").await;
    s.insert_licenses(&[license(&a1.id, "K-1"), license(&a1.id, "K-2"), license(&a1.id, "K-3")]).await.unwrap();
    stored_user(s, &a0.id, "u3").await;
    let listed = s.list_apps(&owner.id).await.unwrap();
    let got: Vec<(&str, u64, u64)> = listed.iter().map(|(a, c)| (a.id.as_str(), c.users, c.licenses)).collect();
    assert_eq!(got, vec![(a0.id.as_str(), 1, 0), (a1.id.as_str(), 2, 3), (other_case.id.as_str(), 0, 0)]);
    assert_eq!(listed[1].0, a1);
    let others = s.list_apps(&other.id).await.unwrap();
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].0, same_name_other_owner);
    assert!(s.list_apps("seller_missing").await.unwrap().is_empty());

    // Update writes every mutable field, only for the owner.
    let mut changed = a1.clone();
    changed.name = "Renamed".into();
    changed.version = "2.1.0".into();
    changed.status = AppStatus::Disabled;
    changed.settings = AppSettings::default();
    changed.api_key = ids::new_api_key();
    changed.ws_key = ids::new_ws_key();
    changed.updated_at = now();
    assert!(s.update_app(&changed).await.unwrap());
    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(s.app_by_ws_key(&a1.ws_key).await.unwrap(), None);

    let mut hijack = changed.clone();
    hijack.owner_id = other.id.clone();
    hijack.name = "Hijacked".into();
    assert!(!s.update_app(&hijack).await.unwrap());
    assert!(!s.update_app(&app(&owner.id)).await.unwrap());
    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), Some(changed.clone()));
    let mut clash = changed.clone();
    clash.name = a0.name.clone();
    assert_conflict(s.update_app(&clash).await, constraint::APP_OWNER_NAME);
    let mut key_clash = changed.clone();
    key_clash.api_key = a0.api_key.clone();
    assert_conflict(s.update_app(&key_clash).await, constraint::APP_API_KEY);

    // Delete: only the owner's, and everything under the app goes with it.
    let u = stored_user(s, &a1.id, "cascade-user").await;
    let lic = s.license_by_key(&a1.id, "K-1").await.unwrap().unwrap();
    let mut sess = session(&a1.id, Some(&u.id), now() + Duration::hours(1));
    sess.license_id = Some(lic.id.clone());
    s.create_session(&sess, &[]).await.unwrap();
    s.create_variable(&variable(&a1.id, "motd")).await.unwrap();
    s.set_user_variable(&user_variable(&a1.id, &u.id, "k")).await.unwrap();
    s.add_blacklist(&blacklist_entry(&a1.id, BlacklistKind::Hwid, "X")).await.unwrap();
    s.create_reseller(&reseller(&a1.id, "r1")).await.unwrap();
    s.create_file(&file(&a1.id, "f.bin")).await.unwrap();
    s.create_webhook(&webhook(&a1.id)).await.unwrap();
    s.append_log(&log_entry(&a1.id, "hello", now())).await.unwrap();

    assert!(!s.delete_app(&other.id, &a1.id).await.unwrap());
    assert!(s.get_app(&owner.id, &a1.id).await.unwrap().is_some());
    assert!(s.delete_app(&owner.id, &a1.id).await.unwrap());
    assert!(!s.delete_app(&owner.id, &a1.id).await.unwrap());
    assert_eq!(s.get_app(&owner.id, &a1.id).await.unwrap(), None);
    assert_eq!(s.app_by_id(&a1.id).await.unwrap(), None);

    let all = page(1, 100);
    let t = now();
    assert_eq!(s.list_licenses(&a1.id, &LicenseFilter::default(), all).await.unwrap().total, 0);
    assert_eq!(s.list_users(&a1.id, &UserFilter::default(), all).await.unwrap().total, 0);
    assert_eq!(s.session_by_token(&a1.id, &sess.token).await.unwrap(), None);
    assert_eq!(s.count_live_sessions(&a1.id, t).await.unwrap(), 0);
    assert!(s.list_variables(&a1.id).await.unwrap().is_empty());
    assert!(s.list_user_variables(&a1.id, &u.id).await.unwrap().is_empty());
    assert!(s.list_blacklist(&a1.id).await.unwrap().is_empty());
    assert!(s.list_resellers(&a1.id).await.unwrap().is_empty());
    assert!(s.list_files(&a1.id).await.unwrap().is_empty());
    assert!(s.list_webhooks(&a1.id).await.unwrap().is_empty());
    assert_eq!(s.list_logs(&a1.id, all).await.unwrap().total, 0);
    // The owner's other apps are untouched.
    assert_eq!(s.list_users(&a0.id, &UserFilter::default(), all).await.unwrap().total, 1);
    assert_eq!(s.list_apps(&owner.id).await.unwrap().len(), 2);
}
