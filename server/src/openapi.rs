//! The OpenAPI document, assembled from the handlers actually registered (utoipa-actix-web
//! collects every `service(...)`), so it cannot list a route the server lacks or miss one.

use actix_web::{HttpResponse, get, web};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Palisade API", description = "The chat server behind the Palisade widget."),
    components(schemas(
        palisade_protocol::ws::ClientFrame,
        palisade_protocol::ws::ServerFrame,
        palisade_protocol::ErrorCode,
    )),
    modifiers(&BearerAuth)
)]
pub struct BaseDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The document, rendered once at start-up.
#[derive(Debug, Clone)]
pub struct Document(pub String);

/// This API's OpenAPI 3 document.
#[utoipa::path(tag = "meta", responses((status = 200, description = "the OpenAPI document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn document(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(doc.0.clone())
}
