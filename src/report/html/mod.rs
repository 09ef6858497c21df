//! `backfill status --html FILE`: one page that holds everything it shows
//! (styles, charts as inline SVG, one small script), so that it opens from
//! a workflow's artifact or a mail with nothing fetched. Every text that
//! came from the database is escaped.
//!
//! It opens with the fleet: a sentence of where the backfills stand and a
//! row each (`overview`), those that need attention first. Sections of
//! their own, with the full charts and failed chunks, follow for at most
//! `MAX_SECTIONS` of them: those that need attention, then the most
//! recently active; the page says so when it leaves some out.

mod overview;
mod parts;

use chrono::{DateTime, Utc};

use super::credentials::credential_text;
use super::eta::ChunkPoint;
use super::svg;
use crate::budget::{Budget, CredentialBudget};
use crate::text::one_line;
pub use parts::{escape, PageBackfill};
use parts::{eta_text, standing_of};

/// Failed chunks listed per backfill, newest first.
pub const MAX_FAILED: usize = 20;

/// Backfills with a section of their own (two charts each, some 50 KB of
/// SVG): a page of 500 stays a page.
pub const MAX_SECTIONS: usize = 12;

/// The budget seen last of all the backfills': the latest window's, and
/// in it the lowest remaining (each request leaves less).
pub fn latest_budget(budgets: impl IntoIterator<Item = Budget>) -> Option<Budget> {
    budgets.into_iter().max_by_key(|b| (b.reset_at.unwrap_or(DateTime::<Utc>::MIN_UTC), -b.remaining))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right}section{margin-top:2em}svg{max-width:100%;height:auto}\
.failed td{background:#fff3f3}progress{width:8em}tr.attention td:first-child{border-left:4px solid #d62728}\
td.standing{white-space:nowrap}td.last-error{max-width:30em;font-size:90%}svg.spark{vertical-align:middle}";

/// Proves to a reader (and the test's browser) that the page's script ran.
const SCRIPT: &str = "document.getElementById('rendered').textContent = \
'rendered: ' + document.querySelectorAll('tr.backfill-row').length + ' backfills';";

/// The page; `credentials`: each credential's budget as seen last
/// (`backfill_credentials`), by name.
pub fn page(
    backfills: &[PageBackfill],
    budget: Option<Budget>,
    credentials: &[CredentialBudget],
    now: DateTime<Utc>,
) -> String {
    let mut h = String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<title>backfill status</title>\n");
    h.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n<h1>backfill status</h1>\n"));
    h.push_str(&format!("<p>As of {}. {}</p>\n", now.format("%Y-%m-%d %H:%M UTC"), escape(&budget_text(budget))));
    credentials_table(&mut h, credentials, now);
    if backfills.is_empty() {
        h.push_str("<p>No backfills yet: start one with <code>backfill add OWNER/NAME</code>.</p>\n");
    }
    // Most urgent first; in the order given within a standing.
    let mut order: Vec<&PageBackfill> = backfills.iter().collect();
    order.sort_by_key(|b| standing_of(b.line));
    overview::fleet(&mut h, &order);
    let (sections, note) = with_sections(&order);
    if let Some(note) = note {
        h.push_str(&format!("<p class=\"sections\">{}</p>\n", escape(&note)));
    }
    for b in sections {
        section(&mut h, b);
    }
    h.push_str("<p id=\"rendered\">not rendered</p>\n");
    h.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
    h
}

/// The backfills that get a section: all of a few; of more, those that need
/// attention and then the most recently active, `MAX_SECTIONS` in all, in
/// the page's order. With a sentence that says so when some are left out.
fn with_sections<'a>(order: &[&'a PageBackfill<'a>]) -> (Vec<&'a PageBackfill<'a>>, Option<String>) {
    if order.len() <= MAX_SECTIONS {
        return (order.to_vec(), None);
    }
    let urgent: Vec<usize> = (0..order.len()).filter(|i| order[*i].line.needs_attention()).take(MAX_SECTIONS).collect();
    let mut active: Vec<usize> = (0..order.len()).filter(|i| !order[*i].line.needs_attention()).collect();
    active.sort_by_key(|i| {
        std::cmp::Reverse(order[*i].line.facts(order[*i].chunks).last_moved().or(order[*i].line.last_run))
    });
    active.truncate(MAX_SECTIONS - urgent.len());
    let note = sections_note(
        urgent.len(),
        order.iter().filter(|b| b.line.needs_attention()).count(),
        active.len(),
        order.len(),
    );
    let mut chosen: Vec<usize> = urgent.into_iter().chain(active).collect();
    chosen.sort_unstable();
    (chosen.into_iter().map(|i| order[i]).collect(), Some(note))
}

/// Which backfills have sections, when not all do: `shown` of the `urgent`
/// that need attention, `active` of the others, of `total`.
fn sections_note(shown: usize, urgent: usize, active: usize, total: usize) -> String {
    let which = match (shown, active) {
        (0, _) => format!("the {active} most recently active (none needs attention)"),
        (_, 0) if shown < urgent => format!("the first {shown} of the {urgent} that need attention"),
        (1, 0) => "the 1 that needs attention".to_string(),
        (_, 0) => format!("the {shown} that need attention"),
        (1, _) => format!("the 1 that needs attention and the {active} most recently active"),
        (_, _) => format!("the {shown} that need attention and the {active} most recently active"),
    };
    format!(
        "Sections below for {} of {total} backfills: {which}. `backfill status --repository-id OWNER/NAME \
         --html FILE` draws any one's, `backfill history OWNER/NAME` lists its chunks.",
        shown + active
    )
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

/// Whose budget is whose: a row per credential, by name.
fn credentials_table(h: &mut String, credentials: &[CredentialBudget], now: DateTime<Utc>) {
    if credentials.is_empty() {
        return;
    }
    h.push_str("<table class=\"credentials\">\n<tr><th>Credential</th><th>Budget seen last</th></tr>\n");
    for c in credentials {
        let text = credential_text(c, now);
        let said = text.strip_prefix(&format!("{}: ", c.name)).unwrap_or(&text);
        h.push_str(&format!("<tr><td>{}</td><td>{}</td></tr>\n", escape(&c.name), escape(said)));
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
    let audited = l.audited.as_ref().map_or_else(|| "never".to_string(), super::audit::Audited::sentence);
    h.push_str(&format!("<p>Last fully audited: {}.</p>\n", escape(&audited)));
    let stored = b.chunks.iter().filter(|c| !c.failed).count();
    if stored > 0 {
        h.push_str(&format!(
            "<h3>PRs stored over time</h3>\n<p>The last {} read.</p>\n",
            crate::text::count(b.chunks.len(), "chunk", "chunks")
        ));
    }
    let red = match b.chunks.iter().any(|c| c.failed) {
        true => "<figcaption>Red marks: failed chunks.</figcaption>",
        false => "",
    };
    if let Some(chart) = svg::stored_over_time(b.chunks) {
        h.push_str(&format!("<figure class=\"stored\">{chart}{red}</figure>\n"));
    }
    if let Some(chart) = svg::points_per_chunk(b.chunks) {
        h.push_str(&format!("<h3>Points per chunk</h3>\n<figure class=\"points\">{chart}{red}</figure>\n"));
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
mod tests;
