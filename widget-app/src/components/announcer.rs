//! The live region that tells screen reader users about a message from someone else arriving in
//! the open conversation ("New message from Ada: hello"). The message list itself is not live,
//! so nothing is read twice; the conversation's history, older messages loaded on request and
//! the person's own messages are not announced.

use leptos::prelude::*;
use palisade_protocol::markup;

use crate::chat::Chat;
use crate::timeline::{Row, Timeline};

/// Mount it with the conversation's list, once its history is loaded: what is there when it
/// mounts is the past.
#[component]
pub fn NewMessageAnnouncer(chat: Chat) -> impl IntoView {
    let newest = Memo::new(move |_| chat.timeline.with(Timeline::highest_seq));
    // Keyed by `seq`: each announcement is a new node, so two equal texts are both read.
    let heard = RwSignal::new(None::<(u64, String)>);
    Effect::new(move |before: Option<u64>| {
        let now = newest.get();
        if let Some(before) = before.filter(|before| now > *before) {
            let me = chat.session.user_untracked().map(|user| user.id);
            let rows = chat.timeline.with_untracked(|timeline| timeline.rows(me));
            if let Some(row) = newest_from_others(&rows, before) {
                heard.set(Some((row.seq.unwrap_or_default(), announcement(&row.author, &row.body))));
            }
        }
        now
    });
    safe_view! {
        <div class="visually-hidden" data-testid="announcer" aria-live="polite">
            <For each=move || heard.get() key=|(seq, _)| *seq children=|(_, text)| safe_view! { <p>{text}</p> }/>
        </div>
    }
}

/// The newest stored message after `seq` that someone else wrote (and did not delete already).
fn newest_from_others(rows: &[Row], seq: u64) -> Option<&Row> {
    rows.iter().rev().find(|row| row.seq.is_some_and(|at| at > seq) && !row.mine && !row.deleted)
}

/// What is read out: who wrote, and the message as it shows (markup delimiters left out).
fn announcement(author: &str, body: &str) -> String {
    format!("New message from {author}: {}", markup::to_plain_text(&markup::parse(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: Option<u64>, author: &str, mine: bool, deleted: bool) -> Row {
        Row {
            key: format!("{seq:?}"),
            seq,
            id: None,
            client_id: None,
            author: author.to_owned(),
            body: String::new(),
            sent_at: palisade_protocol::Timestamp::from_millis(0),
            mine,
            edited: false,
            deleted,
            status: crate::timeline::RowStatus::Stored,
        }
    }

    #[test]
    fn only_a_newer_message_from_someone_else_is_news() {
        let rows = [
            row(Some(1), "Ada", false, false),
            row(Some(2), "Bea", false, false),
            row(Some(3), "You", true, false),
            row(Some(4), "Cy", false, true),
            row(None, "You", true, false),
        ];
        assert_eq!(newest_from_others(&rows, 0).map(|r| r.author.as_str()), Some("Bea"), "the newest of several");
        assert_eq!(newest_from_others(&rows, 1).map(|r| r.author.as_str()), Some("Bea"));
        assert!(newest_from_others(&rows, 2).is_none(), "one's own, a deleted one and one still sending are not");
    }

    #[test]
    fn the_announcement_reads_the_visible_text() {
        assert_eq!(announcement("Ada", "see **this**"), "New message from Ada: see this");
    }
}
