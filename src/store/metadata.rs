//! `progressive_backfill_state.metadata`: what the tool remembers about a
//! backfill beyond the contract's columns, decoded once at the boundary.
//! Another tool may have written the column, so a key of the wrong shape
//! reads as absent rather than failing the whole row.

use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::budget::Budget;
use crate::status::Priority;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// `add --chunk-size`: this repository's fixed chunk size.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub chunk_size_override: Option<i64>,
    /// The largest page known to work for this repository (after timeouts).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub max_chunk_size: Option<i64>,
    /// The most ids per `nodes(ids:)` request known to work (after timeouts
    /// and partial answers).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub max_detail_ids: Option<i64>,
    /// Points per PR measured so far (a moving average).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub points_per_pr: Option<f64>,
    /// The budget the last chunk saw, so that the next run plans against it.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Budget>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub pause_kind: Option<PauseKind>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub paused_until: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub pause_reason: Option<String>,
    /// Points every attempt at a chunk spent, dropped ones included.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub points_spent: Option<i64>,
    /// Even the smallest chunk cost more than a whole rate-limit window: its
    /// fetch waits for resets and goes on.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub span_windows: Option<bool>,
    /// Pauses for repeated failures since the last good chunk: each doubles the cooldown.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub error_pauses: Option<i64>,
    /// The status a pause by hand returns to on `resume` (a completed backfill stays completed).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub resume_to: Option<String>,
    /// Started by `run --discover` rather than `add`.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub discovered: Option<bool>,
    /// `add --no-refresh`: a completed backfill is left as it is (another
    /// system keeps recent PRs current).
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub no_refresh: Option<bool>,
    /// The watermark: PRs updated after it may have changed since stored.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub refresh_from: Option<DateTime<Utc>>,
    /// The start of the last complete sweep: the copy is current as of then.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub current_as_of: Option<DateTime<Utc>>,
    /// The sweep under way: when it began, and its cursor.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub sweep_started_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub sweep_cursor: Option<String>,
    /// `add --priority`, `backfill priority`: normal when absent.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Runs in a row that took other backfills but gave this one no turn
    /// (`backfill::priority`): absent once it has had one.
    #[serde(default, deserialize_with = "lenient", skip_serializing_if = "Option::is_none")]
    pub passed_over: Option<i64>,
}

/// Why a backfill is paused: a rate-limit pause and the cooldown after
/// repeated failures end by themselves at `paused_until`; a pause by hand
/// waits for `backfill resume`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseKind {
    RateLimit,
    Errors,
    Manual,
}

impl PauseKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            PauseKind::RateLimit => "rate_limit",
            PauseKind::Errors => "errors",
            PauseKind::Manual => "manual",
        }
    }
}

impl Metadata {
    /// A pause that ends by itself (the rate limit's, or the cooldown after
    /// repeated failures) whose time is up: the backfill may run again.
    pub fn pause_over(&self, now: DateTime<Utc>) -> bool {
        matches!(self.pause_kind, Some(PauseKind::RateLimit | PauseKind::Errors))
            && self.paused_until.is_some_and(|t| t <= now)
    }

    /// The budget a previous run saw, while its window lasts.
    pub fn budget_seen(&self, now: DateTime<Utc>) -> Option<Budget> {
        self.rate_limit.filter(|b| b.reset_at.is_some_and(|r| r > now))
    }

    /// As JSON, for merging into the column with `||`: only the keys set.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(Default::default()))
    }
}

fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_of_the_wrong_shape_read_as_absent() {
        let cases = [
            (json!({}), Metadata::default()),
            (json!({ "max_chunk_size": 25 }), Metadata { max_chunk_size: Some(25), ..Metadata::default() }),
            (json!({ "max_chunk_size": "25", "points_per_pr": [1] }), Metadata::default()),
            (
                json!({ "pause_kind": "rate_limit" }),
                Metadata { pause_kind: Some(PauseKind::RateLimit), ..Metadata::default() },
            ),
            (json!({ "pause_kind": "lunch", "other_tool": true }), Metadata::default()),
            (json!({ "rate_limit": { "remaining": 7 } }), Metadata::default()),
        ];
        for (given, want) in cases {
            let got: Metadata = serde_json::from_value(given.clone()).expect("always decodes");
            assert_eq!(got, want, "{given}");
        }
    }

    #[test]
    fn a_budget_seen_earlier_counts_only_while_its_window_lasts() {
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(20);
        let seen = |reset: Option<DateTime<Utc>>| Metadata {
            rate_limit: Some(Budget { limit: 1000, remaining: 7, used: None, reset_at: reset }),
            ..Metadata::default()
        };
        let cases = [
            (seen(Some(later)), true),
            (seen(Some(now - chrono::Duration::minutes(1))), false),
            (seen(None), false),
            (Metadata::default(), false),
        ];
        for (meta, fresh) in cases {
            assert_eq!(meta.budget_seen(now).is_some(), fresh, "{meta:?}");
        }
    }
}
