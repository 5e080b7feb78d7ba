//! What the widget costs a host page and what it looks like, as reports for people rather than
//! assertions: Chromium's own figures for the widget's files and main-thread work, and
//! screenshots of its main screens, written to the artifacts directory
//! (`target/e2e-artifacts`, or `$PALISADE_E2E_ARTIFACTS`). Timings vary with the machine, so
//! none is asserted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_no_csp_violations, connected, delivered, enabled, open_widget, present, register, started};
use palisade_e2e::{Browser, Driver, Stack, artifacts_dir, testid};
use serde_json::{Value, json};

/// The widget's files as Resource Timing names them, by role: the loader, the wasm-bindgen glue,
/// the WebAssembly module and the stylesheet (content-hashed names in a release build).
const ASSETS: [(&str, &str); 4] = [
    ("loader", r"/widget/palisade\.js$"),
    ("glue", r"/widget/palisade-widget(-[0-9a-f]{16})?\.js$"),
    ("wasm", r"/widget/palisade-widget_bg(-[0-9a-f]{16})?\.wasm$"),
    ("css", r"/widget/palisade(-[0-9a-f]{16})?\.css$"),
];

/// The Resource Timing entries of one of [`ASSETS`]; sizes are exposed for these cross-origin
/// files because each is fetched in CORS mode (`transferSize` would also need
/// `Timing-Allow-Origin`).
fn entries_of(pattern: &str) -> String {
    format!(
        "performance.getEntriesByType('resource').filter((e) => new RegExp({pattern}).test(new URL(e.name).pathname)) \
           .map((e) => ({{ path: new URL(e.name).pathname, initiator: e.initiatorType, transferSize: e.transferSize, \
             encodedBodySize: e.encodedBodySize, decodedBodySize: e.decodedBodySize, \
             startTime: Math.round(e.startTime), duration: Math.round(e.duration) }}))",
        pattern = json!(pattern)
    )
}

fn kib(bytes: &Value) -> String {
    format!("{:.1} KiB", bytes.as_f64().unwrap_or_default() / 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_loaded_on_idle_reports_its_weight_and_main_thread_work() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("budgets").await.unwrap();
    // No interaction at all: the app loads because the browser went idle.
    browser.goto(&format!("{}?perf-watch", stack.host_page_url)).await.unwrap();
    browser.wait_until(&format!("window.palisadePerf.readyAt !== null && {}", started())).await.unwrap();

    let assets = ASSETS.map(|(role, pattern)| format!("{}: {}", json!(role), entries_of(pattern))).join(", ");
    let figures = browser
        .eval(&format!(
            "{{ assets: {{ {assets} }}, \
               navigation: (() => {{ const n = performance.getEntriesByType('navigation')[0]; \
                 return {{ domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) }}; }})(), \
               readyAt: Math.round(window.palisadePerf.readyAt), \
               longTasksSupported: window.palisadePerf.longTasksSupported, \
               longTasks: window.palisadePerf.longTasks.map((t) => ({{ startTime: Math.round(t.startTime), \
                 duration: Math.round(t.duration), name: t.name }})), \
               userAgent: navigator.userAgent }}"
        ))
        .await
        .unwrap();

    let mut table = format!(
        "{:<7} {:<58} {:>12} {:>12} {:>12} {:>9}\n",
        "file", "path", "transfer", "encoded", "decoded", "duration"
    );
    let mut total = (0.0, 0.0);
    for (role, _) in ASSETS {
        let entries = figures["assets"][role].as_array().cloned().unwrap_or_default();
        assert_eq!(entries.len(), 1, "{role} is fetched once: {entries:?}");
        let entry = &entries[0];
        assert!(entry["decodedBodySize"].as_u64() > Some(0), "Chromium exposes the size of {role}: {entry}");
        total.0 += entry["encodedBodySize"].as_f64().unwrap_or_default();
        total.1 += entry["decodedBodySize"].as_f64().unwrap_or_default();
        table.push_str(&format!(
            "{role:<7} {:<58} {:>12} {:>12} {:>12} {:>6} ms\n",
            entry["path"].as_str().unwrap_or_default(),
            kib(&entry["transferSize"]),
            kib(&entry["encodedBodySize"]),
            kib(&entry["decodedBodySize"]),
            entry["duration"]
        ));
    }
    table.push_str(&format!("{:<66} {:>12} {:>12}\n", "total", kib(&json!(total.0)), kib(&json!(total.1))));
    let long_tasks = figures["longTasks"].as_array().cloned().unwrap_or_default();
    let durations = long_tasks.iter().filter_map(|t| t["duration"].as_u64());
    table.push_str(&format!(
        "page load {} ms, palisade:ready at {} ms; long tasks (reported: {}): {}, {} ms in all, longest {} ms\n",
        figures["navigation"]["load"],
        figures["readyAt"],
        figures["longTasksSupported"],
        long_tasks.len(),
        durations.clone().sum::<u64>(),
        durations.max().unwrap_or(0),
    ));
    println!("{table}");
    let path = artifacts_dir().unwrap().join("budgets.json");
    std::fs::write(&path, serde_json::to_string_pretty(&figures).unwrap()).unwrap();
    println!("written to {}", path.display());

    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}

/// Saves what the window shows as `<name>.png` in the artifacts directory, once the widget's
/// animations (the panel opening) have finished.
async fn screenshot(browser: &Browser, name: &str) {
    browser.wait_for_animations().await.unwrap();
    let png = browser.client.screenshot().await.unwrap();
    std::fs::write(artifacts_dir().unwrap().join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_screens_are_saved_as_screenshots() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let alice = driver.browser("alice").await.unwrap();
    let bob = driver.browser("bob").await.unwrap();

    alice.goto(&stack.host_page_url).await.unwrap();
    alice.wait_until(&started()).await.unwrap();
    screenshot(&alice, "launcher-closed").await;
    alice.click(&testid("launcher")).await.unwrap();
    alice.wait_until(&format!("{} && !{}", present("auth-form"), present("resuming"))).await.unwrap();
    screenshot(&alice, "sign-in-panel").await;

    register(&stack, &alice, "alice@example.org", "Alice").await;
    open_widget(&bob, Some(&stack.host_page_url)).await;
    register(&stack, &bob, "bob@example.org", "Bob").await;
    for (from, text) in [
        (&alice, "Hi Bob! Is the Alishan oolong back in stock?"),
        (&bob, "Hi Alice, yes: the spring harvest arrived on Monday."),
        (&alice, "Lovely, I'll order 75 g."),
    ] {
        from.type_into(&testid("composer"), text).await.unwrap();
        from.click(&testid("send")).await.unwrap();
        alice.wait_until(&delivered(text)).await.unwrap();
    }
    screenshot(&alice, "conversation").await;

    alice.click(&testid("account")).await.unwrap();
    alice.wait_until(&enabled("mfa-setup")).await.unwrap();
    screenshot(&alice, "account-panel").await;
    alice.click(&testid("account-back")).await.unwrap();
    alice.wait_until(&connected()).await.unwrap();

    for browser in [&alice, &bob] {
        assert_no_csp_violations(browser).await;
    }
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
