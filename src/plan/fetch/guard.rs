//! What plan may fetch: only `http:` and `https:` URLs, and only from public addresses.
//!
//! Plan may run as a service on compositions it did not write, so a page must not make it reach
//! the service's own network: loopback, private (RFC 1918, unique-local), link-local, shared
//! (CGNAT), unspecified, multicast, broadcast and documentation addresses are refused unless the
//! caller allows private networks. The host is resolved once and the connection goes to the
//! address that was checked (so a second, different DNS answer cannot slip in).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

/// Why a URL may not be fetched.
pub type Refusal = String;

/// `url` parsed, if it is `http:` or `https:` with a host.
pub fn parse(url: &str) -> Result<Url, Refusal> {
    let parsed = Url::parse(url).map_err(|e| format!("is not a valid URL ({e})"))?;
    match parsed.scheme() {
        "http" | "https" if parsed.host_str().is_some() => Ok(parsed),
        "http" | "https" => Err("has no host".to_string()),
        other => Err(format!("uses the {other}: scheme; only http and https are fetched")),
    }
}

/// Whether `ip` is public (fetchable without `--allow-private-network`).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)) && first == 0)
}

/// The first address of `addrs` plan may connect to.
pub fn pick(addrs: &[SocketAddr], allow_private: bool, host: &str) -> Result<SocketAddr, Refusal> {
    addrs.iter().copied().find(|a| allow_private || is_public(a.ip())).ok_or_else(|| {
        if addrs.is_empty() {
            format!("host {host} does not resolve")
        } else {
            format!(
                "host {host} resolves to a loopback, private or link-local address ({}); \
                 give --allow-private-network to fetch from it",
                addrs[0].ip()
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn only_http_and_https() {
        assert!(parse("https://x.test/a.png").is_ok());
        assert!(parse("http://x.test/a.png").is_ok());
        assert!(parse("ftp://x.test/a").is_err());
        assert!(parse("file:///etc/passwd").is_err());
        assert!(parse("gopher://x").is_err());
    }

    #[test]
    fn picks_a_permitted_address() {
        let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let public: SocketAddr = "1.1.1.1:80".parse().unwrap();
        assert_eq!(pick(&[local, public], false, "h"), Ok(public));
        assert!(pick(&[local], false, "h").unwrap_err().contains("--allow-private-network"));
        assert_eq!(pick(&[local], true, "h"), Ok(local));
    }
}
