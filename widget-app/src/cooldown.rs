//! The wait a server imposes on a form with `Retry-After` (429, or 503 when it is saturated):
//! the seconds left, counting down once a second, during which the form cannot be sent.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::ErrorCode;

use crate::api::ApiError;
use crate::browser;
use crate::i18n::t;

#[derive(Debug, Clone, Copy)]
pub struct Cooldown {
    left: RwSignal<u64>,
    /// Bumped by every start, so an earlier countdown stops ticking.
    run: StoredValue<u64>,
}

impl Cooldown {
    pub fn new() -> Self {
        Self { left: RwSignal::new(0), run: StoredValue::new(0) }
    }

    /// Seconds left; 0 when the form may be sent.
    pub fn left(&self) -> u64 {
        self.left.get()
    }

    pub fn is_waiting(&self) -> bool {
        self.left.get_untracked() > 0
    }

    /// (Re)starts the countdown from `secs`. It stops by itself at 0, or when the form is gone.
    pub fn start(&self, secs: u64) {
        self.run.update_value(|run| *run = run.wrapping_add(1));
        let run = self.run.get_value();
        self.left.set(secs);
        let this = *self;
        spawn_local(async move {
            loop {
                browser::sleep(Duration::from_secs(1)).await;
                if this.run.try_get_value() != Some(run) {
                    return;
                }
                let left = this.left.try_update(|left| {
                    *left = left.saturating_sub(1);
                    *left
                });
                if left.unwrap_or(0) == 0 {
                    return;
                }
            }
        });
    }

    /// What a form shows for `err`; starts the countdown when the server said how long to wait.
    pub fn message_for(&self, err: &ApiError) -> String {
        match err.retry_after() {
            Some(secs) if err.is_transient() => {
                self.start(secs.max(1));
                if err.code() == Some(ErrorCode::RateLimited) {
                    t().too_many_attempts.to_owned()
                } else {
                    err.user_message()
                }
            }
            _ => err.user_message(),
        }
    }
}

/// The submit button's words while the countdown runs.
pub fn label(left: u64) -> String {
    (t().try_again_in)(left)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_label_counts_seconds() {
        assert_eq!(super::label(12), "Try again in 12 s");
    }
}
