//! Text that goes on one line of stderr, a log or a table cell.

use std::time::Duration;

/// Error text goes on one line, and never at length.
pub fn one_line(s: &str) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        flat.chars().take(300).collect::<String>() + "…"
    } else {
        flat
    }
}

/// A number and its noun, singular for exactly one: `1 chunk`, `0 chunks`.
pub fn count<N>(n: N, one: &str, many: &str) -> String
where
    N: std::fmt::Display + PartialEq + From<u8>,
{
    let noun = if n == N::from(1) { one } else { many };
    format!("{n} {noun}")
}

/// A duration as a person writes it: `45s`, `3m 5s`, `2h 10m`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3_600, s % 3_600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_flattened_and_cut() {
        let long = "x".repeat(400);
        let cases = [("a\n  b\tc", "a b c".to_string()), ("", String::new()), (long.as_str(), "x".repeat(300) + "…")];
        for (given, want) in cases {
            assert_eq!(one_line(given), want);
        }
    }

    #[test]
    fn one_of_a_thing_is_singular() {
        let cases: [(i64, &str); 5] =
            [(0, "0 chunks"), (1, "1 chunk"), (2, "2 chunks"), (11, "11 chunks"), (-1, "-1 chunks")];
        for (n, want) in cases {
            assert_eq!(count(n, "chunk", "chunks"), want, "{n}");
        }
        assert_eq!(count(1u32, "PR", "PRs"), "1 PR");
        assert_eq!(count(1u64, "point", "points"), "1 point");
        assert_eq!(count(1usize, "request", "requests"), "1 request");
        assert_eq!(count(5_000u32, "point", "points"), "5000 points");
    }

    #[test]
    fn durations_read_like_a_person_writes_them() {
        let cases = [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3_600, "1h 0m"), (90_061, "25h 1m")];
        for (secs, want) in cases {
            assert_eq!(human_duration(Duration::from_secs(secs)), want);
        }
    }
}
