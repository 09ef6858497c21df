//! A backfill's `backfill_chunks` rows for `backfill history`, with the
//! points the tool keeps beside them (`backfill_chunk_points`).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};

use super::error::StoreResult;
use super::state::Backfill;
use super::unnamed;
use crate::report::{HistoryHeader, HistoryRow};
use crate::status::ChunkStatus;

impl<'r> FromRow<'r, PgRow> for HistoryRow {
    fn from_row(row: &'r PgRow) -> Result<HistoryRow, sqlx::Error> {
        Ok(HistoryRow {
            chunk_number: row.try_get("chunk_number")?,
            first_pr: row.try_get("first_pr")?,
            last_pr: row.try_get("last_pr")?,
            pr_count: row.try_get("pr_count")?,
            after_pr: row.try_get("after_pr")?,
            started_at: row.try_get("started_at")?,
            duration_ms: row.try_get("duration_ms")?,
            points: row.try_get("points")?,
            requests: row.try_get("requests")?,
            retry_count: row.try_get("retry_count")?,
            status: row.try_get::<Option<String>, _>("status")?.unwrap_or_default(),
            error: row.try_get("error")?,
        })
    }
}

/// The backfill's chunks, newest first, at most `limit`; only the failed
/// ones with `failed_only`. Each a probe of an index: the newest through
/// the contract's on (backfill_state_id, chunk_number), the failed ones and
/// the last stored PR before a failure through
/// `backfill_chunks_by_backfill_status_number_idx`.
pub async fn chunks(
    pool: &PgPool,
    state_id: uuid::Uuid,
    failed_only: bool,
    limit: u32,
) -> StoreResult<Vec<HistoryRow>> {
    let mut tx = pool.begin().await?;
    let rows = unnamed::rows(
        "SELECT c.chunk_number, c.pr_numbers[1] AS first_pr, c.pr_numbers[array_upper(c.pr_numbers, 1)] AS last_pr, \
           coalesce(cardinality(c.pr_numbers), 0)::int AS pr_count, \
           CASE WHEN coalesce(cardinality(c.pr_numbers), 0) = 0 THEN \
             (SELECT p.pr_numbers[array_upper(p.pr_numbers, 1)] FROM backfill_chunks p \
              WHERE p.backfill_state_id = c.backfill_state_id AND p.status = $5 AND p.chunk_number < c.chunk_number \
                AND cardinality(p.pr_numbers) > 0 ORDER BY p.chunk_number DESC LIMIT 1) END AS after_pr, \
           c.started_at, c.processing_time_ms AS duration_ms, pts.points, c.api_calls_made AS requests, \
           c.retry_count, c.status::text AS status, c.error \
         FROM backfill_chunks c LEFT JOIN backfill_chunk_points pts ON pts.chunk_id = c.id \
         WHERE c.backfill_state_id = $1 AND (NOT $2 OR c.status = $3) \
         ORDER BY c.chunk_number DESC LIMIT $4",
    )
    .bind(state_id)
    .bind(failed_only)
    .bind(ChunkStatus::Failed.as_str())
    .bind(i64::from(limit))
    .bind(ChunkStatus::Completed.as_str())
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// What the line above the table says of the backfill.
pub async fn header(pool: &PgPool, backfill: &Backfill) -> StoreResult<HistoryHeader> {
    // Failed chunks since the last stored one, and when the first began:
    // from the counts kept on write (`store::counts`).
    let sql = format!(
        "SELECT m.failing, m.failing_since, s.last_error FROM progressive_backfill_state s {} \
           CROSS JOIN LATERAL (SELECT {}) m WHERE s.id = $1",
        super::counts::join(),
        super::counts::COLUMNS
    );
    let mut tx = pool.begin().await?;
    let found: Option<(i64, Option<DateTime<Utc>>, Option<String>)> =
        unnamed::rows(&sql).bind(backfill.id).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    let (failing_chunks, failing_since, last_error) = found.unwrap_or((0, None, None));
    let meta = &backfill.metadata;
    Ok(HistoryHeader {
        repository: backfill.full_name.clone(),
        status: backfill.status,
        priority: meta.priority.unwrap_or_default(),
        processed_prs: backfill.processed_prs,
        total_prs: backfill.total_prs,
        consecutive_errors: backfill.consecutive_errors,
        failing_chunks,
        failing_since,
        last_error,
        paused_until: meta.paused_until,
        pause_reason: meta.pause_reason.clone(),
        removed: backfill.removed,
    })
}
