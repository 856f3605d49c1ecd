//! NetPolicy from a real Config: a country database (both layouts) and a VPN ranges file.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use tollgate_server::config::{Config, ConfigError, RawConfig};
use tollgate_server::netpolicy::NetPolicy;

use crate::mmdb::{self, Layout, Options, Value};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(geoip: Option<&Path>, vpn: Option<&Path>) -> Config {
    Config::resolve(RawConfig {
        geoip_db: geoip.map(|p| p.display().to_string()),
        vpn_ranges: vpn.map(|p| p.display().to_string()),
        ..Default::default()
    })
    .unwrap()
}

fn load(geoip: Option<&Path>, vpn: Option<&Path>) -> Result<NetPolicy, ConfigError> {
    NetPolicy::load(&config(geoip, vpn))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

const COUNTRIES: &[(&str, &str)] = &[
    ("81.0.0.0/8", "DE"),
    ("81.2.0.0/16", "FR"),
    ("203.0.113.0/24", "ru"),
    ("2a02:100::/24", "NL"),
    ("2001:db8:42::/48", "US"),
];

#[test]
fn both_files_from_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("country.mmdb");
    mmdb::write_country_db(&db, COUNTRIES, Layout::MaxMind);
    let vpn = write(dir.path(), "vpn.txt", b"# commercial VPN exits\n198.51.100.0/24\n2001:db8:dead::/48 # v6\n");
    let p = load(Some(&db), Some(&vpn)).unwrap();

    assert!(p.has_geoip());
    assert_eq!(p.country(ip("81.1.1.1")).as_deref(), Some("DE"));
    assert_eq!(p.country(ip("81.2.3.4")).as_deref(), Some("FR"));
    assert_eq!(p.country(ip("::ffff:81.2.3.4")).as_deref(), Some("FR"));
    assert_eq!(p.country(ip("203.0.113.9")).as_deref(), Some("RU"));
    assert_eq!(p.country(ip("2a02:1ab::1")).as_deref(), Some("NL"));
    assert_eq!(p.country(ip("2001:db8:42::7")).as_deref(), Some("US"));
    for absent in ["82.0.0.1", "127.0.0.1", "2001:db8:43::1", "::1"] {
        assert_eq!(p.country(ip(absent)), None, "{absent}");
    }

    assert!(p.is_vpn(ip("198.51.100.200")));
    assert!(p.is_vpn(ip("::ffff:198.51.100.1")));
    assert!(p.is_vpn(ip("2001:db8:dead:1::1")));
    assert!(!p.is_vpn(ip("198.51.101.1")));
    assert!(!p.is_vpn(ip("81.1.1.1")));
    assert!(!p.is_vpn(ip("2001:db8:beef::1")));
}

#[test]
fn country_code_layout() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ip-location-db.mmdb");
    mmdb::write_country_db(&db, COUNTRIES, Layout::CountryCode);
    let p = load(Some(&db), None).unwrap();
    assert_eq!(p.country(ip("81.1.1.1")).as_deref(), Some("DE"));
    assert_eq!(p.country(ip("81.2.0.1")).as_deref(), Some("FR"));
    assert_eq!(p.country(ip("203.0.113.1")).as_deref(), Some("RU"));
    assert_eq!(p.country(ip("2001:db8:42:1::1")).as_deref(), Some("US"));
    assert_eq!(p.country(ip("8.8.8.8")), None);
    assert!(!p.is_vpn(ip("81.1.1.1")));
}

#[test]
fn records_in_other_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let entries = vec![
        // a city-style record with no ISO code anywhere
        ("192.0.2.0/24".parse().unwrap(), mmdb::map(&[("city", mmdb::map(&[("name", mmdb::s("Paris"))]))])),
        // `country` present but not a map: the top-level code still counts
        (
            "198.51.100.0/24".parse().unwrap(),
            mmdb::map(&[("country", mmdb::s("Sweden")), ("country_code", mmdb::s("se"))]),
        ),
        // not an ISO alpha-2 code
        ("203.0.113.0/24".parse().unwrap(), mmdb::map(&[("country_code", mmdb::s("SWE"))])),
        ("100.64.0.0/10".parse().unwrap(), Value::U32(7)),
    ];
    let db = write(dir.path(), "odd.mmdb", &mmdb::build(&entries, Options::default()));
    let p = load(Some(&db), None).unwrap();
    assert_eq!(p.country(ip("192.0.2.1")), None);
    assert_eq!(p.country(ip("198.51.100.1")).as_deref(), Some("SE"));
    assert_eq!(p.country(ip("203.0.113.1")), None);
    assert_eq!(p.country(ip("100.64.0.1")), None);
}

#[test]
fn ipv4_only_database_answers_none_for_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    let entries = vec![("81.0.0.0/8".parse().unwrap(), mmdb::map(&[("country_code", mmdb::s("DE"))]))];
    let db = write(dir.path(), "v4.mmdb", &mmdb::build(&entries, Options { ip_version: 4, record_size: 28 }));
    let p = load(Some(&db), None).unwrap();
    assert_eq!(p.country(ip("81.9.9.9")).as_deref(), Some("DE"));
    assert_eq!(p.country(ip("::ffff:81.9.9.9")).as_deref(), Some("DE"));
    assert_eq!(p.country(ip("2001:db8::1")), None);
}

#[test]
fn nothing_configured() {
    let p = load(None, None).unwrap();
    assert!(!p.has_geoip());
    assert_eq!(p.country(ip("81.1.1.1")), None);
    assert!(!p.is_vpn(ip("198.51.100.1")));
}

#[test]
fn empty_vpn_file_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    let vpn = write(dir.path(), "vpn.txt", b"");
    let p = load(None, Some(&vpn)).unwrap();
    assert!(!p.is_vpn(ip("198.51.100.1")));
    let vpn = write(dir.path(), "comments.txt", b"# nothing yet\n\n");
    assert!(!load(None, Some(&vpn)).unwrap().is_vpn(ip("::1")));
}

#[test]
fn bad_files_name_their_setting() {
    let dir = tempfile::tempdir().unwrap();
    let good_db = dir.path().join("good.mmdb");
    mmdb::write_country_db(&good_db, COUNTRIES, Layout::MaxMind);

    let not_mmdb = write(dir.path(), "text.mmdb", b"81.0.0.0/8,DE\n");
    let empty = write(dir.path(), "empty.mmdb", b"");
    let mut truncated_bytes = std::fs::read(&good_db).unwrap();
    truncated_bytes.truncate(truncated_bytes.len() - 20);
    let truncated = write(dir.path(), "truncated.mmdb", &truncated_bytes);
    for bad in [&not_mmdb, &empty, &truncated] {
        let e = load(Some(bad), None).unwrap_err();
        assert_eq!(e.setting, "geoip_db", "{bad:?}: {e}");
        assert!(e.to_string().contains("--geoip-db"), "{e}");
    }

    let bad_vpn = write(dir.path(), "vpn.txt", b"10.0.0.0/8\n# fine\nnot-a-cidr\n");
    let e = load(Some(&good_db), Some(&bad_vpn)).unwrap_err();
    assert_eq!(e.setting, "vpn_ranges");
    assert!(e.message.contains("line 3"), "{e}");

    // a file that vanished between the config check and the load
    let vpn_gone = write(dir.path(), "gone.txt", b"10.0.0.0/8\n");
    let db_gone = dir.path().join("gone.mmdb");
    std::fs::copy(&good_db, &db_gone).unwrap();
    let cfg = config(Some(&db_gone), Some(&vpn_gone));
    std::fs::remove_file(&vpn_gone).unwrap();
    assert_eq!(NetPolicy::load(&cfg).unwrap_err().setting, "vpn_ranges");
    std::fs::remove_file(&db_gone).unwrap();
    assert_eq!(NetPolicy::load(&cfg).unwrap_err().setting, "geoip_db");

    // a binary file given as the VPN list
    let e = load(None, Some(&good_db)).unwrap_err();
    assert_eq!(e.setting, "vpn_ranges");
}
