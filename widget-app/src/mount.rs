//! The one function JavaScript calls. Everything the widget needs comes in through its arguments;
//! nothing is read from the host page's globals.

use wasm_bindgen::prelude::*;

use crate::browser;
use crate::components::app::App;
use crate::components::safe_view;
use crate::config::Config;

/// Mounts the widget into `container` (normally inside the loader's shadow root).
///
/// `site` is the site's public id (`data-site`); `server` is the chat server's origin, from
/// which every REST and WebSocket URL is derived. Throws when either is malformed.
#[wasm_bindgen]
pub fn mount(container: web_sys::HtmlElement, site: String, server: String) -> Result<(), JsError> {
    // Without a hook a panic surfaces only as "RuntimeError: unreachable" with no hint of where.
    std::panic::set_hook(Box::new(|info| browser::log_error(&format!("Palisade: internal error: {info}"))));
    let config = Config::new(&site, &server).map_err(|err| JsError::new(&err.to_string()))?;
    // The widget lives as long as the page; nothing ever unmounts it.
    leptos::mount::mount_to(container, move || safe_view! { <App config/> }).forget();
    Ok(())
}
