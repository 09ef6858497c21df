//! A client's credentials, a lane each: its transport, its pacing and the
//! budget GitHub last stated for it. The rules of a pool live here, as
//! pure functions over the budgets (table-tested below):
//!
//! - A credential is **spent** while its window lasts and it has no more
//!   than the reserve left (`spent_until`): nothing is sent on it then.
//! - Requests stay on the credential in use until it is spent, then move to
//!   the next not spent, in the order given (`choose`): each window starts
//!   at its first request, so moving sooner would only start more clocks.
//! - Two tokens of one account share its budget: the next token's first
//!   answer then shows the spent one's window, its use carried on
//!   (`same_account`); both are spent until that reset.
//! - A chunk may span the pool, so it is planned on the whole pool's
//!   budget (`headroom`); a request goes out on one credential, so it may
//!   cost no more than that one's (`spendable`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::client::ClientSettings;
use super::credential::{Credential, CredentialName};
use super::error::GithubError;
use super::pacing::Pacer;
use super::transport::Transport;
use crate::budget::{Budget, CredentialBudget, Headroom};

pub(super) struct Lane {
    pub(super) name: CredentialName,
    pub(super) transport: Transport,
    pub(super) pacer: Pacer,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    budget: Option<Budget>,
    at: Option<DateTime<Utc>>,
    /// Read from the budgets kept by the last run, not stated in this one:
    /// no request's cost is measured against it.
    saved: bool,
}

pub(super) struct Lanes {
    lanes: Vec<Lane>,
    reserve: i64,
    in_use: AtomicUsize,
    /// Lanes found to share one account's budget, each pair said once.
    twins: Mutex<Vec<(usize, usize)>>,
}

/// No credential may send until `reset_at`, the earliest of their resets;
/// `reserve_held`: some still have points, all of them the reserve's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AllSpent {
    pub(super) reset_at: DateTime<Utc>,
    pub(super) reserve_held: bool,
}

/// The lane the next request goes out on, and the one it moves from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pick {
    pub(super) lane: usize,
    pub(super) left: Option<usize>,
}

/// When a budget has no point to spend beyond the reserve: until its reset.
fn spent_until(budget: Option<Budget>, reserve: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let b = budget?;
    let reset_at = b.reset_at.filter(|r| *r > now)?;
    (b.remaining <= reserve).then_some(reset_at)
}

/// The first lane not spent from `from` on, round the pool; or, all spent,
/// when the first comes back.
fn choose(budgets: &[Option<Budget>], from: usize, reserve: i64, now: DateTime<Utc>) -> Result<usize, AllSpent> {
    let n = budgets.len();
    let order = (0..n).map(|k| (from + k) % n);
    let mut earliest: Option<DateTime<Utc>> = None;
    for i in order {
        match spent_until(budgets[i], reserve, now) {
            None => return Ok(i),
            Some(reset) => earliest = Some(earliest.map_or(reset, |e| e.min(reset))),
        }
    }
    let reserve_held = reserve > 0 && budgets.iter().flatten().any(|b| b.remaining > 0);
    Err(AllSpent { reset_at: earliest.unwrap_or(now), reserve_held })
}

/// Whether `first`, a credential's first answer in its window, continues
/// the budget of `spent`: the same window and limit, its use carried on
/// from where the spent one's stopped. One account, two tokens.
fn same_account(spent: Budget, first: Budget) -> bool {
    let used_on = matches!((spent.used, first.used), (Some(a), Some(b)) if b >= a);
    spent.reset_at.is_some() && spent.reset_at == first.reset_at && spent.limit == first.limit && used_on
}

/// The pool's budget for planning: the credentials not spent, summed (one
/// whose window has passed, or never seen, counted whole at its own limit
/// or the largest seen), with the reserve of each; all spent, theirs, so
/// that nothing is spendable. Its reset is the earliest of the windows
/// under way. `None` before any budget is known.
fn headroom(budgets: &[Option<Budget>], reserve: i64, now: DateTime<Utc>) -> Option<Headroom> {
    let largest = budgets.iter().flatten().map(|b| b.limit).max()?;
    let current = |b: &Option<Budget>| b.filter(|b| b.current_at(now));
    let usable: Vec<Budget> = budgets
        .iter()
        .filter(|b| spent_until(**b, reserve, now).is_none())
        .map(|b| {
            current(b).unwrap_or_else(|| {
                let limit = b.map_or(largest, |b| b.limit);
                Budget { limit, remaining: limit, used: None, reset_at: None }
            })
        })
        .collect();
    let counted = match usable.is_empty() {
        true => budgets.iter().filter_map(current).collect(),
        false => usable,
    };
    let first = *counted.first()?;
    let sum = |f: fn(&Budget) -> i64| counted.iter().map(f).sum::<i64>();
    let reset_at = budgets.iter().filter_map(current).filter_map(|b| b.reset_at).min();
    let budget = match counted.len() {
        1 => Budget { reset_at, ..first },
        _ => Budget { limit: sum(|b| b.limit), remaining: sum(|b| b.remaining), used: None, reset_at },
    };
    Some(Headroom { budget, reserve: reserve * counted.len() as i64 })
}

impl Lanes {
    pub(super) fn new(
        graphql_url: &str,
        rest_url: &str,
        credentials: &[Credential],
        settings: &ClientSettings,
    ) -> Result<Lanes, GithubError> {
        if credentials.is_empty() {
            return Err(GithubError::Other("no credential to send requests with".into()));
        }
        let lanes = credentials
            .iter()
            .map(|c| {
                Ok(Lane {
                    name: c.name(),
                    transport: Transport::new(graphql_url, rest_url, c)?,
                    pacer: Pacer::new(settings.request_interval, settings.points_per_minute, settings.shared_token),
                    seen: Mutex::new(Seen::default()),
                })
            })
            .collect::<Result<Vec<Lane>, GithubError>>()?;
        Ok(Lanes {
            lanes,
            reserve: settings.reserve.max(0),
            in_use: AtomicUsize::new(0),
            twins: Mutex::new(Vec::new()),
        })
    }

    pub(super) fn lane(&self, i: usize) -> &Lane {
        &self.lanes[i.min(self.lanes.len() - 1)]
    }

    pub(super) fn len(&self) -> usize {
        self.lanes.len()
    }

    pub(super) fn reserve(&self) -> i64 {
        self.reserve
    }

    /// The lane the last request went out on.
    pub(super) fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    fn seen(&self, i: usize) -> MutexGuard<'_, Seen> {
        self.lane(i).seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn budget_of(&self, i: usize) -> Option<Budget> {
        self.seen(i).budget
    }

    fn budgets(&self) -> Vec<Option<Budget>> {
        (0..self.len()).map(|i| self.budget_of(i)).collect()
    }

    /// The lane for the next request (see `choose`).
    pub(super) fn pick(&self, now: DateTime<Utc>) -> Result<Pick, AllSpent> {
        let lane = choose(&self.budgets(), self.in_use(), self.reserve, now)?;
        let before = self.in_use.swap(lane, Ordering::Relaxed);
        Ok(Pick { lane, left: (before != lane).then_some(before) })
    }

    pub(super) fn spent_until(&self, i: usize, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        spent_until(self.budget_of(i), self.reserve, now)
    }

    /// Takes in the budget an answer on lane `i` stated. Returns the drop
    /// in `remaining` since the lane's last answer of the window (what the
    /// request cost; none for a window's first answer), and, when this
    /// first answer shows the lane shares a spent lane's account, that
    /// lane (once per pair): both are then spent until its reset.
    pub(super) fn record(&self, i: usize, budget: Budget, now: DateTime<Utc>) -> (Option<i64>, Option<usize>) {
        let prev = {
            let mut seen = self.seen(i);
            let prev = seen.budget.filter(|_| !seen.saved).filter(|p| p.reset_at == budget.reset_at);
            *seen = Seen { budget: Some(budget), at: Some(now), saved: false };
            prev
        };
        let drop = prev.map(|p| (p.remaining - budget.remaining).max(0));
        if prev.is_some() {
            return (drop, None);
        }
        let twin = (0..self.len()).find(|j| {
            let spent = self.budget_of(*j).filter(|_| self.spent_until(*j, now).is_some());
            *j != i && spent.is_some_and(|s| same_account(s, budget))
        });
        let Some(j) = twin else { return (drop, None) };
        self.mark_spent(i, budget.reset_at, now);
        let mut twins = self.twins.lock().unwrap_or_else(|e| e.into_inner());
        let pair = (i.min(j), i.max(j));
        match twins.contains(&pair) {
            true => (drop, None),
            false => {
                twins.push(pair);
                (drop, Some(j))
            }
        }
    }

    /// GitHub refused a request on lane `i` for the primary limit: nothing
    /// more goes out on it until the reset (an hour, if GitHub did not say).
    pub(super) fn mark_spent(&self, i: usize, reset_at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        let reset_at = reset_at.unwrap_or(now + chrono::Duration::hours(1));
        let mut seen = self.seen(i);
        let known = seen.budget.unwrap_or(Budget { limit: 0, remaining: 0, used: None, reset_at: None });
        seen.budget = Some(Budget { remaining: 0, reset_at: Some(reset_at), ..known });
        seen.at = Some(now);
        seen.saved = false;
    }

    pub(super) fn headroom(&self, now: DateTime<Utc>) -> Option<Headroom> {
        headroom(&self.budgets(), self.reserve, now)
    }

    /// What the next request may cost: the budget left on the lane it goes
    /// out on, less the reserve (none while that lane's window is unknown).
    pub(super) fn spendable(&self, now: DateTime<Utc>) -> Option<i64> {
        let budgets = self.budgets();
        let lane = choose(&budgets, self.in_use(), self.reserve, now).unwrap_or_else(|_| self.in_use());
        let budget = budgets[lane].filter(|b| b.current_at(now))?;
        Some((budget.remaining - self.reserve).max(0))
    }

    pub(super) fn credentials(&self) -> Vec<CredentialBudget> {
        (0..self.len())
            .map(|i| {
                let seen = *self.seen(i);
                CredentialBudget { name: self.lane(i).name.label(), budget: seen.budget, seen_at: seen.at }
            })
            .collect()
    }

    /// Takes in the budgets a run before kept, for the lanes this run has
    /// not heard of yet and whose windows still last: a credential spent
    /// until its reset is not asked again before it.
    pub(super) fn seed(&self, saved: &[CredentialBudget], now: DateTime<Utc>) {
        for i in 0..self.len() {
            let label = self.lane(i).name.label();
            let Some(kept) = saved.iter().find(|c| c.name == label) else { continue };
            let mut seen = self.seen(i);
            if let (None, Some(budget)) = (seen.budget, kept.budget.filter(|b| b.reset_at.is_some_and(|r| r > now))) {
                *seen = Seen { budget: Some(budget), at: kept.seen_at, saved: true };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
        Some(now + chrono::Duration::seconds(secs))
    }

    /// A budget of `limit` with `remaining` left and `used` used, resetting in `reset_in` seconds.
    fn b(now: DateTime<Utc>, limit: i64, remaining: i64, used: i64, reset_in: i64) -> Option<Budget> {
        Some(Budget { limit, remaining, used: Some(used), reset_at: at(now, reset_in) })
    }

    #[test]
    fn requests_stay_on_a_credential_until_it_is_spent() {
        let now = Utc::now();
        let held = |reset_in: i64, reserve_held: bool| {
            Err(AllSpent { reset_at: now + chrono::Duration::seconds(reset_in), reserve_held })
        };
        // (budgets, the lane in use, reserve, the lane chosen)
        type Case = (Vec<Option<Budget>>, usize, i64, Result<usize, AllSpent>);
        let cases: Vec<Case> = vec![
            (vec![None], 0, 0, Ok(0)),
            (vec![b(now, 20, 5, 15, 60), None, None], 0, 0, Ok(0)),
            (vec![b(now, 20, 0, 20, 60), None, None], 0, 0, Ok(1)),
            (vec![b(now, 20, 0, 20, 60), b(now, 20, 0, 20, 90), None], 1, 0, Ok(2)),
            // a window that passed is a whole budget again, but the lane in use goes on
            (vec![b(now, 20, 0, 20, -1), b(now, 20, 0, 20, 90), b(now, 20, 3, 17, 90)], 2, 0, Ok(2)),
            (vec![b(now, 20, 0, 20, -1), b(now, 20, 0, 20, 90), b(now, 20, 0, 20, 90)], 2, 0, Ok(0)),
            // all spent: the earliest reset
            (vec![b(now, 20, 0, 20, 90), b(now, 20, 0, 20, 30)], 1, 0, held(30, false)),
            // the reserve counts as spent
            (vec![b(now, 40, 20, 20, 60)], 0, 20, held(60, true)),
            (vec![b(now, 40, 21, 19, 60)], 0, 20, Ok(0)),
            (vec![b(now, 40, 20, 20, 60), b(now, 40, 35, 5, 60)], 0, 20, Ok(1)),
            // a spent budget without a reset says nothing about when
            (vec![Some(Budget { limit: 5, remaining: 0, used: None, reset_at: None })], 0, 0, Ok(0)),
        ];
        for (i, (budgets, from, reserve, want)) in cases.into_iter().enumerate() {
            assert_eq!(choose(&budgets, from, reserve, now), want, "case {i}: {budgets:?}");
        }
    }

    #[test]
    fn one_account_is_told_by_its_window_and_its_use() {
        let now = Utc::now();
        let spent = b(now, 20, 0, 20, 60).unwrap_or_else(|| unreachable!());
        // (the next token's first answer, the same account)
        let cases = [
            (b(now, 20, 0, 20, 60), true),
            (b(now, 20, 0, 21, 60), true),
            // a fresh account whose window began in the same second
            (b(now, 20, 19, 1, 60), false),
            (b(now, 20, 0, 20, 61), false),
            (b(now, 5_000, 0, 5_000, 60), false),
            (Some(Budget { used: None, ..spent }), false),
        ];
        for (first, want) in cases {
            let first = first.unwrap_or_else(|| unreachable!());
            assert_eq!(same_account(spent, first), want, "{first:?}");
        }
    }

    #[test]
    fn a_chunk_is_planned_on_the_whole_pools_budget() {
        let now = Utc::now();
        let whole = |limit: i64, remaining: i64, reset_in: Option<i64>, reserve: i64| {
            Some(Headroom {
                budget: Budget { limit, remaining, used: None, reset_at: reset_in.and_then(|s| at(now, s)) },
                reserve,
            })
        };
        // (budgets, reserve, headroom)
        let cases: Vec<(Vec<Option<Budget>>, i64, Option<Headroom>)> = vec![
            (vec![None, None], 0, None),
            // one credential: its own budget, `used` and all
            (
                vec![b(now, 5_000, 4_000, 1_000, 60)],
                0,
                Some(Headroom {
                    budget: b(now, 5_000, 4_000, 1_000, 60).unwrap_or_else(|| unreachable!()),
                    reserve: 0,
                }),
            ),
            // a spent one counts nothing; one not seen yet, a whole hour like the others
            (vec![b(now, 20, 0, 20, 60), b(now, 20, 12, 8, 90), None], 0, whole(40, 32, Some(60), 0)),
            // a window that passed: whole again
            (vec![b(now, 20, 0, 20, -5), b(now, 20, 0, 20, 90)], 0, whole(20, 20, Some(90), 0)),
            // all spent: theirs, nothing spendable, the earliest reset
            (vec![b(now, 20, 0, 20, 60), b(now, 20, 0, 20, 30)], 0, whole(40, 0, Some(30), 0)),
            // a reserve per credential counted
            (vec![b(now, 40, 30, 10, 60), b(now, 40, 35, 5, 60)], 20, whole(80, 65, Some(60), 40)),
            (
                vec![b(now, 40, 30, 10, 60), b(now, 40, 20, 20, 60)],
                20,
                whole(40, 30, Some(60), 20).map(|h| Headroom { budget: Budget { used: Some(10), ..h.budget }, ..h }),
            ),
        ];
        for (i, (budgets, reserve, want)) in cases.into_iter().enumerate() {
            assert_eq!(headroom(&budgets, reserve, now), want, "case {i}: {budgets:?}");
        }
        assert_eq!(whole(40, 30, None, 20).map(|h| h.spendable()), Some(10));
        assert_eq!(whole(40, 10, None, 20).map(|h| h.spendable()), Some(0));
    }
}
