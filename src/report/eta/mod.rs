//! When a backfill will be done, from its own history rather than from the
//! pace of one run's work: a backfill that stores 50 PRs in 5 seconds every
//! 30 minutes is 30 minutes per 50 PRs away from the end, not 5 seconds.
//!
//! The rule. Take the backfill's chunks that stored PRs in the three days
//! before its newest one (the caller reads at most the last few hundred).
//! Chunks that follow each other within two minutes belong to one run; a
//! longer wait starts the next run. Each run after the first is paid for by
//! the wall-clock time since the end of the run before it, so the pace is
//! the PRs of the runs after the first divided by the time from the end of
//! the first run to the end of the last: schedule gaps, pauses and a time
//! budget per run are all in it, and the first run's PRs are not counted
//! against a span that began with it. The wait since the last run counts
//! too, once it is longer than the usual time between runs (a backfill that
//! stopped moving must not keep its old ETA). One run alone gives no pace.
//! The budget bound is the points per PR measured so far times the PRs
//! left, against the token's hourly limit: how long it would take if each
//! run used the whole budget. The ETA is bound by the budget when the
//! schedule's figure is within a quarter of it; otherwise by what each run
//! takes (its chunks, or its time budget) at the schedule's rate.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

mod words;

/// One chunk of a backfill's history, as the ETA, the charts and the page read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkPoint {
    pub number: i32,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
    /// The PR numbers in the chunk's row.
    pub prs: i64,
    /// PRs the backfill's chunks had stored once this one was, each PR
    /// once (a refresh of stored PRs adds none).
    pub stored_after: i64,
    /// What the chunk's requests cost; unknown for rows written before the
    /// tool kept it.
    pub points: Option<i64>,
    pub failed: bool,
    pub error: Option<String>,
}

/// How far back the pace is measured from the newest chunk.
pub const WINDOW: chrono::Duration = chrono::Duration::days(3);
/// Chunks closer together than this are one run's.
pub const RUN_GAP: chrono::Duration = chrono::Duration::minutes(2);
/// The schedule's figure counts as the budget's when within this factor.
const BUDGET_SLACK: f64 = 1.25;

/// What each run may take, where known (a run knows its own options;
/// `status` does not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PerRun {
    Unknown,
    Chunks(u32),
    Time(Duration),
}

/// What holds the completion back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// How often runs come and the chunks each takes.
    Schedule,
    /// Each run's time budget.
    TimeBudget,
    /// The token's hourly points: the runs already spend about all of it.
    Budget,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Eta {
    /// Completed: nothing left, no ETA.
    Done,
    /// No chunk has stored PRs yet.
    NoHistory,
    Estimate(Estimate),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub prs_left: i64,
    /// Runs in the measured window.
    pub runs: usize,
    /// PRs per hour of wall-clock time over those runs; none after one run.
    pub prs_per_hour: Option<f64>,
    /// Time left at that pace.
    pub at_schedule_secs: Option<u64>,
    pub completes_at: Option<DateTime<Utc>>,
    /// Time left if each run used the whole hourly budget.
    pub at_budget_secs: Option<u64>,
    pub bound: Option<Bound>,
    /// What each run takes, in words (`1 chunk per run`, `20m per run`).
    pub per_run: Option<String>,
}

/// What the ETA is computed from: plain values the store read.
#[derive(Debug, Clone)]
pub struct EtaInput<'a> {
    pub completed: bool,
    pub prs_left: i64,
    /// The backfill's recent chunks, oldest first.
    pub chunks: &'a [ChunkPoint],
    pub points_per_pr: Option<f64>,
    /// The token's hourly limit, as GitHub last stated it.
    pub points_per_hour: Option<i64>,
    pub per_run: PerRun,
    pub now: DateTime<Utc>,
}

pub fn estimate(input: &EtaInput) -> Eta {
    if input.completed || input.prs_left <= 0 {
        return Eta::Done;
    }
    let stored: Vec<&ChunkPoint> = input.chunks.iter().filter(|c| !c.failed && c.prs > 0).collect();
    let Some(newest) = stored.iter().map(|c| c.completed_at).max() else { return Eta::NoHistory };
    // (end of the run, PRs it stored)
    let mut runs: Vec<(DateTime<Utc>, i64)> = Vec::new();
    for c in stored.iter().filter(|c| c.completed_at >= newest - WINDOW) {
        match runs.last_mut() {
            Some((end, prs)) if c.started_at - *end <= RUN_GAP => {
                *end = (*end).max(c.completed_at);
                *prs += c.prs;
            }
            _ => runs.push((c.completed_at, c.prs)),
        }
    }
    let left = input.prs_left as f64;
    let prs_per_hour = match (runs.first(), runs.last()) {
        (Some(first), Some(last)) if runs.len() >= 2 => {
            let span = (last.0 - first.0).num_milliseconds() as f64 / 1_000.0;
            let period = span / (runs.len() - 1) as f64;
            let since = (input.now - last.0).num_milliseconds() as f64 / 1_000.0;
            let hours = (span + (since - period).max(0.0)) / 3_600.0;
            let prs: i64 = runs[1..].iter().map(|r| r.1).sum();
            (hours > 0.0 && prs > 0).then(|| prs as f64 / hours)
        }
        _ => None,
    };
    let at_schedule = prs_per_hour.map(|rate| left / rate * 3_600.0);
    let at_budget = match (input.points_per_pr, input.points_per_hour) {
        (Some(per_pr), Some(limit)) if per_pr > 0.0 && per_pr.is_finite() && limit > 0 => {
            Some(left * per_pr / limit as f64 * 3_600.0)
        }
        _ => None,
    };
    let bound = at_schedule.map(|s| match (at_budget, input.per_run) {
        (Some(b), _) if s <= b * BUDGET_SLACK => Bound::Budget,
        (_, PerRun::Time(_)) => Bound::TimeBudget,
        _ => Bound::Schedule,
    });
    let secs = |s: f64| s.round().min(u64::MAX as f64) as u64;
    Eta::Estimate(Estimate {
        prs_left: input.prs_left,
        runs: runs.len(),
        prs_per_hour: prs_per_hour.map(|r| (r * 10.0).round() / 10.0),
        at_schedule_secs: at_schedule.map(secs),
        completes_at: at_schedule
            .and_then(|s| chrono::Duration::try_seconds(secs(s).min(i64::MAX as u64) as i64))
            .and_then(|d| input.now.checked_add_signed(d)),
        at_budget_secs: at_budget.map(secs),
        bound,
        per_run: match input.per_run {
            PerRun::Unknown => None,
            PerRun::Chunks(n) => Some(crate::text::count(n, "chunk per run", "chunks per run")),
            PerRun::Time(d) => Some(format!("{} per run", crate::text::human_duration(d))),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    /// A chunk that started `at` minutes after t0 and took `secs`.
    fn chunk(number: i32, at: i64, secs: i64, prs: i64) -> ChunkPoint {
        let started_at = t0() + chrono::Duration::minutes(at);
        ChunkPoint {
            number,
            started_at,
            completed_at: started_at + chrono::Duration::seconds(secs),
            prs,
            stored_after: 0,
            points: Some(1),
            failed: false,
            error: None,
        }
    }

    fn failed(number: i32, at: i64) -> ChunkPoint {
        ChunkPoint { prs: 0, failed: true, error: Some("boom".into()), ..chunk(number, at, 5, 0) }
    }

    /// Ten chunks of 50 back to back (30 s each) from `at` minutes.
    fn run_of_ten(first: i32, at: i64) -> Vec<ChunkPoint> {
        (0..10).map(|i| shift(chunk(first + i, at, 30, 50), i64::from(i) * 30)).collect()
    }

    fn shift(c: ChunkPoint, secs: i64) -> ChunkPoint {
        let d = chrono::Duration::seconds(secs);
        ChunkPoint { started_at: c.started_at + d, completed_at: c.completed_at + d, ..c }
    }

    fn input(chunks: &[ChunkPoint], left: i64, now_min: i64) -> EtaInput<'_> {
        EtaInput {
            completed: false,
            prs_left: left,
            chunks,
            points_per_pr: Some(0.02),
            points_per_hour: Some(5_000),
            per_run: PerRun::Unknown,
            now: t0() + chrono::Duration::minutes(now_min),
        }
    }

    fn budgeted(i: EtaInput<'_>, per_pr: f64, limit: i64, per_run: PerRun) -> EtaInput<'_> {
        EtaInput { points_per_pr: Some(per_pr), points_per_hour: Some(limit), per_run, ..i }
    }

    /// Runs, PRs an hour, seconds at the schedule and at the budget, bound.
    type Figures = (usize, Option<f64>, Option<u64>, Option<u64>, Option<Bound>);

    fn figures(eta: &Eta) -> Figures {
        match eta {
            Eta::Estimate(e) => (e.runs, e.prs_per_hour, e.at_schedule_secs, e.at_budget_secs, e.bound),
            other => panic!("no estimate: {other:?}"),
        }
    }

    #[test]
    fn the_pace_counts_the_time_between_runs() {
        let three = [chunk(1, 0, 0, 50), chunk(2, 30, 0, 50), chunk(3, 60, 0, 50)];
        let with_failure = [chunk(1, 0, 0, 50), failed(2, 29), chunk(3, 30, 0, 50), chunk(4, 60, 0, 50)];
        let two_time_budgets: Vec<ChunkPoint> = run_of_ten(1, 0).into_iter().chain(run_of_ten(11, 30)).collect();
        let one_run = run_of_ten(1, 0);
        let old_and_new = [chunk(1, -5 * 24 * 60, 5, 50), chunk(2, 0, 5, 50), chunk(3, 30, 5, 50)];
        let cases: Vec<(&str, EtaInput<'_>, Figures)> = vec![
            // The 2,000-PR backfill after three runs on the 30-minute
            // schedule: 100 PRs stored in the hour after the first run ended.
            ("three runs", input(&three, 1_850, 61), (3, Some(100.0), Some(66_600), Some(27), Some(Bound::Schedule))),
            // Looked at 90 minutes after the last run: an hour overdue counts.
            ("stalled", input(&three, 1_850, 150), (3, Some(50.0), Some(133_200), Some(27), Some(Bound::Schedule))),
            // A failed attempt adds neither a run nor PRs.
            (
                "failure",
                input(&with_failure, 1_850, 62),
                (3, Some(100.0), Some(66_600), Some(27), Some(Bound::Schedule)),
            ),
            // Ten chunks a run, one run every 30 minutes: 1,000 PRs an hour.
            (
                "time budget",
                budgeted(input(&two_time_budgets, 10_000, 36), 0.02, 5_000, PerRun::Time(Duration::from_secs(1_200))),
                (2, Some(1_000.0), Some(36_000), Some(144), Some(Bound::TimeBudget)),
            ),
            // 1 point per PR against 120 an hour: the budget is what holds it.
            (
                "budget",
                budgeted(input(&three, 1_850, 61), 1.0, 120, PerRun::Chunks(1)),
                (3, Some(100.0), Some(66_600), Some(55_500), Some(Bound::Budget)),
            ),
            // A run five days ago is outside the window.
            ("window", input(&old_and_new, 100, 31), (2, Some(100.0), Some(3_600), Some(1), Some(Bound::Schedule))),
            // One run: no pace yet, only the budget's figure.
            ("one run", input(&one_run, 500, 6), (1, None, None, Some(7), None)),
            (
                "no budget seen",
                EtaInput { points_per_hour: None, ..input(&three, 1_850, 61) },
                (3, Some(100.0), Some(66_600), None, Some(Bound::Schedule)),
            ),
        ];
        for (name, given, want) in cases {
            assert_eq!(figures(&estimate(&given)), want, "{name}");
        }
    }

    #[test]
    fn completed_and_new_backfills_have_no_figure() {
        let three = [chunk(1, 0, 0, 50), chunk(2, 30, 0, 50), chunk(3, 60, 0, 50)];
        let failures = [failed(1, 0), failed(2, 30)];
        let cases = [
            (EtaInput { completed: true, ..input(&three, 10, 61) }, Eta::Done),
            (input(&three, 0, 61), Eta::Done),
            (input(&[], 100, 0), Eta::NoHistory),
            (input(&failures, 100, 40), Eta::NoHistory),
        ];
        for (given, want) in cases {
            assert_eq!(estimate(&given), want, "{given:?}");
        }
    }

    #[test]
    fn the_sentence_names_both_figures_and_the_bound() {
        let three = [chunk(1, 0, 0, 50), chunk(2, 30, 0, 50), chunk(3, 60, 0, 50)];
        let slow = EtaInput { points_per_pr: Some(1.0), points_per_hour: Some(1_000), ..input(&three, 1_850, 61) };
        let cases = [
            (
                estimate(&EtaInput { per_run: PerRun::Chunks(1), ..slow.clone() }),
                "about 19 h at this schedule (100 PRs/h over the last 3 runs, done around 2026-12-02 05:31 UTC); \
                 about 2 h if each run used the whole budget; bound by the schedule (1 chunk per run)",
                "about 19 h (schedule; 2 h at full budget)",
            ),
            (
                estimate(&input(&three[..1], 1_950, 1)),
                "no pace yet (1 run so far: it takes two); about 1 min if each run used the whole budget",
                "? (pace unknown; 1 min at full budget)",
            ),
            (Eta::NoHistory, "no history yet: no chunk has stored PRs", "no history"),
            (Eta::Done, "completed", "-"),
        ];
        for (eta, sentence, short) in cases {
            assert_eq!((eta.sentence().as_str(), eta.short().as_str()), (sentence, short));
        }
    }
}
