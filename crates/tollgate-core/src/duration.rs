//! License durations. The clock starts at first use, so a duration is stored, not an instant.

use std::{fmt, str::FromStr};

use chrono::Duration;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DurationType {
    #[serde(rename = "1h")]
    Hour,
    #[serde(rename = "1d")]
    Day,
    #[serde(rename = "7d")]
    Week,
    #[serde(rename = "30d")]
    Month,
    #[serde(rename = "90d")]
    Quarter,
    #[serde(rename = "365d")]
    Year,
    #[serde(rename = "lifetime")]
    Lifetime,
}

impl DurationType {
    pub const ALL: [DurationType; 7] = [
        DurationType::Hour,
        DurationType::Day,
        DurationType::Week,
        DurationType::Month,
        DurationType::Quarter,
        DurationType::Year,
        DurationType::Lifetime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DurationType::Hour => "1h",
            DurationType::Day => "1d",
            DurationType::Week => "7d",
            DurationType::Month => "30d",
            DurationType::Quarter => "90d",
            DurationType::Year => "365d",
            DurationType::Lifetime => "lifetime",
        }
    }

    /// The span this license grants; `None` for lifetime.
    pub fn span(self) -> Option<Duration> {
        match self {
            DurationType::Hour => Some(Duration::hours(1)),
            DurationType::Day => Some(Duration::days(1)),
            DurationType::Week => Some(Duration::days(7)),
            DurationType::Month => Some(Duration::days(30)),
            DurationType::Quarter => Some(Duration::days(90)),
            DurationType::Year => Some(Duration::days(365)),
            DurationType::Lifetime => None,
        }
    }
}

impl fmt::Display for DurationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DurationType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        DurationType::ALL.into_iter().find(|d| d.as_str() == s).ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_spans() {
        for d in DurationType::ALL {
            assert_eq!(d.as_str().parse::<DurationType>(), Ok(d));
            assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{}\"", d.as_str()));
        }
        assert_eq!(DurationType::Month.span(), Some(Duration::days(30)));
        assert_eq!(DurationType::Hour.span(), Some(Duration::hours(1)));
        assert_eq!(DurationType::Lifetime.span(), None);
        assert!("2d".parse::<DurationType>().is_err());
    }
}
