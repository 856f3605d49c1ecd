//! Response-signing keys.

use super::*;

/// Response-signing keys: at most one active, whoever inserts or activates concurrently.
pub async fn signing_keys<S: Store>(s: Arc<S>) {
    const N: usize = 20;
    let t0 = now() - Duration::hours(1);

    assert_eq!(s.active_signing_key().await.unwrap(), None);
    assert!(s.list_signing_keys().await.unwrap().is_empty());
    assert!(!s.activate_signing_key("k1").await.unwrap(), "no such key");
    assert!(s.list_signing_keys().await.unwrap().is_empty());

    // Nodes starting together on an empty database, each with its own new key: one wins.
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier) = (s.clone(), barrier.clone());
            let key = signing_key(&format!("race-{i:02}"), true, t0);
            tokio::spawn(async move {
                barrier.wait().await;
                (key.kid.clone(), s.insert_signing_key(&key).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in futures::future::join_all(tasks).await {
        match t.unwrap() {
            (kid, Ok(true)) => winners.push(kid),
            (_, Ok(false)) => {}
            (_, Err(e)) => panic!("insert_signing_key failed under concurrency: {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one active key is inserted: {winners:?}");
    let first = s.active_signing_key().await.unwrap().unwrap();
    assert_eq!(first, signing_key(&winners[0], true, t0), "every field round-trips");
    assert_eq!(s.list_signing_keys().await.unwrap(), vec![first.clone()]);

    // A taken kid is refused even for an inactive key, and nothing changes.
    assert!(!s.insert_signing_key(&signing_key(&first.kid, false, now())).await.unwrap());
    // A second active key is refused.
    assert!(!s.insert_signing_key(&signing_key("k-second-active", true, now())).await.unwrap());
    assert_eq!(s.list_signing_keys().await.unwrap(), vec![first.clone()]);

    // Rotation: insert inactive, then activate; the old key stays, inactive.
    let second = signing_key("k2", false, t0 + Duration::minutes(1));
    let third = signing_key("k3", false, t0 + Duration::minutes(2));
    assert!(s.insert_signing_key(&second).await.unwrap());
    assert!(s.insert_signing_key(&third).await.unwrap());
    assert_eq!(
        s.active_signing_key().await.unwrap().unwrap().kid,
        first.kid,
        "inserting inactive keys changes nothing"
    );
    assert!(s.activate_signing_key("k2").await.unwrap());
    let listed = s.list_signing_keys().await.unwrap();
    let kids: Vec<(&str, bool)> = listed.iter().map(|k| (k.kid.as_str(), k.active)).collect();
    assert_eq!(kids, vec![("k3", false), ("k2", true), (first.kid.as_str(), false)], "newest first");
    assert_eq!(s.active_signing_key().await.unwrap().unwrap(), SigningKey { active: true, ..second.clone() });

    // Activating the active key again, or an unknown one, keeps exactly that key active.
    assert!(s.activate_signing_key("k2").await.unwrap());
    assert!(!s.activate_signing_key("k-missing").await.unwrap());
    assert_eq!(s.active_signing_key().await.unwrap().unwrap().kid, "k2");
    assert_eq!(s.list_signing_keys().await.unwrap().iter().filter(|k| k.active).count(), 1);

    // Concurrent activations of different keys: all succeed, one key ends up active.
    let kids = [first.kid.clone(), "k2".to_owned(), "k3".to_owned()];
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, kid) = (s.clone(), barrier.clone(), kids[i % kids.len()].clone());
            tokio::spawn(async move {
                barrier.wait().await;
                s.activate_signing_key(&kid).await
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        assert!(t.unwrap().unwrap(), "activate_signing_key failed under concurrency");
    }
    let listed = s.list_signing_keys().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed.iter().filter(|k| k.active).count(), 1, "{listed:?}");
    let active = s.active_signing_key().await.unwrap().unwrap();
    assert!(listed.iter().any(|k| k.active && k.kid == active.kid));
}
