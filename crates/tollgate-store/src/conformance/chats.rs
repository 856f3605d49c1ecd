//! Chat channels, mutes and messages.

use super::*;

/// Channels, messages (newest first, by cursor) and mutes, scoped by app.
pub async fn chats<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();

    let mut general = chat_channel(&a.id, "General");
    general.created_at = t - Duration::hours(2);
    let lower = chat_channel(&a.id, "general");
    s.create_channel(&lower).await.unwrap();
    s.create_channel(&general).await.unwrap();
    let b_general = chat_channel(&b.id, "General");
    s.create_channel(&b_general).await.unwrap();
    assert_conflict(s.create_channel(&chat_channel(&a.id, "General")).await, constraint::CHAT_CHANNEL_APP_NAME);
    assert!(s.create_channel(&chat_channel("app_missing", "x")).await.is_err(), "a channel needs an app");

    assert_eq!(s.list_channels(&a.id).await.unwrap(), vec![general.clone(), lower.clone()], "oldest first");
    assert_eq!(s.list_channels(&b.id).await.unwrap(), vec![b_general.clone()]);
    assert_eq!(s.get_channel(&a.id, &general.id).await.unwrap(), Some(general.clone()));
    assert_eq!(s.get_channel(&b.id, &general.id).await.unwrap(), None);
    assert_eq!(s.channel_by_name(&a.id, "General").await.unwrap(), Some(general.clone()));
    assert_eq!(s.channel_by_name(&a.id, "general").await.unwrap(), Some(lower.clone()));
    assert_eq!(s.channel_by_name(&a.id, "GENERAL").await.unwrap(), None, "names compare exactly");
    assert_eq!(s.channel_by_name(&b.id, "general").await.unwrap(), None);

    // 25 messages, three to a millisecond so the id decides most of the order; ids that differ
    // in case only sort by bytes.
    let base = t - Duration::minutes(30);
    let mut msgs: Vec<ChatMessage> = (0..25)
        .map(|i| {
            let mut m = chat_message(&a.id, &general.id, &format!("hello {i}"), base + Duration::milliseconds(i / 3));
            if i % 4 == 0 {
                m.user_id = None;
                m.username = "former user".into();
            }
            m
        })
        .collect();
    for (i, id) in ["msg_Zed", "msg_alpha", "msg_Alpha", "msg__x"].iter().enumerate() {
        let mut m = chat_message(&a.id, &general.id, &format!("tie {i}"), base + Duration::milliseconds(4));
        m.id = (*id).to_owned();
        msgs.push(m);
    }
    for m in &msgs {
        s.post_message(m).await.unwrap();
    }
    let lower_msg = chat_message(&a.id, &lower.id, "elsewhere", t);
    s.post_message(&lower_msg).await.unwrap();
    s.post_message(&chat_message(&b.id, &b_general.id, "other app", t)).await.unwrap();
    // Never into another app's channel or a missing one.
    assert_not_found(s.post_message(&chat_message(&a.id, &b_general.id, "x", t)).await);
    assert_not_found(s.post_message(&chat_message(&b.id, &general.id, "x", t)).await);
    assert_not_found(s.post_message(&chat_message(&a.id, "chan_missing", "x", t)).await);

    let ordered = newest_first(&msgs, |m| (m.created_at, m.id.clone()));
    assert_eq!(s.list_messages(&a.id, &general.id, None, 100).await.unwrap(), ordered);
    assert_eq!(s.list_messages(&a.id, &general.id, None, 3).await.unwrap(), ordered[..3].to_vec());
    for limit in [1, 4, 7, 100] {
        let mut walked: Vec<ChatMessage> = Vec::new();
        let mut cursor: Option<MessageCursor> = None;
        loop {
            let got = s.list_messages(&a.id, &general.id, cursor.as_ref(), limit).await.unwrap();
            assert!(got.len() <= limit as usize);
            let Some(last) = got.last() else { break };
            cursor = Some(MessageCursor { created_at: last.created_at, id: last.id.clone() });
            walked.extend(got);
            assert!(walked.len() <= ordered.len(), "limit {limit}: the walk does not end");
        }
        assert_eq!(walked, ordered, "limit {limit}: by cursor");
    }
    // A tie on created_at: only smaller ids come after.
    let tie = MessageCursor { created_at: base + Duration::milliseconds(4), id: "msg_Zed".into() };
    let want: Vec<ChatMessage> =
        ordered.iter().filter(|m| (m.created_at, m.id.as_str()) < (tie.created_at, tie.id.as_str())).cloned().collect();
    let got = s.list_messages(&a.id, &general.id, Some(&tie), 100).await.unwrap();
    assert_eq!(got, want);
    assert!(got.iter().all(|m| m.id != "msg_alpha" && m.id != "msg__x"), "lowercase sorts after Z");
    let future = MessageCursor { created_at: t + Duration::days(1), id: String::new() };
    assert_eq!(s.list_messages(&a.id, &general.id, Some(&future), 100).await.unwrap(), ordered);
    assert_eq!(s.list_messages(&a.id, &lower.id, None, 100).await.unwrap(), vec![lower_msg.clone()]);
    assert!(s.list_messages(&b.id, &general.id, None, 100).await.unwrap().is_empty());

    // Mutes: insert or replace, scoped by app on the channel and the user.
    let alice = stored_user(s, &a.id, "alice").await;
    let bob = stored_user(s, &a.id, "bob").await;
    let stranger = stored_user(s, &b.id, "stranger").await;
    let m_alice = chat_mute(&a.id, &general.id, &alice.id);
    let mut m_bob = chat_mute(&a.id, &general.id, &bob.id);
    m_bob.reason = None;
    m_bob.until = None;
    m_bob.created_at = m_alice.created_at + Duration::minutes(1);
    s.mute_user(&m_alice).await.unwrap();
    s.mute_user(&m_bob).await.unwrap();
    assert_eq!(s.get_mute(&a.id, &general.id, &alice.id).await.unwrap(), Some(m_alice.clone()));
    assert_eq!(s.get_mute(&a.id, &general.id, &bob.id).await.unwrap(), Some(m_bob.clone()));
    assert_eq!(s.get_mute(&a.id, &lower.id, &alice.id).await.unwrap(), None);
    assert_eq!(s.list_mutes(&a.id, &general.id).await.unwrap(), vec![m_alice.clone(), m_bob.clone()]);
    let again = ChatMute { reason: Some("again".into()), until: None, created_at: t, ..m_alice.clone() };
    s.mute_user(&again).await.unwrap();
    assert_eq!(s.get_mute(&a.id, &general.id, &alice.id).await.unwrap(), Some(again.clone()));
    assert_eq!(s.list_mutes(&a.id, &general.id).await.unwrap(), vec![m_bob.clone(), again.clone()]);
    assert_not_found(s.mute_user(&chat_mute(&b.id, &general.id, &alice.id)).await);
    assert_not_found(s.mute_user(&chat_mute(&a.id, &general.id, &stranger.id)).await);
    assert_not_found(s.mute_user(&chat_mute(&a.id, &b_general.id, &alice.id)).await);
    assert_not_found(s.mute_user(&chat_mute(&a.id, &general.id, "usr_missing")).await);
    assert_eq!(s.get_mute(&b.id, &general.id, &alice.id).await.unwrap(), None);
    assert!(s.list_mutes(&b.id, &general.id).await.unwrap().is_empty());
    assert!(s.list_mutes(&b.id, &b_general.id).await.unwrap().is_empty());
    assert!(!s.unmute_user(&b.id, &general.id, &alice.id).await.unwrap());
    assert!(s.unmute_user(&a.id, &general.id, &alice.id).await.unwrap());
    assert!(!s.unmute_user(&a.id, &general.id, &alice.id).await.unwrap());
    assert_eq!(s.list_mutes(&a.id, &general.id).await.unwrap(), vec![m_bob.clone()]);

    // Deleting a user takes their mutes and leaves their messages.
    s.mute_user(&chat_mute(&a.id, &lower.id, &bob.id)).await.unwrap();
    let mut by_bob = chat_message(&a.id, &lower.id, "bye", t + Duration::seconds(1));
    by_bob.user_id = Some(bob.id.clone());
    s.post_message(&by_bob).await.unwrap();
    assert!(s.delete_user(&a.id, &bob.id).await.unwrap());
    assert!(s.list_mutes(&a.id, &lower.id).await.unwrap().is_empty());
    assert!(s.list_mutes(&a.id, &general.id).await.unwrap().is_empty());
    assert_eq!(s.list_messages(&a.id, &lower.id, None, 10).await.unwrap(), vec![by_bob, lower_msg.clone()]);

    // Deleting a channel takes its messages and mutes; scoped.
    s.mute_user(&m_alice).await.unwrap();
    assert!(!s.delete_channel(&b.id, &general.id).await.unwrap());
    assert!(s.delete_channel(&a.id, &general.id).await.unwrap());
    assert!(!s.delete_channel(&a.id, &general.id).await.unwrap());
    assert_eq!(s.get_channel(&a.id, &general.id).await.unwrap(), None);
    assert!(s.list_messages(&a.id, &general.id, None, 100).await.unwrap().is_empty());
    assert!(s.list_mutes(&a.id, &general.id).await.unwrap().is_empty());
    assert_eq!(s.list_channels(&a.id).await.unwrap(), vec![lower.clone()]);
    assert_eq!(s.list_messages(&a.id, &lower.id, None, 10).await.unwrap().len(), 2);
    assert_eq!(s.list_messages(&b.id, &b_general.id, None, 10).await.unwrap().len(), 1);
    // The name is free again.
    s.create_channel(&chat_channel(&a.id, "General")).await.unwrap();
}
