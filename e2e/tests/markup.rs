//! Message bodies in the safe-markup subset: what the parser recognises becomes elements, a link
//! only with a safe URL and attributes that keep the host page out of reach, and everything else
//! (HTML, other link schemes) stays visible text.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{alice_and_bob, assert_no_csp_violations};
use palisade_e2e::{Browser, Driver, Stack, testid};
use serde_json::{Value, json};

/// Longer than any bubble is wide: the code block must scroll rather than widen the bubble.
const LONG_CODE_LINE: &str = "fn main() { println!(\"a line of code much too long to fit into a chat bubble of the widget's panel, even on a wide screen\"); }";

/// WebDriver's Shift down, Enter, all keys up: a new line in the composer, which Enter alone
/// would send.
const NEW_LINE: &str = "\u{e008}\u{e007}\u{e000}";

fn body_text() -> String {
    format!(
        "**bold** and _it_ with `code`, [site](https://example.com/a) and [bad](javascript:alert(1)) \
         <img src=x onerror=alert(1)>\n```\n{LONG_CODE_LINE}\n```"
    )
}

/// What the bubble reads once rendered: the delimiters are gone, the refused link and the HTML
/// are there as typed.
fn shown_text() -> String {
    format!("bold and it with code, site and [bad](javascript:alert(1)) <img src=x onerror=alert(1)>{LONG_CODE_LINE}")
}

/// The message whose body shows `text`.
fn message_showing(text: &str) -> String {
    format!(
        "qa({}).find((m) => m.querySelector({})?.textContent === {})",
        json!(testid("message")),
        json!(testid("message-body")),
        json!(text)
    )
}

/// The rendered body of the stored message showing `text`, described for assertions.
async fn rendered(browser: &Browser, text: &str) -> Value {
    let message = message_showing(text);
    browser.wait_until(&format!("{message}?.dataset.seq === '1'")).await.unwrap();
    let script = format!(
        "(() => {{
            const m = {message};
            const b = m.querySelector({body});
            const all = [...b.querySelectorAll('*')];
            const links = [...b.querySelectorAll('a')];
            const pre = b.querySelector('pre');
            const list = q({list}).getBoundingClientRect();
            return {{
                tags: all.map((e) => e.tagName.toLowerCase()),
                strong: b.querySelector('p > strong')?.textContent,
                em: b.querySelector('p > em')?.textContent,
                code: b.querySelector('p > code')?.textContent,
                pre: b.querySelector('pre > code')?.textContent,
                links: links.map((a) => ({{ href: a.getAttribute('href'), rel: a.getAttribute('rel'), target: a.getAttribute('target'), text: a.textContent }})),
                images: m.querySelectorAll('img').length,
                handlers: all.flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => n.startsWith('on')),
                paragraph: b.querySelector('p')?.textContent,
                code_scrolls: pre.scrollWidth > pre.clientWidth,
                bubble_inside: b.getBoundingClientRect().right <= list.right + 0.5,
            }};
        }})()",
        body = json!(testid("message-body")),
        list = json!(testid("message-list")),
    );
    browser.eval(&script).await.unwrap()
}

fn assert_rendered_safely(who: &str, rendered: &Value) {
    assert_eq!(rendered["tags"], json!(["p", "strong", "em", "code", "a", "pre", "code"]), "{who}: {rendered}");
    assert_eq!(rendered["strong"], "bold", "{who}: {rendered}");
    assert_eq!(rendered["em"], "it", "{who}: {rendered}");
    assert_eq!(rendered["code"], "code", "{who}: {rendered}");
    assert_eq!(rendered["pre"], LONG_CODE_LINE, "{who}: {rendered}");
    assert_eq!(
        rendered["links"],
        json!([{ "href": "https://example.com/a", "rel": "noopener noreferrer nofollow", "target": "_blank", "text": "site" }]),
        "{who}: only the https link is a link: {rendered}"
    );
    assert_eq!(rendered["images"], 0, "{who}: HTML in a body must stay text: {rendered}");
    assert_eq!(rendered["handlers"], json!([]), "{who}: {rendered}");
    let paragraph = rendered["paragraph"].as_str().unwrap_or_default();
    assert!(
        paragraph.ends_with(" and [bad](javascript:alert(1)) <img src=x onerror=alert(1)>"),
        "{who}: the refused link and the HTML are shown as typed: {rendered}"
    );
    assert_eq!(rendered["code_scrolls"], true, "{who}: a long code line scrolls: {rendered}");
    assert_eq!(rendered["bubble_inside"], true, "{who}: the bubble stays inside the list: {rendered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_a_body_is_rendered_as_safe_elements_and_the_rest_as_text() {
    let stack = Stack::start().await.unwrap();
    let driver = Driver::start().unwrap();
    let (alice, bob) = alice_and_bob(&stack, &driver).await;

    alice.type_into(&testid("composer"), &body_text().replace('\n', NEW_LINE)).await.unwrap();
    alice.click(&testid("send")).await.unwrap();

    let shown = shown_text();
    assert_rendered_safely("Bob's widget", &rendered(&bob, &shown).await);
    assert_rendered_safely("Alice's own bubble", &rendered(&alice, &shown).await);

    // Editing starts from what she typed, delimiters and all, not from what is shown.
    let own = format!("{}[data-seq=\"1\"]", testid("message"));
    alice.click(&format!("{own} {}", testid("edit-message"))).await.unwrap();
    let field = format!("{own} {}", testid("edit-field"));
    alice.wait_until(&format!("q({})?.value === {}", json!(field), json!(body_text()))).await.unwrap();

    for browser in [&alice, &bob] {
        assert_no_csp_violations(browser).await;
    }
    alice.close().await.unwrap();
    bob.close().await.unwrap();
}
