//! Client sessions and request nonces.

use super::*;

pub async fn sessions<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let u = stored_user(s, &a.id, "Alice").await;
    let lic = license(&a.id, "SESS-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let t = now();

    // Round trip, filled and empty.
    let mut s_user = session(&a.id, Some(&u.id), t + Duration::hours(24));
    s_user.created_at = t - Duration::minutes(2);
    let mut s_lic = session(&a.id, None, t + Duration::hours(2));
    s_lic.license_id = Some(lic.id.clone());
    s_lic.ip = None;
    s_lic.hwid = None;
    s_lic.client_id = None;
    s_lic.created_at = t - Duration::minutes(1);
    let mut s_dead = session(&a.id, Some(&u.id), t - Duration::seconds(1));
    s_dead.created_at = t - Duration::minutes(3);
    let mut s_edge = session(&a.id, None, t);
    s_edge.created_at = t - Duration::minutes(4);
    let s_other = session(&b.id, None, t + Duration::hours(1));
    for x in [&s_user, &s_lic, &s_dead, &s_edge, &s_other] {
        s.create_session(x, &[]).await.unwrap();
    }
    for x in [&s_user, &s_lic, &s_dead] {
        assert_eq!(s.session_by_token(&a.id, &x.token).await.unwrap(), Some(x.clone()));
        assert_eq!(s.session_by_token(&b.id, &x.token).await.unwrap(), None);
    }
    assert_eq!(s.session_by_token(&a.id, &ids::new_token()).await.unwrap(), None);
    let mut dup = session(&b.id, None, t + Duration::hours(1));
    dup.token = s_user.token.clone();
    assert_conflict(s.create_session(&dup, &[]).await, constraint::SESSION_TOKEN);

    // Live means `expires_at > now`; newest first, with the username when there is a user.
    let live = s.list_live_sessions(&a.id, t).await.unwrap();
    assert_eq!(
        live,
        vec![
            SessionView { session: s_lic.clone(), username: None },
            SessionView { session: s_user.clone(), username: Some("Alice".into()) },
        ]
    );
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 2);
    assert_eq!(
        s.count_live_sessions(&a.id, t - Duration::milliseconds(1)).await.unwrap(),
        3,
        "the edge session is live one millisecond earlier"
    );
    assert_eq!(s.count_live_sessions(&b.id, t).await.unwrap(), 1);
    assert_eq!(s.list_live_sessions(&b.id, t).await.unwrap().len(), 1);

    // Touch: last_seen always, expiry only forward.
    let t1 = t + Duration::seconds(5);
    let further = t + Duration::hours(48);
    assert!(s.touch_session(&a.id, &s_lic.id, t1, Some(further)).await.unwrap());
    let mut want = s_lic.clone();
    want.last_seen = t1;
    want.expires_at = further;
    assert_eq!(s.session_by_token(&a.id, &s_lic.token).await.unwrap(), Some(want.clone()));
    let t2 = t1 + Duration::seconds(5);
    assert!(s.touch_session(&a.id, &s_lic.id, t2, Some(t + Duration::hours(1))).await.unwrap());
    want.last_seen = t2;
    assert_eq!(
        s.session_by_token(&a.id, &s_lic.token).await.unwrap(),
        Some(want.clone()),
        "an earlier expiry does not shorten the session"
    );
    let t3 = t2 + Duration::seconds(5);
    assert!(s.touch_session(&a.id, &s_lic.id, t3, None).await.unwrap());
    want.last_seen = t3;
    assert_eq!(s.session_by_token(&a.id, &s_lic.token).await.unwrap(), Some(want.clone()));
    assert!(!s.touch_session(&b.id, &s_lic.id, t3, Some(further)).await.unwrap());
    assert!(!s.touch_session(&a.id, "sess_missing", t3, None).await.unwrap());

    // Delete one, scoped.
    assert!(!s.delete_session(&b.id, &s_user.id).await.unwrap());
    assert!(s.delete_session(&a.id, &s_user.id).await.unwrap());
    assert!(!s.delete_session(&a.id, &s_user.id).await.unwrap());
    assert_eq!(s.session_by_token(&a.id, &s_user.token).await.unwrap(), None);

    // Purge: expired sessions of every app, nothing live.
    let s_other_dead = session(&b.id, None, t - Duration::hours(1));
    s.create_session(&s_other_dead, &[]).await.unwrap();
    assert_eq!(s.purge_expired_sessions(t).await.unwrap(), 3);
    assert_eq!(s.session_by_token(&a.id, &s_dead.token).await.unwrap(), None);
    assert_eq!(s.session_by_token(&a.id, &s_edge.token).await.unwrap(), None);
    assert_eq!(s.session_by_token(&b.id, &s_other_dead.token).await.unwrap(), None);
    assert!(s.session_by_token(&a.id, &s_lic.token).await.unwrap().is_some());
    assert_eq!(s.purge_expired_sessions(t).await.unwrap(), 0);

    // Kill every session of one app.
    s.create_session(&session(&a.id, Some(&u.id), t + Duration::hours(1)), &[]).await.unwrap();
    assert_eq!(s.delete_app_sessions(&a.id).await.unwrap(), 2);
    assert_eq!(s.count_live_sessions(&a.id, t).await.unwrap(), 0);
    assert_eq!(s.count_live_sessions(&b.id, t).await.unwrap(), 1);
    assert_eq!(s.delete_app_sessions(&a.id).await.unwrap(), 0);

    // Many tokens in one read: one answer per token, in order, whatever the app; expired
    // sessions too; unknown and repeated tokens answered as such.
    let expired = session(&a.id, None, t - Duration::seconds(1));
    s.create_session(&expired, &[]).await.unwrap();
    let tokens = vec![s_other.token.clone(), ids::new_token(), expired.token.clone(), s_other.token.clone()];
    let got = s.sessions_by_tokens_any(&tokens).await.unwrap();
    assert_eq!(got, [Some(s_other.clone()), None, Some(expired.clone()), Some(s_other.clone())]);
    assert!(s.sessions_by_tokens_any(&[]).await.unwrap().is_empty());

    // A batch: one transaction, one answer per session; a session of an app that is gone is
    // refused alone, the others are created; an empty batch writes nothing.
    let (s_b1, s_b2) = (session(&a.id, None, t + Duration::hours(1)), session(&b.id, None, t + Duration::hours(1)));
    let gone = session("app_gone", None, t + Duration::hours(1));
    let batch = vec![(s_b1.clone(), vec![]), (gone.clone(), vec![]), (s_b2.clone(), vec![])];
    assert_eq!(s.create_sessions(&batch).await.unwrap(), [true, false, true]);
    assert_eq!(s.session_by_token(&a.id, &s_b1.token).await.unwrap(), Some(s_b1.clone()));
    assert_eq!(s.session_by_token(&b.id, &s_b2.token).await.unwrap(), Some(s_b2.clone()));
    assert_eq!(s.session_by_token_any(&gone.token).await.unwrap(), None);
    assert!(s.create_sessions(&[]).await.unwrap().is_empty());
    // One at a time, a session of an app that is gone is the documented NotFound.
    assert!(matches!(s.create_session(&gone, &[]).await, Err(StoreError::NotFound)));
    // A conflict fails the whole batch and writes none of it.
    let fresh = session(&a.id, None, t + Duration::hours(1));
    let mut dup = session(&a.id, None, t + Duration::hours(1));
    dup.token = s_b1.token.clone();
    assert_conflict(s.create_sessions(&[(fresh.clone(), vec![]), (dup, vec![])]).await, constraint::SESSION_TOKEN);
    assert_eq!(s.session_by_token(&a.id, &fresh.token).await.unwrap(), None, "nothing of a failed batch");
}

/// Replay defence: a nonce is new once until it is purged.
pub async fn nonces<S: Store>(s: &S) {
    let t = now();
    assert!(s.remember_nonce("nonce-1", t + Duration::minutes(5)).await.unwrap());
    assert!(!s.remember_nonce("nonce-1", t + Duration::minutes(10)).await.unwrap(), "a replay");
    assert!(!s.remember_nonce("nonce-1", t - Duration::minutes(10)).await.unwrap(), "a replay");
    assert!(s.remember_nonce("NONCE-1", t + Duration::minutes(5)).await.unwrap(), "nonces compare exactly");
    assert!(s.remember_nonce("old", t - Duration::seconds(1)).await.unwrap());
    assert!(s.remember_nonce("edge", t).await.unwrap());

    // Purging forgets the windows that ended before `now`, and only those.
    assert_eq!(s.purge_nonces(t).await.unwrap(), 1);
    assert!(s.remember_nonce("old", t + Duration::minutes(5)).await.unwrap(), "forgotten, so new again");
    assert!(!s.remember_nonce("edge", t + Duration::minutes(5)).await.unwrap(), "still remembered");
    assert!(!s.remember_nonce("nonce-1", t).await.unwrap());
    assert_eq!(s.purge_nonces(t).await.unwrap(), 0);
    assert_eq!(s.purge_nonces(t + Duration::hours(1)).await.unwrap(), 4);
    assert!(s.remember_nonce("nonce-1", t + Duration::minutes(5)).await.unwrap());

    // A batch: one answer per entry, in order; a nonce already remembered and every later copy of
    // one in the batch are replays; an empty batch writes nothing.
    let later = t + Duration::minutes(5);
    let batch: Vec<(String, _)> = ["b-1", "nonce-1", "b-2", "b-1", "b-3", "b-2", "B-1", "it's \"quoted\""]
        .iter()
        .map(|n| (n.to_string(), later))
        .collect();
    assert_eq!(s.remember_nonces(&batch).await.unwrap(), [true, false, true, false, true, false, true, true]);
    assert_eq!(s.remember_nonces(&batch).await.unwrap(), [false; 8], "the whole batch again");
    assert!(s.remember_nonces(&[]).await.unwrap().is_empty());
    assert!(!s.remember_nonce("it's \"quoted\"", later).await.unwrap(), "stored exactly as given");
    // Each entry keeps its own expiry.
    let mixed = vec![("x-old".to_owned(), t - Duration::seconds(1)), ("x-new".to_owned(), later)];
    assert_eq!(s.remember_nonces(&mixed).await.unwrap(), [true, true]);
    assert_eq!(s.purge_nonces(t).await.unwrap(), 1);
    assert!(!s.remember_nonce("x-new", later).await.unwrap());
    assert!(s.remember_nonce("x-old", later).await.unwrap());
}
