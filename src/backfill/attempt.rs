//! What one attempt at a chunk starts from: the command line's settings,
//! the planner's view of the backfill and the budget, and the moment it
//! began, from which its row's time, requests and points are measured.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::plan::PlanInput;
use crate::budget::Budget;
use crate::github::{FetchedChunk, GithubClient};
use crate::store::chunks::ChunkRecord;
use crate::store::state::Backfill;

/// Settings for one chunk that come from the command line.
#[derive(Debug, Clone, Copy)]
pub struct ChunkSettings {
    pub chunk_size: Option<i64>,
    pub processor_type: &'static str,
}

impl ChunkSettings {
    /// The planner's view of one backfill and the budget: the client's (a
    /// pool's, with each credential's reserve) once it has seen one, else
    /// `known` (the run's), else the backfill's last run's.
    pub fn plan_input(&self, backfill: &Backfill, github: &GithubClient, known: Option<Budget>) -> PlanInput {
        let meta = &backfill.metadata;
        let (budget, reserve) = match github.headroom() {
            Some(h) => (Some(h.budget), h.reserve),
            None => (known.or_else(|| meta.budget_seen(Utc::now())), github.reserve()),
        };
        PlanInput {
            fixed_size: self.chunk_size.or(meta.chunk_size_override),
            ceiling: meta.max_chunk_size,
            prs_left: (backfill.total_prs > 0)
                .then(|| i64::from(backfill.total_prs) - i64::from(backfill.processed_prs)),
            points_per_pr: meta.points_per_pr,
            budget,
            reserve,
            across_windows: meta.span_windows == Some(true),
        }
    }
}

/// When and with how many requests sent so far a chunk began: its row's
/// `started_at` and `api_calls_made` are measured from here.
pub(super) struct Start {
    instant: Instant,
    at: DateTime<Utc>,
    calls_before: u32,
    points_before: i64,
}

impl Start {
    /// Now, with the requests and points the client has spent so far.
    pub(super) fn now(github: &GithubClient) -> Start {
        Start {
            instant: Instant::now(),
            at: Utc::now(),
            calls_before: github.requests_sent(),
            points_before: github.points_spent(),
        }
    }

    /// How long the chunk has taken so far.
    pub(super) fn elapsed(&self) -> std::time::Duration {
        self.instant.elapsed()
    }

    /// Points the chunk's requests cost so far, failed ones included.
    pub(super) fn points(&self, github: &GithubClient) -> i64 {
        github.points_spent() - self.points_before
    }

    /// The chunk's points: its share, when its requests were shared with
    /// other backfills' chunks, else all spent since it began.
    pub(super) fn points_of(&self, github: &GithubClient, page: Option<&FetchedChunk>) -> i64 {
        page.and_then(|p| p.points).unwrap_or_else(|| self.points(github))
    }

    pub(super) fn record(
        &self,
        github: &GithubClient,
        settings: &ChunkSettings,
        page: Option<&FetchedChunk>,
    ) -> ChunkRecord {
        ChunkRecord {
            started_at: self.at,
            pr_numbers: page.map(|p| p.prs.iter().map(|pr| pr.number).collect()).unwrap_or_default(),
            // A chunk fetched alongside others counts the requests the fetch
            // counted to it; a failed one, all sent since it began.
            api_calls: page.map_or_else(|| github.requests_sent().wrapping_sub(self.calls_before), |p| p.requests)
                as i32,
            rate_limit_remaining: page.and_then(|p| p.budget).map(|b| b.remaining as i32),
            processor_type: settings.processor_type,
            points: self.points_of(github, page),
        }
    }
}
