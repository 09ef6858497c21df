//! What a person decides about a backfill beyond pause and resume: its
//! priority, whether it is tracked at all, and what the runs record for
//! the priorities (the runs each backfill was passed over).
//!
//! A removed backfill keeps its state row (unless `--purge`) and is marked
//! in `backfill_removals`, a table of the tool's own, rather than by a
//! status or a metadata key: the status column holds only the contract's
//! four words, none of which means "gone", and a metadata key would vanish
//! with the row that `--purge` deletes, after which `run --discover` would
//! start the repository again. The kept row lets `history` still answer
//! and `add` go on from the stored cursor.

use sqlx::PgPool;
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::{sql, Change, Key, Patch};
use super::unnamed;
use crate::status::Priority;

/// Stores a backfill's priority (`metadata.priority`).
pub async fn set_priority(pool: &PgPool, repository_id: Uuid, priority: Priority) -> StoreResult<()> {
    let patch = Patch { priority: Change::Set(priority), ..Patch::default() };
    super::state::write_patch(pool, repository_id, &patch, false).await
}

/// After a run: the backfills it gave a turn forget how long they waited,
/// the ones it selected but gave none count one more run passed over.
/// `updated_at` is left alone, as it orders the work within a priority.
pub async fn record_turns(pool: &PgPool, served: &[Uuid], passed: &[Uuid]) -> StoreResult<()> {
    if served.is_empty() && passed.is_empty() {
        return Ok(());
    }
    let turn = Patch { passed_over: Change::Remove, ..Patch::default() };
    let sql = format!(
        "UPDATE progressive_backfill_state SET metadata = CASE WHEN id = ANY($1) THEN {} ELSE {} END \
         WHERE id = ANY($1) OR id = ANY($2)",
        sql::apply(3),
        sql::count_up(Key::PassedOver)
    );
    let mut tx = pool.begin().await?;
    unnamed::statement(&sql)
        .bind(served)
        .bind(passed)
        .bind(turn.removed_keys())
        .bind(turn.set_object())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Stops a backfill for good: marked removed, and with `purge` its claim,
/// state row and chunk rows deleted (the claim first: every writer locks
/// the claim before the state row, so none waits on another in a circle,
/// and a chunk being stored commits before the purge deletes it). The
/// stored PRs stay either way.
pub async fn remove(pool: &PgPool, repository_id: Uuid, state_id: Uuid, purge: bool) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    unnamed::statement(
        "INSERT INTO backfill_removals (repository_id, removed_at, purged) VALUES ($1, now(), $2) \
         ON CONFLICT (repository_id) DO UPDATE SET purged = backfill_removals.purged OR EXCLUDED.purged",
    )
    .bind(repository_id)
    .bind(purge)
    .execute(&mut *tx)
    .await?;
    if purge {
        for sql in [
            "DELETE FROM backfill_claims WHERE backfill_state_id = $1",
            // Its chunk rows, and their points, go with it (ON DELETE CASCADE).
            "DELETE FROM progressive_backfill_state WHERE id = $1",
        ] {
            unnamed::statement(sql).bind(state_id).execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// A repository removed before, by UUID or OWNER/NAME: its name, and
/// whether its backfill was purged.
pub async fn removed(pool: &PgPool, ident: &str) -> StoreResult<Option<(String, bool)>> {
    let mut tx = pool.begin().await?;
    let found = unnamed::rows(
        "SELECT coalesce(r.full_name, r.owner || '/' || r.name), x.purged FROM backfill_removals x \
         JOIN repositories r ON r.id = x.repository_id \
         WHERE r.id::text = $1 OR lower(r.full_name) = lower($1) OR lower(r.owner || '/' || r.name) = lower($1)",
    )
    .bind(ident)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(found)
}

/// Whether the backfill is gone (purged) or marked removed: why a claim
/// that vanished, or a backfill no longer runnable, stopped.
pub async fn gone(pool: &PgPool, state_id: Uuid) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    let gone = unnamed::scalar(
        "SELECT NOT EXISTS (SELECT 1 FROM progressive_backfill_state s WHERE s.id = $1 \
           AND NOT EXISTS (SELECT 1 FROM backfill_removals x WHERE x.repository_id = s.repository_id))",
    )
    .bind(state_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(gone)
}
