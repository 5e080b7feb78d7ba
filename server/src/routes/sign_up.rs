//! Creating an account, in two steps so that the answers reveal nothing about which emails
//! have accounts: asking mails a link (or, when the email has an account already, a note
//! saying so with a password-reset link), and only the link's holder, who has the mailbox,
//! chooses the name and password and is signed in. On an invite-only site asking mails no
//! link; only an operator's invitation (`palisade-server user invite`) does.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, post, web};
use palisade_auth::{opaque_token, password_policy};
use palisade_protocol::auth::{CompleteSignUpRequest, RegisterRequest, SIGN_UP_FRAGMENT, TokenResponse};
use palisade_protocol::limits;
use palisade_protocol::sites::SignUpMode;
use palisade_protocol::{ErrorBody, ErrorCode, UserId};
use palisade_store::{DbConnection, Sealed, StoreError, sign_ups, users};
use uuid::Uuid;

use super::auth::{signed_in, site_for, weak};
use crate::app::AppState;
use crate::audit::{AuditEvent, Client, Outcome};
use crate::error::ApiError;
use crate::mail_links;
use crate::sealing::{SealFailed, Sealer};

/// A day: people do not always read their mail at once, and the link only ever creates an
/// account that does not exist yet.
const LINK_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What asking led to, for the mail and the audit trail.
enum Asked {
    /// A sign-up link for a new account.
    New(String),
    /// The email has an account: a reset link to mail with the note.
    Exists(UserId, String),
    /// Nothing to mail: the address had its share of mail this hour.
    Quiet(Option<UserId>),
    /// Nothing to mail: no account, and the site takes invited people only.
    Refused,
}

/// A sign-up link about to be stored: the account it will create, whose id is chosen now
/// because the sealed email is bound to it.
pub(crate) struct NewLink {
    pub(crate) email_index: String,
    pub(crate) user_id: UserId,
    email: Sealed,
}

impl NewLink {
    pub(crate) fn new(sealer: &Sealer, site: &Uuid, typed_email: &str) -> Result<Self, SealFailed> {
        let user_id = UserId(Uuid::new_v4());
        let email = sealer.seal_email(&user_id, site, typed_email)?;
        Ok(Self { email_index: sealer.email_index(site, typed_email), user_id, email })
    }

    /// Stores the link (`invited` when an operator sends it) and returns it, opening `page`, for
    /// the caller to mail.
    pub(crate) fn store(
        &self,
        conn: &mut DbConnection,
        site_id: Uuid,
        page: &str,
        invited: bool,
    ) -> Result<String, StoreError> {
        let token = opaque_token::generate();
        let expires_at = palisade_store::now_millis() + i64::try_from(LINK_TTL.as_millis()).unwrap_or(i64::MAX);
        let new = sign_ups::NewSignUp {
            token_hash: &token.hash,
            site_id,
            user_id: self.user_id,
            email_index: &self.email_index,
            email: &self.email,
            expires_at,
            invited,
        };
        sign_ups::create(conn, &new)?;
        Ok(mail_links::link(page, SIGN_UP_FRAGMENT, &token.token))
    }
}

/// The subject and text of a mail with a sign-up link, asked for by its reader or sent by an
/// operator (`invited`).
pub(crate) fn link_mail(site_name: &str, link: &str, invited: bool) -> (String, String) {
    let (subject, why, otherwise) = if invited {
        (
            format!("You are invited to the {site_name} chat"),
            format!("You are invited to create a chat account on {site_name}."),
            "If you do not want one, ignore this message; no account is created.",
        )
    } else {
        (
            format!("Finish creating your {site_name} chat account"),
            format!("Someone, probably you, asked to create a chat account on {site_name} with this email."),
            "If it was not you, ignore this message; no account is created.",
        )
    };
    let text = format!(
        "{why}\n\nTo choose your name and password, open this link within 24 hours:\n\n{link}\n\n{otherwise}\n"
    );
    (subject, text)
}

/// Mails a link to finish creating the account (the same answer whether or not the email has
/// one, and on an invite-only site, which mails no link).
#[utoipa::path(
    tag = "auth",
    // No bearer token: anyone may call it.
    security(()),
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "a link is on its way to the email (the same answer whether or not it has an account)"),
        (status = 400, body = ErrorBody, description = "malformed body"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 422, body = ErrorBody, description = "not an email, or return_to is not on an allowed origin"),
        (status = 429, body = ErrorBody, description = "too many attempts from this network"),
        (status = 503, body = ErrorBody, description = "this server sends no mail"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = site_for(&state, &req, &body.site).await?;
    limits::check_email(&body.email)?;
    let request = mail_links::accept(&state, &req, site, body.email, &body.return_to, "sign-up")?;
    Ok(mail_links::answer_then(state, request, send_link))
}

async fn send_link(state: std::sync::Arc<AppState>, request: mail_links::LinkRequest) -> Result<(), ApiError> {
    let mail_links::LinkRequest { site, typed_email, page, client } = request;
    let pending = NewLink::new(&state.sealer, &site.id, &typed_email).map_err(ApiError::internal)?;
    let (site_id, index) = (site.id, pending.email_index.clone());
    let may_mail = mail_links::may_mail(&state, &site, &index).await?;
    let invite_only = site.sign_up == SignUpMode::InviteOnly;
    let outcome = state
        .store
        .interact(move |conn| {
            let existing = users::find_credentials(conn, &site_id, &index)?.map(|c| c.user.id);
            Ok(match (existing, may_mail) {
                (None, _) if invite_only => Asked::Refused,
                (existing, false) => Asked::Quiet(existing),
                (Some(user), true) => Asked::Exists(user, super::password_reset::create_link(conn, &user, &page)?),
                (None, true) => Asked::New(pending.store(conn, site_id, &page, false)?),
            })
        })
        .await?;
    let result = if matches!(outcome, Asked::Refused) { Outcome::Failure } else { Outcome::Success };
    let mut event = AuditEvent::new("user_sign_up_requested", result).with_site(site.id).with_client(client);
    let (site_name, to) = (&site.name, palisade_vault::normalize_email(&typed_email));
    match outcome {
        Asked::New(link) => {
            event = event.with_detail("account_found", false).with_detail("mailed", true);
            let (subject, text) = link_mail(site_name, &link, false);
            state.mailer.send_later(&to, &subject, text);
        }
        Asked::Exists(user, link) => {
            event = event.with_actor(user).with_detail("account_found", true).with_detail("mailed", true);
            let text = format!(
                "Someone, probably you, asked to create a chat account on {site_name} with this email. \
                 You already have one: sign in with it.\n\n\
                 If you forgot its password, open this link within 30 minutes to choose a new one:\n\n{link}\n\n\
                 If it was not you, ignore this message; nothing changes.\n"
            );
            state.mailer.send_later(&to, &format!("You already have a {site_name} chat account"), text);
        }
        Asked::Quiet(user) => {
            event = event.with_detail("account_found", user.is_some()).with_detail("mailed", false);
            if let Some(user) = user {
                event = event.with_actor(user);
            }
        }
        Asked::Refused => {
            event = event
                .with_detail("account_found", false)
                .with_detail("mailed", false)
                .with_detail("reason", "invite_only");
        }
    }
    state.audit.record(event);
    Ok(())
}

/// Creates the account of a sign-up link with the name and password chosen now, and signs the
/// new person in.
#[utoipa::path(
    tag = "auth",
    // No bearer token: anyone may call it.
    security(()),
    request_body = CompleteSignUpRequest,
    responses(
        (status = 201, body = TokenResponse, description = "created and signed in; sets the site's refresh cookie"),
        (status = 401, body = ErrorBody, description = "the link is expired, used, or not a link at all"),
        (status = 403, body = ErrorBody, description = "origin not allowed for the site, or a link someone asked for on a site that has since become invite-only"),
        (status = 404, body = ErrorBody, description = "no such site"),
        (status = 422, body = ErrorBody, description = "a value breaks a limit, or the password is guessable"),
        (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "too many password hashes in progress"),
    )
)]
#[post("/auth/register/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<CompleteSignUpRequest>,
) -> Result<HttpResponse, ApiError> {
    state.auth_limiter.check(&req)?;
    let body = body.into_inner();
    let site = site_for(&state, &req, &body.site).await?;
    let dead = || {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "this sign-up link has expired or was already used; sign in, or ask for a new one",
        )
    };
    let token = opaque_token::hash(&body.token).ok_or_else(dead)?;
    limits::check_password(&body.password)?;
    limits::check_display_name(&body.display_name)?;
    let (site_id, now, lookup) = (site.id, palisade_store::now_millis(), token.clone());
    let sign_up =
        state.store.interact(move |conn| sign_ups::find_live(conn, &site_id, &lookup, now)).await?.ok_or_else(dead)?;
    let client = Client::of(&req);
    if site.sign_up == SignUpMode::InviteOnly && !sign_up.invited {
        state.audit.record(
            AuditEvent::new("user_created", Outcome::Failure)
                .with_site(site.id)
                .with_client(client)
                .with_detail("via", "sign_up_link")
                .with_detail("reason", "invite_only"),
        );
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this site takes new accounts by invitation only now; ask the site for an invitation",
        ));
    }
    let invited = sign_up.invited;
    let email = state.sealer.open_email(&sign_up.user_id, &site.id, &sign_up.email, "sign_ups").ok_or_else(dead)?;
    password_policy::check(&body.password, &[&email, &body.display_name, &site.name]).map_err(weak)?;
    let hash = state.passwords.hash(body.password).await?;
    let display_name = body.display_name;
    let created = state
        .store
        .interact(move |conn| {
            let new = users::NewUser {
                id: sign_up.user_id,
                site_id,
                email_index: &sign_up.email_index,
                email: &sign_up.email,
                display_name: &display_name,
                password_hash: &hash,
            };
            sign_ups::complete(conn, &token, &new, palisade_store::now_millis())
        })
        .await?;
    let user = created.ok_or_else(dead)?;
    state.audit.record(
        AuditEvent::new("user_created", Outcome::Success)
            .with_site(site.id)
            .with_actor(user.id)
            .with_client(client.clone())
            .with_detail("via", "sign_up_link")
            .with_detail("invited", invited),
    );
    crate::sessions::end_presented(&state, &req, &site, "replaced_by_sign_in").await?;
    let issued = crate::sessions::start(&state, user.id, &site, &client).await?;
    Ok(signed_in(actix_web::http::StatusCode::CREATED, issued))
}
