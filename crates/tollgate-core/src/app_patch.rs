//! Applying an [`AppPatch`] to an [`App`]: every field validated, nothing applied unless all pass.
//!
//! This lives apart from `settings` (the settings and their field rules) and `model` (the app
//! record, which holds its settings) so that `model` depends on `settings` and never the other
//! way round.

use crate::error::DomainError;
use crate::model::{App, AppStatus};
use crate::settings::{
    bad, check_len, validate_app_name, validate_country, validate_reseller_prices, validate_rules, validate_sha256,
    validate_url, validate_version, AppPatch,
};

impl AppPatch {
    /// Validate every field and apply the patch. Nothing is applied unless all fields pass.
    pub fn apply(self, app: &App) -> Result<App, DomainError> {
        let mut next = app.clone();
        let s = &mut next.settings;
        if let Some(name) = self.name {
            next.name = validate_app_name(&name)?;
        }
        if let Some(v) = self.version {
            next.version = validate_version("version", &v)?;
        }
        if let Some(st) = self.status {
            next.status = st.parse::<AppStatus>().map_err(|_| bad("status", "must be ACTIVE, PAUSED or DISABLED"))?;
        }
        if let Some(b) = self.hash_check {
            s.hash_check = b;
        }
        if let Some(hashes) = self.hashes {
            check_len("hashes", &hashes)?;
            let mut out: Vec<String> = hashes.iter().map(|h| validate_sha256("hashes", h)).collect::<Result<_, _>>()?;
            out.dedup();
            s.hashes = out;
        }
        if let Some(list) = self.ip_whitelist {
            check_len("ipWhitelist", &list)?;
            s.ip_whitelist = list
                .iter()
                .map(|c| {
                    crate::net::parse_cidr(c)
                        .ok_or_else(|| bad("ipWhitelist", "each entry must be an IP address or CIDR"))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(b) = self.block_vpn {
            s.block_vpn = b;
        }
        if let Some(list) = self.blocked_countries {
            check_len("blockedCountries", &list)?;
            s.blocked_countries =
                list.iter().map(|c| validate_country("blockedCountries", c)).collect::<Result<_, _>>()?;
        }
        if let Some(vc) = self.version_control {
            let cur = &mut s.version_control;
            if let Some(b) = vc.enabled {
                cur.enabled = b;
            }
            if let Some(b) = vc.auto_update {
                cur.auto_update = b;
            }
            if let Some(b) = vc.force_update {
                cur.force_update = b;
            }
            if let Some(url) = vc.download_url {
                cur.download_url = match url.as_deref() {
                    None | Some("") => None,
                    Some(u) => Some(validate_url("versionControl.downloadUrl", u)?),
                };
            }
            if let Some(cl) = vc.changelog {
                if cl.as_ref().is_some_and(|c| c.len() > 10_000) {
                    return Err(bad("versionControl.changelog", "at most 10000 characters"));
                }
                cur.changelog = cl;
            }
            if let Some(rules) = vc.rules {
                cur.rules = validate_rules(rules)?;
            }
        }
        if let Some(q) = self.session_quota {
            s.session_quota = q;
        }
        if let Some(q) = self.accounts_quota {
            s.accounts_quota = q;
        }
        if let Some(b) = self.hwid_lock {
            s.hwid_lock = b;
        }
        if let Some(b) = self.allow_password_change {
            s.allow_password_change = b;
        }
        if let Some(b) = self.accounts_require_license {
            s.accounts_require_license = b;
        }
        if let Some(ttl) = self.license_file_ttl {
            s.license_file_ttl = crate::license_file::checked_ttl("licenseFileTtl", ttl)?;
        }
        if let Some(names) = self.level_names {
            if names.len() > 100 {
                return Err(bad("levelNames", "at most 100 levels"));
            }
            for (k, v) in &names {
                if k.parse::<i64>().is_err() {
                    return Err(bad("levelNames", "keys must be level numbers"));
                }
                if v.is_empty() || v.len() > 64 {
                    return Err(bad("levelNames", "names must be 1-64 characters"));
                }
            }
            s.level_names = names;
        }
        if let Some(prices) = self.reseller_prices {
            s.reseller_prices = validate_reseller_prices(prices)?;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::AppSettings;
    use crate::time::now;
    use crate::version::RuleMode;

    fn app() -> App {
        App {
            id: "app_x".into(),
            owner_id: "seller_x".into(),
            name: "My App".into(),
            api_key: "as_x".into(),
            ws_key: "w".repeat(21),
            version: "1.0".into(),
            status: AppStatus::Active,
            settings: AppSettings::default(),
            created_at: now(),
            updated_at: now(),
        }
    }

    fn patch(j: serde_json::Value) -> Result<App, DomainError> {
        serde_json::from_value::<AppPatch>(j).unwrap().apply(&app())
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Validation { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn applies_valid_settings() {
        let a = patch(serde_json::json!({
            "name": "New", "version": "2.0.1", "status": "PAUSED",
            "hashCheck": true, "hashes": ["A".repeat(64)],
            "ipWhitelist": ["10.0.0.0/8", "1.2.3.4"], "blockVpn": true,
            "blockedCountries": ["ru", "KP"],
            "versionControl": {"enabled": true, "downloadUrl": "https://x.example/d",
                "rules": [{"version": "1.9", "mode": "grace", "allowedUntil": "2026-07-01T00:00:00Z"}]},
            "sessionQuota": 5, "hwidLock": false, "levelNames": {"1": "Premium"}
        }))
        .unwrap();
        assert_eq!(a.name, "New");
        assert_eq!(a.status, AppStatus::Paused);
        assert_eq!(a.settings.hashes, vec!["a".repeat(64)]);
        assert_eq!(a.settings.ip_whitelist[1].to_string(), "1.2.3.4/32");
        assert_eq!(a.settings.blocked_countries, vec!["RU", "KP"]);
        assert_eq!(a.settings.version_control.rules[0].mode, RuleMode::Grace);
        assert_eq!(a.settings.session_quota, Some(5));
        assert_eq!(a.settings.level_name(1), "Premium");
        assert_eq!(a.settings.level_name(2), "Level 2");
    }

    #[test]
    fn reseller_prices_replace_and_default_to_one() {
        let a = patch(serde_json::json!({"resellerPrices": {"30d": 5, " lifetime ": 0}})).unwrap();
        let prices = &a.settings.reseller_prices;
        assert_eq!(prices.len(), 2);
        assert_eq!(a.settings.reseller_price("30d".parse().unwrap()), 5);
        assert_eq!(a.settings.reseller_price("lifetime".parse().unwrap()), 0);
        assert_eq!(a.settings.reseller_price("1d".parse().unwrap()), crate::settings::DEFAULT_RESELLER_PRICE);
        let p: AppPatch = serde_json::from_value(serde_json::json!({"resellerPrices": {}})).unwrap();
        assert!(p.apply(&a).unwrap().settings.reseller_prices.is_empty());
        let p: AppPatch = serde_json::from_value(serde_json::json!({"name": "x"})).unwrap();
        assert_eq!(p.apply(&a).unwrap().settings.reseller_prices, a.settings.reseller_prices);
        assert!(serde_json::from_value::<AppPatch>(serde_json::json!({"resellerPrices": {"30d": 1.5}})).is_err());
    }

    #[test]
    fn license_file_ttl_defaults_to_a_week_and_keeps_its_bounds() {
        assert_eq!(app().settings.license_file_ttl, crate::license_file::DEFAULT_TTL);
        for ttl in [crate::license_file::MIN_TTL, 86_400, crate::license_file::MAX_TTL] {
            assert_eq!(patch(serde_json::json!({ "licenseFileTtl": ttl })).unwrap().settings.license_file_ttl, ttl);
        }
        // Not a whole number of seconds: refused before validation.
        assert!(serde_json::from_value::<AppPatch>(serde_json::json!({"licenseFileTtl": 3600.5})).is_err());
    }

    #[test]
    fn null_clears_quota() {
        let mut base = app();
        base.settings.session_quota = Some(3);
        let p: AppPatch = serde_json::from_value(serde_json::json!({"sessionQuota": null})).unwrap();
        assert_eq!(p.apply(&base).unwrap().settings.session_quota, None);
        let p: AppPatch = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(p.apply(&base).unwrap().settings.session_quota, Some(3));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (serde_json::json!({"name": "  "}), "name"),
            (serde_json::json!({"version": "1.x"}), "version"),
            (serde_json::json!({"status": "GONE"}), "status"),
            (serde_json::json!({"hashes": ["abc"]}), "hashes"),
            (serde_json::json!({"ipWhitelist": ["300.1.1.1"]}), "ipWhitelist"),
            (serde_json::json!({"blockedCountries": ["USA"]}), "blockedCountries"),
            (serde_json::json!({"versionControl": {"downloadUrl": "ftp://x"}}), "versionControl.downloadUrl"),
            (
                serde_json::json!({"versionControl": {"rules": [{"version": "1", "mode": "NOPE"}]}}),
                "versionControl.rules[0].mode",
            ),
            (
                serde_json::json!({"versionControl": {"rules": [{"version": "1", "mode": "GRACE", "allowedUntil": "soon"}]}}),
                "versionControl.rules[0].allowedUntil",
            ),
            (
                serde_json::json!({"versionControl": {"rules": [{"version": "1", "mode": "GRACE"}]}}),
                "versionControl.rules[0].allowedUntil",
            ),
            (serde_json::json!({"levelNames": {"one": "x"}}), "levelNames"),
            (serde_json::json!({"resellerPrices": {"2w": 1}}), "resellerPrices"),
            (serde_json::json!({"resellerPrices": {"30d": -1}}), "resellerPrices.30d"),
            (serde_json::json!({"resellerPrices": {"lifetime": 1_000_000_001}}), "resellerPrices.lifetime"),
            (serde_json::json!({"licenseFileTtl": 3599}), "licenseFileTtl"),
            (serde_json::json!({"licenseFileTtl": 31_536_001}), "licenseFileTtl"),
        ];
        for (j, field) in cases {
            assert_eq!(field_of(patch(j.clone()).unwrap_err()), field, "{j}");
        }
    }
}
