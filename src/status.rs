//! The statuses a backfill and a chunk row can have: the contract's words
//! in one place, so the rest of the code compares enums, never strings.

use std::fmt;

use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;

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
