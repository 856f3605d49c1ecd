//! IP addresses and CIDR ranges: blacklists, whitelists, VPN ranges, trusted proxies, and the
//! addresses webhook deliveries may not go to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// Parse `1.2.3.4`, `1.2.3.0/24`, `::1` or `2001:db8::/32`. A bare address is a /32 or /128.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(net) = IpNet::from_str(s) {
        return Some(net.trunc());
    }
    IpAddr::from_str(s).ok().map(IpNet::from)
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are matched as the IPv4 address they carry.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

pub fn contains_any(nets: &[IpNet], ip: IpAddr) -> bool {
    let ip = canonical(ip);
    nets.iter().any(|n| n.contains(&ip))
}

/// Read a VPN ranges file: one CIDR a line, `#` starts a comment, blank lines ignored.
/// Returns the line number (1-based) of the first bad line.
pub fn parse_ranges_file(text: &str) -> Result<Vec<IpNet>, usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        out.push(parse_cidr(line).ok_or(i + 1)?);
    }
    Ok(out)
}

/// Why a webhook delivery may not go to `ip` unless private targets are allowed; `None` for a
/// public address. Refused: loopback, unspecified, private (10/8, 172.16/12, 192.168/16),
/// shared CGNAT space (100.64/10), link-local (169.254/16, where cloud metadata services
/// answer), multicast, broadcast, reserved (240/4), "this network" (0/8); in IPv6 loopback,
/// unspecified, unique-local (fc00::/7), link-local (fe80::/10) and multicast (ff00::/8). An IPv6
/// address that carries an IPv4 one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
/// `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) is judged by that IPv4 address.
pub fn refused_target(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => refused_v4(v4),
            None => refused_v6(v6),
        },
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_private() => "private",
        _ if a == 100 && (64..128).contains(&b) => "shared (CGNAT)",
        _ if ip.is_link_local() => "link-local (metadata)",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() => "broadcast",
        _ if a >= 240 => "reserved",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if first & 0xfe00 == 0xfc00 => "unique-local",
        _ if first & 0xffc0 == 0xfe80 => "link-local",
        _ if first & 0xff00 == 0xff00 => "multicast",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 one carries, in the forms that route to it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    // IPv4-compatible (::a.b.c.d, deprecated), but not :: and ::1 themselves
    if s[..6] == [0; 6] && !ip.is_unspecified() && !ip.is_loopback() {
        return Some(low);
    }
    // NAT64: the well-known prefix 64:ff9b::/96 and the local-use one 64:ff9b:1::/48
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || s[..3] == [0x64, 0xff9b, 1] {
        return Some(low);
    }
    // 6to4: 2002:aabb:ccdd::/48
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_and_bare_addresses() {
        let n = parse_cidr("10.0.0.7/8").unwrap();
        assert_eq!(n.to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("1.2.3.4").unwrap().to_string(), "1.2.3.4/32");
        assert_eq!(parse_cidr("::1").unwrap().to_string(), "::1/128");
        assert!(parse_cidr("1.2.3.4/33").is_none());
        assert!(parse_cidr("nope").is_none());
    }

    #[test]
    fn mapped_v6_matches_v4_ranges() {
        let nets = vec![parse_cidr("192.168.0.0/16").unwrap()];
        assert!(contains_any(&nets, "::ffff:192.168.1.1".parse().unwrap()));
        assert!(!contains_any(&nets, "192.169.0.1".parse().unwrap()));
    }

    #[test]
    fn ranges_file() {
        let nets = parse_ranges_file("# vpn\n1.0.0.0/8 # comment\n\n2001:db8::/32\n").unwrap();
        assert_eq!(nets.len(), 2);
        assert_eq!(parse_ranges_file("1.0.0.0/8\nbad\n"), Err(2));
    }

    #[test]
    fn webhook_targets_refuse_internal_addresses() {
        for ip in [
            "127.0.0.1",
            "127.9.9.9",
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::7f00:1",
            "2002:c0a8:0101::1",
        ] {
            assert!(refused_target(ip.parse().unwrap()).is_some(), "{ip} should be refused");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.63.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "169.253.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(refused_target(ip.parse().unwrap()), None, "{ip} is public");
        }
        assert_eq!(refused_target("169.254.169.254".parse().unwrap()), Some("link-local (metadata)"));
    }
}
