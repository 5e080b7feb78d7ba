//! The page the popup ends on. It carries no inline script (the CSP forbids it): the data sits in
//! `data-` attributes and our own static script posts it to `window.opener`, with the exact
//! origin the transaction was started for as `targetOrigin`, so no other page can read it.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

pub const SCRIPT_PATH: &str = "/api/v1/auth/oauth/popup.js";

/// Reads the page's data and posts it once. Nothing is written to the DOM (Trusted Types are
/// enforced on this page). The popup closes itself only on success, so a failure stays readable.
pub const SCRIPT: &str = r#""use strict";
(function () {
  var el = document.getElementById("palisade-oauth");
  if (!el || !window.opener) { return; }
  var origin = el.getAttribute("data-origin");
  if (!origin) { return; }
  var message = {
    type: "palisade-oauth",
    site: el.getAttribute("data-site"),
    provider: el.getAttribute("data-provider")
  };
  var code = el.getAttribute("data-code");
  var linked = el.getAttribute("data-linked") === "true";
  if (code) { message.code = code; } else if (linked) { message.linked = true; }
  else { message.error = el.getAttribute("data-error") || "failed"; }
  window.opener.postMessage(message, origin);
  if (code || linked) { window.close(); }
})();
"#;

/// Where the result goes: only known once a transaction (and so a checked origin) is found.
#[derive(Debug)]
pub struct Post<'a> {
    pub origin: &'a str,
    pub site: &'a str,
    pub provider: &'a str,
    pub result: Posted<'a>,
}

#[derive(Debug, Clone, Copy)]
pub enum Posted<'a> {
    /// The one-time login code.
    Code(&'a str),
    /// A provider was linked to the signed-in account.
    Linked,
    /// A short reason.
    Error(&'a str),
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(status: StatusCode, title: &str, message: &str, post: Option<&Post<'_>>) -> HttpResponse {
    let mut data = String::new();
    if let Some(post) = post {
        data.push_str(&format!(
            " data-origin=\"{}\" data-site=\"{}\" data-provider=\"{}\"",
            escape(post.origin),
            escape(post.site),
            escape(post.provider)
        ));
        match post.result {
            Posted::Code(code) => data.push_str(&format!(" data-code=\"{}\"", escape(code))),
            Posted::Linked => data.push_str(" data-linked=\"true\""),
            Posted::Error(reason) => data.push_str(&format!(" data-error=\"{}\"", escape(reason))),
        }
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><script src=\"{SCRIPT_PATH}\" defer></script></head>\
         <body><main id=\"palisade-oauth\"{data}><h1>{title}</h1><p>{message}</p></main></body></html>\n",
        title = escape(title),
        message = escape(message),
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_attributes_and_text() {
        assert_eq!(escape("\"><script>&'"), "&quot;&gt;&lt;script&gt;&amp;&#39;");
    }
}
