//! What a person or a workflow sees: a progress bar per backfill on a
//! terminal, plain lines elsewhere. Results go to stdout; progress, warnings
//! and errors to stderr.

use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};

pub mod actions;
pub mod audit;
mod axis;
mod chart;
mod credentials;
pub mod eta;
mod history;
pub mod html;
mod lines;
mod progress;
pub mod standing;
mod step_summary;
mod summary;
mod svg;
mod table;
pub mod verify;
pub use credentials::{credential_text, reserve_words};
pub use eta::{ChunkPoint, Eta};
pub use history::{history_header, history_table, verifications_table, HistoryHeader, HistoryRow};
pub use summary::{BackfillReport, RunSummary, StoredChunk};
pub use table::{attention_table, stand_all, status_table, StatusLine};

use crate::budget::CredentialBudget;
use actions::Actions;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    /// A retry or a wait: always shown.
    Warning,
    /// A move the run makes (to another credential of a pool): shown unless quiet.
    Info,
    /// Each request's cost and the budget left: shown with `-v`.
    Detail,
}

/// Where the GitHub client says what it is doing while a chunk runs.
pub type Notifier = Box<dyn Fn(NoticeLevel, &str) + Send + Sync>;

pub struct Reporter {
    verbosity: Verbosity,
    bars: Option<MultiProgress>,
    by_backfill: HashMap<String, ProgressBar>,
    /// The backfills with a bar, the least recently moved first.
    shown: VecDeque<String>,
    /// Inside a GitHub Actions workflow: annotations, groups, summary, outputs.
    actions: Option<Actions>,
    in_group: bool,
}

impl Reporter {
    /// Bars only where a person watches: a terminal, not quiet, not disabled.
    pub fn new(verbosity: Verbosity, no_progress: bool) -> Reporter {
        let bars = (verbosity != Verbosity::Quiet && !no_progress && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8)));
        Reporter {
            verbosity,
            bars,
            by_backfill: HashMap::new(),
            shown: VecDeque::new(),
            actions: Actions::from_env(),
            in_group: false,
        }
    }

    fn line(&self, text: &str) {
        match &self.bars {
            Some(bars) => bars.suspend(|| eprintln!("{text}")),
            None => eprintln!("{text}"),
        }
    }

    /// Lets the GitHub client report retries and waits as they happen (and,
    /// with `-v`, every request), above the bars like any other line.
    pub fn notifier(&self) -> Notifier {
        let bars = self.bars.clone();
        let verbosity = self.verbosity;
        Box::new(move |level, text| {
            let text = match level {
                NoticeLevel::Warning => format!("warning: {text}"),
                NoticeLevel::Info if verbosity != Verbosity::Quiet => text.to_string(),
                NoticeLevel::Info => return,
                NoticeLevel::Detail if verbosity == Verbosity::Verbose => text.to_string(),
                NoticeLevel::Detail => return,
            };
            match &bars {
                Some(bars) => bars.suspend(|| eprintln!("{text}")),
                None => eprintln!("{text}"),
            }
        })
    }

    /// The answer of a command, for stdout.
    pub fn result(&self, text: &str) {
        println!("{text}");
    }

    pub fn info(&self, text: &str) {
        if self.verbosity != Verbosity::Quiet {
            self.line(text);
        }
    }

    /// On stderr, and in Actions also as an annotation on the run's page.
    pub fn warn(&self, text: &str) {
        self.line(&format!("warning: {text}"));
        if let Some(a) = &self.actions {
            a.warning(text);
        }
    }

    pub fn error(&self, text: &str) {
        self.line(&format!("error: {text}"));
        if let Some(a) = &self.actions {
            a.error(text);
        }
    }

    /// In Actions, a collapsible log group per backfill's chunk.
    pub fn begin_backfill(&mut self, repository: &str) {
        if let Some(a) = &self.actions {
            a.group(repository);
            self.in_group = true;
        }
    }

    pub fn end_backfill(&mut self) {
        if let (Some(a), true) = (&self.actions, self.in_group) {
            a.end_group();
            self.in_group = false;
        }
    }

    pub fn chunk_stored(&mut self, c: &StoredChunk) {
        if let Some(bars) = &self.bars {
            if let Some(gone) = progress::make_room(&mut self.shown, &c.full_name, progress::MAX_BARS) {
                if let Some(bar) = self.by_backfill.remove(&gone) {
                    bar.finish_and_clear();
                    bars.remove(&bar);
                }
            }
            let bar = self.by_backfill.entry(c.full_name.clone()).or_insert_with(|| progress::new_bar(bars, c));
            bar.set_length(c.total_prs.max(c.processed_prs).max(1) as u64);
            bar.set_position(c.processed_prs.max(0) as u64);
            bar.set_message(format!("· {} left", lines::points_left(c.budget)));
            if c.completed {
                bar.finish_with_message("· completed");
            }
        }
        if self.bars.is_none() && self.verbosity != Verbosity::Quiet || self.verbosity == Verbosity::Verbose {
            self.line(&lines::chunk_line(c));
        }
    }

    /// After a run: each credential's budget, a line each for a pool (one
    /// token's is the closing line's), and a section of the step summary.
    pub fn credentials(&self, credentials: &[CredentialBudget], reserve: i64) {
        let now = chrono::Utc::now();
        if credentials.len() > 1 {
            for c in credentials {
                self.info(&format!("credential {}", credential_text(c, now)));
            }
        }
        if let Some(a) = &self.actions {
            a.append_summary(&credentials::credentials_markdown(credentials, reserve, now));
        }
    }

    pub fn finish(&mut self, s: &RunSummary) {
        for bar in self.by_backfill.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
        self.info(&lines::closing_line(s));
        for line in lines::fleet_lines(s) {
            self.info(&line);
        }
        if let Some(a) = &self.actions {
            a.write_run(s);
        }
    }
}
