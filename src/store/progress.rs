//! A backfill's progress as its own chunk rows tell it, for the ETA, the
//! step summary's chart and the `status --html` page: plain values, read
//! in one short transaction, never locking anything.

use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgPool, Row};
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::Metadata;
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
    /// The most recent chunks, oldest first.
    pub chunks: Vec<ChunkPoint>,
}

struct Chunk(ChunkPoint);

impl<'r> FromRow<'r, PgRow> for Chunk {
    fn from_row(row: &'r PgRow) -> Result<Chunk, sqlx::Error> {
        let status: Option<String> = row.try_get("status")?;
        Ok(Chunk(ChunkPoint {
            number: row.try_get("chunk_number")?,
            started_at: row.try_get("started_at")?,
            completed_at: row.try_get("completed_at")?,
            prs: row.try_get("prs")?,
            stored_after: row.try_get("stored_after")?,
            points: row.try_get::<Option<i32>, _>("points")?.map(i64::from),
            failed: status.as_deref() == Some(ChunkStatus::Failed.as_str()),
            error: row.try_get("error")?,
        }))
    }
}

/// The recent chunks of each backfill, with `stored_after` counting each PR
/// at the first completed chunk that held it. Rows another tool wrote
/// without times are left out.
const CHUNKS: &str = "WITH firsts AS ( \
       SELECT first_chunk, count(*) AS n FROM ( \
         SELECT min(c.chunk_number) AS first_chunk FROM backfill_chunks c, unnest(c.pr_numbers) AS pr \
         WHERE c.backfill_state_id = $1 AND c.status = $3 GROUP BY pr) f \
       GROUP BY first_chunk), \
     numbered AS ( \
       SELECT c.chunk_number, coalesce(c.started_at, c.completed_at, c.created_at) AS started_at, \
         coalesce(c.completed_at, c.started_at, c.created_at) AS completed_at, \
         coalesce(cardinality(c.pr_numbers), 0)::bigint AS prs, c.status::text AS status, c.error, p.points, \
         (sum(coalesce(f.n, 0)) OVER (ORDER BY c.chunk_number))::bigint AS stored_after \
       FROM backfill_chunks c \
       LEFT JOIN firsts f ON f.first_chunk = c.chunk_number AND c.status = $3 \
       LEFT JOIN backfill_chunk_points p ON p.chunk_id = c.id \
       WHERE c.backfill_state_id = $1 AND c.chunk_number IS NOT NULL) \
     SELECT * FROM numbered WHERE started_at IS NOT NULL ORDER BY chunk_number DESC LIMIT $2";

/// The progress of the backfill with this state id.
pub async fn of_backfill(pool: &PgPool, state_id: Uuid) -> StoreResult<Option<Progress>> {
    read(pool, "s.id = $1", state_id).await
}

/// The progress of the repository's backfill (what `status` lists by).
pub async fn of_repository(pool: &PgPool, repository_id: Uuid) -> StoreResult<Option<Progress>> {
    read(pool, "s.repository_id = $1", repository_id).await
}

async fn read(pool: &PgPool, filter: &str, id: Uuid) -> StoreResult<Option<Progress>> {
    let sql = format!(
        "SELECT s.id, s.repository_id, coalesce(s.metadata, '{{}}'::jsonb) AS metadata \
         FROM progressive_backfill_state s WHERE {filter}"
    );
    let mut tx = pool.begin().await?;
    let state: Option<(Uuid, Uuid, Json<Metadata>)> = unnamed::rows(&sql).bind(id).fetch_optional(&mut *tx).await?;
    let Some((state_id, repository_id, Json(meta))) = state else {
        tx.commit().await?;
        return Ok(None);
    };
    let mut chunks: Vec<Chunk> = unnamed::rows(CHUNKS)
        .bind(state_id)
        .bind(RECENT_CHUNKS)
        .bind(ChunkStatus::Completed.as_str())
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    chunks.reverse();
    Ok(Some(Progress {
        state_id,
        repository_id,
        points_per_pr: meta.points_per_pr,
        budget: meta.rate_limit,
        chunks: chunks.into_iter().map(|c| c.0).collect(),
    }))
}
