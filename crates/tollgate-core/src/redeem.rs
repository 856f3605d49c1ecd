//! License redemption and account access rules, shared by every dialect.
//!
//! These decide; the store makes the decision stick atomically (a conditional write that only
//! turns an `UNUSED` key `USED`), so a key that passes here can still lose a race and is then
//! re-read and judged again.

use crate::error::DomainError;
use crate::model::{DeviceLicense, DeviceType, License, LicenseStatus, User, UserStatus};
use crate::time::Timestamp;

/// The state errors every use of a key shares: unknown, banned, paused, expired.
fn usable(license: Option<&License>, now: Timestamp) -> Result<&License, DomainError> {
    let license = license.ok_or(DomainError::LicenseNotFound)?;
    match license.status {
        LicenseStatus::Banned => return Err(DomainError::LicenseBanned { reason: license.ban_reason.clone() }),
        LicenseStatus::Paused => return Err(DomainError::LicensePaused),
        LicenseStatus::Expired => return Err(DomainError::LicenseExpired),
        LicenseStatus::Unused | LicenseStatus::Used => {}
    }
    // Expiry is checked at use: no job has to flip the status for this to hold.
    if license.expires_at.is_some_and(|e| e <= now) {
        return Err(DomainError::LicenseExpired);
    }
    Ok(license)
}

/// Redeeming onto an account (register, extend): only an unused key can be consumed.
pub fn check_redeemable(license: Option<&License>, now: Timestamp) -> Result<&License, DomainError> {
    let license = usable(license, now)?;
    if license.status != LicenseStatus::Unused {
        return Err(in_use(license));
    }
    Ok(license)
}

/// How a used key is refused: `LicenseLinked` when an account holds it, `LicenseInUse` when it
/// was activated by a key login.
pub fn in_use(license: &License) -> DomainError {
    if license.user_id.is_some() {
        DomainError::LicenseLinked
    } else {
        DomainError::LicenseInUse
    }
}

/// What a key login may do with the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLogin {
    /// First use: activate it.
    Activate,
    /// Used before by key login: sign in again (device rules still apply).
    Resume,
}

/// License login with the key alone. A key that was redeemed onto an account belongs to that
/// account: logging in with the key alone is refused as `LicenseLinked`.
pub fn check_key_login(license: Option<&License>, now: Timestamp) -> Result<KeyLogin, DomainError> {
    let license = usable(license, now)?;
    match (license.status, &license.user_id) {
        (LicenseStatus::Unused, _) => Ok(KeyLogin::Activate),
        (_, Some(_)) => Err(DomainError::LicenseLinked),
        (_, None) => Ok(KeyLogin::Resume),
    }
}

/// Whether a use of `license` at `now` is the moment to record that it has expired: a key used
/// by key login alone (no account holds it) whose expiry has passed while its stored status is
/// still `USED`. The caller then moves it `USED` -> `EXPIRED` with one conditional update, so of
/// several uses at once exactly one records it; afterwards the stored status says `EXPIRED` and
/// this answers `false`. A key held by an account is not recorded: the account's own expiry is
/// what its uses meet.
pub fn expiry_to_record(license: &License, now: Timestamp) -> bool {
    license.status == LicenseStatus::Used && license.user_id.is_none() && license.expires_at.is_some_and(|e| e <= now)
}

/// The expiry a key gets when it is first used at `now`; `None` for lifetime keys.
pub fn expiry_at_activation(license: &License, now: Timestamp) -> Option<Timestamp> {
    license.duration.span().map(|span| now + span)
}

/// Whether an account may sign in (login, extend, change password): banned, paused (suspended)
/// and expired accounts may not. The ban reason travels with the error.
pub fn check_user(user: &User, now: Timestamp) -> Result<(), DomainError> {
    match user.status {
        UserStatus::Banned => return Err(DomainError::UserBanned { reason: user.ban_reason.clone() }),
        UserStatus::Paused => return Err(DomainError::UserSuspended),
        UserStatus::Active => {}
    }
    if user.expires_at.is_some_and(|e| e <= now) {
        return Err(DomainError::UserExpired);
    }
    Ok(())
}

/// Same as [`check_user`] without the expiry: an expired account may still be extended.
pub fn check_user_standing(user: &User) -> Result<(), DomainError> {
    match user.status {
        UserStatus::Banned => Err(DomainError::UserBanned { reason: user.ban_reason.clone() }),
        UserStatus::Paused => Err(DomainError::UserSuspended),
        UserStatus::Active => Ok(()),
    }
}

/// The device decision before the store's atomic bind: with the lock off nothing is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceCheck {
    /// Lock off, or no device id presented: nothing to bind.
    Skip,
    /// Already bound.
    Known,
    /// Bind it (the store re-checks the limit atomically).
    Bind,
}

/// With `hwid_lock`, the first devices seen are bound up to `max_devices`; another is refused
/// with `DeviceLimitReached` until the seller resets the devices.
pub fn check_device(
    hwid_lock: bool,
    bound: &[String],
    max_devices: i64,
    device: Option<&str>,
) -> Result<DeviceCheck, DomainError> {
    let Some(device) = device.filter(|d| !d.is_empty()) else { return Ok(DeviceCheck::Skip) };
    if !hwid_lock {
        return Ok(DeviceCheck::Skip);
    }
    if bound.iter().any(|d| d == device) {
        return Ok(DeviceCheck::Known);
    }
    if i64::try_from(bound.len()).unwrap_or(i64::MAX) >= max_devices.max(1) {
        return Err(DomainError::DeviceLimitReached);
    }
    Ok(DeviceCheck::Bind)
}

/// Device licenses (Authly `device-auth`): unknown, banned, paused, expired refuse, each with
/// the device type in the error.
pub fn check_device_license(
    device_type: DeviceType,
    device: Option<&DeviceLicense>,
    now: Timestamp,
) -> Result<&DeviceLicense, DomainError> {
    let device = device.ok_or(DomainError::DeviceNotFound(device_type))?;
    match device.status {
        LicenseStatus::Banned => {
            return Err(DomainError::DeviceBanned { device_type, reason: device.ban_reason.clone() });
        }
        LicenseStatus::Paused => return Err(DomainError::DevicePaused(device_type)),
        LicenseStatus::Expired => return Err(DomainError::DeviceExpired(device_type)),
        LicenseStatus::Unused | LicenseStatus::Used => {}
    }
    if device.expires_at.is_some_and(|e| e <= now) {
        return Err(DomainError::DeviceExpired(device_type));
    }
    Ok(device)
}

/// Accounts made without a license from one address, per app, within
/// [`UNLICENSED_SIGNUP_WINDOW`]: a cheap account costs its maker something.
pub const UNLICENSED_SIGNUPS_PER_ADDRESS: u32 = 3;
/// The window [`UNLICENSED_SIGNUPS_PER_ADDRESS`] counts over.
pub const UNLICENSED_SIGNUP_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// When an account made without a license at `at` expires: at once. It holds no time (and level
/// 0) until a license is redeemed onto it, which adds the license's time from then.
pub fn unlicensed_expiry(at: Timestamp) -> Option<Timestamp> {
    Some(at)
}

/// Whole seconds until the next account without a license may be made from an address whose
/// oldest one in the window was made at `oldest`: when that one leaves the window; at least 1.
pub fn unlicensed_retry_after(oldest: Timestamp, now: Timestamp) -> u64 {
    let left = (oldest + UNLICENSED_SIGNUP_WINDOW - now).num_milliseconds();
    u64::try_from((left + 999) / 1000).unwrap_or(0).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::DurationType;
    use crate::model::Creator;
    use crate::time::now;
    use chrono::Duration;

    fn license(status: LicenseStatus) -> License {
        License {
            id: "lic_1".into(),
            app_id: "app_1".into(),
            key: "K-1".into(),
            status,
            level: 1,
            duration: DurationType::Days(30),
            max_devices: 1,
            note: None,
            prefix: None,
            created_by: Creator::Seller("seller_1".into()),
            created_at: now(),
            activated_at: None,
            expires_at: None,
            user_id: None,
            devices: vec![],
            ban_reason: Some("chargeback".into()),
        }
    }

    fn user(status: UserStatus) -> User {
        User {
            note: None,
            id: "usr_1".into(),
            app_id: "app_1".into(),
            username: "u".into(),
            password_hash: String::new(),
            email: None,
            level: 1,
            expires_at: None,
            devices: vec![],
            max_devices: 1,
            last_ip: None,
            status,
            ban_reason: Some("abuse".into()),
            last_login: None,
            created_at: now(),
        }
    }

    #[test]
    fn redeemable_only_when_unused_and_each_state_has_its_error() {
        let t = now();
        assert!(check_redeemable(Some(&license(LicenseStatus::Unused)), t).is_ok());
        assert_eq!(check_redeemable(None, t).unwrap_err(), DomainError::LicenseNotFound);
        assert_eq!(check_redeemable(Some(&license(LicenseStatus::Used)), t).unwrap_err(), DomainError::LicenseInUse);
        assert_eq!(
            check_redeemable(Some(&license(LicenseStatus::Banned)), t).unwrap_err(),
            DomainError::LicenseBanned { reason: Some("chargeback".into()) }
        );
        assert_eq!(check_redeemable(Some(&license(LicenseStatus::Paused)), t).unwrap_err(), DomainError::LicensePaused);
        assert_eq!(
            check_redeemable(Some(&license(LicenseStatus::Expired)), t).unwrap_err(),
            DomainError::LicenseExpired
        );
        let mut past = license(LicenseStatus::Used);
        past.expires_at = Some(t);
        assert_eq!(check_redeemable(Some(&past), t).unwrap_err(), DomainError::LicenseExpired, "expired beats in use");
    }

    #[test]
    fn key_login_activates_resumes_or_refuses_an_account_key() {
        let t = now();
        assert_eq!(check_key_login(Some(&license(LicenseStatus::Unused)), t), Ok(KeyLogin::Activate));
        assert_eq!(check_key_login(Some(&license(LicenseStatus::Used)), t), Ok(KeyLogin::Resume));
        let mut owned = license(LicenseStatus::Used);
        owned.user_id = Some("usr_1".into());
        assert_eq!(check_key_login(Some(&owned), t), Err(DomainError::LicenseLinked));
        assert_eq!(check_key_login(Some(&license(LicenseStatus::Paused)), t), Err(DomainError::LicensePaused));
    }

    #[test]
    fn an_expiry_is_recorded_once_for_a_used_key_login_key_only() {
        let t = now();
        let mut key = license(LicenseStatus::Used);
        key.expires_at = Some(t);
        assert!(expiry_to_record(&key, t), "expired at this very instant");
        assert_eq!(check_key_login(Some(&key), t), Err(DomainError::LicenseExpired), "the answer stays the same");
        key.expires_at = Some(t + Duration::seconds(1));
        assert!(!expiry_to_record(&key, t), "not expired yet");
        key.expires_at = None;
        assert!(!expiry_to_record(&key, t), "a lifetime key never expires");

        let mut past = license(LicenseStatus::Used);
        past.expires_at = Some(t - Duration::days(1));
        for status in [LicenseStatus::Unused, LicenseStatus::Expired, LicenseStatus::Banned, LicenseStatus::Paused] {
            assert!(!expiry_to_record(&License { status, ..past.clone() }, t), "{status:?}");
        }
        let owned = License { user_id: Some("usr_1".into()), ..past.clone() };
        assert!(!expiry_to_record(&owned, t), "a key held by an account");
        assert!(expiry_to_record(&past, t));
    }

    #[test]
    fn activation_expiry_follows_the_duration() {
        let t = now();
        assert_eq!(expiry_at_activation(&license(LicenseStatus::Unused), t), Some(t + Duration::days(30)));
        let mut life = license(LicenseStatus::Unused);
        life.duration = DurationType::Lifetime;
        assert_eq!(expiry_at_activation(&life, t), None);
    }

    #[test]
    fn user_states() {
        let t = now();
        assert!(check_user(&user(UserStatus::Active), t).is_ok());
        assert_eq!(
            check_user(&user(UserStatus::Banned), t),
            Err(DomainError::UserBanned { reason: Some("abuse".into()) })
        );
        assert_eq!(check_user(&user(UserStatus::Paused), t), Err(DomainError::UserSuspended));
        let mut expired = user(UserStatus::Active);
        expired.expires_at = Some(t - Duration::seconds(1));
        assert_eq!(check_user(&expired, t), Err(DomainError::UserExpired));
        assert!(check_user_standing(&expired).is_ok(), "an expired account can still be extended");
    }

    #[test]
    fn devices_bind_up_to_the_limit_only_with_the_lock() {
        let bound = vec!["A".to_owned()];
        assert_eq!(check_device(true, &bound, 1, Some("A")), Ok(DeviceCheck::Known));
        assert_eq!(check_device(true, &bound, 1, Some("B")), Err(DomainError::DeviceLimitReached));
        assert_eq!(check_device(true, &bound, 2, Some("B")), Ok(DeviceCheck::Bind));
        assert_eq!(check_device(false, &bound, 1, Some("B")), Ok(DeviceCheck::Skip));
        assert_eq!(check_device(true, &bound, 1, None), Ok(DeviceCheck::Skip));
        assert_eq!(check_device(true, &[], 0, Some("A")), Ok(DeviceCheck::Bind), "a limit below 1 still binds one");
    }

    #[test]
    fn unlicensed_signups_wait_for_the_oldest_to_leave_the_window() {
        let t = now();
        assert_eq!(unlicensed_retry_after(t, t), 24 * 3600);
        assert_eq!(unlicensed_retry_after(t - Duration::hours(23), t), 3600);
        assert_eq!(unlicensed_retry_after(t - Duration::milliseconds(86_399_500), t), 1);
        assert_eq!(unlicensed_retry_after(t - Duration::hours(25), t), 1);
        assert_eq!(unlicensed_expiry(t), Some(t));
    }
}
