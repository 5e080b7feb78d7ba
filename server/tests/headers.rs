//! The security headers of each kind of route.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{ORIGIN, TestApp};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).map_or("", |v| v.to_str().unwrap())
}

fn assert_everywhere(response: &reqwest::Response) {
    assert_eq!(header(response, "strict-transport-security"), "max-age=63072000; includeSubDomains; preload");
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "referrer-policy"), "no-referrer");
    assert!(header(response, "permissions-policy").contains("camera=()"));
    assert!(response.headers().get("server").is_none(), "no server or version disclosure");
}

#[tokio::test]
async fn api_answers_cannot_be_framed_embedded_or_cached() {
    let app = TestApp::spawn().await;
    for response in [
        app.http.get(app.url("/healthz")).send().await.unwrap(),
        app.http.get(app.url("/api/v1/rooms")).send().await.unwrap(),
        app.http.get(app.url("/no/such/route")).send().await.unwrap(),
        app.http.post(app.url("/api/v1/auth/login")).header("origin", ORIGIN).body("{").send().await.unwrap(),
    ] {
        assert_everywhere(&response);
        assert_eq!(header(&response, "cache-control"), "no-store", "{}", response.url());
        let csp = header(&response, "content-security-policy");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(header(&response, "x-frame-options"), "DENY");
        assert_eq!(header(&response, "cross-origin-resource-policy"), "same-origin");
        assert_eq!(header(&response, "cross-origin-opener-policy"), "same-origin");
        if response.status() != 200 {
            assert_eq!(header(&response, "content-type"), "application/json; charset=utf-8", "{}", response.url());
        }
    }
}

#[tokio::test]
async fn widget_assets_load_cross_origin_and_html_gets_a_strict_csp() {
    let app = TestApp::spawn().await;
    let dir = &app.config.widget_dir;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("palisade.js"), "/* loader */").unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>dev</title>").unwrap();

    std::fs::write(dir.join("palisade-widget-0123456789abcdef.js"), "/* glue */").unwrap();

    let asset = app.http.get(app.url("/widget/palisade.js")).send().await.unwrap();
    assert_eq!(asset.status(), 200);
    assert_everywhere(&asset);
    assert_eq!(header(&asset, "cross-origin-resource-policy"), "cross-origin", "host pages of other sites load it");
    assert_eq!(header(&asset, "cache-control"), "no-cache", "the loader keeps its name, so it is revalidated");
    assert_eq!(header(&asset, "content-type"), "text/javascript; charset=utf-8");
    // Opened directly, an asset is a document that may do nothing and be framed by nobody.
    assert_eq!(
        header(&asset, "content-security-policy"),
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    );
    assert_eq!(header(&asset, "x-frame-options"), "DENY");
    assert!(asset.headers().get("timing-allow-origin").is_none(), "no page asked, so none may time it");
    // A host page of a site may read (CORS) and time (Resource Timing) what it loads; others
    // may load it but learn no more of it than that.
    let from_site = app.http.get(app.url("/widget/palisade.js")).header("origin", ORIGIN).send().await.unwrap();
    assert_eq!(header(&from_site, "access-control-allow-origin"), ORIGIN);
    assert_eq!(header(&from_site, "timing-allow-origin"), ORIGIN);
    let elsewhere =
        app.http.get(app.url("/widget/palisade.js")).header("origin", "https://evil.example").send().await.unwrap();
    assert!(elsewhere.headers().get("access-control-allow-origin").is_none());
    assert!(elsewhere.headers().get("timing-allow-origin").is_none());
    let hashed = app.http.get(app.url("/widget/palisade-widget-0123456789abcdef.js")).send().await.unwrap();
    assert_eq!(hashed.status(), 200);
    assert_eq!(header(&hashed, "cache-control"), "public, max-age=31536000, immutable", "its name changes with it");
    let missing = app.http.get(app.url("/widget/palisade-widget-fedcba9876543210.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, "cache-control"), "no-cache", "a miss is not cached for a year");

    let page = app.http.get(app.url("/widget/index.html")).send().await.unwrap();
    assert_everywhere(&page);
    let csp = header(&page, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "base-uri 'none'",
        "object-src 'none'",
        "require-trusted-types-for 'script'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("'unsafe-eval'"), "{csp}");
    assert!(csp.contains("report-uri /api/v1/csp-report; report-to csp"), "violations are reported: {csp}");
    assert_eq!(header(&page, "reporting-endpoints"), "csp=\"/api/v1/csp-report\"");
}

#[tokio::test]
async fn plain_http_only_redirects_to_the_public_https_url() {
    let app = TestApp::spawn_configured(|config| {
        config.tls.mode = palisade_server::config::TlsMode::SelfSigned;
        config.http_redirect_listen = "127.0.0.1:0".into();
        config.public_url = "https://chat.example".into();
    })
    .await;
    let plain = format!("http://{}", app.redirect_addr.expect("the redirect listener is on"));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer =
        client.get(format!("{plain}/widget/palisade.js?v=3")).header("host", "evil.example").send().await.unwrap();
    assert_eq!(answer.status(), 308);
    assert_eq!(answer.headers()["location"], "https://chat.example/widget/palisade.js?v=3", "never the Host header");
    // Nothing is served in clear, not even an API answer or a cookie.
    let login = client
        .post(format!("{plain}/api/v1/auth/login"))
        .json(&serde_json::json!({"site": "acme", "email": "a@example.org", "password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 308, "the method is kept, not turned into a GET");
    assert!(login.headers().get("set-cookie").is_none());
    assert!(login.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_browser_that_accepts_brotli_gets_the_builds_brotli_copy() {
    let app = TestApp::spawn().await;
    let dir = &app.config.widget_dir;
    std::fs::create_dir_all(dir).unwrap();
    let wasm = "palisade-widget_bg-0123456789abcdef.wasm";
    std::fs::write(dir.join(wasm), b"\0asm plain").unwrap();
    std::fs::write(dir.join(format!("{wasm}.br")), b"brotli bytes").unwrap();
    std::fs::write(dir.join("palisade.js"), "/* loader */").unwrap();
    std::fs::write(dir.join("palisade.js.br"), b"brotli loader").unwrap();
    std::fs::write(dir.join("integrity.json"), "{}").unwrap();
    let get = |path: &str, accept: Option<&str>| {
        let request = app.http.get(app.url(&format!("/widget/{path}")));
        let request = match accept {
            Some(accept) => request.header("accept-encoding", accept),
            None => request,
        };
        request.send()
    };

    let packed = get(wasm, Some("gzip, deflate, br, zstd")).await.unwrap();
    assert_eq!(packed.status(), 200);
    assert_eq!(header(&packed, "content-encoding"), "br");
    assert_eq!(header(&packed, "content-type"), "application/wasm", "the type of what it unpacks to");
    assert!(header(&packed, "vary").contains("accept-encoding"), "{}", header(&packed, "vary"));
    assert_eq!(header(&packed, "cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(header(&packed, "cross-origin-resource-policy"), "cross-origin");
    assert_everywhere(&packed);
    assert_eq!(&packed.bytes().await.unwrap()[..], b"brotli bytes");
    let loader = get("palisade.js", Some("br")).await.unwrap();
    assert_eq!(header(&loader, "content-type"), "text/javascript; charset=utf-8");
    assert_eq!(header(&loader, "cache-control"), "no-cache");
    assert_eq!(&loader.bytes().await.unwrap()[..], b"brotli loader");

    // Not accepted, refused with q=0, or no copy built: the file as it is, still varying.
    for (path, accept) in [(wasm, None), (wasm, Some("gzip")), (wasm, Some("br;q=0")), ("integrity.json", Some("br"))] {
        let plain = get(path, accept).await.unwrap();
        assert_eq!(plain.status(), 200, "{path} {accept:?}");
        assert!(plain.headers().get("content-encoding").is_none(), "{path} {accept:?}");
        assert!(header(&plain, "vary").contains("accept-encoding"), "{path} {accept:?}");
        assert_ne!(&plain.bytes().await.unwrap()[..], b"brotli bytes");
    }
    // A name that is not a plain file name in the directory is never looked up as a copy.
    let outside = get("..%2Fpalisade.js", Some("br")).await.unwrap();
    assert_ne!(outside.status(), 200);
}
