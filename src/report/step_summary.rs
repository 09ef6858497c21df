//! The run's Markdown in `$GITHUB_STEP_SUMMARY`. A run over a few backfills
//! gets a row each, their ETAs and charts. A run over a fleet (more than
//! `lines::FLEET`) reads like one over a few: its totals first, then a row
//! per backfill that needs attention (`standing`), one sentence for the
//! others, and, folded away, the backfills that stored PRs; so that 500
//! backfills stay far under GitHub's 1 MiB for a step's summary.

use super::chart::mermaid_progress;
use super::eta::Eta;
use super::lines::{fleet_of, need_attention, tally};
use super::{BackfillReport, RunSummary};
use crate::text::one_line;

/// Charts in one step summary: a run over many backfills shows the first
/// this many (of those that stored PRs, for a fleet): each backfill's own
/// page has them all (`status --html`).
pub const MAX_CHARTS: usize = 10;

/// Rows of backfills that need attention; more are counted.
pub const MAX_ATTENTION_ROWS: usize = 50;

/// Rows of backfills that stored PRs, folded under the fleet's summary.
pub const MAX_MOVED_ROWS: usize = 100;

pub fn summary_markdown(s: &RunSummary) -> String {
    let mut md = String::from("### backfill run\n\n");
    if s.backfills.is_empty() {
        md.push_str("No backfill to run.\n\n");
    } else if let Some(fleet) = fleet_markdown(s) {
        md.push_str(&fleet);
        return md;
    } else {
        md.push_str(&backfill_table(s, s.backfills.iter()));
        md.push('\n');
        charts(&mut md, s.backfills.iter().filter(|b| b.eta.is_some() || !b.chunks.is_empty()));
    }
    md.push_str(&totals(s));
    md
}

/// `2 chunks, 100 PRs stored, ...; 4990 of 5000 points left, resets 13:00 UTC. Outcome: **ok**.`
fn totals(s: &RunSummary) -> String {
    let reset =
        s.budget.and_then(|b| b.reset_at).map_or_else(String::new, |t| format!(", resets {}", t.format("%H:%M UTC")));
    let budget = match s.budget {
        Some(b) => format!("{} of {} points left{reset}", b.remaining, b.limit),
        None => "budget not seen".to_string(),
    };
    format!("{}; {budget}. Outcome: **{}**.\n\n", tally(s), s.outcome())
}

/// A row per backfill: what this run did to it and where it stands.
fn backfill_table<'a>(s: &RunSummary, rows: impl Iterator<Item = &'a BackfillReport>) -> String {
    let mut md = String::from(
        "| Repository | PRs stored this run | Processed | % | Chunk size | Points used | Points left | Status | ETA |\n",
    );
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
    let left = s.budget.map_or_else(|| "?".to_string(), |b| b.remaining.to_string());
    for b in rows {
        md.push_str(&format!(
            "| {} | {} | {}/{} | {:.1}% | {} | {} | {left} | {} | {} |\n",
            cell(&b.repository),
            b.prs_stored,
            b.processed_prs,
            b.total_prs,
            b.percent(),
            b.chunk_size.map_or_else(|| "-".to_string(), |n| n.to_string()),
            b.points,
            cell(&b.status_text()),
            b.eta.as_ref().map_or_else(|| "-".to_string(), |e| cell(&e.short())),
        ));
    }
    md
}

/// Each backfill's ETA in words and its chart, for the first `MAX_CHARTS`.
fn charts<'a>(md: &mut String, backfills: impl Iterator<Item = &'a BackfillReport>) {
    for b in backfills.take(MAX_CHARTS) {
        if let Some(eta) = b.eta.as_ref().filter(|e| **e != Eta::Done) {
            md.push_str(&format!("**{}**: {}.\n\n", markdown_text(&b.repository), markdown_text(&eta.sentence())));
        }
        if let Some(chart) = mermaid_progress(&b.repository, &b.chunks, b.total_prs) {
            md.push_str(chart.as_str());
        }
    }
}

/// Totals, the backfills that need attention, the others in a sentence,
/// and those that stored PRs folded away; none for a few backfills.
fn fleet_markdown(s: &RunSummary) -> Option<String> {
    let (fleet, head) = fleet_of(s)?;
    let mut md = totals(s);
    if fleet.attention.is_empty() {
        md.push_str(&format!("{head}; none needs attention ({}).\n\n", fleet.rest_words()));
    } else {
        md.push_str(&format!("{head}; **{}**:\n\n", need_attention(fleet.attention.len())));
        md.push_str("| Repository | Needs attention | Processed | % | PRs stored this run | Points used | ETA |\n");
        md.push_str("|---|---|---:|---:|---:|---:|---|\n");
        for (i, _, reason) in fleet.attention.iter().take(MAX_ATTENTION_ROWS) {
            let b = &s.backfills[*i];
            md.push_str(&format!(
                "| {} | {} | {}/{} | {:.1}% | {} | {} | {} |\n",
                markdown_text(&b.repository),
                markdown_text(reason),
                b.processed_prs,
                b.total_prs,
                b.percent(),
                b.prs_stored,
                b.points,
                b.eta.as_ref().map_or_else(|| "-".to_string(), |e| markdown_text(&e.short())),
            ));
        }
        md.push('\n');
        if let Some(more) = fleet.attention.len().checked_sub(MAX_ATTENTION_ROWS).filter(|n| *n > 0) {
            md.push_str(&format!(
                "And {more} more that need attention: `backfill status --attention` lists them all.\n\n"
            ));
        }
        if let Some(rest) = fleet.rest_sentence() {
            md.push_str(&format!("{}.\n\n", capitalized(&rest)));
        }
    }
    let moved: Vec<&BackfillReport> = s.backfills.iter().filter(|b| b.prs_stored > 0).collect();
    if !moved.is_empty() {
        let shown = moved.len().min(MAX_MOVED_ROWS);
        let what = match shown < moved.len() {
            true => format!("The first {shown} of the {} backfills that stored PRs in this run", moved.len()),
            false => {
                format!("The {} that stored PRs in this run", crate::text::count(moved.len(), "backfill", "backfills"))
            }
        };
        md.push_str(&format!("<details><summary>{what}</summary>\n\n"));
        md.push_str(&backfill_table(s, moved.iter().take(MAX_MOVED_ROWS).copied()));
        md.push_str("\n</details>\n\n");
        charts(&mut md, moved.into_iter());
    }
    Some(md)
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Plain text in markdown, on one line: nothing in it is read as markup or HTML.
pub fn markdown_text(s: &str) -> String {
    let mut out = String::new();
    for c in one_line(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A markdown table cell: a `|` or a line break would break the table.
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests;
