//! What the host page controls: whether the panel is open, which theme it wears and which
//! language it speaks (all may be changed later through `window.Palisade`), and where the
//! launcher sits and whether it is shown (fixed by the script tag's options).

use leptos::prelude::*;

use crate::embed_options::{EmbedOptions, LauncherMode, Position, Theme};
use crate::i18n::{self, Locale};

#[derive(Debug, Clone, Copy)]
pub struct Embed {
    pub open: RwSignal<bool>,
    pub theme: RwSignal<Theme>,
    /// Every text reads it through [`i18n::t`], so a change shows at once.
    pub locale: RwSignal<Locale>,
    pub position: Position,
    pub launcher: LauncherMode,
}

impl Embed {
    pub fn new(options: &EmbedOptions) -> Self {
        let locale = RwSignal::new(options.locale.unwrap_or_else(Locale::from_page));
        i18n::install(locale);
        Self {
            open: RwSignal::new(options.open),
            theme: RwSignal::new(options.theme),
            locale,
            position: options.position,
            launcher: options.launcher,
        }
    }
}
