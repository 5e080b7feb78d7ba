//! GitHub speaks OAuth 2 without OpenID Connect: the person is whoever its API says owns the
//! access token. The numeric account id is the subject (logins can be renamed and re-used).

use serde::Deserialize;

use super::provider::Identity;
use super::{OAuthError, get_json};

/// Where a GitHub lives: github.com, or a GitHub Enterprise Server at its own address (whose
/// REST API is under `/api/v3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub authorize: String,
    pub token: String,
    /// What it names itself in the RFC 9207 `iss` parameter.
    pub issuer: String,
    user: String,
    emails: String,
}

impl Endpoints {
    /// github.com when `server` is `None`; otherwise the Enterprise Server at `server`.
    pub fn of(server: Option<&str>) -> Self {
        match server.map(|s| s.trim_end_matches('/')) {
            None | Some("https://github.com") => Self::at("https://github.com", "https://api.github.com"),
            Some(server) => Self::at(server, &format!("{server}/api/v3")),
        }
    }

    fn at(web: &str, api: &str) -> Self {
        Self {
            authorize: format!("{web}/login/oauth/authorize"),
            token: format!("{web}/login/oauth/access_token"),
            issuer: format!("{web}/login/oauth"),
            user: format!("{api}/user"),
            emails: format!("{api}/user/emails"),
        }
    }
}

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

pub async fn identity(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    access_token: &str,
) -> Result<Identity, OAuthError> {
    let url = |u: &str| reqwest::Url::parse(u).map_err(|e| OAuthError::Metadata(e.to_string()));
    let user: User = get_json(http, url(&endpoints.user)?, Some(access_token)).await?;
    // Only a verified address is kept: GitHub lets anyone add any address unverified.
    let emails: Vec<Email> = get_json(http, url(&endpoints.emails)?, Some(access_token)).await.unwrap_or_default();
    let email = verified_primary(emails);
    Ok(Identity { subject: user.id.to_string(), email, name: Some(user.name.unwrap_or(user.login)) })
}

/// The primary address, and only if GitHub has verified it: anyone may add any address to a
/// GitHub account unverified.
fn verified_primary(emails: Vec<Email>) -> Option<String> {
    emails.into_iter().find(|e| e.primary && e.verified).map(|e| e.email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_primary_address_is_kept() {
        let email = |email: &str, primary, verified| Email { email: email.into(), primary, verified };
        assert_eq!(verified_primary(vec![email("a@x", true, false), email("b@x", false, true)]), None);
        assert_eq!(verified_primary(vec![email("a@x", false, true), email("b@x", true, true)]), Some("b@x".into()));
        assert_eq!(verified_primary(Vec::new()), None);
    }

    #[test]
    fn github_com_and_an_enterprise_server_have_their_own_endpoints() {
        let com = Endpoints::of(None);
        assert_eq!(com, Endpoints::of(Some("https://github.com/")));
        assert_eq!(com.token, "https://github.com/login/oauth/access_token");
        assert_eq!(com.user, "https://api.github.com/user");
        let enterprise = Endpoints::of(Some("https://git.example.com"));
        assert_eq!(enterprise.authorize, "https://git.example.com/login/oauth/authorize");
        assert_eq!(enterprise.issuer, "https://git.example.com/login/oauth");
        assert_eq!(enterprise.emails, "https://git.example.com/api/v3/user/emails");
    }
}
