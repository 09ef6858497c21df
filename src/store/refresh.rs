//! Keeping a completed backfill current: a sweep's page stored like a
//! chunk, in one short transaction (its PRs refreshed whole, its chunk row,
//! the sweep moved on), and the reviews and comments GitHub no longer has
//! for a refreshed PR deleted.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::{sql, Change, Key, Patch};
use super::pause::paused_by_hand;
use super::state::Backfill;
use super::unnamed;
use crate::github::model::PullRequest;
use crate::status::BackfillStatus;

/// Where a sweep goes after a page: on from `cursor`, or done.
#[derive(Debug, Clone)]
pub struct SweepAdvance {
    pub started_at: DateTime<Utc>,
    pub cursor: Option<String>,
    /// The sweep reached PRs older than its watermark: the next one starts
    /// over, from a watermark of `watermark`.
    pub done: Option<DateTime<Utc>>,
    pub total_prs: i32,
    pub learned: Patch,
}

/// Deletes what refreshed PRs no longer have on GitHub: reviews and
/// comments of theirs that the fetch did not bring. A reply to a deleted
/// comment keeps its text and loses only its link.
pub async fn delete_vanished(tx: &mut PgConnection, repository_id: Uuid, prs: &[PullRequest]) -> StoreResult<()> {
    if prs.is_empty() {
        return Ok(());
    }
    let numbers: Vec<i32> = prs.iter().map(|p| p.number).collect();
    let reviews: Vec<i64> = prs.iter().flat_map(|p| p.reviews.iter().map(|r| r.github_id)).collect();
    let comments: Vec<i64> = prs.iter().flat_map(|p| p.comments.iter().map(|c| c.github_id)).collect();
    let of_these = "pull_request_id IN (SELECT id FROM pull_requests WHERE repository_id = $1 AND number = ANY($2))";
    unnamed::statement(&format!(
        "UPDATE comments SET in_reply_to_id = NULL WHERE in_reply_to_id IN \
           (SELECT id FROM comments WHERE {of_these} AND NOT (github_id = ANY($3)))"
    ))
    .bind(repository_id)
    .bind(&numbers)
    .bind(&comments)
    .execute(&mut *tx)
    .await?;
    unnamed::statement(&format!("DELETE FROM comments WHERE {of_these} AND NOT (github_id = ANY($3))"))
        .bind(repository_id)
        .bind(&numbers)
        .bind(&comments)
        .execute(&mut *tx)
        .await?;
    unnamed::statement(&format!("DELETE FROM reviews WHERE {of_these} AND NOT (github_id = ANY($3))"))
        .bind(repository_id)
        .bind(&numbers)
        .bind(&reviews)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Moves the sweep on (or ends it, setting the watermark and "current as
/// of"), with `processed_prs` moved by the page's PRs that were not stored
/// before (as `chunks::advance`). Returns it.
pub async fn advance_sweep(
    tx: &mut PgConnection,
    backfill: &Backfill,
    next: &SweepAdvance,
    new_prs: i32,
) -> StoreResult<i32> {
    let sweep = match next.done {
        Some(watermark) => Patch {
            refresh_from: Change::Set(watermark),
            current_as_of: Change::Set(next.started_at),
            sweep_started_at: Change::Remove,
            sweep_cursor: Change::Remove,
            ..Patch::default()
        },
        None => Patch {
            sweep_started_at: Change::Set(next.started_at),
            sweep_cursor: Change::set_or_remove(next.cursor.clone()),
            ..Patch::default()
        },
    };
    let kept = sweep.and(next.learned.clone());
    let cleared = Patch::clear_pause().and(kept.clone());
    let sql = format!(
        "UPDATE progressive_backfill_state SET \
           processed_prs = coalesce(processed_prs, 0) + $2, \
           total_prs = greatest(total_prs, $3), last_processed_at = now(), \
           consecutive_errors = 0, last_error = NULL, last_error_at = NULL, \
           metadata = CASE WHEN {by_hand} THEN {kept} ELSE {cleared} END, \
           updated_at = now() \
         WHERE id = $1 RETURNING processed_prs",
        by_hand = paused_by_hand(),
        kept = sql::apply(4),
        cleared = sql::apply(6),
    );
    Ok(unnamed::scalar(&sql)
        .bind(backfill.id)
        .bind(new_prs.max(0))
        .bind(next.total_prs)
        .bind(kept.removed_keys())
        .bind(kept.set_object())
        .bind(cleared.removed_keys())
        .bind(cleared.set_object())
        .fetch_one(&mut *tx)
        .await?)
}

/// Backfills kept current that a check of many at once found unchanged
/// since their watermark, checked at `checked_at`: as a sweep that found
/// nothing, their copy is current as of then, and the next check's
/// watermark is then, less `margin`. One statement for all of them; a
/// backfill another run holds, or one whose sweep is under way, is left to
/// that sweep.
pub async fn mark_current(
    pool: &PgPool,
    ids: &[Uuid],
    checked_at: DateTime<Utc>,
    watermark: DateTime<Utc>,
) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let current =
        Patch { refresh_from: Change::Set(watermark), current_as_of: Change::Set(checked_at), ..Patch::default() };
    let sql = format!(
        "UPDATE progressive_backfill_state s SET metadata = {}, last_processed_at = now() \
         WHERE s.id = ANY($1) AND s.status = '{completed}' AND s.{cursor} IS NULL \
           AND NOT EXISTS (SELECT 1 FROM backfill_claims c WHERE c.backfill_state_id = s.id AND c.expires_at > now())",
        sql::apply_on("s.metadata", 2),
        completed = BackfillStatus::Completed,
        cursor = sql::text(Key::SweepCursor),
    );
    let mut tx = pool.begin().await?;
    let done = unnamed::statement(&sql)
        .bind(ids)
        .bind(current.removed_keys())
        .bind(current.set_object())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(done)
}
