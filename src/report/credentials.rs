//! Whose budget is whose: each credential by its name (never its secret)
//! with its budget as GitHub last stated it, in `status`, `run --dry-run`,
//! the step summary and the page.

use chrono::{DateTime, Utc};

use super::step_summary::{cell, markdown_text};
use crate::budget::CredentialBudget;

/// `token …a1b2 (3f9c): 4990 of 5000 points left, resets 13:00:00 UTC (seen 2026-12-06 12:10 UTC)`.
pub fn credential_text(c: &CredentialBudget, now: DateTime<Utc>) -> String {
    let seen = c.seen_at.map_or_else(String::new, |t| format!(" (seen {})", t.format("%Y-%m-%d %H:%M UTC")));
    format!("{}: {}{seen}", c.name, budget_words(c, now))
}

fn budget_words(c: &CredentialBudget, now: DateTime<Utc>) -> String {
    let Some(b) = c.budget else { return "budget not seen yet".to_string() };
    match b.reset_at {
        Some(reset) if reset <= now => format!(
            "{} points again: the window that had {} left reset at {}",
            b.limit,
            b.remaining,
            reset.format("%Y-%m-%d %H:%M UTC")
        ),
        Some(reset) => format!("{} of {} points left, resets {}", b.remaining, b.limit, reset.format("%H:%M:%S UTC")),
        None => format!("{} of {} points left", b.remaining, b.limit),
    }
}

/// What the reserve keeps, in words (none: empty).
pub fn reserve_words(reserve: i64) -> String {
    match reserve {
        0 => String::new(),
        n => format!("Reserve: {n} points of each credential's hour are left unspent for its other users."),
    }
}

/// The step summary's section: a row per credential.
pub fn credentials_markdown(credentials: &[CredentialBudget], reserve: i64, now: DateTime<Utc>) -> String {
    if credentials.is_empty() {
        return String::new();
    }
    let mut md = String::from("#### Credentials\n\n| Credential | Budget seen last | Seen |\n|---|---|---|\n");
    for c in credentials {
        let seen = c.seen_at.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
        md.push_str(&format!("| {} | {} | {seen} |\n", cell(&c.name), cell(&budget_words(c, now))));
    }
    md.push('\n');
    let reserve = reserve_words(reserve);
    if !reserve.is_empty() {
        md.push_str(&format!("{}\n\n", markdown_text(&reserve)));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;

    #[test]
    fn each_credential_is_shown_by_name_with_its_budget() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let at = |secs: i64| Some(now + chrono::Duration::seconds(secs));
        let credential = |budget: Option<Budget>, seen: Option<DateTime<Utc>>| CredentialBudget {
            name: "token …cdef (3f9c)".into(),
            budget,
            seen_at: seen,
        };
        let budget = |remaining: i64, reset: Option<DateTime<Utc>>| {
            Some(Budget { limit: 5_000, remaining, used: None, reset_at: reset })
        };
        let cases = [
            (credential(None, None), "token …cdef (3f9c): budget not seen yet"),
            (
                credential(budget(4_990, at(1_800)), at(-60)),
                "token …cdef (3f9c): 4990 of 5000 points left, resets 08:30:00 UTC (seen 2027-01-15 07:59 UTC)",
            ),
            (
                credential(budget(0, at(-10)), None),
                "token …cdef (3f9c): 5000 points again: the window that had 0 left reset at 2027-01-15 07:59 UTC",
            ),
            (credential(budget(7, None), None), "token …cdef (3f9c): 7 of 5000 points left"),
        ];
        for (given, want) in cases {
            assert_eq!(credential_text(&given, now), want);
        }
        let md = credentials_markdown(&[credential(budget(12, at(60)), at(0))], 20, now);
        assert!(md.starts_with("#### Credentials\n\n| Credential |"), "{md}");
        assert!(md.contains("| token …cdef (3f9c) | 12 of 5000 points left, resets 08:01:00 UTC |"), "{md}");
        assert!(md.contains("Reserve: 20 points"), "{md}");
        assert_eq!(credentials_markdown(&[], 20, now), "");
    }
}
