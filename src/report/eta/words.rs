//! The ETA in words: a rough span, what bounds it, and the whole statement.

use std::time::Duration;

use super::{Bound, Eta};

/// A rough span as a person says it: `about 40 min`, `about 9 h`, `about 3 d`.
pub fn about(secs: u64) -> String {
    match secs {
        0..=5_399 => format!("about {} min", secs.div_ceil(60).max(1)),
        5_400..=172_799 => format!("about {} h", (secs as f64 / 3_600.0).round()),
        _ => format!("about {} d", (secs as f64 / 86_400.0).round()),
    }
}

impl Bound {
    pub fn words(self, per_run: Option<&str>) -> String {
        let with = |what: &str| match per_run {
            Some(p) => format!("{what} ({p})"),
            None => what.to_string(),
        };
        match self {
            Bound::Schedule => with("the schedule"),
            Bound::TimeBudget => with("the time budget per run"),
            Bound::Budget => "the rate-limit budget".to_string(),
        }
    }
}

impl Eta {
    /// The whole statement: both figures and what bounds them.
    pub fn sentence(&self) -> String {
        let e = match self {
            Eta::Done => return "completed".into(),
            Eta::NoHistory => return "no history yet: no chunk has stored PRs".into(),
            Eta::Estimate(e) => e,
        };
        let mut parts = vec![match (e.at_schedule_secs, e.prs_per_hour) {
            (Some(s), Some(rate)) => format!(
                "{} at this schedule ({rate} PRs/h over the last {}{})",
                about(s),
                crate::text::count(e.runs, "run", "runs"),
                e.completes_at
                    .map_or_else(String::new, |t| format!(", done around {}", t.format("%Y-%m-%d %H:%M UTC")))
            ),
            _ => format!("no pace yet ({} so far: it takes two)", crate::text::count(e.runs, "run", "runs")),
        }];
        if let Some(b) = e.at_budget_secs {
            parts.push(format!("{} if each run used the whole budget", about(b)));
        }
        if let Some(bound) = e.bound {
            parts.push(format!("bound by {}", bound.words(e.per_run.as_deref())));
        }
        parts.join("; ")
    }

    /// For a table cell: the expected time and what bounds it.
    pub fn short(&self) -> String {
        match self {
            Eta::Done => "-".into(),
            Eta::NoHistory => "no history".into(),
            Eta::Estimate(e) => {
                let bound = match e.bound {
                    Some(Bound::Budget) => "budget",
                    Some(Bound::TimeBudget) => "time budget",
                    Some(Bound::Schedule) => "schedule",
                    None => "pace unknown",
                };
                let at = e.at_schedule_secs.map_or_else(|| "?".to_string(), about);
                match e.at_budget_secs {
                    Some(b) => format!("{at} ({bound}; {} at full budget)", about(b).trim_start_matches("about ")),
                    None => format!("{at} ({bound})"),
                }
            }
        }
    }

    pub fn at_schedule(&self) -> Option<Duration> {
        match self {
            Eta::Estimate(e) => e.at_schedule_secs.map(Duration::from_secs),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_roughly() {
        let cases = [(0, "about 1 min"), (59, "about 1 min"), (61, "about 2 min"), (5_399, "about 90 min")];
        let more = [(5_400, "about 2 h"), (66_600, "about 19 h"), (172_800, "about 2 d"), (280_000, "about 3 d")];
        for (secs, want) in cases.into_iter().chain(more) {
            assert_eq!(about(secs), want, "{secs}");
        }
    }
}
