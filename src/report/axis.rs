//! A time axis a person can read: ticks at round times (every 5 s, 15 min,
//! 6 h, a day...) as few as fit, each labelled as finely as its step needs
//! and no finer, so that no two labels read the same (a chart of a run that
//! took a minute, labelled to the minute, would say 10:31 five times).

use chrono::{DateTime, Utc};

/// The steps a tick may take, in seconds: round for a clock or a calendar.
const STEPS: [i64; 25] = [
    1,
    2,
    5,
    10,
    15,
    30,
    60,
    2 * 60,
    5 * 60,
    10 * 60,
    15 * 60,
    30 * 60,
    3_600,
    2 * 3_600,
    3 * 3_600,
    6 * 3_600,
    12 * 3_600,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    91 * DAY,
    182 * DAY,
    365 * DAY,
];

const DAY: i64 = 86_400;

/// One labelled tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub at: DateTime<Utc>,
    pub label: String,
}

/// At most `most` ticks (at least 2 asked) at multiples of the smallest
/// round step that keeps to that, inside `from..=to`. A span under a second
/// gets one tick, at its start.
pub fn time_ticks(from: DateTime<Utc>, to: DateTime<Utc>, most: usize) -> Vec<Tick> {
    let (a, b) = (from.timestamp(), to.timestamp().max(from.timestamp()));
    let most = most.max(2) as i64;
    let step = STEPS.into_iter().find(|s| b.div_euclid(*s) - (a + s - 1).div_euclid(*s) < most);
    // Beyond the table: whole years, as many as it takes.
    let step = step.unwrap_or_else(|| ((b - a) / (365 * DAY) / (most - 1) + 1) * 365 * DAY);
    let first = (a + step - 1).div_euclid(step) * step;
    let at: Vec<DateTime<Utc>> = (0..)
        .map(|k| first + k * step)
        .take_while(|t| *t <= b)
        .filter_map(|t| DateTime::from_timestamp(t, 0))
        .collect();
    let at = if at.is_empty() { vec![from] } else { at };
    let format = format_for(step, from, to);
    let mut ticks: Vec<Tick> = Vec::new();
    for t in at {
        let label = t.format(format).to_string();
        // Cannot happen with the formats below; a repeated label would mislead.
        if !ticks.iter().any(|k| k.label == label) {
            ticks.push(Tick { at: t, label });
        }
    }
    ticks
}

/// Seconds under a minute's step, the time of day under a day's (with the
/// date once the span crosses midnight), the date from a day up.
fn format_for(step: i64, from: DateTime<Utc>, to: DateTime<Utc>) -> &'static str {
    match step {
        s if s < 60 && from.date_naive() == to.date_naive() => "%H:%M:%S",
        s if s < 60 => "%m-%d %H:%M:%S",
        s if s < DAY && from.date_naive() == to.date_naive() => "%H:%M",
        s if s < DAY => "%m-%d %H:%M",
        _ => "%Y-%m-%d",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn labels_fit_the_span_and_never_repeat() {
        let cases: [(&str, &str, &[&str]); 7] = [
            // A run that took 40 seconds.
            ("2026-12-01T10:31:05Z", "2026-12-01T10:31:45Z", &["10:31:10", "10:31:20", "10:31:30", "10:31:40"]),
            ("2026-12-01T10:31:05Z", "2026-12-01T10:31:07Z", &["10:31:05", "10:31:06", "10:31:07"]),
            // Four minutes.
            ("2026-12-01T10:30:20Z", "2026-12-01T10:34:20Z", &["10:31", "10:32", "10:33", "10:34"]),
            // An hour around one point.
            ("2026-12-01T09:30:00Z", "2026-12-01T10:30:00Z", &["09:30", "09:45", "10:00", "10:15", "10:30"]),
            // Across midnight: the date too.
            (
                "2026-12-01T20:00:00Z",
                "2026-12-02T07:00:00Z",
                &["12-01 21:00", "12-02 00:00", "12-02 03:00", "12-02 06:00"],
            ),
            // Three weeks.
            ("2026-11-10T08:00:00Z", "2026-12-01T08:00:00Z", &["2026-11-12", "2026-11-19", "2026-11-26"]),
            // Under a second: one tick.
            ("2026-12-01T10:31:05.200Z", "2026-12-01T10:31:05.700Z", &["10:31:05"]),
        ];
        for (from, to, want) in cases {
            let ticks = time_ticks(t(from), t(to), 5);
            let labels: Vec<&str> = ticks.iter().map(|k| k.label.as_str()).collect();
            assert_eq!(labels, want, "{from} to {to}");
            assert!(ticks.iter().all(|k| k.at >= t(from) - chrono::Duration::seconds(1) && k.at <= t(to)), "{ticks:?}");
        }
    }

    #[test]
    fn no_span_repeats_a_label() {
        let from = t("2026-12-01T10:31:05Z");
        for secs in [
            0,
            1,
            3,
            59,
            61,
            119,
            601,
            3_599,
            3_601,
            7_201,
            43_199,
            86_401,
            200_000,
            1_000_000,
            40_000_000,
            200_000_000,
        ] {
            let ticks = time_ticks(from, from + chrono::Duration::seconds(secs), 5);
            let mut labels: Vec<&str> = ticks.iter().map(|k| k.label.as_str()).collect();
            assert!(!labels.is_empty() && labels.len() <= 5, "{secs}: {labels:?}");
            labels.dedup();
            assert_eq!(labels.len(), ticks.len(), "{secs}: {ticks:?}");
        }
    }
}
