//! The options a site owner sets as data attributes on the script tag (`data-position`,
//! `data-accent`, `data-theme`, `data-open`, `data-launcher`, `data-locale`, `data-notify`), and the theme the
//! page may change later through `Palisade.setTheme`. Every value is checked strictly: a wrong one is reported
//! by name with what is allowed, and the default is used instead, so a typo never half-works.

use std::fmt;

use crate::i18n::Locale;
use crate::notify::Notify;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Position {
    #[default]
    Right,
    Left,
}

impl Position {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Right => "right",
            Self::Left => "left",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
    /// Follows the visitor's system setting (`prefers-color-scheme`).
    #[default]
    Auto,
}

impl Theme {
    pub const ALLOWED: &'static str = "\"light\", \"dark\" or \"auto\"";

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            "auto" => Some(Self::Auto),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
            Self::Auto => "auto",
        }
    }
}

/// A colour for buttons, the header and the person's own bubbles, as `#rrggbb` in lower case.
///
/// Only hex notation is accepted: it is what people copy from a brand guide, and a value that
/// cannot hold anything but a colour can never smuggle another declaration into the stylesheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accent {
    rgb: [u8; 3],
}

impl Accent {
    pub const ALLOWED: &'static str = "a colour as #rgb or #rrggbb, such as #0a7c55";

    pub fn parse(value: &str) -> Option<Self> {
        let hex = value.strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        // Each channel is one digit (`#rgb`, doubled) or two (`#rrggbb`).
        let width = match hex.len() {
            3 => 1,
            6 => 2,
            _ => return None,
        };
        let mut rgb = [0_u8; 3];
        for (index, slot) in rgb.iter_mut().enumerate() {
            let digits = hex.get(index * width..(index + 1) * width)?;
            let value = u8::from_str_radix(digits, 16).ok()?;
            *slot = if width == 1 { value * 17 } else { value };
        }
        Some(Self { rgb })
    }

    /// `#rrggbb`, the value of `--palisade-accent`.
    pub fn css(&self) -> String {
        let [r, g, b] = self.rgb;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Text on the accent: white, unless black reads better (a pale accent such as yellow).
    /// WCAG 2 relative luminance; white and black are compared by their contrast ratios.
    pub fn contrast_css(&self) -> &'static str {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        let [r, g, b] = self.rgb;
        let luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
        let on_white = 1.05 / (luminance + 0.05);
        let on_black = (luminance + 0.05) / 0.05;
        if on_black > on_white { "#000000" } else { "#ffffff" }
    }
}

/// Whether the site owner's own launcher button (`data-launcher`) is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LauncherMode {
    #[default]
    Shown,
    /// No button: the page opens the panel through `Palisade.open()`.
    Hidden,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmbedOptions {
    pub position: Position,
    pub accent: Option<Accent>,
    pub theme: Theme,
    /// Open the panel as soon as the widget has loaded.
    pub open: bool,
    pub launcher: LauncherMode,
    /// `None`: the page's and the browser's languages decide.
    pub locale: Option<Locale>,
    /// Title badge and chime for messages that arrive while the panel is closed.
    pub notify: Notify,
}

/// One attribute with a value that is not allowed; shown on the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    pub attribute: &'static str,
    pub value: String,
    pub allowed: &'static str,
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Palisade: {}={:?} is not allowed; use {}. Using the default instead.",
            self.attribute, self.value, self.allowed
        )
    }
}

impl EmbedOptions {
    /// Reads the options from the script tag's data attributes as `attribute` gives them
    /// (`"position"` for `data-position`; `None` when absent). Returns what to use and what was
    /// wrong.
    pub fn parse(attribute: impl Fn(&str) -> Option<String>) -> (Self, Vec<OptionError>) {
        let mut options = Self::default();
        let mut errors = Vec::new();
        let mut check = |name: &'static str, allowed: &'static str, value: &str, ok: bool| {
            if !ok {
                errors.push(OptionError { attribute: name, value: value.to_owned(), allowed });
            }
        };
        if let Some(value) = attribute("position") {
            let position = match value.as_str() {
                "right" => Some(Position::Right),
                "left" => Some(Position::Left),
                _ => None,
            };
            check("data-position", "\"right\" or \"left\"", &value, position.is_some());
            options.position = position.unwrap_or_default();
        }
        if let Some(value) = attribute("accent") {
            options.accent = Accent::parse(&value);
            check("data-accent", Accent::ALLOWED, &value, options.accent.is_some());
        }
        if let Some(value) = attribute("theme") {
            let theme = Theme::parse(&value);
            check("data-theme", Theme::ALLOWED, &value, theme.is_some());
            options.theme = theme.unwrap_or_default();
        }
        if let Some(value) = attribute("open") {
            // A bare `data-open` is the usual way to write a boolean attribute.
            let open = match value.as_str() {
                "" | "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            check("data-open", "no value (data-open), \"true\" or \"false\"", &value, open.is_some());
            options.open = open.unwrap_or_default();
        }
        if let Some(value) = attribute("launcher") {
            let launcher = match value.as_str() {
                "shown" => Some(LauncherMode::Shown),
                "hidden" => Some(LauncherMode::Hidden),
                _ => None,
            };
            check("data-launcher", "\"shown\" or \"hidden\"", &value, launcher.is_some());
            options.launcher = launcher.unwrap_or_default();
        }
        if let Some(value) = attribute("locale") {
            options.locale = Locale::from_tag(&value);
            check("data-locale", Locale::ALLOWED, &value, options.locale.is_some());
        }
        if let Some(value) = attribute("notify") {
            let notify = Notify::parse(&value);
            check("data-notify", Notify::ALLOWED, &value, notify.is_some());
            options.notify = notify.unwrap_or_default();
        }
        (options, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> (EmbedOptions, Vec<OptionError>) {
        EmbedOptions::parse(|name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn no_attributes_mean_the_defaults() {
        let (options, errors) = parse(&[]);
        assert!(errors.is_empty());
        assert_eq!(
            options,
            EmbedOptions {
                position: Position::Right,
                accent: None,
                theme: Theme::Auto,
                open: false,
                launcher: LauncherMode::Shown,
                locale: None,
                notify: Notify::default(),
            }
        );
    }

    #[test]
    fn every_attribute_is_read() {
        let (options, errors) = parse(&[
            ("position", "left"),
            ("accent", "#0A7C55"),
            ("theme", "dark"),
            ("open", ""),
            ("launcher", "hidden"),
            ("locale", "de-AT"),
            ("notify", "title sound"),
        ]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(options.position, Position::Left);
        assert_eq!(options.accent.map(|a| a.css()), Some("#0a7c55".to_owned()));
        assert_eq!(options.theme, Theme::Dark);
        assert!(options.open);
        assert_eq!(options.launcher, LauncherMode::Hidden);
        assert_eq!(options.locale, Some(Locale::De));
        assert_eq!(options.notify, Notify { title: true, sound: true });
        assert!(parse(&[("open", "true")]).0.open);
        assert!(!parse(&[("open", "false")]).0.open);
    }

    #[test]
    fn a_wrong_value_is_named_with_what_is_allowed_and_the_default_used() {
        let (options, errors) = parse(&[
            ("position", "top"),
            ("accent", "red"),
            ("theme", "Dark"),
            ("open", "yes"),
            ("launcher", "none"),
            ("locale", "fr"),
            ("notify", "popup"),
        ]);
        assert_eq!(options, EmbedOptions::default());
        let attributes: Vec<_> = errors.iter().map(|e| e.attribute).collect();
        assert_eq!(
            attributes,
            ["data-position", "data-accent", "data-theme", "data-open", "data-launcher", "data-locale", "data-notify"]
        );
        assert!(errors[5].to_string().contains("\"en\", \"de\" or \"ar\""));
        let message = errors[1].to_string();
        assert!(message.contains("data-accent=\"red\"") && message.contains("#rgb or #rrggbb"), "{message}");
        assert!(errors[2].to_string().contains("\"light\", \"dark\" or \"auto\""));
    }

    #[test]
    fn accents_are_hex_colours_only() {
        assert_eq!(Accent::parse("#abc").map(|a| a.css()), Some("#aabbcc".to_owned()));
        assert_eq!(Accent::parse("#4F46E5").map(|a| a.css()), Some("#4f46e5".to_owned()));
        for bad in [
            "",
            "#",
            "4f46e5",
            "#4f46e",
            "#4f46e5ff",
            "#ggg",
            " #abc",
            "#abc ",
            "red",
            "rgb(1,2,3)",
            "#abc;background:url(x)",
            "var(--x)",
            "#ａｂｃ",
        ] {
            assert_eq!(Accent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn text_on_the_accent_stays_readable() {
        let on = |hex: &str| Accent::parse(hex).map(|a| a.contrast_css());
        assert_eq!(on("#4f46e5"), Some("#ffffff"));
        assert_eq!(on("#000"), Some("#ffffff"));
        assert_eq!(on("#ffeb3b"), Some("#000000"));
        assert_eq!(on("#fff"), Some("#000000"));
    }

    #[test]
    fn themes_parse_exactly() {
        assert_eq!(Theme::parse("light"), Some(Theme::Light));
        assert_eq!(Theme::parse("auto"), Some(Theme::Auto));
        assert_eq!(Theme::parse("DARK"), None);
        for theme in [Theme::Light, Theme::Dark, Theme::Auto] {
            assert_eq!(Theme::parse(theme.as_str()), Some(theme));
        }
    }
}
