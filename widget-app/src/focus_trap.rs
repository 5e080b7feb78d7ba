//! Keyboard focus while the panel is open: Tab and Shift+Tab cycle among the panel's controls
//! instead of wandering off into the host page behind it, and on closing the focus goes back
//! to whatever had it before the panel opened (the launcher, or the page's own button that
//! called `Palisade.open()`).
//!
//! The widget lives in a shadow root, where `document.activeElement` is only the host element;
//! the focused control inside is the shadow root's `activeElement`.

use wasm_bindgen::JsCast;

/// What can take the focus with Tab; whether it is shown is checked separately.
const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), \
    select:not([disabled]), [tabindex]:not([tabindex=\"-1\"])";

/// Keeps a Tab keypress inside `panel`: from its last control Tab goes to the first, from its
/// first (or from outside it) Shift+Tab goes to the last. Other keys, and Tab between two
/// controls in the middle, are left to the browser.
pub fn keep_tab_inside(panel: &web_sys::HtmlElement, ev: &web_sys::KeyboardEvent) {
    if ev.key() != "Tab" || ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
        return;
    }
    let controls = focusable(panel);
    let active = focused_in(panel);
    let current = active.and_then(|active| controls.iter().position(|control| *control == active));
    if let Some(next) = wrap_target(controls.len(), current, ev.shift_key()) {
        ev.prevent_default();
        let _ = controls[next].focus();
    }
}

/// The index to move to when the browser's own Tab order would leave the list of `len`
/// controls (`current` is the focused one's index, `None` when the focus is elsewhere);
/// `None` to let the browser move.
fn wrap_target(len: usize, current: Option<usize>, backwards: bool) -> Option<usize> {
    let last = len.checked_sub(1)?;
    match (current, backwards) {
        (Some(0) | None, true) => Some(last),
        (Some(at), false) if at == last => Some(0),
        (None, false) => Some(0),
        _ => None,
    }
}

/// Moves the focus to the panel's first field (where the person is about to type), or to its
/// first control when it has none.
pub fn focus_first(panel: &web_sys::HtmlElement) {
    let field = panel.query_selector("textarea:not([disabled]), input:not([disabled])").ok().flatten();
    let field = field.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()).filter(is_shown);
    if let Some(target) = field.or_else(|| focusable(panel).into_iter().next()) {
        let _ = target.focus();
    }
}

/// The element that has the focus now, seen from `inside`'s tree: inside the widget's shadow
/// root its own `activeElement`, else the page's.
fn focused_now(inside: &web_sys::Node) -> Option<web_sys::HtmlElement> {
    let in_shadow =
        inside.get_root_node().dyn_into::<web_sys::ShadowRoot>().ok().and_then(|root| root.active_element());
    let element = in_shadow.or_else(|| web_sys::window()?.document()?.active_element())?;
    element.dyn_into::<web_sys::HtmlElement>().ok()
}

/// What has the focus as the panel opens, to give it back on closing; `None` for the page's
/// body (nothing in particular).
pub fn remember(panel: &web_sys::HtmlElement) -> Option<web_sys::HtmlElement> {
    focused_now(panel).filter(|el| !is_body(el))
}

/// Gives the focus back to `previous` as the panel closes, unless the person has already put it
/// somewhere else (a click on the launcher, or the page's own button); `fallback` (the
/// launcher) when `previous` is gone or hidden.
pub fn restore(panel: &web_sys::HtmlElement, previous: web_sys::HtmlElement, fallback: Option<web_sys::HtmlElement>) {
    // Still inside the now hidden panel, or dropped to the page's body (or the widget's host)
    // because the focused control was hidden: nobody moved it on purpose.
    let host = panel.get_root_node().dyn_into::<web_sys::ShadowRoot>().ok().map(|root| root.host());
    let lost = focused_now(panel).is_none_or(|el| {
        panel.contains(Some(&el)) || is_body(&el) || host.is_some_and(|host| host.is_same_node(Some(&el)))
    });
    if !lost {
        return;
    }
    let usable = |el: &web_sys::HtmlElement| el.is_connected() && is_shown(el) && !panel.contains(Some(el));
    if let Some(target) = Some(previous).filter(usable).or_else(|| fallback.filter(usable)) {
        let _ = target.focus();
    }
}

fn is_body(el: &web_sys::HtmlElement) -> bool {
    el.owner_document().and_then(|d| d.body()).is_some_and(|body| body == *el)
}

/// The panel's controls that Tab would reach, in document order.
fn focusable(panel: &web_sys::HtmlElement) -> Vec<web_sys::HtmlElement> {
    let Ok(list) = panel.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .filter(is_shown)
        .collect()
}

fn focused_in(panel: &web_sys::HtmlElement) -> Option<web_sys::HtmlElement> {
    focused_now(panel).filter(|el| panel.contains(Some(el)))
}

/// Laid out, so neither `hidden` nor inside something hidden (which Tab skips).
fn is_shown(el: &web_sys::HtmlElement) -> bool {
    el.get_client_rects().length() > 0
}

#[cfg(test)]
mod tests {
    use super::wrap_target;

    #[test]
    fn tab_wraps_at_either_end_and_enters_from_outside() {
        assert_eq!(wrap_target(3, Some(2), false), Some(0), "Tab on the last goes to the first");
        assert_eq!(wrap_target(3, Some(0), true), Some(2), "Shift+Tab on the first goes to the last");
        assert_eq!(wrap_target(3, Some(1), false), None, "the browser moves within the panel");
        assert_eq!(wrap_target(3, Some(1), true), None);
        assert_eq!(wrap_target(3, Some(0), false), None);
        assert_eq!(wrap_target(3, None, false), Some(0), "from outside, in at the start");
        assert_eq!(wrap_target(3, None, true), Some(2), "from outside backwards, in at the end");
        assert_eq!(wrap_target(1, Some(0), false), Some(0), "a single control keeps the focus");
        assert_eq!(wrap_target(0, None, false), None, "nothing to focus");
    }
}
