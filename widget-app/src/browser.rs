//! The few browser facilities the widget needs beyond the DOM: timers, clocks, randomness and
//! the console. Kept together so the rest of the crate stays plain Rust.

use std::time::Duration;

use futures::channel::oneshot;
use palisade_protocol::{ClientMessageId, Timestamp};
use wasm_bindgen::JsValue;

/// Resolves after `duration`; dropping the future early is harmless.
pub async fn sleep(duration: Duration) {
    let (done, wait) = oneshot::channel::<()>();
    leptos::prelude::set_timeout(
        move || {
            let _ = done.send(());
        },
        duration,
    );
    let _ = wait.await;
}

pub fn now() -> Timestamp {
    // `Date.now()` is an integral number of milliseconds, well inside i64.
    #[allow(clippy::cast_possible_truncation)]
    Timestamp::from_millis(js_sys::Date::now() as i64)
}

/// Uniform in [0, 1); only for spreading reconnects, never for anything secret.
pub fn jitter() -> f64 {
    js_sys::Math::random()
}

/// A random (version 4) id for a message about to be sent. `crypto.randomUUID` exists only in
/// secure contexts, so a host page served over plain http falls back to `getRandomValues`.
pub fn new_client_id() -> Option<ClientMessageId> {
    let crypto = web_sys::window()?.crypto().ok()?;
    let has_random_uuid = js_sys::Reflect::has(&crypto, &JsValue::from_str("randomUUID")).unwrap_or(false);
    if has_random_uuid {
        return crypto.random_uuid().parse().ok();
    }
    let mut bytes = [0_u8; 16];
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(ClientMessageId::from_uuid(uuid::Builder::from_random_bytes(bytes).into_uuid()))
}

pub fn log_error(message: &str) {
    web_sys::console::error_1(&JsValue::from_str(message));
}

pub fn log_warning(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}
