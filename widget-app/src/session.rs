//! Who is signed in. The access token lives in this signal and nowhere else: not in
//! localStorage, sessionStorage or a cookie, so a script on the host page cannot read it and it
//! is gone when the page is. What survives a reload is the server's HttpOnly refresh cookie,
//! which the widget never sees (see `auth`).

use leptos::prelude::*;
use palisade_protocol::auth::TokenResponse;
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

/// Renew this long before the access token expires, so a request made in the last moments of
/// its life (or a renewal that needs a retry) still finds a valid token.
const RENEW_MARGIN_MILLIS: i64 = 60_000;

/// When a token received at `received_at` (ms) and valid for `expires_in` seconds should be
/// renewed: a minute before it expires, or half-way through a lifetime shorter than two minutes.
pub fn renew_at(received_at: i64, expires_in: u64) -> i64 {
    let lifetime = i64::try_from(expires_in.saturating_mul(1000)).unwrap_or(i64::MAX);
    let lead = if lifetime >= 2 * RENEW_MARGIN_MILLIS { lifetime - RENEW_MARGIN_MILLIS } else { lifetime / 2 };
    received_at.saturating_add(lead)
}

#[derive(Debug, Clone, Copy)]
pub struct Session {
    token: RwSignal<Option<AccessToken>>,
    /// True until the first answer to the refresh on mount: whether the person is signed in is
    /// not known yet, so neither the form nor the conversation is shown.
    resuming: RwSignal<bool>,
    /// When the current token should be renewed, in browser milliseconds.
    renew_at: StoredValue<i64>,
    /// Counts tokens received, so a renewal that waited for the lock can tell that another task
    /// of this page has renewed meanwhile.
    version: StoredValue<u64>,
    /// Known once the WebSocket says `ready`: the token itself is opaque to the widget.
    user: RwSignal<Option<Author>>,
    /// Why the person was signed out, shown on the sign-in form.
    notice: RwSignal<Option<String>>,
    /// The site requires a second factor of this person, who has none yet: until one is set
    /// up, the session may do nothing else, so the conversation is not opened.
    mfa_required: RwSignal<bool>,
}

impl Session {
    pub fn new() -> Self {
        Self {
            token: RwSignal::new(None),
            resuming: RwSignal::new(true),
            renew_at: StoredValue::new(0),
            version: StoredValue::new(0),
            user: RwSignal::new(None),
            notice: RwSignal::new(None),
            mfa_required: RwSignal::new(false),
        }
    }

    pub fn is_signed_in(&self) -> bool {
        self.token.with(Option::is_some)
    }

    pub fn is_resuming(&self) -> bool {
        self.resuming.get()
    }

    pub fn resumed(&self) {
        self.resuming.set(false);
    }

    pub fn token(&self) -> Option<AccessToken> {
        self.token.get_untracked()
    }

    /// Which token [`Session::token`] currently returns; see [`Session::version`].
    pub fn version(&self) -> u64 {
        self.version.get_value()
    }

    pub fn renew_at(&self) -> i64 {
        self.renew_at.get_value()
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

    pub fn is_mfa_required(&self) -> bool {
        self.mfa_required.get()
    }

    pub fn is_mfa_required_untracked(&self) -> bool {
        self.mfa_required.get_untracked()
    }

    /// Whether a second factor must be set up before anything else.
    pub fn set_mfa_required(&self, required: bool) {
        self.mfa_required.set(required);
    }

    /// A new session: whoever was signed in before is forgotten.
    pub fn sign_in(&self, token: TokenResponse, now: i64) {
        self.notice.set(None);
        self.user.set(None);
        self.mfa_required.set(token.mfa_enrolment_required);
        self.resuming.set(false);
        self.renew(token, now);
    }

    /// A fresh token for the same session; everything else stays.
    pub fn renew(&self, token: TokenResponse, now: i64) {
        self.renew_at.set_value(renew_at(now, token.expires_in));
        self.version.update_value(|version| *version = version.wrapping_add(1));
        self.token.set(Some(AccessToken::new(token.access_token)));
    }

    pub fn set_user(&self, user: Author) {
        self.user.set(Some(user));
    }

    pub fn sign_out(&self, notice: Option<String>) {
        self.token.set(None);
        self.user.set(None);
        self.mfa_required.set(false);
        self.resuming.set(false);
        self.version.update_value(|version| *version = version.wrapping_add(1));
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

    #[test]
    fn tokens_are_renewed_a_minute_early_or_half_way() {
        assert_eq!(renew_at(1_000, 600), 1_000 + 540_000);
        assert_eq!(renew_at(0, 120), 60_000);
        assert_eq!(renew_at(0, 60), 30_000);
        assert_eq!(renew_at(0, 0), 0);
        assert!(renew_at(i64::MAX - 5, u64::MAX) == i64::MAX, "saturates instead of overflowing");
    }
}
