//! The demo host page, served from its own origin with a strict Content-Security-Policy, as a
//! site owner's page would be.

use std::net::TcpListener;
use std::path::PathBuf;

use actix_web::http::header;
use actix_web::{App, HttpResponse, HttpServer, web};

struct Page {
    dir: PathBuf,
    chat_origin: String,
    /// The widget loader's `sha384-…`, for the page's script tag.
    loader_integrity: String,
    csp: String,
}

/// The host page's policy: scripts, styles and connections only from itself and the chat
/// origin, WebAssembly allowed, nothing inline, and Trusted Types enforced with no policy at all,
/// so any HTML-string sink the widget used would be a violation.
fn csp(chat_origin: &str) -> String {
    let wss = chat_origin.replacen("https://", "wss://", 1);
    format!(
        "default-src 'self'; script-src 'self' {chat_origin} 'wasm-unsafe-eval'; style-src 'self' {chat_origin}; \
         connect-src {chat_origin} {wss}; img-src 'self' data:; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; \
         require-trusted-types-for 'script'; trusted-types 'none'"
    )
}

/// For tests of lazy loading: the page's idle callbacks wait until the test runs them with
/// `palisadeRunIdle()`, so "before the browser was idle" is a state a test can look at.
const HOLD_IDLE_JS: &str = "(() => {\n  \"use strict\";\n  const held = [];\n  \
    window.requestIdleCallback = (callback) => held.push(callback);\n  \
    window.palisadeRunIdle = () => held.splice(0).forEach((callback) => callback());\n})();\n";

/// The loader's tag as the demo page writes it; extra attributes go right after.
const LOADER_SITE: &str = "data-site=\"demo\"";

/// What the query of a request for the page adds to it, as a test wants it: `data-*=value`
/// pairs become attributes of the loader's script tag, and `hold-idle` adds [`HOLD_IDLE_JS`]
/// before it. Only plain names and values, so the query cannot write markup; `None` otherwise.
fn page_options(query: &[(String, String)]) -> Option<(String, bool)> {
    let mut attributes = String::new();
    let mut hold_idle = false;
    for (name, value) in query {
        if name == "hold-idle" {
            hold_idle = true;
            continue;
        }
        // Anything else in a query (a page some flow returns to) is none of this.
        let Some(rest) = name.strip_prefix("data-") else {
            continue;
        };
        let plain_name = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
        let plain_value = value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'#' | b'-' | b'_' | b'.'));
        if !plain_name || !plain_value {
            return None;
        }
        attributes.push_str(&format!(" {name}=\"{value}\""));
    }
    Some((attributes, hold_idle))
}

async fn file(
    page: web::Data<Page>,
    name: Option<web::Path<String>>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let name = name.map_or_else(|| "index.html".to_owned(), web::Path::into_inner);
    let content_type = match name.as_str() {
        "index.html" => "text/html; charset=utf-8",
        "demo.js" | "csp-watch.js" | "hold-idle.js" => "text/javascript; charset=utf-8",
        "demo.css" => "text/css; charset=utf-8",
        _ => return HttpResponse::NotFound().finish(),
    };
    let text = if name == "hold-idle.js" {
        Ok(HOLD_IDLE_JS.to_owned())
    } else {
        std::fs::read_to_string(page.dir.join(&name))
    };
    let Ok(mut text) = text else {
        return HttpResponse::NotFound().finish();
    };
    if name == "index.html" {
        let Some((attributes, hold_idle)) = page_options(&query) else {
            return HttpResponse::BadRequest().body("only data-*=[A-Za-z0-9#._-]* and hold-idle");
        };
        text = text.replace(LOADER_SITE, &format!("{LOADER_SITE}{attributes}"));
        if hold_idle {
            text = text.replace(
                "<script src=\"__PALISADE_SERVER__",
                "<script src=\"hold-idle.js\"></script>\n    <script src=\"__PALISADE_SERVER__",
            );
        }
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, page.csp.clone()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(
            text.replace("__PALISADE_SERVER__", &page.chat_origin)
                .replace("__PALISADE_LOADER_INTEGRITY__", &page.loader_integrity),
        )
}

pub fn serve(
    listener: TcpListener,
    dir: PathBuf,
    chat_origin: String,
    loader_integrity: String,
) -> std::io::Result<actix_web::dev::Server> {
    let csp = csp(&chat_origin);
    let page = web::Data::new(Page { dir, chat_origin, loader_integrity, csp });
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(page.clone())
            .route(
                "/",
                web::get()
                    .to(|page: web::Data<Page>, query: web::Query<Vec<(String, String)>>| file(page, None, query)),
            )
            .route(
                "/{name}",
                web::get().to(
                    |page: web::Data<Page>, name: web::Path<String>, query: web::Query<Vec<(String, String)>>| {
                        file(page, Some(name), query)
                    },
                ),
            )
    })
    .workers(1)
    .listen(listener)?
    .run())
}
