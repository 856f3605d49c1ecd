//! Test support: a small MaxMind DB (.mmdb) writer, written from the format's public spec
//! (maxmind.github.io/MaxMind-DB). Enough for country databases in either common layout.
//!
//! A file is: a binary search tree over the address bits (node = two records, left for a 0
//! bit, right for a 1), 16 zero bytes, the data section, then "\xab\xcd\xefMaxMind.com" and
//! the metadata map. A record holds a node number, `node_count` for "no data", or
//! `node_count + 16 + offset` for a value at `offset` in the data section.

use std::collections::HashMap;
use std::path::Path;

use ipnet::IpNet;

/// How a country record is shaped.
#[derive(Debug, Clone, Copy)]
pub enum Layout {
    /// `{"country": {"iso_code": "DE"}}`: MaxMind GeoLite2/GeoIP2-Country, DB-IP lite.
    MaxMind,
    /// `{"country_code": "DE"}`: the ip-location-db packages.
    CountryCode,
}

/// The subset of MMDB data types these tests need.
#[derive(Debug, Clone)]
pub enum Value {
    Str(String),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(String, Value)>),
    Array(Vec<Value>),
}

pub fn s(v: &str) -> Value {
    Value::Str(v.to_owned())
}

pub fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
}

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// 4: IPv4 only; 6: IPv6, with IPv4 networks under `::/96` as MaxMind places them.
    pub ip_version: u16,
    /// 24 or 28 bits a record.
    pub record_size: u16,
}

impl Default for Options {
    fn default() -> Self {
        Options { ip_version: 6, record_size: 24 }
    }
}

/// A country database with one record per CIDR; more specific networks win.
pub fn write_country_db(path: &Path, entries: &[(&str, &str)], layout: Layout) {
    let entries: Vec<(IpNet, Value)> = entries
        .iter()
        .map(|(cidr, code)| {
            let record = match layout {
                Layout::MaxMind => map(&[("country", map(&[("iso_code", s(code))]))]),
                Layout::CountryCode => map(&[("country_code", s(code))]),
            };
            (cidr.parse().unwrap(), record)
        })
        .collect();
    std::fs::write(path, build(&entries, Options::default())).unwrap();
}

/// The bytes of a database holding `entries`.
pub fn build(entries: &[(IpNet, Value)], opts: Options) -> Vec<u8> {
    assert!(matches!(opts.ip_version, 4 | 6));
    assert!(matches!(opts.record_size, 24 | 28));

    // Data section: each distinct value once.
    let mut data = Vec::new();
    let mut offsets: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut keyed: Vec<(u128, u8, u8, usize)> = Vec::new(); // (key, width, prefix, offset)
    for (net, value) in entries {
        let mut bytes = Vec::new();
        encode(value, &mut bytes);
        let offset = *offsets.entry(bytes).or_insert_with_key(|b| {
            data.extend_from_slice(b);
            data.len() - b.len()
        });
        let (key, width, prefix) = match (net.trunc(), opts.ip_version) {
            (IpNet::V4(n), 4) => (u32::from(n.network()) as u128, 32, n.prefix_len()),
            (IpNet::V4(n), _) => (u32::from(n.network()) as u128, 128, 96 + n.prefix_len()),
            (IpNet::V6(n), 6) => (u128::from(n.network()), 128, n.prefix_len()),
            (IpNet::V6(n), _) => panic!("{n} in an IPv4 database"),
        };
        assert!(prefix > 0, "a network must not cover the whole address space");
        keyed.push((key, width, prefix, offset));
    }

    // Search tree. Shorter prefixes first, so a longer one inserted later splits their leaf.
    keyed.sort_by_key(|&(_, _, prefix, _)| prefix);
    let mut tree = Tree { nodes: vec![[Slot::Empty; 2]] };
    for (key, width, prefix, offset) in keyed {
        tree.insert(key, width, prefix, offset);
    }
    let node_count = tree.nodes.len() as u64;
    let record = |slot: Slot| -> u64 {
        let v = match slot {
            Slot::Empty => node_count,
            Slot::Node(n) => n as u64,
            Slot::Data(offset) => node_count + 16 + offset as u64,
        };
        assert!(v < 1 << opts.record_size, "record {v} does not fit in {} bits", opts.record_size);
        v
    };

    let mut out = Vec::new();
    for [left, right] in &tree.nodes {
        let (l, r) = (record(*left), record(*right));
        out.extend_from_slice(&l.to_be_bytes()[5..]);
        if opts.record_size == 28 {
            // the middle byte carries each record's top four bits, left in the high nibble
            out.push(((((l >> 24) & 0x0f) << 4) | ((r >> 24) & 0x0f)) as u8);
        }
        out.extend_from_slice(&r.to_be_bytes()[5..]);
    }
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(&data);
    out.extend_from_slice(b"\xab\xcd\xefMaxMind.com");
    let metadata = map(&[
        ("binary_format_major_version", Value::U16(2)),
        ("binary_format_minor_version", Value::U16(0)),
        ("build_epoch", Value::U64(1_700_000_000)),
        ("database_type", s("Tollgate-Test-Country")),
        ("description", map(&[("en", s("Tollgate test database"))])),
        ("ip_version", Value::U16(opts.ip_version)),
        ("languages", Value::Array(vec![s("en")])),
        ("node_count", Value::U32(node_count as u32)),
        ("record_size", Value::U16(opts.record_size)),
    ]);
    encode(&metadata, &mut out);
    out
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Empty,
    Node(usize),
    Data(usize),
}

struct Tree {
    nodes: Vec<[Slot; 2]>,
}

impl Tree {
    fn insert(&mut self, key: u128, width: u8, prefix: u8, offset: usize) {
        let mut node = 0;
        for depth in 0..prefix {
            let bit = ((key >> (width - 1 - depth)) & 1) as usize;
            if depth == prefix - 1 {
                self.nodes[node][bit] = Slot::Data(offset);
                return;
            }
            node = match self.nodes[node][bit] {
                Slot::Node(next) => next,
                // a new branch, or a split of a shorter network's leaf into two halves
                slot @ (Slot::Empty | Slot::Data(_)) => {
                    self.nodes.push([slot; 2]);
                    let next = self.nodes.len() - 1;
                    self.nodes[node][bit] = Slot::Node(next);
                    next
                }
            };
        }
    }
}

// Data section type numbers.
const STRING: u8 = 2;
const UINT16: u8 = 5;
const UINT32: u8 = 6;
const MAP: u8 = 7;
const UINT64: u8 = 9;
const ARRAY: u8 = 11;

fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Str(v) => {
            header(STRING, v.len(), out);
            out.extend_from_slice(v.as_bytes());
        }
        Value::U16(n) => uint(UINT16, u64::from(*n), out),
        Value::U32(n) => uint(UINT32, u64::from(*n), out),
        Value::U64(n) => uint(UINT64, *n, out),
        Value::Map(pairs) => {
            header(MAP, pairs.len(), out);
            for (k, v) in pairs {
                encode(&Value::Str(k.clone()), out);
                encode(v, out);
            }
        }
        Value::Array(items) => {
            header(ARRAY, items.len(), out);
            for v in items {
                encode(v, out);
            }
        }
    }
}

/// Unsigned integers are big-endian in as few bytes as they need (zero in none).
fn uint(type_num: u8, n: u64, out: &mut Vec<u8>) {
    let bytes = n.to_be_bytes();
    let skip = (n.leading_zeros() / 8) as usize;
    header(type_num, 8 - skip, out);
    out.extend_from_slice(&bytes[skip..]);
}

/// Control byte: type in the top three bits (0 = "extended": the type minus 7 follows in the
/// next byte), size in the low five; sizes from 29 up spill into 1-3 following bytes.
fn header(type_num: u8, size: usize, out: &mut Vec<u8>) {
    let (size_bits, extra): (u8, Vec<u8>) = match size {
        0..29 => (size as u8, vec![]),
        29..285 => (29, vec![(size - 29) as u8]),
        285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => {
            assert!(size < 65_821 + (1 << 24), "value too large");
            (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec())
        }
    };
    if type_num <= 7 {
        out.push((type_num << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(type_num - 7);
    }
    out.extend_from_slice(&extra);
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use maxminddb::{path, Reader};

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn entries(pairs: &[(&str, Value)]) -> Vec<(IpNet, Value)> {
        pairs.iter().map(|(c, v)| (c.parse().unwrap(), v.clone())).collect()
    }

    fn iso(reader: &Reader<Vec<u8>>, addr: &str) -> Option<String> {
        reader.lookup(ip(addr)).unwrap().decode_path::<String>(&path!["country", "iso_code"]).unwrap()
    }

    fn country(code: &str) -> Value {
        map(&[("country", map(&[("iso_code", s(code))]))])
    }

    #[test]
    fn the_reader_accepts_both_record_sizes() {
        for record_size in [24, 28] {
            let bytes = build(
                &entries(&[
                    ("10.0.0.0/8", country("AA")),
                    ("10.1.0.0/16", country("BB")),
                    ("10.1.2.3/32", country("CC")),
                    ("192.0.2.0/24", country("AA")),
                    ("2001:db8::/32", country("DD")),
                    ("2001:db8:8000::/33", country("EE")),
                ]),
                Options { ip_version: 6, record_size },
            );
            let reader = Reader::from_source(bytes).unwrap();
            reader.verify().unwrap();
            let meta = reader.metadata();
            assert_eq!((meta.ip_version, meta.record_size), (6, record_size));
            assert_eq!(meta.database_type, "Tollgate-Test-Country");

            // longest prefix wins
            assert_eq!(iso(&reader, "10.200.0.1").as_deref(), Some("AA"));
            assert_eq!(iso(&reader, "10.1.9.9").as_deref(), Some("BB"));
            assert_eq!(iso(&reader, "10.1.2.3").as_deref(), Some("CC"));
            assert_eq!(iso(&reader, "10.1.2.4").as_deref(), Some("BB"));
            assert_eq!(iso(&reader, "192.0.2.77").as_deref(), Some("AA"));
            assert_eq!(iso(&reader, "2001:db8::1").as_deref(), Some("DD"));
            assert_eq!(iso(&reader, "2001:db8:8000::1").as_deref(), Some("EE"));
            assert_eq!(iso(&reader, "2001:db8:7fff::1").as_deref(), Some("DD"));

            // networks come back with the prefix they were written with (unless a more
            // specific one split them: 10.1.9.9 sits in a piece of the /16 cut by the /32)
            let net = |a: &str| reader.lookup(ip(a)).unwrap().network().unwrap().to_string();
            assert_eq!(net("10.1.2.3"), "10.1.2.3/32");
            assert_eq!(net("192.0.2.77"), "192.0.2.0/24");
            assert_eq!(net("2001:db8:8000::1"), "2001:db8:8000::/33");
            assert_eq!(net("10.1.9.9"), "10.1.8.0/21");

            for absent in ["11.0.0.1", "9.255.255.255", "192.0.3.0", "2001:db9::1", "::2"] {
                assert!(!reader.lookup(ip(absent)).unwrap().has_data(), "{absent}");
            }
        }
    }

    #[test]
    fn records_past_24_bits() {
        // a value just under the largest string size pushes later offsets past 2^24, so their
        // records need the 28-bit layout's extra nibbles (64/8 ends in a left record, 193/8 in a right)
        let filler = "f".repeat(16_777_300);
        let bytes = build(
            &entries(&[
                ("10.0.0.0/8", map(&[("filler", s(&filler))])),
                ("64.0.0.0/8", country("LL")),
                ("193.0.0.0/8", country("RR")),
            ]),
            Options { ip_version: 6, record_size: 28 },
        );
        let reader = Reader::from_source(bytes).unwrap();
        assert_eq!(iso(&reader, "64.1.2.3").as_deref(), Some("LL"));
        assert_eq!(iso(&reader, "193.1.2.3").as_deref(), Some("RR"));
        // (the reader refuses to decode a string that large; it only has to be there)
        assert!(reader.lookup(ip("10.9.9.9")).unwrap().has_data());
    }

    #[test]
    fn ipv4_only_database() {
        let bytes = build(&entries(&[("198.51.100.0/24", country("FR"))]), Options { ip_version: 4, record_size: 24 });
        let reader = Reader::from_source(bytes).unwrap();
        reader.verify().unwrap();
        assert_eq!(reader.metadata().ip_version, 4);
        assert_eq!(iso(&reader, "198.51.100.1").as_deref(), Some("FR"));
        assert!(!reader.lookup(ip("198.51.101.1")).unwrap().has_data());
        assert!(reader.lookup(ip("2001:db8::1")).is_err());
    }

    #[test]
    fn values_of_every_size_round_trip() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Rec {
            short: String,
            medium: String,
            long: String,
            huge: String,
            zero: u32,
            big: u64,
            list: Vec<u16>,
        }
        let (medium, long, huge) = ("m".repeat(200), "l".repeat(4000), "h".repeat(70_000));
        let value = map(&[
            ("short", s("x")),
            ("medium", s(&medium)),
            ("long", s(&long)),
            ("huge", s(&huge)),
            ("zero", Value::U32(0)),
            ("big", Value::U64(u64::MAX - 1)),
            ("list", Value::Array((0..40).map(Value::U16).collect())),
        ]);
        let reader = Reader::from_source(build(&entries(&[("203.0.113.0/24", value)]), Options::default())).unwrap();
        reader.verify().unwrap();
        let rec: Rec = reader.lookup(ip("203.0.113.5")).unwrap().decode().unwrap().unwrap();
        assert_eq!(
            rec,
            Rec { short: "x".into(), medium, long, huge, zero: 0, big: u64::MAX - 1, list: (0..40).collect() }
        );
    }

    #[test]
    fn country_code_layout_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cc.mmdb");
        write_country_db(&file, &[("203.0.113.0/24", "NL"), ("2001:db8::/48", "SE")], Layout::CountryCode);
        let reader = Reader::open_readfile(&file).unwrap();
        reader.verify().unwrap();
        let code = |a: &str| reader.lookup(ip(a)).unwrap().decode_path::<String>(&path!["country_code"]).unwrap();
        assert_eq!(code("203.0.113.9").as_deref(), Some("NL"));
        assert_eq!(code("2001:db8::9").as_deref(), Some("SE"));
        assert_eq!(code("2001:db8:1::9"), None);
    }
}
