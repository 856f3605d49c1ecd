//! What the init pipeline needs to know about a caller's address beyond the app's own lists:
//! is it inside a VPN range (`--vpn-ranges`), and which country is it in (`--geoip-db`).
//! Both files are read once at start-up; lookups touch no disk.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use maxminddb::{PathElement, Reader};
use tollgate_core::net::{canonical, parse_ranges_file};

use crate::config::{Config, ConfigError};

/// Where the two common country layouts keep the ISO code: MaxMind GeoLite2/GeoIP2-Country and
/// DB-IP lite nest it under `country`; the ip-location-db packages put it at the top level.
const COUNTRY_PATHS: [&[PathElement<'static>]; 2] =
    [&[PathElement::Key("country"), PathElement::Key("iso_code")], &[PathElement::Key("country_code")]];

pub struct NetPolicy {
    geoip: Option<Reader<Vec<u8>>>,
    vpn: RangeSet,
}

impl std::fmt::Debug for NetPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetPolicy")
            .field("geoip", &self.geoip.as_ref().map(|r| r.metadata().database_type.clone()))
            .field("vpn_ranges", &(self.vpn.v4.len() + self.vpn.v6.len()))
            .finish()
    }
}

impl NetPolicy {
    /// No country database and no VPN ranges: nobody is a VPN, nobody has a country.
    pub fn empty() -> NetPolicy {
        NetPolicy { geoip: None, vpn: RangeSet::default() }
    }

    /// Read `config.geoip_db` and `config.vpn_ranges`. A file that cannot be read or parsed is
    /// a start-up error naming its setting.
    pub fn load(config: &Config) -> Result<NetPolicy, ConfigError> {
        let geoip = config.geoip_db.as_deref().map(open_geoip).transpose()?;
        let vpn = match config.vpn_ranges.as_deref() {
            Some(path) => load_ranges(path)?,
            None => RangeSet::default(),
        };
        Ok(NetPolicy { geoip, vpn })
    }

    pub fn has_geoip(&self) -> bool {
        self.geoip.is_some()
    }

    pub fn is_vpn(&self, ip: IpAddr) -> bool {
        self.vpn.contains(canonical(ip))
    }

    /// The caller's country as an upper-case ISO 3166 alpha-2 code, if the database knows it.
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let reader = self.geoip.as_ref()?;
        let ip = canonical(ip);
        let found = match reader.lookup(ip) {
            Ok(found) => found,
            // an IPv6 caller against an IPv4-only database, or a corrupt tree
            Err(e) => {
                tracing::debug!(%ip, error = %e, "geoip lookup failed");
                return None;
            }
        };
        if !found.has_data() {
            return None;
        }
        COUNTRY_PATHS.iter().find_map(|path| match found.decode_path::<&str>(path) {
            Ok(code) => code.and_then(iso_alpha2),
            // a record of some other shape: try the next layout
            Err(e) => {
                tracing::debug!(%ip, error = %e, "geoip record not in a known layout");
                None
            }
        })
    }
}

fn iso_alpha2(code: &str) -> Option<String> {
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic())).then(|| code.to_ascii_uppercase())
}

fn open_geoip(path: &Path) -> Result<Reader<Vec<u8>>, ConfigError> {
    // Read into memory once rather than memory-mapped: a country database is a few MB, and
    // mapping would need `unsafe` (the file could change under us).
    let bytes = std::fs::read(path)
        .map_err(|e| ConfigError::new("geoip_db", format!("cannot read {}: {e}", path.display())))?;
    Reader::from_source(bytes)
        .map_err(|e| ConfigError::new("geoip_db", format!("{} is not a MaxMind-format database: {e}", path.display())))
}

fn load_ranges(path: &Path) -> Result<RangeSet, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new("vpn_ranges", format!("cannot read {}: {e}", path.display())))?;
    let nets = parse_ranges_file(&text).map_err(|line| {
        ConfigError::new("vpn_ranges", format!("{} line {line}: not an IP address or CIDR", path.display()))
    })?;
    Ok(RangeSet::new(&nets))
}

/// Disjoint, sorted address intervals: a lookup is a binary search, however many ranges a
/// VPN list has.
#[derive(Debug, Default)]
struct RangeSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl RangeSet {
    fn new(nets: &[IpNet]) -> RangeSet {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in nets {
            match net {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        RangeSet { v4: merge(v4), v6: merge(v6) }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => covered(&self.v4, u32::from(a)),
            IpAddr::V6(a) => covered(&self.v6, u128::from(a)),
        }
    }
}

fn merge<T: Ord + Copy>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

fn covered<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    // the last range starting at or before x is the only one that can hold it
    let i = ranges.partition_point(|&(start, _)| start <= x);
    i > 0 && ranges[i - 1].1 >= x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RawConfig;
    use tollgate_core::net::contains_any;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn empty_knows_nothing() {
        let p = NetPolicy::empty();
        assert!(!p.has_geoip());
        assert!(!p.is_vpn(ip("10.0.0.1")));
        assert_eq!(p.country(ip("8.8.8.8")), None);
    }

    #[test]
    fn ranges_match_like_a_linear_scan() {
        let text = "# providers\n10.0.0.0/8\n10.1.0.0/16 # inside the /8\n192.0.2.0/25\n192.0.2.128/25\n\
                    203.0.113.7\n2001:db8::/32\n2001:db8:1::/48\n::1\n";
        let nets = parse_ranges_file(text).unwrap();
        let set = RangeSet::new(&nets);
        // overlapping ranges were merged (adjacent ones need not be)
        assert_eq!(set.v4.len(), 4);
        assert_eq!(set.v6.len(), 2);
        let probes = [
            "9.255.255.255",
            "10.0.0.0",
            "10.1.2.3",
            "10.255.255.255",
            "11.0.0.0",
            "192.0.1.255",
            "192.0.2.0",
            "192.0.2.200",
            "192.0.3.0",
            "203.0.113.6",
            "203.0.113.7",
            "203.0.113.8",
            "0.0.0.0",
            "255.255.255.255",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "2001:db9::",
            "2001:db7:ffff::",
            "::1",
            "::2",
            "::",
        ];
        for p in probes {
            assert_eq!(set.contains(ip(p)), contains_any(&nets, ip(p)), "{p}");
        }
        assert!(set.contains(ip("10.1.2.3")));
        assert!(!set.contains(ip("11.0.0.0")));
    }

    #[test]
    fn vpn_file_and_mapped_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vpn.txt");
        std::fs::write(&file, "198.51.100.0/24\n").unwrap();
        let raw = RawConfig { vpn_ranges: Some(file.display().to_string()), ..Default::default() };
        let p = NetPolicy::load(&Config::resolve(raw).unwrap()).unwrap();
        assert!(p.is_vpn(ip("198.51.100.9")));
        assert!(p.is_vpn(ip("::ffff:198.51.100.9")));
        assert!(!p.is_vpn(ip("198.51.101.9")));
        assert!(!p.has_geoip());
    }

    #[test]
    fn iso_codes_are_normalised() {
        assert_eq!(iso_alpha2("de").as_deref(), Some("DE"));
        assert_eq!(iso_alpha2("US").as_deref(), Some("US"));
        assert_eq!(iso_alpha2(""), None);
        assert_eq!(iso_alpha2("DEU"), None);
        assert_eq!(iso_alpha2("D1"), None);
    }
}
