//! The widget on a phone-sized window: the open panel fills the screen, its fields are large
//! enough that iOS does not zoom into them, and it stays above the on-screen keyboard (here a
//! window made shorter, which shrinks the visual viewport the way the keyboard does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_no_csp_violations, open_widget, register};
use palisade_e2e::{Driver, Stack, testid};
use serde_json::json;

/// An iPhone SE's screen, in CSS pixels: the width is emulated, the height the window's.
const PHONE: (u32, u32) = (375, 667);

/// The open panel's box against the visual viewport: whether it covers what the visitor sees.
const PANEL_COVERS_VIEWPORT: &str = "(() => { const r = q('#palisade-panel').getBoundingClientRect(); \
    const v = window.visualViewport; \
    return Math.abs(r.left) < 1 && Math.abs(r.top - v.offsetTop) < 1 && Math.abs(r.width - window.innerWidth) < 1 \
      && Math.abs(r.bottom - (v.offsetTop + v.height)) < 1; })()";

fn font_size_at_least_16(id: &str) -> String {
    format!("parseFloat(getComputedStyle(q({})).fontSize) >= 16", json!(testid(id)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_the_panel_fills_the_screen_and_stays_above_the_keyboard() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let phone = driver.phone("phone", PHONE.0, PHONE.1).await.unwrap();
    open_widget(&phone, Some(&stack.host_page_url)).await;
    assert_eq!(phone.eval("window.innerWidth").await.unwrap(), json!(PHONE.0), "laid out as a phone");

    phone.wait_for_animations().await.unwrap();
    phone.wait_until(PANEL_COVERS_VIEWPORT).await.unwrap();
    phone.wait_until(&font_size_at_least_16("email")).await.unwrap();

    register(&stack, &phone, "pat@example.org", "Pat").await;
    phone.wait_until(&font_size_at_least_16("composer")).await.unwrap();
    phone.wait_until(PANEL_COVERS_VIEWPORT).await.unwrap();

    // The keyboard opens: the visual viewport loses its lower part, and the composer follows.
    phone.click(&testid("composer")).await.unwrap();
    let full = phone.eval("window.visualViewport.height").await.unwrap().as_f64().unwrap();
    // Only the height counts: the emulation fixes the width.
    phone.client.set_window_size(1280, PHONE.1 - 250).await.unwrap();
    phone.wait_until(&format!("window.visualViewport.height < {full} - 100")).await.unwrap();
    phone
        .wait_until(&format!(
            "q({}).getBoundingClientRect().bottom <= window.visualViewport.offsetTop + window.visualViewport.height",
            json!(testid("composer"))
        ))
        .await
        .unwrap();
    phone.wait_until(PANEL_COVERS_VIEWPORT).await.unwrap();

    // Closed, the widget stops following the viewport and leaves nothing set behind.
    phone.eval("window.Palisade.close()").await.unwrap();
    phone.wait_until("q('#palisade-panel').hidden").await.unwrap();
    phone.wait_until("q('.palisade').style.getPropertyValue('--palisade-viewport-height') === ''").await.unwrap();

    assert_no_csp_violations(&phone).await;
    phone.close().await.unwrap();
}
