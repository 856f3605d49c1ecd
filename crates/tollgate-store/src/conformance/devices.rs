//! Device licenses.

use super::*;

/// Device licenses: round trip, uniqueness per app and device, listing, every write, scoped.
pub async fn device_licenses<S: Store>(s: &S) {
    let (_, a) = seller_with_app(s).await;
    let (_, b) = seller_with_app(s).await;
    let t = now();

    let mut full = device_license(&a.id, DeviceType::Motherboard, "MB-0001");
    full.status = LicenseStatus::Used;
    full.ban_reason = Some("kept".into());
    full.activated_at = Some(t - Duration::minutes(30));
    full.last_login = Some(t - Duration::minutes(3));
    full.last_ip = Some("203.0.113.8".into());
    full.hwid = Some("HWID-M".into());
    let mut bare = device_license(&a.id, DeviceType::Processor, "CPU-0001");
    bare.name = None;
    bare.email = None;
    bare.note = None;
    bare.expires_at = None;
    bare.level = 0;
    s.create_device_license(&full).await.unwrap();
    s.create_device_license(&bare).await.unwrap();
    for d in [&full, &bare] {
        assert_eq!(s.get_device_license(&a.id, &d.id).await.unwrap(), Some(d.clone()));
        assert_eq!(s.get_device_license(&b.id, &d.id).await.unwrap(), None);
        assert_eq!(s.device_license_by_device(&a.id, d.device_type, &d.device_id).await.unwrap(), Some(d.clone()));
        assert_eq!(s.device_license_by_device(&b.id, d.device_type, &d.device_id).await.unwrap(), None);
    }
    assert_eq!(s.device_license_by_device(&a.id, DeviceType::Processor, "MB-0001").await.unwrap(), None);
    assert_eq!(s.device_license_by_device(&a.id, DeviceType::Motherboard, "mb-0001").await.unwrap(), None);
    assert_eq!(s.get_device_license(&a.id, "dev_missing").await.unwrap(), None);

    // Unique per app, type and id.
    let dup = device_license(&a.id, DeviceType::Motherboard, "MB-0001");
    assert_conflict(s.create_device_license(&dup).await, constraint::DEVICE_LICENSE_APP_DEVICE);
    s.create_device_license(&device_license(&a.id, DeviceType::Processor, "MB-0001")).await.unwrap();
    s.create_device_license(&device_license(&b.id, DeviceType::Motherboard, "MB-0001")).await.unwrap();

    // Listing: newest first, the id breaking ties, pages joining up.
    let list_app = app(&a.owner_id);
    s.create_app(&list_app).await.unwrap();
    let base = t - Duration::hours(3);
    let all: Vec<DeviceLicense> = (0..7)
        .map(|i| {
            let mut d = device_license(&list_app.id, DeviceType::Motherboard, &format!("LIST-{i}"));
            d.created_at = base + Duration::seconds(i / 2);
            d
        })
        .collect();
    for d in &all {
        s.create_device_license(d).await.unwrap();
    }
    let ordered = newest_first(&all, |d| (d.created_at, d.id.clone()));
    let mut paged = Vec::new();
    for p in 1..=3 {
        let got = s.list_device_licenses(&list_app.id, page(p, 3)).await.unwrap();
        assert_eq!(got.total, 7);
        paged.extend(got.items);
    }
    assert_eq!(paged, ordered);
    assert_eq!(s.list_device_licenses(&b.id, page(1, 100)).await.unwrap().total, 1);

    // Update: each field written or left; `Some(None)` clears.
    let patch =
        DeviceLicensePatch { name: Some(Some("Renamed".into())), email: Some(None), level: Some(7), note: None };
    let got = s.update_device_license(&a.id, &full.id, &patch).await.unwrap();
    let mut want = full.clone();
    want.name = Some("Renamed".into());
    want.email = None;
    want.level = 7;
    assert_eq!(got, Some(want.clone()));
    let got = s.update_device_license(&a.id, &full.id, &DeviceLicensePatch::default()).await.unwrap();
    assert_eq!(got, Some(want.clone()));
    let patch = DeviceLicensePatch { note: Some(None), ..Default::default() };
    want.note = None;
    assert_eq!(s.update_device_license(&a.id, &full.id, &patch).await.unwrap(), Some(want.clone()));
    let patch = DeviceLicensePatch { level: Some(99), ..Default::default() };
    assert_eq!(s.update_device_license(&b.id, &full.id, &patch).await.unwrap(), None);
    assert_eq!(s.get_device_license(&a.id, &full.id).await.unwrap(), Some(want.clone()));

    // Status: a reason only when banning.
    let got = s
        .set_device_license_status(&a.id, &full.id, LicenseStatus::Used, LicenseStatus::Banned, Some("fraud"))
        .await
        .unwrap();
    want.status = LicenseStatus::Banned;
    want.ban_reason = Some("fraud".into());
    assert_eq!(got, Some(want.clone()));
    let got = s
        .set_device_license_status(&a.id, &full.id, LicenseStatus::Banned, LicenseStatus::Paused, Some("ignored"))
        .await
        .unwrap();
    want.status = LicenseStatus::Paused;
    want.ban_reason = None;
    assert_eq!(got, Some(want.clone()));
    assert_eq!(
        s.set_device_license_status(&b.id, &full.id, LicenseStatus::Paused, LicenseStatus::Banned, None).await.unwrap(),
        None
    );
    assert_eq!(s.get_device_license(&a.id, &full.id).await.unwrap(), Some(want.clone()));

    // Extend: from the expiry while it is ahead, from now once it has passed; never stays never.
    let got = s.extend_device_license(&a.id, &full.id, 2, t).await.unwrap().unwrap();
    assert_eq!(got.expires_at, Some(full.expires_at.unwrap() + Duration::days(2)));
    let mut lapsed = device_license(&a.id, DeviceType::Processor, "CPU-LAPSED");
    lapsed.expires_at = Some(t - Duration::days(5));
    s.create_device_license(&lapsed).await.unwrap();
    let got = s.extend_device_license(&a.id, &lapsed.id, 3, t).await.unwrap().unwrap();
    assert_eq!(got, DeviceLicense { expires_at: Some(t + Duration::days(3)), ..lapsed.clone() });
    let got = s.extend_device_license(&a.id, &bare.id, 3, t).await.unwrap().unwrap();
    assert_eq!(got, bare);
    assert_eq!(s.extend_device_license(&b.id, &lapsed.id, 3, t).await.unwrap(), None);
    assert_eq!(s.extend_device_license(&a.id, "dev_missing", 3, t).await.unwrap(), None);

    // Logins: the first turns UNUSED into USED and stamps the activation; later ones do not.
    let first = t + Duration::seconds(1);
    let got = s.record_device_login(&a.id, &bare.id, Some("198.51.100.1"), Some("HW-1"), first).await.unwrap();
    let mut want_bare = bare.clone();
    want_bare.status = LicenseStatus::Used;
    want_bare.activated_at = Some(first);
    want_bare.last_login = Some(first);
    want_bare.last_ip = Some("198.51.100.1".into());
    want_bare.hwid = Some("HW-1".into());
    assert_eq!(got, Some(want_bare.clone()));
    let second = t + Duration::seconds(2);
    let got = s.record_device_login(&a.id, &bare.id, None, Some("HW-2"), second).await.unwrap();
    want_bare.last_login = Some(second);
    want_bare.hwid = Some("HW-2".into());
    assert_eq!(got, Some(want_bare.clone()));
    assert_eq!(s.get_device_license(&a.id, &bare.id).await.unwrap(), Some(want_bare.clone()));
    // Any other status stays as it is.
    let got = s.record_device_login(&a.id, &full.id, Some("192.0.2.5"), None, second).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.activated_at, got.last_login),
        (LicenseStatus::Paused, full.activated_at, Some(second))
    );
    assert_eq!(s.record_device_login(&b.id, &bare.id, None, None, second).await.unwrap(), None);
    assert_eq!(s.record_device_login(&a.id, "dev_missing", None, None, second).await.unwrap(), None);

    // Delete, scoped; the device is free again.
    assert!(!s.delete_device_license(&b.id, &bare.id).await.unwrap());
    assert!(s.delete_device_license(&a.id, &bare.id).await.unwrap());
    assert!(!s.delete_device_license(&a.id, &bare.id).await.unwrap());
    assert_eq!(s.get_device_license(&a.id, &bare.id).await.unwrap(), None);
    s.create_device_license(&device_license(&a.id, DeviceType::Processor, "CPU-0001")).await.unwrap();
}
