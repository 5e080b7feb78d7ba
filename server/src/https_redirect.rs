//! The plain-HTTP listener that only redirects to HTTPS: someone typing the chat host into a
//! browser, or an old link, lands on the TLS server, and nothing is ever served in clear. The
//! target is built from the configured public URL, never from the request's Host header, so the
//! listener cannot be made to redirect anywhere else.

use std::net::{SocketAddr, TcpListener};

use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

/// Where `req` belongs on `public_url`: the same path and query.
fn target(public_url: &str, req: &HttpRequest) -> String {
    let base = public_url.trim_end_matches('/');
    let path_and_query = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    format!("{base}{path_and_query}")
}

async fn redirect(public_url: web::Data<String>, req: HttpRequest) -> HttpResponse {
    // 308 keeps the method and body, so a misdirected POST is not silently turned into a GET.
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, target(&public_url, &req)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Serves redirects to `public_url` on `listener`.
pub fn serve(listener: TcpListener, public_url: String) -> std::io::Result<(SocketAddr, actix_web::dev::Server)> {
    let addr = listener.local_addr()?;
    let public_url = web::Data::new(public_url);
    let server = HttpServer::new(move || App::new().app_data(public_url.clone()).default_service(web::to(redirect)))
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
    Ok((addr, server))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_target_keeps_path_and_query_and_ignores_the_host() {
        let req = TestRequest::get()
            .uri("/widget/palisade.js?v=3")
            .insert_header((header::HOST, "evil.example"))
            .to_http_request();
        assert_eq!(target("https://chat.example/", &req), "https://chat.example/widget/palisade.js?v=3");
        let scheme_relative = TestRequest::get().uri("//evil.example/x").to_http_request();
        assert!(target("https://chat.example", &scheme_relative).starts_with("https://chat.example/"));
    }
}
