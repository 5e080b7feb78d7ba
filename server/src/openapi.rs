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
#[utoipa::path(
    tag = "meta",
    // No bearer token: anyone may read it.
    security(()),
    responses((status = 200, description = "the OpenAPI document", content_type = "application/json"))
)]
#[get("/openapi.json")]
pub async fn document(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(doc.0.clone())
}

/// The answers every operation of a kind can give because of what all of them share (the JSON
/// body, query and path extractors, the bearer check, the database), added to each operation
/// that does not document them itself, so that the document lists every status the server can
/// answer without each handler repeating them.
const SHARED_ANSWERS: &[(Kind, &str, &str)] = &[
    (Kind::Body, "400", "`malformed_request`: the body is not JSON of the documented shape"),
    (Kind::Body, "413", "`payload_too_large`: the body is over the size limit"),
    (Kind::Body, "415", "`unsupported_media_type`: the body is not `application/json`"),
    (Kind::Query, "400", "`malformed_request`: the query string is not valid"),
    (Kind::Path, "404", "`not_found`: no such resource, or a path segment that is not a valid id"),
    (Kind::Bearer, "401", "`unauthenticated`: no valid access token, or its session has ended"),
    (
        Kind::Bearer,
        "403",
        "`mfa_enrolment_required`: the caller's role requires a second factor not yet set up; or `forbidden`",
    ),
    (Kind::Bearer, "429", "`rate_limited`: too many requests from this account; see Retry-After"),
    (Kind::Database, "503", "`server_busy`: the server is busy; see Retry-After"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Body,
    Query,
    Path,
    Bearer,
    Database,
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn kinds_of(path: &str, operation: &serde_json::Value) -> Vec<Kind> {
    let parameters = operation["parameters"].as_array().map(Vec::as_slice).unwrap_or_default();
    let has_parameter = |place: &str| parameters.iter().any(|p| p["in"] == place);
    let bearer = operation["security"]
        .as_array()
        .is_some_and(|requirements| requirements.iter().any(|r| r.get("bearer").is_some()));
    [
        (Kind::Body, operation.get("requestBody").is_some()),
        (Kind::Query, has_parameter("query")),
        (Kind::Path, has_parameter("path")),
        (Kind::Bearer, bearer),
        // Only the document itself is served without the database.
        (Kind::Database, path != "/api/v1/openapi.json"),
    ]
    .into_iter()
    .filter_map(|(kind, applies)| applies.then_some(kind))
    .collect()
}

/// The document as served: the registered operations with the [`SHARED_ANSWERS`] added.
pub fn complete(api: &utoipa::openapi::OpenApi) -> Result<String, serde_json::Error> {
    let mut doc = serde_json::to_value(api)?;
    if let Some(paths) = doc.get_mut("paths").and_then(serde_json::Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                let Some(operation) = item.get_mut(method) else { continue };
                let kinds = kinds_of(path, operation);
                let Some(responses) = operation.get_mut("responses").and_then(serde_json::Value::as_object_mut) else {
                    continue;
                };
                for (kind, status, description) in SHARED_ANSWERS {
                    if kinds.contains(kind) && !responses.contains_key(*status) {
                        responses.insert(
                            (*status).to_owned(),
                            serde_json::json!({
                                "description": description,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
                            }),
                        );
                    }
                }
            }
        }
    }
    serde_json::to_string_pretty(&doc)
}

/// The methods the document lists for each path, to answer a known path's unknown method with
/// 405 and `Allow` (RFC 9110) rather than 404.
#[derive(Debug)]
pub struct Routes(Vec<(Vec<String>, Vec<&'static str>)>);

impl Routes {
    pub fn of(text: &str) -> Self {
        let doc: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        let paths = doc["paths"].as_object().map(|paths| {
            paths
                .iter()
                .map(|(path, item)| {
                    let segments = path.split('/').map(str::to_owned).collect();
                    let methods = METHODS.into_iter().filter(|m| item.get(*m).is_some()).collect();
                    (segments, methods)
                })
                .collect()
        });
        Self(paths.unwrap_or_default())
    }

    /// The methods of the documented path `path` matches (`{name}` matches any one segment),
    /// upper-case; empty for an unknown path.
    pub fn allowed(&self, path: &str) -> Vec<String> {
        let segments: Vec<&str> = path.split('/').collect();
        let matches = |template: &[String]| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| t == s || (t.starts_with('{') && !s.is_empty()))
        };
        let mut allowed: Vec<String> = self
            .0
            .iter()
            .filter(|(template, _)| matches(template))
            .flat_map(|(_, methods)| methods.iter().map(|m| m.to_ascii_uppercase()))
            .collect();
        allowed.sort();
        allowed.dedup();
        allowed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn document() -> serde_json::Value {
        serde_json::from_str(&crate::app::api_document().unwrap()).unwrap()
    }

    /// A query struct derived without `parameter_in = Query` is documented as path parameters,
    /// which no request can send (found on the OAuth popup's start and callback).
    #[test]
    fn path_parameters_are_in_their_path() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                let Some(operation) = item.get(method) else { continue };
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap();
                    if parameter["in"] == "path" {
                        assert!(path.contains(&format!("{{{name}}}")), "{method} {path}: `{name}` is not in the path");
                    }
                }
            }
        }
    }

    #[test]
    fn every_operation_states_its_auth_requirement() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in METHODS {
                let Some(operation) = item.get(method) else { continue };
                let security = operation["security"].as_array();
                assert!(
                    security.is_some_and(|s| !s.is_empty()),
                    "{method} {path} does not state its auth requirement (`security`)"
                );
            }
        }
    }

    #[test]
    fn shared_answers_are_documented_where_they_apply() {
        let doc = document();
        let responses = |path: &str, method: &str| doc["paths"][path][method]["responses"].clone();
        let rooms = responses("/api/v1/rooms", "post");
        for status in ["400", "401", "403", "413", "415", "429", "503"] {
            assert!(rooms.get(status).is_some(), "POST /api/v1/rooms lacks {status}");
        }
        assert!(responses("/api/v1/rooms/{id}/messages", "get").get("404").is_some());
        assert!(responses("/api/v1/openapi.json", "get").get("503").is_none());
        assert!(responses("/healthz", "get").get("401").is_none());
    }

    #[test]
    fn known_paths_list_their_methods() {
        let routes = Routes::of(&crate::app::api_document().unwrap());
        assert_eq!(routes.allowed("/api/v1/rooms"), ["GET", "POST"]);
        assert_eq!(routes.allowed("/api/v1/rooms/abc/messages"), ["GET"]);
        assert_eq!(routes.allowed("/api/v1/rooms/direct"), ["POST"]);
        assert!(routes.allowed("/api/v1/nothing").is_empty());
        assert!(routes.allowed("/api/v1/rooms//messages").is_empty());
    }
}
