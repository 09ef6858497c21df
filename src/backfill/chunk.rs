//! One chunk of one backfill, in named phases: claim it, plan its size,
//! fetch it from GitHub, store it. No transaction is open while GitHub is
//! asked: the claim is a lease (`store::claims`) kept by a heartbeat, and
//! every write is one short transaction that first confirms the claim. The
//! store's transaction is a compare-and-set: the chunk goes in whole only if
//! the claim is still this run's and the cursor is still where the chunk
//! began; otherwise nothing is written and the run says so.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::plan::{next_ceiling, plan_chunk, Plan, PlanInput};
use super::RunError;
use crate::budget::Budget;
use crate::github::{fetch_page, FetchedPage, GithubClient, GithubError, PageRequest};
use crate::report::StoredChunk;
use crate::status::ChunkStatus;
use crate::store::chunks::{self, Advance, ChunkRecord};
use crate::store::claims::{self, Holder, Verdict};
use crate::store::state::Backfill;
use crate::store::{upsert, Metadata, StoreError};

/// What became of one attempt at a chunk.
#[derive(Debug)]
pub enum ChunkOutcome {
    Stored(StoredChunk),
    /// Another process holds it, or it stopped being runnable.
    Skipped,
    /// The rate limit is spent: paused until the reset.
    RateLimited {
        repository: String,
        until: DateTime<Utc>,
    },
    /// The chunk failed and was recorded; `paused` after three in a row.
    Failed {
        repository: String,
        error: String,
        paused: bool,
    },
    /// GitHub no longer has (or shows) the repository: the backfill is `failed`.
    BackfillFailed {
        repository: String,
        error: String,
    },
    /// Fetched, but not stored: the commit's check found another run ahead.
    NotStored {
        repository: String,
        reason: String,
    },
}

/// Settings for one chunk that come from the command line.
#[derive(Debug, Clone, Copy)]
pub struct ChunkSettings {
    pub chunk_size: Option<i64>,
    pub processor_type: &'static str,
}

/// The planner's view of one backfill and the budget.
pub fn plan_input(backfill: &Backfill, settings: &ChunkSettings, budget: Option<Budget>) -> PlanInput {
    let meta = &backfill.metadata;
    PlanInput {
        fixed_size: settings.chunk_size.or(meta.chunk_size_override),
        ceiling: meta.max_chunk_size,
        prs_left: (backfill.total_prs > 0).then(|| i64::from(backfill.total_prs) - i64::from(backfill.processed_prs)),
        points_per_pr: meta.points_per_pr,
        budget,
    }
}

/// When and with how many requests sent so far a chunk began: its row's
/// `started_at` and `api_calls_made` are measured from here.
struct Start {
    instant: Instant,
    at: DateTime<Utc>,
    calls_before: u32,
}

impl Start {
    fn record(&self, github: &GithubClient, settings: &ChunkSettings, page: Option<&FetchedPage>) -> ChunkRecord {
        ChunkRecord {
            started_at: self.at,
            pr_numbers: page.map(|p| p.prs.iter().map(|pr| pr.number).collect()).unwrap_or_default(),
            api_calls: github.requests_sent().wrapping_sub(self.calls_before) as i32,
            rate_limit_remaining: page.and_then(|p| p.budget).map(|b| b.remaining as i32),
            processor_type: settings.processor_type,
        }
    }
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
) -> Result<ChunkOutcome, RunError> {
    let start = Start { instant: Instant::now(), at: Utc::now(), calls_before: github.requests_sent() };
    let Some(backfill) = claims::take(pool, id, holder).await? else {
        return Ok(ChunkOutcome::Skipped);
    };
    let chunk = Chunk { pool, github, backfill: &backfill, settings, holder, start };
    let outcome = chunk.plan_fetch_store(budget).await;
    if !matches!(outcome, Ok(ChunkOutcome::Stored(_))) {
        // Best effort: a claim that cannot be given up lapses by itself.
        let _ = claims::release_all(pool, holder).await;
    }
    outcome
}

/// One claimed chunk and what it needs on its way.
struct Chunk<'a> {
    pool: &'a PgPool,
    github: &'a GithubClient,
    backfill: &'a Backfill,
    settings: &'a ChunkSettings,
    holder: &'a Holder,
    start: Start,
}

/// A short transaction that may write for the chunk, or why it may not.
enum Guarded<'c> {
    Held(Transaction<'c, Postgres>),
    Refused(Verdict),
}

impl Chunk<'_> {
    async fn plan_fetch_store(&self, budget: Option<Budget>) -> Result<ChunkOutcome, RunError> {
        let backfill = self.backfill;
        let budget = budget.or_else(|| backfill.metadata.budget_seen(Utc::now()));
        let size = match plan_chunk(&plan_input(backfill, self.settings, budget)) {
            Plan::Fetch { size, .. } => size,
            Plan::WaitForReset { .. } => {
                let until = budget.and_then(|b| b.reset_at).unwrap_or_else(budget_reset_fallback);
                return self.pause_for_rate_limit(until).await;
            }
        };
        // No transaction is open while GitHub is asked; the heartbeat keeps
        // the claim, and stops the fetch if another run has taken it over.
        let fetched = tokio::select! {
            fetched = fetch(self.github, backfill, size) => fetched,
            () = keep_claim(self.pool, backfill.id, self.holder) => return Ok(self.not_stored(Verdict::ClaimLost)),
        };
        match fetched {
            Ok(page) => self.store(&page).await,
            Err(e) => self.record_error(&e).await,
        }
    }

    /// Begins a transaction and confirms the claim (and, for a commit, the
    /// cursor the chunk began from) before anything is written.
    async fn guarded(&self, check_cursor: bool) -> Result<Guarded<'_>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let cursor = check_cursor.then_some(self.backfill.last_processed_cursor.as_deref());
        match claims::confirm(&mut tx, self.backfill.id, self.holder, cursor).await? {
            Verdict::Held => Ok(Guarded::Held(tx)),
            refused => Ok(Guarded::Refused(refused)),
        }
    }

    fn not_stored(&self, why: Verdict) -> ChunkOutcome {
        let reason = match why {
            Verdict::CursorMoved => "another run stored a chunk from the same cursor first",
            Verdict::ClaimLost | Verdict::Held => "another run took the backfill over after this run's claim lapsed",
        };
        ChunkOutcome::NotStored { repository: self.backfill.full_name.clone(), reason: reason.to_string() }
    }

    /// The store phase, one short transaction: the claim and cursor checked,
    /// the page, its chunk row, the advanced state, the claim given up.
    async fn store(&self, page: &FetchedPage) -> Result<ChunkOutcome, RunError> {
        let record = self.start.record(self.github, self.settings, Some(page));
        let mut tx = match self.guarded(true).await? {
            Guarded::Held(tx) => tx,
            Guarded::Refused(why) => return Ok(self.not_stored(why)),
        };
        let (chunk_number, processed) = match write_chunk(&mut tx, self.backfill, page, &record).await {
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
            chunk_number,
            prs: page.prs.len(),
            processed_prs: i64::from(processed),
            total_prs: page.total_count,
            completed: !page.has_next_page,
            chunk_size: page.size,
            requests: record.api_calls as u32,
            points: page.points,
            budget: page.budget,
            elapsed: self.start.instant.elapsed(),
        }))
    }

    async fn pause_for_rate_limit(&self, until: DateTime<Utc>) -> Result<ChunkOutcome, RunError> {
        let mut tx = match self.guarded(false).await? {
            Guarded::Held(tx) => tx,
            Guarded::Refused(why) => return Ok(self.not_stored(why)),
        };
        chunks::pause_for_rate_limit(&mut tx, self.backfill, until).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChunkOutcome::RateLimited { repository: self.backfill.full_name.clone(), until })
    }

    /// A failed chunk: its row and the error counters.
    async fn record_failure(&self, record: &ChunkRecord, error: String) -> Result<ChunkOutcome, RunError> {
        let mut tx = match self.guarded(false).await? {
            Guarded::Held(tx) => tx,
            Guarded::Refused(why) => return Ok(self.not_stored(why)),
        };
        let paused = chunks::fail_chunk(&mut tx, self.backfill, record, &error).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(ChunkOutcome::Failed { repository: self.backfill.full_name.clone(), error, paused })
    }

    /// A fetch that failed: what it means for the backfill, recorded.
    async fn record_error(&self, error: &GithubError) -> Result<ChunkOutcome, RunError> {
        let message = error.to_string();
        let repository = self.backfill.full_name.clone();
        match error {
            GithubError::BadCredentials => Err(RunError::BadCredentials),
            GithubError::RateLimited { reset_at } => {
                self.pause_for_rate_limit(reset_at.unwrap_or_else(budget_reset_fallback)).await
            }
            GithubError::NotFound(_) | GithubError::Forbidden(_) => {
                let mut tx = match self.guarded(false).await? {
                    Guarded::Held(tx) => tx,
                    Guarded::Refused(why) => return Ok(self.not_stored(why)),
                };
                chunks::mark_failed(&mut tx, self.backfill, &message).await?;
                tx.commit().await.map_err(StoreError::from)?;
                Ok(ChunkOutcome::BackfillFailed { repository, error: message })
            }
            _ => self.record_failure(&self.start.record(self.github, self.settings, None), message).await,
        }
    }
}

/// The heartbeat: renews the claim until it turns out to be lost; a
/// renewal that fails (the database away for a moment) is tried again at
/// the next beat, and the commit's check has the last word.
async fn keep_claim(pool: &PgPool, state_id: Uuid, holder: &Holder) {
    loop {
        tokio::time::sleep(holder.heartbeat()).await;
        if let Ok(false) = claims::renew(pool, state_id, holder).await {
            return;
        }
    }
}

/// The fetch phase: the next page after the stored cursor, complete.
async fn fetch(github: &GithubClient, backfill: &Backfill, size: i64) -> Result<FetchedPage, GithubError> {
    let request = PageRequest {
        owner: &backfill.owner,
        name: &backfill.name,
        after: backfill.last_processed_cursor.as_deref(),
        size,
    };
    fetch_page(github, &request).await
}

/// The page, its chunk row and the advanced state; returns the chunk
/// number (none for an empty page) and the new `processed_prs`.
async fn write_chunk(
    tx: &mut PgConnection,
    backfill: &Backfill,
    page: &FetchedPage,
    record: &ChunkRecord,
) -> Result<(Option<i32>, i32), StoreError> {
    upsert::store_pull_requests(tx, backfill.repository_id, &page.prs).await?;
    let chunk_number = if record.pr_numbers.is_empty() {
        None
    } else {
        Some(chunks::insert_chunk(tx, backfill, record, ChunkStatus::Completed, None).await?)
    };
    let advance = Advance {
        cursor: page.end_cursor.clone(),
        last_pr_number: record.pr_numbers.last().copied(),
        total_prs: page.total_count as i32,
        completed: !page.has_next_page,
        chunk_size: page.size as i32,
        learned: learned(&backfill.metadata, page),
    };
    let processed = chunks::advance(tx, backfill, &advance).await?;
    Ok((chunk_number, processed))
}

/// When GitHub has not said when the budget comes back, assume an hour.
fn budget_reset_fallback() -> DateTime<Utc> {
    Utc::now() + Duration::hours(1)
}

/// What a stored chunk taught about the repository, for its metadata.
fn learned(meta: &Metadata, page: &FetchedPage) -> Metadata {
    let mut out = Metadata::default();
    let prs = page.prs.len();
    if prs > 0 && page.points > 0 {
        let this = page.points as f64 / prs as f64;
        // A moving average: one heavy chunk should not halve the next ones.
        let avg = match meta.points_per_pr {
            Some(prev) if prev.is_finite() && prev > 0.0 => prev * 0.7 + this * 0.3,
            _ => this,
        };
        out.points_per_pr = Some((avg * 10_000.0).round() / 10_000.0);
    }
    out.max_chunk_size = next_ceiling(meta.max_chunk_size, page.size, page.shrunk);
    out.rate_limit = page.budget;
    out
}
