//! What a run did, per backfill and in all: plain values that the run loop
//! fills and that the closing line, the Actions step summary and outputs
//! (and the exit code) read.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::standing::Facts;
use crate::budget::Budget;
use crate::status::{BackfillStatus, PauseKind};

#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub chunks: u32,
    pub failed_chunks: u32,
    pub failed_backfills: u32,
    pub prs_stored: u64,
    pub requests: u32,
    pub points: i64,
    /// The budget as GitHub last stated it in this run.
    pub budget: Option<Budget>,
    pub rate_limited_until: Option<DateTime<Utc>>,
    /// The signal that stopped the run early.
    pub interrupted: Option<&'static str>,
    /// One per backfill the run selected, in the order taken.
    pub backfills: Vec<BackfillReport>,
}

impl RunSummary {
    /// Contract section 2: a failed chunk or backfill makes the run exit 1.
    pub fn succeeded(&self) -> bool {
        self.failed_chunks == 0 && self.failed_backfills == 0 && self.interrupted.is_none()
    }

    pub fn outcome(&self) -> Outcome {
        if self.interrupted.is_some() {
            Outcome::Interrupted
        } else if !self.succeeded() {
            Outcome::Failed
        } else if self.rate_limited_until.is_some() {
            Outcome::RateLimited
        } else if self.backfills.is_empty() {
            Outcome::Idle
        } else if self.backfills.iter().all(|b| b.status == Some(BackfillStatus::Completed)) {
            Outcome::Completed
        } else {
            Outcome::Ok
        }
    }
}

/// How a whole run went, in one word for scripts (the `status` step output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Interrupted,
    Failed,
    RateLimited,
    Idle,
    Completed,
    Ok,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Interrupted => "interrupted",
            Outcome::Failed => "failed",
            Outcome::RateLimited => "rate_limited",
            Outcome::Idle => "idle",
            Outcome::Completed => "completed",
            Outcome::Ok => "ok",
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct BackfillReport {
    pub repository: String,
    pub prs_stored: u64,
    pub processed_prs: i64,
    pub total_prs: i64,
    /// The size of the last chunk this run took.
    pub chunk_size: Option<i64>,
    pub points: i64,
    /// Time spent on its chunks in this run.
    pub elapsed: Duration,
    /// Its status after the run, as stored.
    pub status: Option<BackfillStatus>,
    /// Why it is not simply active or completed.
    pub note: Option<String>,
    /// This run paused it for failures or marked it failed: worth telling someone.
    pub needs_attention: bool,
    /// For a completed backfill: the start of its last complete sweep.
    pub current_as_of: Option<DateTime<Utc>>,
    /// When it will be done, from its own history.
    pub eta: Option<super::eta::Eta>,
    /// Its recent chunks, oldest first: the step summary's chart.
    pub chunks: Vec<super::eta::ChunkPoint>,
    /// Why it is paused, as stored at the end of the run.
    pub pause_kind: Option<PauseKind>,
    /// When the backfill began.
    pub began_at: Option<DateTime<Utc>>,
}

impl BackfillReport {
    pub fn percent(&self) -> f64 {
        match self.total_prs {
            t if t > 0 => 100.0 * self.processed_prs as f64 / t as f64,
            _ if self.status == Some(BackfillStatus::Completed) => 100.0,
            _ => 0.0,
        }
    }

    /// What the reading of the fleet (`standing`) needs of it.
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            status: self.status,
            // A pause this run made for failures, should the row not say so.
            pause: self.pause_kind.or(self.needs_attention.then_some(PauseKind::Errors)),
            paused_until: None,
            no_refresh: false,
            began_at: self.began_at,
            current_as_of: self.current_as_of,
            error: self.note.as_deref(),
            chunks: &self.chunks,
        }
    }

    pub fn status_text(&self) -> String {
        let mut status = self.status.map_or("", BackfillStatus::as_str).to_string();
        if let (Some(BackfillStatus::Completed), Some(t)) = (self.status, self.current_as_of) {
            status.push_str(&format!(", current as of {}", t.format("%Y-%m-%d %H:%M UTC")));
        }
        match &self.note {
            Some(note) => format!("{status} ({note})"),
            None => status,
        }
    }
}

/// One stored chunk, as the progress bar and the per-chunk line show it.
#[derive(Debug, Clone)]
pub struct StoredChunk {
    pub full_name: String,
    /// The backfill was completed before this chunk: it is one of a
    /// kept-current backfill's (its new PRs, or a sweep's page).
    pub caught_up_before: bool,
    pub chunk_number: Option<i32>,
    pub prs: usize,
    pub processed_prs: i64,
    pub total_prs: i64,
    pub completed: bool,
    pub chunk_size: i64,
    pub requests: u32,
    pub points: i64,
    pub budget: Option<Budget>,
    pub elapsed: Duration,
}
