//! What `backfill verify` and the rolling audit read of the copy (each PR's
//! `updated_at` and counts), what a repair writes (PRs refetched whole, as a
//! sweep stores them; PRs GitHub no longer has, deleted when asked), and
//! what each verify found (`backfill_verifications`, the tool's own).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgConnection, PgPool, Row};
use uuid::Uuid;

use super::chunks::{self, ChunkRecord};
use super::error::StoreResult;
use super::state::Backfill;
use super::{refresh, unnamed, upsert};
use crate::github::model::PullRequest;
use crate::report::audit::Audited;
use crate::report::verify::{Differences, Kind, VerificationRow};

/// One stored PR, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPr {
    pub number: i32,
    pub updated_at: Option<DateTime<Utc>>,
    pub reviews: i64,
    pub issue_comments: i64,
    pub review_comments: i64,
}

/// A stretch of a repository's PRs by number: after one (none: from the
/// first), through another (none: to the newest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    pub after: Option<i32>,
    pub through: Option<i32>,
}

impl Span {
    pub fn holds(&self, number: i32) -> bool {
        self.after.is_none_or(|a| number > a) && self.through.is_none_or(|t| number <= t)
    }
}

/// The stored PRs of a repository in `span`, counted, in number order.
pub async fn stored_prs(pool: &PgPool, repository_id: Uuid, span: Span) -> StoreResult<Vec<StoredPr>> {
    let sql = "WITH p AS (SELECT id, number, updated_at FROM pull_requests WHERE repository_id = $1 \
                 AND ($2::int IS NULL OR number > $2) AND ($3::int IS NULL OR number <= $3)), \
               r AS (SELECT pull_request_id, count(*) AS n FROM reviews \
                 WHERE pull_request_id IN (SELECT id FROM p) GROUP BY 1), \
               c AS (SELECT pull_request_id, count(*) FILTER (WHERE comment_type = 'issue_comment') AS issue, \
                   count(*) FILTER (WHERE comment_type = 'review_comment') AS review FROM comments \
                 WHERE pull_request_id IN (SELECT id FROM p) GROUP BY 1) \
               SELECT p.number, p.updated_at, coalesce(r.n, 0) AS reviews, coalesce(c.issue, 0) AS issue_comments, \
                 coalesce(c.review, 0) AS review_comments \
               FROM p LEFT JOIN r ON r.pull_request_id = p.id LEFT JOIN c ON c.pull_request_id = p.id \
               WHERE p.number IS NOT NULL ORDER BY p.number";
    let mut tx = pool.begin().await?;
    let rows = unnamed::rows(sql).bind(repository_id).bind(span.after).bind(span.through).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}

impl<'r> FromRow<'r, PgRow> for StoredPr {
    fn from_row(row: &'r PgRow) -> Result<StoredPr, sqlx::Error> {
        Ok(StoredPr {
            number: row.try_get("number")?,
            updated_at: row.try_get("updated_at")?,
            reviews: row.try_get("reviews")?,
            issue_comments: row.try_get("issue_comments")?,
            review_comments: row.try_get("review_comments")?,
        })
    }
}

/// A repair's page in the transaction that holds the claim: its PRs stored
/// whole, what GitHub no longer has for them deleted, a chunk row of their
/// numbers, and `processed_prs` counted again. Returns the chunk number.
pub async fn write_refetched(
    tx: &mut PgConnection,
    backfill: &Backfill,
    prs: &[PullRequest],
    record: &ChunkRecord,
) -> StoreResult<Option<i32>> {
    let new_prs = upsert::store_pull_requests(tx, backfill.repository_id, prs).await?;
    refresh::delete_vanished(tx, backfill.repository_id, prs).await?;
    let chunk_number = chunks::insert_completed(tx, backfill, record, new_prs).await?;
    move_processed(tx, backfill, i64::from(new_prs)).await?;
    Ok(chunk_number)
}

/// PRs GitHub no longer has, deleted with their reviews and comments
/// (`verify --repair --delete-missing`); returns how many went.
pub async fn delete_prs(tx: &mut PgConnection, backfill: &Backfill, numbers: &[i32]) -> StoreResult<u64> {
    let of_these = "pull_request_id IN (SELECT id FROM pull_requests WHERE repository_id = $1 AND number = ANY($2))";
    let mut deleted = 0;
    for sql in [
        format!("UPDATE comments SET in_reply_to_id = NULL WHERE in_reply_to_id IN (SELECT id FROM comments WHERE {of_these})"),
        format!("DELETE FROM comments WHERE {of_these}"),
        format!("DELETE FROM reviews WHERE {of_these}"),
        "DELETE FROM pull_requests WHERE repository_id = $1 AND number = ANY($2)".to_string(),
    ] {
        deleted = unnamed::statement(&sql).bind(backfill.repository_id).bind(numbers).execute(&mut *tx).await?.rows_affected();
    }
    move_processed(tx, backfill, -i64::try_from(deleted).unwrap_or(i64::MAX)).await?;
    Ok(deleted)
}

/// `processed_prs` counted from the rows, once at the end of a repair: the
/// PRs it found missing may have been deleted by hand, uncounted. The
/// transaction holds the claim, and so the state row.
pub async fn recount_processed(tx: &mut PgConnection, backfill: &Backfill) -> StoreResult<()> {
    super::repair::processed_from_rows(tx, backfill.id, None).await?;
    Ok(())
}

/// `processed_prs` stays the PRs stored: moved by the PRs inserted or
/// deleted, never a count of the repository's PRs (`chunks::advance`).
async fn move_processed(tx: &mut PgConnection, backfill: &Backfill, by: i64) -> StoreResult<()> {
    unnamed::statement(
        "UPDATE progressive_backfill_state SET processed_prs = greatest(coalesce(processed_prs, 0) + $2, 0)::int, \
           updated_at = now() WHERE id = $1",
    )
    .bind(backfill.id)
    .bind(by)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A whole verify, or a window of the rolling audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Verify,
    Audit,
}

impl Pass {
    fn as_str(self) -> &'static str {
        match self {
            Pass::Verify => "verify",
            Pass::Audit => "audit",
        }
    }
}

/// What one verify (or audit window) found and did, for its row.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub pass: Pass,
    /// When the pass began: an audit's windows over several runs share it.
    pub pass_started_at: DateTime<Utc>,
    /// The first and last PR compared; the last, with the cursor, is where
    /// the audit's next window begins.
    pub first_pr: Option<i32>,
    pub last_pr: Option<i32>,
    pub end_cursor: Option<String>,
    /// The pass reached the newest PR.
    pub pass_done: bool,
    pub prs_checked: usize,
    pub found: &'a Differences,
    pub refetched: usize,
    pub deleted: usize,
    pub repaired: bool,
    pub points: i64,
}

fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

pub async fn record(pool: &PgPool, state_id: Uuid, r: &Record<'_>) -> StoreResult<()> {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.key()).collect();
    let slots: Vec<String> = (0..kinds.len()).map(|i| format!("${}", 13 + i)).collect();
    let sql = format!(
        "INSERT INTO backfill_verifications (backfill_state_id, kind, pass_started_at, first_pr, last_pr, end_cursor, \
           pass_done, prs_checked, prs_refetched, prs_deleted, repaired, points, {}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, {})",
        kinds.join(", "),
        slots.join(", ")
    );
    let mut query = unnamed::statement(&sql)
        .bind(state_id)
        .bind(r.pass.as_str())
        .bind(r.pass_started_at)
        .bind(r.first_pr)
        .bind(r.last_pr)
        .bind(&r.end_cursor)
        .bind(r.pass_done)
        .bind(int(r.prs_checked))
        .bind(int(r.refetched))
        .bind(int(r.deleted))
        .bind(r.repaired)
        .bind(i32::try_from(r.points.max(0)).unwrap_or(i32::MAX));
    for kind in Kind::ALL {
        query = query.bind(int(r.found.count(kind)));
    }
    let mut tx = pool.begin().await?;
    query.execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// Where a backfill's rolling audit goes on: the pass under way (when it
/// began, and the cursor and number of the last PR audited).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub pass_started_at: DateTime<Utc>,
    pub end_cursor: Option<String>,
    pub last_pr: Option<i32>,
}

impl<'r> FromRow<'r, PgRow> for Position {
    fn from_row(row: &'r PgRow) -> Result<Position, sqlx::Error> {
        Ok(Position {
            pass_started_at: row.try_get("pass_started_at")?,
            end_cursor: row.try_get("end_cursor")?,
            last_pr: row.try_get("last_pr")?,
        })
    }
}

/// The audit pass under way, if one is (none: the next begins at the first PR).
pub async fn audit_position(pool: &PgPool, state_id: Uuid) -> StoreResult<Option<Position>> {
    let mut tx = pool.begin().await?;
    let latest = unnamed::rows(
        "SELECT pass_started_at, end_cursor, last_pr FROM ( \
           SELECT * FROM backfill_verifications WHERE backfill_state_id = $1 AND kind = 'audit' \
           ORDER BY verified_at DESC, id DESC LIMIT 1) latest WHERE NOT pass_done",
    )
    .bind(state_id)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(latest)
}

/// The found columns summed: `sum(prs_missing) AS prs_missing, ...`.
fn summed(prefix: &str) -> String {
    Kind::ALL.iter().map(|k| format!("sum({prefix}{0})::bigint AS {0}", k.key())).collect::<Vec<_>>().join(", ")
}

fn found(row: &PgRow) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    Kind::ALL.iter().map(|k| Ok((k.key().to_string(), row.try_get::<i64, _>(k.key())?))).collect()
}

struct AuditedRow(Uuid, Audited);

impl<'r> FromRow<'r, PgRow> for AuditedRow {
    fn from_row(row: &'r PgRow) -> Result<AuditedRow, sqlx::Error> {
        let audited = Audited {
            at: row.try_get("verified_at")?,
            prs_checked: row.try_get("prs_checked")?,
            found: found(row)?,
            repaired: row.try_get("repaired")?,
        };
        Ok(AuditedRow(row.try_get("repository_id")?, audited))
    }
}

/// Each repository's backfill's last full audit: its last whole verify, or
/// its last audit pass that reached the newest PR, with what the pass found.
pub async fn last_audits(pool: &PgPool, repository_ids: &[Uuid]) -> StoreResult<HashMap<Uuid, Audited>> {
    let sql = format!(
        "SELECT st.repository_id, d.verified_at, s.* FROM ( \
           SELECT DISTINCT ON (backfill_state_id) backfill_state_id, verified_at, kind, pass_started_at \
           FROM backfill_verifications WHERE pass_done AND backfill_state_id IN \
             (SELECT id FROM progressive_backfill_state WHERE repository_id = ANY($1)) \
           ORDER BY backfill_state_id, verified_at DESC, id DESC) d \
         JOIN progressive_backfill_state st ON st.id = d.backfill_state_id \
         CROSS JOIN LATERAL (SELECT sum(v.prs_checked)::bigint AS prs_checked, bool_and(v.repaired) AS repaired, {} \
           FROM backfill_verifications v WHERE v.backfill_state_id = d.backfill_state_id AND v.kind = d.kind \
             AND v.pass_started_at = d.pass_started_at AND v.verified_at <= d.verified_at) s",
        summed("v.")
    );
    let mut tx = pool.begin().await?;
    let rows: Vec<AuditedRow> = unnamed::rows(&sql).bind(repository_ids).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|AuditedRow(id, a)| (id, a)).collect())
}

impl<'r> FromRow<'r, PgRow> for VerificationRow {
    fn from_row(row: &'r PgRow) -> Result<VerificationRow, sqlx::Error> {
        let found = Kind::ALL.iter().map(|k| Ok((k.key().to_string(), i64::from(row.try_get::<i32, _>(k.key())?))));
        Ok(VerificationRow {
            at: row.try_get("verified_at")?,
            kind: row.try_get("kind")?,
            first_pr: row.try_get("first_pr")?,
            last_pr: row.try_get("last_pr")?,
            prs_checked: row.try_get("prs_checked")?,
            found: found.collect::<Result<_, sqlx::Error>>()?,
            refetched: row.try_get("prs_refetched")?,
            deleted: row.try_get("prs_deleted")?,
            points: row.try_get("points")?,
        })
    }
}

/// A backfill's verifications and audit windows, newest first.
pub async fn recent(pool: &PgPool, state_id: Uuid, limit: u32) -> StoreResult<Vec<VerificationRow>> {
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.key()).collect();
    let sql = format!(
        "SELECT verified_at, kind, first_pr, last_pr, prs_checked, prs_refetched, prs_deleted, points, {} \
         FROM backfill_verifications WHERE backfill_state_id = $1 ORDER BY verified_at DESC, id DESC LIMIT $2",
        kinds.join(", ")
    );
    let mut tx = pool.begin().await?;
    let rows = unnamed::rows(&sql).bind(state_id).bind(i64::from(limit)).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows)
}
