//! The links the server mails (sign-up, password reset): which pages they may lead to, and how
//! often one address may be mailed at all.

use std::future::Future;
use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use palisade_auth::throttle;
use palisade_protocol::ErrorCode;
use palisade_store::login_throttle::{self, Key};
use palisade_store::sites::Site;

use crate::app::AppState;
use crate::audit::Client;
use crate::error::ApiError;

const RETURN_TO_MAX: usize = 2048;
/// The throttle scope that counts mails to an address.
const MAIL_SCOPE: &str = "mail";
/// Mails to one address on one site per hour. Anyone may ask us to mail any address, so
/// without a cap these endpoints would mail-bomb a victim from as many networks as an attacker
/// has; a person who really signs up or forgot a password needs one or two.
pub const MAILS_PER_HOUR: u32 = 5;

/// `return_to` without any fragment, if its origin is one the site allows.
pub fn page_on_allowed_origin<'a>(return_to: &'a str, allowed: &[String]) -> Option<&'a str> {
    let page = return_to.split('#').next().unwrap_or_default();
    if page.len() > RETURN_TO_MAX || page.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let after_scheme = page.find("://")? + 3;
    let origin_end = page[after_scheme..].find(['/', '?']).map_or(page.len(), |i| after_scheme + i);
    let origin = &page[..origin_end];
    allowed.iter().any(|a| a == origin).then_some(page)
}

/// The page a mailed link opens: `return_to` if the site allows its origin, or a refusal.
fn page_for(return_to: &str, site: &Site) -> Result<String, ApiError> {
    page_on_allowed_origin(return_to, &site.allowed_origins).map(str::to_owned).ok_or_else(|| {
        ApiError::new(
            palisade_protocol::ErrorCode::ValidationFailed,
            "return_to must be a page on an origin this site allows",
        )
    })
}

/// `<page>#<fragment>=<token>`: in the fragment, the token never reaches the host page's
/// server or a Referer.
pub fn link(page: &str, fragment: &str, token: &str) -> String {
    format!("{page}#{fragment}={token}")
}

/// A request to mail someone a link, checked and ready to be carried out.
#[derive(Debug)]
pub struct LinkRequest {
    pub site: Site,
    /// As the person typed it; mail goes to its normalized form.
    pub typed_email: String,
    /// The page the link opens.
    pub page: String,
    pub client: Client,
}

/// Checks what every mailed-link request needs (this server sends mail; `return_to` is on an
/// origin the site allows). `feature` names what is unavailable without mail.
pub fn accept(
    state: &AppState,
    req: &HttpRequest,
    site: Site,
    typed_email: String,
    return_to: &str,
    feature: &str,
) -> Result<LinkRequest, ApiError> {
    if !state.mailer.is_configured() {
        return Err(ApiError::new(ErrorCode::ServerBusy, format!("{feature} by email is not set up on this server")));
    }
    let page = page_for(return_to, &site)?;
    Ok(LinkRequest { site, typed_email, page, client: Client::of(req) })
}

/// Answers 202 now and runs `send` (finding the account, making the link, mailing it) after:
/// the answer's content and timing are then the same whether or not the email has an account.
/// A failure is logged, since nobody is waiting for it.
pub fn answer_then<F>(
    state: web::Data<AppState>,
    request: LinkRequest,
    send: impl FnOnce(Arc<AppState>, LinkRequest) -> F,
) -> HttpResponse
where
    F: Future<Output = Result<(), ApiError>> + 'static,
{
    let work = send(state.into_inner(), request);
    actix_web::rt::spawn(async move {
        if let Err(error) = work.await {
            tracing::error!(code = error.code.as_str(), message = %error.message, "sending a mailed link failed");
        }
    });
    HttpResponse::Accepted().finish()
}

/// Counts a mail to the address with this blind index and says whether it may go. The caller
/// answers the request the same either way.
pub async fn may_mail(state: &AppState, site: &Site, email_index: &str) -> Result<bool, ApiError> {
    let (site_id, index) = (site.id, email_index.to_owned());
    let now = palisade_store::now_millis();
    let window = i64::try_from(throttle::WINDOW.as_millis()).unwrap_or(i64::MAX);
    let (counts, _) = state
        .store
        .interact(move |conn| {
            let key = Key { site: &site_id, email_index: &index, scope: MAIL_SCOPE };
            // Nothing is blocked by this count; `blocked_until` stays 0 and only the hourly
            // window matters.
            login_throttle::record_failure(conn, key, now, window, |_| 0)
        })
        .await?;
    Ok(counts.window_failures <= MAILS_PER_HOUR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_only_lead_to_pages_of_allowed_origins() {
        let allowed = vec!["https://acme.example".to_owned(), "http://localhost:8080".to_owned()];
        let ok = |page| page_on_allowed_origin(page, &allowed);
        assert_eq!(ok("https://acme.example/help?x=1#old"), Some("https://acme.example/help?x=1"));
        assert_eq!(ok("https://acme.example"), Some("https://acme.example"));
        assert_eq!(ok("http://localhost:8080/"), Some("http://localhost:8080/"));
        for bad in [
            "https://acme.example.evil.test/",
            "https://evil.test/https://acme.example",
            "https://acme.example@evil.test/",
            "javascript:alert(1)",
            "https://acme.example/a b",
            "//acme.example/",
        ] {
            assert_eq!(ok(bad), None, "{bad}");
        }
    }
}
