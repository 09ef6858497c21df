//! What a run is asked to do. Its own file, below the run's phases, since
//! each of them reads it and the loop in `mod.rs` uses each of them.

use std::time::Duration;

/// What one run is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// A repositories.id UUID or OWNER/NAME; all runnable backfills when absent.
    pub repository: Option<String>,
    pub chunk_size: Option<i64>,
    pub max_chunks: Option<u32>,
    /// Chunks in the whole run, over all its backfills.
    pub max_chunks_total: Option<u32>,
    pub time_budget: Option<Duration>,
    pub dry_run: bool,
    /// Start backfills for tracked repositories that have none (`--discover`).
    pub discover: bool,
    /// OWNER/NAME to open issues in when a backfill needs attention.
    pub report_issue: Option<String>,
    pub processor_type: &'static str,
    /// How long a claim on a backfill lasts without its heartbeat.
    pub lease: Duration,
    /// PRs of each completed backfill the rolling audit verifies and
    /// repairs in this run (`--audit`), going on where the last run stopped.
    pub audit: Option<u32>,
}
