//! The plain lines of a run: one per stored chunk, one at the end.

use super::standing::{Facts, Fleet};
use super::{BackfillReport, RunSummary, StoredChunk};
use crate::budget::Budget;
use crate::text::count;

/// A run over more backfills than this reads as a fleet: its totals, the
/// backfills that need attention, and a count of the others. Up to it, the
/// output is what it always was (the step summary's row per backfill).
pub const FLEET: usize = 10;

/// Backfills named on the terminal as needing attention; more are counted.
pub const MAX_NAMED: usize = 20;

/// `4990 points`, or `? points` before GitHub has stated the budget.
pub fn points_left(budget: Option<Budget>) -> String {
    budget.map_or_else(|| "? points".to_string(), |b| count(b.remaining, "point", "points"))
}

/// A page that brought no PR writes no chunk row: `no new PRs (page of 50)`.
pub fn chunk_line(c: &StoredChunk) -> String {
    let what = match c.chunk_number {
        Some(n) => format!("chunk {n}: {} (size {})", count(c.prs, "PR", "PRs"), c.chunk_size),
        None => format!("no new PRs (page of {})", c.chunk_size),
    };
    let left = c.budget.map_or_else(|| "?".to_string(), |b| b.remaining.to_string());
    let percent = if c.total_prs > 0 { 100.0 * c.processed_prs as f64 / c.total_prs as f64 } else { 100.0 };
    let done = if c.completed { ", completed" } else { "" };
    format!(
        "{}: {what} in {:.1}s, {}, {}, {left} left; {}/{} PRs ({percent:.1}%){done}",
        c.full_name,
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

/// A fleet's reading of the run's backfills, with how many stored PRs: none
/// for a run over `FLEET` backfills or fewer.
pub fn fleet_of(s: &RunSummary) -> Option<(Fleet, String)> {
    if s.backfills.len() <= FLEET {
        return None;
    }
    let facts: Vec<Facts> = s.backfills.iter().map(BackfillReport::facts).collect();
    let moved = s.backfills.iter().filter(|b| b.prs_stored > 0).count();
    let head = format!("{} in this run, {moved} of them stored PRs", count(s.backfills.len(), "backfill", "backfills"));
    Some((Fleet::read(&facts), head))
}

/// `3 need attention`, `1 needs attention`.
pub fn need_attention(n: usize) -> String {
    count(n, "needs attention", "need attention")
}

/// The lines after the closing line of a run over many backfills: how many
/// it took, those that need attention (the first `MAX_NAMED`), and what the
/// others are doing. None for a few backfills: their chunk lines said it.
pub fn fleet_lines(s: &RunSummary) -> Vec<String> {
    let Some((fleet, head)) = fleet_of(s) else { return Vec::new() };
    if fleet.attention.is_empty() {
        return vec![format!("{head}; none needs attention ({})", fleet.rest_words())];
    }
    let mut out = vec![format!("{head}; {}:", need_attention(fleet.attention.len()))];
    for (i, _, reason) in fleet.attention.iter().take(MAX_NAMED) {
        out.push(format!("  {}: {reason}", s.backfills[*i].repository));
    }
    if let Some(more) = fleet.attention.len().checked_sub(MAX_NAMED).filter(|n| *n > 0) {
        out.push(format!("  and {more} more that need attention (`backfill status --attention` lists them all)"));
    }
    if let Some(rest) = fleet.rest_sentence() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::eta::ChunkPoint;
    use crate::status::{BackfillStatus, PauseKind};

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
        let none = StoredChunk { prs: 0, chunk_number: None, ..chunk.clone() };
        let cases = [
            (none, "acme/one: no new PRs (page of 50) in 1.2s, 1 request, 1 point, 4000 left; 101/101 PRs (100.0%), completed"),
            (chunk, "acme/one: chunk 3: 1 PR (size 50) in 1.2s, 1 request, 1 point, 4000 left; 101/101 PRs (100.0%), completed"),
            (many, "acme/one: chunk 3: 50 PRs (size 50) in 1.2s, 2 requests, 2 points, ? left; 101/101 PRs (100.0%)"),
        ];
        for (c, want) in cases {
            assert_eq!(chunk_line(&c), want);
        }
    }

    /// A backfill after a run: its status, what it stored, its last chunk
    /// `hours` before 2026-12-01 12:00 (failed, if asked).
    fn after(name: &str, status: BackfillStatus, stored: u64, hours: i64, failed: bool) -> BackfillReport {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default()
            - chrono::Duration::hours(hours);
        let chunk = ChunkPoint {
            number: 1,
            started_at: at,
            completed_at: at,
            prs: 50,
            stored_after: 50,
            points: Some(1),
            failed,
            error: failed.then(|| "boom".to_string()),
        };
        BackfillReport {
            repository: name.into(),
            prs_stored: stored,
            status: Some(status),
            current_as_of: (status == BackfillStatus::Completed).then_some(at),
            chunks: vec![chunk],
            ..BackfillReport::default()
        }
    }

    #[test]
    fn a_fleet_closes_with_those_that_need_attention_and_a_count_of_the_rest() {
        use BackfillStatus::{Active, Completed, Failed, Paused};
        let run = |backfills: Vec<BackfillReport>| RunSummary { backfills, ..RunSummary::default() };
        let moving = |n: usize| (0..n).map(|i| after(&format!("acme/m{i:03}"), Active, 50, 0, false));
        let current = |n: usize| (0..n).map(|i| after(&format!("acme/c{i:03}"), Completed, 0, 1, false));
        let paused = BackfillReport {
            pause_kind: Some(PauseKind::Errors),
            needs_attention: true,
            ..after("acme/flaky", Paused, 0, 0, true)
        };
        let failed = BackfillReport { note: Some("repository gone".into()), ..after("acme/gone", Failed, 0, 5, false) };
        let by_hand =
            BackfillReport { pause_kind: Some(PauseKind::Manual), ..after("acme/held", Paused, 0, 40, false) };
        let fleet: Vec<BackfillReport> = moving(150)
            .chain([after("acme/stale", Active, 0, 30, false), paused, failed, by_hand])
            .chain(current(45))
            .chain([after("acme/failing", Active, 0, 0, true)])
            .collect();
        let cases: Vec<(RunSummary, Vec<&str>)> = vec![
            // Two backfills: the chunk lines said it all.
            (run(vec![after("acme/one", Failed, 0, 0, false), after("acme/two", Active, 50, 0, false)]), vec![]),
            (run(moving(10).collect()), vec![]),
            (
                run(moving(11).collect()),
                vec!["11 backfills in this run, 11 of them stored PRs; none needs attention (all in progress)"],
            ),
            (
                run(moving(11).chain(current(3)).collect()),
                vec![
                    "14 backfills in this run, 11 of them stored PRs; none needs attention (11 in progress, 3 current)",
                ],
            ),
            (
                run(fleet),
                vec![
                    "200 backfills in this run, 150 of them stored PRs; 4 need attention:",
                    "  acme/gone: failed: repository gone",
                    "  acme/flaky: paused after failures: boom",
                    "  acme/failing: failing: 1 failed chunk in a row since 2026-12-01 12:00 UTC: boom",
                    "  acme/stale: behind: no PRs stored since 2026-11-30 06:00 UTC",
                    "and 196 more: 150 in progress, 45 current, 1 paused by hand",
                ],
            ),
        ];
        for (summary, want) in cases {
            assert_eq!(fleet_lines(&summary), want);
        }
    }

    #[test]
    fn a_fleet_in_trouble_names_the_first_few() {
        let failing: Vec<BackfillReport> =
            (0..25).map(|i| after(&format!("acme/f{i:02}"), BackfillStatus::Active, 0, 0, true)).collect();
        let lines = fleet_lines(&RunSummary { backfills: failing, ..RunSummary::default() });
        assert_eq!(lines.len(), 1 + MAX_NAMED + 1, "{lines:#?}");
        assert_eq!(lines[0], "25 backfills in this run, 0 of them stored PRs; 25 need attention:");
        assert!(lines[1].starts_with("  acme/f00: failing"), "{lines:#?}");
        assert_eq!(lines[21], "  and 5 more that need attention (`backfill status --attention` lists them all)");
    }
}
