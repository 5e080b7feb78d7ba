//! What JavaScript calls: [`mount`], once, and the [`Widget`] handle it returns, which the loader
//! puts behind `window.Palisade`. Everything the widget needs comes in through arguments;
//! nothing is read from the host page's globals.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::auth;
use crate::browser;
use crate::chat::Chat;
use crate::components::app::App;
use crate::components::safe_view;
use crate::config::Config;
use crate::embed::Embed;
use crate::embed_options::{EmbedOptions, Theme};
use crate::host_events;
use crate::i18n::Locale;
use crate::notify;

/// The page's hold on a mounted widget; `window.Palisade`'s methods call these.
#[wasm_bindgen]
pub struct Widget {
    embed: Embed,
    chat: Chat,
}

#[wasm_bindgen]
impl Widget {
    pub fn open(&self) {
        self.embed.open.set(true);
    }

    pub fn close(&self) {
        self.embed.open.set(false);
    }

    pub fn toggle(&self) {
        self.embed.open.update(|open| *open = !*open);
    }

    /// Ends the session (here and on the server), as the panel's "Sign out" does; nothing
    /// happens when nobody is signed in.
    #[wasm_bindgen(js_name = signOut)]
    pub fn sign_out(&self) {
        if self.chat.session.token().is_some() {
            auth::sign_out(self.chat);
        }
    }

    /// `"light"`, `"dark"` or `"auto"` (the visitor's system setting). Anything else is
    /// reported on the console and changes nothing.
    #[wasm_bindgen(js_name = setTheme)]
    pub fn set_theme(&self, theme: &str) {
        match Theme::parse(theme) {
            Some(theme) => self.embed.theme.set(theme),
            None => browser::log_error(&format!(
                "Palisade: setTheme({theme:?}) is not allowed; use {}. The theme is unchanged.",
                Theme::ALLOWED
            )),
        }
    }

    /// A language tag such as `"de"` or `"ar-EG"`, matched by its language: English, German
    /// or Arabic. Takes precedence over `data-locale` and the page's and browser's languages.
    /// Anything else is reported on the console and changes nothing.
    #[wasm_bindgen(js_name = setLocale)]
    pub fn set_locale(&self, tag: &str) {
        match Locale::from_tag(tag) {
            Some(locale) => self.embed.locale.set(locale),
            None => browser::log_error(&format!(
                "Palisade: setLocale({tag:?}) is not allowed; use {}. The language is unchanged.",
                Locale::ALLOWED
            )),
        }
    }
}

/// Mounts the widget into `container` (inside the loader's shadow root on `host`, the
/// `#palisade-widget` element that carries the page-facing events and the accent colour).
///
/// `site` is the site's public id (`data-site`); `server` is the chat server's origin, from
/// which every REST and WebSocket URL is derived; both throw when malformed. `options` holds
/// the script tag's other data attributes by name (`position`, `accent`, `theme`, `open`,
/// `launcher`, `locale`, `notify`), as strings; a wrong one is reported on the console and its default used.
/// Dispatches `palisade:ready` before returning.
#[wasm_bindgen]
pub fn mount(
    host: web_sys::HtmlElement,
    container: web_sys::HtmlElement,
    site: String,
    server: String,
    options: &js_sys::Object,
) -> Result<Widget, JsError> {
    // Without a hook a panic surfaces only as "RuntimeError: unreachable" with no hint of where.
    std::panic::set_hook(Box::new(|info| browser::log_error(&format!("Palisade: internal error: {info}"))));
    let config = Config::new(&site, &server).map_err(|err| JsError::new(&err.to_string()))?;
    let (options, errors) = EmbedOptions::parse(|name| {
        js_sys::Reflect::get(options, &JsValue::from_str(name)).ok().and_then(|value| value.as_string())
    });
    for error in errors {
        browser::log_error(&error.to_string());
    }
    // A custom property set through the CSSOM, which a strict CSP allows (a `style` attribute
    // would not be); set on the host so the page's own `--palisade-accent` rule is replaced.
    if let Some(accent) = &options.accent {
        let style = host.style();
        let _ = style.set_property("--palisade-accent", &accent.css());
        let _ = style.set_property("--palisade-accent-contrast", accent.contrast_css());
    }

    // Created outside the view so the handle can reach them; the widget lives as long as the
    // page, so nothing is ever disposed.
    let embed = Embed::new(&options);
    let chat = Chat::new(config);
    let events_host = host.clone();
    let notices = options.notify;
    leptos::mount::mount_to(container, move || {
        host_events::watch(events_host, chat, embed);
        notify::watch(chat, embed, notices);
        safe_view! { <App chat embed/> }
    })
    .forget();
    host_events::dispatch(&host, "ready", &JsValue::UNDEFINED);
    Ok(Widget { embed, chat })
}
