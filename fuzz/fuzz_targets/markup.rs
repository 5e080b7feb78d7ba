//! The safe-markup parser on anything a person could type. Whatever the input, no link may
//! leave http/https/mailto, nesting stays bounded, and the visible text is never longer than
//! what was typed (the parser only removes; it never invents).

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_protocol::markup::{self, Block, Inline, MAX_NESTING};

/// Checked independently of `SafeHref::parse`, so a bug there cannot hide here.
fn assert_safe_href(href: &str) {
    let lower = href.to_ascii_lowercase();
    assert!(
        lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:"),
        "disallowed scheme in {href:?}"
    );
    assert!(!href.chars().any(|c| c.is_whitespace() || c.is_control()), "hidden characters in {href:?}");
}

fn walk(inlines: &[Inline], depth: usize) {
    assert!(depth <= MAX_NESTING, "nesting {depth} exceeds {MAX_NESTING}");
    for inline in inlines {
        match inline {
            Inline::Bold(children) | Inline::Italic(children) => walk(children, depth + 1),
            Inline::Link { href, .. } => assert_safe_href(href.as_str()),
            Inline::Text(_) | Inline::Code(_) | Inline::LineBreak => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let blocks = markup::parse(text);
    for block in &blocks {
        if let Block::Paragraph(inlines) = block {
            walk(inlines, 0);
        }
    }
    let plain = markup::to_plain_text(&blocks);
    assert!(plain.chars().count() <= text.chars().count(), "visible text longer than the input");
});
