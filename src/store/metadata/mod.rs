//! `progressive_backfill_state.metadata`: what the tool remembers about a
//! backfill beyond the contract's columns. This module owns every key: the
//! table below declares each once, `Metadata` is the column decoded (once,
//! at the boundary), `Patch` a write to it, and `sql` the only SQL text
//! that names a key. Another tool may have written the column, so a key of
//! the wrong shape reads as absent rather than failing the whole row.

mod change;
mod keys;
mod patch;
pub mod sql;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::budget::Budget;
pub use crate::status::PauseKind;
use crate::status::{BackfillStatus, Priority};
pub use change::Change;
use change::Rendered;

keys::keys! {
    /// `add --chunk-size`: this repository's fixed chunk size.
    ChunkSizeOverride chunk_size_override: i64;
    /// The largest page known to work for this repository (after timeouts).
    MaxChunkSize max_chunk_size: i64;
    /// No longer written: the follow-ups per request known to work, in
    /// counted requests, before `node_limit` took its place; removed (with
    /// its old name) when `node_limit` is written.
    FollowUpLimit follow_up_limit: i64, formerly "max_detail_ids";
    /// The most nodes (GitHub's count) a request may ask, learned request by
    /// request after timeouts and partial answers; absent, the default.
    NodeLimit node_limit: i64;
    /// Points per PR measured so far (a moving average).
    PointsPerPr points_per_pr: f64;
    /// The budget the last chunk saw, so that the next run plans against it.
    RateLimit rate_limit: Budget;
    /// Even the smallest chunk cost more than a whole rate-limit window: its
    /// fetch waits for resets and goes on.
    SpanWindows span_windows: bool;
    /// Points every attempt at a chunk spent, dropped ones included.
    PointsSpent points_spent: i64;
    /// Why the backfill is paused.
    PauseKind pause_kind: PauseKind;
    /// When a pause that ends by itself is over.
    PausedUntil paused_until: DateTime<Utc>;
    /// What paused it, in words.
    PauseReason pause_reason: String;
    /// Pauses for repeated failures since the last good chunk: each doubles the cooldown.
    ErrorPauses error_pauses: i64;
    /// The status a pause by hand returns to on `resume` (a completed backfill stays completed).
    ResumeTo resume_to: ResumeTo;
    /// Started by `run --discover` rather than `add`.
    Discovered discovered: bool;
    /// `add --no-refresh`: a completed backfill is left as it is (another
    /// system keeps recent PRs current).
    NoRefresh no_refresh: bool;
    /// `add --priority`, `backfill priority`: normal when absent.
    Priority priority: Priority;
    /// Runs in a row that took other backfills but gave this one no turn
    /// (`backfill::priority`): absent once it has had one.
    PassedOver passed_over: i64;
    /// The watermark: PRs updated after it may have changed since stored.
    RefreshFrom refresh_from: DateTime<Utc>;
    /// The start of the last complete sweep: the copy is current as of then.
    CurrentAsOf current_as_of: DateTime<Utc>;
    /// When the sweep under way began.
    SweepStartedAt sweep_started_at: DateTime<Utc>;
    /// The cursor of the sweep under way.
    SweepCursor sweep_cursor: String;
}

/// What `resume` returns a backfill paused by hand to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResumeTo {
    Active,
    Completed,
}

impl ResumeTo {
    pub const fn status(self) -> BackfillStatus {
        match self {
            ResumeTo::Active => BackfillStatus::Active,
            ResumeTo::Completed => BackfillStatus::Completed,
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
}

/// So that rows decode it as `Json<Metadata>`.
impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Metadata, D::Error> {
        Ok(Metadata::decode(&Value::deserialize(d)?))
    }
}

/// One key, under its name or else its former one; absent when neither
/// holds a value of its type.
fn decode_key<T: DeserializeOwned>(value: &Value, key: Key) -> Option<T> {
    std::iter::once(key.as_str())
        .chain(key.former_name())
        .filter_map(|name| value.get(name))
        .find_map(|v| T::deserialize(v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_of_the_wrong_shape_read_as_absent() {
        let none = Metadata::default();
        let cases = [
            (json!({}), none.clone()),
            (json!([1, 2]), none.clone()),
            (json!("text"), none.clone()),
            (json!({ "max_chunk_size": 25 }), Metadata { max_chunk_size: Some(25), ..Metadata::default() }),
            (json!({ "max_chunk_size": "25", "points_per_pr": [1] }), none.clone()),
            (
                json!({ "pause_kind": "rate_limit" }),
                Metadata { pause_kind: Some(PauseKind::RateLimit), ..Metadata::default() },
            ),
            (json!({ "pause_kind": "lunch", "other_tool": true }), none.clone()),
            (json!({ "rate_limit": { "remaining": 7 } }), none.clone()),
            (json!({ "priority": "high" }), Metadata { priority: Some(Priority::High), ..Metadata::default() }),
            // a priority this tool never writes is absent, so normal everywhere it is shown
            (json!({ "priority": "whenever" }), none.clone()),
            (json!({ "priority": "HIGH" }), none.clone()),
            (json!({ "priority": 1 }), none.clone()),
            (
                json!({ "resume_to": "completed" }),
                Metadata { resume_to: Some(ResumeTo::Completed), ..Metadata::default() },
            ),
            (json!({ "resume_to": "paused" }), none.clone()),
            (json!({ "resume_to": true }), none.clone()),
            (json!({ "paused_until": "soon" }), none.clone()),
            (json!({ "sweep_cursor": null }), none.clone()),
        ];
        for (given, want) in cases {
            assert_eq!(Metadata::decode(&given), want, "{given}");
            let row: Metadata = serde_json::from_value(given.clone()).expect("always decodes");
            assert_eq!(row, want, "as a row decodes it: {given}");
        }
    }

    #[test]
    fn the_former_name_of_a_key_is_still_read() {
        let follow_ups = |n| Metadata { follow_up_limit: Some(n), ..Metadata::default() };
        let cases = [
            (json!({ "max_detail_ids": 300 }), Some(300)),
            (json!({ "follow_up_limit": 75 }), Some(75)),
            (json!({ "follow_up_limit": 75, "max_detail_ids": 300 }), Some(75)),
            (json!({ "follow_up_limit": "many", "max_detail_ids": 300 }), Some(300)),
            (json!({ "max_detail_ids": "many" }), None),
        ];
        for (given, want) in cases {
            assert_eq!(Metadata::decode(&given), want.map_or_else(Metadata::default, follow_ups), "{given}");
        }
    }

    #[test]
    fn every_key_is_named_once() {
        let mut names: Vec<&str> =
            Key::ALL.iter().flat_map(|k| std::iter::once(k.as_str()).chain(k.former_name())).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "{names:?}");
        assert_eq!(Key::ALL.len(), 21);
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
