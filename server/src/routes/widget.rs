//! The built widget (Trunk's dist directory), served under `/widget/`.

use std::path::PathBuf;

use actix_files::Files;
use actix_web::dev::Service as _;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web;

/// A year: content-hashed files never change under their name.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The loader and `integrity.json` keep their names across builds: revalidate (by ETag) each time.
const REVALIDATE: &str = "no-cache";

/// Static files only: no directory listings, no index pages, nothing outside `dir`.
pub fn service(
    dir: PathBuf,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope("/widget")
        .wrap_fn(|req, service| {
            let hashed = is_content_hashed(req.path());
            let answer = service.call(req);
            async move {
                let mut response = answer.await?;
                let policy = if hashed && response.status().is_success() { IMMUTABLE } else { REVALIDATE };
                response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
                Ok(response)
            }
        })
        .service(Files::new("", dir).use_etag(true).use_last_modified(true).prefer_utf8(true))
}

/// Whether the file's name carries its content hash, as the release build names them
/// (`palisade-widget-<16 hex>.js`; see crates/xtask/src/widget_pin.rs).
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split_once('.').map_or(name, |(stem, _)| stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_ending_in_a_content_hash_count_as_hashed() {
        assert!(is_content_hashed("/widget/palisade-widget-0123456789abcdef.js"));
        assert!(is_content_hashed("/widget/palisade-widget_bg-fedcba9876543210.wasm"));
        assert!(is_content_hashed("/widget/palisade-00000000000000ff.css"));
        for stable in [
            "/widget/palisade.js",
            "/widget/integrity.json",
            "/widget/palisade-widget.js",
            "/widget/palisade-widget-0123456789ABCDEF.js",
            "/widget/palisade-widget-0123456789abcde.js",
            "/widget/palisade-widget-0123456789abcdefa.js",
        ] {
            assert!(!is_content_hashed(stable), "{stable}");
        }
    }
}
