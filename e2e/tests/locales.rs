//! The widget speaks English, German and Arabic: as `data-locale` says, else as the host page's
//! `<html lang>` says (the harness's `lang` query), and as `Palisade.setLocale()` says at any
//! time, without a reload. Arabic is laid out right to left.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_no_csp_violations, present};
use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::{Value, json};

/// Loads the host page with `query` and the panel open on the sign-in form.
async fn sign_in_screen(stack: &Stack, browser: &Browser, query: &str) {
    browser.goto(&format!("{}?data-open&{query}", stack.host_page_url)).await.unwrap();
    browser.wait_until(&format!("q('#palisade-panel')?.hidden === false && {}", present("auth-submit"))).await.unwrap();
}

/// The root's language and direction, a few texts of the sign-in form, and where the header's
/// title and close button sit (left edges, in px) and its padding on either side.
async fn look(browser: &Browser) -> Value {
    browser
        .eval(&format!(
            "(() => {{ const root = q('.palisade'); const header = q('.panel-header'); \
               const padding = getComputedStyle(header); \
               return {{ lang: root.lang, dir: root.dir, submit: q({submit}).textContent, \
                 title: header.querySelector('.title').textContent, \
                 close: header.querySelector('.icon-button').getAttribute('aria-label'), \
                 titleLeft: header.querySelector('.titles').getBoundingClientRect().left, \
                 closeLeft: header.querySelector('.icon-button').getBoundingClientRect().left, \
                 padding: [padding.paddingLeft, padding.paddingRight] }}; }})()",
            submit = json!(testid("auth-submit"))
        ))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_locale_picks_the_language() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("locale-attribute").await.unwrap();

    // The tag matches by language; it wins over the page's own `lang`.
    sign_in_screen(&stack, &browser, "data-locale=de-AT&lang=ar").await;
    let german = look(&browser).await;
    assert_eq!(
        [&german["lang"], &german["dir"], &german["submit"], &german["title"], &german["close"]],
        ["de", "ltr", "Anmelden", "Zum Chatten anmelden", "Chat schließen"],
        "{german}"
    );
    assert_no_csp_violations(&browser).await;

    // An unsupported value is reported and the next source used: here the page's English.
    sign_in_screen(&stack, &browser, "data-locale=fr").await;
    let english = look(&browser).await;
    assert_eq!([&english["lang"], &english["submit"]], ["en", "Sign in"], "{english}");
    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arabic_page_gets_an_arabic_widget_laid_out_right_to_left() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("locale-rtl").await.unwrap();

    sign_in_screen(&stack, &browser, "").await;
    let ltr = look(&browser).await;
    assert_eq!([&ltr["lang"], &ltr["dir"], &ltr["submit"]], ["en", "ltr", "Sign in"], "{ltr}");

    sign_in_screen(&stack, &browser, "lang=ar-EG").await;
    let rtl = look(&browser).await;
    assert_eq!(
        [&rtl["lang"], &rtl["dir"], &rtl["submit"], &rtl["title"], &rtl["close"]],
        ["ar", "rtl", "تسجيل الدخول", "سجّل الدخول للدردشة", "إغلاق الدردشة"],
        "{rtl}"
    );
    // The header reads from the right: the close button is left of the title, and the wider
    // padding (before the title) is on the right.
    let left = |look: &Value, key: &str| look[key].as_f64().unwrap();
    assert!(left(&ltr, "titleLeft") < left(&ltr, "closeLeft"), "{ltr}");
    assert!(left(&rtl, "closeLeft") < left(&rtl, "titleLeft"), "{rtl}");
    assert_eq!(ltr["padding"], json!(["18px", "10px"]));
    assert_eq!(rtl["padding"], json!(["10px", "18px"]));
    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_locale_switches_the_language_without_a_reload() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let browser = driver.browser("locale-api").await.unwrap();

    sign_in_screen(&stack, &browser, "").await;
    browser.eval("window.sameDocument = true").await.unwrap();
    let submit = json!(testid("auth-submit"));
    browser.eval("Palisade.setLocale('de')").await.unwrap();
    browser
        .wait_until(&format!("q({submit}).textContent === 'Anmelden' && q('.palisade').lang === 'de'"))
        .await
        .unwrap();

    browser.eval("Palisade.setLocale('ar-EG')").await.unwrap();
    browser
        .wait_until(&format!("q({submit}).textContent === 'تسجيل الدخول' && q('.palisade').dir === 'rtl'"))
        .await
        .unwrap();

    // Not a language the widget speaks: reported on the console, and nothing changes.
    for unsupported in ["xx", "fr-FR", ""] {
        browser.eval(&format!("Palisade.setLocale({})", json!(unsupported))).await.unwrap();
    }
    browser.eval("window.calledAt = performance.now()").await.unwrap();
    browser.wait_until("performance.now() - window.calledAt > 300").await.unwrap();
    let after = browser
        .eval(&format!(
            "[window.sameDocument, q('.palisade').lang, q('.palisade').dir, q({submit}).textContent, \
              q('#palisade-email').labels[0].textContent]"
        ))
        .await
        .unwrap();
    assert_eq!(after, json!([true, "ar", "rtl", "تسجيل الدخول", "البريد الإلكتروني"]));

    // And back, still without a reload.
    browser.eval("Palisade.setLocale('en-GB')").await.unwrap();
    browser
        .wait_until(&format!("q({submit}).textContent === 'Sign in' && q('.palisade').dir === 'ltr'"))
        .await
        .unwrap();
    assert_eq!(browser.eval("window.sameDocument").await.unwrap(), true);
    assert_no_csp_violations(&browser).await;
    browser.close().await.unwrap();
}
