//! A tiny std-only HTTP/1.1 server for the demo host page (widget-app/demo), on an origin of
//! its own so that the widget runs cross-origin to the chat server, as on a customer's site.
//!
//! GET and HEAD only; files inside the demo directory only (no traversal, no dotfiles, no
//! symlinks leading out); a Content-Type with charset for text; `__PALISADE_SERVER__` in HTML
//! replaced with the chat server origin; a strict CSP, nosniff and Referrer-Policy.

use std::fs;
use std::io::{BufRead, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

/// The placeholder in the demo's HTML that becomes the chat server origin.
pub const PLACEHOLDER: &str = "__PALISADE_SERVER__";
/// The placeholder that becomes the loader's Subresource Integrity hash.
pub const INTEGRITY_PLACEHOLDER: &str = "__PALISADE_LOADER_INTEGRITY__";
const MAX_REQUEST_HEAD: u64 = 16 * 1024;

/// What the server serves.
#[derive(Debug, Clone)]
pub struct Site {
    /// The demo directory, canonicalized.
    root: PathBuf,
    /// The chat server origin, e.g. `https://localhost:8443`.
    chat_origin: String,
    /// The loader's `sha384-…`, as the widget build published it.
    loader_integrity: String,
}

impl Site {
    pub fn new(root: &Path, chat_origin: &str, loader_integrity: &str) -> Result<Self> {
        let root = root.canonicalize().with_context(|| format!("the demo page directory {}", root.display()))?;
        Ok(Self {
            root,
            chat_origin: chat_origin.trim_end_matches('/').to_owned(),
            loader_integrity: loader_integrity.to_owned(),
        })
    }
}

/// Why a request path is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadRequest,
    NotFound,
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a request target (`/demo.js?x=1`) to a file inside `root` (canonical). `/` and paths
/// ending in `/` mean `index.html`. Refuses `..`, `.`, dotfiles, backslashes, NUL, and any
/// path whose real location (after symlinks) is outside `root`.
pub fn resolve(root: &Path, target: &str) -> Result<PathBuf, Refusal> {
    if !target.starts_with('/') {
        return Err(Refusal::BadRequest);
    }
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let decoded = percent_decode(path).ok_or(Refusal::BadRequest)?;
    if decoded.contains(['\\', '\0']) {
        return Err(Refusal::BadRequest);
    }
    let mut relative = PathBuf::new();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment.starts_with('.') {
            // "..", "." and hidden files alike.
            return Err(Refusal::NotFound);
        }
        relative.push(segment);
    }
    if decoded.ends_with('/') {
        relative.push("index.html");
    }
    let candidate = root.join(&relative);
    let real = candidate.canonicalize().map_err(|_| Refusal::NotFound)?;
    if !real.starts_with(root) || !real.is_file() {
        return Err(Refusal::NotFound);
    }
    Ok(real)
}

/// The Content-Type for a file name, with a charset for text.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Replaces every placeholder in a served text file with the chat server origin or the
/// loader's hash.
pub fn substitute(html: &str, site: &Site) -> String {
    html.replace(PLACEHOLDER, &site.chat_origin).replace(INTEGRITY_PLACEHOLDER, &site.loader_integrity)
}

/// The host page's Content-Security-Policy: the widget may load its script, styles and wasm
/// from the chat server and talk to it over HTTPS and WSS; nothing inline, nothing eval'd
/// (except WebAssembly compilation), and Trusted Types required with no policy at all, so any
/// HTML-string sink would be blocked (the same policy as the e2e suite's host page).
pub fn content_security_policy(chat_origin: &str) -> String {
    let ws_origin = if let Some(rest) = chat_origin.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = chat_origin.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        chat_origin.to_owned()
    };
    format!(
        "default-src 'none'; script-src 'self' {chat_origin} 'wasm-unsafe-eval'; \
         style-src 'self' {chat_origin}; connect-src {chat_origin} {ws_origin}; \
         img-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'; \
         require-trusted-types-for 'script'; trusted-types 'none'"
    )
}

/// An HTTP response before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self { status, headers: vec![("Content-Type", content_type.to_owned())], body }
    }

    fn text(status: u16, message: &str) -> Self {
        Self::new(status, "text/plain; charset=utf-8", format!("{message}\n").into_bytes())
    }

    #[cfg(test)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

/// The response to one request (the body is kept for HEAD; [`write`] drops it).
pub fn respond(site: &Site, method: &str, target: &str) -> Response {
    let mut response = match method {
        "GET" | "HEAD" => match resolve(&site.root, target) {
            Ok(file) => match fs::read(&file) {
                Ok(data) => {
                    let kind = content_type(&file);
                    let body = if kind.starts_with("text/html") {
                        substitute(&String::from_utf8_lossy(&data), site).into_bytes()
                    } else {
                        data
                    };
                    Response::new(200, kind, body)
                }
                Err(_) => Response::text(500, "cannot read the file"),
            },
            Err(Refusal::BadRequest) => Response::text(400, "bad request"),
            Err(Refusal::NotFound) => Response::text(404, "not found"),
        },
        _ => {
            let mut response = Response::text(405, "only GET and HEAD");
            response.headers.push(("Allow", "GET, HEAD".to_owned()));
            response
        }
    };
    response.headers.extend([
        ("Content-Security-Policy", content_security_policy(&site.chat_origin)),
        ("X-Content-Type-Options", "nosniff".to_owned()),
        ("Referrer-Policy", "no-referrer".to_owned()),
        ("Cache-Control", "no-store".to_owned()),
    ]);
    response
}

fn write(stream: &mut TcpStream, response: &Response, head_only: bool) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    for (name, value) in &response.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", response.body.len()));
    stream.write_all(out.as_bytes())?;
    if !head_only {
        stream.write_all(&response.body)?;
    }
    stream.flush()
}

/// Reads the request head and answers it; one request per connection.
fn handle(site: &Site, mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?.take(MAX_REQUEST_HEAD));
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Drain the headers (bounded by `take`); none of them matter here.
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let response;
    let (method, head_only) = match (parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version)) if version.starts_with("HTTP/1.") => {
            response = respond(site, method, target);
            (method, method == "HEAD")
        }
        _ => {
            response = Response::text(400, "bad request");
            ("?", false)
        }
    };
    eprintln!("demo page: {method} {} -> {}", request_line.split_whitespace().nth(1).unwrap_or("?"), response.status);
    write(&mut stream, &response, head_only)
}

/// Serves connections from `listener` forever, one thread per connection.
pub fn serve(listener: TcpListener, site: Site) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let site = site.clone();
        std::thread::spawn(move || {
            let _ = handle(&site, stream);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = "https://localhost:8443";

    fn demo() -> (tempfile::TempDir, Site) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("demo");
        fs::create_dir_all(root.join("assets")).unwrap();
        fs::write(
            root.join("index.html"),
            "<script src=\"__PALISADE_SERVER__/widget/loader.js\" data-server=\"__PALISADE_SERVER__\" \
             integrity=\"__PALISADE_LOADER_INTEGRITY__\"></script>",
        )
        .unwrap();
        fs::write(root.join("demo.js"), "console.log('__PALISADE_SERVER__');").unwrap();
        fs::write(root.join("demo.css"), "body{}").unwrap();
        fs::write(root.join("assets/index.html"), "<p>assets</p>").unwrap();
        fs::write(root.join(".secret"), "hidden").unwrap();
        fs::write(dir.path().join("outside.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("outside.txt"), root.join("link.txt")).unwrap();
        let site = Site::new(&root, CHAT, "sha384-abc").unwrap();
        (dir, site)
    }

    #[test]
    fn resolves_files_and_index() {
        let (_dir, site) = demo();
        let root = &site.root;
        assert_eq!(resolve(root, "/").unwrap(), root.join("index.html"));
        assert_eq!(resolve(root, "/index.html?x=1#y").unwrap(), root.join("index.html"));
        assert_eq!(resolve(root, "/demo.js").unwrap(), root.join("demo.js"));
        assert_eq!(resolve(root, "/assets/").unwrap(), root.join("assets/index.html"));
        assert_eq!(resolve(root, "/dem%6F.css").unwrap(), root.join("demo.css"));
        assert_eq!(resolve(root, "//demo.css").unwrap(), root.join("demo.css"));
    }

    #[test]
    fn refuses_traversal_and_hidden_files() {
        let (_dir, site) = demo();
        let root = &site.root;
        for target in [
            "/../outside.txt",
            "/assets/../../outside.txt",
            "/%2e%2e/outside.txt",
            "/%2E%2E%2Foutside.txt",
            "/./index.html",
            "/.secret",
            "/link.txt",
            "/missing.html",
            "/assets",
        ] {
            assert_eq!(resolve(root, target), Err(Refusal::NotFound), "{target}");
        }
        for target in ["outside.txt", "http://evil.example/", "/..%5coutside.txt", "/a%00b", "/%zz", "/%c3"] {
            assert_eq!(resolve(root, target), Err(Refusal::BadRequest), "{target}");
        }
    }

    #[test]
    fn content_types_have_charsets_for_text() {
        assert_eq!(content_type(Path::new("a/index.html")), "text/html; charset=utf-8");
        assert_eq!(content_type(Path::new("demo.js")), "text/javascript; charset=utf-8");
        assert_eq!(content_type(Path::new("demo.CSS")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("x.svg")), "image/svg+xml; charset=utf-8");
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert_eq!(content_type(Path::new("x.png")), "image/png");
        assert_eq!(content_type(Path::new("README")), "application/octet-stream");
    }

    #[test]
    fn substitutes_the_placeholder_in_html_only() {
        let (_dir, site) = demo();
        let page = respond(&site, "GET", "/");
        assert_eq!(page.status, 200);
        let html = String::from_utf8(page.body).unwrap();
        assert!(!html.contains(PLACEHOLDER), "{html}");
        assert_eq!(html.matches("https://localhost:8443").count(), 2, "{html}");
        assert!(html.contains("integrity=\"sha384-abc\"") && !html.contains(INTEGRITY_PLACEHOLDER), "{html}");

        let script = respond(&site, "GET", "/demo.js");
        assert_eq!(script.header("Content-Type"), Some("text/javascript; charset=utf-8"));
        assert!(String::from_utf8(script.body).unwrap().contains(PLACEHOLDER));
    }

    #[test]
    fn security_headers_on_every_response() {
        let (_dir, site) = demo();
        for (method, target, status) in [
            ("GET", "/", 200),
            ("HEAD", "/demo.css", 200),
            ("GET", "/../outside.txt", 404),
            ("GET", "/%zz", 400),
            ("POST", "/", 405),
        ] {
            let response = respond(&site, method, target);
            assert_eq!(response.status, status, "{method} {target}");
            let csp = response.header("Content-Security-Policy").unwrap();
            assert_eq!(csp, content_security_policy(CHAT));
            assert_eq!(response.header("X-Content-Type-Options"), Some("nosniff"));
            assert_eq!(response.header("Referrer-Policy"), Some("no-referrer"));
        }
        assert_eq!(respond(&site, "DELETE", "/").header("Allow"), Some("GET, HEAD"));
    }

    #[test]
    fn csp_is_strict() {
        let csp = content_security_policy(CHAT);
        assert_eq!(
            csp,
            "default-src 'none'; script-src 'self' https://localhost:8443 'wasm-unsafe-eval'; \
             style-src 'self' https://localhost:8443; \
             connect-src https://localhost:8443 wss://localhost:8443; img-src 'self'; \
             base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'; \
             require-trusted-types-for 'script'; trusted-types 'none'"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert!(!csp.contains("'unsafe-eval'"));
        assert!(content_security_policy("http://127.0.0.1:1").contains("ws://127.0.0.1:1"));
    }

    #[test]
    fn serves_over_tcp() {
        let (_dir, site) = demo();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || serve(listener, site));

        let fetch = |request: &str| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(request.as_bytes()).unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).unwrap();
            out
        };
        let get = fetch("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(get.starts_with("HTTP/1.1 200 OK\r\n"), "{get}");
        assert!(get.contains("Content-Type: text/html; charset=utf-8\r\n"), "{get}");
        assert!(get.contains("https://localhost:8443/widget/loader.js"), "{get}");

        let head = fetch("HEAD /demo.css HTTP/1.1\r\nHost: localhost\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.contains("Content-Length: 6\r\n"), "{head}");
        assert!(head.ends_with("\r\n\r\n"), "{head}");

        let traversal = fetch("GET /../outside.txt HTTP/1.1\r\n\r\n");
        assert!(traversal.starts_with("HTTP/1.1 404 "), "{traversal}");
        assert!(!traversal.contains("outside\n"), "{traversal}");

        let garbage = fetch("hello\r\n\r\n");
        assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    }
}
