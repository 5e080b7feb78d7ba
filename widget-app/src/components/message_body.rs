//! A message body shown as the safe-markup subset: the tree `palisade_protocol::markup` parses
//! from the text people typed, mapped to elements and text nodes. No HTML string is ever made,
//! and a link's `href` can only be a [`SafeHref`](palisade_protocol::markup::SafeHref).
//!
//! One recursive function returning `AnyView` keeps this small in the (size-budgeted) bundle;
//! the parser bounds the nesting, so the recursion is bounded too.

use leptos::prelude::*;
use palisade_protocol::markup::{self, Block, Inline};

/// The views of `body`. Most bodies are one paragraph: that is shown as its inline content
/// alone, without a `<p>` of its own, so plain text stays a single text node in the bubble.
pub fn message_body(body: &str) -> Vec<AnyView> {
    let mut blocks = markup::parse(body);
    if let [Block::Paragraph(only)] = blocks.as_mut_slice() {
        return inlines(std::mem::take(only));
    }
    blocks.into_iter().map(block).collect()
}

fn block(block: Block) -> AnyView {
    match block {
        Block::Paragraph(children) => safe_view! { <p>{inlines(children)}</p> }.into_any(),
        Block::CodeBlock { text } => safe_view! { <pre><code>{text}</code></pre> }.into_any(),
    }
}

fn inlines(children: Vec<Inline>) -> Vec<AnyView> {
    children.into_iter().map(inline).collect()
}

fn inline(node: Inline) -> AnyView {
    match node {
        Inline::Text(text) => text.into_any(),
        Inline::Bold(children) => safe_view! { <strong>{inlines(children)}</strong> }.into_any(),
        Inline::Italic(children) => safe_view! { <em>{inlines(children)}</em> }.into_any(),
        Inline::Code(text) => safe_view! { <code>{text}</code> }.into_any(),
        // A new tab that cannot reach back into the host page (`noopener`), is not told where
        // it came from (`noreferrer`), and gives the sender's link no ranking (`nofollow`).
        Inline::Link { href, text } => safe_view! {
            <a href=href.to_string() target="_blank" rel="noopener noreferrer nofollow">{text}</a>
        }
        .into_any(),
        Inline::LineBreak => safe_view! { <br /> }.into_any(),
    }
}
