//! What `backfill verify` found, and how it is said: a line per kind of
//! difference with the PR numbers (the first few, then a count), and one
//! JSON object per backfill. The rolling audit's words are in `audit`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::text::count;

/// PR numbers a line names before it counts the rest.
const NAMED: usize = 10;

/// A kind of difference between the copy and GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// On GitHub, not in the copy.
    PrsMissing,
    /// GitHub's `updatedAt` is not the copy's: changed since it was stored.
    PrsStale,
    ReviewsMissing,
    ReviewsExtra,
    /// Issue comments or review comments.
    CommentsMissing,
    CommentsExtra,
    /// In the copy, no longer on GitHub (GitHub removes spam PRs).
    PrsGone,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::PrsMissing,
        Kind::PrsStale,
        Kind::ReviewsMissing,
        Kind::ReviewsExtra,
        Kind::CommentsMissing,
        Kind::CommentsExtra,
        Kind::PrsGone,
    ];

    /// Its name in JSON and its column in `backfill_verifications`.
    pub fn key(self) -> &'static str {
        match self {
            Kind::PrsMissing => "prs_missing",
            Kind::PrsStale => "prs_stale",
            Kind::ReviewsMissing => "reviews_missing",
            Kind::ReviewsExtra => "reviews_extra",
            Kind::CommentsMissing => "comments_missing",
            Kind::CommentsExtra => "comments_extra",
            Kind::PrsGone => "prs_gone",
        }
    }

    pub(super) fn words(self) -> &'static str {
        match self {
            Kind::PrsMissing => "PRs missing",
            Kind::PrsStale => "PRs stale",
            Kind::ReviewsMissing => "reviews missing",
            Kind::ReviewsExtra => "reviews extra",
            Kind::CommentsMissing => "comments missing",
            Kind::CommentsExtra => "comments extra",
            Kind::PrsGone => "PRs GitHub no longer has",
        }
    }

    /// Whether refetching the PR whole mends it: all but a PR GitHub no
    /// longer has, which only deleting it from the copy does.
    pub fn refetched(self) -> bool {
        match self {
            Kind::PrsMissing
            | Kind::PrsStale
            | Kind::ReviewsMissing
            | Kind::ReviewsExtra
            | Kind::CommentsMissing
            | Kind::CommentsExtra => true,
            Kind::PrsGone => false,
        }
    }
}

/// The PRs of each kind of difference, in number order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Differences {
    by_kind: BTreeMap<Kind, BTreeSet<i32>>,
}

impl Differences {
    pub fn add(&mut self, kind: Kind, number: i32) {
        self.by_kind.entry(kind).or_default().insert(number);
    }

    /// The PRs of one kind.
    pub fn of(&self, kind: Kind) -> Vec<i32> {
        self.by_kind.get(&kind).map(|s| s.iter().copied().collect()).unwrap_or_default()
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.by_kind.get(&kind).map_or(0, BTreeSet::len)
    }

    /// Differences of every kind (a PR of two kinds counts twice).
    pub fn total(&self) -> usize {
        self.by_kind.values().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// The PRs a refetch mends, once each.
    pub fn to_refetch(&self) -> Vec<i32> {
        let kinds = self.by_kind.iter().filter(|(k, _)| k.refetched());
        kinds.flat_map(|(_, s)| s.iter().copied()).collect::<BTreeSet<i32>>().into_iter().collect()
    }

    /// Whether nothing differs but PRs GitHub no longer has.
    pub fn only_gone(&self) -> bool {
        Kind::ALL.iter().filter(|k| k.refetched()).all(|k| self.count(*k) == 0)
    }

    /// A line per kind found: `  reviews missing: 3: #3, #8, #12`.
    pub fn lines(&self) -> Vec<String> {
        let found = Kind::ALL.iter().filter(|k| self.count(**k) > 0);
        found.map(|k| format!("  {}: {}: {}", k.words(), self.count(*k), numbers(&self.of(*k)))).collect()
    }
}

/// Every kind, with its PRs (none: an empty list).
impl Serialize for Differences {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(Kind::ALL.len()))?;
        for kind in Kind::ALL {
            map.serialize_entry(kind.key(), &self.of(kind))?;
        }
        map.end()
    }
}

/// `#3, #8, #12`, and past `NAMED` numbers, how many more.
pub fn numbers(prs: &[i32]) -> String {
    let named: Vec<String> = prs.iter().take(NAMED).map(|n| format!("#{n}")).collect();
    match prs.len().saturating_sub(NAMED) {
        0 => named.join(", "),
        more => format!("{} and {more} more", named.join(", ")),
    }
}

/// What a repair did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// PRs refetched whole and stored.
    pub refetched: Vec<i32>,
    /// PRs GitHub no longer has, deleted from the copy (`--delete-missing`)...
    pub deleted: Vec<i32>,
    /// ...or kept.
    pub kept: Vec<i32>,
    /// What the verify after it found.
    pub left: Differences,
}

/// One backfill's verify: one JSON object of `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub repository: String,
    /// GitHub's count of the repository's PRs.
    pub prs_on_github: i64,
    /// PRs compared: listed on GitHub as far as the backfill reached, and
    /// stored there.
    pub prs_listed: usize,
    pub prs_stored: usize,
    /// Where the comparison stopped: the backfill's last PR while it is
    /// under way (none: the newest).
    pub through_pr: Option<i32>,
    pub differences: Differences,
    pub repair: Option<Repair>,
    /// The copy matches GitHub (after the repair, PRs it kept aside).
    pub matches: bool,
    pub points: i64,
}

impl Verification {
    /// Its lines: what was found, then what the repair did.
    pub fn lines(&self) -> Vec<String> {
        let name = &self.repository;
        let reach = self.through_pr.map_or_else(String::new, |n| format!(" up to #{n}, where the backfill is"));
        let sizes = format!("{} on GitHub{reach}, {} stored", self.prs_listed, self.prs_stored);
        let points = count(self.points, "point", "points");
        let mut out = match self.differences.total() {
            0 => vec![format!("{name}: matches GitHub: {sizes} ({points})")],
            n => {
                let head =
                    format!("{name}: {} from GitHub ({sizes}; {points}):", count(n, "difference", "differences"));
                std::iter::once(head).chain(self.differences.lines()).collect()
            }
        };
        if let Some(r) = &self.repair {
            out.extend(repair_lines(name, r));
        }
        out
    }
}

fn repair_lines(name: &str, r: &Repair) -> Vec<String> {
    let mut out = Vec::new();
    if !r.refetched.is_empty() {
        out.push(format!(
            "{name}: refetched {} whole: {}",
            count(r.refetched.len(), "PR", "PRs"),
            numbers(&r.refetched)
        ));
    }
    if !r.deleted.is_empty() {
        let prs = count(r.deleted.len(), "PR", "PRs");
        out.push(format!(
            "{name}: deleted {prs} GitHub no longer has, with reviews and comments: {}",
            numbers(&r.deleted)
        ));
    }
    if !r.kept.is_empty() {
        let prs = count(r.kept.len(), "PR", "PRs");
        out.push(format!(
            "{name}: kept {prs} GitHub no longer has (left as stored; --delete-missing removes them): {}",
            numbers(&r.kept)
        ));
    }
    match r.left.total() {
        0 => out.push(format!("{name}: matches GitHub after the repair")),
        _ if r.left.only_gone() && r.left.of(Kind::PrsGone) == r.kept => {
            out.push(format!("{name}: matches GitHub after the repair, but for the PRs kept"))
        }
        n => {
            out.push(format!("{name}: {} left after the repair:", count(n, "difference", "differences")));
            out.extend(r.left.lines());
        }
    }
    out
}

/// One verify, or one window of the rolling audit, as `history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationRow {
    pub at: DateTime<Utc>,
    /// `verify` or `audit`.
    pub kind: String,
    pub first_pr: Option<i32>,
    pub last_pr: Option<i32>,
    pub prs_checked: i32,
    pub found: BTreeMap<String, i64>,
    pub refetched: i32,
    pub deleted: i32,
    pub points: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_name_the_first_few_then_count() {
        let cases: [(Vec<i32>, &str); 3] = [
            (vec![3], "#3"),
            (vec![3, 8, 12], "#3, #8, #12"),
            ((1..=13).collect(), "#1, #2, #3, #4, #5, #6, #7, #8, #9, #10 and 3 more"),
        ];
        for (prs, want) in cases {
            assert_eq!(numbers(&prs), want, "{prs:?}");
        }
    }

    #[test]
    fn a_verification_says_a_line_per_kind_found() {
        let mut differences = Differences::default();
        for (kind, n) in [(Kind::ReviewsMissing, 8), (Kind::ReviewsMissing, 3), (Kind::PrsGone, 17)] {
            differences.add(kind, n);
        }
        let v = Verification {
            repository: "acme/widgets".into(),
            prs_on_github: 299,
            prs_listed: 299,
            prs_stored: 300,
            through_pr: None,
            differences,
            repair: None,
            matches: false,
            points: 3,
        };
        let want = [
            "acme/widgets: 3 differences from GitHub (299 on GitHub, 300 stored; 3 points):",
            "  reviews missing: 2: #3, #8",
            "  PRs GitHub no longer has: 1: #17",
        ];
        assert_eq!(v.lines(), want);
        let json = serde_json::to_value(&v).expect("JSON");
        assert_eq!(json["differences"]["reviews_missing"], serde_json::json!([3, 8]));
        assert_eq!(json["differences"]["prs_missing"], serde_json::json!([]));
        assert_eq!(v.differences.to_refetch(), [3, 8]);
    }
}
