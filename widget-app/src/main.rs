//! Palisade's chat widget: a Leptos app compiled to WebAssembly and mounted by the loader script
//! (`loader/palisade.js`) into a shadow root on the host page.

mod api;
mod auth;
mod browser;
mod chat;
mod components;
mod config;
mod cooldown;
mod days;
mod embed;
mod embed_options;
mod error_text;
mod focus_trap;
mod host_events;
mod i18n;
mod mount;
mod notify;
mod oauth_popup;
mod pkce;
mod presence;
mod rooms;
mod seen;
mod session;
mod sign_in_providers;
mod socket;
mod time_label;
mod timeline;
mod typing;
mod viewport;

/// Does nothing on purpose: the loader decides where and when to mount, through [`mount::mount`].
fn main() {}
