//! Where deliveries may go: unless private targets are allowed, never to a loopback, private,
//! link-local (cloud metadata), multicast or reserved address (`tollgate_core::net::refused_target`).
//! A literal IP in the URL is checked before sending; a host name is checked on the addresses it
//! resolves to when the request is made, by the client's resolver, so a name that points inside
//! cannot slip through between a check and the connection.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tollgate_core::net::refused_target;
use url::{Host, Url};

/// Why a URL's literal address is refused, or `None` when it is a host name or a public address.
pub fn refused_literal(url: &Url) -> Option<String> {
    let ip = match url.host()? {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(_) => return None,
    };
    refused_target(ip).map(|why| format!("address {ip} is refused ({why})"))
}

/// The system resolver, with every refused address dropped; an error when none is left.
#[derive(Debug, Default)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(public_addrs(name.as_str().to_owned()))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn public_addrs(host: String) -> Result<Addrs, BoxError> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
    let (public, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
        found.into_iter().partition(|a| refused_target(a.ip()).is_none());
    if public.is_empty() {
        let why = match refused.first() {
            Some(a) => format!(
                "{host} resolves only to refused addresses ({} is {})",
                a.ip(),
                refused_target(a.ip()).unwrap_or("refused")
            ),
            None => format!("{host} resolves to no address"),
        };
        return Err(why.into());
    }
    Ok(Box::new(public.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_hosts_are_judged_names_are_left_to_the_resolver() {
        let refused = |u: &str| refused_literal(&Url::parse(u).unwrap());
        assert!(refused("http://127.0.0.1:8080/h").unwrap().contains("loopback"));
        assert!(refused("http://[::1]/h").is_some());
        assert!(refused("http://[::ffff:10.0.0.1]/h").is_some());
        assert!(refused("http://169.254.169.254/latest/meta-data").unwrap().contains("metadata"));
        // the URL parser reads these as 127.0.0.1
        assert!(refused("http://2130706433/").is_some());
        assert!(refused("http://0x7f.1/").is_some());
        assert_eq!(refused("https://93.184.215.14/h"), None);
        assert_eq!(refused("https://localhost/h"), None, "names are checked when resolved");
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_that_point_inside() {
        let err = match PublicOnly.resolve("localhost".parse().ok().unwrap()).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("localhost resolves only to refused addresses"), "{err}");
    }
}
