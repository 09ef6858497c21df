//! From what one benchmark run measured to how long 150,000 PRs would take
//! on GitHub, under a stated latency model: pure arithmetic, tested below.

/// The latency model: GitHub answers a request in 0.5 s plus 0.1 ms for each
/// node it asks for.
pub const SECONDS_PER_REQUEST: f64 = 0.5;
pub const SECONDS_PER_NODE: f64 = 0.000_1;
/// A scheduled run every 30 minutes, each with a 25-minute time budget.
pub const RUN_EVERY_MINUTES: f64 = 30.0;
pub const RUN_BUDGET_MINUTES: f64 = 25.0;

/// Per-PR costs measured on the synthetic repository.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerPr {
    pub points: f64,
    pub requests: f64,
    pub nodes: f64,
    /// The tool's own time per PR (CPU, PostgreSQL), outside GitHub's latency.
    pub local_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    pub prs_per_run: f64,
    pub runs: f64,
    /// Calendar time on the 30-minute schedule.
    pub days: f64,
    /// What holds each run back.
    pub limited_by: &'static str,
}

/// Seconds GitHub and the tool need per PR under the model.
pub fn seconds_per_pr(p: &PerPr) -> f64 {
    p.requests * SECONDS_PER_REQUEST + p.nodes * SECONDS_PER_NODE + p.local_seconds
}

/// Runs of the schedule for `total` PRs, with `hourly_points` of budget
/// shared by the two runs of each hour.
pub fn project(total: f64, p: &PerPr, hourly_points: f64) -> Projection {
    let by_time = RUN_BUDGET_MINUTES * 60.0 / seconds_per_pr(p);
    let by_budget = hourly_points * RUN_EVERY_MINUTES / 60.0 / p.points.max(f64::MIN_POSITIVE);
    let (prs_per_run, limited_by) = if by_time <= by_budget { (by_time, "time") } else { (by_budget, "rate limit") };
    fixed(total, prs_per_run.floor().max(1.0), limited_by)
}

/// A fixed number of PRs per run, as the scripts this replaces do.
pub fn fixed(total: f64, prs_per_run: f64, limited_by: &'static str) -> Projection {
    let runs = (total / prs_per_run).ceil();
    Projection { prs_per_run, runs, days: runs * RUN_EVERY_MINUTES / 60.0 / 24.0, limited_by }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_follow_the_model() {
        let floor = PerPr { points: 0.02, requests: 0.02, nodes: 71.0, local_seconds: 0.0 };
        // 0.02 * 0.5 + 71 * 0.0001 = 0.0171 s a PR: 87,719 PRs in 25 minutes by time.
        assert!((seconds_per_pr(&floor) - 0.0171).abs() < 1e-9);
        let cases = [
            // 5,000 points an hour: 2,500 a run pays for 125,000 PRs; time allows 87,719.
            (5_000.0, 87_719.0, 2.0, "time"),
            // 1,000 an hour: 500 a run pays for 25,000 PRs.
            (1_000.0, 25_000.0, 6.0, "rate limit"),
        ];
        for (budget, per_run, runs, by) in cases {
            let p = project(150_000.0, &floor, budget);
            assert_eq!((p.prs_per_run, p.runs, p.limited_by), (per_run, runs, by), "{budget}");
        }
        let old = fixed(150_000.0, 25.0, "fixed");
        assert_eq!(old.runs, 6_000.0);
        assert!((old.days - 125.0).abs() < 1e-9);
    }
}
