//! The comparison at the heart of `backfill verify` and the rolling audit:
//! what GitHub counts of each PR against what the copy holds, as a pure
//! function a test can feed with rows.
//!
//! A PR GitHub has and the copy lacks is missing; one the copy has and
//! GitHub no longer does (GitHub removes spam) is gone. For a PR both have,
//! a different `updatedAt` makes it stale, and fewer or more reviews, issue
//! comments or review comments than GitHub counts make them missing or extra.
//! Only PRs inside the span compared count, on both sides.

use std::collections::BTreeMap;

use crate::github::verify::RemotePr;
use crate::report::verify::{Differences, Kind};
use crate::store::verify::{Span, StoredPr};

/// The differences between GitHub's PRs and the stored ones, inside `span`.
pub fn compare(stored: &[StoredPr], remote: &[RemotePr], span: Span) -> Differences {
    let mut found = Differences::default();
    let stored: BTreeMap<i32, &StoredPr> =
        stored.iter().filter(|p| span.holds(p.number)).map(|p| (p.number, p)).collect();
    let remote: BTreeMap<i32, &RemotePr> =
        remote.iter().filter(|p| span.holds(p.number)).map(|p| (p.number, p)).collect();
    for number in stored.keys().filter(|n| !remote.contains_key(n)) {
        found.add(Kind::PrsGone, *number);
    }
    for (number, github) in &remote {
        let Some(copy) = stored.get(number) else {
            found.add(Kind::PrsMissing, *number);
            continue;
        };
        if copy.updated_at != Some(github.updated_at) {
            found.add(Kind::PrsStale, *number);
        }
        let counts = [
            (Kind::ReviewsMissing, Kind::ReviewsExtra, copy.reviews, Some(github.reviews)),
            (Kind::CommentsMissing, Kind::CommentsExtra, copy.issue_comments, Some(github.issue_comments)),
            // Unknown for a PR with more reviews than were counted.
            (Kind::CommentsMissing, Kind::CommentsExtra, copy.review_comments, github.review_comments),
        ];
        for (missing, extra, have, want) in counts {
            match want.map(|want| have.cmp(&want)) {
                Some(std::cmp::Ordering::Less) => found.add(missing, *number),
                Some(std::cmp::Ordering::Greater) => found.add(extra, *number),
                Some(std::cmp::Ordering::Equal) | None => {}
            }
        }
    }
    found
}

/// What a rolling audit's window covers: after the last PR the pass
/// audited, through the window's last PR, or to the newest when the window
/// reached it (so that a PR stored after GitHub's last is seen as gone).
pub fn window_span(after: Option<i32>, listed: &[RemotePr], reached_newest: bool) -> Span {
    let through = match reached_newest {
        true => None,
        false => listed.last().map(|p| p.number).or(after),
    };
    Span { after, through }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000)
    }

    /// (number, days after t0 it was updated, reviews, issue comments, review comments)
    type Row = (i32, i64, i64, i64, Option<i64>);

    fn github(rows: &[Row]) -> Vec<RemotePr> {
        rows.iter()
            .map(|&(number, days, reviews, issue_comments, review_comments)| RemotePr {
                number,
                id: format!("PR_{number}"),
                updated_at: t0() + Duration::days(days),
                reviews,
                review_comments,
                issue_comments,
            })
            .collect()
    }

    fn copy(rows: &[Row]) -> Vec<StoredPr> {
        rows.iter()
            .map(|&(number, days, reviews, issue_comments, review_comments)| StoredPr {
                number,
                updated_at: Some(t0() + Duration::days(days)),
                reviews,
                issue_comments,
                review_comments: review_comments.unwrap_or(0),
            })
            .collect()
    }

    #[test]
    fn each_kind_of_difference_is_found_and_only_inside_the_span() {
        let all = Span::default();
        let pr = |n| (n, 0, 2, 3, Some(1));
        type Case<'a> = (&'a str, Vec<Row>, Vec<Row>, Span, &'a [(Kind, &'a [i32])]);
        // (what, stored, on GitHub, span) -> differences by kind
        let cases: Vec<Case> = vec![
            ("the same", vec![pr(1), pr(2)], vec![pr(1), pr(2)], all, &[]),
            ("none at all", vec![], vec![], all, &[]),
            ("a PR missing", vec![pr(1)], vec![pr(1), pr(2)], all, &[(Kind::PrsMissing, &[2])]),
            ("a PR gone from GitHub", vec![pr(1), pr(2)], vec![pr(2)], all, &[(Kind::PrsGone, &[1])]),
            ("stale", vec![(1, -400, 2, 3, Some(1))], vec![pr(1)], all, &[(Kind::PrsStale, &[1])]),
            ("a review missing", vec![(1, 0, 1, 3, Some(1))], vec![pr(1)], all, &[(Kind::ReviewsMissing, &[1])]),
            ("a review extra", vec![(1, 0, 3, 3, Some(1))], vec![pr(1)], all, &[(Kind::ReviewsExtra, &[1])]),
            ("issue comments missing", vec![(1, 0, 2, 0, Some(1))], vec![pr(1)], all, &[(Kind::CommentsMissing, &[1])]),
            ("a review comment extra", vec![(1, 0, 2, 3, Some(2))], vec![pr(1)], all, &[(Kind::CommentsExtra, &[1])]),
            // more reviews than counted: review comments are not compared
            ("review comments uncounted", vec![(1, 0, 2, 3, Some(9))], vec![(1, 0, 2, 3, None)], all, &[]),
            (
                "a PR of several kinds",
                vec![(5, -1, 0, 0, Some(0))],
                vec![pr(5)],
                all,
                &[(Kind::PrsStale, &[5]), (Kind::ReviewsMissing, &[5]), (Kind::CommentsMissing, &[5])],
            ),
            (
                "outside the span, nothing counts",
                vec![pr(1), pr(4)],
                vec![pr(2), pr(3), pr(4), pr(9)],
                Span { after: Some(2), through: Some(8) },
                &[(Kind::PrsMissing, &[3])],
            ),
        ];
        for (what, stored, remote, span, want) in cases {
            let got = compare(&copy(&stored), &github(&remote), span);
            let mut expected = Differences::default();
            for (kind, numbers) in want {
                for n in *numbers {
                    expected.add(*kind, *n);
                }
            }
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn a_window_reaches_the_newest_or_stops_at_its_last_pr() {
        let listed = github(&[(4, 0, 0, 0, Some(0)), (7, 0, 0, 0, Some(0))]);
        // (after, listed, reached the newest) -> span
        let cases = [
            (None, &listed[..], false, Span { after: None, through: Some(7) }),
            (Some(3), &listed[..], true, Span { after: Some(3), through: None }),
            (Some(7), &[][..], false, Span { after: Some(7), through: Some(7) }),
            (Some(7), &[][..], true, Span { after: Some(7), through: None }),
        ];
        for (after, listed, newest, want) in cases {
            assert_eq!(window_span(after, listed, newest), want, "{after:?} {newest}");
        }
    }
}
