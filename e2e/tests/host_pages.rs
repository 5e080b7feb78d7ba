//! The widget on unusual host pages: one whose global styles try hard to break it (`?hostile`),
//! and cross-origin isolated ones (`?coep=…`), each under the demo page's strict CSP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{
    PASSWORD, assert_no_csp_violations, connected, delivered, open_widget, present, register, sign_in, started,
};
use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::{Value, json};

/// Size of an element's box and its distance from the viewport's bottom-right corner (the
/// widget's), in px rounded to 1/100.
fn box_of(element: &str) -> String {
    format!(
        "(() => {{ const e = {element}; if (!e) return null; const r = e.getBoundingClientRect(); \
           const px = (v) => Math.round(v * 100) / 100; \
           const view = document.documentElement; \
           return {{ width: px(r.width), height: px(r.height), right: px(view.clientWidth - r.right), \
             bottom: px(view.clientHeight - r.bottom) }}; }})()"
    )
}

/// What a person sees of a widget element: its box and the text styles it is drawn with.
fn look_of(id: &str) -> String {
    let element = format!("q({})", json!(testid(id)));
    format!(
        "(() => {{ const e = {element}; if (!e) return null; const s = getComputedStyle(e); \
           return {{ box: {box}, font: s.font, color: s.color, background: s.backgroundColor, direction: s.direction, \
             letterSpacing: s.letterSpacing, textTransform: s.textTransform }}; }})()",
        box = box_of(&element)
    )
}

/// The launcher as it stands before anyone points at it (hovering scales it, so each page gets a
/// fresh browser, with no pointer left over the corner): its look, and whether its middle is
/// really the launcher, i.e. nothing covers it and it takes clicks.
async fn launcher(browser: &Browser) -> Value {
    browser.wait_until(&started()).await.unwrap();
    browser.wait_for_animations().await.unwrap();
    browser
        .eval(&format!(
            "{{ look: {look}, onTop: (() => {{ const r = q({id}).getBoundingClientRect(); \
               return q({id}).contains(root.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)); }})(), \
               visible: q({id}).checkVisibility({{ opacityProperty: true, visibilityProperty: true }}) }}",
            look = look_of("launcher"),
            id = json!(testid("launcher"))
        ))
        .await
        .unwrap()
}

/// The open panel with the sign-in form: the boxes and text styles of its parts.
async fn sign_in_panel(browser: &Browser) -> Value {
    browser.click(&testid("launcher")).await.unwrap();
    browser.wait_until(&format!("{} && q('#palisade-panel')?.hidden === false", present("auth-form"))).await.unwrap();
    browser.wait_for_animations().await.unwrap();
    let parts = ["auth-form", "email", "password", "auth-submit", "auth-mode-toggle"];
    let looks = parts.map(|id| format!("{}: {}", json!(id), look_of(id))).join(", ");
    browser.eval(&format!("{{ panel: {}, {looks} }}", box_of("q('#palisade-panel')"))).await.unwrap()
}

/// How the page draws some of its own paragraphs.
async fn page_text_styles(browser: &Browser) -> Value {
    browser
        .eval(
            "['.lede', '#story p', '.card p'].map((selector) => { \
               const s = getComputedStyle(document.querySelector(selector)); \
               return [selector, s.font, s.color, s.backgroundColor, s.direction, s.letterSpacing, s.textTransform, \
                 s.display, s.margin, s.width]; })",
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_page_neither_restyles_the_widget_nor_is_restyled_by_it() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let mut seen = Vec::new();
    for variant in ["plain", "hostile"] {
        let browser = driver.browser(variant).await.unwrap();
        browser.goto(&format!("{}?{variant}&no-widget", stack.host_page_url)).await.unwrap();
        browser.wait_until("document.readyState === 'complete'").await.unwrap();
        let page_alone = page_text_styles(&browser).await;

        browser.goto(&format!("{}?{variant}", stack.host_page_url)).await.unwrap();
        let launcher = launcher(&browser).await;
        assert_eq!((&launcher["onTop"], &launcher["visible"]), (&json!(true), &json!(true)), "{variant}: {launcher}");
        let panel = sign_in_panel(&browser).await;
        assert_eq!(
            page_text_styles(&browser).await,
            page_alone,
            "{variant}: the page's own text looks the same with the widget open as without the widget"
        );
        assert_no_csp_violations(&browser).await;
        browser.close().await.unwrap();
        seen.push((variant, launcher, panel, page_alone));
    }

    let [(_, plain_launcher, plain_panel, plain_page), (_, hostile_launcher, hostile_panel, hostile_page)] =
        <[_; 2]>::try_from(seen).unwrap();
    assert_ne!(plain_page, hostile_page, "the hostile stylesheet applies to the page");
    assert_eq!(hostile_launcher, plain_launcher, "the launcher: same corner, size and look");
    assert_eq!(hostile_panel, plain_panel, "the sign-in panel: same boxes and text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_cross_origin_isolated_page_people_sign_in_and_talk() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    // Signing up goes through a mailed link to the plain page; signing in then works anywhere.
    let alice = driver.browser("alice").await.unwrap();
    open_widget(&alice, Some(&stack.host_page_url)).await;
    register(&stack, &alice, "alice@example.org", "Alice").await;

    for policy in ["require-corp", "credentialless"] {
        let browser = driver.browser(policy).await.unwrap();
        let page = format!("{}?coep={policy}", stack.host_page_url);
        open_widget(&browser, Some(&page)).await;
        assert_eq!(browser.eval("window.crossOriginIsolated").await.unwrap(), true, "{policy}: the page is isolated");
        sign_in(&browser, "alice@example.org", PASSWORD).await;

        let text = format!("Sent from a page with COEP {policy}");
        browser.type_into(&testid("composer"), &text).await.unwrap();
        browser.click(&testid("send")).await.unwrap();
        // Acknowledged by the server (stored, numbered), and live in Alice's other window.
        browser.wait_until(&delivered(&text)).await.unwrap();
        alice.wait_until(&delivered(&text)).await.unwrap();
        browser.wait_until(&connected()).await.unwrap();
        assert_no_csp_violations(&browser).await;
        browser.close().await.unwrap();
    }
    assert_no_csp_violations(&alice).await;
    alice.close().await.unwrap();
}
