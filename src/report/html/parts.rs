//! What the page's parts share: a backfill as the page shows it, and text
//! made safe for HTML.

use crate::report::eta::{ChunkPoint, Eta};
use crate::report::standing::Standing;
use crate::report::table::StatusLine;

/// One backfill on the page.
#[derive(Debug, Clone)]
pub struct PageBackfill<'a> {
    /// Its line of `status`, priority included: the page and the table
    /// show the same values.
    pub line: &'a StatusLine,
    /// Its recent chunks, oldest first.
    pub chunks: &'a [ChunkPoint],
}

/// Text for HTML, in an element or an attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where the caller's reading put it; one it did not read counts as in progress.
pub fn standing_of(line: &StatusLine) -> Standing {
    line.standing.unwrap_or(Standing::InProgress)
}

pub fn eta_text(line: &StatusLine) -> String {
    line.eta.as_ref().map_or_else(|| "-".to_string(), |e| if *e == Eta::Done { "-".into() } else { e.sentence() })
}
