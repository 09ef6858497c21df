//! The plain lines of a run: one per stored chunk, one at the end.

use super::{RunSummary, StoredChunk};
use crate::budget::Budget;
use crate::text::count;

/// `4990 points`, or `? points` before GitHub has stated the budget.
pub fn points_left(budget: Option<Budget>) -> String {
    budget.map_or_else(|| "? points".to_string(), |b| count(b.remaining, "point", "points"))
}

pub fn chunk_line(c: &StoredChunk) -> String {
    let number = c.chunk_number.map_or_else(|| "-".to_string(), |n| n.to_string());
    let left = c.budget.map_or_else(|| "?".to_string(), |b| b.remaining.to_string());
    let percent = if c.total_prs > 0 { 100.0 * c.processed_prs as f64 / c.total_prs as f64 } else { 100.0 };
    let done = if c.completed { ", completed" } else { "" };
    format!(
        "{}: chunk {number}: {} (size {}) in {:.1}s, {}, {}, {left} left; {}/{} PRs ({percent:.1}%){done}",
        c.full_name,
        count(c.prs, "PR", "PRs"),
        c.chunk_size,
        c.elapsed.as_secs_f64(),
        count(c.requests, "request", "requests"),
        count(c.points, "point", "points"),
        c.processed_prs,
        c.total_prs,
    )
}

/// `run finished: 2 chunks, 100 PRs stored, 0 failed chunks, 4 requests,
/// 4 points used, 4990 points left` (tests read `P points used` out of it).
pub fn closing_line(s: &RunSummary) -> String {
    format!("run finished: {}, {} left", tally(s), points_left(s.budget))
}

/// What a run did, in words: `2 chunks, 100 PRs stored, 0 failed chunks,
/// 4 requests, 4 points used` (the closing line and the step summary).
pub fn tally(s: &RunSummary) -> String {
    format!(
        "{}, {} stored, {}, {}, {} used",
        count(s.chunks, "chunk", "chunks"),
        count(s.prs_stored, "PR", "PRs"),
        count(s.failed_chunks, "failed chunk", "failed chunks"),
        count(s.requests, "request", "requests"),
        count(s.points, "point", "points"),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn budget(remaining: i64) -> Option<Budget> {
        Some(Budget { remaining, limit: 5_000, used: None, reset_at: None })
    }

    #[test]
    fn the_closing_line_counts_in_the_singular_too() {
        let one = RunSummary {
            chunks: 1,
            prs_stored: 1,
            failed_chunks: 1,
            requests: 1,
            points: 1,
            budget: budget(1),
            ..RunSummary::default()
        };
        let many =
            RunSummary { chunks: 2, prs_stored: 100, requests: 4, points: 4, budget: budget(4_990), ..one.clone() };
        let cases = [
            (one, "run finished: 1 chunk, 1 PR stored, 1 failed chunk, 1 request, 1 point used, 1 point left"),
            (
                many,
                "run finished: 2 chunks, 100 PRs stored, 1 failed chunk, 4 requests, 4 points used, 4990 points left",
            ),
            (
                RunSummary::default(),
                "run finished: 0 chunks, 0 PRs stored, 0 failed chunks, 0 requests, 0 points used, ? points left",
            ),
        ];
        for (summary, want) in cases {
            assert_eq!(closing_line(&summary), want);
        }
    }

    #[test]
    fn the_chunk_line_counts_in_the_singular_too() {
        let chunk = StoredChunk {
            caught_up_before: false,
            full_name: "acme/one".into(),
            chunk_number: Some(3),
            prs: 1,
            processed_prs: 101,
            total_prs: 101,
            completed: true,
            chunk_size: 50,
            requests: 1,
            points: 1,
            budget: budget(4_000),
            elapsed: Duration::from_millis(1_250),
        };
        let many = StoredChunk { prs: 50, requests: 2, points: 2, completed: false, budget: None, ..chunk.clone() };
        let cases = [
            (chunk, "acme/one: chunk 3: 1 PR (size 50) in 1.2s, 1 request, 1 point, 4000 left; 101/101 PRs (100.0%), completed"),
            (many, "acme/one: chunk 3: 50 PRs (size 50) in 1.2s, 2 requests, 2 points, ? left; 101/101 PRs (100.0%)"),
        ];
        for (c, want) in cases {
            assert_eq!(chunk_line(&c), want);
        }
    }
}
