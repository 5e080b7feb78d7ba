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

async fn file(page: web::Data<Page>, name: Option<web::Path<String>>) -> HttpResponse {
    let name = name.map_or_else(|| "index.html".to_owned(), web::Path::into_inner);
    let content_type = match name.as_str() {
        "index.html" => "text/html; charset=utf-8",
        "demo.js" | "csp-watch.js" => "text/javascript; charset=utf-8",
        "demo.css" => "text/css; charset=utf-8",
        _ => return HttpResponse::NotFound().finish(),
    };
    match std::fs::read_to_string(page.dir.join(&name)) {
        Ok(text) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type))
            .insert_header((header::CONTENT_SECURITY_POLICY, page.csp.clone()))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(
                text.replace("__PALISADE_SERVER__", &page.chat_origin)
                    .replace("__PALISADE_LOADER_INTEGRITY__", &page.loader_integrity),
            ),
        Err(_) => HttpResponse::NotFound().finish(),
    }
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
            .route("/", web::get().to(|page: web::Data<Page>| file(page, None)))
            .route("/{name}", web::get().to(|page: web::Data<Page>, name: web::Path<String>| file(page, Some(name))))
    })
    .workers(1)
    .listen(listener)?
    .run())
}
