//! The run loop: pick the backfills, take chunks from them in turn until the
//! chunk count, the time budget, the rate limit or the work runs out.

mod alarm;
pub mod chunk;
mod dry_run;
pub mod plan;
mod summary;

pub use summary::{BackfillReport, RunSummary};

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::github::GithubClient;
use crate::report::Reporter;
use crate::shutdown::Shutdown;
use crate::store::state;
use chunk::{process_chunk, Budget, ChunkError, ChunkOutcome, ChunkSettings};

#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A repositories.id UUID or OWNER/NAME; all runnable backfills when absent.
    pub repository: Option<String>,
    pub chunk_size: Option<i64>,
    pub max_chunks: Option<u32>,
    pub time_budget: Option<Duration>,
    pub dry_run: bool,
    /// Start backfills for tracked repositories that have none (`--discover`).
    pub discover: bool,
    /// OWNER/NAME to open issues in when a backfill needs attention.
    pub report_issue: Option<String>,
    pub processor_type: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Chunk(#[from] ChunkError),
}

impl From<sqlx::Error> for RunError {
    fn from(e: sqlx::Error) -> RunError {
        RunError::Chunk(ChunkError::Database(e))
    }
}

/// Before any chunk has been timed, assume one takes this long (or half the
/// budget, if that is shorter, so that a short budget still gets a chunk).
const FIRST_CHUNK_ESTIMATE: Duration = Duration::from_secs(20);

async fn select(pool: &PgPool, opts: &RunOptions, reporter: &Reporter) -> Result<Vec<Uuid>, RunError> {
    let Some(ident) = &opts.repository else {
        return Ok(state::runnable(pool).await?);
    };
    let backfill = state::find(pool, ident).await?.ok_or_else(|| {
        RunError::Usage(format!("no backfill for '{ident}': start one with `backfill add OWNER/NAME`"))
    })?;
    match backfill.status.as_str() {
        "completed" => {
            reporter.info(&format!("{}: already completed, nothing to do", backfill.full_name));
            Ok(Vec::new())
        }
        "active" => Ok(vec![backfill.id]),
        other => {
            let rate_pause_over = backfill.metadata.get("pause_kind").and_then(Value::as_str) == Some("rate_limit")
                && paused_until(&backfill.metadata).is_some_and(|t| t <= Utc::now());
            if rate_pause_over {
                Ok(vec![backfill.id])
            } else {
                reporter.info(&format!(
                    "{}: {other}, skipped (`backfill resume {}` to run it again)",
                    backfill.full_name, backfill.full_name
                ));
                Ok(Vec::new())
            }
        }
    }
}

fn paused_until(meta: &Value) -> Option<DateTime<Utc>> {
    meta.get("paused_until")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

pub async fn run(
    pool: &PgPool,
    github: &GithubClient,
    opts: &RunOptions,
    reporter: &mut Reporter,
    shutdown: &mut Shutdown,
) -> Result<RunSummary, RunError> {
    if opts.discover {
        let found = state::discover(pool, !opts.dry_run).await?;
        let verb = if opts.dry_run { "would start" } else { "started" };
        match found.len() {
            0 => reporter.info("discovery: every tracked repository has a backfill or its PRs"),
            n => reporter.info(&format!("discovery: {verb} {n} backfill(s): {}", found.join(", "))),
        }
    }
    let ids = select(pool, opts, reporter).await?;
    if ids.is_empty() {
        reporter.info("no backfill to run");
        let summary = RunSummary::default();
        reporter.finish(&summary);
        return Ok(summary);
    }
    if opts.dry_run {
        dry_run::print_plans(pool, github, &ids, opts, reporter).await?;
        return Ok(RunSummary::default());
    }
    let started = Instant::now();
    // With a time budget the chunk count is unlimited unless given; without
    // one, a run takes one chunk per backfill, as the schedule expects.
    let max_chunks = match (opts.time_budget, opts.max_chunks) {
        (_, Some(n)) => Some(n),
        (Some(_), None) => None,
        (None, None) => Some(1),
    };
    let settings =
        ChunkSettings { chunk_size: opts.chunk_size, processor_type: opts.processor_type, any_status: false };
    let mut summary = RunSummary::default();
    for id in &ids {
        let name = state::get(pool, *id).await?.map(|b| b.full_name).unwrap_or_default();
        summary.backfills.push(BackfillReport { repository: name, ..BackfillReport::default() });
    }
    let mut budget: Option<Budget> = None;
    let mut slowest = Duration::ZERO;
    // (state id, its report, chunks taken)
    let mut taken: Vec<(Uuid, usize, u32)> = ids.iter().enumerate().map(|(i, id)| (*id, i, 0)).collect();
    'passes: while !taken.is_empty() {
        let mut still_going = Vec::new();
        for (id, at, done) in taken {
            if let Some(limit) = opts.time_budget {
                let estimate =
                    if slowest.is_zero() { FIRST_CHUNK_ESTIMATE.min(limit / 2) } else { slowest + slowest / 2 };
                if started.elapsed() + estimate > limit {
                    reporter.info("time budget reached; the next run continues from here");
                    break 'passes;
                }
            }
            // A budget whose window has passed says nothing about the new one.
            let known = budget.filter(|b| b.reset_at.is_none_or(|r| r > Utc::now()));
            if let Some(signal) = shutdown.requested() {
                summary.interrupted = Some(signal);
                break 'passes;
            }
            reporter.begin_backfill(&summary.backfills[at].repository);
            // A signal drops the chunk, and with it its open transaction.
            let outcome = tokio::select! {
                biased;
                signal = shutdown.received() => {
                    reporter.end_backfill();
                    summary.interrupted = Some(signal);
                    break 'passes;
                }
                outcome = process_chunk(pool, github, id, &settings, known) => outcome,
            };
            let outcome = match outcome {
                Ok(o) => o,
                Err(e) => {
                    reporter.end_backfill();
                    return Err(e.into());
                }
            };
            let report = &mut summary.backfills[at];
            match outcome {
                ChunkOutcome::Stored(c) => {
                    slowest = slowest.max(c.elapsed);
                    summary.chunks += u32::from(c.chunk_number.is_some());
                    summary.prs_stored += c.prs as u64;
                    summary.points += c.points;
                    summary.rate = Some(c.rate);
                    report.prs_stored += c.prs as u64;
                    report.points += c.points;
                    report.chunk_size = Some(c.chunk_size);
                    report.elapsed += c.elapsed;
                    budget = Budget::from_rate(&c.rate).or(budget);
                    reporter.chunk_stored(&c);
                    let done = done + 1;
                    if !c.completed && max_chunks.is_none_or(|m| done < m) {
                        still_going.push((id, at, done));
                    }
                }
                ChunkOutcome::Skipped => report.note = Some("taken by another run".into()),
                ChunkOutcome::RateLimited { repository, until } => {
                    summary.rate_limited_until = Some(until);
                    let until = until.format("%Y-%m-%d %H:%M:%S UTC");
                    report.note = Some(format!("rate limit, until {until}"));
                    reporter.warn(&format!(
                        "{repository}: GitHub rate limit exhausted: paused until {until}; a later run resumes automatically"
                    ));
                    reporter.end_backfill();
                    // Sending more would only spend requests on refusals.
                    break 'passes;
                }
                ChunkOutcome::Failed { repository, error, paused } => {
                    summary.failed_chunks += 1;
                    report.needs_attention |= paused;
                    report.note = Some(format!("chunk failed: {error}"));
                    let note =
                        if paused { " (paused after repeated failures: `backfill resume` it when fixed)" } else { "" };
                    reporter.error(&format!("{repository}: chunk failed{note}: {error}"));
                }
                ChunkOutcome::BackfillFailed { repository, error } => {
                    summary.failed_backfills += 1;
                    report.needs_attention = true;
                    report.note = Some(error.clone());
                    reporter.error(&format!("{repository}: backfill marked failed: {error}"));
                }
            }
            reporter.end_backfill();
        }
        taken = still_going;
    }
    summary.requests = github.requests_sent();
    for (id, report) in ids.iter().zip(summary.backfills.iter_mut()) {
        if let Some(b) = state::get(pool, *id).await? {
            report.processed_prs = i64::from(b.processed_prs);
            report.total_prs = i64::from(b.total_prs);
            report.status = b.status;
        }
    }
    if let Some(repo) = &opts.report_issue {
        alarm::report_issues(pool, github, repo, &ids, &summary, reporter).await;
    }
    reporter.finish(&summary);
    Ok(summary)
}
