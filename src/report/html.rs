//! `backfill status --html FILE`: one page that holds everything it shows
//! (styles, charts as inline SVG, one small script), so that it opens from
//! a workflow's artifact or a mail with nothing fetched. Every text that
//! came from the database is escaped.

use chrono::{DateTime, Utc};

use super::eta::{ChunkPoint, Eta};
use super::svg;
use super::table::StatusLine;
use crate::budget::Budget;
use crate::text::one_line;

/// Failed chunks listed per backfill, newest first.
pub const MAX_FAILED: usize = 20;

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

/// The budget seen last of all the backfills': the latest window's, and
/// in it the lowest remaining (each request leaves less).
pub fn latest_budget(budgets: impl IntoIterator<Item = Budget>) -> Option<Budget> {
    budgets.into_iter().max_by_key(|b| (b.reset_at.unwrap_or(DateTime::<Utc>::MIN_UTC), -b.remaining))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right}section{margin-top:2em}svg{max-width:100%;height:auto}\
.failed td{background:#fff3f3}progress{width:8em}";

/// Proves to a reader (and the test's browser) that the page's script ran.
const SCRIPT: &str = "document.getElementById('rendered').textContent = \
'rendered: ' + document.querySelectorAll('section.backfill').length + ' backfills';";

pub fn page(backfills: &[PageBackfill], budget: Option<Budget>, now: DateTime<Utc>) -> String {
    let mut h = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<title>backfill status</title>\n");
    h.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n<h1>backfill status</h1>\n"));
    h.push_str(&format!("<p>As of {}. {}</p>\n", now.format("%Y-%m-%d %H:%M UTC"), escape(&budget_text(budget))));
    if backfills.is_empty() {
        h.push_str("<p>No backfills yet: start one with <code>backfill add OWNER/NAME</code>.</p>\n");
    } else {
        overview(&mut h, backfills);
    }
    for b in backfills {
        section(&mut h, b);
    }
    h.push_str("<p id=\"rendered\">not rendered</p>\n");
    h.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
    h
}

fn budget_text(budget: Option<Budget>) -> String {
    match budget {
        Some(b) => {
            let reset = b.reset_at.map_or_else(String::new, |t| format!(", resets {}", t.format("%Y-%m-%d %H:%M UTC")));
            format!("Budget seen last: {} of {} points left{reset}.", b.remaining, b.limit)
        }
        None => "No budget seen yet.".to_string(),
    }
}

fn eta_text(line: &StatusLine) -> String {
    line.eta.as_ref().map_or_else(|| "-".to_string(), |e| if *e == Eta::Done { "-".into() } else { e.sentence() })
}

fn overview(h: &mut String, backfills: &[PageBackfill]) {
    h.push_str("<table id=\"backfills\">\n<tr><th>Repository</th><th>Status</th><th>Priority</th><th>Progress</th>");
    h.push_str("<th>Chunks</th><th>Failed</th><th>Last run</th><th>ETA</th></tr>\n");
    for b in backfills {
        let l = b.line;
        h.push_str(&format!(
            "<tr class=\"backfill-row\"><td>{}</td><td>{}</td><td>{}</td>\
             <td><progress value=\"{}\" max=\"{}\"></progress> {}/{} ({:.1}%)</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&l.repository),
            escape(l.status.as_str()),
            l.priority.as_str(),
            l.processed_prs.max(0),
            l.total_prs.max(l.processed_prs).max(1),
            l.processed_prs,
            l.total_prs,
            l.percent,
            l.chunks_done,
            l.chunks_failed,
            l.last_run.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
            escape(&eta_text(l)),
        ));
    }
    h.push_str("</table>\n");
}

fn section(h: &mut String, b: &PageBackfill) {
    let l = b.line;
    h.push_str(&format!(
        "<section class=\"backfill\">\n<h2>{}</h2>\n<p>{}: {}/{} PRs, priority {}. ETA: {}.</p>\n",
        escape(&l.repository),
        escape(l.status.as_str()),
        l.processed_prs,
        l.total_prs,
        l.priority.as_str(),
        escape(&eta_text(l)),
    ));
    if let Some(e) = &l.error {
        h.push_str(&format!("<p>Last error: {}</p>\n", escape(&one_line(e))));
    }
    let stored = b.chunks.iter().filter(|c| !c.failed).count();
    if stored > 0 {
        h.push_str(&format!(
            "<h3>PRs stored over time</h3>\n<p>The last {} read.</p>\n",
            crate::text::count(b.chunks.len(), "chunk", "chunks")
        ));
    }
    if let Some(chart) = svg::stored_over_time(b.chunks) {
        h.push_str(&format!("<figure class=\"stored\">{chart}</figure>\n"));
    }
    if let Some(chart) = svg::points_per_chunk(b.chunks) {
        h.push_str(&format!("<h3>Points per chunk</h3>\n<figure class=\"points\">{chart}</figure>\n"));
    }
    if b.chunks.is_empty() {
        h.push_str("<p>No chunks yet.</p>\n");
    }
    let failed: Vec<&ChunkPoint> = b.chunks.iter().rev().filter(|c| c.failed).take(MAX_FAILED).collect();
    if !failed.is_empty() {
        h.push_str(
            "<h3>Failed chunks</h3>\n<table class=\"failed\">\n<tr><th>Chunk</th><th>When</th><th>Error</th></tr>\n",
        );
        for c in failed {
            h.push_str(&format!(
                "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"error\">{}</td></tr>\n",
                c.number,
                c.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
                escape(&one_line(c.error.as_deref().unwrap_or("")))
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_text_is_escaped() {
        let cases = [
            ("acme/widgets", "acme/widgets"),
            ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
            ("a & \"b\" 'c'", "a &amp; &quot;b&quot; &#39;c&#39;"),
        ];
        for (given, want) in cases {
            assert_eq!(escape(given), want);
        }
    }

    #[test]
    fn the_budget_seen_last_is_the_latest_windows_lowest() {
        let at = |h: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + h * 3_600, 0);
        let b = |remaining: i64, reset| Budget { limit: 5_000, remaining, used: None, reset_at: reset };
        let cases = [
            (vec![b(4_000, at(1)), b(4_900, at(2)), b(4_950, at(2))], Some(b(4_900, at(2)))),
            (vec![b(10, None), b(20, at(0))], Some(b(20, at(0)))),
            (vec![], None),
        ];
        for (given, want) in cases {
            assert_eq!(latest_budget(given.clone()), want, "{given:?}");
        }
    }
}
