//! Field rules for app variables, blacklist entries, resellers, webhooks, chat channels and device
//! licenses. Every surface that accepts these values (admin API, dashboard, CLI, client dialects)
//! checks them here.

use crate::error::DomainError;
use crate::model::{BlacklistKind, DeviceType, WEBHOOK_EVENTS};
use crate::net::parse_cidr;

pub const MAX_VARIABLE_KEY_LEN: usize = 128;
/// 64 KiB of UTF-8.
pub const MAX_VARIABLE_VALUE_BYTES: usize = 64 * 1024;
pub const MAX_BLACKLIST_VALUE_LEN: usize = 256;
/// The most entries an app's blacklist holds when a client adds one itself (Blazeauth's
/// blacklist packet); a seller's own additions are not capped.
pub const MAX_BLACKLIST_ENTRIES: usize = 10_000;
pub const MAX_RESELLER_BALANCE: i64 = 1_000_000_000;
pub const MAX_CHANNEL_NAME_LEN: usize = 64;
pub const MAX_DEVICE_ID_LEN: usize = 256;
/// Names a seller gives device licenses.
pub const MAX_DEVICE_NAME_LEN: usize = 100;

fn bad(field: &str, message: &str) -> DomainError {
    DomainError::validation(field, message)
}

/// App variable keys: 1 to 128 characters of `A-Z a-z 0-9 _ . -`, taken as given (no trimming:
/// a key with a space is refused rather than silently changed).
pub fn variable_key(field: &str, key: &str) -> Result<String, DomainError> {
    let ok = !key.is_empty()
        && key.len() <= MAX_VARIABLE_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if !ok {
        return Err(bad(field, "must be 1 to 128 characters of letters, digits, '_', '.' or '-'"));
    }
    Ok(key.to_owned())
}

/// App variable values: any text up to 64 KiB (UTF-8 bytes), stored as given.
pub fn variable_value(field: &str, value: &str) -> Result<(), DomainError> {
    if value.len() > MAX_VARIABLE_VALUE_BYTES {
        return Err(bad(field, "must be at most 65536 bytes"));
    }
    Ok(())
}

/// `IP`, `HWID`, `USERNAME` or `CLIENT_ID` (case-insensitive).
pub fn blacklist_kind(field: &str, kind: &str) -> Result<BlacklistKind, DomainError> {
    kind.trim()
        .to_ascii_uppercase()
        .parse::<BlacklistKind>()
        .map_err(|()| bad(field, "must be one of IP, HWID, USERNAME, CLIENT_ID"))
}

/// The stored form of a blacklist value: IP entries become canonical CIDRs (`1.2.3.4` →
/// `1.2.3.4/32`, `10.1.2.3/8` → `10.0.0.0/8`) so one address or range is listed once and
/// matching is a containment test; other kinds are trimmed text of 1 to 256 characters.
pub fn blacklist_value(field: &str, kind: BlacklistKind, value: &str) -> Result<String, DomainError> {
    match kind {
        BlacklistKind::Ip => parse_cidr(value)
            .map(|net| net.to_string())
            .ok_or_else(|| bad(field, "must be an IP address or CIDR range")),
        BlacklistKind::Hwid | BlacklistKind::Username | BlacklistKind::ClientId => {
            printable(field, value, MAX_BLACKLIST_VALUE_LEN)
        }
    }
}

/// Reseller credit: 0 to 1,000,000,000.
pub fn reseller_balance(field: &str, balance: i64) -> Result<i64, DomainError> {
    if !(0..=MAX_RESELLER_BALANCE).contains(&balance) {
        return Err(bad(field, "must be between 0 and 1000000000"));
    }
    Ok(balance)
}

/// A non-empty list of known webhook events ([`WEBHOOK_EVENTS`]); duplicates are dropped,
/// the first occurrence keeps its place.
pub fn webhook_events(field: &str, events: &[String]) -> Result<Vec<String>, DomainError> {
    if events.is_empty() {
        return Err(bad(field, "must name at least one event"));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        if !WEBHOOK_EVENTS.contains(&e.as_str()) {
            return Err(bad(
                &format!("{field}[{i}]"),
                &format!("unknown event; expected one of {}", WEBHOOK_EVENTS.join(", ")),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}

/// Trimmed text of 1 to `max` characters, none of them control characters.
fn printable(field: &str, value: &str, max: usize) -> Result<String, DomainError> {
    let v = value.trim();
    let n = v.chars().count();
    if n == 0 || n > max || v.chars().any(char::is_control) {
        return Err(bad(field, &format!("must be 1 to {max} printable characters")));
    }
    Ok(v.to_owned())
}

/// Chat channel names: 1 to 64 printable characters, trimmed. Case is kept and matters: clients
/// address a channel by its exact name.
pub fn channel_name(field: &str, name: &str) -> Result<String, DomainError> {
    printable(field, name, MAX_CHANNEL_NAME_LEN)
}

/// `motherboard` or `processor` (case-insensitive).
pub fn device_type(field: &str, kind: &str) -> Result<DeviceType, DomainError> {
    kind.trim().to_ascii_lowercase().parse::<DeviceType>().map_err(|()| bad(field, "must be motherboard or processor"))
}

/// The hardware id of a device license: 1 to 256 printable characters, trimmed; case is kept, as
/// the client reports it.
pub fn device_id(field: &str, id: &str) -> Result<String, DomainError> {
    printable(field, id, MAX_DEVICE_ID_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Validation { field, .. } => field,
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn variable_keys() {
        for good in ["a", "latest_version", "A.b-C_9", &"k".repeat(128)] {
            assert_eq!(variable_key("key", good).unwrap(), good);
        }
        for bad in ["", " a", "a b", "a/b", "ключ", "a\n", &"k".repeat(129)] {
            assert_eq!(field_of(variable_key("key", bad).unwrap_err()), "key", "{bad:?}");
        }
    }

    #[test]
    fn variable_values() {
        assert!(variable_value("value", "").is_ok());
        assert!(variable_value("value", &"x".repeat(MAX_VARIABLE_VALUE_BYTES)).is_ok());
        assert!(variable_value("value", &"x".repeat(MAX_VARIABLE_VALUE_BYTES + 1)).is_err());
        // The cap is on bytes: 2-byte characters reach it at half the count.
        assert!(variable_value("value", &"é".repeat(MAX_VARIABLE_VALUE_BYTES / 2 + 1)).is_err());
    }

    #[test]
    fn blacklist_kinds() {
        assert_eq!(blacklist_kind("type", "IP").unwrap(), BlacklistKind::Ip);
        assert_eq!(blacklist_kind("type", "client_id").unwrap(), BlacklistKind::ClientId);
        assert_eq!(blacklist_kind("type", " hwid ").unwrap(), BlacklistKind::Hwid);
        assert_eq!(blacklist_kind("type", "USERNAME").unwrap(), BlacklistKind::Username);
        for bad in ["", "EMAIL", "I P"] {
            assert_eq!(field_of(blacklist_kind("type", bad).unwrap_err()), "type");
        }
    }

    #[test]
    fn blacklist_values_are_normalised() {
        let ip = |v: &str| blacklist_value("value", BlacklistKind::Ip, v);
        assert_eq!(ip("1.2.3.4").unwrap(), "1.2.3.4/32");
        assert_eq!(ip(" 10.1.2.3/8 ").unwrap(), "10.0.0.0/8");
        assert_eq!(ip("2001:db8::1").unwrap(), "2001:db8::1/128");
        assert_eq!(ip("2001:db8::/32").unwrap(), "2001:db8::/32");
        for bad in ["", "1.2.3", "1.2.3.4/33", "example.com", "HWID-1"] {
            assert_eq!(field_of(ip(bad).unwrap_err()), "value", "{bad:?}");
        }
        let hwid = |v: &str| blacklist_value("value", BlacklistKind::Hwid, v);
        assert_eq!(hwid("  HWID-A1B2 ").unwrap(), "HWID-A1B2");
        assert!(hwid(&"h".repeat(256)).is_ok());
        for bad in ["", "   ", "a\u{0}b", &"h".repeat(257)] {
            assert_eq!(field_of(hwid(bad).unwrap_err()), "value", "{bad:?}");
        }
        // Non-IP kinds keep any text, including what looks like an address.
        assert_eq!(blacklist_value("value", BlacklistKind::Username, "1.2.3.4").unwrap(), "1.2.3.4");
    }

    #[test]
    fn reseller_balances() {
        assert_eq!(reseller_balance("balance", 0).unwrap(), 0);
        assert_eq!(reseller_balance("balance", MAX_RESELLER_BALANCE).unwrap(), MAX_RESELLER_BALANCE);
        assert!(reseller_balance("balance", -1).is_err());
        assert!(reseller_balance("balance", MAX_RESELLER_BALANCE + 1).is_err());
    }

    #[test]
    fn webhook_event_lists() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            webhook_events("events", &v(&["user.login", "license.activate", "user.login"])).unwrap(),
            v(&["user.login", "license.activate"])
        );
        assert_eq!(field_of(webhook_events("events", &[]).unwrap_err()), "events");
        assert_eq!(field_of(webhook_events("events", &v(&["user.login", "user.explode"])).unwrap_err()), "events[1]");
        for e in WEBHOOK_EVENTS {
            assert!(webhook_events("events", &v(&[e])).is_ok());
        }
    }

    #[test]
    fn channel_names() {
        assert_eq!(channel_name("name", "  General ").unwrap(), "General");
        assert_eq!(channel_name("name", "général chat").unwrap(), "général chat");
        assert!(channel_name("name", &"c".repeat(64)).is_ok());
        assert!(channel_name("name", &"é".repeat(64)).is_ok(), "the cap is on characters");
        for bad in ["", "   ", "a\nb", "tab\there", "\u{7f}", &"c".repeat(65)] {
            assert_eq!(field_of(channel_name("name", bad).unwrap_err()), "name", "{bad:?}");
        }
    }

    #[test]
    fn device_types_and_ids() {
        assert_eq!(device_type("deviceType", "motherboard").unwrap(), DeviceType::Motherboard);
        assert_eq!(device_type("deviceType", " PROCESSOR ").unwrap(), DeviceType::Processor);
        for bad in ["", "cpu", "mother board", "disk"] {
            assert_eq!(field_of(device_type("deviceType", bad).unwrap_err()), "deviceType", "{bad:?}");
        }
        assert_eq!(device_id("deviceId", " MB-1234-abcd ").unwrap(), "MB-1234-abcd");
        assert!(device_id("deviceId", &"d".repeat(256)).is_ok());
        for bad in ["", "  ", "a\u{0}b", &"d".repeat(257)] {
            assert_eq!(field_of(device_id("deviceId", bad).unwrap_err()), "deviceId", "{bad:?}");
        }
    }
}
