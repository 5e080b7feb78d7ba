//! Sign-in back-off per account: each failure doubles the wait (1 s, 2 s, 4 s, … capped at
//! 15 minutes), success resets it, and at most 100 failures are accepted per hour. Nothing ever
//! locks an account for good, so an attacker cannot lock a victim out for longer than that.

use std::time::Duration;

pub const FIRST_WAIT: Duration = Duration::from_secs(1);
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
pub const WINDOW: Duration = Duration::from_secs(60 * 60);
pub const MAX_FAILURES_PER_WINDOW: u32 = 100;

/// How long to wait after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    // 2^(n-1) seconds; from 2^10 s on it is past the cap anyway, so the shift never overflows.
    let exponent = (failures - 1).min(10);
    (FIRST_WAIT * (1_u32 << exponent)).min(MAX_WAIT)
}

/// The failure counts of one account (or one email that has no account: both are throttled
/// alike, so the throttle reveals nothing about which emails exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// Consecutive failures since the last success.
    pub consecutive: u32,
    /// Failures since `window_start_ms`.
    pub in_window: u32,
    pub window_start_ms: i64,
}

/// Until when (Unix ms) sign-in is refused after the failure just counted in `f`, at `now_ms`.
pub fn blocked_until(f: &Failures, now_ms: i64) -> i64 {
    let backoff_ms = i64::try_from(backoff(f.consecutive).as_millis()).unwrap_or(i64::MAX);
    let mut until = now_ms.saturating_add(backoff_ms);
    if f.in_window >= MAX_FAILURES_PER_WINDOW {
        let window_ms = i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX);
        until = until.max(f.window_start_ms.saturating_add(window_ms));
    }
    until
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
        let f = Failures { consecutive: 1, in_window: 99, window_start_ms: start };
        assert_eq!(blocked_until(&f, start + 10), start + 10 + 1000);
        let f = Failures { in_window: 100, ..f };
        assert_eq!(blocked_until(&f, start + 10), start + 3_600_000);
        // The longer of the two applies, and neither exceeds 15 minutes past the last failure
        // or the end of the hour.
        let f = Failures { consecutive: 40, in_window: 100, window_start_ms: start };
        assert_eq!(blocked_until(&f, start + 3_000_000), start + 3_000_000 + 900_000);
    }
}
