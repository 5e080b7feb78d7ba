//! How a page embeds the widget: the loader's launcher comes first and the app loads only on
//! interaction or when the browser is idle; the script tag's options; `window.Palisade` and the
//! `palisade:*` events. The host page holds its idle callbacks (`?hold-idle`) so that "before
//! the browser was idle" can be looked at.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{alice_and_bob, assert_no_csp_violations, present};
use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::{Value, json};

/// Whether the page has fetched the app (the WebAssembly module or its glue).
const APP_FETCHED: &str = "performance.getEntriesByType('resource').some((e) => \
    /\\/palisade-widget(_bg)?(-[0-9a-f]+)?\\.(js|wasm)$/.test(new URL(e.name).pathname))";
const PANEL_OPEN: &str = "q('#palisade-panel')?.hidden === false";
const PANEL_CLOSED: &str = "q('#palisade-panel')?.hidden === true";
/// The app has mounted (its root replaced nothing but the placeholder launcher).
const APP_MOUNTED: &str = "q('.palisade') !== null";

/// Loads the host page with `query` and waits for the loader to have run and styled itself.
async fn load_page(stack: &Stack, browser: &Browser, query: &str) {
    browser.goto(&format!("{}?{query}", stack.host_page_url)).await.unwrap();
    browser.wait_until("window.Palisade !== undefined && q('link[rel=stylesheet]')?.sheet != null").await.unwrap();
}

/// Records the widget's page events, in order, into `window.seen` from now on.
const RECORD_EVENTS: &str = "window.seen = []; \
    for (const name of ['ready', 'open', 'close', 'unread', 'error']) { \
      document.addEventListener(`palisade:${name}`, (e) => window.seen.push(name)); \
    }";

async fn seen(browser: &Browser) -> Value {
    browser.eval("window.seen").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_launcher_comes_first_and_a_click_loads_the_app_and_opens_it() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("lazy").await.unwrap();
    // Wrong values fall back to the defaults (the console names them).
    load_page(&stack, &browser, "hold-idle&data-position=top&data-theme=neon").await;

    browser.wait_until(&present("launcher")).await.unwrap();
    let before = browser
        .eval(&format!(
            "({{ fetched: {APP_FETCHED}, mounted: {APP_MOUNTED}, \
               loader: performance.getEntriesByType('resource').some((e) => e.name.endsWith('/widget/palisade.js')), \
               visible: q({launcher}).checkVisibility() && q({launcher}).getBoundingClientRect().width > 40 }})",
            launcher = json!(testid("launcher"))
        ))
        .await
        .unwrap();
    assert_eq!(
        before,
        json!({ "fetched": false, "mounted": false, "loader": true, "visible": true }),
        "before any interaction only the loader (and its stylesheet) is fetched, and the launcher shows"
    );

    // A click on the loader's own launcher is not lost while the app loads.
    browser.client.execute(RECORD_EVENTS, vec![]).await.unwrap();
    browser.click(&testid("launcher")).await.unwrap();
    browser.wait_until(PANEL_OPEN).await.unwrap();
    assert_eq!(browser.eval(APP_FETCHED).await.unwrap(), true);
    let launchers = browser
        .eval(&format!(
            "qa({0}).map((l) => [l.closest('.palisade') !== null, l.getAttribute('aria-expanded')])",
            json!(testid("launcher"))
        ))
        .await
        .unwrap();
    assert_eq!(launchers, json!([[true, "true"]]), "the app's launcher took the placeholder's place");
    assert_eq!(seen(&browser).await, json!(["ready", "open"]));
    let options = browser.eval("[q('.palisade').dataset.position, q('.palisade').dataset.theme]").await.unwrap();
    assert_eq!(options, json!(["right", "auto"]));

    // Escape (the app's own way to close) is announced too.
    browser.wait_until(&present("auth-form")).await.unwrap();
    browser.type_into(&testid("email"), "\u{e00c}").await.unwrap();
    browser.wait_until(PANEL_CLOSED).await.unwrap();
    assert_eq!(seen(&browser).await, json!(["ready", "open", "close"]));

    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_made_before_the_app_loaded_are_replayed_and_the_api_drives_it() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("api").await.unwrap();
    load_page(&stack, &browser, "hold-idle").await;

    // In one script, as a page would right after the tag: listen, then open.
    let fetched = browser
        .client
        .execute(&format!("{RECORD_EVENTS} Palisade.open(); return {APP_FETCHED};"), vec![])
        .await
        .unwrap();
    assert_eq!(fetched, false, "open() was called before the app loaded");
    browser.wait_until(PANEL_OPEN).await.unwrap();
    browser.wait_until("window.seen.length >= 2").await.unwrap();
    assert_eq!(seen(&browser).await, json!(["ready", "open"]), "ready first, then the replayed open");

    browser.eval("Palisade.close()").await.unwrap();
    browser.wait_until(PANEL_CLOSED).await.unwrap();
    browser.eval("Palisade.toggle()").await.unwrap();
    browser.wait_until(PANEL_OPEN).await.unwrap();
    browser.eval("Palisade.toggle()").await.unwrap();
    browser.wait_until(PANEL_CLOSED).await.unwrap();
    browser.wait_until("window.seen.length >= 5").await.unwrap();
    assert_eq!(seen(&browser).await, json!(["ready", "open", "close", "open", "close"]));

    // The theme is the page's to change; the stylesheet follows it.
    browser.eval("Palisade.setTheme('dark')").await.unwrap();
    browser
        .wait_until("q('.palisade').dataset.theme === 'dark' && getComputedStyle(q('#palisade-panel')).backgroundColor === 'rgb(27, 28, 34)'")
        .await
        .unwrap();
    browser.eval("Palisade.setTheme('neon')").await.unwrap();
    browser.eval("Palisade.setTheme('light')").await.unwrap();
    browser
        .wait_until("q('.palisade').dataset.theme === 'light' && getComputedStyle(q('#palisade-panel')).backgroundColor === 'rgb(255, 255, 255)'")
        .await
        .unwrap();

    // One global, frozen; a second copy of the loader changes nothing.
    let global = browser
        .eval("[Object.isFrozen(Palisade), Object.keys(Palisade).sort(), document.querySelectorAll('#palisade-widget').length]")
        .await
        .unwrap();
    assert_eq!(global, json!([true, ["close", "open", "setLocale", "setTheme", "signOut", "toggle", "version"], 1]));

    assert_eq!(seen(&browser).await.as_array().unwrap().len(), 5, "no error event: {}", seen(&browser).await);
    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_on_the_script_tag_are_honoured() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("options").await.unwrap();
    load_page(
        &stack,
        &browser,
        "hold-idle&data-launcher=hidden&data-position=left&data-accent=%230a7c55&data-theme=dark",
    )
    .await;

    // No launcher at all, not even the placeholder; the app still loads once the page is idle.
    assert_eq!(browser.eval(&present("launcher")).await.unwrap(), false);
    assert_eq!(browser.eval(APP_FETCHED).await.unwrap(), false);
    browser.eval("palisadeRunIdle()").await.unwrap();
    browser.wait_until(APP_MOUNTED).await.unwrap();
    assert_eq!(browser.eval(&present("launcher")).await.unwrap(), false);

    browser.eval("Palisade.open()").await.unwrap();
    browser.wait_until(PANEL_OPEN).await.unwrap();
    browser.wait_until(&format!("{} || {}", present("auth-form"), present("chat"))).await.unwrap();
    let look = browser
        .eval(
            "(() => { const panel = getComputedStyle(q('#palisade-panel')); \
               const host = getComputedStyle(document.getElementById('palisade-widget')); \
               return { position: q('.palisade').dataset.position, theme: q('.palisade').dataset.theme, \
                 left: panel.left, background: panel.backgroundColor, \
                 accent: host.getPropertyValue('--palisade-accent').trim(), \
                 header: getComputedStyle(q('.panel-header')).backgroundColor }; })()",
        )
        .await
        .unwrap();
    assert_eq!(look["position"], "left");
    assert_eq!(look["left"], "20px", "the panel sits on the left: {look}");
    assert_eq!(look["theme"], "dark");
    assert_eq!(look["background"], "rgb(27, 28, 34)");
    assert_eq!(look["accent"], "#0a7c55");
    assert_eq!(look["header"], "rgb(10, 124, 85)", "the accent colours the header: {look}");

    // Set through the CSSOM, which the page's strict CSP allows.
    assert_no_csp_violations(&browser).await;

    // data-open opens the panel as soon as the app has loaded, without waiting for idleness.
    load_page(&stack, &browser, "hold-idle&data-open").await;
    browser.wait_until(PANEL_OPEN).await.unwrap();
    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}

/// Records `[name, detail]` of every message and unread event into `window.details`.
const RECORD_DETAILS: &str = "window.details = []; \
    for (const name of ['message', 'unread']) { \
      document.addEventListener(`palisade:${name}`, (e) => window.details.push([name, e.detail])); \
    }";

async fn details(browser: &Browser, name: &str) -> Vec<Value> {
    let all = browser.eval("window.details").await.unwrap();
    all.as_array().unwrap().iter().filter(|pair| pair[0] == name).map(|pair| pair[1].clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_message_is_announced_to_the_page_without_its_text() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let (alice, bob) = alice_and_bob(&stack, &driver).await;
    for browser in [&alice, &bob] {
        browser.client.execute(RECORD_DETAILS, vec![]).await.unwrap();
    }
    bob.eval("Palisade.close()").await.unwrap();
    bob.wait_until(PANEL_CLOSED).await.unwrap();

    alice.type_into(&testid("composer"), "Tea at five?").await.unwrap();
    alice.click(&testid("send")).await.unwrap();
    bob.wait_until("window.details.some(([n]) => n === 'message') && window.details.some(([n]) => n === 'unread')")
        .await
        .unwrap();
    let messages = details(&bob, "message").await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(message["author"], "Alice");
    assert_eq!(message["seq"], 1);
    assert_eq!(message["room"].as_str().map(str::len), Some(36), "the room's id: {message}");
    assert!(message["id"].is_string() && message["sentAt"].is_number(), "{message}");
    assert!(!message.to_string().contains("Tea at five"), "the text stays in the widget: {message}");
    assert_eq!(details(&bob, "unread").await, [json!(1)]);
    bob.wait_until(&format!("q({})?.textContent.trim() === '1'", json!(testid("launcher-badge")))).await.unwrap();

    // Reading it brings the count back to zero, and the badge goes.
    bob.eval("Palisade.open()").await.unwrap();
    bob.wait_until("window.details.filter(([n]) => n === 'unread').length === 2").await.unwrap();
    assert_eq!(details(&bob, "unread").await, [json!(1), json!(0)]);
    bob.wait_until(&format!("q({}) === null", json!(testid("launcher-badge")))).await.unwrap();

    // Alice hears about Bob's answer, not about her own message (whose echo came first).
    bob.type_into(&testid("composer"), "Yes").await.unwrap();
    bob.click(&testid("send")).await.unwrap();
    alice.wait_until("window.details.some(([n, d]) => n === 'message' && d.author === 'Bob')").await.unwrap();
    let seen_by_alice = details(&alice, "message").await;
    assert_eq!(seen_by_alice.len(), 1, "only Bob's message: {seen_by_alice:?}");
    assert_eq!(seen_by_alice[0]["seq"], 2);

    for browser in [&alice, &bob] {
        assert_no_csp_violations(browser).await;
    }
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
