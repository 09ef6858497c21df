//! GitHub Actions: annotations and log groups as workflow commands on
//! stdout, a markdown table in `$GITHUB_STEP_SUMMARY`, and step outputs in
//! `$GITHUB_OUTPUT`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{BackfillReport, RunSummary};

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
        if let Some(path) = &self.summary {
            if let Err(e) = append(path, &summary_markdown(summary)) {
                self.warning(&format!("cannot write the step summary: {e}"));
            }
        }
        if let Some(path) = &self.output {
            if let Err(e) = append(path, &outputs(summary)) {
                self.warning(&format!("cannot write the step outputs: {e}"));
            }
        }
    }
}

/// An error that ends the command, as an annotation when in Actions.
pub fn annotate_error(text: &str) {
    if let Some(a) = Actions::from_env() {
        a.error(text);
    }
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
                eta(b).map_or_else(|| "-".to_string(), human),
            ));
        }
        md.push('\n');
    }
    let reset =
        s.budget.and_then(|b| b.reset_at).map_or_else(String::new, |t| format!(", resets {}", t.format("%H:%M UTC")));
    let budget = match s.budget {
        Some(b) => format!("{} of {} points left{reset}", b.remaining, b.limit),
        None => "budget not seen".to_string(),
    };
    md.push_str(&format!(
        "{} chunks, {} PRs stored, {} failed chunks, {} requests, {} points used; {budget}. Outcome: **{}**.\n\n",
        s.chunks,
        s.prs_stored,
        s.failed_chunks,
        s.requests,
        s.points,
        s.outcome()
    ));
    md
}

/// Time to finish at this run's pace (PRs stored per second of work on it).
pub fn eta(b: &BackfillReport) -> Option<Duration> {
    let left = b.total_prs - b.processed_prs;
    if left <= 0 || b.prs_stored == 0 || b.elapsed.is_zero() {
        return None;
    }
    let per_pr = b.elapsed.as_secs_f64() / b.prs_stored as f64;
    Some(Duration::from_secs_f64(per_pr * left as f64))
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
    }
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
    fn durations_read_like_a_person_writes_them() {
        let cases = [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3_600, "1h 0m"), (90_061, "25h 1m")];
        for (secs, want) in cases {
            assert_eq!(human(Duration::from_secs(secs)), want);
        }
    }
}
