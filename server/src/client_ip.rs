//! Who is on the other end: the peer address, or, when the peer is a configured trusted proxy,
//! the address that proxy saw. Everything that keys on a client (rate limits, the sign-in
//! throttle, the audit trail) asks here, so a spoofed `X-Forwarded-For` from anyone else is
//! ignored everywhere alike.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use actix_web::{HttpRequest, web};
use ipnet::IpNet;

use crate::app::AppState;

/// The client of `peer`, given the `X-Forwarded-For` header values and the trusted proxies:
/// walking the chain from the right, the first address that is not a trusted proxy.
pub fn resolve(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain: Vec<IpAddr> =
        forwarded_for.iter().flat_map(|value| value.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
    chain.iter().rev().find(|ip| !is_trusted(ip)).or(chain.first()).copied().unwrap_or(peer)
}

/// The client address of a request, if it has a peer at all.
pub fn of(req: &HttpRequest) -> Option<IpAddr> {
    let trusted = req.app_data::<web::Data<AppState>>().map(|state| state.trusted_proxies.as_slice()).unwrap_or(&[]);
    of_parts(req.peer_addr(), req.headers(), trusted)
}

/// [`of`] for code that holds only the request head (middleware such as CORS).
pub fn of_parts(peer: Option<SocketAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?.ip();
    if trusted.is_empty() {
        return Some(peer);
    }
    let forwarded: Vec<&str> = headers.get_all("x-forwarded-for").filter_map(|value| value.to_str().ok()).collect();
    Some(resolve(peer, &forwarded, trusted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // A direct client's header is ignored.
        assert_eq!(resolve(ip("198.51.100.7"), &["203.0.113.9"], &trusted), ip("198.51.100.7"));
        // Through the proxy: the address it saw.
        assert_eq!(resolve(ip("10.0.0.2"), &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        // A client that sends its own header cannot choose: the proxy appends the real one.
        assert_eq!(resolve(ip("10.0.0.2"), &["1.2.3.4, 203.0.113.9"], &trusted), ip("203.0.113.9"));
        // Several trusted hops are skipped; headers split over lines are one chain.
        assert_eq!(resolve(ip("10.0.0.2"), &["203.0.113.9", "10.0.0.3"], &trusted), ip("203.0.113.9"));
        // Nothing usable: the proxy itself.
        assert_eq!(resolve(ip("10.0.0.2"), &["garbage"], &trusted), ip("10.0.0.2"));
        assert_eq!(resolve(ip("10.0.0.2"), &[], &[]), ip("10.0.0.2"));
    }
}
