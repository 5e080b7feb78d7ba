//! Writing a message: Enter sends, Shift+Enter starts a new line.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;
use palisade_protocol::limits::MESSAGE_BODY_MAX;

use super::icons::SendIcon;
use crate::chat::{Chat, Phase};

/// The counter appears this close to the limit; earlier it would only be noise.
const COUNTER_FROM: usize = MESSAGE_BODY_MAX - 500;

#[component]
pub fn Composer(chat: Chat) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    let length = Memo::new(move |_| draft.with(|text| text.chars().count()));
    let ready = move || chat.phase.get() == Phase::Ready;

    let submit = move || {
        let body = draft.with_untracked(|text| tidy(text).to_owned());
        if body.is_empty() {
            return;
        }
        match chat.send(&body) {
            Ok(()) => draft.set(String::new()),
            Err(reason) => chat.error.set(Some(reason)),
        }
    };

    safe_view! {
        <form class="composer" on:submit=move |ev: SubmitEvent| {
            ev.prevent_default();
            submit();
        }>
            <label for="palisade-composer" class="visually-hidden">"Message"</label>
            <textarea
                id="palisade-composer"
                data-testid="composer"
                rows="1"
                placeholder="Write a message…"
                aria-describedby="palisade-composer-status"
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: KeyboardEvent| {
                    // While an input method is composing, Enter confirms the composition.
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" class="send" data-testid="send" aria-label="Send message" disabled=move || !ready()>
                <SendIcon/>
            </button>
        </form>
        <div class="composer-status" id="palisade-composer-status">
            {move || chat.error.get().map(|message| safe_view! {
                <p class="composer-error" data-testid="chat-error" role="alert">{message}</p>
            })}
            <Show when=move || { length.get() >= COUNTER_FROM }>
                <span class="counter" class:over=move || { length.get() > MESSAGE_BODY_MAX }>
                    {move || format!("{} / {MESSAGE_BODY_MAX}", length.get())}
                </span>
            </Show>
        </div>
    }
}

/// Surrounding blank lines and trailing spaces are never meant; leading indentation may be.
fn tidy(text: &str) -> &str {
    text.trim_end().trim_start_matches(['\n', '\r'])
}

#[cfg(test)]
mod tests {
    use super::tidy;

    #[test]
    fn tidy_keeps_inner_and_leading_indentation() {
        assert_eq!(tidy("\n\n  code\n  more \n\n"), "  code\n  more");
        assert_eq!(tidy(" \n "), "");
    }
}
