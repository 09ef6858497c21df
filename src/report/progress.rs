//! A backfill's progress bar, with the speed and ETA of this run's work
//! alone: indicatif's own `per_sec` and `eta` would count the PRs that
//! earlier runs stored (the jump to the stored position) as this run's.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};

use super::StoredChunk;
use crate::text::human_duration;

/// This run's pace on one backfill: PRs per second and the time to finish.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub per_sec: Option<f64>,
    pub eta: Option<Duration>,
}

/// `stored` PRs in `elapsed` of this run, `left` still to do. Nothing
/// stored yet (or no time passed): no rate, and no ETA unless nothing is left.
pub fn pace(stored: u64, left: u64, elapsed: Duration) -> Pace {
    let secs = elapsed.as_secs_f64();
    let per_sec = (stored > 0 && secs > 0.0).then(|| stored as f64 / secs);
    let eta = match (left, per_sec) {
        (0, _) => Some(Duration::ZERO),
        (_, Some(rate)) => Duration::try_from_secs_f64(left as f64 / rate).ok(),
        (_, None) => None,
    };
    Pace { per_sec, eta }
}

impl Pace {
    pub fn rate_text(&self) -> String {
        match self.per_sec {
            Some(r) if r < 10.0 => format!("{r:.1} PRs/s"),
            Some(r) => format!("{r:.0} PRs/s"),
            None => "? PRs/s".to_string(),
        }
    }

    pub fn eta_text(&self) -> String {
        self.eta.map_or_else(|| "?".to_string(), human_duration)
    }
}

/// Bars on a terminal at once: a run over 200 backfills shows the ones
/// that moved last, and its closing lines tell the rest.
pub const MAX_BARS: usize = 8;

/// Puts `name` last in `shown` (the backfills with a bar, least recently
/// moved first); returns the one whose bar goes to make room, if any.
pub fn make_room(shown: &mut VecDeque<String>, name: &str, most: usize) -> Option<String> {
    if let Some(i) = shown.iter().position(|n| n == name) {
        shown.remove(i);
        shown.push_back(name.to_string());
        return None;
    }
    shown.push_back(name.to_string());
    (shown.len() > most).then(|| shown.pop_front()).flatten()
}

/// A new bar for a backfill, made when its first chunk in this run is
/// stored: this run's work on it began that chunk's time ago, at the
/// position before that chunk.
pub fn new_bar(bars: &MultiProgress, first: &StoredChunk) -> ProgressBar {
    let base = first.processed_prs.saturating_sub(first.prs as i64).max(0) as u64;
    let began = Instant::now().checked_sub(first.elapsed).unwrap_or_else(Instant::now);
    let now = move |state: &ProgressState| {
        pace(state.pos().saturating_sub(base), state.len().unwrap_or(0).saturating_sub(state.pos()), began.elapsed())
    };
    let bar = bars.add(ProgressBar::new(first.total_prs.max(first.processed_prs).max(1) as u64));
    let style = ProgressStyle::with_template(
        "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} PRs {run_rate} eta {run_eta} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .with_key("run_rate", move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = w.write_str(&now(state).rate_text());
    })
    .with_key("run_eta", move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
        let _ = w.write_str(&now(state).eta_text());
    })
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(first.full_name.clone());
    bar.set_position(base);
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pace_counts_only_this_runs_work() {
        let s = Duration::from_secs;
        let cases = [
            // stored, left, elapsed -> PRs/s, ETA
            (50, 1_150, s(10), Some(5.0), Some(s(230))),
            (100, 0, s(20), Some(5.0), Some(s(0))),
            (0, 1_150, s(10), None, None),
            (50, 1_150, Duration::ZERO, None, None),
            (0, 0, Duration::ZERO, None, Some(s(0))),
            (1_000, 500, s(1), Some(1_000.0), Some(Duration::from_millis(500))),
        ];
        for (stored, left, elapsed, rate, eta) in cases {
            let p = pace(stored, left, elapsed);
            assert_eq!((p.per_sec, p.eta), (rate, eta), "{stored} stored, {left} left in {elapsed:?}");
        }
    }

    #[test]
    fn pace_reads_as_text() {
        let cases = [
            (pace(50, 1_150, Duration::from_secs(10)), "5.0 PRs/s", "3m 50s"),
            (pace(1_200, 0, Duration::from_secs(10)), "120 PRs/s", "0s"),
            (pace(0, 10, Duration::from_secs(1)), "? PRs/s", "?"),
        ];
        for (p, rate, eta) in cases {
            assert_eq!((p.rate_text().as_str(), p.eta_text().as_str()), (rate, eta), "{p:?}");
        }
    }

    #[test]
    fn the_bars_shown_are_those_that_moved_last() {
        let mut shown = VecDeque::new();
        let steps =
            [("a", None), ("b", None), ("a", None), ("c", Some("b")), ("d", Some("a")), ("d", None), ("c", None)];
        for (name, gone) in steps {
            assert_eq!(make_room(&mut shown, name, 2).as_deref(), gone, "{name} after {shown:?}");
        }
        assert_eq!(shown, ["d", "c"]);
    }
}
