//! The safe-markup subset of message bodies: what a person typed, read as a typed tree.
//!
//! Bodies travel and are stored as the plain text people typed; each side that shows one parses
//! it here and maps the tree to DOM elements and text nodes. Nothing here produces HTML, so a
//! `<script>` in a body is only ever text.
//!
//! The subset: paragraphs (split by blank lines) with line breaks, ```` ``` ```` fenced code
//! blocks, `**bold**`, `*italic*` / `_italic_`, `` `code` ``, `[text](url)` links and bare
//! `http://`, `https://` and `mailto:` links. Emphasis follows CommonMark's delimiter rules
//! (so `snake_case_names` stay text); what does not parse stays text.
//!
//! Guarantees, each tested and fuzzed:
//! - a [`SafeHref`] can only hold an `http`, `https` or `mailto` URL without whitespace or
//!   control characters, so no tree ever links to `javascript:`, `data:` or a relative URL;
//!   a link whose URL is refused stays text;
//! - bold and italic nest at most [`MAX_NESTING`] deep, so renderers may recurse;
//! - [`parse`] is total and runs in time linear in its input (no backtracking), whatever a
//!   hostile sender types.
//!
//! The tree has no serde implementations on purpose: it is derived from a body, never sent,
//! and a deserializable `Link` could be built without passing through [`SafeHref::parse`].

use std::collections::{HashMap, VecDeque};

/// How deep bold and italic may nest; delimiters that would go deeper stay text.
pub const MAX_NESTING: usize = 8;

/// The URL schemes a link may have, compared case-insensitively.
pub const ALLOWED_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Paragraph(Vec<Inline>),
    /// The lines between two ```` ``` ```` fences, verbatim (the opening fence's info string,
    /// a language hint, is dropped).
    CodeBlock {
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    Text(String),
    Bold(Vec<Inline>),
    Italic(Vec<Inline>),
    Code(String),
    /// `text` is plain: markup inside a link's text is not interpreted.
    Link {
        href: SafeHref,
        text: String,
    },
    LineBreak,
}

/// A URL that is safe to put in an `href`: scheme `http`/`https` with an authority, or
/// `mailto`, and no whitespace, control, invisible formatting characters or backslashes
/// (browsers silently drop or reinterpret those, which is how `java\tscript:` gets through
/// naive checks).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafeHref(String);

impl SafeHref {
    /// The candidate as it was typed when it is safe, `None` otherwise.
    pub fn parse(candidate: &str) -> Option<Self> {
        if candidate.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible(c) || c == '\\') {
            return None;
        }
        let (scheme, rest) = candidate.split_once(':')?;
        if !ALLOWED_SCHEMES.iter().any(|allowed| scheme.eq_ignore_ascii_case(allowed)) {
            return None;
        }
        let shaped = if scheme.eq_ignore_ascii_case("mailto") {
            !rest.is_empty()
        } else {
            // `http:foo` is a relative reference to a browser; an empty host is no destination.
            rest.strip_prefix("//").and_then(|authority| authority.chars().next()).is_some_and(|c| !"/?#".contains(c))
        };
        shaped.then(|| Self(candidate.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the link writes an email rather than opens a page (renderers may not want a new
    /// tab for it).
    pub fn is_mailto(&self) -> bool {
        self.0.get(..7).is_some_and(|prefix| prefix.eq_ignore_ascii_case("mailto:"))
    }
}

impl std::fmt::Display for SafeHref {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Zero-width and bidirectional formatting characters: invisible in a link, useful only to
/// disguise one.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Parses a message body. Never fails: whatever is not markup is text.
pub fn parse(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).collect();
    let mut blocks = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    // Every closing fence is also an opening one, so once an opening fence finds no closing
    // fence below it, no later one can: remembering that keeps the search linear.
    let mut no_closing_fence_below = false;
    let mut index = 0;
    while let Some(&line) = lines.get(index) {
        if !no_closing_fence_below && is_opening_fence(line) {
            let closing = lines.get(index + 1..).and_then(|rest| rest.iter().position(|l| is_closing_fence(l)));
            match closing {
                Some(offset) => {
                    push_paragraph(&mut blocks, &mut paragraph);
                    let body = lines.get(index + 1..index + 1 + offset).unwrap_or_default();
                    blocks.push(Block::CodeBlock { text: body.join("\n") });
                    index += offset + 2;
                    continue;
                }
                None => no_closing_fence_below = true,
            }
        }
        if line.trim().is_empty() {
            push_paragraph(&mut blocks, &mut paragraph);
        } else {
            paragraph.push(line);
        }
        index += 1;
    }
    push_paragraph(&mut blocks, &mut paragraph);
    blocks
}

/// The visible text of a parsed body, for notifications and previews: blocks separated by a
/// blank line, line breaks kept, markup delimiters gone, links shown by their text.
pub fn to_plain_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    for (i, block) in blocks.iter().enumerate() {
        if i > 0 {
            out.push_str("\n\n");
        }
        match block {
            Block::Paragraph(inlines) => push_plain(&mut out, inlines),
            Block::CodeBlock { text } => out.push_str(text),
        }
    }
    out
}

fn push_plain(out: &mut String, inlines: &[Inline]) {
    for inline in inlines {
        match inline {
            Inline::Text(text) | Inline::Code(text) | Inline::Link { text, .. } => out.push_str(text),
            Inline::Bold(children) | Inline::Italic(children) => push_plain(out, children),
            Inline::LineBreak => out.push('\n'),
        }
    }
}

fn is_opening_fence(line: &str) -> bool {
    line.trim_start().strip_prefix("```").is_some_and(|info| !info.contains('`'))
}

fn is_closing_fence(line: &str) -> bool {
    let fence = line.trim();
    fence.len() >= 3 && fence.bytes().all(|b| b == b'`')
}

fn push_paragraph(blocks: &mut Vec<Block>, lines: &mut Vec<&str>) {
    if !lines.is_empty() {
        blocks.push(Block::Paragraph(parse_inlines(&lines.join("\n"))));
        lines.clear();
    }
}

/// One emphasis delimiter run (`*`, `**`, `_`...), as CommonMark's algorithm sees it.
#[derive(Debug)]
struct Delimiter {
    ch: char,
    length: usize,
    /// Characters not (yet) matched: they stay text.
    left: usize,
    can_open: bool,
    can_close: bool,
    /// Pairs this run closes, innermost first.
    closes: Vec<Pair>,
    /// Pairs this run opens, innermost first.
    opens: Vec<Pair>,
}

#[derive(Debug, Clone, Copy)]
struct Pair {
    id: usize,
    strong: bool,
}

#[derive(Debug)]
enum Token {
    Text(String),
    Node(Inline),
    Delimiter(Delimiter),
}

fn parse_inlines(text: &str) -> Vec<Inline> {
    let mut tokens = tokenize(text);
    let pairs = match_emphasis(&mut tokens);
    build_tree(tokens, pairs)
}

/// Where each backtick run of a given length starts, for finding a code span's closing run in
/// constant amortized time (a run closes only with a run of the same length).
struct BacktickRuns {
    by_length: HashMap<usize, VecDeque<usize>>,
}

impl BacktickRuns {
    fn new(text: &str) -> Self {
        let mut by_length: HashMap<usize, VecDeque<usize>> = HashMap::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let run = run_length(bytes, i, b'`');
            if run > 0 {
                by_length.entry(run).or_default().push_back(i);
                i += run;
            } else {
                i += 1;
            }
        }
        Self { by_length }
    }

    /// The start of the first run of `length` backticks after `position`.
    fn closing(&mut self, position: usize, length: usize) -> Option<usize> {
        let starts = self.by_length.get_mut(&length)?;
        while starts.front().is_some_and(|&start| start <= position) {
            starts.pop_front();
        }
        starts.front().copied()
    }
}

fn run_length(bytes: &[u8], start: usize, byte: u8) -> usize {
    bytes.get(start..).map_or(0, |rest| rest.iter().take_while(|&&b| b == byte).count())
}

/// Splits a paragraph into text, finished nodes (code, links, line breaks) and emphasis
/// delimiter runs. Each construct is recognised by scanning forward without backtracking past
/// the start of the next candidate, which keeps the whole pass linear.
fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut backticks = BacktickRuns::new(text);
    let mut url_runs = UrlRuns::default();
    let mut tokens = Vec::new();
    let mut pending_from = 0;
    let mut i = 0;
    while let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) {
        let found: Option<(Token, usize)> = match c {
            '\n' => Some((Token::Node(Inline::LineBreak), i + 1)),
            '`' => {
                let length = run_length(bytes, i, b'`');
                match backticks.closing(i, length) {
                    Some(close) => {
                        Some((Token::Node(Inline::Code(code_span(text, i + length, close))), close + length))
                    }
                    None => {
                        // No closing run: the whole run is text.
                        i += length;
                        continue;
                    }
                }
            }
            '[' => markdown_link(text, i),
            '*' | '_' => Some(delimiter_run(text, i, c)),
            'h' | 'H' | 'm' | 'M' if autolink_may_start(text, i) => url_runs.autolink(text, i),
            _ => None,
        };
        match found {
            Some((token, end)) => {
                if let Some(pending) = text.get(pending_from..i).filter(|p| !p.is_empty()) {
                    tokens.push(Token::Text(pending.to_owned()));
                }
                tokens.push(token);
                i = end;
                pending_from = end;
            }
            None => i += c.len_utf8(),
        }
    }
    if let Some(pending) = text.get(pending_from..).filter(|p| !p.is_empty()) {
        tokens.push(Token::Text(pending.to_owned()));
    }
    tokens
}

/// CommonMark's code span content: line breaks become spaces, and one space is stripped from
/// each end when both have one (so `` ` `` `` shows a backtick).
fn code_span(text: &str, from: usize, to: usize) -> String {
    let content = text.get(from..to).unwrap_or_default().replace('\n', " ");
    let padded = content.len() >= 2 && content.starts_with(' ') && content.ends_with(' ');
    if padded && !content.bytes().all(|b| b == b' ') {
        content.get(1..content.len() - 1).unwrap_or_default().to_owned()
    } else {
        content
    }
}

fn char_before(text: &str, i: usize) -> Option<char> {
    text.get(..i).and_then(|before| before.chars().next_back())
}

fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|after| after.chars().next())
}

/// Punctuation for the flanking rules: ASCII punctuation and, without Unicode tables, every
/// other character that is neither alphanumeric nor white space (symbols, emoji).
fn is_punctuation(c: char) -> bool {
    !c.is_alphanumeric() && !c.is_whitespace()
}

fn delimiter_run(text: &str, start: usize, ch: char) -> (Token, usize) {
    let length = run_length(text.as_bytes(), start, ch as u8);
    let end = start + length;
    let before = char_before(text, start);
    let after = char_at(text, end);
    let space = |c: Option<char>| c.is_none_or(char::is_whitespace);
    let punct = |c: Option<char>| c.is_some_and(is_punctuation);
    let left_flanking = !space(after) && (!punct(after) || space(before) || punct(before));
    let right_flanking = !space(before) && (!punct(before) || space(after) || punct(after));
    let (can_open, can_close) = if ch == '_' {
        // Underscores inside words (snake_case) are not emphasis.
        (left_flanking && (!right_flanking || punct(before)), right_flanking && (!left_flanking || punct(after)))
    } else {
        (left_flanking, right_flanking)
    };
    let delimiter = Delimiter { ch, length, left: length, can_open, can_close, closes: Vec::new(), opens: Vec::new() };
    (Token::Delimiter(delimiter), end)
}

/// `[text](url)` with a safe URL. The text may not contain brackets or line breaks and the URL
/// may not contain brackets or white space, so a failed attempt never scans past the next `[`.
fn markdown_link(text: &str, open: usize) -> Option<(Token, usize)> {
    let after_open = text.get(open + 1..)?;
    let close = after_open.find(['[', ']', '\n'])?;
    if !after_open[close..].starts_with(']') {
        return None;
    }
    let label = &after_open[..close];
    let url_start = open + 1 + close + 2;
    if !text.get(open + 1 + close + 1..)?.starts_with('(') {
        return None;
    }
    let mut depth = 0_usize;
    let mut url_end = None;
    for (offset, c) in text.get(url_start..)?.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => {
                url_end = Some(url_start + offset);
                break;
            }
            ')' => depth -= 1,
            '[' | ']' | '<' | '>' | '"' | '`' => return None,
            c if c.is_whitespace() || c.is_control() => return None,
            _ => {}
        }
    }
    let url_end = url_end?;
    if label.trim().is_empty() {
        return None;
    }
    let href = SafeHref::parse(text.get(url_start..url_end)?)?;
    Some((Token::Node(Inline::Link { href, text: label.to_owned() }), url_end + 1))
}

/// A bare URL starts a word, or follows an opening bracket, quote or emphasis delimiter.
fn autolink_may_start(text: &str, i: usize) -> bool {
    char_before(text, i).is_none_or(|c| c.is_whitespace() || "([{<\"'*_~".contains(c))
}

/// Characters that end a bare URL.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || c.is_control() || "<>\"`".contains(c)
}

/// Where the run of URL characters around the current position ends. The end does not depend
/// on where in the run a scan starts, so it is found once per run, not once per attempt.
#[derive(Debug, Default)]
struct UrlRuns {
    current: Option<(usize, usize)>,
}

impl UrlRuns {
    fn end(&mut self, text: &str, start: usize) -> usize {
        if let Some((from, to)) = self.current
            && from <= start
            && start < to
        {
            return to;
        }
        let to = text.get(start..).and_then(|rest| rest.find(ends_url)).map_or(text.len(), |offset| start + offset);
        self.current = Some((start, to));
        to
    }

    /// A bare `http://`, `https://` or `mailto:` link at `start`, without the trailing
    /// punctuation that ends the sentence around it.
    fn autolink(&mut self, text: &str, start: usize) -> Option<(Token, usize)> {
        let rest = text.get(start..)?;
        let scheme_len = ["https://", "http://", "mailto:"]
            .iter()
            .find(|scheme| rest.get(..scheme.len()).is_some_and(|p| p.eq_ignore_ascii_case(scheme)))?
            .len();
        let end = self.end(text, start);
        let candidate = text.get(start..end)?;
        let mut unbalanced = candidate.matches(')').count().saturating_sub(candidate.matches('(').count());
        let mut trimmed = candidate;
        while let Some(last) = trimmed.chars().next_back() {
            let trim = if last == ')' && unbalanced > 0 {
                unbalanced -= 1;
                true
            } else {
                ".,:;!?'*_~".contains(last)
            };
            if !trim {
                break;
            }
            trimmed = &trimmed[..trimmed.len() - last.len_utf8()];
        }
        if trimmed.len() <= scheme_len {
            return None;
        }
        let href = SafeHref::parse(trimmed)?;
        Some((Token::Node(Inline::Link { href, text: trimmed.to_owned() }), start + trimmed.len()))
    }
}

/// CommonMark's "process emphasis", simplified: a closing run matches the nearest open run of
/// the same character; open runs of the other character in between can then no longer match
/// and stay text. One stack per character makes both steps amortized constant time. Unlike
/// CommonMark, a closer never looks past the nearest opener (that search is what needs extra
/// bookkeeping to stay linear), so "the rule of 3" just leaves such a closer unmatched.
/// Returns how many pairs were made.
fn match_emphasis(tokens: &mut [Token]) -> usize {
    let mut stars: Vec<usize> = Vec::new();
    let mut underscores: Vec<usize> = Vec::new();
    let mut pairs = 0;
    for index in 0..tokens.len() {
        let Some(Token::Delimiter(closer)) = tokens.get(index) else {
            continue;
        };
        let ch = closer.ch;
        let (same, other) = if ch == '*' { (&mut stars, &mut underscores) } else { (&mut underscores, &mut stars) };
        if closer.can_close {
            while let Some(&opener_index) = same.last() {
                let (Some(opener), Some(closer)) = (delimiter(tokens, opener_index), delimiter(tokens, index)) else {
                    break;
                };
                if breaks_rule_of_three(opener, closer) {
                    break;
                }
                let (opener_left, closer_left) = (opener.left, closer.left);
                let strong = opener_left >= 2 && closer_left >= 2;
                let used = if strong { 2 } else { 1 };
                let pair = Pair { id: pairs, strong };
                pairs += 1;
                if let Some(Token::Delimiter(opener)) = tokens.get_mut(opener_index) {
                    opener.left -= used;
                    opener.opens.push(pair);
                    if opener.left == 0 {
                        same.pop();
                    }
                }
                while other.last().is_some_and(|&between| between > opener_index) {
                    other.pop();
                }
                if let Some(Token::Delimiter(closer)) = tokens.get_mut(index) {
                    closer.left -= used;
                    closer.closes.push(pair);
                    if closer.left == 0 {
                        break;
                    }
                }
            }
        }
        if let Some(Token::Delimiter(run)) = tokens.get(index)
            && run.can_open
            && run.left > 0
        {
            same.push(index);
        }
    }
    pairs
}

fn delimiter(tokens: &[Token], index: usize) -> Option<&Delimiter> {
    match tokens.get(index) {
        Some(Token::Delimiter(run)) => Some(run),
        _ => None,
    }
}

/// CommonMark: a run that can both open and close only pairs with one whose length does not
/// make a multiple of three with its own, so `*foo**bar**baz*` nests instead of splitting.
fn breaks_rule_of_three(opener: &Delimiter, closer: &Delimiter) -> bool {
    (opener.can_close || closer.can_open)
        && (opener.length + closer.length).is_multiple_of(3)
        && !(opener.length.is_multiple_of(3) && closer.length.is_multiple_of(3))
}

/// An element being built: its pair (none for the paragraph itself) and its children so far.
struct Frame {
    pair: Option<(Pair, char)>,
    children: Vec<Inline>,
}

fn push_text(children: &mut Vec<Inline>, text: &str) {
    if text.is_empty() {
        return;
    }
    match children.last_mut() {
        Some(Inline::Text(last)) => last.push_str(text),
        _ => children.push(Inline::Text(text.to_owned())),
    }
}

fn delimiter_text(ch: char, pair: Pair) -> String {
    std::iter::repeat_n(ch, if pair.strong { 2 } else { 1 }).collect()
}

/// Turns the token list and its matched pairs into nested inlines. Pairs are properly nested
/// by construction; anything else (and anything deeper than [`MAX_NESTING`]) is kept as text
/// rather than trusted.
fn build_tree(tokens: Vec<Token>, pairs: usize) -> Vec<Inline> {
    let mut frames = vec![Frame { pair: None, children: Vec::new() }];
    let mut flattened = vec![false; pairs];
    for token in tokens {
        let Some(top) = frames.last_mut() else {
            break;
        };
        match token {
            Token::Text(text) => push_text(&mut top.children, &text),
            Token::Node(node) => top.children.push(node),
            Token::Delimiter(run) => {
                for pair in run.closes {
                    close_pair(&mut frames, &mut flattened, run.ch, pair);
                }
                if let Some(top) = frames.last_mut() {
                    push_text(&mut top.children, &std::iter::repeat_n(run.ch, run.left).collect::<String>());
                }
                for pair in run.opens.into_iter().rev() {
                    // The root frame is not nesting.
                    if frames.len() > MAX_NESTING {
                        if let (Some(top), Some(flat)) = (frames.last_mut(), flattened.get_mut(pair.id)) {
                            *flat = true;
                            push_text(&mut top.children, &delimiter_text(run.ch, pair));
                        }
                    } else {
                        frames.push(Frame { pair: Some((pair, run.ch)), children: Vec::new() });
                    }
                }
            }
        }
    }
    // Frames still open cannot happen with matched pairs; should one, its opening delimiter
    // becomes text again instead of the content being lost.
    while frames.len() > 1 {
        if let Some(frame) = frames.pop() {
            unwrap_frame(&mut frames, frame);
        }
    }
    frames.pop().map(|root| root.children).unwrap_or_default()
}

fn close_pair(frames: &mut Vec<Frame>, flattened: &mut [bool], ch: char, pair: Pair) {
    let is_top = frames.last().and_then(|frame| frame.pair).is_some_and(|(open, _)| open.id == pair.id);
    let flat = flattened.get(pair.id).copied().unwrap_or(true);
    if is_top && !flat && frames.len() > 1 {
        if let Some(frame) = frames.pop() {
            let element = if pair.strong { Inline::Bold(frame.children) } else { Inline::Italic(frame.children) };
            if let Some(parent) = frames.last_mut() {
                parent.children.push(element);
            }
        }
    } else if let Some(top) = frames.last_mut() {
        push_text(&mut top.children, &delimiter_text(ch, pair));
    }
}

fn unwrap_frame(frames: &mut [Frame], frame: Frame) {
    let Some(parent) = frames.last_mut() else {
        return;
    };
    if let Some((pair, ch)) = frame.pair {
        push_text(&mut parent.children, &delimiter_text(ch, pair));
    }
    for child in frame.children {
        match child {
            Inline::Text(text) => push_text(&mut parent.children, &text),
            other => parent.children.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn text(s: &str) -> Inline {
        Inline::Text(s.to_owned())
    }

    fn paragraph(inlines: Vec<Inline>) -> Vec<Block> {
        vec![Block::Paragraph(inlines)]
    }

    fn link(href: &str, label: &str) -> Inline {
        Inline::Link { href: SafeHref::parse(href).unwrap(), text: label.to_owned() }
    }

    /// Every link in a tree, and the deepest bold/italic nesting.
    fn links_and_depth(inlines: &[Inline], depth: usize, links: &mut Vec<String>) -> usize {
        inlines
            .iter()
            .map(|inline| match inline {
                Inline::Bold(children) | Inline::Italic(children) => links_and_depth(children, depth + 1, links),
                Inline::Link { href, .. } => {
                    links.push(href.as_str().to_owned());
                    depth
                }
                _ => depth,
            })
            .max()
            .unwrap_or(depth)
    }

    fn inspect(blocks: &[Block]) -> (Vec<String>, usize) {
        let mut links = Vec::new();
        let mut depth = 0;
        for block in blocks {
            if let Block::Paragraph(inlines) = block {
                depth = depth.max(links_and_depth(inlines, 0, &mut links));
            }
        }
        (links, depth)
    }

    /// Written apart from [`SafeHref::parse`] so the two can disagree.
    fn has_allowed_scheme(href: &str) -> bool {
        let lower = href.to_ascii_lowercase();
        lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
    }

    #[test]
    fn plain_text_is_one_text_node() {
        assert_eq!(parse("hello <b>world</b> & co"), paragraph(vec![text("hello <b>world</b> & co")]));
        assert_eq!(parse(""), vec![]);
        assert_eq!(parse("\n\n  \n"), vec![]);
    }

    #[test]
    fn lines_and_paragraphs() {
        assert_eq!(parse("a\nb"), paragraph(vec![text("a"), Inline::LineBreak, text("b")]));
        assert_eq!(parse("a\r\n\r\n\n b"), vec![Block::Paragraph(vec![text("a")]), Block::Paragraph(vec![text(" b")])]);
    }

    #[test]
    fn bold_italic_and_code() {
        assert_eq!(
            parse("**bold** and *it* and _it_ and `co*de*`"),
            paragraph(vec![
                Inline::Bold(vec![text("bold")]),
                text(" and "),
                Inline::Italic(vec![text("it")]),
                text(" and "),
                Inline::Italic(vec![text("it")]),
                text(" and "),
                Inline::Code("co*de*".into()),
            ])
        );
        assert_eq!(
            parse("*foo**bar**baz*"),
            paragraph(vec![Inline::Italic(vec![text("foo"), Inline::Bold(vec![text("bar")]), text("baz")])])
        );
        assert_eq!(parse("***both***"), paragraph(vec![Inline::Italic(vec![Inline::Bold(vec![text("both")])])]));
        assert_eq!(
            parse("**bold *nested* bold**"),
            paragraph(vec![Inline::Bold(vec![text("bold "), Inline::Italic(vec![text("nested")]), text(" bold")])])
        );
        assert_eq!(parse("``a ` b``"), paragraph(vec![Inline::Code("a ` b".into())]));
        assert_eq!(parse("` `` `"), paragraph(vec![Inline::Code("``".into())]));
    }

    #[test]
    fn unmatched_and_intraword_delimiters_stay_text() {
        for input in ["snake_case_name", "2 * 3 * 4", "**not closed", "`not closed", "a ** b", "_a*", "[x]", "[x](y"] {
            assert_eq!(parse(input), paragraph(vec![text(input)]), "{input:?}");
        }
        assert_eq!(
            parse("*a _b* c_"),
            paragraph(vec![Inline::Italic(vec![text("a _b")]), text(" c_")]),
            "a closer drops openers of the other kind in between"
        );
    }

    #[test]
    fn fenced_code_blocks() {
        assert_eq!(
            parse("look:\n```rust\nlet x = **1**;\n\n<b>\n```\nnice"),
            vec![
                Block::Paragraph(vec![text("look:")]),
                Block::CodeBlock { text: "let x = **1**;\n\n<b>".into() },
                Block::Paragraph(vec![text("nice")]),
            ]
        );
        assert_eq!(parse("```\n```"), vec![Block::CodeBlock { text: String::new() }]);
        // Unclosed: the fence is text, and nothing below it is swallowed.
        assert_eq!(parse("```\n*x*"), paragraph(vec![text("```"), Inline::LineBreak, Inline::Italic(vec![text("x")])]));
        assert_eq!(parse("```one line```"), paragraph(vec![Inline::Code("one line".into())]));
    }

    #[test]
    fn links_with_safe_schemes() {
        assert_eq!(
            parse("see [the docs](https://example.com/a_(b)) now"),
            paragraph(vec![text("see "), link("https://example.com/a_(b)", "the docs"), text(" now")])
        );
        assert_eq!(
            parse("go to https://example.com/x_y_z. Or (http://a.example/b)! mailto:ada@example.com"),
            paragraph(vec![
                text("go to "),
                link("https://example.com/x_y_z", "https://example.com/x_y_z"),
                text(". Or ("),
                link("http://a.example/b", "http://a.example/b"),
                text(")! "),
                link("mailto:ada@example.com", "mailto:ada@example.com"),
            ])
        );
        assert_eq!(
            parse("**HTTPS://EXAMPLE.COM**"),
            paragraph(vec![Inline::Bold(vec![link("HTTPS://EXAMPLE.COM", "HTTPS://EXAMPLE.COM")])])
        );
        assert_eq!(parse("xhttp://a.example"), paragraph(vec![text("xhttp://a.example")]));
    }

    #[test]
    fn links_with_other_schemes_stay_text() {
        for input in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](data:text/html,hi)",
            "[x](vbscript:msgbox)",
            "[x](/relative)",
            "[x](//evil.example)",
            "[x](http:evil.example)",
            "[x](https:///path)",
            "[x](java\u{0}script:alert(1))",
            "[x](https://a.example/\u{202E}gpj.exe)",
            "[x](https:\\\\evil.example)",
            "javascript:alert(1)",
            "http:// nothing",
        ] {
            let (links, _) = inspect(&parse(input));
            assert!(links.is_empty(), "{input:?} gave {links:?}");
            assert_eq!(to_plain_text(&parse(input)), input, "{input:?} must stay visible as typed");
        }
    }

    #[test]
    fn safe_href_checks() {
        for good in ["http://a", "https://a.example/p?q#f", "mailto:a@b", "MAILTO:x", "hTTp://[::1]:8080/"] {
            assert!(SafeHref::parse(good).is_some(), "{good:?}");
        }
        for bad in [
            "",
            "javascript:alert(1)",
            " https://a",
            "https://a b",
            "https://a\t",
            "java\nscript:x",
            "jav&#x09;ascript:x",
            "ftp://a",
            "https:/a",
            "https://",
            "https://?x",
            "mailto:",
            "https\u{200B}://a",
            "://a",
        ] {
            assert!(SafeHref::parse(bad).is_none(), "{bad:?}");
        }
        assert!(SafeHref::parse("MailTo:a@b").is_some_and(|h| h.is_mailto()));
        assert!(SafeHref::parse("https://a").is_some_and(|h| !h.is_mailto()));
    }

    #[test]
    fn nesting_is_bounded() {
        let depth = 40;
        let input = format!("{}y{}", "*x _x ".repeat(depth), " x_ x*".repeat(depth));
        let blocks = parse(&input);
        let (_, nesting) = inspect(&blocks);
        assert_eq!(nesting, MAX_NESTING);
        assert_eq!(to_plain_text(&blocks).matches('y').count(), 1);
        assert_eq!(to_plain_text(&blocks).len(), input.len() - 2 * MAX_NESTING);
    }

    #[test]
    fn plain_text_of_a_rich_message() {
        let blocks = parse("**Hi** _all_,\nsee [docs](https://d.example) and `x`\n\n```\ncode\n```");
        assert_eq!(to_plain_text(&blocks), "Hi all,\nsee docs and x\n\ncode");
    }

    /// Inputs that make naive parsers backtrack quadratically or worse.
    #[test]
    fn hostile_inputs_parse_in_linear_time() {
        let n = 100_000;
        let inputs = [
            "*".repeat(n),
            "_".repeat(n),
            "*a ".repeat(n / 3),
            "a* ".repeat(n / 3),
            "*_".repeat(n / 2),
            "[".repeat(n),
            "[a](".repeat(n / 4),
            "[a](x".repeat(n / 5),
            "](".repeat(n / 2),
            (1..450).map(|k| "`".repeat(k) + "x").collect::<String>(),
            "`a".repeat(n / 2),
            "http://".repeat(n / 7),
            "mailto:a/".repeat(n / 9),
            " http://a.example/(".repeat(n / 20),
            "```\n".repeat(n / 4),
            "```x\n".repeat(n / 5),
            "\n".repeat(n),
            format!("{}{}", "**a".repeat(n / 6), "a**".repeat(n / 6)),
        ];
        for input in &inputs {
            let started = Instant::now();
            let blocks = parse(input);
            let _ = to_plain_text(&blocks);
            let (_, depth) = inspect(&blocks);
            assert!(depth <= MAX_NESTING);
            let elapsed = started.elapsed();
            assert!(elapsed < Duration::from_secs(5), "{:?}... took {elapsed:?}", input.get(..20));
        }
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9é,.!?]{1,8}"
    }

    /// A word, perhaps wrapped in one kind of markup, with the text that should show.
    fn marked_word() -> impl Strategy<Value = (String, String)> {
        (word(), 0..5_u8).prop_map(|(w, kind)| {
            let typed = match kind {
                0 => format!("**{w}**"),
                1 => format!("*{w}*"),
                2 => format!("_{w}_"),
                3 => format!("`{w}`"),
                _ => w.clone(),
            };
            (typed, w)
        })
    }

    fn markup_heavy() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("*".to_owned()),
                Just("_".to_owned()),
                Just("`".to_owned()),
                Just("[".to_owned()),
                Just("](".to_owned()),
                Just(")".to_owned()),
                Just("\n".to_owned()),
                Just("```".to_owned()),
                Just(" ".to_owned()),
                Just("http://a".to_owned()),
                Just("javascript:".to_owned()),
                Just("mailto:".to_owned()),
                Just("data:".to_owned()),
                "[a-z:/]{1,4}",
                any::<char>().prop_map(String::from),
            ],
            0..60,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(input in any::<String>()) {
            let blocks = parse(&input);
            let _ = to_plain_text(&blocks);
        }

        #[test]
        fn no_link_has_a_disallowed_scheme_and_nesting_is_bounded(input in markup_heavy()) {
            let blocks = parse(&input);
            let (links, depth) = inspect(&blocks);
            for href in &links {
                prop_assert!(has_allowed_scheme(href), "{href:?} from {input:?}");
                prop_assert!(!href.chars().any(|c| c.is_whitespace() || c.is_control()), "{href:?}");
            }
            prop_assert!(depth <= MAX_NESTING);
            prop_assert!(to_plain_text(&blocks).chars().count() <= input.chars().count());
        }

        #[test]
        fn text_without_markup_shows_as_typed(
            paragraphs in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(word(), 1..6).prop_map(|w| w.join(" ")), 1..4)
                    .prop_map(|lines| lines.join("\n")),
                1..4,
            )
        ) {
            let input = paragraphs.join("\n\n");
            prop_assert_eq!(to_plain_text(&parse(&input)), input);
        }

        #[test]
        fn visible_text_is_the_input_without_delimiters(words in proptest::collection::vec(marked_word(), 1..12)) {
            let typed: Vec<String> = words.iter().map(|(typed, _)| typed.clone()).collect();
            let shown: Vec<String> = words.iter().map(|(_, shown)| shown.clone()).collect();
            prop_assert_eq!(to_plain_text(&parse(&typed.join(" "))), shown.join(" "));
        }
    }
}
