//! The tally: what one chunk's outcome adds to the run's summary, what it
//! says, and whether its backfill gets another turn.

use super::chunk::ChunkOutcome;
use super::{Flow, Run, Turn};
use crate::report::Reporter;

impl Run<'_> {
    /// Counts one chunk's outcome into the summary and says it.
    pub(super) fn record(&mut self, turn: Turn, outcome: ChunkOutcome, reporter: &mut Reporter) -> Flow {
        let summary = &mut self.summary;
        let report = &mut summary.backfills[turn.report];
        match outcome {
            ChunkOutcome::Stored(c) => {
                self.slowest = self.slowest.max(c.elapsed);
                summary.chunks += u32::from(c.chunk_number.is_some());
                summary.prs_stored += c.prs as u64;
                summary.points += c.points;
                summary.budget = c.budget;
                report.prs_stored += c.prs as u64;
                report.points += c.points;
                report.chunk_size = Some(c.chunk_size);
                report.elapsed += c.elapsed;
                reporter.chunk_stored(&c);
                // Only chunks that stored PRs count against `--max-chunks`:
                // a look for new PRs that finds none is not a chunk.
                let wrote = c.chunk_number.is_some();
                self.last_wrote = wrote;
                let more = self.max_chunks.is_none_or(|m| turn.taken + u32::from(wrote) < m);
                match (turn.sweeping, c.completed) {
                    // A page that stored nothing and did not finish: no progress to go on from.
                    (false, false) if !wrote => Flow::Done,
                    (false, false) | (true, false) if more => Flow::Again,
                    // Caught up: keep it current. A backfill completed before
                    // the run is swept whatever its new PRs took of the run's
                    // chunks, or a busy repository's changes would wait
                    // forever (a backfill that opted out is not taken).
                    (false, true) if turn.sweep_after && (more || c.caught_up_before) => Flow::Sweep,
                    _ => Flow::Done,
                }
            }
            ChunkOutcome::Skipped => {
                if !turn.sweeping {
                    report.note = Some("taken by another run".into());
                }
                Flow::Done
            }
            ChunkOutcome::Removed { points } => {
                summary.points += points;
                report.points += points;
                report.note = Some("removed during the run".into());
                reporter.info(&format!("{}: removed (`backfill remove`): no more chunks of it", report.repository));
                Flow::Done
            }
            ChunkOutcome::NotStored { repository, reason, points } => {
                summary.points += points;
                report.points += points;
                report.note = Some("taken over by another run".into());
                reporter.warn(&format!("{repository}: chunk not stored, nothing written: {reason}"));
                Flow::Done
            }
            ChunkOutcome::RateLimited { repository, until, reason, points } => {
                summary.points += points;
                report.points += points;
                summary.rate_limited_until = Some(until);
                let until = until.format("%Y-%m-%d %H:%M:%S UTC");
                report.note = Some(format!("rate limit, until {until}"));
                reporter.warn(&format!(
                    "{repository}: GitHub rate limit exhausted: paused until {until} ({reason}); a later run resumes automatically"
                ));
                // Sending more would only spend requests on refusals.
                Flow::StopRun
            }
            ChunkOutcome::Failed { repository, error, paused, points } => {
                summary.points += points;
                report.points += points;
                summary.failed_chunks += 1;
                report.needs_attention |= paused;
                report.note = Some(format!("chunk failed: {error}"));
                let note =
                    if paused { " (paused after repeated failures: `backfill resume` it when fixed)" } else { "" };
                reporter.error(&format!("{repository}: chunk failed{note}: {error}"));
                Flow::Done
            }
            ChunkOutcome::BackfillFailed { repository, error } => {
                summary.failed_backfills += 1;
                report.needs_attention = true;
                report.note = Some(error.clone());
                reporter.error(&format!("{repository}: backfill marked failed: {error}"));
                Flow::Done
            }
        }
    }
}
