//! How many PRs the next chunk asks for: a pure function, so the rule can be
//! read and tested as a table.
//!
//! The rule:
//! 1. An explicit size (`--chunk-size`, else the repository's own override from
//!    `add --chunk-size`) wins, within 5-50.
//! 2. Otherwise start from the largest page that has worked for this repository
//!    (50 until a timeout teaches otherwise): a page costs about the same
//!    points whatever its size, so big pages are the cheap ones.
//! 3. Never ask for many more PRs than the repository has left (but at least 5).
//!    A count of stored PRs at or above GitHub's `totalCount` says nothing of
//!    what is left (PRs GitHub has since deleted, or stored before the cursor
//!    got there): it leaves the size alone.
//! 4. The expected cost is what this repository's chunks have cost per PR so
//!    far (0.06 points per PR until measured), at least one point. If the
//!    budget GitHub last reported, less a floor (1% of the limit, or the
//!    reserve kept for the credentials' other users when that is more),
//!    cannot pay for it, shrink the chunk until it can; below 5 PRs, wait
//!    for the reset.
//! 5. A repository whose smallest chunk costs more than a whole window
//!    fetches across resets: it starts whenever the budget has a point to spend.

use crate::budget::Budget;

pub const MIN_CHUNK: i64 = 5;
pub const MAX_CHUNK: i64 = 50;
/// Points per PR assumed before a repository's own cost is known: a page
/// and one follow-up request per 50 PRs, with room for heavier threads.
pub const DEFAULT_POINTS_PER_PR: f64 = 0.06;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanInput {
    /// `--chunk-size` or the repository's stored override.
    pub fixed_size: Option<i64>,
    /// The largest size known to work for this repository.
    pub ceiling: Option<i64>,
    /// PRs GitHub reported that are not stored yet (`None` when unknown).
    pub prs_left: Option<i64>,
    /// Points per PR measured on this repository.
    pub points_per_pr: Option<f64>,
    /// Budget as last reported by GitHub (a pool's, summed).
    pub budget: Option<Budget>,
    /// Points of it never spent (`--reserve`, for each credential of a pool).
    pub reserve: i64,
    /// Even the smallest chunk costs more than a whole window: its fetch
    /// waits for resets, so it needs only some budget to begin with.
    pub across_windows: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    Fetch {
        size: i64,
        expected_cost: i64,
    },
    /// Not enough budget for even the smallest chunk.
    WaitForReset {
        expected_cost: i64,
        remaining: i64,
    },
}

/// Why a backfill waits for the reset, saying when the reserve is what held.
pub fn wait_reason(expected_cost: i64, remaining: i64, reserve: i64) -> String {
    let held = match reserve {
        0 => String::new(),
        r if remaining <= r => format!(", all kept in reserve: the reserve of {r} points held"),
        r => format!(", {r} of them kept in reserve: the reserve held"),
    };
    format!("GitHub rate limit too low for the next chunk ({expected_cost} points needed, {remaining} left{held})")
}

pub fn expected_cost(size: i64, points_per_pr: f64) -> i64 {
    ((size as f64 * points_per_pr).ceil() as i64).max(1)
}

pub fn plan_chunk(input: &PlanInput) -> Plan {
    let per_pr = input.points_per_pr.filter(|p| p.is_finite() && *p > 0.0).unwrap_or(DEFAULT_POINTS_PER_PR);
    let mut size = match input.fixed_size {
        Some(n) => n.clamp(MIN_CHUNK, MAX_CHUNK),
        None => {
            let ceiling = input.ceiling.unwrap_or(MAX_CHUNK).clamp(MIN_CHUNK, MAX_CHUNK);
            match input.prs_left {
                Some(left) if left > 0 => ceiling.min(left.max(MIN_CHUNK)),
                Some(_) | None => ceiling,
            }
        }
    };
    let Some(Budget { remaining, limit, .. }) = input.budget else {
        return Plan::Fetch { size, expected_cost: expected_cost(size, per_pr) };
    };
    let spendable = remaining - (limit / 100).max(input.reserve);
    if input.across_windows {
        return match spendable {
            s if s >= 1 => Plan::Fetch { size, expected_cost: expected_cost(size, per_pr) },
            _ => Plan::WaitForReset { expected_cost: 1, remaining },
        };
    }
    while size > MIN_CHUNK && expected_cost(size, per_pr) > spendable {
        size -= 1;
    }
    let cost = expected_cost(size, per_pr);
    if cost > spendable {
        Plan::WaitForReset { expected_cost: cost, remaining }
    } else {
        Plan::Fetch { size, expected_cost: cost }
    }
}

/// The largest size to try for a repository after a chunk: after timeouts,
/// the size that finally worked; after a clean chunk at the ceiling, a tenth
/// more (at least one PR) up to 50, so a repository grows back slowly to
/// full pages instead of timing out again at once.
pub fn next_ceiling(ceiling: Option<i64>, used: i64, shrunk: bool) -> Option<i64> {
    if shrunk {
        return Some(used.clamp(MIN_CHUNK, MAX_CHUNK));
    }
    let c = ceiling?;
    if used >= c {
        Some((c + (c / 10).max(1)).min(MAX_CHUNK))
    } else {
        Some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_shrink_at_once_and_grow_back_slowly() {
        let cases = [
            // never timed out: no ceiling
            (None, 50, false, None),
            // a timeout remembers the size that worked
            (None, 25, true, Some(25)),
            (Some(25), 12, true, Some(12)),
            (Some(12), 3, true, Some(5)),
            // clean chunks at the ceiling grow it by a tenth, at least one
            (Some(5), 5, false, Some(6)),
            (Some(25), 25, false, Some(27)),
            (Some(48), 48, false, Some(50)),
            (Some(50), 50, false, Some(50)),
            // a chunk below the ceiling (few PRs left, a low budget) proves nothing
            (Some(25), 10, false, Some(25)),
        ];
        for (ceiling, used, shrunk, want) in cases {
            assert_eq!(next_ceiling(ceiling, used, shrunk), want, "{ceiling:?} {used} {shrunk}");
        }
    }

    #[test]
    fn a_wait_says_whether_the_reserve_held() {
        let cases = [
            (2, 1, 0, "(2 points needed, 1 left)"),
            (2, 21, 20, "(2 points needed, 21 left, 20 of them kept in reserve: the reserve held)"),
            (1, 20, 20, "(1 points needed, 20 left, all kept in reserve: the reserve of 20 points held)"),
        ];
        for (cost, remaining, reserve, want) in cases {
            let said = wait_reason(cost, remaining, reserve);
            assert!(said.starts_with("GitHub rate limit too low for the next chunk") && said.ends_with(want), "{said}");
        }
    }

    fn input(
        fixed: Option<i64>,
        ceiling: Option<i64>,
        left: Option<i64>,
        per_pr: Option<f64>,
        // (remaining, limit)
        budget: Option<(i64, i64)>,
    ) -> PlanInput {
        let budget = budget.map(|(remaining, limit)| Budget { limit, remaining, used: None, reset_at: None });
        PlanInput { fixed_size: fixed, ceiling, prs_left: left, points_per_pr: per_pr, budget, ..PlanInput::default() }
    }

    #[test]
    fn plans_follow_the_rule() {
        use Plan::*;
        let cases = [
            // nothing known: the largest page
            (input(None, None, None, None, None), Fetch { size: 50, expected_cost: 3 }),
            // an explicit size wins, clamped to 5..=50
            (input(Some(20), None, Some(1_000), None, Some((5_000, 5_000))), Fetch { size: 20, expected_cost: 2 }),
            (input(Some(2), None, None, None, None), Fetch { size: 5, expected_cost: 1 }),
            (input(Some(500), None, None, None, None), Fetch { size: 50, expected_cost: 3 }),
            // a learned ceiling after timeouts
            (input(None, Some(12), Some(1_000), None, None), Fetch { size: 12, expected_cost: 1 }),
            // few PRs left: ask for those, at least 5
            (input(None, None, Some(17), None, None), Fetch { size: 17, expected_cost: 2 }),
            (input(None, None, Some(2), None, None), Fetch { size: 5, expected_cost: 1 }),
            // more stored than GitHub counts (deleted spam, rows stored
            // before the cursor got there): the count says nothing of what is left
            (input(None, None, Some(-3), None, None), Fetch { size: 50, expected_cost: 3 }),
            (input(None, None, Some(0), None, None), Fetch { size: 50, expected_cost: 3 }),
            (input(None, None, Some(-1_500), Some(0.02), Some((5_000, 5_000))), Fetch { size: 50, expected_cost: 1 }),
            // a costly repository shrinks the chunk to what the budget pays for
            (input(None, None, None, Some(1.0), Some((80, 5_000))), Fetch { size: 30, expected_cost: 30 }),
            // budget below the reserve: wait
            (input(None, None, None, None, Some((40, 5_000))), WaitForReset { expected_cost: 1, remaining: 40 }),
            (input(None, None, None, None, Some((0, 1_000))), WaitForReset { expected_cost: 1, remaining: 0 }),
            // a tiny budget (tests, small tokens) still works to its last point
            (input(None, None, None, None, Some((1, 6))), Fetch { size: 16, expected_cost: 1 }),
            // nonsense measurements fall back to the default
            (input(None, None, None, Some(f64::NAN), None), Fetch { size: 50, expected_cost: 3 }),
            (input(None, None, None, Some(-1.0), None), Fetch { size: 50, expected_cost: 3 }),
            // a chunk bigger than any window: no need to fit, only to begin
            (
                PlanInput { across_windows: true, ..input(None, Some(5), None, Some(1.6), Some((3, 5))) },
                Fetch { size: 5, expected_cost: 8 },
            ),
            (
                PlanInput { across_windows: true, ..input(None, Some(5), None, Some(1.6), Some((0, 5))) },
                WaitForReset { expected_cost: 1, remaining: 0 },
            ),
            // a reserve above 1% is the floor: what is spent stops there
            (
                PlanInput { reserve: 20, ..input(None, None, None, None, Some((40, 40))) },
                Fetch { size: 50, expected_cost: 3 },
            ),
            (
                PlanInput { reserve: 20, ..input(None, None, None, Some(1.0), Some((40, 40))) },
                Fetch { size: 20, expected_cost: 20 },
            ),
            (
                PlanInput { reserve: 20, ..input(None, None, None, None, Some((20, 40))) },
                WaitForReset { expected_cost: 1, remaining: 20 },
            ),
            // one below 1% changes nothing
            (
                PlanInput { reserve: 10, ..input(None, None, None, None, Some((40, 5_000))) },
                WaitForReset { expected_cost: 1, remaining: 40 },
            ),
            (
                PlanInput { reserve: 10, ..input(None, None, None, None, Some((60, 5_000))) },
                Fetch { size: 50, expected_cost: 3 },
            ),
            (
                PlanInput { across_windows: true, reserve: 3, ..input(None, Some(5), None, Some(1.6), Some((3, 5))) },
                WaitForReset { expected_cost: 1, remaining: 3 },
            ),
        ];
        for (i, (given, want)) in cases.iter().enumerate() {
            assert_eq!(&plan_chunk(given), want, "case {i}: {given:?}");
        }
    }
}
