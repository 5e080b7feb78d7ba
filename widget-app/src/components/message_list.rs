//! The conversation, oldest first. Bodies and names are text nodes, never markup.

use leptos::html;
use leptos::prelude::*;
use palisade_protocol::ClientMessageId;

use crate::chat::Chat;
use crate::time_label;
use crate::timeline::{Row, RowStatus, Timeline};

#[component]
pub fn MessageList(chat: Chat) -> impl IntoView {
    let scroller = NodeRef::<html::Div>::new();
    let rows = Memo::new(move |_| chat.rows());
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
            // By the next frame the list may be gone (signed out), hence `try_`.
            request_animation_frame(move || {
                if let Some(scroller) = scroller.try_get_untracked().flatten() {
                    scroller.set_scroll_top(scroller.scroll_height());
                }
            });
        }
        current
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
    let load_earlier = move |_| {
        if let Some(el) = scroller.get_untracked() {
            keep_from_bottom.set_value(Some(el.scroll_height() - el.scroll_top()));
        }
        chat.load_earlier();
    };
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            at_bottom.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < 48);
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
                    on:click=load_earlier
                >
                    "Show earlier messages"
                </button>
            </Show>
            <Show when=move || rows.with(Vec::is_empty)>
                <p class="empty">"No messages yet. Say hello!"</p>
            </Show>
            <ol class="messages" data-testid="message-list" role="log" aria-live="polite" aria-label="Messages">
                <For each=move || rows.get() key=|row| row.key.clone() children=move |row| message_item(chat, row)/>
            </ol>
        </div>
    }
}

fn message_item(chat: Chat, row: Row) -> impl IntoView {
    let Row { seq, client_id, author, body, sent_at, mine, edited, deleted, status, .. } = row;
    let pending = status == RowStatus::Pending;
    let failure = match status {
        RowStatus::Failed(reason) => Some(reason),
        RowStatus::Stored | RowStatus::Pending => None,
    };
    let failed = failure.is_some();
    let time = time_label::label(sent_at);
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
                {time.map(|time| safe_view! { <time datetime=time.iso title=time.full>{time.short}</time> })}
                {edited.then(|| safe_view! { <span class="edited" data-testid="message-edited">"edited"</span> })}
            </div>
            <p class="body" data-testid="message-body">{body}</p>
            {pending.then(|| safe_view! { <span class="delivery">"Sending…"</span> })}
            {failure.zip(client_id).map(|(reason, client_id)| failed_actions(chat, client_id, reason))}
        </li>
    }
}

fn failed_actions(chat: Chat, client_id: ClientMessageId, reason: String) -> impl IntoView {
    safe_view! {
        <div class="delivery error" role="alert">
            <span>"Not sent: " {reason}</span>
            <span class="actions">
                <button type="button" class="link" on:click=move |_| chat.retry(client_id)>"Retry"</button>
                <button type="button" class="link" on:click=move |_| chat.discard(client_id)>"Discard"</button>
            </span>
        </div>
    }
}
