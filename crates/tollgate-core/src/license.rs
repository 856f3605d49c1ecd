//! License batches and license/subscription field rules, shared by every surface that makes or
//! manages licenses: the admin API, `tollgate license generate` and the reseller API.

use crate::duration::DurationType;
use crate::error::DomainError;
use crate::ids;
use crate::keys::{KeyShape, KeyShapeError};
use crate::model::{Creator, License, LicenseStatus};
use crate::time::Timestamp;
use crate::validate;

pub const MAX_LEVEL: i64 = 1_000_000;
pub const MAX_DEVICES: i64 = 1000;
pub const MAX_NOTE_LEN: usize = 500;
/// Ban reasons, for licenses and users alike.
pub const MAX_REASON_LEN: usize = 500;
/// Keys per admin API request.
pub const ADMIN_MAX_BATCH: i64 = 100;
/// Keys per reseller API request.
pub const RESELLER_MAX_BATCH: i64 = 50;
/// Longest single subscription extension: 100 years.
pub const MAX_EXTEND_DAYS: i64 = 36_500;

fn bad(field: &str, message: &str) -> DomainError {
    DomainError::validation(field, message)
}

/// What a batch of licenses is made of: everything but the keys and ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseSpec {
    pub duration: DurationType,
    pub level: i64,
    pub max_devices: i64,
    /// Ignored for key generation when a mask is given (the mask says the whole shape).
    pub prefix: Option<String>,
    pub mask: Option<String>,
    pub note: Option<String>,
}

impl LicenseSpec {
    /// Check every field; errors name the wire field (`level`, `maxDevices`, `note`, `prefix`,
    /// `mask`).
    pub fn validate(&self) -> Result<(), DomainError> {
        level("level", self.level)?;
        max_devices("maxDevices", self.max_devices)?;
        if let Some(note) = &self.note {
            validate::text("note", note, MAX_NOTE_LEN)?;
        }
        if let Some(prefix) = &self.prefix {
            KeyShape::new(Some(prefix), None).map_err(shape_error)?;
        }
        if let Some(mask) = &self.mask {
            KeyShape::new(None, Some(mask)).map_err(shape_error)?;
        }
        Ok(())
    }

    /// The key shape this spec describes.
    pub fn key_shape(&self) -> Result<KeyShape, DomainError> {
        KeyShape::new(self.prefix.as_deref(), self.mask.as_deref()).map_err(shape_error)
    }
}

fn shape_error(e: KeyShapeError) -> DomainError {
    let field = match e {
        KeyShapeError::BadPrefix => "prefix",
        KeyShapeError::BadMask => "mask",
    };
    bad(field, &e.to_string())
}

/// `durationType` from the wire: `<n>h`, `<n>d` or `lifetime` (see [`DurationType`]).
pub fn parse_duration(field: &str, s: &str) -> Result<DurationType, DomainError> {
    s.trim().parse().map_err(|()| bad(field, DurationType::RULE))
}

/// How much an admin extension adds, as a duration: `<n>h` or `<n>d`, not `lifetime`.
pub fn parse_extension(field: &str, s: &str) -> Result<DurationType, DomainError> {
    match s.trim().parse() {
        Ok(DurationType::Lifetime) | Err(()) => {
            Err(bad(field, "must be <n>h (1 to 876000 hours) or <n>d (1 to 36500 days), e.g. 12h, 14d"))
        }
        Ok(d) => Ok(d),
    }
}

/// Why a license cannot be extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtendRefusal {
    /// A lifetime key (unused with duration `lifetime`, or used without expiry) has nothing to
    /// extend.
    Lifetime,
    /// The key would last (unused) or run (used) more than 100 years from now.
    TooLong,
}

/// What extending a license writes on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LicenseExtension {
    pub duration: DurationType,
    pub expires_at: Option<Timestamp>,
    pub status: LicenseStatus,
}

/// Extend `license` by `by` at `now`:
///
/// - a key never used (no `activated_at`, whatever its status) gets a longer duration (its
///   clock starts at first use): `30d` + 1 day is `31d`, `12h` + 1 day is `36h`;
/// - a used key's expiry moves to `max(expires_at, now) + by`, so an expired key is usable
///   again for `by` from now;
/// - a key whose stored status is `EXPIRED` becomes `USED` again (`UNUSED` if never used);
///   banned and paused keys keep their status (their dates still move).
///
/// Lifetime keys are refused, and so is a result more than 100 years away.
pub fn extend(license: &License, by: DurationType, now: Timestamp) -> Result<LicenseExtension, ExtendRefusal> {
    let span = by.span().ok_or(ExtendRefusal::Lifetime)?;
    let (duration, expires_at) = match (license.activated_at, license.expires_at) {
        (None, _) => {
            if license.duration == DurationType::Lifetime {
                return Err(ExtendRefusal::Lifetime);
            }
            (license.duration.plus(by).ok_or(ExtendRefusal::TooLong)?, license.expires_at)
        }
        (Some(_), None) => return Err(ExtendRefusal::Lifetime),
        (Some(_), Some(expires)) => {
            let moved = expires.max(now).checked_add_signed(span).ok_or(ExtendRefusal::TooLong)?;
            if moved - now > chrono::Duration::days(i64::from(crate::duration::MAX_DAYS)) {
                return Err(ExtendRefusal::TooLong);
            }
            (license.duration, Some(moved))
        }
    };
    let status = match (license.status, license.activated_at) {
        (LicenseStatus::Expired, None) => LicenseStatus::Unused,
        (LicenseStatus::Expired, Some(_)) => LicenseStatus::Used,
        (other, _) => other,
    };
    Ok(LicenseExtension { duration, expires_at, status })
}

/// Fields an admin may change on a license, checked: `None` leaves a field as it is, a note of
/// `Some(None)` removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LicenseChanges {
    pub note: Option<Option<String>>,
    pub level: Option<i64>,
    pub max_devices: Option<i64>,
}

impl LicenseChanges {
    /// Check every field given (errors name the wire field: `note`, `level`, `maxDevices`); a
    /// blank note removes it.
    pub fn checked(self) -> Result<LicenseChanges, DomainError> {
        let note = match self.note {
            None => None,
            Some(None) => Some(None),
            Some(Some(n)) if n.trim().is_empty() => Some(None),
            Some(Some(n)) => Some(Some(validate::text("note", &n, MAX_NOTE_LEN)?)),
        };
        let level = self.level.map(|l| level("level", l)).transpose()?;
        if let Some(m) = self.max_devices {
            max_devices("maxDevices", m)?;
        }
        Ok(LicenseChanges { note, level, max_devices: self.max_devices })
    }

    pub fn is_empty(&self) -> bool {
        self.note.is_none() && self.level.is_none() && self.max_devices.is_none()
    }
}

/// Devices one license may be bound to: 1 to 1000.
pub fn max_devices(field: &str, n: i64) -> Result<i64, DomainError> {
    if !(1..=MAX_DEVICES).contains(&n) {
        return Err(bad(field, "must be between 1 and 1000"));
    }
    Ok(n)
}

/// A license or user level: 0 to 1,000,000.
pub fn level(field: &str, level: i64) -> Result<i64, DomainError> {
    if !(0..=MAX_LEVEL).contains(&level) {
        return Err(bad(field, "must be between 0 and 1000000"));
    }
    Ok(level)
}

/// How many keys one request may ask for: 1 to `max`.
pub fn batch_count(field: &str, count: i64, max: i64) -> Result<usize, DomainError> {
    if count < 1 || count > max {
        return Err(bad(field, &format!("must be between 1 and {max}")));
    }
    usize::try_from(count).map_err(|_| bad(field, "is out of range"))
}

/// Days added to a subscription by an admin: 1 to 36,500.
pub fn extend_days(field: &str, days: i64) -> Result<i64, DomainError> {
    if !(1..=MAX_EXTEND_DAYS).contains(&days) {
        return Err(bad(field, "must be between 1 and 36500"));
    }
    Ok(days)
}

/// An optional ban reason, at most 500 characters; blank means none.
pub fn ban_reason(field: &str, reason: Option<&str>) -> Result<Option<String>, DomainError> {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => Ok(None),
        Some(r) => validate::text(field, r, MAX_REASON_LEN).map(Some),
    }
}

/// `count` fresh, unused licenses of `spec`, each with its own id and random key.
///
/// The spec must have passed [`LicenseSpec::validate`]. Keys are unique with overwhelming
/// probability but not checked here: the store's unique constraint is the judge, and a caller
/// that meets a conflict makes a new batch.
pub fn new_licenses(app_id: &str, spec: &LicenseSpec, creator: Creator, count: usize, now: Timestamp) -> Vec<License> {
    // A spec that skipped validation gets default-shaped keys rather than a failure half-way.
    let shape = spec.key_shape().unwrap_or(KeyShape::Prefixed(None));
    let prefix = match &shape {
        KeyShape::Prefixed(p) => p.clone(),
        KeyShape::Mask(_) => None,
    };
    let note = spec.note.clone().filter(|n| !n.is_empty());
    (0..count)
        .map(|_| License {
            id: ids::new_id(ids::prefix::LICENSE),
            app_id: app_id.to_owned(),
            key: shape.generate(),
            status: LicenseStatus::Unused,
            level: spec.level,
            duration: spec.duration,
            max_devices: spec.max_devices,
            note: note.clone(),
            prefix: prefix.clone(),
            created_by: creator.clone(),
            created_at: now,
            activated_at: None,
            expires_at: None,
            user_id: None,
            devices: Vec::new(),
            ban_reason: None,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::now;

    fn spec() -> LicenseSpec {
        LicenseSpec {
            duration: DurationType::Days(30),
            level: 1,
            max_devices: 1,
            prefix: Some("VIP".into()),
            mask: None,
            note: Some("batch".into()),
        }
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn valid_spec_passes_at_the_bounds() {
        assert!(spec().validate().is_ok());
        for (level, devices) in [(0, 1), (MAX_LEVEL, MAX_DEVICES)] {
            let s = LicenseSpec { level, max_devices: devices, ..spec() };
            assert!(s.validate().is_ok(), "{level} {devices}");
        }
        let s = LicenseSpec {
            prefix: None,
            mask: Some("XXXXX-XXXXX-XXXXX".into()),
            note: Some("n".repeat(MAX_NOTE_LEN)),
            ..spec()
        };
        assert!(s.validate().is_ok());
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (LicenseSpec { level: -1, ..spec() }, "level"),
            (LicenseSpec { level: MAX_LEVEL + 1, ..spec() }, "level"),
            (LicenseSpec { max_devices: 0, ..spec() }, "maxDevices"),
            (LicenseSpec { max_devices: 1001, ..spec() }, "maxDevices"),
            (LicenseSpec { note: Some("n".repeat(MAX_NOTE_LEN + 1)), ..spec() }, "note"),
            (LicenseSpec { prefix: Some("bad prefix".into()), ..spec() }, "prefix"),
            (LicenseSpec { prefix: Some("P".repeat(17)), mask: Some("X".repeat(12)), ..spec() }, "prefix"),
            (LicenseSpec { mask: Some("XXXX-XXXX".into()), ..spec() }, "mask"),
        ];
        for (s, field) in cases {
            assert_eq!(field_of(s.validate().unwrap_err()), field, "{s:?}");
        }
    }

    #[test]
    fn durations_counts_and_days() {
        assert_eq!(parse_duration("durationType", "30d"), Ok(DurationType::Days(30)));
        assert_eq!(parse_duration("durationType", " 12h "), Ok(DurationType::Hours(12)));
        assert_eq!(parse_duration("durationType", "lifetime"), Ok(DurationType::Lifetime));
        assert_eq!(field_of(parse_duration("durationType", "2w").unwrap_err()), "durationType");
        assert_eq!(parse_extension("duration", "14d"), Ok(DurationType::Days(14)));
        assert_eq!(field_of(parse_extension("duration", "lifetime").unwrap_err()), "duration");
        assert_eq!(field_of(parse_extension("duration", "0d").unwrap_err()), "duration");
        assert_eq!(batch_count("count", 1, ADMIN_MAX_BATCH), Ok(1));
        assert_eq!(batch_count("count", 100, ADMIN_MAX_BATCH), Ok(100));
        for n in [0, -5, 101] {
            assert_eq!(field_of(batch_count("count", n, ADMIN_MAX_BATCH).unwrap_err()), "count");
        }
        assert!(batch_count("count", 51, RESELLER_MAX_BATCH).is_err());
        assert_eq!(extend_days("days", 36_500), Ok(36_500));
        assert!(extend_days("days", 0).is_err());
        assert!(extend_days("days", 36_501).is_err());
        assert_eq!(ban_reason("reason", Some("  ")), Ok(None));
        assert_eq!(ban_reason("reason", Some(" abuse ")), Ok(Some("abuse".into())));
        assert!(ban_reason("reason", Some(&"r".repeat(501))).is_err());
    }

    #[test]
    fn batch_has_fresh_unused_licenses_of_the_shape() {
        let t = now();
        let lics = new_licenses("app_1", &spec(), Creator::Seller("seller_1".into()), 50, t);
        assert_eq!(lics.len(), 50);
        let keys: std::collections::HashSet<&str> = lics.iter().map(|l| l.key.as_str()).collect();
        let ids: std::collections::HashSet<&str> = lics.iter().map(|l| l.id.as_str()).collect();
        assert_eq!((keys.len(), ids.len()), (50, 50));
        for l in &lics {
            assert!(l.id.starts_with("lic_"));
            assert!(l.key.starts_with("VIP-") && l.key.len() == 18, "{}", l.key);
            assert_eq!(l.status, LicenseStatus::Unused);
            assert_eq!(l.app_id, "app_1");
            assert_eq!(l.duration, DurationType::Days(30));
            assert_eq!(l.prefix.as_deref(), Some("VIP"));
            assert_eq!(l.note.as_deref(), Some("batch"));
            assert_eq!(l.created_by, Creator::Seller("seller_1".into()));
            assert_eq!(l.created_at, t);
            assert!(l.activated_at.is_none() && l.expires_at.is_none() && l.user_id.is_none());
            assert!(l.devices.is_empty());
        }
        let masked = LicenseSpec { mask: Some("ZZ-XXXXXX-XXXXXX".into()), note: Some(String::new()), ..spec() };
        let l = &new_licenses("app_1", &masked, Creator::Reseller("rsl_1".into()), 1, t)[0];
        assert!(l.key.starts_with("ZZ-") && l.key.len() == 16, "{}", l.key);
        assert_eq!(l.prefix, None, "the mask, not the prefix, shaped the key");
        assert_eq!(l.note, None);
        assert!(new_licenses("app_1", &spec(), Creator::Seller("s".into()), 0, t).is_empty());
    }

    fn stored(
        status: LicenseStatus,
        duration: DurationType,
        activated: Option<Timestamp>,
        expires: Option<Timestamp>,
    ) -> License {
        let mut l = new_licenses("app_1", &spec(), Creator::Seller("s".into()), 1, now()).remove(0);
        l.status = status;
        l.duration = duration;
        l.activated_at = activated;
        l.expires_at = expires;
        l
    }

    #[test]
    fn extend_unused_grows_the_duration() {
        let t = now();
        let day = DurationType::Days(1);
        let l = stored(LicenseStatus::Unused, DurationType::Days(30), None, None);
        let e = extend(&l, day, t).unwrap();
        assert_eq!((e.duration, e.expires_at, e.status), (DurationType::Days(31), None, LicenseStatus::Unused));
        let l = stored(LicenseStatus::Unused, DurationType::Hours(12), None, None);
        assert_eq!(extend(&l, day, t).unwrap().duration, DurationType::Hours(36));
        let l = stored(LicenseStatus::Banned, DurationType::Days(7), None, None);
        let e = extend(&l, DurationType::Hours(12), t).unwrap();
        assert_eq!((e.duration, e.status), (DurationType::Hours(180), LicenseStatus::Banned));
        let l = stored(LicenseStatus::Unused, DurationType::Lifetime, None, None);
        assert_eq!(extend(&l, day, t), Err(ExtendRefusal::Lifetime));
        let l = stored(LicenseStatus::Unused, DurationType::Days(36_000), None, None);
        assert_eq!(extend(&l, DurationType::Days(501), t), Err(ExtendRefusal::TooLong));
        let l = stored(LicenseStatus::Expired, DurationType::Days(1), None, None);
        assert_eq!(extend(&l, day, t).unwrap().status, LicenseStatus::Unused);
    }

    #[test]
    fn extend_used_moves_the_expiry_from_the_later_of_expiry_and_now() {
        let t = now();
        let days = chrono::Duration::days;
        let running = stored(LicenseStatus::Used, DurationType::Days(7), Some(t), Some(t + days(3)));
        let e = extend(&running, DurationType::Days(2), t).unwrap();
        assert_eq!(
            (e.duration, e.expires_at, e.status),
            (DurationType::Days(7), Some(t + days(5)), LicenseStatus::Used)
        );
        let lapsed = stored(LicenseStatus::Used, DurationType::Days(7), Some(t - days(9)), Some(t - days(2)));
        assert_eq!(
            extend(&lapsed, DurationType::Hours(12), t).unwrap().expires_at,
            Some(t + chrono::Duration::hours(12))
        );
        let marked = stored(LicenseStatus::Expired, DurationType::Days(7), Some(t - days(9)), Some(t - days(2)));
        let e = extend(&marked, DurationType::Days(1), t).unwrap();
        assert_eq!((e.expires_at, e.status), (Some(t + days(1)), LicenseStatus::Used));
        let paused = stored(LicenseStatus::Paused, DurationType::Days(7), Some(t), Some(t + days(1)));
        assert_eq!(extend(&paused, DurationType::Days(1), t).unwrap().status, LicenseStatus::Paused);
        let life = stored(LicenseStatus::Used, DurationType::Lifetime, Some(t), None);
        assert_eq!(extend(&life, DurationType::Days(1), t), Err(ExtendRefusal::Lifetime));
        let far = stored(LicenseStatus::Used, DurationType::Days(7), Some(t), Some(t + days(36_000)));
        assert_eq!(extend(&far, DurationType::Days(501), t), Err(ExtendRefusal::TooLong));
        assert!(extend(&far, DurationType::Days(500), t).is_ok());
        assert_eq!(extend(&running, DurationType::Lifetime, t), Err(ExtendRefusal::Lifetime));
    }

    #[test]
    fn changes_are_checked_and_named() {
        let ok = LicenseChanges { note: Some(Some("  ".into())), level: Some(0), max_devices: Some(1000) };
        assert_eq!(ok.checked().unwrap(), LicenseChanges { note: Some(None), level: Some(0), max_devices: Some(1000) });
        assert!(LicenseChanges::default().is_empty());
        for (c, field) in [
            (LicenseChanges { level: Some(-1), ..Default::default() }, "level"),
            (LicenseChanges { max_devices: Some(0), ..Default::default() }, "maxDevices"),
            (LicenseChanges { max_devices: Some(1001), ..Default::default() }, "maxDevices"),
            (LicenseChanges { note: Some(Some("n".repeat(MAX_NOTE_LEN + 1))), ..Default::default() }, "note"),
        ] {
            assert_eq!(field_of(c.checked().unwrap_err()), field);
        }
    }
}
