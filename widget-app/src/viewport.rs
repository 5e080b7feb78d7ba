//! Keeps the full-screen panel of narrow screens within what the visitor can see. When the
//! on-screen keyboard opens, the visual viewport shrinks but the layout viewport (which a fixed
//! `inset: 0` panel fills) does not, and the composer would sit under the keyboard. While the
//! panel is open, the visual viewport's height and top are copied into custom properties on the
//! widget's root, which the stylesheet's mobile rules use (set through the CSSOM: a strict CSP
//! refuses `style` attributes).

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

const HEIGHT: &str = "--palisade-viewport-height";
const TOP: &str = "--palisade-viewport-top";
/// The keyboard resizes the visual viewport; scrolling the page under it moves it.
const EVENTS: [&str; 2] = ["resize", "scroll"];

/// Follows `window.visualViewport` until dropped, which removes the listeners and the
/// properties.
pub struct FollowViewport {
    viewport: web_sys::VisualViewport,
    root: web_sys::HtmlElement,
    listener: Closure<dyn Fn()>,
}

impl FollowViewport {
    /// `None` where the browser has no visual viewport: the panel then fills the layout one.
    pub fn start(root: web_sys::HtmlElement) -> Option<Self> {
        let viewport = web_sys::window()?.visual_viewport()?;
        let update = {
            let (viewport, root) = (viewport.clone(), root.clone());
            move || {
                let style = root.style();
                let _ = style.set_property(HEIGHT, &format!("{}px", viewport.height()));
                let _ = style.set_property(TOP, &format!("{}px", viewport.offset_top()));
            }
        };
        update();
        let listener = Closure::<dyn Fn()>::new(update);
        for event in EVENTS {
            let _ = viewport.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
        }
        Some(Self { viewport, root, listener })
    }
}

impl Drop for FollowViewport {
    fn drop(&mut self) {
        for event in EVENTS {
            let _ = self.viewport.remove_event_listener_with_callback(event, self.listener.as_ref().unchecked_ref());
        }
        let style = self.root.style();
        let _ = style.remove_property(HEIGHT);
        let _ = style.remove_property(TOP);
    }
}
