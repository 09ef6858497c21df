//! A client's credentials, a lane each: its transport, its pacing and the
//! budget GitHub last stated for it. The rules of a pool live here, as
//! pure functions over the budgets (table-tested below):
//!
//! - A credential is **spent** while its window lasts and it has no more
//!   than the reserve left (`spent_until`): nothing is sent on it then.
//! - Requests stay on the credential in use until it is spent, then move to
//!   the next not spent, in the order given (`choose`): each window starts
//!   at its first request, so moving sooner would only start more clocks.
//! - Two tokens of one account share its budget: when requests move from a
//!   spent token, the next one's first answer then shows the spent one's
//!   window, its use carried on (`same_account`); both are spent until that
//!   reset.
//! - A chunk may span the pool, so it is planned on the whole pool's
//!   budget (`headroom`); a request goes out on one credential, so it may
//!   cost no more than that one's (`spendable`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

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
    /// The last move (from, to) whose first answer is not in yet.
    moved: Mutex<Option<(usize, usize)>>,
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
    /// A lane per credential, each paced by a `pacer()` of its own.
    pub(super) fn new(
        graphql_url: &str,
        rest_url: &str,
        credentials: &[Credential],
        reserve: i64,
        pacer: impl Fn() -> Pacer,
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
                    pacer: pacer(),
                    seen: Mutex::new(Seen::default()),
                })
            })
            .collect::<Result<Vec<Lane>, GithubError>>()?;
        Ok(Lanes {
            lanes,
            reserve: reserve.max(0),
            in_use: AtomicUsize::new(0),
            moved: Mutex::new(None),
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
        let left = (before != lane).then_some(before);
        if let Some(from) = left {
            *self.moved.lock().unwrap_or_else(|e| e.into_inner()) = Some((from, lane));
        }
        Ok(Pick { lane, left })
    }

    pub(super) fn spent_until(&self, i: usize, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        spent_until(self.budget_of(i), self.reserve, now)
    }

    /// Takes in the budget an answer on lane `i` stated. Returns the drop
    /// in `remaining` since the lane's last answer of the window (what the
    /// request cost; none for a window's first answer), and, when this is
    /// the first answer since requests moved to the lane from a spent one
    /// and shows the two share an account, that one (once per pair): both
    /// are then spent until its reset.
    pub(super) fn record(&self, i: usize, budget: Budget, now: DateTime<Utc>) -> (Option<i64>, Option<usize>) {
        let prev = {
            let mut seen = self.seen(i);
            let prev = seen.budget.filter(|_| !seen.saved).filter(|p| p.reset_at == budget.reset_at);
            *seen = Seen { budget: Some(budget), at: Some(now), saved: false };
            prev
        };
        let drop = prev.map(|p| (p.remaining - budget.remaining).max(0));
        let from = {
            let mut moved = self.moved.lock().unwrap_or_else(|e| e.into_inner());
            match *moved {
                Some((from, to)) if to == i => moved.take().map(|_| from),
                _ => None,
            }
        };
        let spent = from.and_then(|j| self.budget_of(j).filter(|_| self.spent_until(j, now).is_some()));
        let (Some(j), true) = (from, spent.is_some_and(|s| same_account(s, budget))) else { return (drop, None) };
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
    /// more goes out on it until the reset (an hour, if GitHub did not say;
    /// a second at least, should our clock be ahead of GitHub's).
    pub(super) fn mark_spent(&self, i: usize, reset_at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        let reset_at = reset_at.unwrap_or(now + chrono::Duration::hours(1)).max(now + chrono::Duration::seconds(1));
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
mod tests;
