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

/// The host page's policy, as strict as a site owner's can be: nothing unless named, scripts and
/// connections only to the page itself (its test scripts) and the chat origin, WebAssembly
/// allowed, nothing inline, and Trusted Types enforced with no policy at all, so any HTML-string
/// sink the widget used would be a violation.
fn csp(chat_origin: &str) -> String {
    let wss = chat_origin.replacen("https://", "wss://", 1);
    format!(
        "default-src 'none'; script-src 'self' {chat_origin} 'wasm-unsafe-eval'; style-src 'self' {chat_origin}; \
         connect-src {chat_origin} {wss}; img-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; \
         frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
    )
}

/// For tests of lazy loading: the page's idle callbacks wait until the test runs them with
/// `palisadeRunIdle()`, so "before the browser was idle" is a state a test can look at.
const HOLD_IDLE_JS: &str = "(() => {\n  \"use strict\";\n  const held = [];\n  \
    window.requestIdleCallback = (callback) => held.push(callback);\n  \
    window.palisadeRunIdle = () => held.splice(0).forEach((callback) => callback());\n})();\n";

/// The loader's tag as the demo page writes it; extra attributes go right after.
const LOADER_SITE: &str = "data-site=\"demo\"";
/// The start of the loader's tag: the page's own scripts that must run first go before it.
const LOADER_TAG: &str = "<script src=\"__PALISADE_SERVER__";
/// The demo page's language, which `lang=…` replaces.
const PAGE_LANG: &str = "<html lang=\"en\">";
/// The page's own stylesheet: stylesheets a test adds come after it, so they win.
const PAGE_STYLESHEET: &str = "<link rel=\"stylesheet\" href=\"demo.css\">";

/// What the query of a request for the page changes in it, as a test wants it.
#[derive(Debug, Default)]
struct PageOptions {
    /// `data-*=value` pairs, as attributes of the loader's script tag.
    attributes: String,
    /// `hold-idle` ([`HOLD_IDLE_JS`]) and `perf-watch` (perf-watch.js): scripts of the page's
    /// own that run before the loader.
    scripts: Vec<&'static str>,
    /// `hostile`: hostile.css, a page whose global styles try to break the widget.
    hostile: bool,
    /// `no-widget`: the page without the loader's tag, to compare the page's own look with.
    no_widget: bool,
    /// `coep=require-corp` or `coep=credentialless`: the page is served cross-origin isolated,
    /// with this Cross-Origin-Embedder-Policy and `Cross-Origin-Opener-Policy: same-origin`.
    embedder_policy: Option<&'static str>,
    /// `lang=…`: the page's `<html lang>`, which the widget speaks unless told otherwise.
    lang: Option<String>,
}

/// Only plain names and values, so the query cannot write markup; `None` otherwise.
fn page_options(query: &[(String, String)]) -> Option<PageOptions> {
    let mut options = PageOptions::default();
    for (name, value) in query {
        match (name.as_str(), value.as_str()) {
            ("hold-idle", _) => options.scripts.push("hold-idle.js"),
            ("perf-watch", _) => options.scripts.push("perf-watch.js"),
            ("hostile", _) => options.hostile = true,
            ("no-widget", _) => options.no_widget = true,
            ("coep", "require-corp") => options.embedder_policy = Some("require-corp"),
            ("coep", "credentialless") => options.embedder_policy = Some("credentialless"),
            ("coep", _) => return None,
            ("lang", lang) if !lang.is_empty() && lang.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') => {
                options.lang = Some(lang.to_owned());
            }
            ("lang", _) => return None,
            _ => {
                // Anything else in a query (a page some flow returns to) is none of this.
                let Some(rest) = name.strip_prefix("data-") else {
                    continue;
                };
                let plain_name = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
                let plain_value =
                    value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'#' | b'-' | b'_' | b'.'));
                if !plain_name || !plain_value {
                    return None;
                }
                options.attributes.push_str(&format!(" {name}=\"{value}\""));
            }
        }
    }
    Some(options)
}

/// The demo page as `options` want it.
fn index_html(text: &str, options: &PageOptions) -> String {
    let mut text = text.replace(LOADER_SITE, &format!("{LOADER_SITE}{}", options.attributes));
    if let Some(lang) = &options.lang {
        text = text.replacen(PAGE_LANG, &format!("<html lang=\"{lang}\">"), 1);
    }
    if options.no_widget
        && let Some(start) = text.find(LOADER_TAG)
        && let Some(length) = text[start..].find("</script>")
    {
        text.replace_range(start..start + length + "</script>".len(), "");
    }
    for script in &options.scripts {
        text = text.replace(LOADER_TAG, &format!("<script src=\"{script}\"></script>\n    {LOADER_TAG}"));
    }
    if options.hostile {
        text = text.replace(
            PAGE_STYLESHEET,
            &format!("{PAGE_STYLESHEET}\n    <link rel=\"stylesheet\" href=\"hostile.css\">"),
        );
    }
    text
}

async fn file(
    page: web::Data<Page>,
    name: Option<web::Path<String>>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let name = name.map_or_else(|| "index.html".to_owned(), web::Path::into_inner);
    let content_type = match name.as_str() {
        "index.html" => "text/html; charset=utf-8",
        "demo.js" | "csp-watch.js" | "hold-idle.js" | "perf-watch.js" => "text/javascript; charset=utf-8",
        "demo.css" | "hostile.css" => "text/css; charset=utf-8",
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
    let mut response = HttpResponse::Ok();
    if name == "index.html" {
        let Some(options) = page_options(&query) else {
            return HttpResponse::BadRequest().body(
                "only data-*=[A-Za-z0-9#._-]*, lang=[A-Za-z-]+, hold-idle, perf-watch, hostile, \
                 no-widget and coep=require-corp|credentialless",
            );
        };
        text = index_html(&text, &options);
        if let Some(policy) = options.embedder_policy {
            response
                .insert_header(("cross-origin-embedder-policy", policy))
                .insert_header(("cross-origin-opener-policy", "same-origin"));
        }
    }
    response
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(query: &[(&str, &str)]) -> Option<PageOptions> {
        page_options(&query.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect::<Vec<_>>())
    }

    fn page(query: &[(&str, &str)]) -> String {
        let text = include_str!("../../widget-app/demo/index.html");
        index_html(text, &options(query).unwrap())
    }

    #[test]
    fn the_query_only_adds_plain_attributes_and_known_variants() {
        assert!(
            page(&[("data-position", "left"), ("utm_source", "<x>")])
                .contains("data-site=\"demo\" data-position=\"left\"")
        );
        for refused in [[("data-position", "\"><script>")], [("data-Position", "left")], [("coep", "unsafe-none")]] {
            assert!(options(&refused).is_none(), "{refused:?}");
        }
        assert_eq!(options(&[("coep", "credentialless")]).and_then(|o| o.embedder_policy), Some("credentialless"));
    }

    #[test]
    fn lang_sets_the_page_language_only_when_plain() {
        assert!(page(&[("lang", "ar-EG")]).contains("<html lang=\"ar-EG\">"));
        for refused in ["ar\"><script>", "", "ar_EG", "de1"] {
            assert!(options(&[("lang", refused)]).is_none(), "{refused:?}");
        }
    }

    #[test]
    fn variants_add_their_files_where_they_must_come() {
        let plain = page(&[]);
        let scripts = page(&[("hold-idle", ""), ("perf-watch", "")]);
        let loader = scripts.find(LOADER_TAG).unwrap();
        assert!(scripts.find("src=\"hold-idle.js\"").is_some_and(|at| at < loader));
        assert!(scripts.find("src=\"perf-watch.js\"").is_some_and(|at| at < loader));
        let hostile = page(&[("hostile", "")]);
        assert!(hostile.find("href=\"demo.css\"").unwrap() < hostile.find("href=\"hostile.css\"").unwrap());
        assert!(!plain.contains("hostile.css") && plain.contains(LOADER_TAG));
        let bare = page(&[("no-widget", "")]);
        assert!(!bare.contains(LOADER_TAG) && !bare.contains("palisade.js"), "{bare}");
        assert_eq!(bare.matches("<script").count(), plain.matches("<script").count() - 1);
    }
}
