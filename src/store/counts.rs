//! `backfill_chunk_counts`, a table of the tool's own: each backfill's chunk
//! rows counted as they are written, so that a chunk's commit (its number,
//! its `retry_count`), `status` (chunks done and failed) and `history`
//! (failing since when) read one row, not the whole history.
//!
//! Every chunk row numbered up to `counted_through` is in the counts. The
//! tool inserts its rows one number above, in the statement that moves the
//! counts on (`chunks::insert_chunk`); rows another tool inserted above it
//! are added by whoever reads (`JOIN`'s `u`: one probe of the contract's
//! index on (backfill_state_id, chunk_number), which finds none as a rule)
//! and stored by the next chunk's commit. A backfill without a row (the
//! table is new, or the row was made before by another tool) is counted
//! from its first chunk, and `migrate` fills its row (`fill_missing`).

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::error::StoreResult;
use super::unnamed;
use crate::status::ChunkStatus;

/// The counts of the backfill of the state row `s` in the FROM clause:
/// joins `k` (the row kept) and `u` (the rows above it); `COLUMNS` reads them.
pub(super) fn join() -> String {
    format!(
        "LEFT JOIN backfill_chunk_counts k ON k.backfill_state_id = s.id \
         CROSS JOIN LATERAL ( \
           SELECT max(n.chunk_number) AS through, \
             count(*) FILTER (WHERE n.status = '{done}') AS completed, \
             count(*) FILTER (WHERE n.status = '{failed}') AS failed, \
             max(n.stored) AS stored, \
             count(*) FILTER (WHERE n.status = '{failed}' AND n.chunk_number > n.stored) AS failing_after, \
             min(n.started_at) FILTER (WHERE n.status = '{failed}') AS first_failed_at, \
             min(n.started_at) FILTER (WHERE n.status = '{failed}' AND n.chunk_number > n.stored) AS failing_after_since, \
             coalesce(sum(n.new_prs) FILTER (WHERE n.status = '{done}'), 0) AS new_prs \
           FROM (SELECT c.chunk_number, c.status::text AS status, c.started_at, \
                   coalesce(p.new_prs, cardinality(c.pr_numbers), 0) AS new_prs, \
                   max(c.chunk_number) FILTER (WHERE c.status = '{done}') OVER () AS stored \
                 FROM backfill_chunks c LEFT JOIN backfill_chunk_points p ON p.chunk_id = c.id \
                 WHERE c.backfill_state_id = s.id AND c.chunk_number > coalesce(k.counted_through, 0)) n) u",
        done = ChunkStatus::Completed,
        failed = ChunkStatus::Failed,
    )
}

/// The counts `join()` reads, as columns of those names. A completed chunk
/// above the kept row restarts the failures in a row from it.
pub(super) const COLUMNS: &str =
    "greatest(coalesce(k.counted_through, 0), coalesce(u.through, 0)) AS counted_through, \
     (coalesce(k.completed, 0) + u.completed)::bigint AS completed, \
     (coalesce(k.failed, 0) + u.failed)::bigint AS failed, \
     (CASE WHEN u.stored IS NULL THEN coalesce(k.failing, 0) + u.failed ELSE u.failing_after END)::bigint AS failing, \
     CASE WHEN u.stored IS NULL THEN coalesce(k.failing_since, u.first_failed_at) ELSE u.failing_after_since END \
       AS failing_since, \
     (coalesce(k.stored_prs, 0) + u.new_prs)::bigint AS stored_prs";

/// The statement that writes the counts `join()` reads for the backfills
/// `filter` picks: their rows made, or brought up to date.
fn write(filter: &str) -> String {
    format!(
        "INSERT INTO backfill_chunk_counts (backfill_state_id, counted_through, completed, failed, failing, \
           failing_since, stored_prs) \
         SELECT s.id, {COLUMNS} FROM progressive_backfill_state s {join} WHERE {filter} \
         ON CONFLICT (backfill_state_id) DO UPDATE SET counted_through = EXCLUDED.counted_through, \
           completed = EXCLUDED.completed, failed = EXCLUDED.failed, failing = EXCLUDED.failing, \
           failing_since = EXCLUDED.failing_since, stored_prs = EXCLUDED.stored_prs",
        join = join()
    )
}

/// Makes the row of each backfill that has none, counting its chunk rows
/// once (after the migration that made the table, or for backfills another
/// tool made); returns how many.
pub async fn fill_missing(pool: &PgPool) -> StoreResult<u64> {
    let sql = write("NOT EXISTS (SELECT 1 FROM backfill_chunk_counts x WHERE x.backfill_state_id = s.id)");
    let mut tx = pool.begin().await?;
    let made = unnamed::statement(&sql).execute(&mut *tx).await?.rows_affected();
    tx.commit().await?;
    Ok(made)
}

/// Recounts one backfill's row from all its chunk rows, in the caller's
/// transaction (which holds the state row, as a chunk's commit does);
/// returns whether the counts read before (kept and added up) were wrong.
pub(super) async fn recount(tx: &mut PgConnection, state_id: Uuid) -> StoreResult<bool> {
    let read = format!(
        "SELECT concat_ws(' ', m.counted_through, m.completed, m.failed, m.failing, m.failing_since, m.stored_prs) \
         FROM progressive_backfill_state s {join} CROSS JOIN LATERAL (SELECT {COLUMNS}) m WHERE s.id = $1",
        join = join()
    );
    let before: Option<String> = unnamed::scalar(&read).bind(state_id).fetch_optional(&mut *tx).await?;
    unnamed::statement("DELETE FROM backfill_chunk_counts WHERE backfill_state_id = $1")
        .bind(state_id)
        .execute(&mut *tx)
        .await?;
    unnamed::statement(&write("s.id = $1")).bind(state_id).execute(&mut *tx).await?;
    let after: Option<String> = unnamed::scalar(&read).bind(state_id).fetch_optional(&mut *tx).await?;
    Ok(before != after)
}
