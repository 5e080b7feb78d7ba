//! The widget's views. Every piece of user-provided text is rendered as a text node; no view
//! sets `inner_html` or an inline `style`, so the widget keeps working under a strict CSP.

/// `leptos::view!` that never builds DOM from HTML strings.
///
/// Left alone, the macro renders each fully static subtree by assigning its markup to a
/// `<template>`'s `innerHTML`, which a host page enforcing Trusted Types blocks (and which this
/// crate promises never to do). A global class, here `pw`, switches that optimisation off, so
/// every node is made with `createElement`. Views in this crate use this macro only; a test
/// below keeps it that way.
macro_rules! safe_view {
    ($($tokens:tt)*) => {
        ::leptos::view! { class = "pw", $($tokens)* }
    };
}
pub(crate) use safe_view;

pub mod account;
pub mod announcer;
pub mod app;
pub mod auth_form;
pub mod chat_view;
pub mod composer;
pub mod connection_state;
pub mod icons;
pub mod launcher;
pub mod message_body;
pub mod message_list;
pub mod mfa_required;
pub mod provider_buttons;
pub mod room_list;
pub mod two_factor;

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Every view goes through `safe_view!`; a bare `view!` would bring back `innerHTML`.
    #[test]
    fn no_view_bypasses_safe_view() {
        fn visit(dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    let source = std::fs::read_to_string(&path).unwrap();
                    let own_definition = path.ends_with("components/mod.rs");
                    if !own_definition && source.replace("safe_view!", "").contains("view!") {
                        found.push(path.display().to_string());
                    }
                }
            }
        }
        let mut found = Vec::new();
        visit(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        assert!(found.is_empty(), "use safe_view! instead of view! in {found:?}");
    }
}
