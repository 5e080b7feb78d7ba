//! The few browser facilities the widget needs beyond the DOM: timers, clocks, randomness,
//! locks shared between tabs and the console. Kept together so the rest of the crate stays
//! plain Rust.

use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{self, Either};
use palisade_protocol::{ClientMessageId, Timestamp};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

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

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`, the Web Locks API. Declared here because web-sys only offers it
    /// behind `--cfg=web_sys_unstable_apis`, and only `request(name, callback)` is needed.
    type LockManager;

    #[wasm_bindgen(method, catch)]
    fn request(this: &LockManager, name: &str, callback: &js_sys::Function) -> Result<js_sys::Promise, JsValue>;
}

/// An exclusive Web Lock, held until this is dropped.
pub struct LockGuard {
    release: js_sys::Function,
    _granted: Closure<dyn FnMut(JsValue) -> js_sys::Promise>,
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}

/// Waits for the exclusive lock `name`, shared by every tab and frame of this origin, and holds
/// it until the guard is dropped. `None` when the browser has no Web Locks (older browsers, or
/// a page that is not a secure context): the caller then goes on without one.
pub async fn lock(name: &str) -> Option<LockGuard> {
    let navigator = web_sys::window()?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &JsValue::from_str("locks")).ok().filter(JsValue::is_object)?;
    let locks: LockManager = locks.unchecked_into();
    let (granted_tx, granted_rx) = oneshot::channel::<js_sys::Function>();
    let mut granted_tx = Some(granted_tx);
    // The lock is held until the promise the callback returns settles: that promise resolves
    // when the guard calls `release`.
    let granted = Closure::<dyn FnMut(JsValue) -> js_sys::Promise>::new(move |_lock: JsValue| {
        let mut release = None;
        let held = js_sys::Promise::new(&mut |resolve, _reject| release = Some(resolve));
        if let Some(release) = release {
            match granted_tx.take() {
                Some(waiting) => {
                    if let Err(release) = waiting.send(release) {
                        let _ = release.call0(&JsValue::UNDEFINED);
                    }
                }
                None => {
                    let _ = release.call0(&JsValue::UNDEFINED);
                }
            }
        }
        held
    });
    let requested = locks.request(name, granted.as_ref().unchecked_ref()).ok()?;
    // The request's own promise settles only after release, or at once when it is refused.
    match future::select(granted_rx, JsFuture::from(requested)).await {
        Either::Left((Ok(release), _)) => Some(LockGuard { release, _granted: granted }),
        _ => None,
    }
}
