//! One timestamp encoding everywhere: UTC, millisecond precision.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Timestamp = DateTime<Utc>;

/// Now, truncated to milliseconds so a value survives a round trip through storage unchanged.
pub fn now() -> Timestamp {
    from_millis(Utc::now().timestamp_millis())
}

pub fn from_millis(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub fn to_millis(t: &Timestamp) -> i64 {
    t.timestamp_millis()
}

/// RFC 3339 with milliseconds and a `Z`, as the wire protocols print it.
pub fn rfc3339(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s).ok().map(|d| from_millis(d.with_timezone(&Utc).timestamp_millis()))
}

/// Serde helpers: timestamps as RFC 3339 strings with milliseconds.
pub mod serde_ts {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(t))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s).ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp"))
    }

    pub mod option {
        use super::*;
        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&rfc3339(t)),
                None => s.serialize_none(),
            }
        }
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            let s = Option::<String>::deserialize(d)?;
            match s {
                None => Ok(None),
                Some(s) => parse_rfc3339(&s)
                    .map(Some)
                    .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 timestamp")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        let t = now();
        assert_eq!(from_millis(to_millis(&t)), t);
        assert_eq!(parse_rfc3339(&rfc3339(&t)), Some(t));
    }

    #[test]
    fn rfc3339_prints_millis_and_z() {
        assert_eq!(rfc3339(&from_millis(0)), "1970-01-01T00:00:00.000Z");
        assert!(parse_rfc3339("2026-07-01T00:00:00+02:00").is_some());
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
