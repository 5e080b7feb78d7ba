//! Per-address request limits (GCRA, via governor) for the routes where guessing pays: sign-in,
//! registration, refresh and password change. Over the limit a client gets 429 with the exact
//! Retry-After, and nobody else is slowed.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

#[derive(Debug)]
pub struct IpLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

impl IpLimiter {
    /// `per_minute` requests a minute on average, up to `burst` at once.
    pub fn new(per_minute: NonZeroU32, burst: NonZeroU32) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Self { limiter: RateLimiter::keyed(quota), clock: DefaultClock::default() }
    }

    /// Counts a request from the caller's address, or refuses it.
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        // Without a peer address (a Unix socket, a test request) there is nothing to key on.
        let Some(ip) = crate::client_ip::of(req).map(subscriber) else { return Ok(()) };
        self.limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            tracing::info!(event = "rate_limited", route_class = "auth", "too many requests from one address");
            ApiError::rate_limited("too many attempts from your network; wait and try again", ceil_secs(wait))
        })
    }

    /// Forgets addresses whose allowance is full again, so memory follows current traffic.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The unit one subscriber controls: an IPv4 address, or an IPv6 /64 (a single customer
/// usually has at least a /64 and could otherwise rotate through it to dodge the limit).
fn subscriber(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

fn ceil_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn a_burst_is_allowed_then_refused_with_the_wait() {
        let limiter = IpLimiter::new(NonZeroU32::new(6).unwrap(), NonZeroU32::new(3).unwrap());
        let req = TestRequest::default().peer_addr("192.0.2.7:5000".parse().unwrap()).to_http_request();
        for _ in 0..3 {
            limiter.check(&req).unwrap();
        }
        let refused = limiter.check(&req).unwrap_err();
        assert_eq!(refused.retry_after, Some(10), "one request per 10 s at 6 a minute");
        let other = TestRequest::default().peer_addr("192.0.2.8:5000".parse().unwrap()).to_http_request();
        limiter.check(&other).unwrap();
    }

    #[test]
    fn ipv6_addresses_of_one_subscriber_share_an_allowance() {
        let limiter = IpLimiter::new(NonZeroU32::new(6).unwrap(), NonZeroU32::new(2).unwrap());
        let from = |ip: &str| TestRequest::default().peer_addr(ip.parse().unwrap()).to_http_request();
        limiter.check(&from("[2001:db8:1:2::1]:5000")).unwrap();
        limiter.check(&from("[2001:db8:1:2:ffff::9]:5000")).unwrap();
        assert!(limiter.check(&from("[2001:db8:1:2:abcd::3]:5000")).is_err(), "same /64");
        limiter.check(&from("[2001:db8:1:3::1]:5000")).unwrap();
    }
}
