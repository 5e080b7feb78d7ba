//! Where the widget talks to: the chat server's origin and the site it speaks for. Every REST
//! and WebSocket URL is derived here so no other module concatenates URLs by hand.

use palisade_protocol::SitePublicId;
use palisade_protocol::ids::InvalidSitePublicId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    site: SitePublicId,
    /// `scheme://host[:port]`, no trailing slash.
    server: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Site(InvalidSitePublicId),
    Server,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Site(err) => write!(f, "Palisade: data-site is invalid: {err}"),
            Self::Server => f.write_str(
                "Palisade: the server must be an http(s) origin such as https://chat.example.com \
                 (no path, query or credentials)",
            ),
        }
    }
}

impl Config {
    pub fn new(site: &str, server: &str) -> Result<Self, ConfigError> {
        let site = site.parse().map_err(ConfigError::Site)?;
        let server = normalise_origin(server).ok_or(ConfigError::Server)?;
        Ok(Self { site, server })
    }

    pub fn site(&self) -> &SitePublicId {
        &self.site
    }

    /// `path` starts with `/` and is relative to `/api/v1`.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.server)
    }

    /// The chat server's origin as configured (`scheme://host[:port]`).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Where the sign-in popup of `provider` starts: the page's origin is where the result
    /// will be posted, the challenge is the S256 hash of the verifier kept here.
    pub fn oauth_start_url(&self, provider: &str, page_origin: &str, challenge: &str) -> String {
        format!(
            "{}/api/v1/auth/oauth/{}/start?site={}&origin={}&code_challenge={}&code_challenge_method=S256",
            self.server,
            encode(provider),
            self.site,
            encode(page_origin),
            encode(challenge)
        )
    }

    pub fn ws_url(&self) -> String {
        // The site id alphabet (a-z, 0-9, '-') needs no percent-encoding.
        let origin = match self.server.split_once("://") {
            Some(("https", rest)) => format!("wss://{rest}"),
            Some((_, rest)) => format!("ws://{rest}"),
            None => self.server.clone(),
        };
        format!("{origin}/api/v1/ws?site={}", self.site)
    }
}

/// Accepts only a bare origin. A path would silently change every endpoint, and userinfo
/// (`user:pass@`) is a classic way to disguise where requests really go.
fn normalise_origin(raw: &str) -> Option<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let (scheme, authority) = trimmed.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let clean = !authority.is_empty()
        && !authority.chars().any(|c| matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace() || c.is_control());
    clean.then(|| format!("{scheme}://{authority}"))
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a value can sit in a
/// path segment or a query and never change the URL's structure.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oauth_start_url_encodes_what_it_is_given() {
        let config = Config::new("demo", "https://chat.example").unwrap();
        assert_eq!(
            config.oauth_start_url("git hub/x", "http://localhost:8080", "abc-_DEF"),
            "https://chat.example/api/v1/auth/oauth/git%20hub%2Fx/start?site=demo\
             &origin=http%3A%2F%2Flocalhost%3A8080&code_challenge=abc-_DEF&code_challenge_method=S256"
        );
        assert_eq!(encode("a&b=c?#é"), "a%26b%3Dc%3F%23%C3%A9");
    }

    #[test]
    fn urls_derive_from_the_origin() {
        let config = Config::new("demo", "https://localhost:8443/").unwrap();
        assert_eq!(config.api_url("/auth/login"), "https://localhost:8443/api/v1/auth/login");
        assert_eq!(config.ws_url(), "wss://localhost:8443/api/v1/ws?site=demo");

        let plain = Config::new("dev", "http://127.0.0.1:8080").unwrap();
        assert_eq!(plain.ws_url(), "ws://127.0.0.1:8080/api/v1/ws?site=dev");
    }

    #[test]
    fn only_bare_http_origins_are_accepted() {
        for bad in [
            "",
            "localhost:8443",
            "ftp://x",
            "javascript://x",
            "https://",
            "https://a/b",
            "https://a?b",
            "https://user:pw@a",
            "https://a b",
        ] {
            assert_eq!(Config::new("demo", bad), Err(ConfigError::Server), "{bad:?}");
        }
        assert!(matches!(Config::new("Not A Site", "https://a"), Err(ConfigError::Site(_))));
    }
}
