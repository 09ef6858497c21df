//! Claims: which run works a backfill now, without a transaction held open.
//!
//! A claim is a lease, a row in `backfill_claims` with an expiry. A run takes
//! it in a short transaction, renews it while it waits on GitHub (the
//! heartbeat), and gives it up in the transaction that stores the chunk. A
//! run that dies (SIGKILL, a lost runner) stops renewing, and the backfill is
//! free again when the lease lapses. Every statement is a transaction of
//! its own, so this works through transaction-mode poolers, survives a
//! PostgreSQL restart (the row outlives the connection), and lets `pause`
//! and `status` run at once while a chunk is fetched.
//!
//! The lease only keeps two runs from working one backfill at once; what
//! keeps anything from being stored twice is the compare-and-set at commit
//! (`confirm`): the chunk is stored only if the claim is still this run's and
//! the cursor is still the one the chunk started from.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::error::StoreResult;
use super::metadata::{self, Key};
use super::state::{self, Backfill};
use super::unnamed;

/// Who claims: one per `backfill run` process.
#[derive(Debug, Clone)]
pub struct Holder {
    pub id: Uuid,
    /// Host and pid, for a person reading `backfill_claims`.
    pub name: String,
    /// How long a claim lasts without renewal.
    pub lease: Duration,
}

impl Holder {
    pub fn new(lease: Duration) -> Holder {
        let host = std::env::var("RUNNER_NAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown host".to_string());
        Holder { id: super::ids::new_id(), name: format!("pid {} on {host}", std::process::id()), lease }
    }

    /// How often a holder renews: three times a lease, so that one slow or
    /// failed renewal does not let the lease lapse.
    pub fn heartbeat(&self) -> Duration {
        self.lease / 3
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Why a chunk's commit (or a failure's record) must not go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The claim is this run's and the cursor is where the chunk began.
    Held,
    /// Another run has the backfill now (this run's lease lapsed).
    ClaimLost,
    /// The stored cursor moved since the chunk began.
    CursorMoved,
    /// `backfill remove --purge` deleted the backfill (and so the claim).
    Removed,
}

/// Takes the backfill if it is runnable and nobody else holds a live claim
/// on it (a claim of this holder's own is taken again). Returns the
/// backfill as it stands now.
pub async fn take(pool: &PgPool, state_id: Uuid, holder: &Holder) -> StoreResult<Option<Backfill>> {
    take_if(pool, state_id, holder, &state::runnable_filter()).await
}

/// Takes the backfill for a repair, whatever its status (a paused or
/// finished one can be repaired too), unless it is removed or another
/// process holds a live claim on it.
pub async fn take_for_repair(pool: &PgPool, state_id: Uuid, holder: &Holder) -> StoreResult<Option<Backfill>> {
    let not_removed = "NOT EXISTS (SELECT 1 FROM backfill_removals x WHERE x.repository_id = s.repository_id)";
    take_if(pool, state_id, holder, not_removed).await
}

/// The claim, when the state row `s` meets `condition`.
async fn take_if(pool: &PgPool, state_id: Uuid, holder: &Holder, condition: &str) -> StoreResult<Option<Backfill>> {
    let sql = format!(
        "INSERT INTO backfill_claims (backfill_state_id, holder, holder_name, claimed_at, expires_at) \
         SELECT s.id, $2, $3, now(), now() + $4 * interval '1 millisecond' \
         FROM progressive_backfill_state s WHERE s.id = $1 AND {condition} \
         ON CONFLICT (backfill_state_id) DO UPDATE SET holder = EXCLUDED.holder, holder_name = EXCLUDED.holder_name, \
           claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at \
         WHERE backfill_claims.expires_at <= now() OR backfill_claims.holder = EXCLUDED.holder \
         RETURNING backfill_state_id"
    );
    let mut tx = pool.begin().await?;
    let taken: Option<Uuid> = unnamed::scalar(&sql)
        .bind(state_id)
        .bind(holder.id)
        .bind(&holder.name)
        .bind(holder.lease_ms())
        .fetch_optional(&mut *tx)
        .await?;
    let backfill = match taken {
        Some(_) => state::get_in(&mut tx, state_id).await?,
        None => None,
    };
    tx.commit().await?;
    Ok(backfill)
}

/// The heartbeat: pushes the lease on. False when the claim is no longer
/// this holder's (it lapsed and another run took it).
pub async fn renew(pool: &PgPool, state_id: Uuid, holder: &Holder) -> StoreResult<bool> {
    let mut tx = pool.begin().await?;
    let renewed = unnamed::statement(
        "UPDATE backfill_claims SET expires_at = now() + $3 * interval '1 millisecond' \
         WHERE backfill_state_id = $1 AND holder = $2",
    )
    .bind(state_id)
    .bind(holder.id)
    .bind(holder.lease_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(renewed == 1)
}

/// Inside the transaction that is about to write for a chunk: locks the
/// claim and the state row, in that order (every writer takes them in this
/// order, so none waits on another in a circle), and says whether the
/// chunk may go ahead. `cursor`: where the chunk began, when it matters.
pub async fn confirm(tx: &mut PgConnection, state_id: Uuid, holder: &Holder, began: Began<'_>) -> StoreResult<Verdict> {
    let ours: Option<Uuid> = unnamed::scalar(
        "SELECT backfill_state_id FROM backfill_claims WHERE backfill_state_id = $1 AND holder = $2 FOR UPDATE",
    )
    .bind(state_id)
    .bind(holder.id)
    .fetch_optional(&mut *tx)
    .await?;
    if ours.is_none() {
        let exists: bool = unnamed::scalar("SELECT EXISTS (SELECT 1 FROM progressive_backfill_state WHERE id = $1)")
            .bind(state_id)
            .fetch_one(&mut *tx)
            .await?;
        return Ok(if exists { Verdict::ClaimLost } else { Verdict::Removed });
    }
    let sql = format!(
        "SELECT last_processed_cursor, {} FROM progressive_backfill_state WHERE id = $1 FOR UPDATE",
        metadata::sql::text(Key::SweepCursor)
    );
    let stored: Option<(Option<String>, Option<String>)> =
        unnamed::rows(&sql).bind(state_id).fetch_optional(&mut *tx).await?;
    let Some((cursor, sweep)) = stored else { return Ok(Verdict::Removed) };
    match began {
        Began::AtCursor(at) if cursor.as_deref() != at => Ok(Verdict::CursorMoved),
        Began::AtSweep(at) if sweep.as_deref() != at => Ok(Verdict::CursorMoved),
        _ => Ok(Verdict::Held),
    }
}

/// Where the work a transaction writes for began, when that matters: the
/// backfill's cursor for a chunk, the sweep's for a refresh page.
#[derive(Debug, Clone, Copy)]
pub enum Began<'a> {
    Anywhere,
    AtCursor(Option<&'a str>),
    AtSweep(Option<&'a str>),
}

/// Gives the claim up, inside the transaction that stored the chunk.
pub async fn release_in(tx: &mut PgConnection, state_id: Uuid, holder: &Holder) -> StoreResult<()> {
    unnamed::statement("DELETE FROM backfill_claims WHERE backfill_state_id = $1 AND holder = $2")
        .bind(state_id)
        .bind(holder.id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Gives up every claim of this holder: after a chunk that stored nothing,
/// and when a signal stops the run.
pub async fn release_all(pool: &PgPool, holder: &Holder) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    unnamed::statement("DELETE FROM backfill_claims WHERE holder = $1").bind(holder.id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
