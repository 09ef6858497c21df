//! `backfill history`: a backfill's chunks, newest first, under one line
//! that answers what a person asks of a stuck backfill: is it failing,
//! since when, and what GitHub said last.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::table::columns;
use super::verify::{Kind, VerificationRow};
use crate::status::{BackfillStatus, Priority};
use crate::text::{count, human_duration, one_line};

/// One `backfill_chunks` row (and one JSON line of `--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    pub chunk_number: i32,
    pub first_pr: Option<i32>,
    pub last_pr: Option<i32>,
    pub pr_count: i32,
    /// For a chunk that stored no PR (a failure): the last PR stored before
    /// it, so the page it was after.
    pub after_pr: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<i32>,
    /// Points the chunk cost, failed requests included (unknown for rows
    /// written before the tool kept them).
    pub points: Option<i32>,
    pub requests: Option<i32>,
    /// Failed attempts at the same page before this one.
    pub retry_count: Option<i32>,
    pub status: String,
    pub error: Option<String>,
}

/// The backfill the history is of, and its failures in a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryHeader {
    pub repository: String,
    pub status: BackfillStatus,
    pub priority: Priority,
    pub processed_prs: i32,
    pub total_prs: i32,
    /// Failures of its own in a row (three pause it); GitHub's outages do not count.
    pub consecutive_errors: i32,
    /// Failed chunks since the last stored one, and when the first of them began.
    pub failing_chunks: i64,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub paused_until: Option<DateTime<Utc>>,
    pub pause_reason: Option<String>,
    pub removed: bool,
}

fn at(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    human_duration((now - t).to_std().unwrap_or(Duration::ZERO))
}

/// The line above the table: status and, when failing, since when and why.
pub fn history_header(h: &HistoryHeader, now: DateTime<Utc>) -> String {
    let mut out =
        format!("{}: {}, priority {}, {}/{} PRs", h.repository, h.status, h.priority, h.processed_prs, h.total_prs);
    if h.removed {
        out.push_str(&format!("; removed: no run takes it (`backfill add {}` tracks it again)", h.repository));
    }
    if let Some(until) = h.paused_until.filter(|_| h.status == BackfillStatus::Paused) {
        out.push_str(&format!("; paused until {}", at(until)));
    }
    if let Some(reason) = h.pause_reason.as_deref().filter(|_| h.status == BackfillStatus::Paused) {
        out.push_str(&format!(" ({})", one_line(reason)));
    }
    match (h.failing_chunks, h.failing_since) {
        (0, _) | (_, None) => out.push_str("; not failing: its last chunk was stored"),
        (n, Some(since)) => {
            out.push_str(&format!(
                "; failing since {} ({} ago): {} in a row, {} of its own",
                at(since),
                ago(since, now),
                count(n, "failed chunk", "failed chunks"),
                h.consecutive_errors
            ));
            if let Some(e) = &h.last_error {
                out.push_str(&format!("; last error: {}", one_line(e)));
            }
        }
    }
    out
}

/// `45ms`, `3.2s`, `2m 5s`.
fn duration(ms: Option<i32>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1_000 => format!("{}ms", ms.max(0)),
        Some(ms) if ms < 60_000 => format!("{:.1}s", f64::from(ms) / 1_000.0),
        Some(ms) => human_duration(Duration::from_millis(ms as u64)),
    }
}

fn prs(r: &HistoryRow) -> String {
    match (r.first_pr, r.last_pr, r.after_pr) {
        (Some(a), Some(b), _) if a == b => format!("#{a} (1)"),
        (Some(a), Some(b), _) => format!("#{a}-#{b} ({})", r.pr_count),
        (_, _, Some(after)) => format!("after #{after}"),
        _ => "from the start".into(),
    }
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

pub fn history_table(rows: &[HistoryRow]) -> String {
    let header = ["CHUNK", "PRS", "STARTED", "DURATION", "POINTS", "REQUESTS", "ATTEMPT", "STATUS", "ERROR"];
    let body: Vec<[String; 9]> = rows
        .iter()
        .map(|r| {
            [
                r.chunk_number.to_string(),
                prs(r),
                r.started_at.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
                duration(r.duration_ms),
                or_dash(r.points),
                or_dash(r.requests),
                // The first attempt at a page is attempt 1.
                (r.retry_count.unwrap_or(0).max(0) + 1).to_string(),
                r.status.clone(),
                r.error.as_deref().map_or_else(|| "-".into(), one_line),
            ]
        })
        .collect();
    columns(header, &body)
}

/// `history`'s verifications, newest first, under a header.
pub fn verifications_table(rows: &[VerificationRow]) -> String {
    let header = ["VERIFIED", "KIND", "PRS", "CHECKED", "FOUND", "REFETCHED", "DELETED", "POINTS"];
    let body: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            let found: Vec<String> = Kind::ALL
                .iter()
                .filter_map(|k| r.found.get(k.key()).filter(|n| **n > 0).map(|n| format!("{} {n}", k.words())))
                .collect();
            let span = match (r.first_pr, r.last_pr) {
                (Some(a), Some(b)) => format!("#{a}-#{b}"),
                _ => "-".into(),
            };
            [
                r.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                r.kind.clone(),
                span,
                r.prs_checked.to_string(),
                if found.is_empty() { "nothing".into() } else { found.join(", ") },
                r.refetched.to_string(),
                r.deleted.to_string(),
                r.points.to_string(),
            ]
        })
        .collect();
    columns(header, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    fn header() -> HistoryHeader {
        HistoryHeader {
            repository: "acme/repo".into(),
            status: BackfillStatus::Active,
            priority: Priority::Normal,
            processed_prs: 50,
            total_prs: 120,
            consecutive_errors: 0,
            failing_chunks: 0,
            failing_since: None,
            last_error: None,
            paused_until: None,
            pause_reason: None,
            removed: false,
        }
    }

    #[test]
    fn the_header_says_since_when_a_backfill_fails() {
        let now = t("2026-12-01T12:00:00Z");
        let failing = HistoryHeader {
            status: BackfillStatus::Paused,
            consecutive_errors: 3,
            failing_chunks: 3,
            failing_since: Some(t("2026-12-01T10:30:00Z")),
            last_error: Some("GitHub said:\n  no".into()),
            paused_until: Some(t("2026-12-01T13:00:00Z")),
            pause_reason: Some("3 consecutive failed chunks".into()),
            ..header()
        };
        let cases = [
            (header(), "acme/repo: active, priority normal, 50/120 PRs; not failing: its last chunk was stored"),
            (
                failing,
                "acme/repo: paused, priority normal, 50/120 PRs; paused until 2026-12-01 13:00:00 UTC \
                 (3 consecutive failed chunks); failing since 2026-12-01 10:30:00 UTC (1h 30m ago): \
                 3 failed chunks in a row, 3 of its own; last error: GitHub said: no",
            ),
            (
                HistoryHeader { removed: true, ..header() },
                "acme/repo: active, priority normal, 50/120 PRs; removed: no run takes it \
                 (`backfill add acme/repo` tracks it again); not failing: its last chunk was stored",
            ),
        ];
        for (h, want) in cases {
            assert_eq!(history_header(&h, now), want);
        }
    }

    #[test]
    fn rows_show_their_prs_duration_and_attempt() {
        let row = |first, last, after, ms, retries| HistoryRow {
            chunk_number: 2,
            first_pr: first,
            last_pr: last,
            pr_count: 50,
            after_pr: after,
            started_at: Some(t("2026-12-01T10:30:00Z")),
            duration_ms: ms,
            points: None,
            requests: Some(1),
            retry_count: retries,
            status: "completed".into(),
            error: None,
        };
        let cases = [
            (row(Some(1), Some(50), None, Some(850), Some(0)), ["#1-#50 (50)", "850ms", "1"]),
            (row(None, None, Some(50), Some(3_250), Some(2)), ["after #50", "3.2s", "3"]),
            (row(None, None, None, Some(125_000), None), ["from the start", "2m 5s", "1"]),
            (row(Some(7), Some(7), None, None, Some(0)), ["#7 (1)", "-", "1"]),
        ];
        for (r, [prs_cell, took, attempt]) in cases {
            let table = history_table(std::slice::from_ref(&r));
            let line = table.lines().nth(1).unwrap_or_default();
            let cells: Vec<&str> = line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
            assert_eq!(cells[1], prs_cell, "{line}");
            assert_eq!(cells[3], took, "{line}");
            assert_eq!(cells[6], attempt, "{line}");
        }
    }
}
