//! Status changes race: each is conditional on the status it was decided from.

use super::*;

/// Status changes are conditional on the status they were decided from: of 20 admins who all
/// read the same status and race to ban or pause, exactly one writes, and the counts, the
/// sessions and the stored row agree with that one.
pub async fn status_races<S: Store>(s: Arc<S>) {
    const N: usize = 20;
    let (_, a) = seller_with_app(s.as_ref()).await;
    let later = now() + Duration::hours(1);
    // The action of racer `i`: even ones ban (with their number as the reason), odd ones pause.
    fn wanted(i: usize) -> (LicenseStatus, Option<String>) {
        if i.is_multiple_of(2) {
            (LicenseStatus::Banned, Some(format!("racer {i}")))
        } else {
            (LicenseStatus::Paused, None)
        }
    }

    // A license, with a session that either change ends.
    let lic = license(&a.id, "RACE-LIC-1");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let mut sess = session(&a.id, None, later);
    sess.license_id = Some(lic.id.clone());
    s.create_session(&sess, &[]).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), lic.id.clone());
            tokio::spawn(async move {
                let (to, reason) = wanted(i);
                barrier.wait().await;
                (
                    i,
                    s.set_license_status(&app_id, &id, LicenseStatus::Unused, to, reason.as_deref(), &[])
                        .await
                        .unwrap(),
                )
            })
        })
        .collect();
    let winners: Vec<(usize, License)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .filter_map(|t| {
            let (i, got) = t.unwrap();
            got.map(|l| (i, l))
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one license status change wins: {winners:?}");
    let (i, won) = &winners[0];
    let (to, reason) = wanted(*i);
    assert_eq!((won.status, won.ban_reason.clone()), (to, reason));
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap().as_ref(), Some(won));
    assert_eq!(s.session_by_token(&a.id, &sess.token).await.unwrap(), None);
    let rows = totals_match(s.as_ref(), &a.id, "after racing status changes").await;
    assert_eq!(rows.len(), 1);

    // A user, likewise.
    let u = stored_user(s.as_ref(), &a.id, "racer").await;
    let us = session(&a.id, Some(&u.id), later);
    s.create_session(&us, &[]).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), u.id.clone());
            tokio::spawn(async move {
                let (to, reason) = match wanted(i) {
                    (LicenseStatus::Banned, reason) => (UserStatus::Banned, reason),
                    _ => (UserStatus::Paused, None),
                };
                barrier.wait().await;
                s.set_user_status(&app_id, &id, UserStatus::Active, to, reason.as_deref(), &[]).await.unwrap()
            })
        })
        .collect();
    let winners: Vec<User> = futures::future::join_all(tasks).await.into_iter().filter_map(|t| t.unwrap()).collect();
    assert_eq!(winners.len(), 1, "exactly one user status change wins: {winners:?}");
    assert_ne!(winners[0].status, UserStatus::Active);
    assert_eq!(s.get_user(&a.id, &u.id).await.unwrap().as_ref(), Some(&winners[0]));
    assert_eq!(s.session_by_token(&a.id, &us.token).await.unwrap(), None);

    // A device license, likewise.
    let dev = device_license(&a.id, DeviceType::Processor, "CPU-RACE");
    s.create_device_license(&dev).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), dev.id.clone());
            tokio::spawn(async move {
                let (to, reason) = wanted(i);
                barrier.wait().await;
                s.set_device_license_status(&app_id, &id, LicenseStatus::Unused, to, reason.as_deref()).await.unwrap()
            })
        })
        .collect();
    let winners: Vec<DeviceLicense> =
        futures::future::join_all(tasks).await.into_iter().filter_map(|t| t.unwrap()).collect();
    assert_eq!(winners.len(), 1, "exactly one device license status change wins: {winners:?}");
    assert_eq!(s.get_device_license(&a.id, &dev.id).await.unwrap().as_ref(), Some(&winners[0]));

    // Racers that read again and decide again when they lose: bans and pauses from `UNUSED`,
    // each retried from the status it finds, by the admin rule (a ban replaces anything; a
    // pause of a banned license is refused; a pause of a paused one changes nothing). Whatever
    // the order, the license ends banned, and the counts follow every step.
    let lic = license(&a.id, "RACE-LIC-2");
    s.insert_licenses(std::slice::from_ref(&lic)).await.unwrap();
    let barrier = Arc::new(Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let (s, barrier, app_id, id) = (s.clone(), barrier.clone(), a.id.clone(), lic.id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                loop {
                    let from = s.get_license(&app_id, &id).await.unwrap().unwrap().status;
                    let to = match (i % 2, from) {
                        (0, _) => LicenseStatus::Banned,
                        (_, LicenseStatus::Banned | LicenseStatus::Paused) => return,
                        _ => LicenseStatus::Paused,
                    };
                    if s.set_license_status(&app_id, &id, from, to, None, &[]).await.unwrap().is_some() {
                        return;
                    }
                }
            })
        })
        .collect();
    for t in futures::future::join_all(tasks).await {
        t.unwrap();
    }
    assert_eq!(s.get_license(&a.id, &lic.id).await.unwrap().unwrap().status, LicenseStatus::Banned);
    let rows = totals_match(s.as_ref(), &a.id, "after racing, re-deciding status changes").await;
    assert_eq!(rows.len(), 2);
}
