//! `backfill_owners`, a table of the tool's own: the owners whose every
//! repository is tracked, with the filters and settings of their `add`, so
//! that `run --discover` tracks the repositories created under them since.

use sqlx::postgres::PgRow;
use sqlx::{FromRow, PgPool, Row};

use super::error::StoreResult;
use super::fleet::{Filters, Owner, Settings};
use super::unnamed;
use crate::status::Priority;

impl<'r> FromRow<'r, PgRow> for Owner {
    fn from_row(row: &'r PgRow) -> Result<Owner, sqlx::Error> {
        let priority: Option<String> = row.try_get("priority")?;
        Ok(Owner {
            login: row.try_get("login")?,
            filters: Filters {
                include_forks: row.try_get("include_forks")?,
                include_archived: row.try_get("include_archived")?,
                min_prs: i64::from(row.try_get::<i32, _>("min_prs")?),
            },
            settings: Settings {
                chunk_size: row.try_get("chunk_size")?,
                // A word this tool never writes reads as no priority given.
                priority: priority.as_deref().and_then(Priority::parse),
                keep_current: row.try_get("refresh")?,
            },
        })
    }
}

/// Remembers the owner with this add's filters and settings (the latest
/// add's win), followed again if `remove 'OWNER/*'` had stopped it.
pub async fn follow(pool: &PgPool, owner: &Owner) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    unnamed::statement(
        "INSERT INTO backfill_owners (login, include_forks, include_archived, min_prs, chunk_size, priority, refresh) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT ((lower(login))) DO UPDATE SET login = EXCLUDED.login, \
           include_forks = EXCLUDED.include_forks, include_archived = EXCLUDED.include_archived, \
           min_prs = EXCLUDED.min_prs, chunk_size = EXCLUDED.chunk_size, priority = EXCLUDED.priority, \
           refresh = EXCLUDED.refresh, stopped_at = NULL, \
           added_at = CASE WHEN backfill_owners.stopped_at IS NULL THEN backfill_owners.added_at ELSE now() END",
    )
    .bind(&owner.login)
    .bind(owner.filters.include_forks)
    .bind(owner.filters.include_archived)
    .bind(i32::try_from(owner.filters.min_prs).unwrap_or(i32::MAX))
    .bind(owner.settings.chunk_size)
    .bind(owner.settings.priority.map(Priority::as_str))
    .bind(owner.settings.keep_current)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The owners `run --discover` lists, by login.
pub async fn followed(pool: &PgPool) -> StoreResult<Vec<Owner>> {
    let mut tx = pool.begin().await?;
    let owners = unnamed::rows(
        "SELECT login, include_forks, include_archived, min_prs, chunk_size, priority, refresh \
         FROM backfill_owners WHERE stopped_at IS NULL ORDER BY lower(login)",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(owners)
}

/// `remove 'OWNER/*'`, as far as the owner goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// No owner of that login was ever followed.
    Unknown,
    /// Stopped now, or `already` before; `backfills`: how many of its
    /// repositories are still tracked (a stop leaves them be).
    Stopped { login: String, already: bool, backfills: i64 },
}

/// Stops following the owner: `run --discover` tracks no new repository
/// of it. Its backfills stay. Again is harmless.
pub async fn stop(pool: &PgPool, login: &str) -> StoreResult<Stop> {
    let mut tx = pool.begin().await?;
    let found: Option<(String, bool)> = unnamed::rows(
        "WITH before AS (SELECT login, stopped_at FROM backfill_owners WHERE lower(login) = lower($1) FOR UPDATE) \
         UPDATE backfill_owners o SET stopped_at = coalesce(o.stopped_at, now()) FROM before \
         WHERE lower(o.login) = lower(before.login) RETURNING o.login, before.stopped_at IS NOT NULL",
    )
    .bind(login)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((login, already)) = found else {
        tx.commit().await?;
        return Ok(Stop::Unknown);
    };
    let backfills = unnamed::scalar(
        "SELECT count(*) FROM progressive_backfill_state s JOIN repositories r ON r.id = s.repository_id \
         WHERE lower(coalesce(r.owner, split_part(r.full_name, '/', 1))) = lower($1) \
           AND NOT EXISTS (SELECT 1 FROM backfill_removals x WHERE x.repository_id = r.id)",
    )
    .bind(&login)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Stop::Stopped { login, already, backfills })
}
