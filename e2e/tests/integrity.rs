//! The host page pins the loader and the loader pins the rest: a widget file changed on the
//! server after the build stops the widget from starting, in Chromium, on the demo host page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{present, started};
use palisade_e2e::{Driver, Stack};

/// A copy of the release build with the one file whose name starts with `prefix` and ends
/// with `ext` changed by a byte or so, or untouched when `prefix` is empty. The changed file's
/// brotli copy is left out, so the server sends the changed bytes to a browser that accepts
/// brotli too, as it would if someone changed both.
fn widget_copy(prefix: &str, ext: &str) -> tempfile::TempDir {
    let built = std::env::var_os("PALISADE_E2E_WIDGET_DIR").expect("PALISADE_E2E_WIDGET_DIR");
    let copy = tempfile::tempdir().unwrap();
    let mut changed = 0;
    for entry in std::fs::read_dir(&built).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let targeted = |name: &str| !prefix.is_empty() && name.starts_with(prefix) && name != "palisade.js";
        if name.strip_suffix(".br").is_some_and(|plain| targeted(plain) && plain.ends_with(ext)) {
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        // `palisade-` also starts the glue's and the wasm's names: the extension tells them apart.
        if targeted(&name) && name.ends_with(ext) {
            bytes.extend_from_slice(if ext == ".wasm" { b"\0" } else { b"\n/* changed */\n" });
            changed += 1;
        }
        std::fs::write(copy.path().join(&name), bytes).unwrap();
    }
    assert_eq!(changed, usize::from(!prefix.is_empty()), "exactly one file changed for {prefix}*{ext}");
    copy
}

async fn start_with_widget(dir: &Path) -> Stack {
    let dir = dir.to_owned();
    Stack::start_with(move |config| config.widget_dir = dir).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_file_changed_after_the_build_does_not_run() {
    let driver = Driver::start().unwrap();

    // The copy itself is faithful: untouched, it starts.
    let untouched = widget_copy("", "");
    let stack = start_with_widget(untouched.path()).await;
    let browser = driver.browser("untouched").await.unwrap();
    browser.goto(&stack.host_page_url).await.unwrap();
    browser.wait_until(&started()).await.unwrap();
    browser.close().await.unwrap();

    for (prefix, ext, says) in [
        ("palisade-widget-", ".js", "integrity"),
        ("palisade-widget_bg-", ".wasm", "failed to start"),
        ("palisade-", ".css", "integrity"),
    ] {
        let changed = widget_copy(prefix, ext);
        let stack = start_with_widget(changed.path()).await;
        let browser = driver.browser(&format!("changed{ext}")).await.unwrap();
        browser.goto(&stack.host_page_url).await.unwrap();
        // The demo page shows the loader's palisade:error message.
        browser
            .wait_until("!document.getElementById('palisade-demo-notice').hidden")
            .await
            .unwrap_or_else(|e| panic!("a changed {ext} file went unnoticed: {e}"));
        let notice = browser.eval("document.getElementById('palisade-demo-notice-text').textContent").await.unwrap();
        assert!(notice.as_str().unwrap().contains(says), "{ext}: {notice}");
        let running = browser.eval(&format!("{} || {}", started(), present("launcher"))).await.unwrap();
        assert_eq!(running, false, "with a changed {ext} file the widget must not start, nor leave its launcher");
        browser.close().await.unwrap();
    }
}
