//! Rust source as tokens, enough to find paths: identifiers, `::` and single
//! punctuation. Comments, strings and characters vanish (a `crate::` in a
//! doc comment or a message is no import), and so do `#[cfg(test)]` items,
//! which the library never builds.

/// What stands in for a literal, so that no path runs through it.
const LITERAL: &str = "\"\"";

/// The library's tokens of a source file.
pub fn library_tokens(text: &str) -> Vec<String> {
    without_test_items(tokens(text))
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The index just past `from`'s run of characters that satisfy `keep`.
fn run_end(chars: &[char], from: usize, keep: fn(char) -> bool) -> usize {
    chars[from..].iter().position(|c| !keep(*c)).map_or(chars.len(), |n| from + n)
}

fn tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < chars.len() {
        let (end, token) = token_at(&chars, i);
        out.extend(token);
        i = end;
    }
    out
}

/// The token that starts at `i`, if it is one we keep, and the index past it.
fn token_at(chars: &[char], i: usize) -> (usize, Option<String>) {
    let (c, next) = (chars[i], chars.get(i + 1).copied());
    let literal = |end| (end, Some(LITERAL.to_string()));
    if c.is_whitespace() {
        (i + 1, None)
    } else if c == '/' && next == Some('/') {
        (chars[i..].iter().position(|c| *c == '\n').map_or(chars.len(), |n| i + n), None)
    } else if c == '/' && next == Some('*') {
        (block_comment_end(chars, i), None)
    } else if let Some(end) = raw_string_end(chars, i) {
        literal(end)
    } else if c == '"' || (c == 'b' && next == Some('"')) {
        literal(string_end(chars, i + usize::from(c == 'b')))
    } else if c == '\'' || (c == 'b' && next == Some('\'')) {
        quote_end(chars, i + usize::from(c == 'b'))
    } else if c == 'r' && next == Some('#') && chars.get(i + 2).is_some_and(|c| is_ident_start(*c)) {
        let end = run_end(chars, i + 2, is_ident); // a raw identifier: r#type
        (end, Some(chars[i + 2..end].iter().collect()))
    } else if is_ident(c) {
        let end = run_end(chars, i, is_ident);
        (end, Some(chars[i..end].iter().collect()))
    } else if c == ':' && next == Some(':') {
        (i + 2, Some("::".to_string()))
    } else {
        (i + 1, Some(c.to_string()))
    }
}

/// Block comments nest in Rust.
fn block_comment_end(chars: &[char], start: usize) -> usize {
    let (mut depth, mut i) = (0, start);
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('*')) => (depth, i) = (depth + 1, i + 2),
            ('*', Some('/')) if depth == 1 => return i + 2,
            ('*', Some('/')) => (depth, i) = (depth - 1, i + 2),
            _ => i += 1,
        }
    }
    chars.len()
}

/// `r"…"`, `r#"…"#`, `br"…"` starting at `start`: the index past its end.
fn raw_string_end(chars: &[char], start: usize) -> Option<usize> {
    let r = start + usize::from(chars[start] == 'b');
    (chars.get(r) == Some(&'r')).then_some(())?;
    let quote = run_end(chars, r + 1, |c| c == '#');
    (chars.get(quote) == Some(&'"')).then_some(())?;
    let closing: String = std::iter::once('"').chain(std::iter::repeat_n('#', quote - r - 1)).collect();
    let body: String = chars[quote + 1..].iter().collect();
    Some(body.find(&closing).map_or(chars.len(), |at| quote + 1 + body[..at].chars().count() + closing.len()))
}

/// A `"…"` string from its opening quote: the index past its closing quote.
fn string_end(chars: &[char], quote: usize) -> usize {
    let mut i = quote + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// A character literal (`'x'`, `'\''`, `'\u{7f}'`) or a lifetime (`'a`,
/// which names nothing we follow).
fn quote_end(chars: &[char], quote: usize) -> (usize, Option<String>) {
    let literal = Some(LITERAL.to_string());
    if chars.get(quote + 1) == Some(&'\\') {
        let close = chars.iter().skip(quote + 3).position(|c| *c == '\'');
        return (close.map_or(chars.len(), |n| quote + 4 + n), literal);
    }
    if chars.get(quote + 2) == Some(&'\'') {
        return (quote + 3, literal);
    }
    (run_end(chars, quote + 1, is_ident), None)
}

/// Drops every item under `#[cfg(test)]`, with its other attributes.
fn without_test_items(tokens: Vec<String>) -> Vec<String> {
    let marker = ["#", "[", "cfg", "(", "test", ")", "]"];
    let (mut kept, mut i) = (Vec::new(), 0);
    while i < tokens.len() {
        if !tokens[i..].starts_with(&marker.map(String::from)) {
            kept.push(tokens[i].clone());
            i += 1;
            continue;
        }
        i += marker.len();
        while tokens.get(i).is_some_and(|t| t == "#") && tokens.get(i + 1).is_some_and(|t| t == "[") {
            i = balanced_end(&tokens, i + 1);
        }
        i = item_end(&tokens, i);
    }
    kept
}

/// From an opening bracket: the index past the bracket that closes it.
fn balanced_end(tokens: &[String], open: usize) -> usize {
    let mut depth = 0;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        match token.as_str() {
            "(" | "[" | "{" => depth += 1,
            ")" | "]" | "}" if depth == 1 => return i + 1,
            ")" | "]" | "}" => depth -= 1,
            _ => {}
        }
    }
    tokens.len()
}

/// An item ends at its first `;` or with its first `{…}` block, outside brackets.
fn item_end(tokens: &[String], start: usize) -> usize {
    let mut i = start;
    while i < tokens.len() {
        match tokens[i].as_str() {
            ";" => return i + 1,
            "{" => return balanced_end(tokens, i),
            "(" | "[" => i = balanced_end(tokens, i),
            _ => i += 1,
        }
    }
    tokens.len()
}
