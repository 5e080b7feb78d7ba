//! Registration and password sign-in.

use actix_web::{HttpRequest, HttpResponse, post, web};
use palisade_auth::Verified;
use palisade_protocol::auth::{LoginRequest, RegisterRequest, TokenResponse, TokenType};
use palisade_protocol::limits::{self, EMAIL_MAX, LimitError, PASSWORD_MAX};
use palisade_protocol::{ErrorBody, ErrorCode, SitePublicId, UserId};
use palisade_store::{StoreError, sites, users};

use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::origins;

async fn site_for(state: &AppState, req: &HttpRequest, public_id: &SitePublicId) -> Result<sites::Site, ApiError> {
    let site = super::site_by_public_id(state, public_id).await?;
    origins::require_allowed(req, &site.allowed_origins)?;
    Ok(site)
}

fn token_response(state: &AppState, user: UserId, site: SitePublicId) -> Result<TokenResponse, ApiError> {
    let access_token = state.tokens.issue(user, site).map_err(ApiError::internal)?;
    Ok(TokenResponse { access_token, token_type: TokenType::Bearer, expires_in: state.tokens.ttl().as_secs() })
}

/// Creates an account on a site and signs the new person in.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = TokenResponse),
        (status = 400, body = ErrorBody, description = "malformed body"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 409, body = ErrorBody, description = "account exists"),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "a value breaks a limit"),
        (status = 503, body = ErrorBody, description = "too many password hashes in progress"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let site = site_for(&state, &req, &body.site).await?;
    limits::check_email(&body.email)?;
    limits::check_password(&body.password)?;
    limits::check_display_name(&body.display_name)?;
    let hash = state.passwords.hash(body.password).await?;
    let id = UserId(uuid::Uuid::new_v4());
    let email_index = state.sealer.email_index(&site.id, &body.email);
    let email = state.sealer.seal_email(&id, &site.id, &body.email).map_err(ApiError::internal)?;
    let (display_name, site_id) = (body.display_name, site.id);
    let created = state
        .store
        .interact(move |conn| {
            let new = users::NewUser {
                id,
                site_id,
                email_index: &email_index,
                email: &email,
                display_name: &display_name,
                password_hash: &hash,
            };
            users::create(conn, &new)
        })
        .await;
    let user = match created {
        Ok(user) => user,
        Err(StoreError::EmailTaken) => {
            return Err(ApiError::new(ErrorCode::AccountExists, "an account with this email already exists; sign in"));
        }
        Err(other) => return Err(other.into()),
    };
    state.audit.record(
        AuditEvent::new("user_created", Outcome::Success)
            .with_site(site.id)
            .with_actor(user.id)
            .with_client(Client::of(&req)),
    );
    Ok(HttpResponse::Created().json(token_response(&state, user.id, site.public_id)?))
}

/// Signs in with email and password.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody, description = "wrong email or password (indistinguishable)"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let site = site_for(&state, &req, &body.site).await?;
    // Bounded before hashing so nobody can make us hash megabytes; the bounds are public.
    if body.password.chars().count() > PASSWORD_MAX {
        return Err(LimitError::TooLong { field: "password", max: PASSWORD_MAX }.into());
    }
    if body.email.chars().count() > EMAIL_MAX {
        return Err(LimitError::TooLong { field: "email", max: EMAIL_MAX }.into());
    }
    let (email_index, site_id) = (state.sealer.email_index(&site.id, &body.email), site.id);
    let credentials = state.store.interact(move |conn| users::find_credentials(conn, &site_id, &email_index)).await?;
    let client = Client::of(&req);
    let Some(credentials) = credentials else {
        state.passwords.verify_absent(body.password).await?;
        return Err(login_failed(&state, &site, None, client));
    };
    let user = credentials.user;
    match state.passwords.verify(body.password, credentials.password_hash).await? {
        Verified::No => return Err(login_failed(&state, &site, Some(user.id), client)),
        Verified::Yes => {}
        Verified::YesRehashed(hash) => {
            let id = user.id;
            state.store.interact(move |conn| users::set_password_hash(conn, &id, &hash)).await?;
        }
    }
    state.audit.record(
        AuditEvent::new("authn_login_success", Outcome::Success)
            .with_site(site.id)
            .with_actor(user.id)
            .with_client(client),
    );
    Ok(HttpResponse::Ok().json(token_response(&state, user.id, site.public_id)?))
}

/// `user` is the account the email named, if any: the audit trail may tell them apart even though
/// the response never does.
fn login_failed(state: &AppState, site: &sites::Site, user: Option<UserId>, client: Client) -> ApiError {
    let mut event = AuditEvent::new("authn_login_fail", Outcome::Failure).with_site(site.id).with_client(client);
    if let Some(user) = user {
        event = event.with_actor(user);
    }
    state.audit.record(event.with_detail("reason", if user.is_some() { "wrong_password" } else { "unknown_account" }));
    ApiError::new(ErrorCode::InvalidCredentials, "wrong email or password")
}
