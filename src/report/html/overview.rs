//! The page's opening: where the fleet stands in a sentence, then a row
//! per backfill (most urgent first) with its progress bar, a sparkline of
//! its PRs stored over time and its last error.

use std::collections::BTreeMap;

use super::parts::{escape, eta_text, standing_of, PageBackfill};
use crate::report::standing::{headline, Standing};
use crate::report::svg;
use crate::text::{count, one_line};

/// `200 backfills: 3 need attention (1 failed, 2 failing); 150 in
/// progress, 47 current.`
pub fn sentence(standings: &[Standing]) -> String {
    let mut counts: BTreeMap<Standing, usize> = BTreeMap::new();
    for s in standings {
        *counts.entry(*s).or_insert(0) += 1;
    }
    let words = |urgent: bool| {
        let parts: Vec<String> = (counts.iter().filter(|(s, _)| s.needs_attention() == urgent))
            .map(|(s, n)| format!("{n} {}", s.words()))
            .collect();
        parts.join(", ")
    };
    let urgent: usize = counts.iter().filter(|(s, _)| s.needs_attention()).map(|(_, n)| n).sum();
    let all = count(standings.len(), "backfill", "backfills");
    match (urgent, urgent == standings.len()) {
        (0, _) => format!("{all}, none needs attention: {}.", words(false)),
        (_, true) => format!("{all}, all needing attention: {}.", words(true)),
        (n, false) => {
            format!("{all}: {} ({}); {}.", count(n, "needs attention", "need attention"), words(true), words(false))
        }
    }
}

/// The sentence and the table, in the page's order.
pub fn fleet(h: &mut String, order: &[&PageBackfill]) {
    if order.is_empty() {
        return;
    }
    let standings: Vec<Standing> = order.iter().map(|b| standing_of(b.line)).collect();
    h.push_str(&format!("<p class=\"fleet\">{}</p>\n", escape(&sentence(&standings))));
    h.push_str("<table id=\"backfills\">\n<tr><th>Repository</th><th>Status</th><th>Priority</th>");
    h.push_str("<th>Standing</th><th>Progress</th><th>PRs stored</th><th>Chunks</th><th>Failed</th>");
    h.push_str("<th>Last run</th><th>ETA</th><th>Last error</th></tr>\n");
    for (b, s) in order.iter().zip(standings) {
        let l = b.line;
        let class = if s.needs_attention() { " attention" } else { "" };
        h.push_str(&format!(
            "<tr class=\"backfill-row{class}\" data-standing=\"{}\"><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"standing\">{}</td>\
             <td><progress value=\"{}\" max=\"{}\"></progress> {}/{} ({:.1}%)</td><td>{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"last-error\">{}</td></tr>\n",
            s.as_str(),
            escape(&l.repository),
            escape(l.status.as_str()),
            l.priority.as_str(),
            escape(&headline(&l.facts(b.chunks), s)),
            l.processed_prs.max(0),
            l.total_prs.max(l.processed_prs).max(1),
            l.processed_prs,
            l.total_prs,
            l.percent,
            svg::sparkline(b.chunks).unwrap_or_else(|| "-".into()),
            l.chunks_done,
            l.chunks_failed,
            l.last_run.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
            escape(&eta_text(l)),
            l.error.as_deref().map_or_else(|| "-".into(), |e| escape(&one_line(e))),
        ));
    }
    h.push_str("</table>\n");
}
