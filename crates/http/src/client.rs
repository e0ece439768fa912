//! The client address of a request: the TCP peer, or, when the peer is a configured trusted
//! proxy, the nearest untrusted address in `X-Forwarded-For`. Nobody else can choose their
//! address by sending a header.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use sejf_core::App;
pub use sejf_domain::net::Cidr;

use crate::problem::Problem;

/// The client's address, as far as this server can trust it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<Cidr>);

impl TrustedProxies {
    /// The client address for a connection from `peer` with the given `X-Forwarded-For` values.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        if !self.0.iter().any(|c| c.contains(peer)) {
            return peer;
        }
        // Walk from the nearest hop outwards; the first address that is not one of our proxies
        // is the client as our proxies saw it. A hop that does not parse ends the walk: what
        // lies beyond it was written by nobody we can vouch for, so the last good hop stands.
        let hops: Vec<&str> = forwarded.iter().flat_map(|v| v.split(',')).collect();
        let mut client = peer;
        for raw in hops.iter().rev() {
            let Some(hop) = parse_hop(raw.trim()) else { break };
            client = hop;
            if !self.0.iter().any(|c| c.contains(hop)) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` hop: `ip`, `ip:port`, `[v6]` or `[v6]:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')).and_then(|h| h.parse().ok()))
}

impl FromRequestParts<Arc<App>> for ClientAddr {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<App>) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let trusted = parts.extensions.get::<TrustedProxies>().cloned().unwrap_or_default();
        let forwarded: Vec<&str> = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        Ok(ClientAddr(trusted.client(peer, &forwarded)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let t = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1".parse().unwrap()]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(t.client(ip("203.0.113.9"), &["198.51.100.1"]), ip("203.0.113.9"), "untrusted peer: header ignored");
        assert_eq!(t.client(ip("10.1.2.3"), &["198.51.100.1, 10.9.9.9"]), ip("198.51.100.1"));
        assert_eq!(t.client(ip("10.1.2.3"), &["6.6.6.6, 198.51.100.1"]), ip("198.51.100.1"), "a spoofed first hop is not taken");
        assert_eq!(t.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        assert!("::ffff:10.0.0.1".parse::<IpAddr>().map(|a| t.0[0].contains(a)).unwrap());
    }

    #[test]
    fn forwarded_for_parses_ports_and_stops_at_garbage() {
        let t = TrustedProxies(vec!["10.0.0.0/8".parse().unwrap()]);
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let peer = ip("10.1.2.3");
        assert_eq!(t.client(peer, &["198.51.100.1:4711"]), ip("198.51.100.1"));
        assert_eq!(t.client(peer, &["[2001:db8::7]:443, 10.9.9.9:80"]), ip("2001:db8::7"));
        assert_eq!(t.client(peer, &["[2001:db8::8]"]), ip("2001:db8::8"));
        // Beyond a hop that does not parse nothing is believed: the last good hop stands.
        assert_eq!(t.client(peer, &["203.0.113.5, unknown, 10.9.9.9"]), ip("10.9.9.9"));
        assert_eq!(t.client(peer, &["203.0.113.5, 10.9.9.9", "not-an-address"]), peer);
        assert_eq!(t.client(peer, &["203.0.113.5", "198.51.100.2"]), ip("198.51.100.2"), "headers join in order");
    }
}
