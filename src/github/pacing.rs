//! Keeps one process polite: one request in flight at a time, requests spaced
//! by a configurable interval, never more than its share of GitHub's 2,000
//! points a minute, and nothing at all before a wait GitHub asked for is over.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

use crate::budget::Budget;

/// Of a minute's points, the share that may come at once: 90% spread over
/// the minute plus a burst of 10% keeps every sliding minute at or under the
/// limit (GCRA: at most burst + rate x window in any window).
const BURST_PERCENT: u32 = 10;

pub struct Pacer {
    /// Held for the whole exchange: the one-request-in-flight rule.
    permit: Mutex<Permit>,
    spacing: Option<DefaultDirectRateLimiter>,
    points: DefaultDirectRateLimiter,
    burst: u32,
}

/// The right to send one request, held until its answer is in, with what
/// the pacing knows from the answers before it.
#[derive(Debug, Default)]
pub struct Permit {
    /// No request leaves before this (a backoff or a `retry-after`).
    not_before: Option<Instant>,
    /// Points the last request cost: the estimate for the next one.
    last_cost: u32,
    /// The budget as the last answer's headers gave it.
    last_budget: Option<Budget>,
    /// Points taken from the per-minute limiter for the request in flight.
    charged: u32,
}

impl Permit {
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
    /// `interval`: the least time between two requests (zero: no spacing);
    /// `points_per_minute`: this process's share of the secondary limit;
    /// `shared`: other processes spend the same token's points, so this one
    /// starts as if it had just spent its burst (a runner that starts again
    /// and again would otherwise bring a fresh burst each time).
    pub fn new(interval: Duration, points_per_minute: u32, shared: bool) -> Pacer {
        let spacing = Quota::with_period(interval).map(RateLimiter::direct);
        let burst = (points_per_minute * BURST_PERCENT / 100).max(1);
        let rate = NonZeroU32::new(points_per_minute.saturating_sub(burst)).unwrap_or(NonZeroU32::MIN);
        let burst_cells = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let points = RateLimiter::direct(Quota::per_minute(rate).allow_burst(burst_cells));
        if shared {
            // Cannot fail: a new limiter holds its whole burst.
            let _ = points.check_n(burst_cells);
        }
        Pacer { permit: Mutex::new(Permit::default()), spacing, points, burst }
    }

    /// The budget the last answer's headers stated (none while a request is in flight).
    pub fn budget_seen(&self) -> Option<Budget> {
        self.permit.try_lock().ok().and_then(|t| t.last_budget)
    }

    /// After the answer: a request that cost more than was taken for it
    /// takes the rest before the next one may go.
    pub async fn settle(&self, permit: &mut Permit, cost: i64) {
        let cost = u32::try_from(cost.max(1)).unwrap_or(u32::MAX);
        permit.last_cost = cost;
        let extra = cost.saturating_sub(permit.charged).min(self.burst);
        permit.charged = permit.charged.saturating_add(extra);
        if let Some(n) = NonZeroU32::new(extra) {
            // Cannot fail: `n` is within the burst.
            let _ = self.points.until_n_ready(n).await;
        }
    }

    /// Waits until a request may go out, and returns the permit: the caller
    /// holds it until the answer is in, so no second request overlaps.
    pub async fn permit_to_send(&self) -> MutexGuard<'_, Permit> {
        let permit = self.permit.lock().await;
        if let Some(t) = permit.not_before {
            tokio::time::sleep_until(t).await;
        }
        if let Some(spacing) = &self.spacing {
            spacing.until_ready().await;
        }
        let mut permit = permit;
        let expected = permit.last_cost.clamp(1, self.burst);
        if let Some(n) = NonZeroU32::new(expected) {
            // Cannot fail: `n` is within the burst.
            let _ = self.points.until_n_ready(n).await;
        }
        permit.charged = expected;
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hold_off_delays_the_next_permit() {
        let pacer = Pacer::new(Duration::ZERO, 2_000, false);
        pacer.permit_to_send().await.hold_off(Duration::from_millis(150));
        let start = Instant::now();
        drop(pacer.permit_to_send().await);
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
            let mut permit = Permit::default();
            if let Some(b) = given {
                permit.record(b);
            }
            assert_eq!(permit.exhausted_until(now).is_some(), spent, "{given:?}");
        }
        let mut permit = Permit::default();
        permit.record(rate(100, 30));
        permit.record(rate(93, 30));
        assert_eq!(permit.last_cost, 7, "the cost is the drop in remaining within one window");
    }

    #[tokio::test]
    async fn requests_are_spaced() {
        let pacer = Pacer::new(Duration::from_millis(100), 2_000, false);
        let start = Instant::now();
        for _ in 0..3 {
            drop(pacer.permit_to_send().await);
        }
        assert!(start.elapsed() >= Duration::from_millis(190), "three turns took only {:?}", start.elapsed());
    }
}
