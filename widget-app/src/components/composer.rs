//! Writing a message to the open room: Enter sends, Shift+Enter starts a new line. Each room
//! keeps its own draft, and the others in the room hear that the person is typing.

use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use palisade_protocol::RoomId;
use palisade_protocol::limits::MESSAGE_BODY_MAX;

use super::icons::SendIcon;
use crate::chat::{Chat, Phase};
use crate::i18n::t;
use crate::rooms::Rooms;

/// The counter appears this close to the limit; earlier it would only be noise.
const COUNTER_FROM: usize = MESSAGE_BODY_MAX - 500;

#[component]
pub fn Composer(chat: Chat, field: NodeRef<html::Textarea>) -> impl IntoView {
    let draft = RwSignal::new(String::new());
    // The drafts of the rooms not open now.
    let drafts = StoredValue::new(Vec::<(RoomId, String)>::new());
    let room = Memo::new(move |_| chat.rooms.with(Rooms::selected_id));
    Effect::new(move |previous: Option<Option<RoomId>>| {
        let current = room.get();
        if let Some(previous) = previous.filter(|previous| *previous != current) {
            let text = draft.get_untracked();
            let kept = drafts
                .try_update_value(|drafts| {
                    if let Some(previous) = previous {
                        drafts.push((previous, text));
                    }
                    let index = drafts.iter().position(|(room, _)| Some(*room) == current)?;
                    Some(drafts.swap_remove(index).1)
                })
                .flatten();
            draft.set(kept.unwrap_or_default());
        }
        current
    });
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
            <label for="palisade-composer" class="visually-hidden">{move || t().message}</label>
            <textarea
                id="palisade-composer"
                data-testid="composer"
                rows="1"
                placeholder=move || t().write_a_message
                aria-describedby="palisade-composer-status"
                node_ref=field
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    if !tidy(&text).is_empty() {
                        chat.typed();
                    }
                    draft.set(text);
                }
                on:keydown=move |ev: KeyboardEvent| {
                    // While an input method is composing, Enter confirms the composition.
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" class="send" data-testid="send" aria-label=move || t().send_message disabled=move || !ready()>
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
pub(crate) fn tidy(text: &str) -> &str {
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
