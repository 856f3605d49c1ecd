//! IP addresses and CIDR ranges: blacklists, whitelists, VPN ranges, trusted proxies.

use std::net::IpAddr;
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
}
