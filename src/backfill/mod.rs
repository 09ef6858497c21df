//! The run loop, in phases: pick the backfills (in priority order), then
//! take chunks from them in turn, the fewest turns for its priority's
//! weight first (`priority`; each chunk claimed, planned, fetched and stored
//! by `chunk`), until the chunk counts, the time budget, the rate limit or
//! the work runs out, then settle what the run did and report it.

mod alarm;
pub mod attempt;
mod audit;
pub mod chunk;
mod dry_run;
mod error;
mod fetcher;
mod fleet;
mod learn;
mod news;
mod options;
mod outlook;
mod pick;
pub mod plan;
pub mod priority;
pub mod repair;
mod serving;
mod sweep;
mod tally;
mod turns;
pub mod verify;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::github::{Clients, GithubError};
use crate::report::{BackfillReport, Reporter, RunSummary};
use crate::shutdown::Shutdown;
use crate::store::claims::{self, Holder};
use crate::store::{state, tracking};
use attempt::ChunkSettings;
use chunk::process_chunk;
pub use error::{RunError, VerifyError};
pub use options::RunOptions;
use priority::Ranked;
use turns::{Flow, Run, Turn};

/// Before any chunk has been timed, assume one takes this long (or half the
/// budget, if that is shorter, so that a short budget still gets a chunk).
const FIRST_CHUNK_ESTIMATE: Duration = Duration::from_secs(20);

pub async fn run(
    pool: &PgPool,
    clients: &Clients,
    opts: &RunOptions,
    reporter: &mut Reporter,
    shutdown: &mut Shutdown,
) -> Result<RunSummary, RunError> {
    if opts.discover {
        pick::discover(pool, clients, opts, reporter).await?;
    }
    let picked = pick::backfills(pool, opts, reporter).await?;
    let ids: Vec<Uuid> = picked.iter().map(|r| r.id).collect();
    if ids.is_empty() {
        // Nothing else would show a rejected token or a wrong URL; one free
        // request does, on every run: `rateLimit` alone costs nothing, and
        // GitHub refuses a bad token before it looks at any rate limit.
        pick::check_credentials(clients.main(), reporter).await?;
        reporter.info("no backfill to run");
        let summary = RunSummary::default();
        reporter.finish(&summary);
        return Ok(summary);
    }
    if opts.dry_run {
        dry_run::print_plans(pool, clients, &ids, opts, reporter).await?;
        return Ok(RunSummary::default());
    }
    let (mut run, unserved) = Run::start(pool, clients, opts, &picked).await?;
    let turnouts = news::check(pool, &run, reporter).await?;
    run.take_chunks(pool, clients, reporter, shutdown, &turnouts, unserved).await?;
    if let Some(window) = opts.audit.filter(|_| run.summary.interrupted.is_none()) {
        run.audit(pool, reporter, shutdown, window).await?;
    }
    let outlook = outlook::Outlook::of(&run);
    let mut summary = run.settle(pool, clients).await?;
    outlook.add_to(pool, &mut summary).await?;
    if let Some(repo) = &opts.report_issue {
        alarm::report_issues(pool, clients, repo, &ids, &summary, reporter).await;
    }
    reporter.finish(&summary);
    Ok(summary)
}

impl<'a> Run<'a> {
    async fn start(
        pool: &PgPool,
        clients: &Clients,
        opts: &'a RunOptions,
        picked: &[Ranked],
    ) -> Result<(Run<'a>, Vec<(usize, GithubError)>), RunError> {
        // With a time budget the chunk count is unlimited unless given; without
        // one, a run takes one chunk per backfill, as the schedule expects.
        let max_chunks = match (opts.time_budget, opts.max_chunks) {
            (_, Some(n)) => Some(n),
            (Some(_), None) => None,
            (None, None) => Some(1),
        };
        let mut summary = RunSummary::default();
        let mut backfills = Vec::with_capacity(picked.len());
        for r in picked {
            let backfill = state::get(pool, r.id).await?;
            let name = backfill.as_ref().map(|b| b.full_name.clone()).unwrap_or_default();
            summary.backfills.push(BackfillReport { repository: name, ..BackfillReport::default() });
            backfills.push(backfill);
        }
        let (served, unserved) = serving::clients_of(clients, &backfills).await?;
        let run = Run {
            opts,
            ids: picked.iter().map(|r| r.id).collect(),
            backfills,
            served,
            one_client: !clients.per_owner(),
            weights: picked.iter().map(|r| r.weight).collect(),
            turned: vec![false; picked.len()],
            settings: ChunkSettings { chunk_size: opts.chunk_size, processor_type: opts.processor_type },
            max_chunks,
            started: Instant::now(),
            slowest: Duration::ZERO,
            holder: Holder::new(opts.lease),
            fetchers: HashMap::new(),
            last_wrote: false,
            summary,
        };
        Ok((run, unserved))
    }

    /// Takes chunks from the backfills in turn, the fewest turns for its
    /// weight next, until each is done or something stops the whole run.
    async fn take_chunks(
        &mut self,
        pool: &PgPool,
        clients: &Clients,
        reporter: &mut Reporter,
        shutdown: &mut Shutdown,
        turnouts: &[Option<news::Turnout>],
        unserved: Vec<(usize, GithubError)>,
    ) -> Result<(), RunError> {
        for (report, error) in unserved {
            let (id, main) = (self.ids[report], clients.main());
            let turn = Turn { id, report, taken: 0, turns: 0, sweeping: false, sweep_after: false };
            self.turned[report] = true;
            let outcome = serving::record_unserved(pool, main, id, &self.settings, &self.holder, &error).await?;
            self.record(turn, outcome, reporter);
        }
        let mut live: Vec<Turn> = Vec::with_capacity(self.ids.len());
        for (report, id) in self.ids.iter().enumerate() {
            if self.served[report].is_none() {
                continue;
            }
            match turnouts.get(report).copied().flatten().unwrap_or(news::USUAL) {
                news::Turnout::Current => {
                    // Checked with the others: that was its turn.
                    self.turned[report] = true;
                    self.summary.backfills[report].note = Some("nothing new".into());
                }
                news::Turnout::Turn { sweep_first, sweep_after } => {
                    live.push(Turn { id: *id, report, taken: 0, turns: 0, sweeping: sweep_first, sweep_after })
                }
            }
        }
        if self.begin_small_ones(pool, reporter, shutdown, &mut live).await? {
            return Ok(());
        }
        loop {
            let shares: Vec<(u32, u32)> = live.iter().map(|t| (self.weights[t.report], t.turns)).collect();
            let Some(i) = priority::next_turn(&shares) else { return Ok(()) };
            let turn = live[i];
            if self.out_of_time() {
                reporter.info("time budget reached; the next run continues from here");
                return Ok(());
            }
            if let Some(signal) = shutdown.requested() {
                self.summary.interrupted = Some(signal);
                return Ok(());
            }
            if let Some(limit) = self.opts.max_chunks_total.filter(|m| self.chunks_so_far() >= *m) {
                reporter.info(&format!("--max-chunks-total {limit} reached; the next run continues from here"));
                return Ok(());
            }
            let Some(github) = self.served[turn.report].clone() else {
                live.remove(i);
                continue;
            };
            self.turned[turn.report] = true;
            // A budget whose window has passed says nothing about the new one.
            let known = github.budget_seen().filter(|b| b.current_at(chrono::Utc::now()));
            reporter.begin_backfill(&self.summary.backfills[turn.report].repository);
            let ahead = self.chunks_after(turn);
            let fetcher = self.fetchers.entry(turn.id).or_default();
            fetcher.ahead = ahead;
            fetcher.sweeping = turn.sweeping;
            // A signal drops the chunk (and a store transaction, if one
            // is open), then gives its claim up for the next run.
            let outcome = tokio::select! {
                biased;
                signal = shutdown.received() => {
                    reporter.end_backfill();
                    self.summary.interrupted = Some(signal);
                    let _ = claims::release_all(pool, &self.holder).await;
                    return Ok(());
                }
                outcome = process_chunk(pool, &github, turn.id, &self.settings, known, &self.holder, fetcher) => outcome,
            };
            let outcome = outcome.inspect_err(|_| reporter.end_backfill())?;
            let flow = self.record(turn, outcome, reporter);
            reporter.end_backfill();
            let (taken, turns) = (self.taken_after(turn), turn.turns + 1);
            match flow {
                Flow::Again => live[i] = Turn { taken, turns, ..turn },
                Flow::Sweep => live[i] = Turn { taken, turns, sweeping: true, ..turn },
                Flow::Done => {
                    live.remove(i);
                }
                // The budget is spent: of every backfill with one client, or
                // of the installation serving this one's owner.
                Flow::StopRun if self.one_client => return Ok(()),
                Flow::StopRun => {
                    live.retain(|t| self.served[t.report].as_ref().is_none_or(|c| !std::sync::Arc::ptr_eq(c, &github)))
                }
            }
        }
    }

    /// Chunk rows the run wrote so far, stored or failed.
    fn chunks_so_far(&self) -> u32 {
        self.summary.chunks + self.summary.failed_chunks
    }

    /// Chunks taken after the turn's last: those that stored PRs count.
    fn taken_after(&self, turn: Turn) -> u32 {
        turn.taken + u32::from(self.last_wrote)
    }

    /// How many more chunks of the backfill the run means to take after
    /// this one: pages are fetched ahead only for chunks it will store.
    fn chunks_after(&self, turn: Turn) -> usize {
        let by_count = self.max_chunks.map_or(usize::MAX, |m| m.saturating_sub(turn.taken + 1) as usize);
        let by_total =
            self.opts.max_chunks_total.map_or(usize::MAX, |m| m.saturating_sub(self.chunks_so_far() + 1) as usize);
        let by_count = by_count.min(by_total);
        let Some(limit) = self.opts.time_budget else { return by_count };
        // Two more chunks as long as the slowest so far must still fit.
        let slowest = if self.slowest.is_zero() { FIRST_CHUNK_ESTIMATE.min(limit / 2) } else { self.slowest };
        if self.started.elapsed() + slowest * 3 > limit {
            0
        } else {
            by_count
        }
    }

    /// Whether the next chunk, as long as the slowest so far and a half,
    /// would end after the time budget.
    fn out_of_time(&self) -> bool {
        let Some(limit) = self.opts.time_budget else { return false };
        let estimate =
            if self.slowest.is_zero() { FIRST_CHUNK_ESTIMATE.min(limit / 2) } else { self.slowest + self.slowest / 2 };
        self.started.elapsed() + estimate > limit
    }

    /// The run's summary, with each backfill's state as stored at the end.
    async fn settle(mut self, pool: &PgPool, clients: &Clients) -> Result<RunSummary, RunError> {
        let (served, passed): (Vec<_>, Vec<_>) = self.ids.iter().zip(&self.turned).partition(|(_, s)| **s);
        let ids = |v: Vec<(&Uuid, &bool)>| v.into_iter().map(|(id, _)| *id).collect::<Vec<Uuid>>();
        tracking::record_turns(pool, &ids(served), &ids(passed)).await?;
        self.summary.requests = clients.requests_sent();
        // The budget as GitHub last stated it, also when no chunk was stored.
        let seen = clients.budget_seen();
        self.summary.budget = seen.or(self.summary.budget);
        for (id, report) in self.ids.iter().zip(self.summary.backfills.iter_mut()) {
            if let Some(b) = state::get(pool, *id).await? {
                report.processed_prs = i64::from(b.processed_prs);
                report.total_prs = i64::from(b.total_prs);
                report.status = Some(b.status);
                report.current_as_of = b.metadata.current_as_of;
            }
        }
        Ok(self.summary)
    }
}
