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

/// The host page's URL without its fragment: where a mailed link should lead back to.
pub fn page_url() -> Option<String> {
    let href = web_sys::window()?.location().href().ok()?;
    Some(href.split('#').next().unwrap_or_default().to_owned())
}

/// A link from one of our mails that opened this page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailLink {
    /// `#palisade-reset=<token>`: choose a new password.
    Reset(String),
    /// `#palisade-sign-up=<token>`: finish creating an account.
    SignUp(String),
}

/// The mailed link the page was opened with, if any. The fragment is removed from the address
/// bar and history at once, so the token does not linger where a later visitor of this
/// browser, or a screenshot, could find it.
pub fn take_mail_link() -> Option<MailLink> {
    let window = web_sys::window()?;
    let hash = window.location().hash().ok()?;
    let link = mail_link(&hash)?;
    if let (Ok(history), Some(page)) = (window.history(), page_url()) {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&page));
    }
    Some(link)
}

fn mail_link(hash: &str) -> Option<MailLink> {
    use palisade_protocol::auth::{RESET_FRAGMENT, SIGN_UP_FRAGMENT};
    let (key, value) = hash.strip_prefix('#')?.split_once('=')?;
    if value.is_empty() {
        return None;
    }
    match key {
        RESET_FRAGMENT => Some(MailLink::Reset(value.to_owned())),
        SIGN_UP_FRAGMENT => Some(MailLink::SignUp(value.to_owned())),
        _ => None,
    }
}

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`); false when the browser has
/// no clipboard API here (it needs a secure context) or refuses.
pub async fn copy_text(text: &str) -> bool {
    let Some(window) = web_sys::window() else { return false };
    let clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard")).unwrap_or_default();
    let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText")).unwrap_or_default();
    let Some(write) = write.dyn_ref::<js_sys::Function>() else { return false };
    match write.call1(&clipboard, &JsValue::from_str(text)) {
        Ok(promise) => JsFuture::from(js_sys::Promise::resolve(&promise)).await.is_ok(),
        Err(_) => false,
    }
}

/// A `blob:` URL holding `text` as a plain-text file, for a download link; give it back with
/// [`revoke_url`] once the link is gone.
pub fn text_file_url(text: &str) -> Option<String> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

pub fn revoke_url(url: &str) {
    let _ = web_sys::Url::revoke_object_url(url);
}

#[cfg(test)]
mod tests {
    use super::{MailLink, mail_link};

    #[test]
    fn only_a_reset_fragment_carries_a_token() {
        assert_eq!(mail_link("#palisade-reset=abc_12"), Some(MailLink::Reset("abc_12".to_owned())));
        assert_eq!(mail_link("#palisade-sign-up=f00"), Some(MailLink::SignUp("f00".to_owned())));
        assert_eq!(mail_link("#palisade-reset="), None);
        assert_eq!(mail_link("#palisade-reset"), None);
        assert_eq!(mail_link("#other=abc"), None);
        assert_eq!(mail_link("#palisade-sign-upx=abc"), None);
        assert_eq!(mail_link(""), None);
    }
}
