//! The built widget (Trunk's dist directory), served under `/widget/`.

use std::path::PathBuf;

use actix_files::Files;
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::web;

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
        // File names are not content-hashed yet, so caches must revalidate (cheaply, by ETag).
        .wrap(DefaultHeaders::new().add((header::CACHE_CONTROL, "no-cache")))
        .service(Files::new("", dir).use_etag(true).use_last_modified(true).prefer_utf8(true))
}
