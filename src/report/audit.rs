//! The rolling audit's words: a line per window a run audits, and a
//! backfill's last full audit as `status`, its page and `--json` show it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::verify::{numbers, Differences, Kind, Repair};
use crate::text::count;

/// One window of the rolling audit, as the run says it.
#[derive(Debug, Clone)]
pub struct AuditWindow<'a> {
    pub repository: &'a str,
    pub first_pr: Option<i32>,
    pub last_pr: Option<i32>,
    pub prs_checked: usize,
    pub found: &'a Differences,
    pub repair: &'a Repair,
    pub points: i64,
    /// The window reached the newest PR: the next begins a new pass.
    pub pass_done: bool,
}

impl AuditWindow<'_> {
    /// `acme/widgets: audited #1-#100 (100 PRs, 1 point): 2 differences (reviews missing: #3, #8), refetched 2 PRs whole`.
    pub fn line(&self) -> String {
        let span = match (self.first_pr, self.last_pr) {
            (Some(a), Some(b)) => format!(" #{a}-#{b}"),
            _ => String::new(),
        };
        let head = format!(
            "{}: audited{span} ({}, {})",
            self.repository,
            count(self.prs_checked, "PR", "PRs"),
            count(self.points, "point", "points")
        );
        let mut said = match self.found.total() {
            0 => "matched GitHub".to_string(),
            n => {
                let kinds = Kind::ALL.iter().filter(|k| self.found.count(**k) > 0);
                let kinds: Vec<String> =
                    kinds.map(|k| format!("{}: {}", k.words(), numbers(&self.found.of(*k)))).collect();
                format!("{} ({})", count(n, "difference", "differences"), kinds.join("; "))
            }
        };
        if !self.repair.refetched.is_empty() {
            said.push_str(&format!(", refetched {} whole", count(self.repair.refetched.len(), "PR", "PRs")));
        }
        if !self.repair.kept.is_empty() {
            said.push_str(&format!(", kept {} GitHub no longer has", count(self.repair.kept.len(), "PR", "PRs")));
        }
        let end = if self.pass_done { "; the audit reached the newest PR and starts over next run" } else { "" };
        format!("{head}: {said}{end}")
    }
}

/// A backfill's last full audit (a whole `verify`, or a rolling audit's
/// pass that reached the newest PR), with what it found over the pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audited {
    /// When the pass ended.
    pub at: DateTime<Utc>,
    pub prs_checked: i64,
    /// Differences found, by kind (`Kind::key`).
    pub found: BTreeMap<String, i64>,
    /// Every difference a refetch mends was refetched.
    pub repaired: bool,
}

impl Audited {
    pub fn total(&self) -> i64 {
        self.found.values().sum()
    }

    /// For a table cell: `2026-12-06 10:00 matched`, `... 5 found, repaired`.
    pub fn short(&self) -> String {
        let when = self.at.format("%Y-%m-%d %H:%M");
        match (self.total(), self.repaired) {
            (0, _) => format!("{when} matched"),
            (n, true) => format!("{when} {n} found, repaired"),
            (n, false) => format!("{when} {n} found"),
        }
    }

    /// In words: `2026-12-06 10:00 UTC: 300 PRs, 2 differences (reviews missing 2), repaired`.
    pub fn sentence(&self) -> String {
        let when = self.at.format("%Y-%m-%d %H:%M UTC");
        let prs = count(self.prs_checked, "PR", "PRs");
        let found: Vec<String> = Kind::ALL
            .iter()
            .filter_map(|k| self.found.get(k.key()).filter(|n| **n > 0).map(|n| format!("{} {n}", k.words())))
            .collect();
        match (self.total(), self.repaired) {
            (0, _) => format!("{when}: {prs}, all matched"),
            (n, repaired) => format!(
                "{when}: {prs}, {} ({}){}",
                count(n, "difference", "differences"),
                found.join(", "),
                if repaired { ", repaired" } else { ", not repaired" }
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_last_audit_is_said_short_and_in_words() {
        let at =
            DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        let audited = |found: &[(&str, i64)], repaired| Audited {
            at,
            prs_checked: 300,
            found: found.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            repaired,
        };
        type Case<'a> = (&'a [(&'a str, i64)], bool, &'a str, &'a str);
        // (found, repaired) -> (short, sentence)
        let cases: [Case; 3] = [
            (&[("prs_missing", 0)], true, "2026-12-06 10:00 matched", "2026-12-06 10:00 UTC: 300 PRs, all matched"),
            (
                &[("reviews_missing", 2), ("prs_stale", 1)],
                true,
                "2026-12-06 10:00 3 found, repaired",
                "2026-12-06 10:00 UTC: 300 PRs, 3 differences (PRs stale 1, reviews missing 2), repaired",
            ),
            (
                &[("prs_gone", 1)],
                false,
                "2026-12-06 10:00 1 found",
                "2026-12-06 10:00 UTC: 300 PRs, 1 difference (PRs GitHub no longer has 1), not repaired",
            ),
        ];
        for (found, repaired, short, sentence) in cases {
            let a = audited(found, repaired);
            assert_eq!((a.short(), a.sentence()), (short.to_string(), sentence.to_string()), "{found:?}");
        }
    }

    #[test]
    fn an_audit_window_is_one_line() {
        let mut found = Differences::default();
        found.add(Kind::ReviewsMissing, 8);
        let repair = Repair { refetched: vec![8], ..Repair::default() };
        let window = |found: &Differences, repair: &Repair, pass_done| {
            AuditWindow {
                repository: "acme/widgets",
                first_pr: Some(1),
                last_pr: Some(120),
                prs_checked: 100,
                found: &found.clone(),
                repair: &repair.clone(),
                points: 1,
                pass_done,
            }
            .line()
        };
        let none = (Differences::default(), Repair::default());
        assert_eq!(window(&none.0, &none.1, false), "acme/widgets: audited #1-#120 (100 PRs, 1 point): matched GitHub");
        assert_eq!(
            window(&found, &repair, true),
            "acme/widgets: audited #1-#120 (100 PRs, 1 point): 1 difference (reviews missing: #8), refetched 1 PR \
             whole; the audit reached the newest PR and starts over next run"
        );
    }
}
