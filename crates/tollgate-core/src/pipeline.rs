//! The init security pipeline: every client start, in every dialect, runs these checks
//! top to bottom and the first failure answers.
//!
//! Steps 1–3 (fields present, owner found, app found under the owner) are lookups the caller
//! makes before it has an app; [`check`] runs steps 4–11 on the app it found. The caller's
//! network facts (blacklisted? in a VPN range? which country?) are looked up by the server and
//! passed in, so this stays free of I/O and each step is tested on its own.

use std::net::IpAddr;

use subtle::ConstantTimeEq;

use crate::error::DomainError;
use crate::model::{App, AppStatus};
use crate::net::contains_any;
use crate::time::Timestamp;
use crate::version::{self, UpdateNotice};

/// What the pipeline knows about the caller's address, looked up by the server.
#[derive(Debug, Clone, PartialEq)]
pub struct NetFacts {
    pub ip: IpAddr,
    /// The address is inside one of the app's IP blacklist entries.
    pub blacklisted: bool,
    /// The address is inside the operator's VPN ranges (`--vpn-ranges`).
    pub vpn: bool,
    /// ISO 3166-1 alpha-2, uppercase, from `--geoip-db`; `None` when unknown.
    pub country: Option<String>,
}

/// What the client presented. Which fields there are depends on how the app was identified:
/// a step whose input the credentials cannot carry is skipped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Presented<'a> {
    /// The app secret (or API key), compared in constant time; `None` when the credentials
    /// already proved the app by finding it (a WebSocket key).
    pub secret: Option<&'a str>,
    /// The client's version; `None` skips version control (credentials sent without one).
    pub version: Option<&'a str>,
    /// The executable's hash, or [`Hash::NotCarried`] to skip the hash step.
    pub hash: Hash<'a>,
}

/// The executable's hash as the credentials carry it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hash<'a> {
    /// The credentials have a hash field; `None` (or blank) when the client left it out, which
    /// fails the step when the app checks hashes.
    Sent(Option<&'a str>),
    /// The credentials have no hash field at all: the step does not apply.
    NotCarried,
}

/// Steps 4–11 of the init pipeline (status, IP blacklist/whitelist, VPN, country, hash, secret,
/// version) on the app the caller asked for. `Ok` carries the version-control
/// notice to show (remind / grace), if any.
pub fn check(
    app: &App,
    caller: &NetFacts,
    presented: &Presented<'_>,
    now: Timestamp,
) -> Result<Option<UpdateNotice>, DomainError> {
    let s = &app.settings;
    // 4. app enabled
    match app.status {
        AppStatus::Active => {}
        AppStatus::Disabled => return Err(DomainError::AppDisabled),
        AppStatus::Paused => return Err(DomainError::AppPaused),
    }
    // 5. IP blacklist
    if caller.blacklisted {
        return Err(DomainError::IpBlocked);
    }
    // 6. IP whitelist, when configured
    if !s.ip_whitelist.is_empty() && !contains_any(&s.ip_whitelist, caller.ip) {
        return Err(DomainError::IpNotWhitelisted);
    }
    // 7. VPN ranges, when blocking is on
    if s.block_vpn && caller.vpn {
        return Err(DomainError::VpnBlocked);
    }
    // 8. Countries, when some are blocked. An address without a known country passes: refusing
    // every unknown address would lock out whole networks whenever the database is stale.
    if let Some(country) = &caller.country {
        if s.blocked_countries.iter().any(|c| c.eq_ignore_ascii_case(country)) {
            return Err(DomainError::CountryBlocked);
        }
    }
    // 9. Hash, when checking is on and the credentials carry one. Hex compares
    // case-insensitively.
    if let (true, Hash::Sent(hash)) = (s.hash_check, presented.hash) {
        let Some(hash) = hash.map(str::trim).filter(|h| !h.is_empty()) else {
            return Err(DomainError::HashRequired);
        };
        if !s.hashes.iter().any(|h| h.eq_ignore_ascii_case(hash)) {
            return Err(DomainError::InvalidHash);
        }
    }
    // 10. Secret, compared in constant time.
    if let Some(secret) = presented.secret {
        if !secret_matches(&app.api_key, secret) {
            return Err(DomainError::InvalidSecret);
        }
    }
    // 11. Version control, when a version was sent.
    match presented.version {
        Some(v) => version::decide(&s.version_control, &app.version, v, now)
            .map_err(|r| DomainError::VersionRefused(Box::new(r))),
        None => Ok(None),
    }
}

/// Constant-time equality of a stored secret and a presented one (the length is not secret).
pub fn secret_matches(stored: &str, presented: &str) -> bool {
    stored.len() == presented.len() && bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::AppSettings;
    use crate::time::now;
    use crate::version::{RejectionKind, RuleMode, VersionControl, VersionRule};

    fn app() -> App {
        App {
            id: "app_1".into(),
            owner_id: "seller_1".into(),
            name: "Demo".into(),
            api_key: "as_secret".into(),
            ws_key: "w".repeat(21),
            version: "1.3".into(),
            status: AppStatus::Active,
            settings: AppSettings::default(),
            created_at: now(),
            updated_at: now(),
        }
    }

    fn caller() -> NetFacts {
        NetFacts { ip: "203.0.113.9".parse().unwrap(), blacklisted: false, vpn: false, country: Some("DE".into()) }
    }

    fn presented() -> Presented<'static> {
        Presented { secret: Some("as_secret"), version: Some("1.3"), hash: Hash::Sent(None) }
    }

    const HASH_A_UPPER: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    /// An app and caller on which every step fails.
    fn all_failing() -> (App, NetFacts, Presented<'static>) {
        let mut a = app();
        a.status = AppStatus::Disabled;
        a.settings.ip_whitelist = vec!["10.0.0.0/8".parse().unwrap()];
        a.settings.block_vpn = true;
        a.settings.blocked_countries = vec!["DE".into()];
        a.settings.hash_check = true;
        a.settings.hashes = vec!["a".repeat(64)];
        a.settings.version_control.enabled = true;
        let c = NetFacts { blacklisted: true, vpn: true, ..caller() };
        (a, c, Presented { secret: Some("wrong"), version: Some("1.0"), hash: Hash::Sent(None) })
    }

    #[test]
    fn passes_a_clean_request() {
        assert_eq!(check(&app(), &caller(), &presented(), now()), Ok(None));
    }

    #[test]
    fn the_first_failing_step_wins_in_spec_order() {
        // Fix one step at a time, in order: each time the next step is the one that answers.
        let (mut a, mut c, mut p) = all_failing();
        let expected = [
            DomainError::AppDisabled,
            DomainError::IpBlocked,
            DomainError::IpNotWhitelisted,
            DomainError::VpnBlocked,
            DomainError::CountryBlocked,
            DomainError::HashRequired,
            DomainError::InvalidHash,
            DomainError::InvalidSecret,
        ];
        for (step, want) in expected.iter().enumerate() {
            assert_eq!(check(&a, &c, &p, now()).unwrap_err(), *want, "step {step}");
            match step {
                0 => a.status = AppStatus::Active,
                1 => c.blacklisted = false,
                2 => a.settings.ip_whitelist.push("203.0.113.0/24".parse().unwrap()),
                3 => c.vpn = false,
                4 => c.country = Some("FR".into()),
                5 => p.hash = Hash::Sent(Some("b")),
                6 => p.hash = Hash::Sent(Some(HASH_A_UPPER)),
                7 => p.secret = Some("as_secret"),
                _ => unreachable!(),
            }
        }
        match check(&a, &c, &p, now()).unwrap_err() {
            DomainError::VersionRefused(r) => assert_eq!(r.kind, RejectionKind::UpdateRequired),
            other => panic!("{other:?}"),
        }
        p.version = Some("1.3");
        assert_eq!(check(&a, &c, &p, now()), Ok(None));
    }

    #[test]
    fn paused_app_is_its_own_error() {
        let mut a = app();
        a.status = AppStatus::Paused;
        assert_eq!(check(&a, &caller(), &presented(), now()), Err(DomainError::AppPaused));
    }

    #[test]
    fn unknown_country_passes_and_country_codes_compare_case_insensitively() {
        let mut a = app();
        a.settings.blocked_countries = vec!["DE".into()];
        let c = NetFacts { country: None, ..caller() };
        assert_eq!(check(&a, &c, &presented(), now()), Ok(None));
        let c = NetFacts { country: Some("de".into()), ..caller() };
        assert_eq!(check(&a, &c, &presented(), now()), Err(DomainError::CountryBlocked));
    }

    #[test]
    fn vpn_only_matters_when_blocking_is_on() {
        let c = NetFacts { vpn: true, ..caller() };
        assert_eq!(check(&app(), &c, &presented(), now()), Ok(None));
    }

    #[test]
    fn hash_is_ignored_when_checking_is_off_and_blank_counts_as_missing() {
        let p = Presented { hash: Hash::Sent(Some("not-a-hash")), ..presented() };
        assert_eq!(check(&app(), &caller(), &p, now()), Ok(None));
        let mut a = app();
        a.settings.hash_check = true;
        a.settings.hashes = vec!["ab".repeat(32)];
        let p = Presented { hash: Hash::Sent(Some("  ")), ..presented() };
        assert_eq!(check(&a, &caller(), &p, now()), Err(DomainError::HashRequired));
        let upper = "AB".repeat(32);
        let p = Presented { hash: Hash::Sent(Some(&upper)), ..presented() };
        assert_eq!(check(&a, &caller(), &p, now()), Ok(None));
    }

    #[test]
    fn secret_compare_is_exact() {
        assert!(secret_matches("as_x", "as_x"));
        assert!(!secret_matches("as_x", "as_X"));
        assert!(!secret_matches("as_x", "as_x "));
        assert!(!secret_matches("as_x", ""));
        let p = Presented { secret: None, ..presented() };
        assert_eq!(check(&app(), &caller(), &p, now()), Ok(None), "no secret: proven by the dialect");
    }

    #[test]
    fn version_rules_pass_through() {
        let mut a = app();
        a.settings.version_control = VersionControl {
            enabled: true,
            rules: vec![VersionRule {
                version: "1.2".into(),
                mode: RuleMode::Remind,
                message: Some("hi".into()),
                allowed_until: None,
            }],
            ..VersionControl::default()
        };
        let p = Presented { version: Some("1.2"), ..presented() };
        let notice = check(&a, &caller(), &p, now()).unwrap().unwrap();
        assert!(notice.show_reminder);
        assert_eq!(notice.reminder_message.as_deref(), Some("hi"));
    }

    #[test]
    fn steps_the_credentials_cannot_carry_are_skipped() {
        let mut a = app();
        a.settings.hash_check = true;
        a.settings.hashes = vec!["ab".repeat(32)];
        a.settings.version_control.enabled = true;
        // No hash field, no secret, no version: status, address and country steps only.
        let p = Presented { secret: None, version: None, hash: Hash::NotCarried };
        assert_eq!(check(&a, &caller(), &p, now()), Ok(None));
        // A hash field left empty still fails when the app checks hashes.
        let p = Presented { hash: Hash::Sent(None), ..p };
        assert_eq!(check(&a, &caller(), &p, now()), Err(DomainError::HashRequired));
        // The address steps still run.
        let c = NetFacts { blacklisted: true, ..caller() };
        let p = Presented { secret: None, version: None, hash: Hash::NotCarried };
        assert_eq!(check(&a, &c, &p, now()), Err(DomainError::IpBlocked));
    }
}
