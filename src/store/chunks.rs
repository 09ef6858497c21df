//! `backfill_chunks` rows and the state changes that go with them. Both are
//! written in a short transaction that first confirms the claim and so locks
//! the backfill's state row (`claims::confirm`), so the next chunk number is
//! simply the one after the last counted (`store::counts`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::counts;
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

/// What a chunk row records: PRs stored (and how many of them were not
/// stored before), or a failure and its error.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    Stored { new_prs: i32 },
    Failed { error: &'a str },
}

/// A chunk row, its points beside it and the backfill's counts moved on,
/// in one statement. Its number is the one after the last counted, and its
/// `retry_count` the failed attempts at the same page before it: the
/// failures since the last stored chunk (a failure never moves the
/// cursor), both from the counts (`store::counts`), never a count of the
/// history. The state row is locked (`claims::confirm`), so no other
/// commit moves the counts meanwhile.
pub async fn insert_chunk(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
    outcome: Outcome<'_>,
) -> StoreResult<i32> {
    let (status, error, new_prs) = match outcome {
        Outcome::Stored { new_prs } => (ChunkStatus::Completed, None, new_prs.max(0)),
        Outcome::Failed { error } => (ChunkStatus::Failed, Some(error), 0),
    };
    let sql = format!(
        "WITH k AS (SELECT {columns} FROM progressive_backfill_state s {join} WHERE s.id = $3), \
         c AS ( \
           INSERT INTO backfill_chunks (id, repository_id, backfill_state_id, chunk_number, pr_numbers, status, \
             processor_type, started_at, completed_at, error, retry_count, api_calls_made, rate_limit_remaining, created_at) \
           SELECT $1, $2, $3, k.counted_through + 1, $4, $5, $6, $7, now(), $8, k.failing, $9, $10, now() FROM k \
           RETURNING id, chunk_number), \
         p AS (INSERT INTO backfill_chunk_points (chunk_id, points, new_prs) SELECT id, $11, $12 FROM c), \
         n AS ( \
           INSERT INTO backfill_chunk_counts (backfill_state_id, counted_through, completed, failed, failing, \
             failing_since, stored_prs) \
           SELECT $3, c.chunk_number, k.completed + $13::int, k.failed + (NOT $13)::int, \
             CASE WHEN $13 THEN 0 ELSE k.failing + 1 END, \
             CASE WHEN $13 THEN NULL ELSE coalesce(k.failing_since, $7) END, k.stored_prs + $12 \
           FROM k, c \
           ON CONFLICT (backfill_state_id) DO UPDATE SET counted_through = EXCLUDED.counted_through, \
             completed = EXCLUDED.completed, failed = EXCLUDED.failed, failing = EXCLUDED.failing, \
             failing_since = EXCLUDED.failing_since, stored_prs = EXCLUDED.stored_prs) \
         SELECT chunk_number FROM c",
        columns = counts::COLUMNS,
        join = counts::join(),
    );
    Ok(unnamed::scalar(&sql)
        .bind(super::ids::new_id())
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
        .bind(new_prs)
        .bind(status == ChunkStatus::Completed)
        .fetch_one(&mut *tx)
        .await?)
}

/// The completed row of a chunk that stored PRs (`new_prs` of them not
/// stored before); none for one that stored none.
pub async fn insert_completed(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
    new_prs: i32,
) -> StoreResult<Option<i32>> {
    if record.pr_numbers.is_empty() {
        return Ok(None);
    }
    Ok(Some(insert_chunk(tx, backfill, record, Outcome::Stored { new_prs }).await?))
}

/// Moves the cursor and counters; `processed_prs` moves by the PRs the
/// chunk stored that were not stored before (`upsert::store_pull_requests`
/// says how many), so that it stays equal to what is stored without a
/// count of the repository's PRs (`backfill migrate` recounts it, should
/// anything else delete or move PRs). Returns it, and whether the backfill
/// is now completed.
pub async fn advance(
    tx: &mut PgConnection,
    backfill: &Backfill,
    next: &Advance,
    new_prs: i32,
) -> StoreResult<(i32, bool)> {
    let sql = format!(
        "UPDATE progressive_backfill_state SET \
           last_processed_cursor = coalesce($2, last_processed_cursor), \
           processed_prs = coalesce(processed_prs, 0) + $3, \
           last_processed_pr_number = coalesce($4, last_processed_pr_number), \
           last_processed_at = now(), total_prs = $5, \
           status = CASE WHEN {by_hand} THEN status \
             WHEN $6 AND ($8 OR coalesce(processed_prs, 0) + $3 >= $5) THEN '{completed}' \
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
        .bind(new_prs.max(0))
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
    insert_chunk(tx, backfill, record, Outcome::Failed { error }).await?;
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
    insert_chunk(tx, backfill, record, Outcome::Failed { error }).await?;
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
