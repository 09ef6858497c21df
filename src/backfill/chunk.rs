//! One chunk of one backfill, in named phases: claim it, plan its size,
//! fetch it from GitHub, store it. All four run inside one transaction that
//! holds the backfill's row lock; whatever happens, the database ends with
//! the whole chunk or none of it.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::plan::{next_ceiling, plan_chunk, Plan, PlanInput};
use super::RunError;
use crate::budget::Budget;
use crate::github::{fetch_page, FetchedPage, GithubClient, GithubError, PageRequest};
use crate::report::StoredChunk;
use crate::status::ChunkStatus;
use crate::store::chunks::{self, Advance, ChunkRecord};
use crate::store::state::{self, Backfill};
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

pub async fn process_chunk(
    pool: &PgPool,
    github: &GithubClient,
    id: Uuid,
    settings: &ChunkSettings,
    budget: Option<Budget>,
) -> Result<ChunkOutcome, RunError> {
    let start = Start { instant: Instant::now(), at: Utc::now(), calls_before: github.requests_sent() };
    let mut tx = pool.begin().await.map_err(StoreError::from)?;
    let Some(backfill) = state::claim(&mut tx, id, true).await? else {
        return Ok(ChunkOutcome::Skipped);
    };
    let budget = budget.or_else(|| backfill.metadata.budget_seen(Utc::now()));
    let size = match plan_chunk(&plan_input(&backfill, settings, budget)) {
        Plan::Fetch { size, .. } => size,
        Plan::WaitForReset { .. } => {
            let until = budget.and_then(|b| b.reset_at).unwrap_or_else(budget_reset_fallback);
            chunks::pause_for_rate_limit(&mut tx, &backfill, until).await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(ChunkOutcome::RateLimited { repository: backfill.full_name, until });
        }
    };
    let page = match fetch(github, &backfill, size).await {
        Ok(page) => page,
        Err(e) => {
            let outcome = record_error(&mut tx, &backfill, &e, &start.record(github, settings, None)).await?;
            tx.commit().await.map_err(StoreError::from)?;
            return Ok(outcome);
        }
    };
    let record = start.record(github, settings, Some(&page));
    match store(&mut tx, &backfill, &page, &record).await {
        Ok((chunk_number, processed)) => {
            tx.commit().await.map_err(StoreError::from)?;
            Ok(ChunkOutcome::Stored(StoredChunk {
                full_name: backfill.full_name,
                chunk_number,
                prs: page.prs.len(),
                processed_prs: i64::from(processed),
                total_prs: page.total_count,
                completed: !page.has_next_page,
                chunk_size: page.size,
                requests: record.api_calls as u32,
                points: page.points,
                budget: page.budget,
                elapsed: start.instant.elapsed(),
            }))
        }
        // PostgreSQL refused the data (a constraint of an existing database,
        // say): the chunk fails like any other, and the run goes on.
        Err(StoreError::Refused(e)) => {
            tx.rollback().await.map_err(StoreError::from)?;
            let error = format!("storing the chunk failed: {e}");
            let record = ChunkRecord { pr_numbers: Vec::new(), ..record };
            record_refusal(pool, id, &record, error).await
        }
        Err(e) => Err(e.into()),
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

/// The store phase: the page, its chunk row and the advanced state; returns
/// the chunk number (none for an empty page) and the new `processed_prs`.
async fn store(
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

/// A chunk PostgreSQL refused is recorded as failed in a transaction of its
/// own, the refused one being rolled back.
async fn record_refusal(
    pool: &PgPool,
    id: Uuid,
    record: &ChunkRecord,
    error: String,
) -> Result<ChunkOutcome, RunError> {
    let mut tx = pool.begin().await.map_err(StoreError::from)?;
    let Some(backfill) = state::claim(&mut tx, id, false).await? else { return Ok(ChunkOutcome::Skipped) };
    let paused = chunks::fail_chunk(&mut tx, &backfill, record, &error).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(ChunkOutcome::Failed { repository: backfill.full_name, error, paused })
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

/// A fetch that failed: what it means for the backfill, recorded.
async fn record_error(
    tx: &mut PgConnection,
    backfill: &Backfill,
    error: &GithubError,
    record: &ChunkRecord,
) -> Result<ChunkOutcome, RunError> {
    let message = error.to_string();
    let repository = backfill.full_name.clone();
    Ok(match error {
        GithubError::BadCredentials => return Err(RunError::BadCredentials),
        GithubError::RateLimited { reset_at } => {
            let until = reset_at.unwrap_or_else(budget_reset_fallback);
            chunks::pause_for_rate_limit(tx, backfill, until).await?;
            ChunkOutcome::RateLimited { repository, until }
        }
        GithubError::NotFound(_) | GithubError::Forbidden(_) => {
            chunks::mark_failed(tx, backfill, &message).await?;
            ChunkOutcome::BackfillFailed { repository, error: message }
        }
        _ => {
            let paused = chunks::fail_chunk(tx, backfill, record, &message).await?;
            ChunkOutcome::Failed { repository, error: message, paused }
        }
    })
}
