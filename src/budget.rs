//! The primary rate-limit budget, in one shape from GitHub's answer (the
//! `rateLimit` field or the `x-ratelimit-*` headers) through pacing and the
//! planner to what the run reports and remembers in the backfill's metadata;
//! what a pool of credentials may still spend of it (`Headroom`); and each
//! credential's budget under its name (`CredentialBudget`), as the reports
//! show it and `backfill_credentials` keeps it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub limit: i64,
    pub remaining: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used: Option<i64>,
    /// When the window ends and `remaining` is back at `limit`.
    #[serde(default, alias = "resetAt")]
    pub reset_at: Option<DateTime<Utc>>,
}

impl Budget {
    /// Whether this budget still describes the window at `now`: one whose
    /// window has passed says nothing about the new one.
    pub fn current_at(&self, now: DateTime<Utc>) -> bool {
        self.reset_at.is_none_or(|r| r > now)
    }

    /// When the budget is known to be spent, the time it comes back.
    pub fn spent_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let reset_at = self.reset_at.filter(|r| *r > now)?;
        (self.remaining <= 0).then_some(reset_at)
    }
}

/// What the run may still spend in the current window, for planning a
/// chunk: the budget of the credentials not spent (summed over a pool), and
/// the points of it that stay unspent for the credentials' other users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    pub budget: Budget,
    pub reserve: i64,
}

impl Headroom {
    /// The points that may be spent: what is left, less the reserve.
    pub fn spendable(&self) -> i64 {
        (self.budget.remaining - self.reserve).max(0)
    }
}

/// A credential's budget as GitHub last stated it, under the credential's
/// name (`token …a1b2 (3f9c)`, `App 12 installation 34 (acme)`): never its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialBudget {
    pub name: String,
    pub budget: Option<Budget>,
    /// When GitHub stated it.
    pub seen_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_and_the_metadata_spell_it_alike_enough() {
        let wire: Budget =
            serde_json::from_str(r#"{"limit":5000,"remaining":4990,"used":10,"resetAt":"2026-01-01T00:00:00Z"}"#)
                .expect("wire form");
        let stored: Budget =
            serde_json::from_str(r#"{"limit":5000,"remaining":4990,"used":10,"reset_at":"2026-01-01T00:00:00Z"}"#)
                .expect("stored form");
        assert_eq!(wire, stored);
        let again: Budget =
            serde_json::from_value(serde_json::to_value(wire).expect("serializes")).expect("reads back");
        assert_eq!(again, wire);
    }
}
