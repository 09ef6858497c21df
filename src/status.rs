//! The statuses a backfill and a chunk row can have, and a backfill's
//! priority: the words in one place, so the rest of the code compares
//! enums, never strings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `progressive_backfill_state.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackfillStatus {
    Active,
    Paused,
    Completed,
    Failed,
}

impl BackfillStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            BackfillStatus::Active => "active",
            BackfillStatus::Paused => "paused",
            BackfillStatus::Completed => "completed",
            BackfillStatus::Failed => "failed",
        }
    }

    /// The column's text; NULL (another tool's row) counts as active.
    pub fn from_column(text: Option<&str>) -> Option<BackfillStatus> {
        [BackfillStatus::Active, BackfillStatus::Paused, BackfillStatus::Completed, BackfillStatus::Failed]
            .into_iter()
            .find(|s| text.is_none_or(|t| t == s.as_str()))
    }
}

impl fmt::Display for BackfillStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `backfill_chunks.status`, as far as this tool writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkStatus {
    Completed,
    Failed,
}

impl ChunkStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ChunkStatus::Completed => "completed",
            ChunkStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for ChunkStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a backfill is paused (`metadata.pause_kind`): a rate-limit pause and
/// the cooldown after repeated failures end by themselves at `paused_until`;
/// a pause by hand waits for `backfill resume`. Here, beside the statuses,
/// because the reports tell them apart too: only the second needs a person.
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

/// How much of a run a backfill gets (`add --priority`, `backfill priority`):
/// kept in `metadata.priority` (decoded by `store::metadata`: exactly the
/// words `as_str` writes), normal when absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    #[default]
    Normal,
    Low,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::High, Priority::Normal, Priority::Low];

    pub const fn as_str(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }

    /// A word a person typed, in any case.
    pub fn parse(text: &str) -> Option<Priority> {
        let text = text.trim();
        Priority::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_priority_words_read_leniently() {
        let typed = [
            ("high", Some(Priority::High)),
            (" LOW ", Some(Priority::Low)),
            ("Normal", Some(Priority::Normal)),
            ("urgent", None),
            ("", None),
        ];
        for (text, want) in typed {
            assert_eq!(Priority::parse(text), want, "{text:?}");
        }
    }

    #[test]
    fn column_text_maps_to_statuses() {
        let cases = [
            (None, Some(BackfillStatus::Active)),
            (Some("active"), Some(BackfillStatus::Active)),
            (Some("paused"), Some(BackfillStatus::Paused)),
            (Some("completed"), Some(BackfillStatus::Completed)),
            (Some("failed"), Some(BackfillStatus::Failed)),
            (Some("Active"), None),
            (Some("running"), None),
        ];
        for (text, want) in cases {
            assert_eq!(BackfillStatus::from_column(text), want, "{text:?}");
        }
    }
}
