//! Sign-in with an OAuth/OpenID provider in a popup (issue 6). The server is the confidential
//! client; the browser only ever carries `state`, the provider's code and our one-time code.
//!
//! 1. `start` (popup): checks the page origin against the site, stores a transaction (state,
//!    nonce, PKCE verifier, origin, the widget's challenge; 10 minutes, single use) bound to the
//!    popup's browser by a `__Host-` cookie, and redirects to the provider.
//! 2. `callback` (popup): takes the transaction, checks cookie, provider, expiry and `iss`,
//!    exchanges the code, verifies the identity, finds or creates the account, and ends on a
//!    page that posts a one-time code to the exact origin.
//! 3. `exchange` (widget): that code plus the widget's PKCE verifier gives the same answer as a
//!    password sign-in, second factor included.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use palisade_auth::oauth::{Identity, OAuthError, Provider, pkce};
use palisade_auth::opaque_token;
use palisade_protocol::oauth::{OAuthExchangeRequest, OAuthProviders};
use palisade_protocol::sites::SignUpMode;
use palisade_protocol::{ErrorBody, ErrorCode, SitePublicId, UserId};
use palisade_store::{StoreError, mfa, oauth, sites, users};
use serde::Deserialize;

use super::auth::{finish_sign_in, site_for};
use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::oauth::popup::{self, Post, Posted};

const TRANSACTION_TTL_MS: i64 = 10 * 60 * 1000;
const LOGIN_CODE_TTL_MS: i64 = 60 * 1000;
/// Binds a transaction to the browser that started it: a `state` alone (leaked in a log or a
/// Referer) is not enough to finish someone else's sign-in, nor to plant one's own in theirs.
const BINDING_COOKIE: &str = "__Host-palisade_oauth";

fn binding_cookie(value: &str, max_age_secs: i64) -> Result<HeaderValue, ApiError> {
    // Lax, not None: the provider sends the popup back with a top-level GET, which Lax allows,
    // and no cross-site subrequest ever needs this cookie.
    HeaderValue::from_str(&format!(
        "{BINDING_COOKIE}={value}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Lax"
    ))
    .map_err(ApiError::internal)
}

fn audit_failure(state: &AppState, client: &Client, site: Option<uuid::Uuid>, provider: &str, reason: &str) {
    let mut event = AuditEvent::new("authn_login_fail", Outcome::Failure)
        .with_client(client.clone())
        .with_detail("method", "oauth")
        .with_detail("provider", provider)
        .with_detail("reason", reason);
    if let Some(site) = site {
        event = event.with_site(site);
    }
    state.audit.record(event);
}

/// A failed popup step: what the person reads, and the reason the audit trail and the widget get.
pub(super) struct Failed {
    status: StatusCode,
    reason: &'static str,
    message: &'static str,
}

impl Failed {
    pub(super) fn new(status: StatusCode, reason: &'static str, message: &'static str) -> Self {
        Self { status, reason, message }
    }

    pub(super) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side. Close this window and try again.",
        )
    }
}

impl From<StoreError> for Failed {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "oauth sign-in: storage failed");
        Self::internal()
    }
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Self {
        tracing::error!(?error, "oauth sign-in failed inside");
        Self::internal()
    }
}

fn failure_page(failed: &Failed, post: Option<&Post<'_>>) -> HttpResponse {
    popup::render(failed.status, "Sign-in did not work", failed.message, post)
}

/// The providers a site offers, for the widget's buttons.
#[utoipa::path(
    tag = "auth",
    security(()),
    params(("site" = SitePublicId, Query, description = "the site")),
    responses(
        (status = 200, body = OAuthProviders),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 429, body = ErrorBody),
    )
)]
#[get("/auth/oauth/providers")]
pub async fn providers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<SiteQuery>,
) -> Result<HttpResponse, ApiError> {
    state.lookup_limiter.check(&req)?;
    let site = site_for(&state, &req, &query.into_inner().site).await?;
    Ok(HttpResponse::Ok().json(OAuthProviders { providers: state.oauth.buttons(&site.public_id) }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SiteQuery {
    site: SitePublicId,
}

/// What a popup page needs of its request: who asks (within the auth rate limit) and the query,
/// whose fields are all optional so that a missing or bad one still gets a readable page.
fn popup_request<Q: serde::de::DeserializeOwned + Default>(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(Client, Q), ApiError> {
    state.auth_limiter.check(req)?;
    let query = web::Query::<Q>::from_query(req.query_string()).map(web::Query::into_inner).unwrap_or_default();
    Ok((Client::of(req), query))
}

/// The popup's query. Optional here, whatever the document says, so that a missing or bad
/// field still gets a readable page in the popup rather than the extractor's JSON error.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// The site, as the embed snippet names it.
    #[param(required = true, value_type = String, pattern = "^[a-z0-9-]{1,64}$")]
    site: Option<String>,
    /// The origin of the page the widget runs on; the result is posted only to it.
    #[param(required = true, value_type = String, pattern = "^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")]
    origin: Option<String>,
    /// The S256 hash of the widget's PKCE verifier (43 base64url characters).
    #[param(required = true, value_type = String, pattern = "^[A-Za-z0-9_-]{43}$")]
    code_challenge: Option<String>,
    /// `S256` (the only method), or absent.
    #[param(required = false, value_type = String, pattern = "^S256$")]
    code_challenge_method: Option<String>,
    /// When linking a provider to the signed-in account: the ticket of `POST /auth/oauth/link`.
    link: Option<String>,
}

/// Opens a sign-in at the provider (in the popup the widget opened).
#[utoipa::path(
    tag = "auth",
    security(()),
    params(("provider" = String, Path, description = "a provider id from /auth/oauth/providers"), StartQuery),
    responses(
        (status = 303, description = "to the provider; sets the short-lived binding cookie"),
        (status = 400, description = "an HTML page: a parameter is missing or malformed"),
        (status = 403, description = "an HTML page: the origin is not one the site allows"),
        (status = 404, description = "an HTML page: no such site or provider"),
        (status = 502, description = "an HTML page: the provider could not be reached"),
    )
)]
#[get("/auth/oauth/{provider}/start")]
pub async fn start(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let provider_id = path.into_inner();
    let (client, query) = match popup_request::<StartQuery>(&state, &req) {
        Ok(request) => request,
        Err(refused) => return actix_web::ResponseError::error_response(&refused),
    };
    match begin(&state, &provider_id, query).await {
        Ok((location, binding)) => {
            let mut response = HttpResponse::SeeOther();
            response.insert_header((header::LOCATION, location));
            match binding_cookie(&binding, TRANSACTION_TTL_MS / 1000) {
                Ok(cookie) => response.insert_header((header::SET_COOKIE, cookie)).finish(),
                Err(_) => failure_page(&Failed::internal(), None),
            }
        }
        Err((failed, site)) => {
            audit_failure(&state, &client, site, &provider_id, failed.reason);
            failure_page(&failed, None)
        }
    }
}

async fn begin(
    state: &AppState,
    provider_id: &str,
    query: StartQuery,
) -> Result<(String, String), (Failed, Option<uuid::Uuid>)> {
    let bad = |reason, message| (Failed::new(StatusCode::BAD_REQUEST, reason, message), None);
    let incomplete =
        "This sign-in window was opened without what it needs. Close it and use the chat's sign-in button.";
    let site_id: SitePublicId =
        query.site.as_deref().and_then(|s| s.parse().ok()).ok_or_else(|| bad("site_missing", incomplete))?;
    let site = super::site_by_public_id(state, &site_id)
        .await
        .map_err(|_| (Failed::new(StatusCode::NOT_FOUND, "site_unknown", incomplete), None))?;
    let origin = query.origin.ok_or_else(|| bad("origin_missing", incomplete))?;
    if !site.allowed_origins.contains(&origin) {
        let message = "This page is not allowed to sign in to this chat.";
        return Err((Failed::new(StatusCode::FORBIDDEN, "origin_not_allowed", message), Some(site.id)));
    }
    let challenge = query.code_challenge.filter(|c| pkce::is_valid_challenge(c));
    let method_ok = query.code_challenge_method.as_deref().is_none_or(|m| m == "S256");
    let Some(code_challenge) = challenge.filter(|_| method_ok) else {
        return Err((Failed::new(StatusCode::BAD_REQUEST, "code_challenge_invalid", incomplete), Some(site.id)));
    };
    let Some(entry) = state.oauth.get(provider_id, &site.public_id) else {
        let message = "This way of signing in is not offered here.";
        return Err((Failed::new(StatusCode::NOT_FOUND, "provider_unknown", message), Some(site.id)));
    };
    let link_user = match query.link.as_deref() {
        None => None,
        Some(ticket) => {
            Some(super::oauth_link::redeem(state, ticket, &site, provider_id).await.map_err(|f| (f, Some(site.id)))?)
        }
    };
    let (state_token, nonce, binding) = (opaque_token::generate(), opaque_token::generate(), opaque_token::generate());
    let pkce_verifier = Provider::new_pkce_verifier();
    let location =
        entry.provider.authorization_url(&state_token.token, &nonce.token, &pkce_verifier).await.map_err(|e| {
            tracing::warn!(provider = provider_id, error = %e, "oauth provider unusable");
            let message = "The sign-in service could not be reached. Try again in a moment.";
            (Failed::new(StatusCode::BAD_GATEWAY, e.reason(), message), Some(site.id))
        })?;
    let transaction = oauth::Transaction {
        binding_hash: binding.hash,
        site_id: site.id,
        provider: provider_id.to_owned(),
        nonce: nonce.token,
        pkce_verifier,
        origin,
        code_challenge,
        link_user,
        expires_at: palisade_store::now_millis() + TRANSACTION_TTL_MS,
    };
    let state_hash = state_token.hash;
    state
        .store
        .interact(move |conn| oauth::create_transaction(conn, &state_hash, &transaction))
        .await
        .map_err(|e| (Failed::from(e), Some(site.id)))?;
    Ok((location, binding.token))
}

/// What the provider sends back. Not `deny_unknown_fields`: providers add their own
/// (`scope`, `authuser`, `session_state`…).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    /// RFC 9207: the issuer of the response, compared with the provider's.
    iss: Option<String>,
    error: Option<String>,
}

/// Where the provider sends the popup back. Ends on a page that posts a one-time code (or an
/// error) to the page origin the sign-in was started for.
#[utoipa::path(
    tag = "auth",
    security(()),
    params(("provider" = String, Path, description = "the provider"), CallbackQuery),
    responses(
        (status = 200, description = "an HTML page that hands the one-time code to the widget"),
        (status = 400, description = "an HTML page: state missing, unknown, used, expired, or from another browser"),
        (status = 401, description = "an HTML page: the provider's answer did not verify"),
        (status = 403, description = "an HTML page: consent denied, sign-up closed, or account disabled"),
        (status = 502, description = "an HTML page: the provider could not be reached"),
    )
)]
#[get("/auth/oauth/{provider}/callback")]
pub async fn callback(state: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let provider_id = path.into_inner();
    let (client, query) = match popup_request::<CallbackQuery>(&state, &req) {
        Ok(request) => request,
        Err(refused) => return actix_web::ResponseError::error_response(&refused),
    };
    let state_invalid = || {
        Failed::new(
            StatusCode::BAD_REQUEST,
            "state_invalid",
            "This sign-in was already used, has expired, or was not started here. Close this window and try again.",
        )
    };
    let Some(state_hash) = query.state.as_deref().and_then(opaque_token::hash) else {
        let failed =
            if query.state.is_none() { Failed { reason: "state_missing", ..state_invalid() } } else { state_invalid() };
        audit_failure(&state, &client, None, &provider_id, failed.reason);
        return failure_page(&failed, None);
    };
    let taken = state.store.interact(move |conn| oauth::take_transaction(conn, &state_hash)).await;
    let transaction = match taken {
        Ok(Some(t)) => t,
        Ok(None) => {
            audit_failure(&state, &client, None, &provider_id, "state_unknown");
            return failure_page(&Failed { reason: "state_unknown", ..state_invalid() }, None);
        }
        Err(e) => return failure_page(&Failed::from(e), None),
    };
    let site_id = transaction.site_id;
    let site = match site_of(&state, site_id).await {
        Ok(Some(site)) => site,
        Ok(None) => return failure_page(&state_invalid(), None),
        Err(e) => return failure_page(&Failed::from(e), None),
    };
    let site_text = site.public_id.to_string();
    let finished = complete(&state, &req, &provider_id, query, transaction.clone(), &site, &client).await;
    let post = |result| Post { origin: &transaction.origin, site: &site_text, provider: &transaction.provider, result };
    match finished {
        Ok(Finish::Code(code)) => with_cleared_binding(popup::render(
            StatusCode::OK,
            "Signed in",
            "You are signed in. This window closes by itself; if it does not, close it.",
            Some(&post(Posted::Code(&code))),
        )),
        Ok(Finish::Linked) => with_cleared_binding(popup::render(
            StatusCode::OK,
            "Account linked",
            "You can now sign in with this provider too. This window closes by itself.",
            Some(&post(Posted::Linked)),
        )),
        Err(failed) => {
            audit_failure(&state, &client, Some(site_id), &provider_id, failed.reason);
            with_cleared_binding(failure_page(&failed, Some(&post(Posted::Error(failed.reason)))))
        }
    }
}

fn with_cleared_binding(mut page: HttpResponse) -> HttpResponse {
    if let Ok(cookie) = binding_cookie("", 0) {
        page.headers_mut().append(header::SET_COOKIE, cookie);
    }
    page
}

async fn site_of(state: &AppState, site_id: uuid::Uuid) -> Result<Option<sites::Site>, StoreError> {
    state
        .store
        .interact(move |conn| match oauth::site_public_id(conn, &site_id)? {
            Some(public_id) => sites::find_by_public_id(conn, &public_id),
            None => Ok(None),
        })
        .await
}

/// How a callback ends well.
enum Finish {
    /// Signed in: the one-time login code for the widget.
    Code(String),
    /// The provider was linked to the signed-in account that asked.
    Linked,
}

/// Everything after the transaction is found.
async fn complete(
    state: &AppState,
    req: &HttpRequest,
    provider_id: &str,
    query: CallbackQuery,
    transaction: oauth::Transaction,
    site: &sites::Site,
    client: &Client,
) -> Result<Finish, Failed> {
    let restart =
        "This sign-in was already used, has expired, or was not started here. Close this window and try again.";
    // A response for another provider's transaction is a mix-up attempt, or a confused browser.
    if transaction.provider != provider_id {
        return Err(Failed::new(StatusCode::BAD_REQUEST, "provider_mismatch", restart));
    }
    if palisade_store::now_millis() > transaction.expires_at {
        return Err(Failed::new(StatusCode::BAD_REQUEST, "state_expired", restart));
    }
    let presented = req.cookie(BINDING_COOKIE).and_then(|c| opaque_token::hash(c.value()));
    if presented.as_deref() != Some(transaction.binding_hash.as_str()) {
        return Err(Failed::new(StatusCode::BAD_REQUEST, "browser_mismatch", restart));
    }
    if let Some(error) = query.error.as_deref() {
        let (reason, message) = if error == "access_denied" {
            ("consent_denied", "Sign-in was cancelled at the provider. Nothing was changed.")
        } else {
            ("provider_error", "The sign-in service reported a problem. Try again in a moment.")
        };
        return Err(Failed::new(StatusCode::FORBIDDEN, reason, message));
    }
    let code = query.code.ok_or(Failed::new(StatusCode::BAD_REQUEST, "code_missing", restart))?;
    let entry = state.oauth.get(provider_id, &site.public_id).ok_or(Failed::new(
        StatusCode::NOT_FOUND,
        "provider_unknown",
        "This way of signing in is not offered here.",
    ))?;
    let identity = entry
        .provider
        .finish(&code, &transaction.pkce_verifier, &transaction.nonce, query.iss.as_deref())
        .await
        .map_err(|e| provider_failure(provider_id, &e))?;
    if let Some(user) = transaction.link_user {
        super::oauth_link::link(state, site, provider_id, user, &identity.subject, client).await?;
        return Ok(Finish::Linked);
    }
    let user = account_for(state, site, provider_id, &entry.label, identity, client).await?;
    let login = opaque_token::generate();
    let (site_id, hash) = (site.id, login.hash);
    let code = oauth::LoginCode {
        user,
        provider: provider_id.to_owned(),
        code_challenge: transaction.code_challenge,
        expires_at: palisade_store::now_millis() + LOGIN_CODE_TTL_MS,
    };
    state.store.interact(move |conn| oauth::create_login_code(conn, &hash, &site_id, &code)).await?;
    Ok(Finish::Code(login.token))
}

fn provider_failure(provider_id: &str, error: &OAuthError) -> Failed {
    tracing::warn!(provider = provider_id, %error, "oauth sign-in refused");
    match error {
        OAuthError::Provider(_) | OAuthError::Metadata(_) => Failed::new(
            StatusCode::BAD_GATEWAY,
            error.reason(),
            "The sign-in service could not be reached. Try again in a moment.",
        ),
        _ => Failed::new(
            StatusCode::UNAUTHORIZED,
            error.reason(),
            "The sign-in service's answer could not be verified, so you were not signed in. Try again.",
        ),
    }
}

/// The account of this provider subject, created on first sign-in when the site takes sign-ups.
/// Never looked up by email: an address at a provider proves nothing about who owns the
/// account of that address here.
async fn account_for(
    state: &AppState,
    site: &sites::Site,
    provider_id: &str,
    label: &str,
    identity: Identity,
    client: &Client,
) -> Result<UserId, Failed> {
    let (site_id, provider, subject) = (site.id, provider_id.to_owned(), identity.subject.clone());
    let found = state.store.interact(move |conn| oauth::find_identity(conn, &site_id, &provider, &subject)).await?;
    let user = match found {
        Some(user) => user,
        None => create_account(state, site, provider_id, label, identity, client).await?,
    };
    let credentials = state
        .store
        .interact(move |conn| users::credentials_of(conn, &site_id, &user))
        .await?
        .ok_or_else(Failed::internal)?;
    if credentials.disabled {
        return Err(Failed::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "This account is disabled; contact the site's staff.",
        ));
    }
    Ok(user)
}

async fn create_account(
    state: &AppState,
    site: &sites::Site,
    provider_id: &str,
    label: &str,
    identity: Identity,
    client: &Client,
) -> Result<UserId, Failed> {
    if site.sign_up != SignUpMode::Open {
        state.audit.record(
            AuditEvent::new("user_created", Outcome::Failure)
                .with_site(site.id)
                .with_client(client.clone())
                .with_detail("via", "oauth")
                .with_detail("provider", provider_id)
                .with_detail("reason", "invite_only"),
        );
        return Err(Failed::new(
            StatusCode::FORBIDDEN,
            "sign_up_closed",
            "This site takes new accounts by invitation only, and this sign-in has no account here yet.",
        ));
    }
    let id = UserId(uuid::Uuid::new_v4());
    // The email, when the provider vouches for it, is kept sealed for display only. The blind
    // index is unique to the account so the address can never find or collide with another.
    let email = state.sealer.seal_email(&id, &site.id, identity.email.as_deref().unwrap_or("")).map_err(|e| {
        tracing::error!(error = %e, "sealing an email failed");
        Failed::internal()
    })?;
    let email_index = format!("{}{}", oauth::PROVIDER_ONLY_EMAIL_INDEX_PREFIX, id.0);
    let display_name = identity
        .name
        .map(|n| n.trim().chars().take(palisade_protocol::limits::DISPLAY_NAME_MAX).collect::<String>())
        .filter(|n| palisade_protocol::limits::check_display_name(n).is_ok())
        .unwrap_or_else(|| format!("{label} user"));
    // No password: a random one nobody knows, so every password path fails the ordinary way.
    let hash = state.passwords.hash(opaque_token::generate().token).await.map_err(|e| {
        tracing::error!(error = %e, "hashing failed");
        Failed::internal()
    })?;
    let (site_id, provider, subject) = (site.id, provider_id.to_owned(), identity.subject);
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
            match oauth::create_account(conn, &new, &provider, &subject) {
                // Two popups of the same person raced; the other one made the account.
                Err(StoreError::Conflict(_)) => oauth::find_identity(conn, &site_id, &provider, &subject)
                    .map(|found| found.map(|user| (user, false))),
                other => other.map(|user| Some((user.id, true))),
            }
        })
        .await?;
    let (user, new) = created.ok_or_else(Failed::internal)?;
    if new {
        state.audit.record(
            AuditEvent::new("user_created", Outcome::Success)
                .with_site(site.id)
                .with_actor(user)
                .with_client(client.clone())
                .with_detail("via", "oauth")
                .with_detail("provider", provider_id),
        );
    }
    Ok(user)
}

/// Redeems the popup's one-time code with the widget's PKCE verifier.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = OAuthExchangeRequest,
    responses(
        (status = 200, body = palisade_protocol::auth::TokenResponse, description = "signed in; sets the site's refresh cookie"),
        (status = 202, body = palisade_protocol::mfa::MfaChallenge, description = "complete with POST /auth/mfa/verify"),
        (status = 401, body = ErrorBody, description = "the code is unknown, used, expired, or the verifier does not match"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site, or account disabled"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 429, body = ErrorBody),
    )
)]
#[post("/auth/oauth/exchange")]
pub async fn exchange(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<OAuthExchangeRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = site_for(&state, &req, &body.site).await?;
    let client = Client::of(&req);
    let refuse = |reason: &str| {
        audit_failure(&state, &client, Some(site.id), "-", reason);
        ApiError::new(ErrorCode::Unauthenticated, "this sign-in has expired or was already used; sign in again")
    };
    let hash = opaque_token::hash(&body.code).ok_or_else(|| refuse("login_code_invalid"))?;
    let site_id = site.id;
    let code = state
        .store
        .interact(move |conn| oauth::take_login_code(conn, &hash, &site_id))
        .await?
        .ok_or_else(|| refuse("login_code_unknown"))?;
    if palisade_store::now_millis() > code.expires_at {
        return Err(refuse("login_code_expired"));
    }
    if !pkce::matches(&body.code_verifier, &code.code_challenge) {
        return Err(refuse("code_verifier_mismatch"));
    }
    let user = code.user;
    let credentials = state
        .store
        .interact(move |conn| users::credentials_of(conn, &site_id, &user))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    if credentials.disabled {
        audit_failure(&state, &client, Some(site.id), &code.provider, "account_disabled");
        return Err(ApiError::new(ErrorCode::Forbidden, "this account is disabled; contact the site's staff"));
    }
    if state.store.interact(move |conn| mfa::is_enabled(conn, &user)).await? {
        let challenge = super::mfa::challenge(&state, user).await?;
        return Ok(HttpResponse::Accepted().json(challenge));
    }
    finish_sign_in(&state, &req, &site, user, &credentials.email_index, &client, "oauth").await
}

/// The popup page's script (the page may run no inline script).
#[utoipa::path(tag = "auth", security(()), responses((status = 200, description = "JavaScript", content_type = "text/javascript")))]
#[get("/auth/oauth/popup.js")]
pub async fn popup_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(popup::SCRIPT)
}
