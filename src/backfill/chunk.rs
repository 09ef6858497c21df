//! One chunk of one backfill, in named phases: claim it, plan its size,
//! fetch it from GitHub, store it. No transaction is open while GitHub is
//! asked: the claim is a lease (`store::claims`) kept by a heartbeat, and
//! every write is one short transaction that first confirms the claim. The
//! store's transaction is a compare-and-set: the chunk goes in whole only if
//! the claim is still this run's and the cursor is still where the chunk
//! began; otherwise nothing is written and the run says so.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::attempt::{ChunkSettings, Start};
use super::fetcher::{fetch, Fetcher};
use super::learn::{self, CutOff};
use super::plan::{plan_chunk, wait_reason, Plan};
use super::RunError;
use crate::budget::Budget;
use crate::github::error::Blame;
use crate::github::{FetchedChunk, GithubClient, GithubError};
use crate::report::StoredChunk;
use crate::status::BackfillStatus;
use crate::store::chunks::{self, Advance, ChunkRecord};
use crate::store::claims::{self, Began, Holder, Verdict};
use crate::store::state::Backfill;
use crate::store::{pause, tracking, upsert, Patch, StoreError};

/// What became of one attempt at a chunk.
#[derive(Debug)]
pub enum ChunkOutcome {
    Stored(StoredChunk),
    /// Another process holds it, or it stopped being runnable.
    Skipped,
    /// The rate limit is spent: paused until the reset, for `reason`.
    RateLimited {
        repository: String,
        until: DateTime<Utc>,
        reason: String,
        points: i64,
    },
    /// The chunk failed and was recorded; `paused` after three in a row.
    Failed {
        repository: String,
        error: String,
        paused: bool,
        points: i64,
    },
    /// GitHub no longer has (or shows) the repository: the backfill is `failed`.
    BackfillFailed {
        repository: String,
        error: String,
    },
    /// `backfill remove` stopped it during the run: nothing more is taken.
    Removed {
        points: i64,
    },
    /// Fetched, but not stored: the commit's check found another run ahead.
    NotStored {
        repository: String,
        reason: String,
        points: i64,
    },
}

/// Claim, plan, fetch, store. The claim is given up whatever the end: in
/// the store's transaction when the chunk is stored, here otherwise.
pub async fn process_chunk(
    pool: &PgPool,
    github: &GithubClient,
    id: Uuid,
    settings: &ChunkSettings,
    budget: Option<Budget>,
    holder: &Holder,
    fetcher: &mut Fetcher,
) -> Result<ChunkOutcome, RunError> {
    let start = Start::now(github);
    let Some(backfill) = claims::take(pool, id, holder).await? else {
        fetcher.pipeline = None;
        let removed = tracking::gone(pool, id).await?;
        return Ok(if removed { ChunkOutcome::Removed { points: 0 } } else { ChunkOutcome::Skipped });
    };
    // Pages fetched ahead hold only where the stored cursor still is.
    let stored_at = if fetcher.sweeping {
        backfill.metadata.sweep_cursor.as_deref()
    } else {
        backfill.last_processed_cursor.as_deref()
    };
    if fetcher.pipeline_sweeps != fetcher.sweeping
        || fetcher.pipeline.as_ref().is_some_and(|p| p.begins_after() != stored_at)
    {
        fetcher.pipeline = None;
    }
    let chunk = Chunk { pool, github, backfill: &backfill, settings, holder, start, sweeping: fetcher.sweeping };
    let outcome = chunk.plan_fetch_store(budget, fetcher).await;
    if !matches!(outcome, Ok(ChunkOutcome::Stored(_))) {
        // What was fetched ahead is dropped with the chunk's fortunes.
        fetcher.pipeline = None;
        // Best effort: a claim that cannot be given up lapses by itself.
        let _ = claims::release_all(pool, holder).await;
    }
    outcome
}

/// One claimed chunk and what it needs on its way.
pub(super) struct Chunk<'a> {
    pub(super) pool: &'a PgPool,
    pub(super) github: &'a GithubClient,
    pub(super) backfill: &'a Backfill,
    pub(super) settings: &'a ChunkSettings,
    pub(super) holder: &'a Holder,
    pub(super) start: Start,
    pub(super) sweeping: bool,
}

/// The transaction of `Chunk::guarded`, or out of the function with the
/// chunk not stored when the claim (or the cursor) says no.
macro_rules! held_or_return {
    ($chunk:expr, $check_cursor:expr) => {
        match $chunk.guarded($check_cursor).await? {
            Guarded::Held(tx) => tx,
            Guarded::Refused(why) => return Ok($chunk.not_stored(why)),
        }
    };
}

/// A short transaction that may write for the chunk, or why it may not.
pub(super) enum Guarded<'c> {
    Held(Transaction<'c, Postgres>),
    Refused(Verdict),
}

impl Chunk<'_> {
    async fn plan_fetch_store(&self, budget: Option<Budget>, fetcher: &mut Fetcher) -> Result<ChunkOutcome, RunError> {
        let backfill = self.backfill;
        let mut input = self.settings.plan_input(backfill, self.github, budget);
        // A completed backfill's count is of PRs already stored: what a sweep
        // or new PRs bring is unknown, so they get whole pages.
        if self.sweeping || backfill.status == BackfillStatus::Completed {
            input.prs_left = None;
        }
        let size = match plan_chunk(&input) {
            Plan::Fetch { size, .. } => size,
            Plan::WaitForReset { expected_cost, remaining } => {
                let until = input.budget.and_then(|b| b.reset_at).unwrap_or_else(budget_reset_fallback);
                let reason = wait_reason(expected_cost, remaining, input.reserve);
                return self.pause_for_rate_limit(until, CutOff::before(reason)).await;
            }
        };
        // A repository whose smallest chunk costs more than a whole window
        // fetches across resets; any other waits only inside the time budget.
        self.github.wait_across_resets(backfill.metadata.span_windows == Some(true));
        // No transaction is open while GitHub is asked; the heartbeat keeps
        // the claim, and stops the fetch if another run has taken it over.
        let fetched = tokio::select! {
            fetched = fetch(self.github, backfill, size, fetcher) => fetched,
            () = keep_claim(self.pool, backfill.id, self.holder) => {
                let gone = tracking::gone(self.pool, backfill.id).await?;
                return Ok(self.not_stored(if gone { Verdict::Removed } else { Verdict::ClaimLost }));
            }
        };
        match fetched {
            Ok(page) => self.store(&page).await,
            Err(e) => self.record_error(&e, size).await,
        }
    }

    /// Begins a transaction and confirms the claim (and, for a commit, the
    /// cursor the chunk began from) before anything is written.
    pub(super) async fn guarded(&self, check_cursor: bool) -> Result<Guarded<'_>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let began = match (check_cursor, self.sweeping) {
            (false, _) => Began::Anywhere,
            (true, false) => Began::AtCursor(self.backfill.last_processed_cursor.as_deref()),
            (true, true) => Began::AtSweep(self.backfill.metadata.sweep_cursor.as_deref()),
        };
        match claims::confirm(&mut tx, self.backfill.id, self.holder, began).await? {
            Verdict::Held => Ok(Guarded::Held(tx)),
            refused => Ok(Guarded::Refused(refused)),
        }
    }

    pub(super) fn not_stored(&self, why: Verdict) -> ChunkOutcome {
        let points = self.start.points(self.github);
        let reason = match why {
            Verdict::Removed => return ChunkOutcome::Removed { points },
            Verdict::CursorMoved => "another run stored a chunk from the same cursor first",
            Verdict::ClaimLost | Verdict::Held => "another run took the backfill over after this run's claim lapsed",
        };
        ChunkOutcome::NotStored { repository: self.backfill.full_name.clone(), reason: reason.to_string(), points }
    }

    /// The store phase, one short transaction: the claim and cursor checked,
    /// the page, its chunk row, the advanced state, the claim given up.
    pub(super) async fn store(&self, page: &FetchedChunk) -> Result<ChunkOutcome, RunError> {
        let record = self.start.record(self.github, self.settings, Some(page));
        let mut tx = held_or_return!(self, true);
        let points = self.start.points_of(self.github, Some(page));
        let written = match self.sweeping {
            true => super::sweep::write_page(&mut tx, self.backfill, page, &record, points).await,
            false => write_chunk(&mut tx, self.backfill, page, &record, points).await,
        };
        let (chunk_number, processed, completed) = match written {
            Ok(written) => written,
            // PostgreSQL refused the data (a constraint of an existing
            // database, say): the chunk fails like any other, and the run goes on.
            Err(StoreError::Refused(e)) => {
                tx.rollback().await.map_err(StoreError::from)?;
                let record = ChunkRecord { pr_numbers: Vec::new(), ..record };
                return self.record_failure(&record, format!("storing the chunk failed: {e}")).await;
            }
            Err(e) => return Err(e.into()),
        };
        claims::release_in(&mut tx, self.backfill.id, self.holder).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChunkOutcome::Stored(StoredChunk {
            full_name: self.backfill.full_name.clone(),
            caught_up_before: self.backfill.status == BackfillStatus::Completed,
            chunk_number,
            prs: page.prs.len(),
            processed_prs: i64::from(processed),
            total_prs: page.total_count,
            completed,
            chunk_size: page.size,
            requests: record.api_calls as u32,
            points,
            budget: page.budget,
            elapsed: self.start.elapsed(),
        }))
    }

    /// Paused until the reset, with what the attempt taught (when one was
    /// cut off) and the points it spent remembered.
    async fn pause_for_rate_limit(&self, until: DateTime<Utc>, cut: CutOff) -> Result<ChunkOutcome, RunError> {
        let mut tx = held_or_return!(self, false);
        let points = self.start.points(self.github);
        let learned = Patch { points_spent: learn::points_spent(&self.backfill.metadata, points), ..cut.learned };
        pause::pause_for_rate_limit(&mut tx, self.backfill, until, &cut.reason, &learned).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let repository = self.backfill.full_name.clone();
        Ok(ChunkOutcome::RateLimited { repository, until, reason: cut.reason, points })
    }

    /// A failed chunk: its row and the error counters.
    pub(super) async fn record_failure(&self, record: &ChunkRecord, error: String) -> Result<ChunkOutcome, RunError> {
        let mut tx = held_or_return!(self, false);
        let points = self.start.points(self.github);
        let spent = Patch { points_spent: learn::points_spent(&self.backfill.metadata, points), ..Patch::default() };
        let paused = chunks::fail_chunk(&mut tx, self.backfill, record, &error, &spent).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChunkOutcome::Failed { repository: self.backfill.full_name.clone(), error, paused, points })
    }

    /// A fetch that failed: what it means for the backfill, recorded.
    pub(super) async fn record_error(&self, error: &GithubError, size: i64) -> Result<ChunkOutcome, RunError> {
        let message = error.to_string();
        let repository = self.backfill.full_name.clone();
        match error.meaning().blame {
            Blame::Credential => Err(RunError::BadCredentials(message)),
            Blame::Setting => Err(RunError::Config(message)),
            // GitHub's own trouble: the attempt is on record, the backfill
            // is not held against it, and the run stops (the others would fare no better).
            Blame::Github => {
                let mut tx = held_or_return!(self, false);
                let record = self.start.record(self.github, self.settings, None);
                let spent = Patch {
                    points_spent: learn::points_spent(&self.backfill.metadata, self.start.points(self.github)),
                    ..Patch::default()
                };
                chunks::record_outage(&mut tx, self.backfill, &record, &message, &spent).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Err(RunError::GithubDown(message))
            }
            Blame::RateLimit { reset_at } => {
                let points = self.start.points(self.github);
                let limit = self.github.budget_seen().map(|b| b.limit);
                let mut cut = learn::from_cut_off(&self.backfill.metadata, size, points, limit);
                if let GithubError::ReserveHeld { .. } = error {
                    cut.reason = format!("{error}, after {points} points of this chunk");
                }
                self.pause_for_rate_limit(reset_at.unwrap_or_else(budget_reset_fallback), cut).await
            }
            Blame::Repository => {
                let mut tx = held_or_return!(self, false);
                chunks::mark_failed(&mut tx, self.backfill, &message).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(ChunkOutcome::BackfillFailed { repository, error: message })
            }
            Blame::Backfill => self.record_failure(&self.start.record(self.github, self.settings, None), message).await,
        }
    }
}

/// The heartbeat: renews the claim until it turns out to be lost; a
/// renewal that fails (the database away for a moment) is tried again at
/// the next beat, and the commit's check has the last word.
pub(super) async fn keep_claim(pool: &PgPool, state_id: Uuid, holder: &Holder) {
    loop {
        tokio::time::sleep(holder.heartbeat()).await;
        if let Ok(false) = claims::renew(pool, state_id, holder).await {
            return;
        }
    }
}

/// The page, its chunk row and the advanced state; returns the chunk
/// number (none for an empty page), the new `processed_prs`, and whether
/// the backfill is now completed.
async fn write_chunk(
    tx: &mut PgConnection,
    backfill: &Backfill,
    page: &FetchedChunk,
    record: &ChunkRecord,
    points: i64,
) -> Result<(Option<i32>, i32, bool), StoreError> {
    let new_prs = upsert::store_pull_requests(tx, backfill.repository_id, &page.prs).await?;
    let chunk_number = chunks::insert_completed(tx, backfill, record, new_prs).await?;
    let advance = Advance {
        cursor: page.end_cursor.clone(),
        last_pr_number: record.pr_numbers.last().copied(),
        total_prs: page.total_count as i32,
        no_next_page: !page.has_next_page,
        empty: page.prs.is_empty(),
        chunk_size: page.size as i32,
        learned: learn::from_stored(&backfill.metadata, page, points),
    };
    let (processed, completed) = chunks::advance(tx, backfill, &advance, new_prs).await?;
    Ok((chunk_number, processed, completed))
}

/// When GitHub has not said when the budget comes back, assume an hour.
fn budget_reset_fallback() -> DateTime<Utc> {
    Utc::now() + Duration::hours(1)
}
