//! GitHub Actions: annotations and log groups as workflow commands on
//! stdout, a markdown table in `$GITHUB_STEP_SUMMARY`, and step outputs in
//! `$GITHUB_OUTPUT`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use super::step_summary::summary_markdown;
pub use super::step_summary::{cell, markdown_text};
use super::RunSummary;

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

    /// More of the run's step summary, after its table.
    pub fn append_summary(&self, markdown: &str) {
        if let (Some(path), false) = (&self.summary, markdown.is_empty()) {
            if let Err(e) = append(path, markdown) {
                self.warning(&format!("cannot write the step summary: {e}"));
            }
        }
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

fn append(path: &PathBuf, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(text.as_bytes())
}

/// A workflow command's message: `%`, CR and LF are escaped, or the runner
/// would cut the message (or read a second command) at a line break.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
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
}
