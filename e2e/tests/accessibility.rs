//! Accessibility of the widget on the demo host page: axe-core finds nothing serious in any of
//! its screens, in either theme; the keyboard focus stays in the open panel and goes back to
//! the launcher on closing; and a message from someone else is announced once.
//!
//! axe-core comes from the workspace's npm packages (`npm ci`, run by `cargo xtask setup`) and
//! is injected through WebDriver, whose scripts the page's Content-Security-Policy does not
//! govern.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_no_csp_violations, connected, open_widget, present, register, started};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::{Value, json};

const TAB: char = '\u{e004}';
const SHIFT: char = '\u{e008}';
const ESCAPE: char = '\u{e00c}';

const PANEL_OPEN: &str = "q('#palisade-panel')?.hidden === false";
const PANEL_CLOSED: &str = "q('#palisade-panel')?.hidden === true";

/// Runs axe over the widget (its host element and the shadow root inside) and returns the
/// violations, each with the elements it found.
const AXE_RUN: &str = "const done = arguments[arguments.length - 1]; \
    axe.run({ include: [['#palisade-widget']] }, { resultTypes: ['violations'] }) \
      .then((r) => done(r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, \
        nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })) })))) \
      .catch((e) => done({ error: String(e) }));";

fn axe_source() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; install the npm packages (cargo xtask setup, or npm ci)", path.display()))
}

/// Records each CSP violation from now on into `window.cspSeen` as `[directive, source file]`.
const RECORD_CSP_VIOLATIONS: &str = "(window.cspSeen = [], document.addEventListener('securitypolicyviolation', \
    (e) => window.cspSeen.push([e.violatedDirective, e.sourceFile])), true)";

/// What axe found on one screen in both themes, printed in full; the serious and critical ones
/// are added to `failures`.
async fn audit(browser: &Browser, screen: &str, failures: &mut Vec<String>) {
    if browser.eval("typeof window.axe").await.unwrap() != json!("object") {
        // axe adds a <style> of its own, which the page's CSP refuses (and axe does without);
        // those are told apart from the widget's by their source, a WebDriver script.
        assert_no_csp_violations(browser).await;
        browser.eval(RECORD_CSP_VIOLATIONS).await.unwrap();
        browser.client.execute(&axe_source(), vec![]).await.unwrap();
    }
    for theme in ["light", "dark"] {
        browser.eval(&format!("window.Palisade.setTheme('{theme}')")).await.unwrap();
        browser.wait_until(&format!("q('.palisade')?.dataset.theme === '{theme}'")).await.unwrap();
        browser.wait_for_animations().await.unwrap();
        let found = browser.client.execute_async(AXE_RUN, vec![]).await.unwrap();
        let Value::Array(violations) = found else { panic!("axe did not run: {found}") };
        for violation in violations {
            let line = format!("{screen} ({theme}): {violation}");
            println!("axe: {line}");
            if matches!(violation["impact"].as_str(), Some("serious" | "critical")) {
                failures.push(line);
            }
        }
    }
    browser.eval("window.Palisade.setTheme('auto')").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_nothing_serious_on_any_screen_in_either_theme() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let alice = driver.browser("alice").await.unwrap();
    let bob = driver.browser("bob").await.unwrap();
    let mut failures = Vec::new();

    alice.goto(&stack.host_page_url).await.unwrap();
    alice.wait_until(&started()).await.unwrap();
    audit(&alice, "launcher", &mut failures).await;

    alice.click(&testid("launcher")).await.unwrap();
    alice.wait_until(&present("auth-form")).await.unwrap();
    audit(&alice, "sign-in panel", &mut failures).await;

    register(&stack, &alice, "alice@example.org", "Alice").await;
    open_widget(&bob, Some(&stack.host_page_url)).await;
    register(&stack, &bob, "bob@example.org", "Bob").await;
    for (browser, text) in [(&bob, "Hello Alice, **welcome**!"), (&alice, "Thanks Bob, see https://example.org")] {
        browser.type_into(&testid("composer"), text).await.unwrap();
        browser.click(&testid("send")).await.unwrap();
    }
    alice.wait_until(&format!("qa({}).length === 2", json!(testid("message")))).await.unwrap();
    alice.wait_until(&format!("qa({}).every((m) => m.dataset.seq)", json!(testid("message")))).await.unwrap();
    audit(&alice, "conversation", &mut failures).await;

    alice.click(&testid("account")).await.unwrap();
    alice.wait_until(&present("account-panel")).await.unwrap();
    alice.wait_until(&present("session")).await.unwrap();
    audit(&alice, "account panel", &mut failures).await;

    // Whatever the page's CSP refused after axe came in was axe's own doing.
    let csp = alice.eval("window.cspSeen").await.unwrap();
    println!("CSP violations while axe ran: {csp}");
    let widgets = alice
        .eval(
            "window.cspSeen.filter(([_, source]) => source !== '').length + \
               Number(document.documentElement.dataset.cspViolations) - window.cspSeen.length",
        )
        .await
        .unwrap();
    assert_eq!(widgets, json!(0), "CSP violations other than axe's: {csp}");
    assert!(failures.is_empty(), "serious or critical accessibility violations:\n{}", failures.join("\n"));
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}

/// Presses `keys` together (a modifier first) wherever the focus is, as a person would.
async fn press(browser: &Browser, keys: &[char]) {
    let mut actions = KeyActions::new("keyboard".into());
    for &key in keys {
        actions = actions.then(KeyAction::Down { value: key });
    }
    for &key in keys.iter().rev() {
        actions = actions.then(KeyAction::Up { value: key });
    }
    browser.client.perform_actions(actions).await.unwrap();
}

/// The open panel's controls that Tab reaches, as the browser lays them out.
const CONTROLS: &str = "qa('#palisade-panel :is(a[href], button:not([disabled]), input:not([disabled]), \
    textarea:not([disabled]), [tabindex]:not([tabindex=\"-1\"]))').filter((e) => e.getClientRects().length > 0)";

fn focused_is(expression: &str) -> String {
    format!("root.activeElement !== null && root.activeElement === ({expression})")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_focus_stays_in_the_open_panel_and_returns_to_the_launcher() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("keyboard").await.unwrap();
    open_widget(&browser, Some(&stack.host_page_url)).await;

    // Opening puts the focus in the first field, ready to type.
    browser.wait_until(&focused_is(&format!("q({})", json!(testid("email"))))).await.unwrap();

    // Tab from the last control wraps to the first, Shift+Tab from the first to the last.
    let count = browser.eval(&format!("{CONTROLS}.length")).await.unwrap();
    assert!(count.as_u64().unwrap() >= 3, "the sign-in panel has controls: {count}");
    browser.eval(&format!("{CONTROLS}.at(-1).focus()")).await.unwrap();
    press(&browser, &[TAB]).await;
    browser.wait_until(&focused_is(&format!("{CONTROLS}[0]"))).await.unwrap();
    press(&browser, &[SHIFT, TAB]).await;
    browser.wait_until(&focused_is(&format!("{CONTROLS}.at(-1)"))).await.unwrap();
    // In the middle, Tab is the browser's own.
    browser.eval(&format!("{CONTROLS}[0].focus()")).await.unwrap();
    press(&browser, &[TAB]).await;
    browser.wait_until(&focused_is(&format!("{CONTROLS}[1]"))).await.unwrap();

    // Escape closes the panel and the focus goes back to the launcher.
    press(&browser, &[ESCAPE]).await;
    browser.wait_until(PANEL_CLOSED).await.unwrap();
    browser.wait_until(&focused_is(&format!("q({})", json!(testid("launcher"))))).await.unwrap();

    // So does the panel's close button.
    press(&browser, &[' ']).await;
    browser.wait_until(PANEL_OPEN).await.unwrap();
    browser.wait_until(&focused_is(&format!("q({})", json!(testid("email"))))).await.unwrap();
    browser.click("#palisade-panel .view:not([hidden]) .panel-header button:last-child").await.unwrap();
    browser.wait_until(PANEL_CLOSED).await.unwrap();
    browser.wait_until(&focused_is(&format!("q({})", json!(testid("launcher"))))).await.unwrap();

    // Opened by the page, the panel gives the focus back to the page's own control.
    browser
        .eval(
            "(() => { const b = document.createElement('button'); b.id = 'page-opener'; b.textContent = 'Chat'; \
             document.body.append(b); b.focus(); window.Palisade.open(); return true; })()",
        )
        .await
        .unwrap();
    browser.wait_until(PANEL_OPEN).await.unwrap();
    browser.wait_until(&focused_is(&format!("q({})", json!(testid("email"))))).await.unwrap();
    press(&browser, &[ESCAPE]).await;
    browser.wait_until(PANEL_CLOSED).await.unwrap();
    browser.wait_until("document.activeElement?.id === 'page-opener'").await.unwrap();

    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_from_someone_else_is_announced_once() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let (alice, bob) = common::alice_and_bob(&stack, &driver).await;
    let announced = format!("(q({})?.textContent ?? null)", json!(testid("announcer")));

    // The list itself is not a live region: the announcer is the only one that reads messages.
    let live_list = alice
        .eval(&format!(
            "q({0}).closest('[aria-live]') !== null || q({0}).getAttribute('role') === 'log'",
            json!(testid("message-list"))
        ))
        .await
        .unwrap();
    assert_eq!(live_list, json!(false), "the message list would announce a second time");

    bob.type_into(&testid("composer"), "Hi **Alice**").await.unwrap();
    bob.click(&testid("send")).await.unwrap();
    alice.wait_until(&format!("{announced} === 'New message from Bob: Hi Alice'")).await.unwrap();
    // One's own message is not announced back.
    bob.wait_until(&format!("qa({}).every((m) => m.dataset.seq)", json!(testid("message")))).await.unwrap();
    assert_eq!(bob.eval(&announced).await.unwrap(), json!(""));

    // The same words again are a new announcement (a new node), not an unchanged text.
    let paragraph = format!("q({})", json!(format!("{} p", testid("announcer"))));
    alice.eval(&format!("(window.firstAnnouncement = {paragraph}) !== null")).await.unwrap();
    bob.type_into(&testid("composer"), "Hi **Alice**").await.unwrap();
    bob.click(&testid("send")).await.unwrap();
    alice
        .wait_until(&format!(
            "{paragraph} !== window.firstAnnouncement && {announced} === 'New message from Bob: Hi Alice'"
        ))
        .await
        .unwrap();

    // History loaded on opening is not news.
    open_widget(&alice, None).await;
    alice.wait_until(&connected()).await.unwrap();
    alice.wait_until(&format!("qa({}).length === 2", json!(testid("message")))).await.unwrap();
    assert_eq!(alice.eval(&announced).await.unwrap(), json!(""));

    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
