//! GitHub Actions: annotations and log groups as workflow commands on
//! stdout, a markdown table in `$GITHUB_STEP_SUMMARY`, and step outputs in
//! `$GITHUB_OUTPUT`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use super::chart::mermaid_progress;
use super::RunSummary;
use crate::text::one_line;

/// Charts in one step summary: a run over many backfills shows the first
/// this many it took (each backfill's own page has them all: `status --html`).
pub const MAX_CHARTS: usize = 10;

/// Whether this process has written a run's summary and outputs: an error
/// after that (an interrupted run) must not write a second, contradicting set.
static RUN_WRITTEN: AtomicBool = AtomicBool::new(false);

pub struct Actions {
    summary: Option<PathBuf>,
    output: Option<PathBuf>,
}

impl Actions {
    /// Only inside a workflow (`GITHUB_ACTIONS=true`).
    pub fn from_env() -> Option<Actions> {
        if std::env::var("GITHUB_ACTIONS").ok().as_deref() != Some("true") {
            return None;
        }
        let path = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Some(Actions { summary: path("GITHUB_STEP_SUMMARY"), output: path("GITHUB_OUTPUT") })
    }

    pub fn warning(&self, text: &str) {
        println!("::warning title=backfill::{}", escape_data(text));
    }

    pub fn error(&self, text: &str) {
        println!("::error title=backfill::{}", escape_data(text));
    }

    pub fn group(&self, title: &str) {
        println!("::group::{}", escape_data(title));
    }

    pub fn end_group(&self) {
        println!("::endgroup::");
    }

    /// Appends the run's table to the step summary and its numbers to the
    /// step outputs. A file that cannot be written is worth a warning, not
    /// a failed run: the data is stored either way.
    pub fn write_run(&self, summary: &RunSummary) {
        RUN_WRITTEN.store(true, Ordering::SeqCst);
        self.write(&summary_markdown(summary), &outputs(summary));
    }

    fn write(&self, markdown: &str, outputs: &str) {
        if let Some(path) = &self.summary {
            if let Err(e) = append(path, markdown) {
                self.warning(&format!("cannot write the step summary: {e}"));
            }
        }
        if let Some(path) = &self.output {
            if let Err(e) = append(path, outputs) {
                self.warning(&format!("cannot write the step outputs: {e}"));
            }
        }
    }
}

/// An error that ends the command (any command, a usage error included).
/// In Actions: an error annotation and, unless the run already wrote its
/// own, the step outputs with `status=failed` and a step summary that says
/// why, so that a workflow sees a run that failed before it could start.
pub fn record_failure(reason: &str) {
    let Some(a) = Actions::from_env() else { return };
    a.error(reason);
    if !RUN_WRITTEN.swap(true, Ordering::SeqCst) {
        a.write(&failure_markdown(reason), FAILURE_OUTPUTS);
    }
}

/// The outputs of a run that stored nothing because it failed.
pub const FAILURE_OUTPUTS: &str = "prs_stored=0\nchunks=0\nfailed_chunks=0\nrate_limit_remaining=\nstatus=failed\n";

pub fn failure_markdown(reason: &str) -> String {
    format!("### backfill run\n\nOutcome: **failed**: {}\n\n", markdown_text(reason))
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

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(text.as_bytes())
}

/// A workflow command's message: `%`, CR and LF are escaped, or the runner
/// would cut the message (or read a second command) at a line break.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A markdown table cell: a `|` or a line break would break the table.
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\r', '\n'], " ")
}

/// `key=value` lines; every value is a single line by construction.
pub fn outputs(s: &RunSummary) -> String {
    let remaining = s.budget.map_or_else(String::new, |b| b.remaining.to_string());
    format!(
        "prs_stored={}\nchunks={}\nfailed_chunks={}\nrate_limit_remaining={remaining}\nstatus={}\n",
        s.prs_stored,
        s.chunks,
        s.failed_chunks,
        s.outcome()
    )
}

pub fn summary_markdown(s: &RunSummary) -> String {
    let mut md = String::from("### backfill run\n\n");
    if s.backfills.is_empty() {
        md.push_str("No backfill to run.\n\n");
    } else {
        md.push_str("| Repository | PRs stored this run | Processed | % | Chunk size | Points used | Points left | Status | ETA |\n");
        md.push_str("|---|---:|---:|---:|---:|---:|---:|---|---|\n");
        let left = s.budget.map_or_else(|| "?".to_string(), |b| b.remaining.to_string());
        for b in &s.backfills {
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
        md.push('\n');
        for b in s.backfills.iter().filter(|b| b.eta.is_some() || !b.chunks.is_empty()).take(MAX_CHARTS) {
            if let Some(eta) = b.eta.as_ref().filter(|e| **e != super::eta::Eta::Done) {
                md.push_str(&format!("**{}**: {}.\n\n", markdown_text(&b.repository), markdown_text(&eta.sentence())));
            }
            if let Some(chart) = mermaid_progress(&b.repository, &b.chunks, b.total_prs) {
                md.push_str(&chart);
            }
        }
    }
    let reset =
        s.budget.and_then(|b| b.reset_at).map_or_else(String::new, |t| format!(", resets {}", t.format("%H:%M UTC")));
    let budget = match s.budget {
        Some(b) => format!("{} of {} points left{reset}", b.remaining, b.limit),
        None => "budget not seen".to_string(),
    };
    md.push_str(&format!("{}; {budget}. Outcome: **{}**.\n\n", super::lines::tally(s), s.outcome()));
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_text_is_escaped() {
        let cases = [
            ("plain", "plain"),
            ("50% done", "50%25 done"),
            ("two\nlines", "two%0Alines"),
            ("crlf\r\n", "crlf%0D%0A"),
            ("%0A stays literal", "%250A stays literal"),
            ("::error::inside", "::error::inside"),
        ];
        for (given, want) in cases {
            assert_eq!(escape_data(given), want, "{given:?}");
        }
    }

    #[test]
    fn table_cells_are_escaped() {
        let cases = [("a|b", "a\\|b"), ("line\nbreak", "line break"), ("back\\slash", "back\\\\slash"), ("ok", "ok")];
        for (given, want) in cases {
            assert_eq!(cell(given), want, "{given:?}");
        }
    }

    #[test]
    fn a_reason_stays_plain_text_in_markdown() {
        let cases = [
            ("cannot connect to 127.0.0.1:5432", "cannot connect to 127.0.0.1:5432"),
            ("a <b> & c", "a &lt;b&gt; &amp; c"),
            ("`x` *y* _z_ [l](u) a|b", "\\`x\\` \\*y\\* \\_z\\_ \\[l\\](u) a\\|b"),
            ("two\nlines", "two lines"),
        ];
        for (given, want) in cases {
            assert_eq!(markdown_text(given), want, "{given:?}");
        }
        let md = failure_markdown("no <database>");
        assert!(md.starts_with("### backfill run\n\n") && md.contains("no &lt;database&gt;"), "{md}");
    }

    #[test]
    fn the_summary_sentence_counts_in_the_singular_too() {
        let one =
            RunSummary { chunks: 1, prs_stored: 1, failed_chunks: 1, requests: 1, points: 1, ..Default::default() };
        let md = summary_markdown(&one);
        assert!(md.contains("1 chunk, 1 PR stored, 1 failed chunk, 1 request, 1 point used;"), "{md}");
        let md =
            summary_markdown(&RunSummary { chunks: 2, prs_stored: 50, requests: 3, points: 4, ..Default::default() });
        assert!(md.contains("2 chunks, 50 PRs stored, 0 failed chunks, 3 requests, 4 points used;"), "{md}");
    }
}
