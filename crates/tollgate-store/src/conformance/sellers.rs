//! The basics (ping, backend name) and sellers, with their refresh tokens and token generations.

use super::*;

pub async fn basics<S: Store>(s: &S) {
    s.ping().await.unwrap();
    let name = s.backend();
    assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase()));
}

pub async fn sellers<S: Store>(s: &S) {
    let a = seller();
    s.create_seller(&a).await.unwrap();
    assert_eq!(s.seller_by_id(&a.id).await.unwrap(), Some(a.clone()));
    // Email lookups ignore case and keep the email as written.
    assert_eq!(s.seller_by_email(&a.email.to_lowercase()).await.unwrap(), Some(a.clone()));
    assert_eq!(s.seller_by_email(&a.email.to_uppercase()).await.unwrap(), Some(a.clone()));
    assert_eq!(s.seller_by_id("seller_missing").await.unwrap(), None);
    assert_eq!(s.seller_by_email("nobody@example.com").await.unwrap(), None);

    let mut same_email = seller();
    same_email.email = a.email.to_uppercase();
    assert_conflict(s.create_seller(&same_email).await, constraint::SELLER_EMAIL);
    assert_eq!(s.seller_by_id(&same_email.id).await.unwrap(), None);

    // Refresh tokens are single use and expire.
    let t = now();
    let fresh = |t: &RefreshToken| RefreshUse::Fresh { seller_id: t.seller_id.clone(), chain_id: t.chain_id.clone() };
    let live = refresh_token(&a.id, &"1".repeat(64), t + Duration::days(30));
    s.insert_refresh_token(&live).await.unwrap();
    assert_eq!(s.consume_refresh_token(&live.token_hash, t).await.unwrap(), fresh(&live));
    assert_eq!(
        s.consume_refresh_token(&live.token_hash, t).await.unwrap(),
        RefreshUse::Reused { seller_id: a.id.clone() },
        "a refresh token is consumed once"
    );
    assert_eq!(s.consume_refresh_token(&"9".repeat(64), t).await.unwrap(), RefreshUse::Invalid);

    let expired = refresh_token(&a.id, &"2".repeat(64), t - Duration::seconds(1));
    s.insert_refresh_token(&expired).await.unwrap();
    assert_eq!(s.consume_refresh_token(&expired.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    let at_edge = refresh_token(&a.id, &"3".repeat(64), t);
    s.insert_refresh_token(&at_edge).await.unwrap();
    assert_eq!(
        s.consume_refresh_token(&at_edge.token_hash, t).await.unwrap(),
        RefreshUse::Invalid,
        "a token expiring now is expired"
    );
    assert_eq!(
        s.consume_refresh_token(&at_edge.token_hash, t - Duration::milliseconds(1)).await.unwrap(),
        fresh(&at_edge),
        "a refused consume does not use the token up"
    );

    let dup = refresh_token(&a.id, &live.token_hash, t + Duration::days(1));
    assert_conflict(s.insert_refresh_token(&dup).await, constraint::REFRESH_TOKEN_HASH);
    let orphan = refresh_token("seller_missing", &"4".repeat(64), t + Duration::days(1));
    assert!(s.insert_refresh_token(&orphan).await.is_err());

    // A chain: root -> second -> third. Reusing the spent root revokes the chain, the unused
    // third included, and a successor added to the chain afterwards is dead on arrival.
    let root = refresh_token(&a.id, &"5".repeat(64), t + Duration::days(1));
    let mut second = refresh_token(&a.id, &"6".repeat(64), t + Duration::days(1));
    let mut third = refresh_token(&a.id, &"7".repeat(64), t + Duration::days(1));
    let mut late = refresh_token(&a.id, &"8".repeat(64), t + Duration::days(1));
    second.chain_id = root.chain_id.clone();
    third.chain_id = root.chain_id.clone();
    late.chain_id = root.chain_id.clone();
    let other_chain = refresh_token(&a.id, &"a".repeat(64), t + Duration::days(1));
    for tok in [&root, &second, &third, &other_chain] {
        s.insert_refresh_token(tok).await.unwrap();
    }
    assert_eq!(s.consume_refresh_token(&root.token_hash, t).await.unwrap(), fresh(&root));
    assert_eq!(s.consume_refresh_token(&second.token_hash, t).await.unwrap(), fresh(&second));
    assert_eq!(
        s.consume_refresh_token(&root.token_hash, t).await.unwrap(),
        RefreshUse::Reused { seller_id: a.id.clone() }
    );
    assert_eq!(s.consume_refresh_token(&third.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    s.insert_refresh_token(&late).await.unwrap();
    assert_eq!(s.consume_refresh_token(&late.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    assert_eq!(s.consume_refresh_token(&other_chain.token_hash, t).await.unwrap(), fresh(&other_chain));

    // Logout revokes one chain of the seller's, and nobody else's.
    let mut out1 = refresh_token(&a.id, &"b".repeat(64), t + Duration::days(1));
    let mut out2 = refresh_token(&a.id, &"c".repeat(64), t + Duration::days(1));
    out1.chain_id = "chain_logout".into();
    out2.chain_id = "chain_logout".into();
    let keep = refresh_token(&a.id, &"d".repeat(64), t + Duration::days(1));
    for tok in [&out1, &out2, &keep] {
        s.insert_refresh_token(tok).await.unwrap();
    }
    let b = seller();
    s.create_seller(&b).await.unwrap();
    assert!(!s.revoke_refresh_chain(&b.id, &out1.token_hash, t).await.unwrap(), "not b's token");
    assert!(!s.revoke_refresh_chain(&a.id, &"f".repeat(64), t).await.unwrap());
    assert!(s.revoke_refresh_chain(&a.id, &out1.token_hash, t).await.unwrap());
    assert_eq!(s.consume_refresh_token(&out2.token_hash, t).await.unwrap(), RefreshUse::Invalid);
    assert_eq!(s.consume_refresh_token(&keep.token_hash, t).await.unwrap(), fresh(&keep));

    // Token generations move forward; a deleted seller has none.
    assert_eq!(s.seller_token_generation(&a.id).await.unwrap(), Some(0));
    assert_eq!(s.bump_seller_token_generation(&a.id).await.unwrap(), Some(1));
    assert_eq!(s.seller_token_generation(&a.id).await.unwrap(), Some(1));
    assert_eq!(s.seller_token_generation(&b.id).await.unwrap(), Some(0));
    assert_eq!(s.seller_token_generation("seller_missing").await.unwrap(), None);
    assert_eq!(s.bump_seller_token_generation("seller_missing").await.unwrap(), None);

    // Deleting a seller takes its apps and tokens along, and nothing of another seller's.
    let app_a = app(&a.id);
    s.create_app(&app_a).await.unwrap();
    let app_b = app(&b.id);
    s.create_app(&app_b).await.unwrap();
    assert!(s.delete_seller(&a.id).await.unwrap());
    assert!(!s.delete_seller(&a.id).await.unwrap());
    assert_eq!(s.seller_by_id(&a.id).await.unwrap(), None);
    assert_eq!(s.seller_token_generation(&a.id).await.unwrap(), None);
    assert_eq!(s.app_by_id(&app_a.id).await.unwrap(), None);
    assert!(s.app_by_id(&app_b.id).await.unwrap().is_some());
}
