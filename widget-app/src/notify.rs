//! What the widget does for new messages while its panel is closed, when the site owner asks
//! for it with `data-notify`: a count before the page's title ("(2) Pricing"), a short chime,
//! or both. Off by default: a page's title and sound belong to its owner.

use leptos::prelude::*;

use crate::chat::Chat;
use crate::embed::Embed;
use crate::host_events::total_unread;

/// Which notices `data-notify` turns on: any of `title` and `sound`, separated by spaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notify {
    pub title: bool,
    pub sound: bool,
}

impl Notify {
    pub const ALLOWED: &'static str = "\"title\", \"sound\" or both separated by a space";

    pub fn parse(value: &str) -> Option<Self> {
        let mut notify = Self::default();
        for token in value.split_ascii_whitespace() {
            match token {
                "title" => notify.title = true,
                "sound" => notify.sound = true,
                _ => return None,
            }
        }
        Some(notify)
    }
}

/// `title` with `unread` in front, in place of the count `before` this widget put there last
/// (0: none), so the page's own title, even one it changed since, is kept as it is.
pub fn badged_title(title: &str, before: u64, unread: u64) -> String {
    let badge = format!("({before}) ");
    let own = if before == 0 { title } else { title.strip_prefix(&badge).unwrap_or(title) };
    if unread == 0 { own.to_owned() } else { format!("({unread}) {own}") }
}

/// Keeps the title badge and plays the chime as unread messages come in while the panel is
/// closed. Call within the app's reactive owner.
pub fn watch(chat: Chat, embed: Embed, notify: Notify) {
    if notify == Notify::default() {
        return;
    }
    let unread = Memo::new(move |_| chat.rooms.with(|rooms| total_unread(rooms.list())));
    let badge = StoredValue::new(0_u64);
    Effect::new(move |before: Option<u64>| {
        let (count, open) = (unread.get(), embed.open.get());
        let shown = if open { 0 } else { count };
        if notify.title
            && shown != badge.get_value()
            && let Some(document) = web_sys::window().and_then(|window| window.document())
        {
            document.set_title(&badged_title(&document.title(), badge.get_value(), shown));
            badge.set_value(shown);
        }
        if notify.sound && !open && count > before.unwrap_or(count) {
            chime();
        }
        count
    });
}

/// Two short soft tones from an oscillator: no file to fetch, nothing a CSP has to allow.
/// Browsers keep audio silent until the visitor has interacted with the page; then this is
/// simply not heard.
fn chime() {
    let Ok(context) = web_sys::AudioContext::new() else { return };
    let start = context.current_time();
    for (offset, frequency) in [(0.0, 880.0), (0.12, 1320.0)] {
        let (Ok(tone), Ok(gain)) = (context.create_oscillator(), context.create_gain()) else { return };
        tone.frequency().set_value(frequency);
        let volume = gain.gain();
        let at = start + offset;
        let _ = volume.set_value_at_time(0.0, at);
        let _ = volume.linear_ramp_to_value_at_time(0.15, at + 0.02);
        let _ = volume.linear_ramp_to_value_at_time(0.0, at + 0.2);
        if tone.connect_with_audio_node(&gain).is_err() || gain.connect_with_audio_node(&context.destination()).is_err()
        {
            return;
        }
        let _ = tone.start_with_when(at);
        let _ = tone.stop_with_when(at + 0.22);
    }
    // The context is not closed here: closing it would cut the tones short. The browser
    // collects it once they have played.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_takes_title_sound_or_both() {
        assert_eq!(Notify::parse(""), Some(Notify::default()));
        assert_eq!(Notify::parse("title"), Some(Notify { title: true, sound: false }));
        assert_eq!(Notify::parse("sound"), Some(Notify { title: false, sound: true }));
        assert_eq!(Notify::parse(" sound  title "), Some(Notify { title: true, sound: true }));
        for bad in ["Title", "title,sound", "badge", "title sound vibrate"] {
            assert_eq!(Notify::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_badge_replaces_its_own_earlier_count_and_keeps_the_pages_title() {
        assert_eq!(badged_title("Pricing", 0, 2), "(2) Pricing");
        assert_eq!(badged_title("(2) Pricing", 2, 5), "(5) Pricing");
        assert_eq!(badged_title("(5) Pricing", 5, 0), "Pricing");
        // The page changed its title since: the new one is kept, with the count before it.
        assert_eq!(badged_title("Checkout", 5, 6), "(6) Checkout");
        // A page title that looks like a count is the page's own unless this widget wrote it.
        assert_eq!(badged_title("(3) Inbox", 0, 1), "(1) (3) Inbox");
        assert_eq!(badged_title("(1) (3) Inbox", 1, 0), "(3) Inbox");
    }
}
