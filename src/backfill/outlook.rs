//! What each backfill of a run has ahead of it, for the step summary: its
//! ETA from its own history (`report::eta`) and its recent chunks (the chart).

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use super::{Run, RunError};
use crate::report::eta::{self, EtaInput, PerRun};
use crate::report::RunSummary;
use crate::status::BackfillStatus;
use crate::store::progress;

/// What the run knew about itself, taken before it settles.
pub(super) struct Outlook {
    /// The state ids, in the order of the summary's reports.
    ids: Vec<Uuid>,
    per_run: PerRun,
}

impl Outlook {
    pub(super) fn of(run: &Run) -> Outlook {
        // What each run takes, as the ETA names it: this run's own limits.
        let per_run = match (run.max_chunks, run.opts.time_budget) {
            (None, Some(t)) => PerRun::Time(t),
            (Some(n), _) => PerRun::Chunks(n),
            (None, None) => PerRun::Unknown,
        };
        Outlook { ids: run.ids.clone(), per_run }
    }

    /// Each report's ETA, chunks and pause, from the rows as stored at the end.
    pub(super) async fn add_to(&self, pool: &PgPool, summary: &mut RunSummary) -> Result<(), RunError> {
        let limit = summary.budget.map(|b| b.limit);
        let mut read: HashMap<Uuid, progress::Progress> =
            progress::of_backfills(pool, &self.ids).await?.into_iter().map(|p| (p.state_id, p)).collect();
        for (id, report) in self.ids.iter().zip(summary.backfills.iter_mut()) {
            let Some(p) = read.remove(id) else { continue };
            report.eta = Some(eta::estimate(&EtaInput {
                completed: report.status == Some(BackfillStatus::Completed),
                prs_left: report.total_prs - report.processed_prs,
                chunks: &p.chunks,
                points_per_pr: p.points_per_pr,
                points_per_hour: limit.or(p.budget.map(|b| b.limit)),
                per_run: self.per_run,
                now: chrono::Utc::now(),
            }));
            report.chunks = p.chunks;
            report.pause_kind = p.pause_kind;
            report.began_at = p.began_at;
        }
        Ok(())
    }
}
