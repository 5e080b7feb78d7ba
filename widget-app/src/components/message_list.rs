//! The conversation, oldest first, with a heading before each day. Names are text nodes; bodies
//! show the safe-markup subset (`message_body`), never HTML. The person's own stored messages can
//! be edited in place or deleted (after a question).

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use palisade_protocol::{ClientMessageId, MessageId};
use wasm_bindgen::JsCast;

use super::announcer::NewMessageAnnouncer;
use super::composer::tidy;
use super::message_body::message_body;
use crate::chat::Chat;
use crate::days::{self, Day};
use crate::i18n::t;
use crate::seen;
use crate::time_label;
use crate::timeline::{Row, RowStatus, Timeline};

/// How close to the top of the conversation scrolling must come for older messages to load.
const NEAR_THE_TOP_PX: i32 = 64;

#[component]
pub fn MessageList(chat: Chat, #[prop(into)] showing: Signal<bool>) -> impl IntoView {
    let scroller = NodeRef::<html::Div>::new();
    let rows = Memo::new(move |_| chat.rows());
    let seen = Memo::new(move |_| {
        let me = chat.session.user()?.id;
        rows.with(|rows| chat.readers.with(|readers| seen::line(rows, readers, me)))
    });
    // Whether the person is reading the newest messages; if they scrolled up to read older
    // ones, someone else's new message must not yank them away.
    let at_bottom = StoredValue::new(true);
    // Changes when a message arrives or the person writes one; loading older history (which
    // prepends) and acknowledgements leave it alone.
    let newest = Memo::new(move |_| chat.timeline.with(|t| (t.highest_seq(), t.outgoing_len())));
    Effect::new(move |previous: Option<(u64, usize)>| {
        let current = newest.get();
        let wrote = previous.is_some_and(|(_, outgoing)| current.1 > outgoing);
        if wrote || at_bottom.try_get_value().unwrap_or(false) {
            to_bottom(scroller);
        }
        current
    });
    // Hidden (the panel closed, another view in front), the list has no height and cannot be
    // scrolled: a conversation loaded then would open on its oldest message once shown.
    Effect::new(move |_| {
        if showing.get() && at_bottom.try_get_value().unwrap_or(false) {
            to_bottom(scroller);
        }
    });
    // Older history is prepended: keep the messages the person is looking at where they are.
    let keep_from_bottom = StoredValue::new(None::<i32>);
    let oldest = Memo::new(move |_| chat.timeline.with(Timeline::lowest_seq));
    Effect::new(move |_| {
        // Read, not only tracked: with `.track()` alone this effect stopped re-running after
        // the memo's first change (seen with leptos 0.8), and the position was lost.
        let _ = oldest.get();
        let Some(distance) = keep_from_bottom.try_get_value().flatten() else {
            return;
        };
        keep_from_bottom.set_value(None);
        request_animation_frame(move || {
            if let Some(scroller) = scroller.try_get_untracked().flatten() {
                scroller.set_scroll_top(scroller.scroll_height() - distance);
            }
        });
    });
    let load_earlier = move || {
        if let Some(el) = scroller.get_untracked() {
            keep_from_bottom.set_value(Some(el.scroll_height() - el.scroll_top()));
        }
        chat.load_earlier();
    };
    let on_scroll = move |_| {
        let Some(el) = scroller.get_untracked() else { return };
        at_bottom.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 48);
        // Scrolling up to the top reads on into older history; the button stays for keyboards.
        let wants_more = el.scroll_top() < NEAR_THE_TOP_PX
            && chat.timeline.with_untracked(Timeline::has_more_before)
            && !chat.loading_earlier.get_untracked();
        if wants_more {
            load_earlier();
        }
    };

    safe_view! {
        <div class="scroller" node_ref=scroller on:scroll=on_scroll>
            <Show when=move || chat.timeline.with(Timeline::has_more_before)>
                <button
                    type="button"
                    class="load-earlier"
                    data-testid="load-earlier"
                    disabled=move || chat.loading_earlier.get()
                    on:click=move |_| load_earlier()
                >
                    {move || t().show_earlier}
                </button>
            </Show>
            <Show when=move || rows.with(Vec::is_empty)>
                <p class="empty">{move || t().no_messages_yet}</p>
            </Show>
            <ol class="messages" data-testid="message-list" aria-label=move || t().messages>
                <For
                    each=move || days::with_days(rows.get(), days::local_day)
                    key=days::key
                    children=move |(row, day)| (day.map(day_heading), message_item(chat, scroller, seen, row))
                />
            </ol>
            <NewMessageAnnouncer chat/>
        </div>
    }
}

/// Scrolls to the newest message on the next frame, when the list has its layout; by then it
/// may be gone (signed out), hence `try_`.
fn to_bottom(scroller: NodeRef<html::Div>) {
    request_animation_frame(move || {
        if let Some(scroller) = scroller.try_get_untracked().flatten() {
            scroller.set_scroll_top(scroller.scroll_height());
        }
    });
}

fn day_heading(day: Day) -> impl IntoView {
    safe_view! {
        <li class="day" data-testid="day">
            <span>{move || days::heading(day)}</span>
        </li>
    }
}

fn message_item(
    chat: Chat,
    scroller: NodeRef<html::Div>,
    seen: Memo<Option<(u64, String)>>,
    row: Row,
) -> impl IntoView {
    let Row { seq, id, client_id, author, body, sent_at, mine, edited, deleted, status, .. } = row;
    let pending = status == RowStatus::Pending;
    // Only what the server stored can be changed, and only by its author.
    let changeable = id.zip(seq).filter(|_| mine && !deleted && status == RowStatus::Stored);
    let failure = match status {
        RowStatus::Failed(reason) => Some(reason),
        RowStatus::Stored | RowStatus::Pending => None,
    };
    let failed = failure.is_some();
    let change = RwSignal::new(Change::None);
    // The buttons are described by the text they act on, for a screen reader tabbing through.
    let body_id = changeable.map(|(_, seq)| format!("palisade-message-{seq}"));
    // The row is keyed by its content, not by who has read it: the line follows on its own.
    let seen_line = changeable.map(|(_, seq)| {
        move || {
            seen.with(|line| {
                line.as_ref()
                    .filter(|(at, _)| *at == seq)
                    .map(|(_, text)| safe_view! { <p class="seen" data-testid="seen">{text.clone()}</p> })
            })
        }
    });
    safe_view! {
        <li
            class="message"
            class:mine=mine
            class:pending=pending
            class:failed=failed
            class:deleted=deleted
            data-testid="message"
            data-seq=seq.map(|seq| seq.to_string())
            data-pending=pending.then_some("")
            data-failed=failed.then_some("")
            data-edited=edited.then_some("")
            data-deleted=deleted.then_some("")
        >
            <div class="meta">
                <span class="author" data-testid="message-author">{author}</span>
                {move || time_label::label(sent_at).map(|time| safe_view! { <time datetime=time.iso title=time.full>{time.short}</time> })}
                {edited.then(|| safe_view! { <span class="edited" data-testid="message-edited">{move || t().edited}</span> })}
            </div>
            <div class="body" data-testid="message-body" id=body_id.clone() hidden=move || change.get() == Change::Editing>
                {message_body(&body)}
            </div>
            {pending.then(|| safe_view! { <span class="delivery">{move || t().sending}</span> })}
            {failure.zip(client_id).map(|(reason, client_id)| failed_actions(chat, client_id, reason))}
            {changeable.map(|(id, seq)| Own { chat, scroller, id, seq, body, body_id, change }.view())}
            {seen_line}
        </li>
    }
}

/// What the person is doing to one of their own messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    None,
    Editing,
    Deleting,
}

/// One of the person's own messages, which they may edit or delete.
#[derive(Clone)]
struct Own {
    chat: Chat,
    scroller: NodeRef<html::Div>,
    id: MessageId,
    seq: u64,
    body: String,
    body_id: Option<String>,
    change: RwSignal<Change>,
}

impl Own {
    /// The actions, the editor and the question before deleting, all in one tree that only
    /// shows what fits the moment: one view and one click handler for every button keep the
    /// (size-budgeted) bundle small.
    fn view(self) -> impl IntoView {
        let change = self.change;
        // For `hidden`: shown only while the person is doing `when`.
        let shown = move |when: Change| move || change.get() != when;
        let draft = RwSignal::new(String::new());
        let busy = RwSignal::new(false);
        let field = NodeRef::<html::Textarea>::new();
        let body_id = self.body_id.clone();
        let on_click = {
            let own = self.clone();
            move |ev: leptos::ev::MouseEvent| {
                let action = ev
                    .target()
                    .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                    .and_then(|target| target.closest("[data-action]").ok().flatten())
                    .and_then(|button| button.get_attribute("data-action"));
                match action.as_deref() {
                    Some("edit") => own.edit(draft, field),
                    Some("delete") => own.ask(),
                    Some("save") => own.save(draft, busy),
                    Some("confirm") => own.delete(busy),
                    Some("cancel") => own.cancel(),
                    _ => {}
                }
            }
        };
        let on_keydown = {
            let own = self.clone();
            move |ev: KeyboardEvent| {
                if ev.is_composing() || change.get_untracked() == Change::None {
                    return;
                }
                if ev.key() == "Escape" {
                    // Escape here leaves the editor or the question, not the whole panel.
                    ev.stop_propagation();
                    own.cancel();
                } else if ev.key() == "Enter" && !ev.shift_key() && change.get_untracked() == Change::Editing {
                    ev.prevent_default();
                    own.save(draft, busy);
                }
            }
        };
        safe_view! {
            <div class="message-tools" on:click=on_click on:keydown=on_keydown>
                <textarea
                    class="edit-field"
                    data-testid="edit-field"
                    aria-label=move || t().edit_message
                    aria-describedby="palisade-composer-status"
                    hidden=shown(Change::Editing)
                    node_ref=field
                    prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev))
                ></textarea>
                <span hidden=shown(Change::Deleting)>{move || t().delete_this_message}</span>
                <span class="message-actions" hidden=shown(Change::None)>
                    <button
                        type="button"
                        class="link"
                        data-action="edit"
                        data-testid="edit-message"
                        aria-label=move || t().edit_message
                        aria-describedby=body_id.clone()
                    >
                        {move || t().edit}
                    </button>
                    " "
                    <button
                        type="button"
                        class="link"
                        data-action="delete"
                        data-testid="delete-message"
                        aria-label=move || t().delete_message
                        aria-describedby=body_id
                    >
                        {move || t().delete}
                    </button>
                </span>
                <button type="button" class="link" data-action="save" data-testid="edit-save" hidden=shown(Change::Editing) disabled=move || busy.get()>
                    {move || t().save}
                </button>
                <button type="button" class="link" data-action="confirm" data-testid="delete-confirm" hidden=shown(Change::Deleting) disabled=move || busy.get()>
                    {move || t().delete}
                </button>
                <button type="button" class="link" data-action="cancel" data-testid="change-cancel" hidden=move || change.get() == Change::None>
                    {move || t().cancel}
                </button>
            </div>
        }
    }

    /// Where the focus goes inside this message after the next render.
    fn focus(&self, action: &str) {
        focus_later(self.scroller, format!("[data-seq=\"{}\"] [data-action=\"{action}\"]", self.seq));
    }

    fn edit(&self, draft: RwSignal<String>, field: NodeRef<html::Textarea>) {
        draft.set(self.body.clone());
        self.change.set(Change::Editing);
        request_animation_frame(move || {
            if let Some(field) = field.try_get_untracked().flatten() {
                let end = u32::try_from(field.value().encode_utf16().count()).unwrap_or(u32::MAX);
                let _ = field.focus();
                let _ = field.set_selection_range(end, end);
            }
        });
    }

    fn ask(&self) {
        self.change.set(Change::Deleting);
        // The safe answer has the focus, so a second Enter does not delete by accident.
        self.focus("cancel");
    }

    /// Back to the actions, with the focus on the one that was used.
    fn cancel(&self) {
        // After a save the row may be gone already, and its state with it.
        let left = self.change.try_get_untracked();
        self.change.try_set(Change::None);
        self.focus(if left == Some(Change::Deleting) { "delete" } else { "edit" });
    }

    fn save(&self, draft: RwSignal<String>, busy: RwSignal<bool>) {
        let text = draft.with_untracked(|text| tidy(text).to_owned());
        if text == self.body {
            return self.cancel();
        }
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let own = self.clone();
        spawn_local(async move {
            if own.chat.edit(own.id, text).await {
                // The row is drawn anew with the new text: the focus goes to its actions.
                own.focus("edit");
            }
            busy.try_set(false);
        });
    }

    fn delete(&self, busy: RwSignal<bool>) {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let own = self.clone();
        spawn_local(async move {
            if own.chat.delete(own.id).await {
                // The row is drawn anew without actions: the person is back at writing.
                focus_later(own.scroller, "#palisade-composer".to_owned());
            }
            busy.try_set(false);
        });
    }
}

/// Focuses what `selector` finds in the panel after the next render: a row drawn anew after a
/// change has lost the focus its old buttons had.
fn focus_later(scroller: NodeRef<html::Div>, selector: String) {
    request_animation_frame(move || {
        let panel =
            scroller.try_get_untracked().flatten().and_then(|scroller| scroller.closest(".panel").ok().flatten());
        let found = panel.and_then(|panel| panel.query_selector(&selector).ok().flatten());
        if let Some(element) = found.and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    });
}

fn failed_actions(chat: Chat, client_id: ClientMessageId, reason: String) -> impl IntoView {
    safe_view! {
        <div class="delivery error" role="alert">
            <span>{move || t().not_sent} {reason}</span>
            <span class="actions">
                <button type="button" class="link" on:click=move |_| chat.retry(client_id)>{move || t().retry}</button>
                <button type="button" class="link" on:click=move |_| chat.discard(client_id)>{move || t().discard}</button>
            </span>
        </div>
    }
}
