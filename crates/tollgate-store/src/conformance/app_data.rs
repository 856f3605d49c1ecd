//! The rest of an app's data: variables, blacklist, resellers, files, webhooks, logs and audit.

use super::*;

pub async fn variables<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;

    let v = variable(&a.id, "motd");
    s.create_variable(&v).await.unwrap();
    assert_eq!(s.get_variable(&a.id, "motd").await.unwrap(), Some(v.clone()));
    assert_eq!(s.get_variable(&b.id, "motd").await.unwrap(), None);
    assert_eq!(s.get_variable(&a.id, "MOTD").await.unwrap(), None);
    assert_conflict(s.create_variable(&variable(&a.id, "motd")).await, constraint::VARIABLE_APP_KEY);
    s.create_variable(&variable(&b.id, "motd")).await.unwrap();

    let mut flags = variable(&a.id, "beta");
    flags.read_only = false;
    flags.auth_required = true;
    s.create_variable(&flags).await.unwrap();
    s.create_variable(&variable(&a.id, "Zulu")).await.unwrap();
    let keys: Vec<String> = s.list_variables(&a.id).await.unwrap().into_iter().map(|v| v.key).collect();
    assert_eq!(keys, vec!["Zulu", "beta", "motd"]);
    assert_eq!(s.list_variables(&a.id).await.unwrap()[1], flags);

    // Patches change only what they name; updated_at always moves.
    let t1 = now() + Duration::seconds(1);
    let got = s
        .update_variable(&a.id, "motd", &VariablePatch { value: Some("new".into()), ..Default::default() }, t1)
        .await
        .unwrap()
        .unwrap();
    let mut want = v.clone();
    want.value = "new".into();
    want.updated_at = t1;
    assert_eq!(got, want);
    let t2 = t1 + Duration::seconds(1);
    let got = s
        .update_variable(
            &a.id,
            "motd",
            &VariablePatch { value: None, read_only: Some(false), auth_required: Some(true) },
            t2,
        )
        .await
        .unwrap()
        .unwrap();
    want.read_only = false;
    want.auth_required = true;
    want.updated_at = t2;
    assert_eq!(got, want);
    assert_eq!(s.get_variable(&a.id, "motd").await.unwrap(), Some(want.clone()));
    assert_eq!(s.update_variable(&b.id, "beta", &VariablePatch::default(), t2).await.unwrap(), None);
    assert_eq!(s.update_variable(&a.id, "missing", &VariablePatch::default(), t2).await.unwrap(), None);
    assert_eq!(s.get_variable(&b.id, "motd").await.unwrap().unwrap().value, "value of motd");

    assert!(!s.delete_variable(&b.id, "beta").await.unwrap());
    assert!(s.delete_variable(&a.id, "beta").await.unwrap());
    assert!(!s.delete_variable(&a.id, "beta").await.unwrap());
    assert_eq!(s.get_variable(&a.id, "beta").await.unwrap(), None);
    assert!(s.get_variable(&b.id, "motd").await.unwrap().is_some());
}

pub async fn blacklist<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let base = now() - Duration::hours(1);
    let mut entries = Vec::new();
    for (i, (kind, value)) in [
        (BlacklistKind::Ip, "10.0.0.0/8"),
        (BlacklistKind::Hwid, "HWID-9"),
        (BlacklistKind::Username, "mallory"),
        (BlacklistKind::ClientId, "client-x"),
        (BlacklistKind::Username, "HWID-9"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = blacklist_entry(&a.id, kind, value);
        // Inserted newest first, listed oldest first.
        e.created_at = base - Duration::seconds(i as i64);
        if i == 3 {
            e.reason = None;
        }
        s.add_blacklist(&e).await.unwrap();
        entries.push(e);
    }
    entries.reverse();
    assert_eq!(s.list_blacklist(&a.id).await.unwrap(), entries);
    assert!(s.list_blacklist(&b.id).await.unwrap().is_empty());

    assert_conflict(
        s.add_blacklist(&blacklist_entry(&a.id, BlacklistKind::Hwid, "HWID-9")).await,
        constraint::BLACKLIST_APP_KIND_VALUE,
    );
    s.add_blacklist(&blacklist_entry(&b.id, BlacklistKind::Hwid, "HWID-9")).await.unwrap();

    let victim = &entries[0];
    assert!(!s.delete_blacklist(&b.id, &victim.id).await.unwrap());
    assert!(s.delete_blacklist(&a.id, &victim.id).await.unwrap());
    assert!(!s.delete_blacklist(&a.id, &victim.id).await.unwrap());
    assert_eq!(s.list_blacklist(&a.id).await.unwrap(), entries[1..].to_vec());
    assert_eq!(s.list_blacklist(&b.id).await.unwrap().len(), 1);
}

pub async fn resellers<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let mut first = reseller(&a.id, "Rita");
    first.created_at = now() - Duration::hours(2);
    let second = reseller(&a.id, "sam");
    s.create_reseller(&second).await.unwrap();
    s.create_reseller(&first).await.unwrap();

    assert_eq!(s.get_reseller(&a.id, &first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(s.get_reseller(&b.id, &first.id).await.unwrap(), None);
    assert_eq!(s.reseller_by_username(&a.id, "RITA").await.unwrap(), Some(first.clone()));
    assert_eq!(s.reseller_by_username(&b.id, "rita").await.unwrap(), None);
    assert_eq!(s.list_resellers(&a.id).await.unwrap(), vec![first.clone(), second.clone()]);
    assert!(s.list_resellers(&b.id).await.unwrap().is_empty());

    assert_conflict(s.create_reseller(&reseller(&a.id, "rita")).await, constraint::RESELLER_APP_USERNAME);
    s.create_reseller(&reseller(&b.id, "rita")).await.unwrap();

    let got = s
        .update_reseller(&a.id, &first.id, &ResellerPatch { balance: Some(0), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    let mut want = first.clone();
    want.balance = 0;
    assert_eq!(got, want);
    let got = s
        .update_reseller(
            &a.id,
            &first.id,
            &ResellerPatch { password_hash: Some("$argon2id$rotated".into()), balance: None },
        )
        .await
        .unwrap()
        .unwrap();
    want.password_hash = "$argon2id$rotated".into();
    assert_eq!(got, want);
    assert_eq!(
        s.update_reseller(&b.id, &first.id, &ResellerPatch { balance: Some(1_000_000), ..Default::default() })
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_reseller(&a.id, &first.id).await.unwrap(), Some(want.clone()));

    assert!(!s.delete_reseller(&b.id, &first.id).await.unwrap());
    assert!(s.delete_reseller(&a.id, &first.id).await.unwrap());
    assert!(!s.delete_reseller(&a.id, &first.id).await.unwrap());
    assert_eq!(s.list_resellers(&a.id).await.unwrap(), vec![second]);
}

pub async fn files<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let newer = file(&a.id, "loader.exe");
    let mut older = file(&a.id, "readme.txt");
    older.created_at = newer.created_at - Duration::minutes(1);
    older.size = 0;
    older.min_level = 0;
    s.create_file(&newer).await.unwrap();
    s.create_file(&older).await.unwrap();

    assert_eq!(s.get_file(&a.id, &newer.id).await.unwrap(), Some(newer.clone()));
    assert_eq!(s.get_file(&b.id, &newer.id).await.unwrap(), None);
    assert_eq!(s.list_files(&a.id).await.unwrap(), vec![older.clone(), newer.clone()]);
    assert!(s.list_files(&b.id).await.unwrap().is_empty());

    assert!(!s.delete_file(&b.id, &newer.id).await.unwrap());
    assert!(s.delete_file(&a.id, &newer.id).await.unwrap());
    assert!(!s.delete_file(&a.id, &newer.id).await.unwrap());
    assert_eq!(s.list_files(&a.id).await.unwrap(), vec![older]);
}

pub async fn webhooks<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let first = webhook(&a.id);
    let mut second = webhook(&a.id);
    second.created_at = first.created_at + Duration::seconds(1);
    second.events = Vec::new();
    second.enabled = false;
    s.create_webhook(&second).await.unwrap();
    s.create_webhook(&first).await.unwrap();

    assert_eq!(s.get_webhook(&a.id, &first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(s.get_webhook(&b.id, &first.id).await.unwrap(), None);
    assert_eq!(s.list_webhooks(&a.id).await.unwrap(), vec![first.clone(), second.clone()]);
    assert!(s.list_webhooks(&b.id).await.unwrap().is_empty());

    let got = s
        .update_webhook(
            &a.id,
            &first.id,
            &WebhookPatch { url: Some("https://new.example/hook".into()), ..Default::default() },
        )
        .await
        .unwrap()
        .unwrap();
    let mut want = first.clone();
    want.url = "https://new.example/hook".into();
    assert_eq!(got, want);
    let got = s
        .update_webhook(
            &a.id,
            &first.id,
            &WebhookPatch { url: None, events: Some(vec!["user.ban".into()]), enabled: Some(false), format: None },
        )
        .await
        .unwrap()
        .unwrap();
    want.events = vec!["user.ban".into()];
    want.enabled = false;
    assert_eq!(got, want);
    let got = s
        .update_webhook(
            &a.id,
            &first.id,
            &WebhookPatch { events: Some(Vec::new()), enabled: Some(true), ..Default::default() },
        )
        .await
        .unwrap()
        .unwrap();
    want.events = Vec::new();
    want.enabled = true;
    assert_eq!(got, want);
    assert_eq!(
        s.update_webhook(&b.id, &first.id, &WebhookPatch { enabled: Some(false), ..Default::default() }).await.unwrap(),
        None
    );
    assert_eq!(s.get_webhook(&a.id, &first.id).await.unwrap(), Some(want.clone()));

    assert!(!s.delete_webhook(&b.id, &first.id).await.unwrap());
    assert!(s.delete_webhook(&a.id, &first.id).await.unwrap());
    assert!(!s.delete_webhook(&a.id, &first.id).await.unwrap());
    assert_eq!(s.list_webhooks(&a.id).await.unwrap(), vec![second]);
}

pub async fn logs_and_audit<S: Store>(s: &S) {
    let (owner, a) = seller_with_app(s).await;
    let (other_owner, b) = seller_with_app(s).await;
    let base = now() - Duration::hours(1);

    let mut logs = Vec::new();
    for i in 0..7i64 {
        // Two entries share each timestamp: the id breaks the tie.
        let mut e = log_entry(&a.id, &format!("message {i}"), base + Duration::seconds(i / 2));
        if i == 3 {
            e.user_id = None;
            e.username = None;
            e.ip = None;
            e.hwid = None;
        }
        s.append_log(&e).await.unwrap();
        logs.push(e);
    }
    s.append_log(&log_entry(&b.id, "elsewhere", base)).await.unwrap();
    let ordered = newest_first(&logs, |e| (e.created_at, e.id.clone()));
    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_logs(&a.id, page(p, 3)).await.unwrap();
        assert_eq!(got.total, 7);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    let beyond = s.list_logs(&a.id, page(9, 3)).await.unwrap();
    assert_eq!((beyond.items.len(), beyond.total), (0, 7));
    assert_eq!(s.list_logs(&b.id, page(1, 10)).await.unwrap().total, 1);

    let mut trail = Vec::new();
    for i in 0..5i64 {
        let mut e = audit_entry(&owner.id, &format!("license.create.{i}"), base + Duration::seconds(i % 3));
        if i == 0 {
            e.actor = "cli".into();
            e.target = None;
            e.app_id = None;
            e.ip = None;
        }
        s.append_audit(&e).await.unwrap();
        trail.push(e);
    }
    s.append_audit(&audit_entry(&other_owner.id, "app.delete", base)).await.unwrap();
    let ordered = newest_first(&trail, |e| (e.created_at, e.id.clone()));
    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_audit(&owner.id, page(p, 2)).await.unwrap();
        assert_eq!(got.total, 5);
        assert_eq!(got.items.len(), if p < 3 { 2 } else { 1 });
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    assert_eq!(s.list_audit(&other_owner.id, page(1, 10)).await.unwrap().total, 1);
    assert_eq!(s.list_audit("seller_missing", page(1, 10)).await.unwrap().total, 0);
}
