//! Where a run stands: its progress through its backfills (`Run`), each
//! backfill's place in it (`Turn`) and what follows a chunk (`Flow`). Only
//! the shapes: the loop in `mod.rs` takes the turns, `tally` counts what
//! they did and `outlook` reads ahead, each from here.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::attempt::ChunkSettings;
use super::fetcher::Fetcher;
use super::RunOptions;
use crate::github::GithubClient;
use crate::report::RunSummary;
use crate::store::claims::Holder;
use crate::store::state::Backfill;
use std::sync::Arc;

/// A backfill's place in the run: its state id, its report, chunks taken.
#[derive(Clone, Copy)]
pub(super) struct Turn {
    pub(super) id: Uuid,
    pub(super) report: usize,
    pub(super) taken: u32,
    /// Turns it had in this run, whatever they did (`priority::next_turn`).
    pub(super) turns: u32,
    /// Caught up: the turn sweeps for changed PRs (`sweep`).
    pub(super) sweeping: bool,
    /// Whether a turn that caught up goes on to sweep: not when a check of
    /// the backfills kept current found only new PRs (`news`).
    pub(super) sweep_after: bool,
}

/// Whether a backfill gets another chunk (of its own, or of a sweep for
/// changed PRs), or the whole run stops.
pub(super) enum Flow {
    Again,
    Sweep,
    Done,
    StopRun,
}

/// One run's progress through its backfills.
pub(super) struct Run<'a> {
    pub(super) opts: &'a RunOptions,
    pub(super) ids: Vec<Uuid>,
    /// Each backfill as read when the run began (none: gone since it was picked).
    pub(super) backfills: Vec<Option<Backfill>>,
    /// The client serving each backfill (`serving`; none: not served).
    pub(super) served: Vec<Option<Arc<GithubClient>>>,
    /// Whether one client serves every backfill (a spent budget then stops the run).
    pub(super) one_client: bool,
    /// Each backfill's share of the run (`priority::weight`).
    pub(super) weights: Vec<u32>,
    /// Whether it had a turn: the others count a run passed over.
    pub(super) turned: Vec<bool>,
    pub(super) settings: ChunkSettings,
    /// Chunks per backfill; none with a time budget and no `--max-chunks`.
    pub(super) max_chunks: Option<u32>,
    pub(super) started: Instant,
    pub(super) slowest: Duration,
    /// This run, as the holder of its claims.
    pub(super) holder: Holder,
    /// Each backfill's fetch, with the pages fetched ahead of its next chunk.
    pub(super) fetchers: HashMap<Uuid, Fetcher>,
    /// Whether the last chunk stored wrote a chunk row.
    pub(super) last_wrote: bool,
    pub(super) summary: RunSummary,
}
