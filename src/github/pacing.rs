//! Keeps one credential polite: one request in flight at a time, requests
//! spaced by a configurable interval, never more than its share of GitHub's
//! 2,000 points a minute, and nothing at all before a wait GitHub asked for
//! is over. A client has a `Pacer` per credential (`lanes`).
//!
//! The points of that secondary limit are not the primary limit's cost
//! (`rateLimit.cost`, budgeted elsewhere): GitHub counts a GraphQL query as
//! 1 point however many nodes it asks for, a REST read as 1 and a REST write
//! as 5. So each request is charged its points before it leaves, and what
//! its answer says it cost changes nothing here.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::Method;
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

/// A GraphQL query's points against the secondary limit (a mutation's would
/// be 5; the tool sends none).
pub const QUERY_POINTS: u32 = 1;

/// A REST call's points against the secondary limit: 1 for a read, 5 for a
/// write (POST, PATCH, PUT, DELETE).
pub fn rest_points(method: &Method) -> u32 {
    if [Method::GET, Method::HEAD, Method::OPTIONS].contains(method) {
        1
    } else {
        5
    }
}

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

/// The right to send one request, held until its answer is in.
#[derive(Debug, Default)]
pub struct Permit {
    /// No request leaves before this (a backoff or a `retry-after`).
    not_before: Option<Instant>,
}

impl Permit {
    /// Nothing is sent until `wait` from now has passed (waits only grow).
    pub fn hold_off(&mut self, wait: Duration) {
        let until = Instant::now() + wait;
        self.not_before = Some(self.not_before.map_or(until, |t| t.max(until)));
    }
}

impl Pacer {
    /// `interval`: the least time between two requests (zero: no spacing);
    /// `points_per_minute`: this process's share of the secondary limit
    /// (in its points: about that many queries a minute);
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

    /// Waits until a request of `points` (`QUERY_POINTS`, `rest_points`)
    /// may go out, takes them, and returns the permit: the caller holds it
    /// until the answer is in, so no second request overlaps.
    pub async fn permit_to_send(&self, points: u32) -> MutexGuard<'_, Permit> {
        let permit = self.permit.lock().await;
        if let Some(t) = permit.not_before {
            tokio::time::sleep_until(t).await;
        }
        if let Some(spacing) = &self.spacing {
            spacing.until_ready().await;
        }
        if let Some(n) = NonZeroU32::new(points.clamp(1, self.burst)) {
            // Cannot fail: `n` is within the burst.
            let _ = self.points.until_n_ready(n).await;
        }
        permit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hold_off_delays_the_next_permit() {
        let pacer = Pacer::new(Duration::ZERO, 2_000, false);
        pacer.permit_to_send(QUERY_POINTS).await.hold_off(Duration::from_millis(150));
        let start = Instant::now();
        drop(pacer.permit_to_send(QUERY_POINTS).await);
        assert!(start.elapsed() >= Duration::from_millis(140), "waited only {:?}", start.elapsed());
    }

    #[tokio::test]
    async fn requests_are_spaced() {
        let pacer = Pacer::new(Duration::from_millis(100), 2_000, false);
        let start = Instant::now();
        for _ in 0..3 {
            drop(pacer.permit_to_send(QUERY_POINTS).await);
        }
        assert!(start.elapsed() >= Duration::from_millis(190), "three turns took only {:?}", start.elapsed());
    }

    #[test]
    fn reads_are_one_point_and_writes_five() {
        let cases = [
            (Method::GET, 1),
            (Method::HEAD, 1),
            (Method::OPTIONS, 1),
            (Method::POST, 5),
            (Method::PATCH, 5),
            (Method::PUT, 5),
            (Method::DELETE, 5),
        ];
        for (method, points) in cases {
            assert_eq!(rest_points(&method), points, "{method}");
        }
    }

    /// How many requests of `points` a fresh pacer lets out within `within`.
    async fn sent_within(shared: bool, points: u32, within: Duration) -> usize {
        // 100 points a minute: a burst of 10, then one point every 667 ms.
        let pacer = Pacer::new(Duration::ZERO, 100, shared);
        let mut sent = 0;
        let _ = tokio::time::timeout(within, async {
            loop {
                drop(pacer.permit_to_send(points).await);
                sent += 1;
            }
        })
        .await;
        sent
    }

    #[tokio::test]
    async fn the_minute_counts_requests_not_what_they_cost() {
        // (shares the token, points a request, requests let out at once)
        let cases = [
            (false, QUERY_POINTS, 10),
            (false, rest_points(&Method::GET), 10),
            (false, rest_points(&Method::POST), 2),
            // Another runner may have spent the burst.
            (true, QUERY_POINTS, 0),
        ];
        let within = Duration::from_millis(300);
        let mut sent = tokio::task::JoinSet::new();
        for (i, (shared, points, _)) in cases.into_iter().enumerate() {
            sent.spawn(async move { (i, sent_within(shared, points, within).await) });
        }
        for (i, got) in sent.join_all().await {
            let (shared, points, want) = cases[i];
            assert_eq!(got, want, "{points} points a request, shared: {shared}");
        }
    }
}
