//! What a chunk teaches the planner about its repository, kept in the
//! backfill's metadata for later runs: pure functions, read as tables.
//!
//! - A stored chunk: its points per PR (a moving average), the page size
//!   and follow-ups per request that worked, the budget it saw.
//! - A chunk cut off by the primary limit: it cost more than it spent, so
//!   the next attempt is half the size (at least 5 PRs), planned at no less
//!   than the points per PR the attempt spent. When even 5 PRs spent a whole
//!   window, no window can hold the chunk: it fetches across resets from then
//!   on (a cheap chunk now and then does not mean the heavy ones fit).

use super::plan::{next_ceiling, MIN_CHUNK};
use crate::github::FetchedChunk;
use crate::store::{Change, Metadata, Patch};

/// Why a backfill pauses for the rate limit, and what it learned.
#[derive(Debug, Clone, PartialEq)]
pub struct CutOff {
    pub learned: Patch,
    pub reason: String,
}

impl CutOff {
    /// A pause before any request, with nothing learned.
    pub fn before(reason: String) -> CutOff {
        CutOff { learned: Patch::default(), reason }
    }
}

/// The backfill's points spent so far, with this chunk's.
pub fn points_spent(meta: &Metadata, points: i64) -> Change<i64> {
    Change::Set(meta.points_spent.unwrap_or(0).saturating_add(points.max(0)))
}

pub fn from_stored(meta: &Metadata, page: &FetchedChunk, points: i64) -> Patch {
    let mut out = Patch::default();
    let prs = page.prs.len();
    if prs > 0 && points > 0 {
        let this = points as f64 / prs as f64;
        // A moving average: one heavy chunk should not halve the next ones.
        let avg = match meta.points_per_pr {
            Some(prev) if prev.is_finite() && prev > 0.0 => prev * 0.7 + this * 0.3,
            _ => this,
        };
        out.points_per_pr = Change::Set(round4(avg));
    }
    out.max_chunk_size = Change::set_or_keep(next_ceiling(meta.max_chunk_size, page.size, page.shrunk));
    // The node limit the chunk's requests ended with: the next run starts
    // there (the default when the key is gone). It replaced follow_up_limit.
    out.node_limit = Change::set_or_remove(page.node_limit.and_then(|n| i64::try_from(n).ok()));
    out.follow_up_limit = Change::Remove;
    out.rate_limit = Change::set_or_keep(page.budget);
    out.points_spent = points_spent(meta, points);
    out
}

/// `size`: PRs the attempt asked for; `points`: what it spent before the
/// limit cut it off; `limit`: the window's size, when known.
pub fn from_cut_off(meta: &Metadata, size: i64, points: i64, limit: Option<i64>) -> CutOff {
    let size = size.max(1);
    let next = (size / 2).max(MIN_CHUNK);
    let spent_per_pr = (points + 1) as f64 / size as f64;
    let per_pr = meta.points_per_pr.filter(|p| p.is_finite() && *p > 0.0).map_or(spent_per_pr, |p| p.max(spent_per_pr));
    let whole_window = limit.filter(|l| points >= *l);
    let mut learned =
        Patch { max_chunk_size: Change::Set(next), points_per_pr: Change::Set(round4(per_pr)), ..Patch::default() };
    let reason = match whole_window {
        Some(limit) if size <= MIN_CHUNK => {
            learned.span_windows = Change::Set(true);
            format!(
                "{size} PRs cost more than a whole rate-limit window ({limit} points): the next chunk waits for the reset inside the chunk"
            )
        }
        _ => format!("GitHub rate limit exhausted mid-chunk after {points} points; the next attempt takes {next} PRs"),
    };
    CutOff { learned, reason }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_attempt_teaches_a_smaller_one() {
        let meta = |per_pr: Option<f64>| Metadata { points_per_pr: per_pr, ..Metadata::default() };
        // (metadata, size, points spent, window, next size, points per PR, fetch across resets)
        let cases = [
            (meta(None), 50, 5, Some(100), 25, 0.12, Change::Keep),
            (meta(Some(0.5)), 50, 5, Some(100), 25, 0.5, Change::Keep),
            (meta(Some(0.01)), 20, 9, None, 10, 0.5, Change::Keep),
            (meta(None), 8, 5, Some(5), 5, 0.75, Change::Keep),
            // five PRs spent a whole window: only fetching across resets moves on
            (meta(None), 5, 5, Some(5), 5, 1.2, Change::Set(true)),
            (meta(None), 5, 3, Some(5), 5, 0.8, Change::Keep),
            (meta(None), 5, 7, None, 5, 1.6, Change::Keep),
        ];
        for (given, size, points, limit, next, per_pr, span) in cases {
            let cut = from_cut_off(&given, size, points, limit);
            assert_eq!(cut.learned.max_chunk_size, Change::Set(next), "{size} {points} {limit:?}");
            assert_eq!(cut.learned.points_per_pr, Change::Set(per_pr), "{size} {points} {limit:?}");
            assert_eq!(cut.learned.span_windows, span, "{size} {points} {limit:?}");
        }
    }

    #[test]
    fn a_stored_chunk_keeps_sets_or_removes_what_works() {
        let meta = |ceiling: Option<i64>| Metadata { max_chunk_size: ceiling, ..Metadata::default() };
        let page = |size: i64, shrunk: bool, node_limit: Option<u64>| FetchedChunk {
            size,
            shrunk,
            node_limit,
            ..FetchedChunk::default()
        };
        // (metadata, page, page ceiling written, node limit written)
        let cases = [
            // nothing was ever cut: nothing to remember
            (meta(None), page(50, false, None), Change::Keep, Change::Remove),
            (meta(None), page(25, true, Some(5_025)), Change::Set(25), Change::Set(5_025)),
            (meta(Some(25)), page(25, false, Some(7_500)), Change::Set(27), Change::Set(7_500)),
            // the limit grew back to the default during the chunk: forgotten
            (meta(Some(25)), page(10, false, None), Change::Set(25), Change::Remove),
        ];
        for (given, page, ceiling, node_limit) in cases {
            let learned = from_stored(&given, &page, 0);
            assert_eq!(learned.max_chunk_size, ceiling, "{given:?} {page:?}");
            assert_eq!(learned.node_limit, node_limit, "{given:?} {page:?}");
            assert_eq!(learned.follow_up_limit, Change::Remove, "the key it replaced goes");
        }
    }

    #[test]
    fn points_spent_add_up() {
        let cases = [
            (None, 5, Change::Set(5)),
            (Some(10), 0, Change::Set(10)),
            (Some(10), -3, Change::Set(10)),
            (Some(7), 4, Change::Set(11)),
        ];
        for (before, points, want) in cases {
            let meta = Metadata { points_spent: before, ..Metadata::default() };
            assert_eq!(points_spent(&meta, points), want);
        }
    }
}
