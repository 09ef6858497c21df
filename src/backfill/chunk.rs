//! One chunk of one backfill: claim, plan, fetch, store, all inside a single
//! transaction that holds the backfill's row lock. Whatever happens, the
//! database ends with the whole chunk or none of it.

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use super::plan::{next_ceiling, plan_chunk, Plan, PlanInput};
use crate::github::{fetch_page, FetchedPage, GithubClient, GithubError, PageRequest, RateInfo};
use crate::store::chunks::{self, Advance, ChunkRecord};
use crate::store::state::{self, Backfill};
use crate::store::upsert;

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

#[derive(Debug, Clone)]
pub struct StoredChunk {
    pub full_name: String,
    pub chunk_number: Option<i32>,
    pub prs: usize,
    pub processed_prs: i64,
    pub total_prs: i64,
    pub completed: bool,
    pub chunk_size: i64,
    pub requests: u32,
    pub points: i64,
    pub rate: RateInfo,
    pub elapsed: std::time::Duration,
}

/// Settings for one chunk that come from the command line.
#[derive(Debug, Clone, Copy)]
pub struct ChunkSettings {
    pub chunk_size: Option<i64>,
    pub processor_type: &'static str,
    /// Run the backfill even if it is not in a runnable state (given by id).
    pub any_status: bool,
}

/// The budget as GitHub last reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub remaining: i64,
    pub limit: i64,
    pub reset_at: Option<DateTime<Utc>>,
}

impl Budget {
    /// The budget in GitHub's answer, when it stated both numbers.
    pub fn from_rate(rate: &RateInfo) -> Option<Budget> {
        let (remaining, limit) = rate.remaining.zip(rate.limit)?;
        Some(Budget { remaining, limit, reset_at: rate.reset_at })
    }

    /// The budget a previous run saw for this repository, while its window
    /// lasts: so that a run's first chunk is planned against it too.
    pub fn last_seen(meta: &Value, now: DateTime<Utc>) -> Option<Budget> {
        let seen = meta.get("rate_limit")?;
        let reset_at = seen.get("reset_at").and_then(Value::as_str).and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        let reset_at = reset_at.map(|t| t.with_timezone(&Utc)).filter(|t| *t > now)?;
        Some(Budget {
            remaining: seen.get("remaining").and_then(Value::as_i64)?,
            limit: seen.get("limit").and_then(Value::as_i64)?,
            reset_at: Some(reset_at),
        })
    }
}

/// The planner's view of one backfill and the budget.
pub fn plan_input(backfill: &Backfill, settings: &ChunkSettings, budget: Option<Budget>) -> PlanInput {
    let meta = &backfill.metadata;
    PlanInput {
        fixed_size: settings.chunk_size.or_else(|| meta.get("chunk_size_override").and_then(Value::as_i64)),
        ceiling: meta.get("max_chunk_size").and_then(Value::as_i64),
        prs_left: (backfill.total_prs > 0).then(|| i64::from(backfill.total_prs) - i64::from(backfill.processed_prs)),
        points_per_pr: meta.get("points_per_pr").and_then(Value::as_f64),
        budget: budget.map(|b| (b.remaining, b.limit)),
    }
}

pub async fn process_chunk(
    pool: &PgPool,
    github: &GithubClient,
    id: Uuid,
    settings: &ChunkSettings,
    budget: Option<Budget>,
) -> Result<ChunkOutcome, ChunkError> {
    let started = Instant::now();
    let started_at = Utc::now();
    let calls_before = github.requests_sent();
    let mut tx = pool.begin().await?;
    let Some(backfill) = state::claim(&mut tx, id, !settings.any_status).await? else {
        return Ok(ChunkOutcome::Skipped);
    };
    let budget = budget.or_else(|| Budget::last_seen(&backfill.metadata, Utc::now()));
    let size = match plan_chunk(&plan_input(&backfill, settings, budget)) {
        Plan::Fetch { size, .. } => size,
        Plan::WaitForReset { .. } => {
            let until = budget.and_then(|b| b.reset_at).unwrap_or_else(budget_reset_fallback);
            chunks::pause_for_rate_limit(&mut tx, &backfill, until).await?;
            tx.commit().await?;
            return Ok(ChunkOutcome::RateLimited { repository: backfill.full_name, until });
        }
    };
    let request = PageRequest {
        owner: &backfill.owner,
        name: &backfill.name,
        after: backfill.last_processed_cursor.as_deref(),
        size,
    };
    let fetched = fetch_page(github, &request).await;
    let record = |pr_numbers: Vec<i32>, remaining: Option<i64>| ChunkRecord {
        started_at,
        pr_numbers,
        api_calls: github.requests_sent().wrapping_sub(calls_before) as i32,
        rate_limit_remaining: remaining.map(|r| r as i32),
        processor_type: settings.processor_type,
    };
    let page = match fetched {
        Ok(page) => page,
        Err(e) => {
            let outcome = record_error(&mut tx, &backfill, &e, &record(Vec::new(), None)).await?;
            tx.commit().await?;
            return outcome;
        }
    };
    let record = record(page.prs.iter().map(|p| p.number).collect(), page.rate.remaining);
    match store(&mut tx, &backfill, &page, &record).await {
        Ok((chunk_number, processed)) => {
            tx.commit().await?;
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
                rate: page.rate,
                elapsed: started.elapsed(),
            }))
        }
        // PostgreSQL refused the data (a constraint of an existing database,
        // say): the chunk fails like any other, and the run goes on.
        Err(sqlx::Error::Database(e)) => {
            tx.rollback().await?;
            let error = format!("storing the chunk failed: {}", crate::github::client::one_line(&e.to_string()));
            let mut tx = pool.begin().await?;
            let Some(backfill) = state::claim(&mut tx, id, false).await? else { return Ok(ChunkOutcome::Skipped) };
            let record = ChunkRecord { pr_numbers: Vec::new(), ..record };
            let paused = chunks::fail_chunk(&mut tx, &backfill, &record, &error).await?;
            tx.commit().await?;
            Ok(ChunkOutcome::Failed { repository: backfill.full_name, error, paused })
        }
        Err(e) => Err(e.into()),
    }
}

/// Writes the page, its chunk row and the advanced state; returns the chunk
/// number (none for an empty page) and the new `processed_prs`.
async fn store(
    tx: &mut sqlx::PgConnection,
    backfill: &Backfill,
    page: &FetchedPage,
    record: &ChunkRecord,
) -> Result<(Option<i32>, i32), sqlx::Error> {
    upsert::store_pull_requests(tx, backfill.repository_id, &page.prs).await?;
    let chunk_number = if record.pr_numbers.is_empty() {
        None
    } else {
        Some(chunks::insert_chunk(tx, backfill, record, "completed", None).await?)
    };
    let advance = Advance {
        cursor: page.end_cursor.clone(),
        last_pr_number: record.pr_numbers.last().copied(),
        total_prs: page.total_count as i32,
        completed: !page.has_next_page,
        chunk_size: page.size as i32,
        metadata: learned(&backfill.metadata, page),
    };
    let processed = chunks::advance(tx, backfill, &advance).await?;
    Ok((chunk_number, processed))
}

/// When GitHub has not said when the budget comes back, assume an hour.
fn budget_reset_fallback() -> DateTime<Utc> {
    Utc::now() + Duration::hours(1)
}

/// Keys merged into the state's metadata after a stored chunk.
fn learned(meta: &Value, page: &FetchedPage) -> Value {
    let mut out = json!({});
    let prs = page.prs.len();
    if prs > 0 && page.points > 0 {
        let this = page.points as f64 / prs as f64;
        // A moving average: one heavy chunk should not halve the next ones.
        let avg = match meta.get("points_per_pr").and_then(Value::as_f64) {
            Some(prev) if prev.is_finite() && prev > 0.0 => prev * 0.7 + this * 0.3,
            _ => this,
        };
        out["points_per_pr"] = json!((avg * 10_000.0).round() / 10_000.0);
    }
    let ceiling = meta.get("max_chunk_size").and_then(Value::as_i64);
    if let Some(c) = next_ceiling(ceiling, page.size, page.shrunk) {
        out["max_chunk_size"] = json!(c);
    }
    let rate = &page.rate;
    if let Some(remaining) = rate.remaining {
        out["rate_limit"] = json!({ "remaining": remaining, "limit": rate.limit, "reset_at": rate.reset_at });
    }
    out
}

async fn record_error(
    tx: &mut sqlx::PgConnection,
    backfill: &Backfill,
    error: &GithubError,
    record: &ChunkRecord,
) -> Result<Result<ChunkOutcome, ChunkError>, sqlx::Error> {
    let message = error.to_string();
    Ok(match error {
        GithubError::BadCredentials => Err(ChunkError::BadCredentials),
        GithubError::RateLimited { reset_at } => {
            let until = reset_at.unwrap_or_else(budget_reset_fallback);
            chunks::pause_for_rate_limit(tx, backfill, until).await?;
            Ok(ChunkOutcome::RateLimited { repository: backfill.full_name.clone(), until })
        }
        GithubError::NotFound(_) | GithubError::Forbidden(_) => {
            chunks::mark_failed(tx, backfill, &message).await?;
            Ok(ChunkOutcome::BackfillFailed { repository: backfill.full_name.clone(), error: message })
        }
        _ => {
            let paused = chunks::fail_chunk(tx, backfill, record, &message).await?;
            Ok(ChunkOutcome::Failed { repository: backfill.full_name.clone(), error: message, paused })
        }
    })
}

/// Failures that stop the whole run rather than one backfill.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("GitHub rejected the token (401 Bad credentials): check GITHUB_TOKEN")]
    BadCredentials,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_seen_earlier_counts_only_while_its_window_lasts() {
        let now = Utc::now();
        let seen = |reset: DateTime<Utc>| json!({ "rate_limit": { "remaining": 7, "limit": 1000, "reset_at": reset } });
        let later = now + Duration::minutes(20);
        let cases = [
            (seen(later), Some(Budget { remaining: 7, limit: 1000, reset_at: Some(later) })),
            (seen(now - Duration::minutes(1)), None),
            (json!({ "rate_limit": { "remaining": 7 } }), None),
            (json!({}), None),
        ];
        for (meta, want) in cases {
            let got = Budget::last_seen(&meta, now);
            let close = match (got, want) {
                (Some(g), Some(w)) => {
                    g.remaining == w.remaining
                        && g.limit == w.limit
                        && g.reset_at.zip(w.reset_at).is_some_and(|(a, b)| (a - b).num_seconds().abs() < 1)
                }
                (g, w) => g == w,
            };
            assert!(close, "{meta}: {got:?} != {want:?}");
        }
    }
}
