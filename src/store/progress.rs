//! A backfill's progress as its own chunk rows tell it, for the ETA, the
//! step summary's chart and the `status --html` page: plain values, read
//! in one short transaction, never locking anything.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgPool, Row};
use uuid::Uuid;

use super::counts;
use super::error::StoreResult;
use super::metadata::{Metadata, PauseKind};
use super::unnamed;
use crate::budget::Budget;
use crate::report::ChunkPoint;
use crate::status::ChunkStatus;

/// The chunks read per backfill: enough for the ETA's window on the
/// 30-minute schedule and for a picture, never a whole long history.
pub const RECENT_CHUNKS: i64 = 500;

/// What the state row adds to the chunks.
#[derive(Debug, Clone)]
pub struct Progress {
    pub state_id: Uuid,
    pub repository_id: Uuid,
    pub points_per_pr: Option<f64>,
    /// The budget the backfill's last chunk saw.
    pub budget: Option<Budget>,
    /// Why it is paused, when it is.
    pub pause_kind: Option<PauseKind>,
    /// When the backfill began (its state row was made).
    pub began_at: Option<DateTime<Utc>>,
    /// The most recent chunks, oldest first.
    pub chunks: Vec<ChunkPoint>,
}

/// A chunk row and the backfill it is of.
struct Chunk(Uuid, ChunkPoint);

impl<'r> FromRow<'r, PgRow> for Chunk {
    fn from_row(row: &'r PgRow) -> Result<Chunk, sqlx::Error> {
        let status: Option<String> = row.try_get("status")?;
        Ok(Chunk(
            row.try_get("backfill_state_id")?,
            ChunkPoint {
                number: row.try_get("chunk_number")?,
                started_at: row.try_get("started_at")?,
                completed_at: row.try_get("completed_at")?,
                prs: row.try_get("prs")?,
                stored_after: row.try_get("stored_after")?,
                points: row.try_get::<Option<i32>, _>("points")?.map(i64::from),
                failed: status.as_deref() == Some(ChunkStatus::Failed.as_str()),
                error: row.try_get("error")?,
            },
        ))
    }
}

/// The recent chunks of each of the backfills `$1`, at most `$2` each
/// (the newest, through the contract's index on (backfill_state_id,
/// chunk_number)), with `stored_after`: the PRs the backfill's completed
/// chunks had stored by then, each PR once. It is worked back from the
/// total kept in the counts (`store::counts`), less the PRs each newer
/// chunk of the window stored that were not stored before
/// (`backfill_chunk_points.new_prs`; all of a row's PRs for a row another
/// tool wrote). Rows without times (another tool's) are left out. One
/// statement for a whole fleet, whose work grows with the backfills and
/// the window, never with the history.
fn chunks_sql() -> String {
    format!(
        "SELECT * FROM ( \
           SELECT s.id AS backfill_state_id, w.chunk_number, w.started_at, w.completed_at, w.prs, w.status, w.error, \
             w.points, greatest(m.stored_prs - coalesce(sum(w.new_prs) OVER (PARTITION BY s.id ORDER BY w.chunk_number DESC \
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), 0)::bigint AS stored_after \
           FROM progressive_backfill_state s {join} \
           CROSS JOIN LATERAL (SELECT {columns}) m \
           CROSS JOIN LATERAL ( \
             SELECT c.chunk_number, coalesce(c.started_at, c.completed_at, c.created_at) AS started_at, \
               coalesce(c.completed_at, c.started_at, c.created_at) AS completed_at, \
               coalesce(cardinality(c.pr_numbers), 0)::bigint AS prs, c.status::text AS status, c.error, p.points, \
               CASE WHEN c.status = $3 THEN coalesce(p.new_prs, cardinality(c.pr_numbers), 0) ELSE 0 END AS new_prs \
             FROM backfill_chunks c LEFT JOIN backfill_chunk_points p ON p.chunk_id = c.id \
             WHERE c.backfill_state_id = s.id AND c.chunk_number IS NOT NULL \
             ORDER BY c.chunk_number DESC LIMIT $2) w \
           WHERE s.id = ANY($1)) recent \
         WHERE started_at IS NOT NULL ORDER BY backfill_state_id, chunk_number",
        join = counts::join(),
        columns = counts::COLUMNS,
    )
}

/// The progress of the backfill with this state id.
pub async fn of_backfill(pool: &PgPool, state_id: Uuid) -> StoreResult<Option<Progress>> {
    Ok(read(pool, "s.id = ANY($1)", &[state_id]).await?.pop())
}

/// The progress of the repository's backfill (what `status` lists by).
pub async fn of_repository(pool: &PgPool, repository_id: Uuid) -> StoreResult<Option<Progress>> {
    Ok(read(pool, "s.repository_id = ANY($1)", &[repository_id]).await?.pop())
}

/// The progress of each of these backfills (by state id), in no order.
pub async fn of_backfills(pool: &PgPool, state_ids: &[Uuid]) -> StoreResult<Vec<Progress>> {
    read(pool, "s.id = ANY($1)", state_ids).await
}

/// The progress of each of these repositories' backfills, in no order.
pub async fn of_repositories(pool: &PgPool, repository_ids: &[Uuid]) -> StoreResult<Vec<Progress>> {
    read(pool, "s.repository_id = ANY($1)", repository_ids).await
}

/// The state rows `filter` picks and their recent chunks, in two statements
/// of one short transaction.
async fn read(pool: &PgPool, filter: &str, ids: &[Uuid]) -> StoreResult<Vec<Progress>> {
    let sql = format!(
        "SELECT s.id, s.repository_id, coalesce(s.metadata, '{{}}'::jsonb) AS metadata, s.created_at \
         FROM progressive_backfill_state s WHERE {filter}"
    );
    let mut tx = pool.begin().await?;
    type State = (Uuid, Uuid, Json<Metadata>, Option<DateTime<Utc>>);
    let states: Vec<State> = unnamed::rows(&sql).bind(ids).fetch_all(&mut *tx).await?;
    let state_ids: Vec<Uuid> = states.iter().map(|s| s.0).collect();
    let chunks: Vec<Chunk> = match state_ids.is_empty() {
        true => Vec::new(),
        false => {
            unnamed::rows(&chunks_sql())
                .bind(&state_ids)
                .bind(RECENT_CHUNKS)
                .bind(ChunkStatus::Completed.as_str())
                .fetch_all(&mut *tx)
                .await?
        }
    };
    tx.commit().await?;
    let mut by_state: HashMap<Uuid, Vec<ChunkPoint>> = HashMap::new();
    for Chunk(state_id, point) in chunks {
        by_state.entry(state_id).or_default().push(point);
    }
    Ok(states
        .into_iter()
        .map(|(state_id, repository_id, Json(meta), began_at)| Progress {
            state_id,
            repository_id,
            points_per_pr: meta.points_per_pr,
            budget: meta.rate_limit,
            pause_kind: meta.pause_kind,
            began_at,
            chunks: by_state.remove(&state_id).unwrap_or_default(),
        })
        .collect())
}
