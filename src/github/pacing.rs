//! Keeps one process polite: one request in flight at a time, requests spaced
//! by a configurable interval, never more than GitHub's 2,000 points a
//! minute, and nothing at all before a wait GitHub asked for is over.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

use crate::budget::Budget;

/// GitHub's secondary limit is 2,000 points a minute. A burst of 200 on top of
/// 1,800 a minute keeps every sliding minute at or under that.
const POINTS_PER_MINUTE: u32 = 1_800;
const POINTS_BURST: u32 = 200;

pub struct Pacer {
    /// Held for the whole exchange: the one-request-in-flight rule.
    turn: Mutex<Turn>,
    spacing: Option<DefaultDirectRateLimiter>,
    points: DefaultDirectRateLimiter,
}

#[derive(Debug, Default)]
pub struct Turn {
    /// No request leaves before this (a backoff or a `retry-after`).
    not_before: Option<Instant>,
    /// Points the last request cost: the estimate for the next one.
    last_cost: u32,
    /// The budget as the last answer's headers gave it.
    last_budget: Option<Budget>,
}

impl Turn {
    /// Nothing is sent until `wait` from now has passed (waits only grow).
    pub fn hold_off(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        self.not_before = Some(self.not_before.map_or(until, |t| t.max(until)));
    }

    /// Takes in the headers of an answer; the drop in `remaining` within one
    /// window is what the request cost.
    /// Returns that cost when it can be told (not for a window's first answer).
    pub fn record(&mut self, budget: Budget) -> Option<i64> {
        let prev = self.last_budget.replace(budget).filter(|p| p.reset_at == budget.reset_at);
        let cost = prev.map(|p| (p.remaining - budget.remaining).max(0));
        if let Some(c) = cost {
            self.last_cost = u32::try_from(c.max(1)).unwrap_or(u32::MAX);
        }
        cost
    }

    /// When the primary budget is known to be spent, the time it comes back:
    /// a request sent before then would only be refused.
    pub fn exhausted_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.last_budget?.spent_until(now)
    }
}

impl Pacer {
    /// `interval`: the least time between two requests (zero: no spacing).
    pub fn new(interval: Duration) -> Pacer {
        let spacing = Quota::with_period(interval).map(RateLimiter::direct);
        let per_minute = NonZeroU32::new(POINTS_PER_MINUTE).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(POINTS_BURST).unwrap_or(NonZeroU32::MIN);
        let points = RateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst));
        Pacer { turn: Mutex::new(Turn::default()), spacing, points }
    }

    /// Waits until a request may go out, and returns the turn: the caller
    /// holds it until the answer is in, so no second request overlaps.
    pub async fn wait_turn(&self) -> MutexGuard<'_, Turn> {
        let turn = self.turn.lock().await;
        if let Some(t) = turn.not_before {
            tokio::time::sleep_until(t).await;
        }
        if let Some(spacing) = &self.spacing {
            spacing.until_ready().await;
        }
        let expected = turn.last_cost.clamp(1, POINTS_BURST);
        if let Some(n) = NonZeroU32::new(expected) {
            // Cannot fail: `n` is within the burst.
            let _ = self.points.until_n_ready(n).await;
        }
        turn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hold_off_delays_the_next_turn() {
        let pacer = Pacer::new(Duration::ZERO);
        pacer.wait_turn().await.hold_off(Duration::from_millis(150));
        let start = Instant::now();
        drop(pacer.wait_turn().await);
        assert!(start.elapsed() >= Duration::from_millis(140), "waited only {:?}", start.elapsed());
    }

    #[test]
    fn a_spent_budget_is_known_until_its_reset() {
        let now = Utc::now();
        let rate = |remaining: i64, reset_in: i64| Budget {
            limit: 5_000,
            remaining,
            used: None,
            reset_at: Some(now + chrono::Duration::seconds(reset_in)),
        };
        let cases = [(Some(rate(0, 30)), true), (Some(rate(1, 30)), false), (Some(rate(0, -1)), false), (None, false)];
        for (given, spent) in cases {
            let mut turn = Turn::default();
            if let Some(b) = given {
                turn.record(b);
            }
            assert_eq!(turn.exhausted_until(now).is_some(), spent, "{given:?}");
        }
        let mut turn = Turn::default();
        turn.record(rate(100, 30));
        turn.record(rate(93, 30));
        assert_eq!(turn.last_cost, 7, "the cost is the drop in remaining within one window");
    }

    #[tokio::test]
    async fn requests_are_spaced() {
        let pacer = Pacer::new(Duration::from_millis(100));
        let start = Instant::now();
        for _ in 0..3 {
            drop(pacer.wait_turn().await);
        }
        assert!(start.elapsed() >= Duration::from_millis(190), "three turns took only {:?}", start.elapsed());
    }
}
