//! License durations. The clock starts at first use, so a duration is stored, not an instant.
//!
//! A duration is written `<n>h` (hours), `<n>d` (days) or `lifetime`: `1h`, `12h`, `1d`, `14d`,
//! `30d`, `365d`, ... from one hour to 100 years (876000 hours, 36500 days). The text is kept as
//! written: `24h` stays `24h` (it is not rewritten to `1d`), so what is stored and answered is
//! what was asked for, and `Display` of a parsed duration gives back its text exactly.

use std::{fmt, str::FromStr};

use chrono::Duration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest duration in days: 100 years.
pub const MAX_DAYS: u32 = 36_500;
/// Longest duration in hours: 100 years.
pub const MAX_HOURS: u32 = MAX_DAYS * 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationType {
    /// `<n>h`, 1 to [`MAX_HOURS`].
    Hours(u32),
    /// `<n>d`, 1 to [`MAX_DAYS`].
    Days(u32),
    /// `lifetime`: never expires.
    Lifetime,
}

impl DurationType {
    /// The durations offered by name in forms and examples; any `<n>h` / `<n>d` in range is
    /// accepted as well.
    pub const COMMON: [DurationType; 7] = [
        DurationType::Hours(1),
        DurationType::Days(1),
        DurationType::Days(7),
        DurationType::Days(30),
        DurationType::Days(90),
        DurationType::Days(365),
        DurationType::Lifetime,
    ];

    /// What the wire and the error messages say a duration may be.
    pub const RULE: &'static str =
        "must be <n>h (1 to 876000 hours), <n>d (1 to 36500 days) or lifetime, e.g. 12h, 14d, 30d";

    /// The span this license grants; `None` for lifetime.
    pub fn span(self) -> Option<Duration> {
        match self {
            DurationType::Hours(n) => Some(Duration::hours(i64::from(n))),
            DurationType::Days(n) => Some(Duration::days(i64::from(n))),
            DurationType::Lifetime => None,
        }
    }

    /// Both durations back to back: days stay days, anything with hours is in hours. `None`
    /// when either is lifetime or the sum is longer than 100 years.
    pub fn plus(self, other: DurationType) -> Option<DurationType> {
        match (self, other) {
            (DurationType::Days(a), DurationType::Days(b)) => {
                a.checked_add(b).filter(|n| *n <= MAX_DAYS).map(DurationType::Days)
            }
            (a, b) => {
                let sum = a.hours()?.checked_add(b.hours()?)?;
                (sum <= MAX_HOURS).then_some(DurationType::Hours(sum))
            }
        }
    }

    /// The span in whole hours; `None` for lifetime.
    fn hours(self) -> Option<u32> {
        match self {
            DurationType::Hours(n) => Some(n),
            DurationType::Days(n) => n.checked_mul(24),
            DurationType::Lifetime => None,
        }
    }

    /// For messages: `1 hour`, `12 hours`, `1 day`, `14 days`, `lifetime`.
    pub fn describe(self) -> String {
        match self {
            DurationType::Hours(1) => "1 hour".to_owned(),
            DurationType::Hours(n) => format!("{n} hours"),
            DurationType::Days(1) => "1 day".to_owned(),
            DurationType::Days(n) => format!("{n} days"),
            DurationType::Lifetime => "lifetime".to_owned(),
        }
    }
}

impl fmt::Display for DurationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationType::Hours(n) => write!(f, "{n}h"),
            DurationType::Days(n) => write!(f, "{n}d"),
            DurationType::Lifetime => f.write_str("lifetime"),
        }
    }
}

impl FromStr for DurationType {
    type Err = ();
    /// Exactly `lifetime`, or a count without sign or leading zero followed by `h` or `d`
    /// (lower case), within 1 hour..=100 years.
    fn from_str(s: &str) -> Result<Self, ()> {
        if s == "lifetime" {
            return Ok(DurationType::Lifetime);
        }
        let count = |digits: &str| -> Result<u32, ()> {
            let plain = !digits.is_empty() && digits.len() <= 6 && !digits.starts_with('0');
            if !plain || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(());
            }
            digits.parse().map_err(|_| ())
        };
        if let Some(digits) = s.strip_suffix('h') {
            let n = count(digits)?;
            return if n <= MAX_HOURS { Ok(DurationType::Hours(n)) } else { Err(()) };
        }
        if let Some(digits) = s.strip_suffix('d') {
            let n = count(digits)?;
            return if n <= MAX_DAYS { Ok(DurationType::Days(n)) } else { Err(()) };
        }
        Err(())
    }
}

impl Serialize for DurationType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DurationType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|()| serde::de::Error::custom(format!("duration {}", DurationType::RULE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names_round_trip_as_written() {
        for (text, d) in [
            ("1h", DurationType::Hours(1)),
            ("1d", DurationType::Days(1)),
            ("7d", DurationType::Days(7)),
            ("30d", DurationType::Days(30)),
            ("90d", DurationType::Days(90)),
            ("365d", DurationType::Days(365)),
            ("lifetime", DurationType::Lifetime),
        ] {
            assert_eq!(text.parse::<DurationType>(), Ok(d));
            assert_eq!(d.to_string(), text);
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<DurationType>(&format!("\"{text}\"")).unwrap(), d);
            assert!(DurationType::COMMON.contains(&d));
        }
    }

    #[test]
    fn free_counts_within_bounds() {
        for text in ["12h", "14d", "24h", "2d", "876000h", "36500d", "48h"] {
            let d: DurationType = text.parse().unwrap();
            assert_eq!(d.to_string(), text, "kept as written");
        }
        assert_eq!("24h".parse::<DurationType>().unwrap().span(), "1d".parse::<DurationType>().unwrap().span());
        for bad in [
            "",
            "h",
            "d",
            "0h",
            "0d",
            "01d",
            "+5d",
            "-1d",
            "5",
            "5w",
            "5D",
            "5H",
            " 5d",
            "5d ",
            "876001h",
            "36501d",
            "1000000h",
            "99999999999d",
            "Lifetime",
            "lifetime ",
            "1.5d",
            "٣d",
            "5é",
            "é",
        ] {
            assert!(bad.parse::<DurationType>().is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<DurationType>("\"2w\"").is_err());
    }

    #[test]
    fn spans() {
        assert_eq!(DurationType::Days(30).span(), Some(Duration::days(30)));
        assert_eq!(DurationType::Hours(12).span(), Some(Duration::hours(12)));
        assert_eq!(DurationType::Lifetime.span(), None);
    }

    #[test]
    fn plus_keeps_days_and_bounds() {
        use DurationType::*;
        assert_eq!(Days(30).plus(Days(1)), Some(Days(31)));
        assert_eq!(Hours(12).plus(Days(1)), Some(Hours(36)));
        assert_eq!(Days(1).plus(Hours(12)), Some(Hours(36)));
        assert_eq!(Days(MAX_DAYS - 1).plus(Days(1)), Some(Days(MAX_DAYS)));
        assert_eq!(Days(MAX_DAYS).plus(Days(1)), None);
        assert_eq!(Hours(MAX_HOURS).plus(Hours(1)), None);
        assert_eq!(Lifetime.plus(Days(1)), None);
        assert_eq!(Days(1).plus(Lifetime), None);
        assert_eq!(Hours(2).describe(), "2 hours");
        assert_eq!(Days(1).describe(), "1 day");
    }
}
