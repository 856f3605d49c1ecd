//! Status transitions of users, license keys and device licenses: what a ban, unban, pause or
//! unpause does to the status a thing has now.
//!
//! One table serves all three. A ban outranks a pause: a banned thing cannot be paused, so that a
//! later unpause can never lift a ban. Lifting a ban or a pause gives back the thing's ordinary
//! status (`ACTIVE` for users; `USED` or `UNUSED` for licenses, see [`license_restored`] and
//! [`device_restored`]).
//!
//! The store applies a transition only if the status is still the one it was decided from, so
//! two admins acting at once cannot overwrite each other: the one whose status moved underneath
//! decides again on what is stored now.

use crate::model::{DeviceLicense, License, LicenseStatus, UserStatus};

/// Admin actions that move a user, license or device license between statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAction {
    Ban,
    Unban,
    Pause,
    Unpause,
}

impl StatusAction {
    pub const ALL: [StatusAction; 4] =
        [StatusAction::Ban, StatusAction::Unban, StatusAction::Pause, StatusAction::Unpause];
}

/// How many times a caller decides a change again when another change came first (each such
/// loss means another change was written, so this bound is only met under a storm of them).
pub const ATTEMPTS: usize = 10;

/// What a caller answers when it lost [`ATTEMPTS`] times in a row.
pub const CHANGED_CONCURRENTLY: Refused = Refused("The status changed concurrently; try again");

/// An action the current status does not allow; the message says why and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub &'static str);

/// A status that can be banned and paused.
pub trait Lifecycle: Copy + Eq {
    const BANNED: Self;
    const PAUSED: Self;
    /// Why a banned one cannot be paused.
    const PAUSE_WHILE_BANNED: Refused;
}

impl Lifecycle for UserStatus {
    const BANNED: Self = UserStatus::Banned;
    const PAUSED: Self = UserStatus::Paused;
    const PAUSE_WHILE_BANNED: Refused = Refused("A banned user cannot be paused; unban them first");
}

impl Lifecycle for LicenseStatus {
    const BANNED: Self = LicenseStatus::Banned;
    const PAUSED: Self = LicenseStatus::Paused;
    const PAUSE_WHILE_BANNED: Refused = Refused("A banned license cannot be paused; unban it first");
}

/// The status `action` gives something whose status is `current`; `restored` is the status a
/// lifted ban or pause gives back. `Ok(None)` when the action changes nothing (unbanning what is
/// not banned, pausing what is paused, ...). Banning what is banned is a change: it writes the
/// new reason.
pub fn next<S: Lifecycle>(current: S, restored: S, action: StatusAction) -> Result<Option<S>, Refused> {
    Ok(match action {
        StatusAction::Ban => Some(S::BANNED),
        StatusAction::Unban => (current == S::BANNED).then_some(restored),
        StatusAction::Pause if current == S::BANNED => return Err(S::PAUSE_WHILE_BANNED),
        StatusAction::Pause => (current != S::PAUSED).then_some(S::PAUSED),
        StatusAction::Unpause => (current == S::PAUSED).then_some(restored),
    })
}

/// [`next`] for a user: a lifted ban or pause gives back `ACTIVE`.
pub fn user_next(current: UserStatus, action: StatusAction) -> Result<Option<UserStatus>, Refused> {
    next(current, UserStatus::Active, action)
}

/// The status a license goes back to when a ban or pause is lifted: `USED` once it has been
/// activated or linked to a user, `UNUSED` otherwise. Expiry is checked at use, so an expired
/// key restored to `USED` still answers `LICENSE_EXPIRED`.
pub fn license_restored(license: &License) -> LicenseStatus {
    if license.user_id.is_some() || license.activated_at.is_some() {
        LicenseStatus::Used
    } else {
        LicenseStatus::Unused
    }
}

/// [`next`] for a license key.
pub fn license_next(license: &License, action: StatusAction) -> Result<Option<LicenseStatus>, Refused> {
    next(license.status, license_restored(license), action)
}

/// The status a device license goes back to when a ban or pause is lifted: `USED` once the
/// device has authenticated, `UNUSED` before.
pub fn device_restored(device: &DeviceLicense) -> LicenseStatus {
    if device.activated_at.is_some() {
        LicenseStatus::Used
    } else {
        LicenseStatus::Unused
    }
}

/// [`next`] for a device license.
pub fn device_next(device: &DeviceLicense, action: StatusAction) -> Result<Option<LicenseStatus>, Refused> {
    next(device.status, device_restored(device), action)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::license::{new_licenses, LicenseSpec};
    use crate::model::{Creator, DeviceType};
    use crate::time::now;
    use crate::DurationType;
    use StatusAction as A;

    #[test]
    fn users() {
        use UserStatus as S;
        assert_eq!(user_next(S::Active, A::Ban), Ok(Some(S::Banned)));
        assert_eq!(user_next(S::Active, A::Unban), Ok(None));
        assert_eq!(user_next(S::Active, A::Pause), Ok(Some(S::Paused)));
        assert_eq!(user_next(S::Active, A::Unpause), Ok(None));
        assert_eq!(user_next(S::Banned, A::Ban), Ok(Some(S::Banned)), "a new reason is written");
        assert_eq!(user_next(S::Banned, A::Unban), Ok(Some(S::Active)));
        assert_eq!(user_next(S::Banned, A::Pause), Err(Refused("A banned user cannot be paused; unban them first")));
        assert_eq!(user_next(S::Banned, A::Unpause), Ok(None), "an unpause never lifts a ban");
        assert_eq!(user_next(S::Paused, A::Ban), Ok(Some(S::Banned)));
        assert_eq!(user_next(S::Paused, A::Unban), Ok(None));
        assert_eq!(user_next(S::Paused, A::Pause), Ok(None));
        assert_eq!(user_next(S::Paused, A::Unpause), Ok(Some(S::Active)));
    }

    fn spec() -> LicenseSpec {
        LicenseSpec { duration: DurationType::Days(30), level: 1, max_devices: 1, prefix: None, mask: None, note: None }
    }

    #[test]
    fn licenses() {
        let t = now();
        let mut l = new_licenses("app_1", &spec(), Creator::Seller("s".into()), 1, t).remove(0);
        use LicenseStatus as S;
        assert_eq!(license_next(&l, A::Ban), Ok(Some(S::Banned)));
        assert_eq!(license_next(&l, A::Unban), Ok(None));
        assert_eq!(license_next(&l, A::Pause), Ok(Some(S::Paused)));
        assert_eq!(license_next(&l, A::Unpause), Ok(None));

        l.status = S::Banned;
        assert_eq!(license_next(&l, A::Unban), Ok(Some(S::Unused)));
        assert_eq!(license_next(&l, A::Pause), Err(Refused("A banned license cannot be paused; unban it first")));
        assert_eq!(license_next(&l, A::Unpause), Ok(None));
        l.activated_at = Some(t);
        assert_eq!(license_next(&l, A::Unban), Ok(Some(S::Used)));

        l.status = S::Paused;
        l.activated_at = None;
        assert_eq!(license_next(&l, A::Unpause), Ok(Some(S::Unused)));
        l.user_id = Some("usr_1".into());
        assert_eq!(license_next(&l, A::Unpause), Ok(Some(S::Used)));
        assert_eq!(license_next(&l, A::Pause), Ok(None));
        assert_eq!(license_next(&l, A::Ban), Ok(Some(S::Banned)));

        l.status = S::Expired;
        assert_eq!(license_next(&l, A::Pause), Ok(Some(S::Paused)));
        assert_eq!(license_next(&l, A::Unban), Ok(None));
    }

    #[test]
    fn device_licenses() {
        use LicenseStatus as S;
        let mut d = DeviceLicense {
            id: "dev_1".into(),
            app_id: "app_1".into(),
            device_type: DeviceType::Motherboard,
            device_id: "MB-1".into(),
            name: None,
            email: None,
            level: 1,
            status: S::Unused,
            ban_reason: None,
            note: None,
            created_at: now(),
            activated_at: None,
            expires_at: None,
            last_login: None,
            last_ip: None,
            hwid: None,
        };
        assert_eq!(device_next(&d, A::Ban), Ok(Some(S::Banned)));
        assert_eq!(device_next(&d, A::Unban), Ok(None));
        assert_eq!(device_next(&d, A::Pause), Ok(Some(S::Paused)));
        assert_eq!(device_next(&d, A::Unpause), Ok(None));
        d.status = S::Banned;
        assert_eq!(device_next(&d, A::Unban), Ok(Some(S::Unused)));
        assert!(device_next(&d, A::Pause).is_err());
        assert_eq!(device_next(&d, A::Unpause), Ok(None), "an unpause never lifts a ban");
        d.activated_at = Some(now());
        assert_eq!(device_next(&d, A::Unban), Ok(Some(S::Used)));
        d.status = S::Paused;
        assert_eq!(device_next(&d, A::Unpause), Ok(Some(S::Used)));
        assert_eq!(device_next(&d, A::Pause), Ok(None));
    }
}
