//! The built widget (Trunk's dist directory), served under `/widget/`.
//!
//! The release build writes a brotli copy beside each file (`palisade-widget_bg-….wasm.br`);
//! a browser that accepts brotli gets that copy, so the widget crosses the network at a third
//! of its size without the server compressing anything per request.

use std::path::{Path, PathBuf};

use actix_files::{Files, NamedFile};
use actix_web::dev::{Service as _, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::web;
use futures_util::future::{Either, TryFutureExt as _, ready};

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
    let files = Files::new("", &dir).use_etag(true).use_last_modified(true).prefer_utf8(true);
    web::scope("/widget")
        .wrap_fn(move |req, service| {
            let hashed = is_content_hashed(req.path());
            let compressed = brotli_copy(&dir, &req).map(|file| file.into_response(req.request()));
            let answer = match compressed {
                Some(response) => Either::Left(ready(Ok(req.into_response(response)))),
                None => Either::Right(service.call(req).map_ok(ServiceResponse::map_into_boxed_body)),
            };
            async move {
                let mut response = answer.await?;
                let policy = if hashed && response.status().is_success() { IMMUTABLE } else { REVALIDATE };
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
                // Caches must keep the brotli and the plain answers apart.
                headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
                Ok(response)
            }
        })
        .service(files)
}

/// The brotli copy of the requested file, as a brotli-encoded answer of the original's type,
/// when the browser accepts brotli and the build wrote one. The dist directory is flat, so only
/// plain file names are looked up: nothing here can reach outside it.
fn brotli_copy(dir: &Path, req: &ServiceRequest) -> Option<NamedFile> {
    let name = req.match_info().unprocessed().trim_start_matches('/');
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let accepts = req.headers().get(header::ACCEPT_ENCODING).and_then(|value| value.to_str().ok());
    if !plain || !accepts.is_some_and(accepts_brotli) || req.method() != actix_web::http::Method::GET {
        return None;
    }
    let extension = Path::new(name).extension()?.to_str()?;
    let file = NamedFile::open(dir.join(format!("{name}.br"))).ok()?;
    Some(
        file.set_content_type(actix_files::file_extension_to_mime(extension))
            .set_content_encoding(ContentEncoding::Brotli)
            .prefer_utf8(true)
            .use_etag(true)
            .use_last_modified(true),
    )
}

/// Whether an `Accept-Encoding` value allows `br` (named, without `q=0`).
fn accepts_brotli(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let named = parts.next().is_some_and(|name| name.eq_ignore_ascii_case("br"));
        let refused =
            parts.any(|param| param.strip_prefix("q=").is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0)));
        named && !refused
    })
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
    fn brotli_is_accepted_only_when_named_without_q_zero() {
        for yes in ["br", "gzip, deflate, br, zstd", "BR", "br;q=0.5", "gzip;q=1.0, br ; q=1"] {
            assert!(accepts_brotli(yes), "{yes}");
        }
        for no in ["", "gzip, deflate", "br;q=0", "br; q=0.000", "brotli", "*", "gzip;q=0, br;q=0"] {
            assert!(!accepts_brotli(no), "{no}");
        }
    }

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
