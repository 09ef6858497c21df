//! `repositories` and `progressive_backfill_state`: which backfills exist,
//! and which ones a run may take.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool, Row};
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::{sql, Change, Key, Metadata, Patch, PauseKind};
use super::unnamed;
use crate::github::RepositoryInfo;
use crate::report::StatusLine;
use crate::status::{BackfillStatus, Priority};

/// A backfill with its repository, as read (and locked) at claim time.
#[derive(Debug, Clone)]
pub struct Backfill {
    pub id: Uuid,
    pub repository_id: Uuid,
    pub owner: String,
    pub name: String,
    pub full_name: String,
    pub total_prs: i32,
    pub processed_prs: i32,
    pub last_processed_cursor: Option<String>,
    pub last_processed_pr_number: Option<i32>,
    pub status: BackfillStatus,
    pub chunk_size: Option<i32>,
    pub consecutive_errors: i32,
    pub metadata: Metadata,
    /// When the backfill began: its first sweep refreshes what changed since.
    pub began_at: Option<DateTime<Utc>>,
    /// Stopped for good by `backfill remove` (`store::tracking`).
    pub removed: bool,
}

/// The status column as the contract spells it, decoded here and nowhere else.
fn status_of(row: &PgRow, column: &str) -> Result<BackfillStatus, sqlx::Error> {
    let text: Option<String> = row.try_get(column)?;
    BackfillStatus::from_column(text.as_deref()).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("'{}' is not a backfill status", text.unwrap_or_default()).into(),
    })
}

impl<'r> FromRow<'r, PgRow> for Backfill {
    fn from_row(row: &'r PgRow) -> Result<Backfill, sqlx::Error> {
        let Json(metadata) = row.try_get::<Json<Metadata>, _>("metadata")?;
        Ok(Backfill {
            id: row.try_get("id")?,
            repository_id: row.try_get("repository_id")?,
            owner: row.try_get("owner")?,
            name: row.try_get("name")?,
            full_name: row.try_get("full_name")?,
            total_prs: row.try_get("total_prs")?,
            processed_prs: row.try_get("processed_prs")?,
            last_processed_cursor: row.try_get("last_processed_cursor")?,
            last_processed_pr_number: row.try_get("last_processed_pr_number")?,
            status: status_of(row, "status")?,
            chunk_size: row.try_get("chunk_size")?,
            consecutive_errors: row.try_get("consecutive_errors")?,
            began_at: row.try_get("began_at")?,
            removed: row.try_get("removed")?,
            metadata,
        })
    }
}

impl<'r> FromRow<'r, PgRow> for StatusLine {
    fn from_row(row: &'r PgRow) -> Result<StatusLine, sqlx::Error> {
        let Json(meta) = row.try_get::<Json<Metadata>, _>("metadata")?;
        Ok(StatusLine {
            repository_id: row.try_get("repository_id")?,
            repository: row.try_get("repository")?,
            status: status_of(row, "status")?,
            processed_prs: row.try_get("processed_prs")?,
            total_prs: row.try_get("total_prs")?,
            percent: row.try_get("percent")?,
            chunks_done: row.try_get("chunks_done")?,
            chunks_failed: row.try_get("chunks_failed")?,
            points_spent: meta.points_spent,
            last_run: row.try_get("last_run")?,
            error: row.try_get("error")?,
            // Shown as stored, as text (the column has held two spellings of a time).
            paused_until: row.try_get("paused_until")?,
            current_as_of: meta.current_as_of,
            sweeping: meta.sweep_cursor.is_some(),
            no_refresh: meta.no_refresh == Some(true),
            // Decoded as everywhere else: a word this tool never writes is normal.
            priority: meta.priority.unwrap_or_default(),
            eta: None,
            eta_text: None,
            pause_kind: meta.pause_kind,
            began_at: row.try_get("began_at")?,
            standing: None,
            attention: None,
            audited: None,
        })
    }
}

const BACKFILL_COLUMNS: &str = "s.id, s.repository_id, coalesce(r.owner, split_part(r.full_name, '/', 1)) AS owner, \
     coalesce(r.name, split_part(r.full_name, '/', 2)) AS name, coalesce(r.full_name, r.owner || '/' || r.name) AS full_name, \
     s.total_prs, coalesce(s.processed_prs, 0) AS processed_prs, s.last_processed_cursor, s.last_processed_pr_number, \
     s.status::text AS status, s.chunk_size, coalesce(s.consecutive_errors, 0) AS consecutive_errors, \
     coalesce(s.metadata, '{}'::jsonb) AS metadata, s.created_at AS began_at, \
     EXISTS (SELECT 1 FROM backfill_removals x WHERE x.repository_id = s.repository_id) AS removed";

/// Not stopped for good by `backfill remove`.
const NOT_REMOVED: &str = "NOT EXISTS (SELECT 1 FROM backfill_removals x WHERE x.repository_id = s.repository_id)";

/// A backfill a run may take, with what orders it (`backfill::priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub id: Uuid,
    pub priority: Priority,
    /// Runs in a row that gave it no turn.
    pub passed_over: u32,
}

/// Work a run may take: active backfills, those paused for the rate limit
/// or for repeated failures whose pause has run out, and completed ones to
/// keep current (unless `add --no-refresh` said otherwise); never one
/// removed, which is how a run going on notices a `backfill remove` (its
/// next claim of the backfill finds nothing to take).
pub(super) fn runnable_filter() -> String {
    format!(
        "((coalesce(s.status, '{active}') = '{active}' OR (s.status = '{paused}' \
         AND s.{pause_kind} IN ('{rate_limit}', '{errors}') \
         AND (s.{paused_until})::timestamptz <= now()) \
         OR (s.status = '{completed}' AND coalesce(s.{no_refresh}, 'false') <> 'true')) AND {NOT_REMOVED})",
        active = BackfillStatus::Active,
        completed = BackfillStatus::Completed,
        paused = BackfillStatus::Paused,
        rate_limit = PauseKind::RateLimit.as_str(),
        errors = PauseKind::Errors.as_str(),
        pause_kind = sql::text(Key::PauseKind),
        paused_until = sql::text(Key::PausedUntil),
        no_refresh = sql::text(Key::NoRefresh),
    )
}

/// Runnable backfills in the contract's order (newest-tracked repository
/// first, then least recently updated), which the priorities then reorder.
pub async fn runnable(pool: &PgPool) -> StoreResult<Vec<Candidate>> {
    let sql = format!(
        "SELECT s.id, coalesce(s.metadata, '{{}}'::jsonb) FROM progressive_backfill_state s \
         JOIN repositories r ON r.id = s.repository_id \
         WHERE {} ORDER BY r.first_tracked_at DESC NULLS LAST, s.updated_at ASC NULLS FIRST",
        runnable_filter()
    );
    let mut tx = pool.begin().await?;
    let rows: Vec<(Uuid, Json<Metadata>)> = unnamed::rows(&sql).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows
        .into_iter()
        .map(|(id, Json(meta))| Candidate {
            id,
            priority: meta.priority.unwrap_or_default(),
            passed_over: meta.passed_over.map_or(0, |n| u32::try_from(n.max(0)).unwrap_or(u32::MAX)),
        })
        .collect())
}

/// Finds a backfill by repository UUID or OWNER/NAME.
pub async fn find(pool: &PgPool, ident: &str) -> StoreResult<Option<Backfill>> {
    let sql = format!(
        "SELECT {BACKFILL_COLUMNS} FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE r.id::text = $1 OR lower(r.full_name) = lower($1) OR lower(r.owner || '/' || r.name) = lower($1)"
    );
    let mut tx = pool.begin().await?;
    let found = unnamed::rows(&sql).bind(ident).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    Ok(found)
}

/// Every backfill not removed, of one owner (`OWNER/*`) or of all, by
/// repository name, in one statement.
pub async fn of_owner(pool: &PgPool, owner: Option<&str>) -> StoreResult<Vec<Backfill>> {
    let sql = format!(
        "SELECT {BACKFILL_COLUMNS} FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE {NOT_REMOVED} AND ($1::text IS NULL OR lower(coalesce(r.owner, split_part(r.full_name, '/', 1))) = lower($1)) \
         ORDER BY lower(coalesce(r.full_name, r.owner || '/' || r.name))"
    );
    let mut tx = pool.begin().await?;
    let found = unnamed::rows(&sql).bind(owner).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(found)
}

/// Reads one backfill by its state id, without locking it.
pub async fn get(pool: &PgPool, id: Uuid) -> StoreResult<Option<Backfill>> {
    let mut tx = pool.begin().await?;
    let found = get_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(found)
}

/// The same, inside a transaction the caller holds.
pub async fn get_in(tx: &mut PgConnection, id: Uuid) -> StoreResult<Option<Backfill>> {
    let sql = format!(
        "SELECT {BACKFILL_COLUMNS} FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE s.id = $1"
    );
    Ok(unnamed::rows(&sql).bind(id).fetch_optional(&mut *tx).await?)
}

/// Writes what was learned (points spent, sizes) to the metadata.
pub async fn remember(tx: &mut PgConnection, backfill: &Backfill, learned: &Patch) -> StoreResult<()> {
    let sql = format!("UPDATE progressive_backfill_state SET metadata = {} WHERE id = $1", sql::apply(2));
    unnamed::statement(&sql)
        .bind(backfill.id)
        .bind(learned.removed_keys())
        .bind(learned.set_object())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Inserts or refreshes the repository and creates its backfill (active)
/// unless one exists; a repository removed before is tracked again (its
/// backfill goes on from where it stood, or starts afresh after `--purge`).
/// Returns the repository id.
pub async fn add_repository(pool: &PgPool, repo: &RepositoryInfo, chunk_size: Option<i32>) -> StoreResult<Uuid> {
    track(pool, repo, chunk_size, &Patch::default()).await
}

/// `add_repository` with more of the backfill's metadata written in the
/// same transaction (its priority, `no_refresh`, `discovered`), so that a
/// backfill never runs without what it was added with.
pub async fn track(pool: &PgPool, repo: &RepositoryInfo, chunk_size: Option<i32>, extra: &Patch) -> StoreResult<Uuid> {
    let mut tx = pool.begin().await?;
    let repository_id: Uuid = unnamed::scalar(
        "INSERT INTO repositories (id, github_id, owner, name, full_name, pull_request_count, first_tracked_at, last_updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, now(), now()) \
         ON CONFLICT (github_id) DO UPDATE SET owner = EXCLUDED.owner, name = EXCLUDED.name, full_name = EXCLUDED.full_name, \
           pull_request_count = EXCLUDED.pull_request_count, last_updated_at = now() \
         RETURNING id",
    )
    .bind(super::ids::new_id())
    .bind(repo.github_id)
    .bind(&repo.owner)
    .bind(&repo.name)
    .bind(&repo.full_name)
    .bind(repo.pull_request_count as i32)
    .fetch_one(&mut *tx)
    .await?;
    unnamed::statement("DELETE FROM backfill_removals WHERE repository_id = $1")
        .bind(repository_id)
        .execute(&mut *tx)
        .await?;
    let patch = Patch { chunk_size_override: Change::set_or_keep(chunk_size.map(i64::from)), ..extra.clone() };
    let sql = format!(
        "INSERT INTO progressive_backfill_state (id, repository_id, total_prs, processed_prs, status, chunk_size, \
           error_count, consecutive_errors, metadata, created_at, updated_at) \
         VALUES ($1, $2, $3, (SELECT count(*) FROM pull_requests WHERE repository_id = $2), $5, $4, 0, 0, $7::jsonb, now(), now()) \
         ON CONFLICT (repository_id) DO UPDATE SET \
           chunk_size = coalesce($4, progressive_backfill_state.chunk_size), \
           metadata = {}, updated_at = now()",
        sql::apply_on("progressive_backfill_state.metadata", 6)
    );
    unnamed::statement(&sql)
        .bind(super::ids::new_id())
        .bind(repository_id)
        .bind(repo.pull_request_count as i32)
        .bind(chunk_size)
        .bind(BackfillStatus::Active.as_str())
        .bind(patch.removed_keys())
        .bind(patch.set_object())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(repository_id)
}

/// Repositories tracked (by this tool or another) that have no backfill yet
/// and hold under 95% of the PRs GitHub last reported for them; never one
/// removed (`backfill remove`), whose state row `--purge` may have deleted.
const UNDISCOVERED: &str = "FROM repositories r \
     WHERE NOT EXISTS (SELECT 1 FROM progressive_backfill_state s WHERE s.repository_id = r.id) \
       AND NOT EXISTS (SELECT 1 FROM backfill_removals x WHERE x.repository_id = r.id) \
       AND (SELECT count(*) FROM pull_requests p WHERE p.repository_id = r.id) < 0.95 * coalesce(r.pull_request_count, 0)";

/// `run --discover`: starts a backfill (active, from the first PR) for each
/// repository matching UNDISCOVERED, or with `write` false only names them.
/// PRs already stored are counted and later upserted, never duplicated.
pub async fn discover(pool: &PgPool, write: bool) -> StoreResult<Vec<String>> {
    let mut tx = pool.begin().await?;
    let names = if write {
        // The ids are made here (`new_id`): one per repository found.
        let repositories: Vec<Uuid> =
            unnamed::scalar(&format!("SELECT r.id {UNDISCOVERED}")).fetch_all(&mut *tx).await?;
        let ids: Vec<Uuid> = repositories.iter().map(|_| super::ids::new_id()).collect();
        let sql = "INSERT INTO progressive_backfill_state (id, repository_id, total_prs, processed_prs, status, \
               error_count, consecutive_errors, metadata, created_at, updated_at) \
             SELECT i.id, r.id, r.pull_request_count, \
               (SELECT count(*) FROM pull_requests p WHERE p.repository_id = r.id), $3, 0, 0, \
               $4::jsonb, now(), now() \
             FROM unnest($1::uuid[], $2::uuid[]) AS i(id, repository_id) JOIN repositories r ON r.id = i.repository_id \
             ON CONFLICT (repository_id) DO NOTHING \
             RETURNING (SELECT coalesce(r.full_name, r.owner || '/' || r.name) FROM repositories r WHERE r.id = repository_id)";
        let metadata = Patch { discovered: Change::Set(true), ..Patch::default() };
        unnamed::scalar(sql)
            .bind(&ids)
            .bind(&repositories)
            .bind(BackfillStatus::Active.as_str())
            .bind(metadata.set_object())
            .fetch_all(&mut *tx)
            .await?
    } else {
        let sql = format!("SELECT coalesce(r.full_name, r.owner || '/' || r.name) {UNDISCOVERED} ORDER BY 1");
        unnamed::scalar(&sql).fetch_all(&mut *tx).await?
    };
    tx.commit().await?;
    Ok(names)
}

/// `add --no-refresh` / `--refresh`: whether a completed backfill is kept
/// current by sweeps for changed PRs.
pub async fn keep_current(pool: &PgPool, repository_id: Uuid, on: bool) -> StoreResult<()> {
    let patch = Patch { no_refresh: Change::Set(!on), ..Patch::default() };
    write_patch(pool, repository_id, &patch, true).await
}

/// A patch to the metadata of a repository's backfill, in a transaction of
/// its own; `touch`: the change moves `updated_at` too.
pub(super) async fn write_patch(pool: &PgPool, repository_id: Uuid, patch: &Patch, touch: bool) -> StoreResult<()> {
    let updated_at = if touch { ", updated_at = now()" } else { "" };
    let sql = format!(
        "UPDATE progressive_backfill_state SET metadata = {}{updated_at} WHERE repository_id = $1",
        sql::apply(2)
    );
    let mut tx = pool.begin().await?;
    unnamed::statement(&sql)
        .bind(repository_id)
        .bind(patch.removed_keys())
        .bind(patch.set_object())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One line per backfill for `backfill status`, in one statement: the
/// chunks done and failed come from the counts kept on write
/// (`store::counts`), not from a count of each backfill's history.
pub async fn statuses(pool: &PgPool, ident: Option<&str>) -> StoreResult<Vec<StatusLine>> {
    let sql = format!(
        "SELECT r.id AS repository_id, coalesce(r.full_name, r.owner || '/' || r.name) AS repository, \
           s.status::text AS status, coalesce(s.processed_prs, 0) AS processed_prs, s.total_prs, \
           CASE WHEN s.total_prs > 0 THEN round(100.0 * coalesce(s.processed_prs, 0) / s.total_prs, 1)::float8 \
                ELSE CASE WHEN s.status = '{completed}' THEN 100.0 ELSE 0.0 END END AS percent, \
           m.completed AS chunks_done, m.failed AS chunks_failed, \
           s.last_processed_at AS last_run, s.last_error AS error, s.{paused_until} AS paused_until, \
           coalesce(s.metadata, '{{}}'::jsonb) AS metadata, s.created_at AS began_at \
         FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id {counts} \
           CROSS JOIN LATERAL (SELECT {columns}) m \
         WHERE ($1::text IS NULL OR r.id::text = $1 OR lower(r.full_name) = lower($1)) AND {NOT_REMOVED} \
         ORDER BY r.first_tracked_at DESC NULLS LAST, r.full_name",
        completed = BackfillStatus::Completed,
        counts = super::counts::join(),
        columns = super::counts::COLUMNS,
        paused_until = sql::text(Key::PausedUntil),
    );
    let mut tx = pool.begin().await?;
    let rows = unnamed::rows(&sql).bind(ident).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}
