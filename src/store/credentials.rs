//! `backfill_credentials`, a table of the tool's own: each credential's
//! budget as GitHub last stated it, under its name (never its secret), kept
//! from one run to the next and shown by `status`.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};

use super::error::StoreResult;
use super::unnamed;
use crate::budget::{Budget, CredentialBudget};

/// A credential not seen for this long is dropped: its token was rotated
/// out, or the App uninstalled.
const FORGOTTEN_AFTER_DAYS: i32 = 30;

struct Kept(CredentialBudget);

impl<'r> FromRow<'r, PgRow> for Kept {
    fn from_row(row: &'r PgRow) -> Result<Kept, sqlx::Error> {
        let budget = Budget {
            limit: i64::from(row.try_get::<i32, _>("points_limit")?),
            remaining: i64::from(row.try_get::<i32, _>("points_left")?),
            used: row.try_get::<Option<i32>, _>("points_used")?.map(i64::from),
            reset_at: row.try_get("resets_at")?,
        };
        let seen_at: DateTime<Utc> = row.try_get("seen_at")?;
        Ok(Kept(CredentialBudget { name: row.try_get("name")?, budget: Some(budget), seen_at: Some(seen_at) }))
    }
}

/// Every credential kept, the most recently seen first.
pub async fn kept(pool: &PgPool) -> StoreResult<Vec<CredentialBudget>> {
    let mut tx = pool.begin().await?;
    let rows: Vec<Kept> = unnamed::rows(
        "SELECT name, points_limit, points_left, points_used, resets_at, seen_at FROM backfill_credentials \
         ORDER BY seen_at DESC, name",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(|k| k.0).collect())
}

/// Keeps each credential's budget that was seen; a runner that saw a
/// budget later than another's is not overwritten by it. Credentials not
/// seen for a month are forgotten.
pub async fn keep(pool: &PgPool, credentials: &[CredentialBudget]) -> StoreResult<()> {
    let seen: Vec<(&str, Budget, DateTime<Utc>)> =
        credentials.iter().filter_map(|c| Some((c.name.as_str(), c.budget?, c.seen_at?))).collect();
    let narrow = |n: i64| i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX });
    let names: Vec<&str> = seen.iter().map(|s| s.0).collect();
    let limits: Vec<i32> = seen.iter().map(|s| narrow(s.1.limit)).collect();
    let left: Vec<i32> = seen.iter().map(|s| narrow(s.1.remaining)).collect();
    let used: Vec<Option<i32>> = seen.iter().map(|s| s.1.used.map(narrow)).collect();
    let resets: Vec<Option<DateTime<Utc>>> = seen.iter().map(|s| s.1.reset_at).collect();
    let at: Vec<DateTime<Utc>> = seen.iter().map(|s| s.2).collect();
    let mut tx = pool.begin().await?;
    unnamed::statement(
        "INSERT INTO backfill_credentials (name, points_limit, points_left, points_used, resets_at, seen_at) \
         SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::timestamptz[], $6::timestamptz[]) \
         ON CONFLICT (name) DO UPDATE SET points_limit = EXCLUDED.points_limit, points_left = EXCLUDED.points_left, \
           points_used = EXCLUDED.points_used, resets_at = EXCLUDED.resets_at, seen_at = EXCLUDED.seen_at \
         WHERE EXCLUDED.seen_at >= backfill_credentials.seen_at",
    )
    .bind(&names)
    .bind(&limits)
    .bind(&left)
    .bind(&used)
    .bind(&resets)
    .bind(&at)
    .execute(&mut *tx)
    .await?;
    unnamed::statement("DELETE FROM backfill_credentials WHERE seen_at < now() - make_interval(days => $1)")
        .bind(FORGOTTEN_AFTER_DAYS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
