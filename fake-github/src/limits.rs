//! GitHub's secondary limits that depend on what other requests did: points
//! per minute across every client, and requests in flight at once. The
//! secondary points are not the primary limit's cost: a GraphQL query is 1
//! (a mutation 5), however many nodes it asks for.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::world::Control;

/// At most `points` charged within any `window` (GitHub: 2,000 per minute,
/// that is 2,000 queries).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SecondaryPoints {
    pub points: i64,
    pub window: Duration,
}

/// The points charged recently, oldest first.
#[derive(Debug, Default)]
pub(crate) struct PointsWindow {
    charged: VecDeque<(Instant, i64)>,
}

impl PointsWindow {
    fn forget_before(&mut self, limit: &SecondaryPoints, now: Instant) {
        while self.charged.front().is_some_and(|(t, _)| now.saturating_duration_since(*t) >= limit.window) {
            self.charged.pop_front();
        }
    }

    /// `Ok` when `cost` more points fit in the window at `now`; otherwise the
    /// whole seconds (at least 1) until enough have left it.
    pub(crate) fn admit(&mut self, limit: &SecondaryPoints, now: Instant, cost: i64) -> Result<(), u64> {
        self.forget_before(limit, now);
        let used: i64 = self.charged.iter().map(|(_, p)| p).sum();
        // A query dearer than the whole limit still runs alone, or it never could.
        if used == 0 || used + cost <= limit.points {
            return Ok(());
        }
        let mut left = used;
        for (at, points) in &self.charged {
            left -= points;
            if left == 0 || left + cost <= limit.points {
                return Err(whole_seconds((*at + limit.window).saturating_duration_since(now)).max(1));
            }
        }
        Err(1)
    }

    pub(crate) fn charge(&mut self, limit: &SecondaryPoints, now: Instant, points: i64) {
        self.forget_before(limit, now);
        if points > 0 {
            self.charged.push_back((now, points));
        }
    }
}

fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Control {
    /// Checks the points window for a request about to be charged `cost`
    /// secondary points; `Err` carries the `retry-after` seconds.
    pub(crate) fn admit_points(&mut self, now: Instant, cost: i64) -> Result<(), u64> {
        match self.secondary_points {
            Some(limit) => self.points_window.admit(&limit, now, cost),
            None => Ok(()),
        }
    }

    /// Counts charged points against the window (only while it is on, so an
    /// unlimited fake keeps no history).
    pub(crate) fn charge_points(&mut self, now: Instant, points: i64) {
        if let Some(limit) = self.secondary_points {
            self.points_window.charge(&limit, now, points);
        }
    }

    /// Whether a request that has just entered makes too many at once.
    pub(crate) fn too_many_in_flight(&self) -> bool {
        self.max_concurrent.is_some_and(|m| self.in_flight > m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_refuses_then_admits_as_points_leave_it() {
        let limit = SecondaryPoints { points: 10, window: Duration::from_secs(3) };
        let mut w = PointsWindow::default();
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        for (ms, points) in [(0, 4), (500, 4)] {
            assert_eq!(w.admit(&limit, at(ms), points), Ok(()));
            w.charge(&limit, at(ms), points);
        }
        // 8 used: 2 more fit; 3 wait for the first 4 to leave at 3.0 s; 7 (or
        // more than the whole limit) for both, the second leaving at 3.5 s.
        assert_eq!(w.admit(&limit, at(1_000), 2), Ok(()));
        assert_eq!(w.admit(&limit, at(1_000), 3), Err(2));
        assert_eq!(w.admit(&limit, at(1_000), 7), Err(3));
        assert_eq!(w.admit(&limit, at(1_000), 11), Err(3));
        assert_eq!(w.admit(&limit, at(2_999), 3), Err(1));
        assert_eq!(w.admit(&limit, at(3_000), 3), Ok(()));
        assert_eq!(w.admit(&limit, at(3_400), 7), Err(1));
        assert_eq!(w.admit(&limit, at(3_500), 7), Ok(()));
        assert_eq!(w.admit(&limit, at(3_500), 11), Ok(()));
    }
}
