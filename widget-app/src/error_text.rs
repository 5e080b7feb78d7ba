//! Words for people. Error codes and limit violations are turned into sentences someone can act
//! on; the server's own message is the fallback because it is written for people too.

use palisade_protocol::ErrorCode;
use palisade_protocol::limits::LimitError;

/// `retry_after` is the server's `Retry-After` in seconds, when it sent one.
pub fn for_code(code: ErrorCode, server_message: &str, retry_after: Option<u64>) -> String {
    let fixed = match code {
        ErrorCode::InvalidCredentials => "That email and password do not match an account here.",
        ErrorCode::OriginNotAllowed => "Chat is not enabled for this website.",
        ErrorCode::Unauthenticated => "Your session has ended. Please sign in again.",
        ErrorCode::ServerBusy => "The chat is very busy right now. Please try again in a moment.",
        ErrorCode::Forbidden => "You are not allowed to do that here.",
        ErrorCode::PayloadTooLarge => "That is too long to send.",
        ErrorCode::MfaEnrolmentRequired => {
            "This site requires two-factor authentication for your role. Please set it up first."
        }
        ErrorCode::RateLimited => {
            return match retry_after {
                Some(1) => "Slow down a little: try again in 1 second.".to_owned(),
                Some(secs) => format!("Slow down a little: try again in {secs} seconds."),
                None => "Slow down a little and try again in a moment.".to_owned(),
            };
        }
        ErrorCode::ValidationFailed if !server_message.is_empty() => {
            return format!("Please check your input: {server_message}");
        }
        _ if !server_message.is_empty() => return server_message.to_owned(),
        _ => "Something went wrong. Please try again.",
    };
    fixed.to_owned()
}

/// Why a provider's popup said the sign-in failed (the `reason` it posts, which the server also
/// writes to the audit trail); `label` is the provider's name.
pub fn for_provider_refusal(reason: &str, label: &str) -> String {
    match reason {
        "consent_denied" => format!("Signing in with {label} was cancelled. Nothing was changed."),
        "sign_up_closed" => {
            format!("This site takes new accounts by invitation only, and your {label} account has none here yet.")
        }
        "account_disabled" => "This account is disabled; contact the site's staff.".to_owned(),
        "provider_unreachable" | "provider_metadata" | "provider_error" => {
            format!("{label} could not be reached. Please try again in a moment.")
        }
        "state_expired" | "browser_mismatch" | "provider_mismatch" => {
            "This sign-in expired or was not started here. Please try again.".to_owned()
        }
        _ => format!("Signing in with {label} did not work. Please try again."),
    }
}

pub fn for_limit(err: &LimitError) -> String {
    match err {
        LimitError::Empty { field } => format!("{} is required.", label(field)),
        LimitError::TooLong { field, max } => {
            format!("{} must be at most {max} characters.", label(field))
        }
        LimitError::TooShort { field, min } => {
            format!("{} must be at least {min} characters.", label(field))
        }
        LimitError::ControlCharacters { field } | LimitError::InvisibleCharacters { field } => {
            format!("{} contains characters that are not allowed.", label(field))
        }
        LimitError::EmailShape => "Enter an email address like name@example.com.".to_owned(),
    }
}

fn label(field: &str) -> &str {
    match field {
        "email" => "Email",
        "password" => "Password",
        "display_name" => "Display name",
        "code" => "The code",
        "body" => "Message",
        "name" => "Name",
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
