//! A cap on what one network (an IPv4 address, or an IPv6 /64, as the rate limits count them)
//! may hold open at once: WebSockets, and connections of any kind. Handshakes and requests are
//! rate-limited too, but a client that opens them slowly could still hold thousands of idle
//! sockets, and with them memory and file descriptors every other visitor needs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::metrics::Metrics;

#[derive(Debug)]
pub struct SocketCap {
    /// What is counted, for the metrics and the log (`ws_open`, `connection`).
    class: &'static str,
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    metrics: Arc<Metrics>,
}

/// One open socket's place under the cap, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    cap: Arc<SocketCap>,
    network: IpAddr,
}

impl SocketCap {
    pub fn new(class: &'static str, limit: usize, metrics: Arc<Metrics>) -> Self {
        Self { class, limit, open: Mutex::default(), metrics }
    }

    /// A place for one more socket from `ip`'s network, or `None` when it has `limit` open.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let network = crate::rate_limit::subscriber(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(network).or_default();
        if *count >= self.limit {
            drop(open);
            self.metrics.rate_limited(self.class);
            tracing::info!(event = "rate_limited", route_class = self.class, "too much open at once from one network");
            return None;
        }
        *count += 1;
        Some(Slot { cap: Arc::clone(self), network })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.cap.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.network) {
            *count -= 1;
            // Forgotten at zero, so the map holds only networks with sockets open.
            if *count == 0 {
                open.remove(&self.network);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_gets_its_limit_and_a_closed_socket_gives_its_place_back() {
        let cap = Arc::new(SocketCap::new("ws_open", 2, Arc::default()));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let first = cap.take(ip).unwrap();
        let _second = cap.take(ip).unwrap();
        assert!(cap.take(ip).is_none(), "the third is refused");
        assert!(cap.take("192.0.2.8".parse().unwrap()).is_some(), "another network has its own");
        let same_64: IpAddr = "2001:db8::1".parse().unwrap();
        let _v6 = (cap.take(same_64).unwrap(), cap.take("2001:db8::2".parse().unwrap()).unwrap());
        assert!(cap.take("2001:db8::ffff".parse().unwrap()).is_none(), "an IPv6 /64 counts as one network");
        drop(first);
        assert!(cap.take(ip).is_some(), "a closed socket's place is free again");
        assert_eq!(cap.open.lock().unwrap().len(), 2, "only networks with sockets open are kept");
    }
}
