//! Words for people. Error codes and limit violations are turned into sentences someone can act
//! on; the server's own message is the fallback because it is written for people too.

use palisade_protocol::ErrorCode;
use palisade_protocol::limits::LimitError;

use crate::i18n::t;

/// `retry_after` is the server's `Retry-After` in seconds, when it sent one.
pub fn for_code(code: ErrorCode, server_message: &str, retry_after: Option<u64>) -> String {
    let t = t();
    let fixed = match code {
        ErrorCode::InvalidCredentials => t.invalid_credentials,
        ErrorCode::OriginNotAllowed => t.origin_not_allowed,
        ErrorCode::Unauthenticated => t.session_ended,
        ErrorCode::ServerBusy => t.server_busy,
        ErrorCode::Forbidden => t.forbidden,
        ErrorCode::PayloadTooLarge => t.too_long_to_send,
        ErrorCode::MfaEnrolmentRequired => t.mfa_enrolment_required,
        ErrorCode::RateLimited => return (t.slow_down)(retry_after),
        ErrorCode::ValidationFailed if !server_message.is_empty() => {
            return (t.check_your_input)(server_message);
        }
        _ if !server_message.is_empty() => return server_message.to_owned(),
        _ => t.something_went_wrong,
    };
    fixed.to_owned()
}

/// Why a provider's popup said the sign-in failed (the `reason` it posts, which the server also
/// writes to the audit trail); `label` is the provider's name.
pub fn for_provider_refusal(reason: &str, label: &str) -> String {
    let t = t();
    match reason {
        "consent_denied" => (t.consent_denied)(label),
        "sign_up_closed" => (t.sign_up_closed)(label),
        "account_disabled" => t.account_disabled.to_owned(),
        "provider_unreachable" | "provider_metadata" | "provider_error" => (t.provider_unreachable)(label),
        "state_expired" | "browser_mismatch" | "provider_mismatch" => t.sign_in_not_started_here.to_owned(),
        _ => (t.provider_failed)(label),
    }
}

pub fn for_limit(err: &LimitError) -> String {
    for_limit_named(err, None)
}

/// As [`for_limit`], with the field called `name` rather than by its usual label.
pub fn for_limit_named(err: &LimitError, name: Option<&str>) -> String {
    let t = t();
    let called = |field: &str| name.unwrap_or_else(|| label(field)).to_owned();
    match err {
        LimitError::Empty { field } => (t.required)(&called(field)),
        LimitError::TooLong { field, max } => (t.at_most)(&called(field), *max),
        LimitError::TooShort { field, min } => (t.at_least)(&called(field), *min),
        LimitError::ControlCharacters { field } | LimitError::InvisibleCharacters { field } => {
            (t.bad_characters)(&called(field))
        }
        LimitError::EmailShape => t.email_shape.to_owned(),
    }
}

fn label(field: &str) -> &str {
    let t = t();
    match field {
        "email" => t.email,
        "password" => t.password,
        "display_name" => t.display_name,
        "code" => t.the_code,
        "body" => t.message,
        "name" => t.name,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_protocol::limits;

    #[test]
    fn friendly_codes_and_fallbacks() {
        assert!(for_code(ErrorCode::InvalidCredentials, "nope", None).contains("do not match"));
        assert_eq!(for_code(ErrorCode::RateLimited, "", Some(7)), "Slow down a little: try again in 7 seconds.");
        assert_eq!(for_code(ErrorCode::NotFound, "no such room", None), "no such room");
        assert!(for_code(ErrorCode::Internal, "", None).contains("Something went wrong"));
        assert!(for_code(ErrorCode::MfaEnrolmentRequired, "", None).contains("two-factor authentication"));
    }

    #[test]
    fn provider_refusals_name_the_provider() {
        assert_eq!(
            for_provider_refusal("consent_denied", "GitHub"),
            "Signing in with GitHub was cancelled. Nothing was changed."
        );
        assert!(for_provider_refusal("sign_up_closed", "GitHub").contains("invitation only"));
        assert_eq!(for_provider_refusal("<b>new</b>", "X"), "Signing in with X did not work. Please try again.");
    }

    #[test]
    fn limit_errors_use_field_labels() {
        let err = limits::check_display_name("").unwrap_err();
        assert_eq!(for_limit(&err), "Display name is required.");
        let err = limits::check_password("short").unwrap_err();
        assert_eq!(for_limit(&err), format!("Password must be at least {} characters.", limits::PASSWORD_MIN));
    }
}
