//! What the host page controls: whether the panel is open and which theme it wears (both may be
//! changed later through `window.Palisade`), and where the launcher sits and whether it is shown
//! (fixed by the script tag's options).

use leptos::prelude::*;

use crate::embed_options::{EmbedOptions, LauncherMode, Position, Theme};

#[derive(Debug, Clone, Copy)]
pub struct Embed {
    pub open: RwSignal<bool>,
    pub theme: RwSignal<Theme>,
    pub position: Position,
    pub launcher: LauncherMode,
}

impl Embed {
    pub fn new(options: &EmbedOptions) -> Self {
        Self {
            open: RwSignal::new(options.open),
            theme: RwSignal::new(options.theme),
            position: options.position,
            launcher: options.launcher,
        }
    }
}
