//! Keeping a completed backfill current. A sweep reads the repository's
//! PRs most recently updated first and refetches, whole, those updated
//! after the watermark; it ends at a page with none of those. The next
//! sweep's watermark is when this one began, less a margin: GitHub's cursor
//! carries the sort value, so a PR updated during a sweep jumps ahead of it
//! and is seen by the next sweep only; and GitHub keeps `UPDATED_AT` order
//! only loosely, so one PR older than the watermark does not end a sweep.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use super::learn;
use crate::github::FetchedChunk;
use crate::store::chunks::{self, ChunkRecord};
use crate::store::refresh::{self, SweepAdvance};
use crate::store::state::Backfill;
use crate::store::{upsert, Change, StoreError};

/// Clock skew between GitHub and this machine, and the looseness of the
/// order: the watermark reaches this far back before the sweep's start.
pub const MARGIN: Duration = Duration::minutes(10);

/// PRs updated after this may differ from what is stored. The first sweep
/// reaches back to the backfill's start, so that PRs that changed while
/// the backfill ran are refreshed too.
pub fn watermark(backfill: &Backfill) -> DateTime<Utc> {
    let meta = &backfill.metadata;
    let from_start = backfill.began_at.map(|t| t - MARGIN);
    meta.refresh_from.or(from_start).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The watermark of the sweep after one that began at `started_at`.
pub fn next_watermark(started_at: DateTime<Utc>) -> DateTime<Utc> {
    started_at - MARGIN
}

/// Whether a sweep ends with a page that held `changed` PRs updated after
/// the watermark: only a whole page of older ones (or an empty one) ends
/// it. GitHub has said `hasNextPage: false` too early, so a last page that
/// still held changed PRs is followed by one more from its cursor.
pub fn sweep_done(changed: usize) -> bool {
    changed == 0
}

/// A sweep's page in the store's transaction: its PRs refreshed whole (what
/// GitHub no longer has for them deleted), a chunk row when it refreshed
/// any, the sweep moved on or ended. Returns the chunk number, the new
/// `processed_prs`, and whether the sweep is done.
pub(super) async fn write_page(
    tx: &mut PgConnection,
    backfill: &Backfill,
    page: &FetchedChunk,
    record: &ChunkRecord,
    points: i64,
) -> Result<(Option<i32>, i32, bool), StoreError> {
    let new_prs = upsert::store_pull_requests(tx, backfill.repository_id, &page.prs).await?;
    refresh::delete_vanished(tx, backfill.repository_id, &page.prs).await?;
    let chunk_number = chunks::insert_completed(tx, backfill, record, new_prs).await?;
    let meta = &backfill.metadata;
    let started_at = meta.sweep_started_at.unwrap_or(record.started_at);
    let done = sweep_done(page.prs.len());
    let mut learned = learn::from_stored(meta, page, points);
    // A sweep's page is no measure of a backfill's page size.
    learned.max_chunk_size = Change::Keep;
    let next = SweepAdvance {
        started_at,
        cursor: page.end_cursor.clone().or_else(|| meta.sweep_cursor.clone()),
        done: done.then(|| next_watermark(started_at)),
        total_prs: page.total_count as i32,
        learned,
    };
    let processed = refresh::advance_sweep(tx, backfill, &next, new_prs).await?;
    Ok((chunk_number, processed, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_ends_at_a_page_of_older_prs_only() {
        // PRs changed in the page -> done
        let cases = [(0, true), (1, false), (50, false)];
        for (changed, want) in cases {
            assert_eq!(sweep_done(changed), want, "{changed} changed");
        }
    }

    #[test]
    fn the_watermark_reaches_back_a_margin() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z").map(|t| t.with_timezone(&Utc)).ok();
        let t = t.unwrap_or_default();
        assert_eq!(next_watermark(t), t - Duration::minutes(10));
    }
}
