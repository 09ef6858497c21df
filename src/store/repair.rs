//! What `backfill migrate` sets right once per invocation: the figures the
//! chunk commits keep by arithmetic rather than by counting the history
//! (`processed_prs`, `backfill_chunk_counts`), recounted from the rows, in
//! case anything other than the tool deleted or moved PRs or chunk rows.
//! A count per backfill, each in a short transaction of its own that first
//! locks the state row, as a chunk's commit does, so that no commit lands
//! between the count and its write.

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::counts;
use super::error::StoreResult;
use super::unnamed;

/// A figure that was wrong, and is now right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// `processed_prs` said `was`, and `stored` PRs are stored.
    ProcessedPrs { repository: String, was: Option<i32>, stored: i64 },
    /// The chunk counts did not match the backfill's chunk rows.
    ChunkCounts { repository: String },
}

impl std::fmt::Display for Fix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fix::ProcessedPrs { repository, was, stored } => {
                let was = was.map_or_else(|| "empty".to_string(), |n| n.to_string());
                write!(f, "{repository}: processed_prs was {was}, {stored} PRs are stored: corrected")
            }
            Fix::ChunkCounts { repository } => {
                write!(f, "{repository}: the chunk counts differed from its chunk rows: recounted")
            }
        }
    }
}

/// Recounts every backfill; returns what was wrong.
pub async fn recount_all(pool: &PgPool) -> StoreResult<Vec<Fix>> {
    let mut tx = pool.begin().await?;
    let backfills: Vec<(Uuid, String)> = unnamed::rows(
        "SELECT s.id, coalesce(r.full_name, r.owner || '/' || r.name, s.id::text) FROM progressive_backfill_state s \
         LEFT JOIN repositories r ON r.id = s.repository_id ORDER BY 2",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut fixes = Vec::new();
    for (id, repository) in backfills {
        fixes.extend(recount(pool, id, repository).await?);
    }
    Ok(fixes)
}

async fn recount(pool: &PgPool, state_id: Uuid, repository: String) -> StoreResult<Vec<Fix>> {
    let mut tx = pool.begin().await?;
    let locked: Option<Option<i32>> =
        unnamed::scalar("SELECT processed_prs FROM progressive_backfill_state WHERE id = $1 FOR UPDATE")
            .bind(state_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(was) = locked else {
        // Purged meanwhile.
        tx.commit().await?;
        return Ok(Vec::new());
    };
    let mut fixes = Vec::new();
    if let Some(stored) = processed_from_rows(&mut tx, state_id, was).await? {
        fixes.push(Fix::ProcessedPrs { repository: repository.clone(), was, stored });
    }
    if counts::recount(&mut tx, state_id).await? {
        fixes.push(Fix::ChunkCounts { repository });
    }
    tx.commit().await?;
    Ok(fixes)
}

/// Sets `processed_prs` to the PRs stored, in a transaction that holds the
/// state row (`was`: its value read under the lock, none to write it
/// regardless); the count when it was written. A statement after the lock, so its snapshot holds every chunk
/// committed before it.
pub(super) async fn processed_from_rows(
    tx: &mut PgConnection,
    state_id: Uuid,
    was: Option<i32>,
) -> StoreResult<Option<i64>> {
    let stored: i64 = unnamed::scalar(
        "SELECT count(*) FROM pull_requests p JOIN progressive_backfill_state s ON s.repository_id = p.repository_id \
         WHERE s.id = $1",
    )
    .bind(state_id)
    .fetch_one(&mut *tx)
    .await?;
    if was.map(i64::from) == Some(stored) {
        return Ok(None);
    }
    unnamed::statement("UPDATE progressive_backfill_state SET processed_prs = $2 WHERE id = $1")
        .bind(state_id)
        .bind(i32::try_from(stored).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
    Ok(Some(stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_says_what_was_wrong() {
        let name = || "acme/widgets".to_string();
        let cases = [
            (
                Fix::ProcessedPrs { repository: name(), was: Some(12), stored: 40 },
                "acme/widgets: processed_prs was 12, 40 PRs are stored: corrected",
            ),
            (
                Fix::ProcessedPrs { repository: name(), was: None, stored: 3 },
                "acme/widgets: processed_prs was empty, 3 PRs are stored: corrected",
            ),
            (
                Fix::ChunkCounts { repository: name() },
                "acme/widgets: the chunk counts differed from its chunk rows: recounted",
            ),
        ];
        for (fix, want) in cases {
            assert_eq!(fix.to_string(), want);
        }
    }
}
