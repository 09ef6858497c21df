//! `backfill_chunks` rows and the state changes that go with them. Both are
//! written in a short transaction that first confirms the claim and so locks
//! the backfill's state row (`claims::confirm`), so the next chunk number is
//! simply the highest plus one.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::{sql, Patch};
use super::pause;
use super::state::{self, Backfill};
use super::unnamed;
use crate::status::{BackfillStatus, ChunkStatus};

/// How a chunk went, for its `backfill_chunks` row.
#[derive(Debug, Clone)]
pub struct ChunkRecord {
    pub started_at: DateTime<Utc>,
    pub pr_numbers: Vec<i32>,
    pub api_calls: i32,
    pub rate_limit_remaining: Option<i32>,
    pub processor_type: &'static str,
    /// Points its requests cost, failed ones included (`backfill_chunk_points`).
    pub points: i64,
}

/// Where the backfill stands after a stored chunk.
#[derive(Debug, Clone)]
pub struct Advance {
    pub cursor: Option<String>,
    pub last_pr_number: Option<i32>,
    pub total_prs: i32,
    /// GitHub said there is no next page. It has been seen to say so too
    /// early, so the backfill is completed only when the stored PRs reach
    /// `totalCount` too, or a page from the cursor comes back `empty`.
    pub no_next_page: bool,
    pub empty: bool,
    pub chunk_size: i32,
    /// What the tool learned about the repository, written to `metadata`.
    pub learned: Patch,
}

/// A chunk row, its points beside it, in one statement. `retry_count` is the
/// failed attempts at the same page before this one: the failures since the
/// last stored chunk (a failure never moves the cursor).
pub async fn insert_chunk(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
    status: ChunkStatus,
    error: Option<&str>,
) -> StoreResult<i32> {
    Ok(unnamed::scalar(
        "WITH c AS ( \
           INSERT INTO backfill_chunks (id, repository_id, backfill_state_id, chunk_number, pr_numbers, status, \
             processor_type, started_at, completed_at, error, retry_count, api_calls_made, rate_limit_remaining, created_at) \
           SELECT $1, $2, $3, coalesce(max(chunk_number), 0) + 1, $4, $5, $6, $7, now(), $8, \
             count(*) FILTER (WHERE status = $12 AND chunk_number > coalesce( \
               (SELECT max(g.chunk_number) FROM backfill_chunks g WHERE g.backfill_state_id = $3 AND g.status = $13), 0))::int, \
             $9, $10, now() \
           FROM backfill_chunks WHERE backfill_state_id = $3 \
           RETURNING id, chunk_number), \
         p AS (INSERT INTO backfill_chunk_points (chunk_id, points) SELECT id, $11 FROM c) \
         SELECT chunk_number FROM c",
    )
    .bind(super::new_id())
    .bind(backfill.repository_id)
    .bind(backfill.id)
    .bind(&record.pr_numbers)
    .bind(status.as_str())
    .bind(record.processor_type)
    .bind(record.started_at)
    .bind(error)
    .bind(record.api_calls)
    .bind(record.rate_limit_remaining)
    .bind(i32::try_from(record.points.max(0)).unwrap_or(i32::MAX))
    .bind(ChunkStatus::Failed.as_str())
    .bind(ChunkStatus::Completed.as_str())
    .fetch_one(&mut *tx)
    .await?)
}

/// The completed row of a chunk that stored PRs; none for one that stored none.
pub async fn insert_completed(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
) -> StoreResult<Option<i32>> {
    if record.pr_numbers.is_empty() {
        return Ok(None);
    }
    Ok(Some(insert_chunk(tx, backfill, record, ChunkStatus::Completed, None).await?))
}

/// Moves the cursor and counters; `processed_prs` is counted from the rows
/// themselves so that it always equals what is stored. Returns it, and
/// whether the backfill is now completed.
pub async fn advance(tx: &mut PgConnection, backfill: &Backfill, next: &Advance) -> StoreResult<(i32, bool)> {
    let sql = format!(
        "UPDATE progressive_backfill_state SET \
           last_processed_cursor = coalesce($2, last_processed_cursor), \
           processed_prs = (SELECT count(*) FROM pull_requests WHERE repository_id = $3), \
           last_processed_pr_number = coalesce($4, last_processed_pr_number), \
           last_processed_at = now(), total_prs = $5, \
           status = CASE WHEN {by_hand} THEN status \
             WHEN $6 AND ($8 OR (SELECT count(*) FROM pull_requests WHERE repository_id = $3) >= $5) THEN '{completed}' \
             ELSE '{active}' END, \
           chunk_size = CASE WHEN $8 THEN chunk_size ELSE $7 END, consecutive_errors = 0, last_error = NULL, last_error_at = NULL, \
           metadata = CASE WHEN {by_hand} THEN {kept} ELSE {cleared} END, \
           updated_at = now() \
         WHERE id = $1 RETURNING processed_prs, status::text = '{completed}'",
        by_hand = pause::paused_by_hand(),
        completed = BackfillStatus::Completed,
        active = BackfillStatus::Active,
        kept = sql::apply(9),
        cleared = sql::apply(11),
    );
    let cleared = Patch::clear_pause().and(next.learned.clone());
    Ok(unnamed::rows(&sql)
        .bind(backfill.id)
        .bind(&next.cursor)
        .bind(backfill.repository_id)
        .bind(next.last_pr_number)
        .bind(next.total_prs)
        .bind(next.no_next_page)
        .bind(next.chunk_size)
        .bind(next.empty)
        .bind(next.learned.removed_keys())
        .bind(next.learned.set_object())
        .bind(cleared.removed_keys())
        .bind(cleared.set_object())
        .fetch_one(&mut *tx)
        .await?)
}

/// Records a failed chunk: its `failed` row, then the error counters.
/// Returns whether the backfill is now paused.
pub async fn fail_chunk(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
    error: &str,
    learned: &Patch,
) -> StoreResult<bool> {
    insert_chunk(tx, backfill, record, ChunkStatus::Failed, Some(error)).await?;
    state::remember(tx, backfill, learned).await?;
    pause::record_failure(tx, backfill, error).await
}

/// A chunk GitHub could not serve (down, overloaded, too slow): its `failed`
/// row and the error, but no step towards a pause, which is for failures
/// of the backfill's own.
pub async fn record_outage(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
    error: &str,
    learned: &Patch,
) -> StoreResult<()> {
    insert_chunk(tx, backfill, record, ChunkStatus::Failed, Some(error)).await?;
    state::remember(tx, backfill, learned).await?;
    unnamed::statement(
        "UPDATE progressive_backfill_state SET error_count = coalesce(error_count, 0) + 1, \
           last_error = $2, last_error_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(backfill.id)
    .bind(error)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks a backfill `failed` (GitHub no longer has the repository, or denies it).
pub async fn mark_failed(tx: &mut PgConnection, backfill: &Backfill, error: &str) -> StoreResult<()> {
    unnamed::statement(
        "UPDATE progressive_backfill_state SET status = $3, last_error = $2, last_error_at = now(), \
           error_count = coalesce(error_count, 0) + 1, updated_at = now() WHERE id = $1",
    )
    .bind(backfill.id)
    .bind(error)
    .bind(BackfillStatus::Failed.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The latest failed chunk of a backfill: its number and error.
pub async fn last_failure(pool: &sqlx::PgPool, state_id: Uuid) -> StoreResult<Option<(i32, Option<String>)>> {
    let mut tx = pool.begin().await?;
    let row = unnamed::rows(
        "SELECT chunk_number, error FROM backfill_chunks WHERE backfill_state_id = $1 AND status = $2 \
         ORDER BY chunk_number DESC LIMIT 1",
    )
    .bind(state_id)
    .bind(ChunkStatus::Failed.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
}
