//! GitHub speaks OAuth 2 without OpenID Connect: the person is whoever its API says owns the
//! access token. The numeric account id is the subject (logins can be renamed and re-used).

use serde::Deserialize;

use super::provider::Identity;
use super::{OAuthError, get_json};

pub const AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
pub const TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
/// What GitHub names itself in the RFC 9207 `iss` parameter.
pub const ISSUER: &str = "https://github.com/login/oauth";
const USER_URL: &str = "https://api.github.com/user";
const EMAILS_URL: &str = "https://api.github.com/user/emails";

#[derive(Debug, Deserialize)]
struct User {
    id: u64,
    login: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

pub async fn identity(http: &reqwest::Client, access_token: &str) -> Result<Identity, OAuthError> {
    let url = |u: &str| reqwest::Url::parse(u).map_err(|e| OAuthError::Metadata(e.to_string()));
    let user: User = get_json(http, url(USER_URL)?, Some(access_token)).await?;
    // Only a verified address is kept: GitHub lets anyone add any address unverified.
    let emails: Vec<Email> = get_json(http, url(EMAILS_URL)?, Some(access_token)).await.unwrap_or_default();
    let email = emails.into_iter().find(|e| e.primary && e.verified).map(|e| e.email);
    Ok(Identity { subject: user.id.to_string(), email, name: Some(user.name.unwrap_or(user.login)) })
}
