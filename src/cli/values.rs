//! The checks of flag values: each says in one line what it wants.

use std::time::Duration;

use crate::status::Priority;

pub(super) fn chunk_size(s: &str) -> Result<i64, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if (5..=50).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 5 to 50".to_string()),
    }
}

/// Longest `--time-budget`: a run, not a season.
const WEEK: Duration = Duration::from_secs(7 * 24 * 3_600);

/// humantime reads `M` as months and `y` as years: `25M` would be 25 months.
fn in_months_or_years(s: &str) -> bool {
    s.split(|c: char| !c.is_ascii_alphabetic())
        .any(|unit| matches!(unit, "M" | "month" | "months" | "y" | "year" | "years"))
}

/// humantime, minus months and years (which nobody means in a flag like these).
fn human(s: &str, what: &str) -> Result<Duration, String> {
    let s = s.trim();
    if in_months_or_years(s) {
        return Err(format!("'{s}' is in months or years (M is months, m minutes): write 25m for 25 minutes"));
    }
    humantime::parse_duration(s).map_err(|_| what.to_string())
}

pub(super) fn duration(s: &str) -> Result<Duration, String> {
    let what = "must be a duration from 1s to 7d, such as 90s, 1h30m or 25m (write 25m for minutes, not 25M)";
    match human(s, what)? {
        d if !d.is_zero() && d <= WEEK => Ok(d),
        _ => Err(what.to_string()),
    }
}

pub(super) fn owner_name(s: &str) -> Result<String, String> {
    let s = s.trim();
    match s.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => Ok(s.to_string()),
        _ => Err("must be OWNER/NAME".to_string()),
    }
}

/// What `add` is given: one repository, or every repository of an owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Repository {
        owner: String,
        name: String,
    },
    /// `OWNER/*`.
    Owner(String),
}

impl Target {
    /// The same target in any case: GitHub's names are case-insensitive.
    pub fn same_as(&self, other: &Target) -> bool {
        let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        match (self, other) {
            (Target::Repository { owner: a, name: b }, Target::Repository { owner: c, name: d }) => {
                same(a, c) && same(b, d)
            }
            (Target::Owner(a), Target::Owner(b)) => same(a, b),
            (Target::Repository { .. }, Target::Owner(_)) | (Target::Owner(_), Target::Repository { .. }) => false,
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Repository { owner, name } => write!(f, "{owner}/{name}"),
            Target::Owner(login) => write!(f, "{login}/*"),
        }
    }
}

pub(super) fn target(s: &str) -> Result<Target, String> {
    let what = "must be OWNER/NAME, or OWNER/* for every repository of an owner";
    let (owner, name) = s.trim().split_once('/').ok_or(what)?;
    if owner.is_empty() || name.is_empty() || name.contains('/') || owner.contains('*') {
        return Err(what.to_string());
    }
    match name {
        "*" => Ok(Target::Owner(owner.to_string())),
        _ if name.contains('*') => Err(format!("{what} ('*' stands alone: OWNER/*)")),
        _ => Ok(Target::Repository { owner: owner.to_string(), name: name.to_string() }),
    }
}

pub(super) fn lease(s: &str) -> Result<Duration, String> {
    let what = "must be a duration from 1s to 10m, such as 30s";
    match human(s, what)? {
        d if (Duration::from_secs(1)..=Duration::from_secs(600)).contains(&d) => Ok(d),
        _ => Err(what.to_string()),
    }
}

pub(super) fn interval(s: &str) -> Result<Duration, String> {
    let what = "must be a duration from 0s to 60s, such as 250ms";
    match human(s, what)? {
        d if d <= Duration::from_secs(60) => Ok(d),
        _ => Err(what.to_string()),
    }
}

pub(super) fn priority(s: &str) -> Result<Priority, String> {
    Priority::parse(s).ok_or_else(|| "must be high, normal or low".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        let sizes = [
            ("5", true),
            ("50", true),
            ("25", true),
            ("4", false),
            ("51", false),
            ("x", false),
            ("-5", false),
            ("", false),
        ];
        for (input, ok) in sizes {
            assert_eq!(chunk_size(input).is_ok(), ok, "chunk size {input:?}");
        }
        let intervals = [("0s", true), ("250ms", true), ("60s", true), ("61s", false), ("fast", false), ("1M", false)];
        for (input, ok) in intervals {
            assert_eq!(interval(input).is_ok(), ok, "interval {input:?}");
        }
        let leases = [("30s", true), ("1s", true), ("10m", true), ("0s", false), ("11m", false), ("1M", false)];
        for (input, ok) in leases {
            assert_eq!(lease(input).is_ok(), ok, "lease {input:?}");
        }
    }

    #[test]
    fn add_takes_owner_name_or_a_whole_owner() {
        let repo = |o: &str, n: &str| Some(Target::Repository { owner: o.into(), name: n.into() });
        let cases = [
            ("acme/widgets", repo("acme", "widgets")),
            (" acme/widgets ", repo("acme", "widgets")),
            ("acme/*", Some(Target::Owner("acme".into()))),
            ("Acme-Org/*", Some(Target::Owner("Acme-Org".into()))),
            ("acme/wid*", None),
            ("acme/**", None),
            ("*/widgets", None),
            ("*/*", None),
            ("acme", None),
            ("acme/", None),
            ("/widgets", None),
            ("a/b/c", None),
            ("acme/*/x", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = target(input);
            assert_eq!(got.as_ref().ok(), want.as_ref(), "{input:?}: {got:?}");
            if let Err(message) = got {
                assert!(message.contains("OWNER/NAME") && message.contains("OWNER/*"), "{input:?}: {message}");
            }
        }
        let display = [("acme/widgets", "acme/widgets"), ("acme/*", "acme/*")];
        for (input, shown) in display {
            assert_eq!(target(input).map(|t| t.to_string()).ok().as_deref(), Some(shown));
        }
        assert!(Target::Owner("Acme".into()).same_as(&Target::Owner("acme".into())));
        assert!(!Target::Owner("acme".into()).same_as(&Target::Repository { owner: "acme".into(), name: "*".into() }));
    }

    #[test]
    fn time_budgets_are_minutes_to_a_week_never_months() {
        let m = Duration::from_secs(60);
        let cases: [(&str, Option<Duration>); 16] = [
            ("25m", Some(25 * m)),
            (" 25m ", Some(25 * m)),
            ("90s", Some(Duration::from_secs(90))),
            ("1h30m", Some(90 * m)),
            ("1h 30m", Some(90 * m)),
            ("25min", Some(25 * m)),
            ("7d", Some(7 * 24 * 60 * m)),
            ("1w", Some(7 * 24 * 60 * m)),
            ("25M", None),
            ("1month", None),
            ("2 months", None),
            ("1y", None),
            ("8d", None),
            ("0s", None),
            ("soon", None),
            ("10", None),
        ];
        for (input, want) in cases {
            let got = duration(input);
            assert_eq!(got.as_ref().ok().copied(), want, "time budget {input:?}: {got:?}");
            if let Err(message) = got {
                assert!(message.contains("25m"), "{input:?}: {message}");
                assert_eq!(message.lines().count(), 1, "{message}");
            }
        }
        let months = duration("25M").err().unwrap_or_default();
        assert!(months.contains("months") && months.contains("write 25m for 25 minutes"), "{months}");
    }
}
