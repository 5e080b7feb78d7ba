//! Signing in with a provider from the demo host page: the widget's button opens a popup on the
//! chat server, which goes to a real OpenID provider (oauth2-mock-server, which answers without
//! a login form) and back; the server's last page posts a one-time code to the host page, and
//! the widget redeems it with its PKCE verifier. An account with a second factor gets the code
//! step, as after a password. A refusal at the provider is told in the widget and signs nobody
//! in.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{assert_no_csp_violations, code, connected, enabled, open_widget, present, set_up_authenticator};
use palisade_e2e::{Browser, Driver, MockProvider, PROVIDER_ID, PROVIDER_LABEL, Stack, testid};
use serde_json::json;

async fn with_provider() -> (Stack, MockProvider) {
    let provider = MockProvider::start().await.unwrap();
    let stack = Stack::start_with(|config| {
        provider.configure(config);
        // A provider sign-in takes three requests of the per-address sign-in budget (start,
        // callback, exchange), and these tests sign in two or three times within seconds.
        config.auth_burst = std::num::NonZeroU32::new(100).unwrap();
    })
    .await
    .unwrap();
    (stack, provider)
}

/// The provider's button, once the widget has the list (and its PKCE pair) ready.
async fn provider_button(browser: &Browser) -> String {
    let button = testid("oauth-provider");
    browser.wait_until(&enabled("oauth-provider")).await.unwrap();
    assert_eq!(browser.text(&button).await.unwrap().as_deref(), Some(PROVIDER_LABEL));
    assert_eq!(browser.eval(&format!("q({})?.dataset.provider", json!(button))).await.unwrap(), PROVIDER_ID);
    button
}

/// How many windows the browser has open: the host page, plus the popup while it is open.
async fn windows(browser: &Browser) -> usize {
    browser.client.windows().await.unwrap().len()
}

async fn wait_for_windows(browser: &Browser, wanted: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while windows(browser).await != wanted {
        assert!(Instant::now() < deadline, "expected {wanted} window(s), there are {}", windows(browser).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_a_provider_in_a_popup() {
    let (stack, mut provider) = with_provider().await;
    provider.mode(json!({"claims": {"name": "Frank Provider"}})).await.unwrap();
    let driver = Driver::start().unwrap();
    let frank = driver.browser("frank").await.unwrap();

    open_widget(&frank, Some(&stack.host_page_url)).await;
    let button = provider_button(&frank).await;
    frank.click(&button).await.unwrap();

    // No interaction: the popup goes to the provider and back, posts the code and closes
    // itself; the widget signs in with the name the provider gave.
    frank.wait_until(&connected()).await.unwrap();
    frank
        .wait_until(&format!("q({})?.textContent === 'Signed in as Frank Provider'", json!(testid("whoami"))))
        .await
        .unwrap();
    wait_for_windows(&frank, 1).await;

    // The session is an ordinary one: the refresh cookie the exchange set resumes it.
    open_widget(&frank, None).await;
    frank.wait_until(&connected()).await.unwrap();
    assert_eq!(frank.eval(&present("auth-form")).await.unwrap(), json!(false));

    assert_no_csp_violations(&frank).await;
    frank.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_refused_at_the_provider_is_told_and_signs_nobody_in() {
    let (stack, mut provider) = with_provider().await;
    provider.mode(json!({"authorize_error": "access_denied"})).await.unwrap();
    let driver = Driver::start().unwrap();
    let grace = driver.browser("grace").await.unwrap();

    open_widget(&grace, Some(&stack.host_page_url)).await;
    let button = provider_button(&grace).await;
    grace.click(&button).await.unwrap();

    grace.wait_until(&present("auth-error")).await.unwrap();
    let told = grace.text(&testid("auth-error")).await.unwrap().unwrap();
    assert_eq!(told, format!("Signing in with {PROVIDER_LABEL} was cancelled. Nothing was changed."));
    assert_eq!(grace.eval(&present("chat")).await.unwrap(), json!(false));
    assert_eq!(grace.eval(&present("auth-form")).await.unwrap(), json!(true));
    // The popup stays open on its explanation; the widget is ready for another try.
    assert_eq!(windows(&grace).await, 2);
    grace.wait_until(&enabled("oauth-provider")).await.unwrap();

    // Nothing was created: a reload finds no session.
    open_widget(&grace, None).await;
    assert_eq!(grace.eval(&present("auth-form")).await.unwrap(), json!(true));

    // Once the provider agrees, the same window is used again and the sign-in goes through.
    provider.mode(json!({})).await.unwrap();
    let button = provider_button(&grace).await;
    grace.click(&button).await.unwrap();
    grace.wait_until(&connected()).await.unwrap();
    wait_for_windows(&grace, 1).await;

    assert_no_csp_violations(&grace).await;
    grace.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_sign_in_asks_for_the_second_factor_the_account_has() {
    let (stack, _provider) = with_provider().await;
    let driver = Driver::start().unwrap();
    let hana = driver.browser("hana").await.unwrap();

    open_widget(&hana, Some(&stack.host_page_url)).await;
    let button = provider_button(&hana).await;
    hana.click(&button).await.unwrap();
    hana.wait_until(&connected()).await.unwrap();
    let (secret, spent) = set_up_authenticator(&hana).await;
    hana.click(&testid("sign-out")).await.unwrap();
    hana.wait_until(&present("auth-form")).await.unwrap();

    // The provider vouches for who she is; the account still wants its second factor.
    let button = provider_button(&hana).await;
    hana.click(&button).await.unwrap();
    hana.wait_until(&present("mfa-code")).await.unwrap();
    assert_eq!(hana.eval(&present("chat")).await.unwrap(), json!(false));
    hana.type_into(&testid("mfa-code"), &code(&secret, spent + 1)).await.unwrap();
    hana.click(&testid("mfa-submit")).await.unwrap();
    hana.wait_until(&connected()).await.unwrap();

    assert_no_csp_violations(&hana).await;
    hana.close().await.unwrap();
}
