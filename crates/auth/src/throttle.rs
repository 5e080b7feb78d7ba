//! Sign-in back-off for an email: each failure doubles the wait (1 s, 2 s, 4 s, … capped at
//! 15 minutes) and success resets it; at most 100 failures are accepted per hour.
//!
//! The doubling back-off is counted per client network (IPv4 /24, IPv6 /48), the hourly cap per
//! account. So someone guessing from their network slows only themselves, and the owner signing
//! in from elsewhere is not held up by it: an attacker cannot keep a person locked out with a
//! handful of failures an hour. Only a distributed guessing run (100 failures in an hour) pauses
//! the account, until that hour is over.
//!
//! Credential stuffing, many accounts tried from one network, is the opposite shape: few
//! failures per email, so neither count above catches it. When [`STUFFING_EMAILS`] different
//! emails have failed from one network within the hour, that network may not sign in at all for
//! [`STUFFING_BLOCK`].

use std::time::Duration;

pub const FIRST_WAIT: Duration = Duration::from_secs(1);
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
pub const WINDOW: Duration = Duration::from_secs(60 * 60);
pub const MAX_FAILURES_PER_WINDOW: u32 = 100;
/// Different emails failing from one network within [`WINDOW`] that count as credential stuffing.
/// High enough that a large office behind one address, with people mistyping, stays clear.
pub const STUFFING_EMAILS: u32 = 20;
pub const STUFFING_BLOCK: Duration = Duration::from_secs(15 * 60);

/// How long to wait after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    // 2^(n-1) seconds; from 2^10 s on it is past the cap anyway, so the shift never overflows.
    let exponent = (failures - 1).min(10);
    (FIRST_WAIT * (1_u32 << exponent)).min(MAX_WAIT)
}

/// Until when (Unix ms) sign-in from one network is refused after `consecutive` failures
/// from it, the last at `now_ms`.
pub fn backoff_until(consecutive: u32, now_ms: i64) -> i64 {
    now_ms.saturating_add(i64::try_from(backoff(consecutive).as_millis()).unwrap_or(i64::MAX))
}

/// Until when (Unix ms) sign-in to the account is refused from everywhere, given the failures
/// counted in the window that started at `window_start_ms`; 0 while under the cap.
pub fn cap_until(in_window: u32, window_start_ms: i64) -> i64 {
    if in_window < MAX_FAILURES_PER_WINDOW {
        return 0;
    }
    window_start_ms.saturating_add(i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_one_second_and_stops_at_fifteen_minutes() {
        let waits: Vec<u64> = (0..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        assert_eq!(backoff(u32::MAX), MAX_WAIT);
    }

    #[test]
    fn the_hundredth_failure_in_an_hour_blocks_until_the_hour_is_over() {
        let start = 1_000_000;
        assert_eq!(cap_until(99, start), 0);
        assert_eq!(cap_until(100, start), start + 3_600_000);
        assert_eq!(backoff_until(1, start + 10), start + 10 + 1000);
        assert_eq!(backoff_until(40, start), start + 900_000);
    }
}
