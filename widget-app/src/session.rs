//! Who is signed in. The access token lives in this signal and nowhere else: not in
//! localStorage, sessionStorage or a cookie, so a script on the host page cannot read it and it
//! is gone when the page is.

use leptos::prelude::*;
use palisade_protocol::messages::Author;

/// A bearer token. `Debug` is redacted so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: String) -> Self {
        Self(token)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Session {
    token: RwSignal<Option<AccessToken>>,
    /// Known once the WebSocket says `ready`: the token itself is opaque to the widget.
    user: RwSignal<Option<Author>>,
    /// Why the person was signed out, shown on the sign-in form.
    notice: RwSignal<Option<String>>,
}

impl Session {
    pub fn new() -> Self {
        Self { token: RwSignal::new(None), user: RwSignal::new(None), notice: RwSignal::new(None) }
    }

    pub fn is_signed_in(&self) -> bool {
        self.token.with(Option::is_some)
    }

    pub fn token(&self) -> Option<AccessToken> {
        self.token.get_untracked()
    }

    pub fn user(&self) -> Option<Author> {
        self.user.get()
    }

    pub fn user_untracked(&self) -> Option<Author> {
        self.user.get_untracked()
    }

    pub fn notice(&self) -> Option<String> {
        self.notice.get()
    }

    pub fn sign_in(&self, token: AccessToken) {
        self.notice.set(None);
        self.user.set(None);
        self.token.set(Some(token));
    }

    pub fn set_user(&self, user: Author) {
        self.user.set(Some(user));
    }

    pub fn sign_out(&self, notice: Option<String>) {
        self.token.set(None);
        self.user.set(None);
        self.notice.set(notice);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_is_redacted() {
        let token = AccessToken::new("eyJ.secret.sig".into());
        assert!(!format!("{token:?}").contains("secret"));
        assert_eq!(token.authorization(), "Bearer eyJ.secret.sig");
    }
}
