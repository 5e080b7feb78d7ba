//! Every REST body of the protocol, decoded from hostile JSON, and the limits both sides
//! enforce, checked against what they promise.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_protocol::auth::{
    ChangePasswordRequest, CompleteSignUpRequest, ForgotPasswordRequest, LoginRequest, RegisterRequest,
    ResetPasswordRequest, SessionList, SessionRequest, TokenResponse,
};
use palisade_protocol::limits::{self, DISPLAY_NAME_MAX, EMAIL_MAX, MESSAGE_BODY_MAX, PASSWORD_MAX, PASSWORD_MIN};
use palisade_protocol::messages::{HistoryPage, HistoryQuery};
use palisade_protocol::mfa::{
    MfaChallenge, MfaStatus, MfaVerifyRequest, ReauthRequest, RecoveryCodes, TotpConfirmRequest, TotpEnrollment,
};
use palisade_protocol::rooms::RoomList;
use palisade_protocol::{ErrorBody, SitePublicId};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Decodes `data` as `T`; what decodes must encode and decode back to itself.
fn round_trip<T>(data: &[u8]) -> Option<T>
where
    T: DeserializeOwned + Serialize + PartialEq,
{
    let value = serde_json::from_slice::<T>(data).ok()?;
    let json = serde_json::to_vec(&value).expect("a decoded body encodes");
    let again: T = serde_json::from_slice(&json).expect("an encoded body decodes");
    assert!(again == value, "round trip changed the body");
    Some(value)
}

fn no_control(value: &str, allowed: &[char]) -> bool {
    !value.chars().any(|c| c.is_control() && !allowed.contains(&c))
}

/// Each check's promise, tested on anything: when it says yes, the value really is in bounds.
fn check_limits(value: &str) {
    let chars = value.chars().count();
    if limits::check_email(value).is_ok() {
        assert!(chars <= EMAIL_MAX && value.contains('@') && !value.chars().any(char::is_whitespace));
    }
    if limits::check_password(value).is_ok() {
        assert!((PASSWORD_MIN..=PASSWORD_MAX).contains(&chars));
    }
    if limits::check_display_name(value).is_ok() {
        assert!((1..=DISPLAY_NAME_MAX).contains(&chars) && no_control(value, &[]) && !value.trim().is_empty());
    }
    if limits::check_message_body(value).is_ok() {
        assert!((1..=MESSAGE_BODY_MAX).contains(&chars) && no_control(value, &['\n', '\t']));
        assert!(!value.trim().is_empty());
    }
    if let Ok(site) = value.parse::<SitePublicId>() {
        assert!(site.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(body) = round_trip::<RegisterRequest>(data) {
        check_limits(&body.email);
        check_limits(&body.return_to);
    }
    if let Some(body) = round_trip::<CompleteSignUpRequest>(data) {
        for field in [&body.token, &body.password, &body.display_name] {
            check_limits(field);
        }
    }
    if let Some(body) = round_trip::<LoginRequest>(data) {
        check_limits(&body.email);
        check_limits(&body.password);
    }
    if let Some(body) = round_trip::<ChangePasswordRequest>(data) {
        check_limits(&body.current_password);
        check_limits(&body.new_password);
    }
    if let Some(body) = round_trip::<ForgotPasswordRequest>(data) {
        check_limits(&body.email);
        check_limits(&body.return_to);
    }
    if let Some(body) = round_trip::<ResetPasswordRequest>(data) {
        check_limits(&body.token);
        check_limits(&body.new_password);
    }
    if let Some(body) = round_trip::<MfaVerifyRequest>(data) {
        check_limits(&body.code);
    }
    if let Some(body) = round_trip::<TotpConfirmRequest>(data) {
        check_limits(&body.code);
    }
    if let Some(body) = round_trip::<ReauthRequest>(data) {
        check_limits(&body.password);
    }
    round_trip::<SessionRequest>(data);
    round_trip::<HistoryQuery>(data);
    // Responses: the widget decodes these.
    round_trip::<TokenResponse>(data);
    round_trip::<SessionList>(data);
    round_trip::<MfaChallenge>(data);
    round_trip::<MfaStatus>(data);
    round_trip::<TotpEnrollment>(data);
    round_trip::<RecoveryCodes>(data);
    round_trip::<RoomList>(data);
    round_trip::<HistoryPage>(data);
    round_trip::<ErrorBody>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_limits(text);
    }
});
