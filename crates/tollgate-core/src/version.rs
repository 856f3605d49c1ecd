//! Version parsing, comparison and the version-control decision.
//!
//! Versions compare numerically, component by component, with missing components read as zero:
//! `1.10 > 1.9`, `1.3 == 1.3.0`. A leading `v` is accepted (`v1.2`).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::{serde_ts, Timestamp};

pub const MAX_COMPONENTS: usize = 8;
pub const MAX_VERSION_LEN: usize = 64;

#[derive(Debug, Clone)]
pub struct Version(Vec<u64>);

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}
impl Eq for Version {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a version is 1 to 8 dot-separated numbers, e.g. 1.3 or 2.0.1")]
pub struct VersionError;

impl Version {
    pub fn parse(s: &str) -> Result<Version, VersionError> {
        let s = s.trim();
        let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        if s.is_empty() || s.len() > MAX_VERSION_LEN {
            return Err(VersionError);
        }
        let parts: Result<Vec<u64>, _> = s
            .split('.')
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    Err(VersionError)
                } else {
                    p.parse::<u64>().map_err(|_| VersionError)
                }
            })
            .collect();
        let parts = parts?;
        if parts.len() > MAX_COMPONENTS {
            return Err(VersionError);
        }
        Ok(Version(parts))
    }

    fn component(&self, i: usize) -> u64 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        (0..n).map(|i| self.component(i).cmp(&other.component(i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// Equal as versions (`1.3 == 1.3.0`); falls back to exact text when either does not parse.
pub fn same_version(a: &str, b: &str) -> bool {
    match (Version::parse(a), Version::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RuleMode {
    Allow,
    Remind,
    Grace,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRule {
    pub version: String,
    pub mode: RuleMode,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, with = "serde_ts::option")]
    pub allowed_until: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VersionControl {
    pub enabled: bool,
    pub auto_update: bool,
    pub download_url: Option<String>,
    pub force_update: bool,
    pub changelog: Option<String>,
    pub rules: Vec<VersionRule>,
}

/// What a passing client is told about newer versions (Authly's `update{}` object).
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateNotice {
    pub latest_version: String,
    pub download_url: Option<String>,
    pub auto_update_enabled: bool,
    pub force_update: bool,
    pub show_reminder: bool,
    pub reminder_message: Option<String>,
    pub allowed_until: Option<Timestamp>,
    pub changelog: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The client is older than the app version (or its grace period ran out).
    UpdateRequired,
    /// The client is newer than the app version.
    VersionMismatch,
}

/// Why a client version is refused, with what the refusal body carries.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRejection {
    pub kind: RejectionKind,
    pub server_version: String,
    pub client_version: String,
    pub auto_update_enabled: bool,
    pub auto_update_download_url: Option<String>,
    pub changelog: Option<String>,
}

/// The decision: pass (maybe with a notice) or refuse.
pub fn decide(
    vc: &VersionControl,
    server_version: &str,
    client_version: &str,
    now: Timestamp,
) -> Result<Option<UpdateNotice>, VersionRejection> {
    if !vc.enabled || same_version(server_version, client_version) {
        return Ok(None);
    }
    let reject = |kind| VersionRejection {
        kind,
        server_version: server_version.to_owned(),
        client_version: client_version.to_owned(),
        auto_update_enabled: vc.auto_update,
        auto_update_download_url: if vc.auto_update { vc.download_url.clone() } else { None },
        changelog: vc.changelog.clone(),
    };
    let notice = |message: &Option<String>, until: Option<Timestamp>| UpdateNotice {
        latest_version: server_version.to_owned(),
        download_url: vc.download_url.clone(),
        auto_update_enabled: vc.auto_update,
        force_update: vc.force_update,
        show_reminder: true,
        reminder_message: message.clone(),
        allowed_until: until,
        changelog: vc.changelog.clone(),
    };

    if let Some(rule) = vc.rules.iter().find(|r| same_version(&r.version, client_version)) {
        return match rule.mode {
            RuleMode::Allow => Ok(None),
            RuleMode::Remind => Ok(Some(notice(&rule.message, None))),
            // A grace rule without a deadline is a reminder that never expires.
            RuleMode::Grace => match rule.allowed_until {
                Some(until) if now >= until => Err(reject(RejectionKind::UpdateRequired)),
                until => Ok(Some(notice(&rule.message, until))),
            },
        };
    }

    // No rule: older → update required, newer → mismatch. A version that does not parse cannot
    // be shown to be newer, so it is treated as out of date.
    let kind = match (Version::parse(client_version), Version::parse(server_version)) {
        (Ok(c), Ok(s)) if c > s => RejectionKind::VersionMismatch,
        _ => RejectionKind::UpdateRequired,
    };
    Err(reject(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{from_millis, parse_rfc3339};

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn parses_and_compares_numerically() {
        assert!(v("1.10") > v("1.9"));
        assert_eq!(v("1.3"), v("1.3.0"));
        assert_eq!(v("v2.0"), v("2"));
        assert!(v("1.3.1") > v("1.3"));
        assert!(v("0.9.99") < v("1.0"));
        assert!(v("10") > v("9.9.9"));
        assert_eq!(v("1.2.3").to_string(), "1.2.3");
    }

    #[test]
    fn rejects_bad_versions() {
        for bad in ["", "1..2", "1.a", "1.2-beta", ".1", "1.", "1.2.3.4.5.6.7.8.9", "99999999999999999999"] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
        assert!(Version::parse(&"1.".repeat(40)).is_err());
    }

    fn vc(rules: Vec<VersionRule>) -> VersionControl {
        VersionControl {
            enabled: true,
            auto_update: false,
            download_url: Some("https://example.com/download".into()),
            force_update: false,
            changelog: None,
            rules,
        }
    }

    fn rule(version: &str, mode: RuleMode, until: Option<&str>) -> VersionRule {
        VersionRule {
            version: version.into(),
            mode,
            message: Some("msg".into()),
            allowed_until: until.map(|u| parse_rfc3339(u).unwrap()),
        }
    }

    fn at(s: &str) -> Timestamp {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn disabled_or_equal_passes_silently() {
        let mut c = vc(vec![]);
        assert_eq!(decide(&c, "1.3", "1.3.0", from_millis(0)), Ok(None));
        c.enabled = false;
        assert_eq!(decide(&c, "1.3", "0.1", from_millis(0)), Ok(None));
    }

    #[test]
    fn older_without_rule_requires_update() {
        let e = decide(&vc(vec![]), "1.3", "1.2", from_millis(0)).unwrap_err();
        assert_eq!(e.kind, RejectionKind::UpdateRequired);
        assert_eq!((e.server_version.as_str(), e.client_version.as_str()), ("1.3", "1.2"));
        // download url is only disclosed with auto-update on
        assert_eq!(e.auto_update_download_url, None);
        let mut c = vc(vec![]);
        c.auto_update = true;
        let e = decide(&c, "1.3", "1.2", from_millis(0)).unwrap_err();
        assert!(e.auto_update_enabled);
        assert_eq!(e.auto_update_download_url.as_deref(), Some("https://example.com/download"));
    }

    #[test]
    fn newer_without_rule_is_mismatch() {
        let e = decide(&vc(vec![]), "1.3", "2.0", from_millis(0)).unwrap_err();
        assert_eq!(e.kind, RejectionKind::VersionMismatch);
        let e = decide(&vc(vec![]), "1.9", "1.10", from_millis(0)).unwrap_err();
        assert_eq!(e.kind, RejectionKind::VersionMismatch);
    }

    #[test]
    fn unparseable_client_version_requires_update() {
        let e = decide(&vc(vec![]), "1.3", "banana", from_millis(0)).unwrap_err();
        assert_eq!(e.kind, RejectionKind::UpdateRequired);
    }

    #[test]
    fn allow_rule_passes_without_notice() {
        let c = vc(vec![rule("1.2", RuleMode::Allow, None)]);
        assert_eq!(decide(&c, "1.3", "1.2.0", from_millis(0)), Ok(None));
        // the rule is for 1.2 only
        assert!(decide(&c, "1.3", "1.1", from_millis(0)).is_err());
    }

    #[test]
    fn allow_rule_also_covers_newer_versions() {
        let c = vc(vec![rule("2.0", RuleMode::Allow, None)]);
        assert_eq!(decide(&c, "1.3", "2.0", from_millis(0)), Ok(None));
    }

    #[test]
    fn remind_rule_passes_with_reminder() {
        let c = vc(vec![rule("1.2", RuleMode::Remind, None)]);
        let n = decide(&c, "1.3", "1.2", from_millis(0)).unwrap().unwrap();
        assert!(n.show_reminder);
        assert_eq!(n.reminder_message.as_deref(), Some("msg"));
        assert_eq!(n.latest_version, "1.3");
        assert_eq!(n.allowed_until, None);
    }

    #[test]
    fn grace_rule_boundaries() {
        let c = vc(vec![rule("1.1", RuleMode::Grace, Some("2026-07-01T00:00:00Z"))]);
        let before = at("2026-06-30T23:59:59.999Z");
        let n = decide(&c, "1.3", "1.1", before).unwrap().unwrap();
        assert_eq!(n.allowed_until, Some(at("2026-07-01T00:00:00Z")));
        // at the deadline and after it the version is blocked
        for t in ["2026-07-01T00:00:00Z", "2026-07-02T00:00:00Z"] {
            let e = decide(&c, "1.3", "1.1", at(t)).unwrap_err();
            assert_eq!(e.kind, RejectionKind::UpdateRequired);
        }
    }

    #[test]
    fn grace_without_deadline_never_expires() {
        let c = vc(vec![rule("1.1", RuleMode::Grace, None)]);
        let n = decide(&c, "1.3", "1.1", at("2099-01-01T00:00:00Z")).unwrap().unwrap();
        assert_eq!(n.allowed_until, None);
    }

    #[test]
    fn serde_shape_is_camel_case() {
        let c = vc(vec![rule("1.1", RuleMode::Grace, Some("2026-07-01T00:00:00Z"))]);
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["autoUpdate"], false);
        assert_eq!(j["rules"][0]["mode"], "GRACE");
        assert_eq!(j["rules"][0]["allowedUntil"], "2026-07-01T00:00:00.000Z");
    }
}
