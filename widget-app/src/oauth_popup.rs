//! The popup of a provider sign-in: opened on the chat server's `start` URL, it goes to the
//! provider and back to the server, whose last page posts a one-time code (or a failure) to
//! this page. Only a message that comes from exactly the chat server's origin, from this very
//! popup, for this site and provider is believed: any other window can post messages here too.

use std::time::Duration;

use futures::channel::oneshot;
use futures::future::{self, Either};
use palisade_protocol::oauth::POPUP_MESSAGE_TYPE;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Window};

use crate::browser;
use crate::config::Config;
use crate::error_text;
use crate::i18n::t;

/// One window for all sign-ins: a second click reuses it instead of stacking popups.
const POPUP_NAME: &str = "palisade-oauth";
const POPUP_FEATURES: &str = "popup,width=520,height=680";
/// How often to look whether the person closed the popup.
const CLOSED_POLL: Duration = Duration::from_millis(400);
/// Polls a closed popup still gets for its message: on success the popup posts and closes at
/// once, and the two can reach this page in either order.
const CLOSED_GRACE_POLLS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PopupError {
    /// `window.open` gave no window.
    Blocked,
    /// Closed before it posted anything.
    Closed,
    /// The popup's reason, e.g. `consent_denied`.
    Refused(String),
}

impl PopupError {
    /// `label` is the provider's name.
    pub fn user_message(&self, label: &str) -> String {
        match self {
            Self::Blocked => t().popup_blocked.to_owned(),
            Self::Closed => (t().popup_closed)(label),
            Self::Refused(reason) => error_text::for_provider_refusal(reason, label),
        }
    }
}

/// What the popup posted: the one-time code, or why there is none.
type Posted = Result<String, String>;

/// Removes the `message` listener when dropped, however the wait ends.
struct Listener {
    window: Window,
    callback: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.window.remove_event_listener_with_callback("message", self.callback.as_ref().unchecked_ref());
    }
}

/// An open sign-in popup and the listener for its answer.
pub struct Popup {
    window: Window,
    posted: oneshot::Receiver<Posted>,
    _listener: Listener,
}

impl Popup {
    /// Opens the popup. Call it from the click handler itself, with no `await` before: a browser
    /// lets a page open a popup only while handling the person's gesture.
    pub fn open(config: &Config, provider: &str, challenge: &str) -> Result<Self, PopupError> {
        let page = web_sys::window().ok_or(PopupError::Blocked)?;
        let page_origin = page.location().origin().map_err(|_| PopupError::Blocked)?;
        let url = config.oauth_start_url(provider, &page_origin, challenge);
        let window = page
            .open_with_url_and_target_and_features(&url, POPUP_NAME, POPUP_FEATURES)
            .ok()
            .flatten()
            .ok_or(PopupError::Blocked)?;
        let (sender, posted) = oneshot::channel();
        let callback = listen(config, provider, window.clone().into(), sender);
        if page.add_event_listener_with_callback("message", callback.as_ref().unchecked_ref()).is_err() {
            let _ = window.close();
            return Err(PopupError::Blocked);
        }
        Ok(Self { window, posted, _listener: Listener { window: page, callback } })
    }

    /// The one-time code, once the popup posts it. `cancelled` is asked now and then: when it
    /// says yes (nobody waits for the answer any more) the popup is closed.
    pub async fn code(mut self, cancelled: impl Fn() -> bool) -> Result<String, PopupError> {
        let mut grace = CLOSED_GRACE_POLLS;
        loop {
            match future::select(&mut self.posted, Box::pin(browser::sleep(CLOSED_POLL))).await {
                Either::Left((Ok(posted), _)) => return posted.map_err(PopupError::Refused),
                Either::Left((Err(_), _)) => return Err(PopupError::Closed),
                Either::Right(_) => {}
            }
            if cancelled() {
                let _ = self.window.close();
                return Err(PopupError::Closed);
            }
            if self.window.closed().unwrap_or(true) {
                if grace == 0 {
                    return Err(PopupError::Closed);
                }
                grace -= 1;
            }
        }
    }
}

/// The `message` handler: passes on the first message that passes every check.
fn listen(
    config: &Config,
    provider: &str,
    popup: JsValue,
    sender: oneshot::Sender<Posted>,
) -> Closure<dyn FnMut(MessageEvent)> {
    let server_origin = canonical_origin(config.server());
    let site = config.site().to_string();
    let provider = provider.to_owned();
    let mut sender = Some(sender);
    Closure::new(move |event: MessageEvent| {
        let from_popup = event.source().is_some_and(|source| JsValue::from(source) == popup);
        if event.origin() != server_origin || !from_popup {
            return;
        }
        let data = event.data();
        let text = |name: &str| js_sys::Reflect::get(&data, &JsValue::from_str(name)).ok().and_then(|v| v.as_string());
        let ours = data.is_object()
            && text("type").as_deref() == Some(POPUP_MESSAGE_TYPE)
            && text("site").as_deref() == Some(site.as_str())
            && text("provider").as_deref() == Some(provider.as_str());
        if !ours {
            return;
        }
        // A `linked` answer (or anything else) is no sign-in.
        let posted = text("code").ok_or_else(|| text("error").unwrap_or_default());
        if let Some(sender) = sender.take() {
            let _ = sender.send(posted);
        }
    })
}

/// The origin as the browser writes it in `MessageEvent.origin` (lowercase host, no default
/// port), whatever the embed snippet's spelling.
fn canonical_origin(server: &str) -> String {
    web_sys::Url::new(server).map(|url| url.origin()).unwrap_or_else(|_| server.to_owned())
}
