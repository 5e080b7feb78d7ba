//! Request limits (GCRA, via governor): per client address for the routes where guessing pays
//! (sign-in, registration, MFA, reset, password change) and for opening WebSockets, per account
//! for sending messages and for authenticated REST requests. Over a limit the client is told exactly how long to wait, and nobody
//! else is slowed.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// A limit as the `RateLimit-Policy` header names it: `per_minute` requests a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// What the limit guards (`auth`, `ws_connect`, `message`, `api`): the policy's name, and
    /// the class in the metrics and the log.
    pub name: &'static str,
    pub per_minute: u32,
}

/// A request over its limit: the policy and how long (whole seconds, at least 1) to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub policy: Policy,
    pub wait: u64,
}

impl Refused {
    /// The 429 answer, with `Retry-After` and the `RateLimit` fields.
    pub fn error(self, message: &str) -> ApiError {
        ApiError::rate_limited(message, self.wait).with_policy(self.policy)
    }
}

/// A GCRA allowance per key.
#[derive(Debug)]
pub struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
    policy: Policy,
    metrics: Arc<Metrics>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `per_minute` a minute on average, up to `burst` at once.
    pub fn new(class: &'static str, per_minute: NonZeroU32, burst: NonZeroU32, metrics: Arc<Metrics>) -> Self {
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        let policy = Policy { name: class, per_minute: per_minute.get() };
        Self { limiter: RateLimiter::keyed(quota), clock: DefaultClock::default(), policy, metrics }
    }

    /// Counts one for `key`, or says how long to wait.
    pub fn check_key(&self, key: &K) -> Result<(), Refused> {
        self.limiter.check_key(key).map_err(|not_until| {
            self.metrics.rate_limited(self.policy.name);
            tracing::info!(event = "rate_limited", route_class = self.policy.name, "over a rate limit");
            Refused { policy: self.policy, wait: ceil_secs(not_until.wait_time_from(self.clock.now())).max(1) }
        })
    }

    /// Forgets keys whose allowance is full again, so memory follows current traffic.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// A limit per client address (IPv6: per /64).
#[derive(Debug)]
pub struct IpLimiter(pub KeyedLimiter<IpAddr>);

impl IpLimiter {
    pub fn new(class: &'static str, per_minute: NonZeroU32, burst: NonZeroU32, metrics: Arc<Metrics>) -> Self {
        Self(KeyedLimiter::new(class, per_minute, burst, metrics))
    }

    /// Counts a request from the caller's address, or refuses it with 429.
    pub fn check(&self, req: &HttpRequest) -> Result<(), ApiError> {
        // Without a peer address (a Unix socket, a test request) there is nothing to key on.
        let Some(ip) = crate::client_ip::of(req).map(subscriber) else { return Ok(()) };
        self.0
            .check_key(&ip)
            .map_err(|refused| refused.error("too many requests from your network; wait and try again"))
    }
}

/// The unit one subscriber controls: an IPv4 address, or an IPv6 /64 (a single customer
/// usually has at least a /64 and could otherwise rotate through it to dodge the limit).
pub fn subscriber(ip: IpAddr) -> IpAddr {
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

    fn limiter(per_minute: u32, burst: u32) -> IpLimiter {
        let (per_minute, burst) = (NonZeroU32::new(per_minute).unwrap(), NonZeroU32::new(burst).unwrap());
        IpLimiter::new("auth", per_minute, burst, Arc::default())
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_the_wait() {
        let limiter = limiter(6, 3);
        let req = TestRequest::default().peer_addr("192.0.2.7:5000".parse().unwrap()).to_http_request();
        for _ in 0..3 {
            limiter.check(&req).unwrap();
        }
        let refused = limiter.check(&req).unwrap_err();
        assert_eq!(refused.retry_after, Some(10), "one request per 10 s at 6 a minute");
        assert_eq!(refused.policy, Some(Policy { name: "auth", per_minute: 6 }));
        let other = TestRequest::default().peer_addr("192.0.2.8:5000".parse().unwrap()).to_http_request();
        limiter.check(&other).unwrap();
    }

    #[test]
    fn ipv6_addresses_of_one_subscriber_share_an_allowance() {
        let limiter = limiter(6, 2);
        let from = |ip: &str| TestRequest::default().peer_addr(ip.parse().unwrap()).to_http_request();
        limiter.check(&from("[2001:db8:1:2::1]:5000")).unwrap();
        limiter.check(&from("[2001:db8:1:2:ffff::9]:5000")).unwrap();
        assert!(limiter.check(&from("[2001:db8:1:2:abcd::3]:5000")).is_err(), "same /64");
        limiter.check(&from("[2001:db8:1:3::1]:5000")).unwrap();
    }
}
