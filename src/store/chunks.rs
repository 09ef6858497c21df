//! `backfill_chunks` rows and the state changes that go with them. Both are
//! written in a short transaction that first confirms the claim and so locks
//! the backfill's state row (`claims::confirm`), so the next chunk number is
//! simply the highest plus one.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::{StoreError, StoreResult};
use super::metadata::{Metadata, PauseKind};
use super::state::Backfill;
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
    /// What the tool learned about the repository, merged into `metadata`.
    pub learned: Metadata,
}

/// The metadata keys a pause sets, and that an advance or a resume clears.
pub(super) const PAUSE_KEYS: &str = "- 'paused_until' - 'pause_reason' - 'pause_kind' - 'error_pauses' - 'resume_to'";

/// A pause by hand that came while a chunk was fetched: the chunk is
/// stored, and the pause holds.
pub(super) fn paused_by_hand() -> String {
    format!(
        "coalesce(status = '{}' AND metadata->>'pause_kind' = '{}', false)",
        BackfillStatus::Paused,
        PauseKind::Manual.as_str()
    )
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
    .bind(Uuid::new_v4())
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
             WHEN $6 AND ($9 OR (SELECT count(*) FROM pull_requests WHERE repository_id = $3) >= $5) THEN '{completed}' \
             ELSE '{active}' END, \
           chunk_size = CASE WHEN $9 THEN chunk_size ELSE $7 END, consecutive_errors = 0, last_error = NULL, last_error_at = NULL, \
           metadata = CASE WHEN {by_hand} THEN metadata ELSE coalesce(metadata, '{{}}'::jsonb) {PAUSE_KEYS} END || $8, \
           updated_at = now() \
         WHERE id = $1 RETURNING processed_prs, status::text = '{completed}'",
        by_hand = paused_by_hand(),
        completed = BackfillStatus::Completed,
        active = BackfillStatus::Active,
    );
    Ok(unnamed::rows(&sql)
        .bind(backfill.id)
        .bind(&next.cursor)
        .bind(backfill.repository_id)
        .bind(next.last_pr_number)
        .bind(next.total_prs)
        .bind(next.no_next_page)
        .bind(next.chunk_size)
        .bind(next.learned.to_json())
        .bind(next.empty)
        .fetch_one(&mut *tx)
        .await?)
}

/// After this many failures of its own in a row a backfill is paused for a
/// cooldown (`record_failure`), or until `backfill resume`.
pub const MAX_CONSECUTIVE_ERRORS: i32 = 3;

/// Records a failed chunk: its `failed` row, then the error counters.
/// Returns whether the backfill is now paused.
pub async fn fail_chunk(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
    error: &str,
    learned: &Metadata,
) -> StoreResult<bool> {
    insert_chunk(tx, backfill, record, ChunkStatus::Failed, Some(error)).await?;
    remember(tx, backfill, learned).await?;
    record_failure(tx, backfill, error).await
}

/// A chunk GitHub could not serve (down, overloaded, too slow): its `failed`
/// row and the error, but no step towards a pause, which is for failures
/// of the backfill's own.
pub async fn record_outage(
    tx: &mut PgConnection,
    backfill: &Backfill,
    record: &ChunkRecord,
    error: &str,
    learned: &Metadata,
) -> StoreResult<()> {
    insert_chunk(tx, backfill, record, ChunkStatus::Failed, Some(error)).await?;
    remember(tx, backfill, learned).await?;
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

/// Merges what was learned (points spent, sizes) into the metadata.
pub async fn remember(tx: &mut PgConnection, backfill: &Backfill, learned: &Metadata) -> StoreResult<()> {
    unnamed::statement(
        "UPDATE progressive_backfill_state SET metadata = coalesce(metadata, '{}'::jsonb) || $2 WHERE id = $1",
    )
    .bind(backfill.id)
    .bind(learned.to_json())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Counts a failed chunk; pauses the backfill at the third in a row, for a
/// cooldown that doubles with each such pause since the last good chunk
/// (1 h, 2 h, 4 h, ... at most 24 h), after which a run tries it again by
/// itself. Returns whether it is now paused.
async fn record_failure(tx: &mut PgConnection, backfill: &Backfill, error: &str) -> StoreResult<bool> {
    let paused: bool = unnamed::scalar(
        "UPDATE progressive_backfill_state SET \
           error_count = coalesce(error_count, 0) + 1, \
           consecutive_errors = coalesce(consecutive_errors, 0) + 1, \
           last_error = $2, last_error_at = now(), updated_at = now(), \
           status = CASE WHEN coalesce(consecutive_errors, 0) + 1 >= $3 THEN $4 ELSE status END, \
           metadata = CASE WHEN coalesce(consecutive_errors, 0) + 1 >= $3 \
             THEN coalesce(metadata, '{}'::jsonb) || jsonb_build_object('pause_kind', $5::text, \
               'pause_reason', format('%s consecutive failed chunks; last: %s', coalesce(consecutive_errors, 0) + 1, $2::text), \
               'paused_until', now() + least(interval '24 hours', \
                 interval '1 hour' * power(2, least(coalesce((metadata->>'error_pauses')::int, 0), 5))), \
               'error_pauses', coalesce((metadata->>'error_pauses')::int, 0) + 1) \
             ELSE metadata END \
         WHERE id = $1 RETURNING status = $4",
    )
    .bind(backfill.id)
    .bind(error)
    .bind(MAX_CONSECUTIVE_ERRORS)
    .bind(BackfillStatus::Paused.as_str())
    .bind(PauseKind::Errors.as_str())
    .fetch_one(&mut *tx)
    .await?;
    Ok(paused)
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

/// Pauses a backfill until the rate limit resets; a later run resumes it.
/// A pause by hand stays one: it never turns into a pause that ends by
/// itself (what was learned is kept either way).
pub async fn pause_for_rate_limit(
    tx: &mut PgConnection,
    backfill: &Backfill,
    until: DateTime<Utc>,
    reason: &str,
    learned: &Metadata,
) -> StoreResult<()> {
    remember(tx, backfill, learned).await?;
    let sql = format!(
        "UPDATE progressive_backfill_state SET status = $3, updated_at = now(), \
           metadata = coalesce(metadata, '{{}}'::jsonb) || jsonb_build_object('pause_kind', $4::text, \
             'paused_until', $2::timestamptz, 'pause_reason', $5::text) \
         WHERE id = $1 AND NOT {}",
        paused_by_hand()
    );
    unnamed::statement(&sql)
        .bind(backfill.id)
        .bind(until)
        .bind(BackfillStatus::Paused.as_str())
        .bind(PauseKind::RateLimit.as_str())
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// `pause` and `resume` by hand. A pause remembers the status it paused
/// (`resume_to`), so that `resume` of a completed backfill leaves it
/// completed; a resume also forgets the failures in a row and their cooldown.
/// Returns the status now stored.
pub async fn set_status_by_hand(
    pool: &sqlx::PgPool,
    state_id: Uuid,
    status: BackfillStatus,
) -> StoreResult<BackfillStatus> {
    let (active, completed) = (BackfillStatus::Active, BackfillStatus::Completed);
    let sql = match status {
        BackfillStatus::Active => format!(
            "UPDATE progressive_backfill_state SET updated_at = now(), consecutive_errors = 0, \
               status = CASE WHEN status = '{completed}' THEN status \
                 WHEN metadata->>'resume_to' = '{completed}' THEN '{completed}' ELSE '{active}' END, \
               metadata = coalesce(metadata, '{{}}'::jsonb) {PAUSE_KEYS} \
             WHERE id = $1 RETURNING status::text"
        ),
        _ => format!(
            "UPDATE progressive_backfill_state SET updated_at = now(), status = $2, \
               metadata = coalesce(metadata, '{{}}'::jsonb) || jsonb_build_object('pause_kind', $3::text, \
                 'pause_reason', 'paused by hand', \
                 'resume_to', CASE WHEN status IN ('{active}', '{completed}') THEN status::text \
                   ELSE coalesce(metadata->>'resume_to', '{active}') END) \
                 - 'paused_until' \
             WHERE id = $1 RETURNING status::text"
        ),
    };
    let mut tx = pool.begin().await?;
    let stored: Option<String> = unnamed::scalar(&sql)
        .bind(state_id)
        .bind(status.as_str())
        .bind(PauseKind::Manual.as_str())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    BackfillStatus::from_column(stored.as_deref())
        .ok_or_else(|| StoreError::Inconsistent(format!("'{}' is not a backfill status", stored.unwrap_or_default())))
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
