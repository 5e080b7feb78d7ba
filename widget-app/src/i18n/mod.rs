//! The widget's words in every language it speaks, and which one it speaks now.
//!
//! Each language is one [`Strings`] value: a field per visible text (labels, aria-labels,
//! messages), and a function where a text holds a number or a name, so plurals follow each
//! language's own rules. A language missing a text does not compile; nothing is looked up by
//! key at run time.
//!
//! Which language: `Palisade.setLocale()`, else the script tag's `data-locale`, else the host
//! page's `<html lang>`, else the browser's `navigator.languages`, else English. A tag matches
//! by its language alone (`de-AT` is German).

mod ar;
mod de;
mod en;

use std::cell::Cell;

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Locale {
    #[default]
    En,
    De,
    Ar,
}

impl Locale {
    pub const ALLOWED: &'static str = "a language tag of \"en\", \"de\" or \"ar\", such as \"de-AT\"";

    /// The supported language of a BCP 47 tag, by its primary language subtag.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let language = tag.trim().split(['-', '_']).next()?;
        match language.to_ascii_lowercase().as_str() {
            "en" => Some(Self::En),
            "de" => Some(Self::De),
            "ar" => Some(Self::Ar),
            _ => None,
        }
    }

    /// The first supported tag among `candidates` (most wanted first); English when none is.
    pub fn resolve<'a>(candidates: impl IntoIterator<Item = &'a str>) -> Self {
        candidates.into_iter().find_map(Self::from_tag).unwrap_or_default()
    }

    /// For `lang` and for `Intl`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::De => "de",
            Self::Ar => "ar",
        }
    }

    pub fn is_rtl(self) -> bool {
        self == Self::Ar
    }

    /// What the page and the browser ask for: `<html lang>`, then `navigator.languages`.
    pub fn from_page() -> Self {
        let Some(window) = web_sys::window() else {
            return Self::default();
        };
        let page = window.document().and_then(|doc| doc.document_element()).and_then(|html| html.get_attribute("lang"));
        let browser: Vec<String> = window.navigator().languages().iter().filter_map(|tag| tag.as_string()).collect();
        Self::resolve(page.iter().chain(&browser).map(String::as_str))
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Self::En => &en::EN,
            Self::De => &de::DE,
            Self::Ar => &ar::AR,
        }
    }
}

thread_local! {
    /// The mounted widget's locale (`Embed::locale`); none in native tests, which read English.
    static ACTIVE: Cell<Option<RwSignal<Locale>>> = const { Cell::new(None) };
}

/// Makes `locale` the one [`t`] reads; called once, when the widget mounts.
pub fn install(locale: RwSignal<Locale>) {
    ACTIVE.with(|active| active.set(Some(locale)));
}

/// The active locale; read inside a reactive closure, the closure runs again when it changes.
pub fn locale() -> Locale {
    ACTIVE.with(Cell::get).and_then(|locale| locale.try_get()).unwrap_or_default()
}

/// The words of the active locale (see [`locale`]).
pub fn t() -> &'static Strings {
    locale().strings()
}

/// Every visible text, in one language.
pub struct Strings {
    // The panel and the launcher.
    pub chat: &'static str,
    pub open_chat: &'static str,
    pub close_chat: &'static str,
    pub connecting: &'static str,
    pub connected: &'static str,
    pub reconnecting: &'static str,
    /// What a screen reader says after a name or label; never called with 0.
    pub unread: fn(u64) -> String,
    pub conversations: &'static str,
    /// Said after the name of the other person in a conversation.
    pub online: &'static str,
    pub offline: &'static str,
    /// The rooms button with unread messages in other rooms (never 0).
    pub conversations_elsewhere: fn(u64) -> String,
    pub signed_in_as: fn(&str) -> String,
    pub your_account: &'static str,
    pub sign_out: &'static str,
    pub loading_conversation: &'static str,
    pub try_again: &'static str,
    pub no_conversation_yet: &'static str,
    pub start_one: &'static str,
    pub message: &'static str,
    pub write_a_message: &'static str,
    pub send_message: &'static str,
    pub two_factor: &'static str,
    pub mfa_required_reason: &'static str,

    // Signing in.
    pub sign_in_to_chat: &'static str,
    pub create_an_account: &'static str,
    pub finish_account: &'static str,
    pub forgot_your_password: &'static str,
    pub choose_new_password: &'static str,
    pub reply_time: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub new_password: &'static str,
    pub new_password_hint: fn(usize) -> String,
    pub display_name: &'static str,
    pub recovery_code: &'static str,
    pub authenticator_code: &'static str,
    pub please_wait: &'static str,
    pub email_me_a_link: &'static str,
    pub create_account: &'static str,
    pub sign_in: &'static str,
    pub send_me_a_link: &'static str,
    pub change_password: &'static str,
    pub have_an_account: &'static str,
    pub new_here: &'static str,
    pub forgot_password: &'static str,
    pub use_authenticator: &'static str,
    pub use_recovery_code: &'static str,
    pub back_to_sign_in: &'static str,
    pub reset_link_sent: &'static str,
    pub sign_up_link_sent: fn(&str) -> String,
    pub password_changed_sign_in: &'static str,
    pub sign_in_expired: &'static str,
    pub code_not_right: &'static str,
    pub link_expired: &'static str,
    pub no_email_here: &'static str,
    /// The submit button while a countdown runs, in seconds.
    pub try_again_in: fn(u64) -> String,
    pub too_many_attempts: &'static str,
    pub sign_in_with: &'static str,
    pub or: &'static str,
    pub finish_in_window: &'static str,
    pub just_a_moment: &'static str,
    pub provider_sign_in_expired: &'static str,
    pub popup_blocked: &'static str,
    pub popup_closed: fn(&str) -> String,

    // The conversation.
    pub back_to_conversation: &'static str,
    pub no_conversations_yet: &'static str,
    pub new_support_conversation: &'static str,
    pub show_earlier: &'static str,
    pub no_messages_yet: &'static str,
    pub messages: &'static str,
    pub edited: &'static str,
    pub sending: &'static str,
    pub not_sent: &'static str,
    pub retry: &'static str,
    pub discard: &'static str,
    pub edit_message: &'static str,
    pub delete_message: &'static str,
    pub delete_this_message: &'static str,
    pub edit: &'static str,
    pub delete: &'static str,
    pub save: &'static str,
    pub cancel: &'static str,
    pub you: &'static str,
    pub message_unavailable: &'static str,
    pub message_deleted: &'static str,
    pub today: &'static str,
    pub yesterday: &'static str,
    /// Up to three names, and how many more read it too.
    pub seen_by: fn(&[&str], usize) -> String,
    /// The first name, the second when exactly two type, and how many more than one type.
    pub typing: fn(&str, Option<&str>, usize) -> String,
    pub not_open_yet: &'static str,
    pub no_crypto: &'static str,
    pub no_longer_in_room: &'static str,
    pub could_not_sign_out: fn(&str) -> String,

    // The account.
    pub where_signed_in: &'static str,
    pub loading: &'static str,
    pub signed_out_of: fn(&str) -> String,
    pub already_signed_out: fn(&str) -> String,
    pub this_device: &'static str,
    pub network: fn(&str) -> String,
    pub last_active: fn(&str) -> String,
    /// The device, then what else is known about the session.
    pub end_session_on: fn(&str, &str) -> String,
    pub end: &'static str,
    pub password_changed_everywhere: &'static str,
    pub current_password_wrong: &'static str,
    pub change_your_password: &'static str,
    pub current_password: &'static str,
    pub account_password_hint: fn(usize) -> String,
    pub enter_current_password: &'static str,
    pub not_current_password: &'static str,
    pub the_new_password: &'static str,
    pub mfa_turned_on: &'static str,
    pub mfa_turned_off: &'static str,
    pub new_codes_made: &'static str,
    pub copied: &'static str,
    pub copy_failed: &'static str,
    pub mfa_off: &'static str,
    pub mfa_on: fn(u64) -> String,
    pub set_up: &'static str,
    pub turn_off: &'static str,
    pub new_recovery_codes: &'static str,
    pub scan_hint: &'static str,
    pub six_digit_code: &'static str,
    pub turn_on: &'static str,
    pub your_password: &'static str,
    pub make_new_codes: &'static str,
    pub keep_codes_safe: &'static str,
    pub copy: &'static str,
    pub download: &'static str,
    pub done: &'static str,
    pub totp_not_right: &'static str,
    pub password_not_right: &'static str,
    pub qr_code: &'static str,
    pub key: &'static str,

    // Errors.
    pub invalid_credentials: &'static str,
    pub origin_not_allowed: &'static str,
    pub session_ended: &'static str,
    pub server_busy: &'static str,
    pub forbidden: &'static str,
    pub too_long_to_send: &'static str,
    pub mfa_enrolment_required: &'static str,
    /// Rate limited, with the seconds to wait when the server said.
    pub slow_down: fn(Option<u64>) -> String,
    pub check_your_input: fn(&str) -> String,
    pub something_went_wrong: &'static str,
    pub consent_denied: fn(&str) -> String,
    pub sign_up_closed: fn(&str) -> String,
    pub account_disabled: &'static str,
    pub provider_unreachable: fn(&str) -> String,
    pub sign_in_not_started_here: &'static str,
    pub provider_failed: fn(&str) -> String,
    pub required: fn(&str) -> String,
    pub at_most: fn(&str, usize) -> String,
    pub at_least: fn(&str, usize) -> String,
    pub bad_characters: fn(&str) -> String,
    pub email_shape: &'static str,
    pub the_code: &'static str,
    pub name: &'static str,
    pub server_status: fn(u16) -> String,
    pub unreachable: &'static str,
    pub not_understood: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_by_language() {
        assert_eq!(Locale::from_tag("de"), Some(Locale::De));
        assert_eq!(Locale::from_tag("de-AT"), Some(Locale::De));
        assert_eq!(Locale::from_tag("AR-eg"), Some(Locale::Ar));
        assert_eq!(Locale::from_tag("en_GB"), Some(Locale::En));
        for unsupported in ["", "fr", "deu", "xx", "d", "-de", "arabic"] {
            assert_eq!(Locale::from_tag(unsupported), None, "{unsupported:?}");
        }
    }

    #[test]
    fn the_first_supported_source_wins() {
        assert_eq!(Locale::resolve(["fr-FR", "ar-EG", "de"]), Locale::Ar);
        assert_eq!(Locale::resolve(["de-CH", "en"]), Locale::De);
        assert_eq!(Locale::resolve(["fr", "es", "xx"]), Locale::En);
        assert_eq!(Locale::resolve([]), Locale::En);
    }

    #[test]
    fn tags_round_trip_and_only_arabic_is_right_to_left() {
        for locale in [Locale::En, Locale::De, Locale::Ar] {
            assert_eq!(Locale::from_tag(locale.tag()), Some(locale));
            assert_eq!(locale.is_rtl(), locale == Locale::Ar);
        }
    }

    #[test]
    fn without_a_mounted_widget_english_is_read() {
        assert_eq!(t().sign_in, "Sign in");
    }

    #[test]
    fn counts_follow_each_language() {
        let (en, de, ar) = (Locale::En.strings(), Locale::De.strings(), Locale::Ar.strings());
        assert_eq!([(en.unread)(1), (en.unread)(3)], ["1 unread message", "3 unread messages"]);
        assert_eq!([(de.unread)(1), (de.unread)(3)], ["1 ungelesene Nachricht", "3 ungelesene Nachrichten"]);
        assert_eq!(
            [1, 2, 3, 10, 11, 99, 100, 103].map(ar.unread),
            [
                "رسالة واحدة غير مقروءة",
                "رسالتان غير مقروءتين",
                "3 رسائل غير مقروءة",
                "10 رسائل غير مقروءة",
                "11 رسالة غير مقروءة",
                "99 رسالة غير مقروءة",
                "100 رسالة غير مقروءة",
                "103 رسائل غير مقروءة",
            ]
        );
        assert_eq!((de.slow_down)(Some(1)), "Bitte etwas langsamer: Versuchen Sie es in 1 Sekunde erneut.");
        assert_eq!((ar.try_again_in)(2), "أعد المحاولة بعد ثانيتين");
    }
}
