//! What a run did, per backfill and in all: for the exit code, the closing
//! line, and the Actions step summary and outputs.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::github::RateInfo;

#[derive(Debug, Default, Clone)]
pub struct RunSummary {
    pub chunks: u32,
    pub failed_chunks: u32,
    pub failed_backfills: u32,
    pub prs_stored: u64,
    pub requests: u32,
    pub points: i64,
    pub rate: Option<RateInfo>,
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

    /// One word for scripts (the `status` step output).
    pub fn outcome(&self) -> &'static str {
        if self.interrupted.is_some() {
            "interrupted"
        } else if !self.succeeded() {
            "failed"
        } else if self.rate_limited_until.is_some() {
            "rate_limited"
        } else if self.backfills.is_empty() {
            "idle"
        } else if self.backfills.iter().all(|b| b.status == "completed") {
            "completed"
        } else {
            "ok"
        }
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
    pub status: String,
    /// Why it is not simply active or completed.
    pub note: Option<String>,
    /// This run paused it for failures or marked it failed: worth telling someone.
    pub needs_attention: bool,
}

impl BackfillReport {
    pub fn percent(&self) -> f64 {
        match self.total_prs {
            t if t > 0 => 100.0 * self.processed_prs as f64 / t as f64,
            _ if self.status == "completed" => 100.0,
            _ => 0.0,
        }
    }

    pub fn status_text(&self) -> String {
        match &self.note {
            Some(note) => format!("{} ({note})", self.status),
            None => self.status.clone(),
        }
    }
}
