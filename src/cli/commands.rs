//! The commands and their own flags.

use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Args, Subcommand};

use super::values::{chunk_size, duration, lease, owner_name, priority, target, Target};
use crate::status::Priority;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the tables (safe to run again, and on a database that has them).
    Migrate,
    /// Start backfilling repositories: look them up on GitHub and track them
    /// (OWNER/* every repository of an organization or user).
    Add(AddArgs),
    /// Process backfills: by default one chunk each, then exit.
    Run(RunArgs),
    /// One line per backfill.
    Status(StatusArgs),
    /// Stop scheduled runs from taking a backfill.
    Pause {
        /// A repositories.id UUID or OWNER/NAME.
        id: String,
    },
    /// Let scheduled runs take a paused or failed backfill again.
    Resume {
        /// A repositories.id UUID or OWNER/NAME.
        id: String,
    },
    /// A backfill's chunks, newest first: which failed, with GitHub's error, since when.
    History(HistoryArgs),
    /// Compare the copy with GitHub (PR numbers, updatedAt, review and
    /// comment counts): exit 1 when anything differs; --repair refetches
    /// what differs.
    Verify(VerifyArgs),
    /// Set a backfill's priority: high, normal or low.
    Priority {
        /// A repositories.id UUID or OWNER/NAME.
        id: String,
        /// high, normal or low.
        #[arg(value_parser = priority)]
        level: Priority,
    },
    /// Stop tracking a repository for good (its stored PRs stay), or stop
    /// following an owner (OWNER/*: its backfills stay); asks nothing.
    Remove {
        /// A repositories.id UUID, OWNER/NAME, or OWNER/* for an owner added whole.
        id: String,
        /// Also delete the backfill's chunk rows and state row.
        #[arg(long, env = "BACKFILL_PURGE", value_parser = BoolishValueParser::new())]
        purge: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// OWNER/NAME, or OWNER/* for every repository of that organization or
    /// user (quoted for the shell: 'OWNER/*'); several at once.
    #[arg(required = true, value_name = "OWNER/NAME", value_parser = target)]
    pub targets: Vec<Target>,
    /// A fixed chunk size for each repository (5-50).
    #[arg(long, value_name = "N", value_parser = chunk_size)]
    pub chunk_size: Option<i64>,
    /// Once completed, leave the backfill as it is: no sweeps for changed
    /// PRs (for when another system keeps recent PRs current).
    #[arg(long, env = "BACKFILL_NO_REFRESH", value_parser = BoolishValueParser::new(), conflicts_with = "refresh")]
    pub no_refresh: bool,
    /// Keep a completed backfill current again (the default).
    #[arg(long)]
    pub refresh: bool,
    /// How much of each run it gets: high, normal (the default for a new
    /// backfill) or low; an existing backfill keeps its own unless given.
    #[arg(long, env = "BACKFILL_PRIORITY", value_name = "LEVEL", value_parser = priority)]
    pub priority: Option<Priority>,
    /// OWNER/*: also track forks.
    #[arg(long, env = "BACKFILL_INCLUDE_FORKS", value_parser = BoolishValueParser::new())]
    pub include_forks: bool,
    /// OWNER/*: also track archived repositories.
    #[arg(long, env = "BACKFILL_INCLUDE_ARCHIVED", value_parser = BoolishValueParser::new())]
    pub include_archived: bool,
    /// OWNER/*: skip repositories with fewer pull requests than this.
    #[arg(long, env = "BACKFILL_MIN_PRS", value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u32))]
    pub min_prs: u32,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// A repositories.id UUID or OWNER/NAME.
    #[arg(long, value_name = "ID")]
    pub repository_id: Option<String>,
    /// One JSON array of all the backfills instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only the backfills that need attention, most urgent first: failed,
    /// paused after failures, failing, or behind the others by a day.
    #[arg(long, env = "BACKFILL_STATUS_ATTENTION", value_parser = BoolishValueParser::new())]
    pub attention: bool,
    /// Also write one self-contained HTML page: progress, ETA, charts, failed chunks.
    #[arg(long, env = "BACKFILL_STATUS_HTML", value_name = "FILE")]
    pub html: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// A repositories.id UUID or OWNER/NAME.
    pub id: String,
    /// Only the failed chunks.
    #[arg(long)]
    pub failed: bool,
    /// One JSON object per chunk, one per line, instead of a table.
    #[arg(long)]
    pub json: bool,
    /// How many chunks, newest first.
    #[arg(long, env = "BACKFILL_HISTORY_LIMIT", value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A repositories.id UUID, OWNER/NAME, or OWNER/* for every backfill of
    /// an owner; every backfill when absent.
    #[arg(value_name = "ID")]
    pub target: Option<String>,
    /// One JSON object per backfill, one per line, with the PRs of each kind
    /// of difference.
    #[arg(long, env = "BACKFILL_VERIFY_JSON", value_parser = BoolishValueParser::new())]
    pub json: bool,
    /// Refetch whole every PR that differs, then verify again.
    #[arg(long, env = "BACKFILL_REPAIR", value_parser = BoolishValueParser::new())]
    pub repair: bool,
    /// With --repair: also delete the PRs GitHub no longer has (spam it
    /// removed), with their reviews and comments; they are kept otherwise.
    #[arg(long, env = "BACKFILL_DELETE_MISSING", value_parser = BoolishValueParser::new(), requires = "repair")]
    pub delete_missing: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Only this backfill: a repositories.id UUID or OWNER/NAME.
    #[arg(long, env = "BACKFILL_REPOSITORY_ID", value_name = "ID")]
    pub repository_id: Option<String>,

    /// PRs per chunk (5-50), overriding the planner.
    #[arg(long, env = "BACKFILL_CHUNK_SIZE", value_name = "N", value_parser = chunk_size)]
    pub chunk_size: Option<i64>,

    /// Chunks per backfill (default 1; unlimited with --time-budget).
    #[arg(long, env = "BACKFILL_MAX_CHUNKS", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_chunks: Option<u32>,

    /// Chunks in the whole run, over all backfills (higher priorities first).
    #[arg(long, env = "BACKFILL_MAX_CHUNKS_TOTAL", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_chunks_total: Option<u32>,

    /// Keep taking chunks for this long, e.g. 25m.
    #[arg(long, env = "BACKFILL_TIME_BUDGET", value_name = "DURATION", value_parser = duration)]
    pub time_budget: Option<Duration>,

    /// Show what would be done; fetch no PR data, write nothing.
    #[arg(long, env = "BACKFILL_DRY_RUN", value_parser = BoolishValueParser::new())]
    pub dry_run: bool,

    /// First apply the migrations if the database lacks the tables (a new
    /// adopter's first scheduled run).
    #[arg(long, env = "BACKFILL_MIGRATE", value_parser = BoolishValueParser::new(), conflicts_with = "dry_run")]
    pub migrate: bool,

    /// First start backfills for tracked repositories that have none and
    /// hold under 95% of their PRs.
    #[arg(long, env = "BACKFILL_DISCOVER", value_parser = BoolishValueParser::new())]
    pub discover: bool,

    /// Open (or comment on) an issue in OWNER/NAME when a backfill is paused
    /// for failures or marked failed.
    #[arg(long, env = "BACKFILL_REPORT_ISSUE", value_name = "OWNER/NAME", value_parser = owner_name)]
    pub report_issue: Option<String>,

    /// How long a claim on a backfill lasts unless renewed (every third of
    /// it): after a crash, the backfill is free again this long after.
    #[arg(long, env = "BACKFILL_LEASE", value_name = "DURATION", default_value = "30s", value_parser = lease)]
    pub lease: Duration,

    /// After the chunks, verify and repair the next N PRs of each completed
    /// backfill (about a point per 100 PRs), going on where the last run stopped.
    #[arg(long, env = "BACKFILL_AUDIT", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub audit: Option<u32>,
}
