//! Limits both sides enforce: the widget to tell people early, the server because it must.
//! Lengths of human text are counted in Unicode scalar values (`char`s), never bytes, so no
//! script is penalised and nothing is truncated mid-character.

use thiserror::Error;

pub const SITE_PUBLIC_ID_MAX: usize = 64;
pub const EMAIL_MAX: usize = 254;
pub const DISPLAY_NAME_MAX: usize = 64;
pub const ROOM_NAME_MAX: usize = 80;
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 128;
pub const MESSAGE_BODY_MAX: usize = 4000;
/// The largest page of history one request returns.
pub const HISTORY_PAGE_MAX: u32 = 100;
pub const HISTORY_PAGE_DEFAULT: u32 = 50;
/// The largest WebSocket frame the server reads; a longer one closes the connection.
pub const WS_FRAME_MAX_BYTES: usize = 64 * 1024;
/// Seconds a new WebSocket has to send its `auth` frame.
pub const WS_AUTH_TIMEOUT_SECS: u64 = 5;
/// Seconds between two typing notices the server passes on for one person in one room.
pub const TYPING_EVERY_SECS: u64 = 2;
/// The largest REST request body the server reads.
pub const REST_BODY_MAX_BYTES: usize = 16 * 1024;

/// A value that breaks one of the limits above, with a message a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LimitError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} must be at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} must be at least {min} characters")]
    TooShort { field: &'static str, min: usize },
    #[error("{field} must not contain control characters")]
    ControlCharacters { field: &'static str },
    #[error("{field} must not contain invisible or direction-changing characters")]
    InvisibleCharacters { field: &'static str },
    #[error("email must look like name@domain")]
    EmailShape,
}

fn check_length(field: &'static str, value: &str, min: usize, max: usize) -> Result<(), LimitError> {
    let chars = value.chars().count();
    if chars == 0 || value.trim().is_empty() {
        return Err(LimitError::Empty { field });
    }
    if chars < min {
        return Err(LimitError::TooShort { field, min });
    }
    if chars > max {
        return Err(LimitError::TooLong { field, max });
    }
    Ok(())
}

/// A display name: 1 to [`DISPLAY_NAME_MAX`] characters; see [`check_name`].
pub fn check_display_name(value: &str) -> Result<(), LimitError> {
    check_name("display_name", value, DISPLAY_NAME_MAX)
}

/// A room name or a support subject: 1 to [`ROOM_NAME_MAX`] characters; see [`check_name`].
pub fn check_room_name(value: &str) -> Result<(), LimitError> {
    check_name("name", value, ROOM_NAME_MAX)
}

/// A name others see in their lists: no control characters, and none of the invisible or
/// bidirectional formatting characters that would let it pass itself off as another.
fn check_name(field: &'static str, value: &str, max: usize) -> Result<(), LimitError> {
    check_length(field, value, 1, max)?;
    if value.chars().any(char::is_control) {
        return Err(LimitError::ControlCharacters { field });
    }
    if value.chars().any(crate::markup::is_invisible) {
        return Err(LimitError::InvisibleCharacters { field });
    }
    Ok(())
}

/// A password: [`PASSWORD_MIN`] to [`PASSWORD_MAX`] characters of anything; no composition rules.
pub fn check_password(value: &str) -> Result<(), LimitError> {
    let chars = value.chars().count();
    if chars < PASSWORD_MIN {
        return Err(LimitError::TooShort { field: "password", min: PASSWORD_MIN });
    }
    if chars > PASSWORD_MAX {
        return Err(LimitError::TooLong { field: "password", max: PASSWORD_MAX });
    }
    Ok(())
}

/// An email address of plausible shape. Deliverability is proven by mail, not by a regex.
pub fn check_email(value: &str) -> Result<(), LimitError> {
    check_length("email", value, 3, EMAIL_MAX)?;
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Err(LimitError::EmailShape);
    };
    let shaped = !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if shaped { Ok(()) } else { Err(LimitError::EmailShape) }
}

/// A message body: 1 to [`MESSAGE_BODY_MAX`] characters, not only white space. Line breaks and
/// tabs are text; other control characters are refused.
pub fn check_message_body(value: &str) -> Result<(), LimitError> {
    check_length("body", value, 1, MESSAGE_BODY_MAX)?;
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(LimitError::ControlCharacters { field: "body" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_body_bounds() {
        assert!(check_message_body("hi").is_ok());
        assert!(check_message_body("line\nbreak\ttab").is_ok());
        assert_eq!(check_message_body("   "), Err(LimitError::Empty { field: "body" }));
        assert!(check_message_body(&"é".repeat(MESSAGE_BODY_MAX)).is_ok());
        assert_eq!(
            check_message_body(&"é".repeat(MESSAGE_BODY_MAX + 1)),
            Err(LimitError::TooLong { field: "body", max: MESSAGE_BODY_MAX })
        );
        assert!(check_message_body("bell\u{7}").is_err());
    }

    #[test]
    fn password_is_counted_in_characters_without_composition_rules() {
        assert!(check_password("aaaaaaaaaaa").is_err());
        assert!(check_password("correct horse").is_ok());
        assert!(check_password(&"密".repeat(PASSWORD_MIN)).is_ok());
        assert!(check_password(&"x".repeat(PASSWORD_MAX + 1)).is_err());
    }

    #[test]
    fn email_shape() {
        assert!(check_email("a@b.example").is_ok());
        for bad in ["", "ab", "no-at.example", "@b.example", "a@", "a b@c.d", "a@.x"] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn room_and_display_names_refuse_characters_that_disguise_them() {
        assert!(check_room_name("Billing questions").is_ok());
        assert!(check_room_name("تذاكر الدعم").is_ok());
        assert_eq!(check_room_name("  "), Err(LimitError::Empty { field: "name" }));
        assert!(check_room_name("line\nbreak").is_err());
        assert_eq!(check_room_name("general\u{202E}nimda"), Err(LimitError::InvisibleCharacters { field: "name" }));
        assert_eq!(
            check_display_name("Ada\u{202E}nimda"),
            Err(LimitError::InvisibleCharacters { field: "display_name" }),
            "a person's name cannot pose as another either"
        );
        assert!(check_display_name("عائشة").is_ok());
        assert!(check_room_name(&"r".repeat(ROOM_NAME_MAX + 1)).is_err());
    }

    #[test]
    fn display_name_refuses_control_characters() {
        assert!(check_display_name("Ada Lovelace").is_ok());
        assert!(check_display_name("Ada\u{1b}[31m").is_err());
        assert!(check_display_name(&"n".repeat(DISPLAY_NAME_MAX + 1)).is_err());
    }
}
