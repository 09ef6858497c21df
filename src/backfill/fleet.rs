//! Small backfills begun together: when a run takes several backfills that
//! have stored nothing yet and whose PRs all fit in one page, their first
//! pages go several to a request (`github::pipeline::fleet`), priced and
//! packed by the same cost rules, and each chunk is still stored alone, in
//! its own short transaction with its own chunk row and cursor, as soon as
//! it is whole. Each backfill is claimed before its page is asked, and the
//! claims are kept alive while the pages come. A backfill completed this
//! way has no sweep in the same run: nothing could have changed since its
//! page came, and the next run's check (`news`) reaches back to its start.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;
use uuid::Uuid;

use super::attempt::Start;
use super::chunk::{Chunk, ChunkOutcome};
use super::plan::MAX_CHUNK;
use super::{Flow, Run, RunError, Turn};
use crate::github::error::Blame;
use crate::github::pipeline::document::FirstPage;
use crate::github::{GithubClient, Pipeline};
use crate::report::Reporter;
use crate::shutdown::Shutdown;
use crate::status::BackfillStatus;
use crate::store::claims;
use crate::store::state::Backfill;

/// Small backfills one client serves: their places in `live`, their pages' sizes.
type Group = (Arc<GithubClient>, Vec<(usize, i64)>);

/// Fewer small backfills than this are begun one by one, as any other.
const AT_LEAST: usize = 2;

/// Whether a backfill's first page holds all its PRs: it stored nothing,
/// and nothing (a fixed chunk size, a page size timeouts taught) holds its
/// page under its PRs.
fn small(b: &Backfill, chunk_size: Option<i64>) -> Option<i64> {
    let meta = &b.metadata;
    let fresh = b.status == BackfillStatus::Active && b.last_processed_cursor.is_none() && b.processed_prs == 0;
    let total = i64::from(b.total_prs);
    let bound = chunk_size.or(meta.chunk_size_override).or(meta.max_chunk_size).unwrap_or(MAX_CHUNK);
    (fresh && total <= bound.min(MAX_CHUNK) && meta.span_windows.is_none()).then_some(total.max(1))
}

impl Run<'_> {
    /// Begins the small backfills among `live` together; those it stored
    /// leave `live`. Returns whether the run must stop (a signal, the rate
    /// limit); a failure of the shared fetch leaves the rest to their turns.
    pub(super) async fn begin_small_ones(
        &mut self,
        pool: &PgPool,
        reporter: &mut Reporter,
        shutdown: &mut Shutdown,
        live: &mut Vec<Turn>,
    ) -> Result<bool, RunError> {
        // Each is a chunk: `--max-chunks-total` bounds them too.
        let room = self.opts.max_chunks_total.map_or(usize::MAX, |m| m.saturating_sub(self.chunks_so_far()) as usize);
        let candidates: Vec<(usize, i64)> = live
            .iter()
            .enumerate()
            .filter_map(|(at, t)| {
                let b = self.backfills[t.report].as_ref()?;
                small(b, self.settings.chunk_size).map(|size| (at, size))
            })
            .take(room)
            .collect();
        // The pages of those one client serves share its requests.
        let mut groups: Vec<Group> = Vec::new();
        for (at, size) in candidates {
            let Some(client) = self.served[live[at].report].clone() else { continue };
            match groups.iter_mut().find(|(c, _)| Arc::ptr_eq(c, &client)) {
                Some((_, members)) => members.push((at, size)),
                None => groups.push((client, vec![(at, size)])),
            }
        }
        let mut done = Vec::new();
        let mut stop = false;
        for (github, members) in groups.iter().filter(|(_, m)| m.len() >= AT_LEAST) {
            stop = self.begin_together(pool, github, reporter, shutdown, live, members, &mut done).await?;
            if stop {
                break;
            }
        }
        done.sort_unstable();
        for at in done.into_iter().rev() {
            live.remove(at);
        }
        Ok(stop)
    }

    /// Begins `candidates` (their places in `live`, their page sizes),
    /// served by `github`, together; those stored go in `done`.
    #[allow(clippy::too_many_arguments)]
    async fn begin_together(
        &mut self,
        pool: &PgPool,
        github: &GithubClient,
        reporter: &mut Reporter,
        shutdown: &mut Shutdown,
        live: &mut [Turn],
        candidates: &[(usize, i64)],
        done: &mut Vec<usize>,
    ) -> Result<bool, RunError> {
        // Claimed now, as `process_chunk` claims one: a backfill another run
        // holds is left to it.
        let mut claimed: HashMap<usize, (Backfill, Start)> = HashMap::new();
        let mut pages = Vec::new();
        for &(at, size) in candidates {
            let turn = live[at];
            if let Some(b) = claims::take(pool, turn.id, &self.holder).await? {
                pages.push(FirstPage { key: at, owner: b.owner.clone(), name: b.name.clone(), size });
                claimed.insert(at, (b, Start::now(github)));
            }
        }
        reporter.info(&format!("beginning {} small backfill(s) together", claimed.len()));
        let ids: Vec<Uuid> = claimed.values().map(|(b, _)| b.id).collect();
        let mut fleet = Pipeline::fleet(pages);
        let stop = loop {
            if self.out_of_time() {
                reporter.info("time budget reached; the next run continues from here");
                break true;
            }
            let next = tokio::select! {
                biased;
                signal = shutdown.received() => {
                    self.summary.interrupted = Some(signal);
                    break true;
                }
                next = fleet.next_of_fleet(github) => next,
                () = keep_claims(pool, &ids, &self.holder) => continue,
            };
            let (at, fetched) = match next {
                Ok(Some(next)) => next,
                Ok(None) => break false,
                Err(e) => {
                    let _ = claims::release_all(pool, &self.holder).await;
                    match e.meaning().blame {
                        Blame::Credential => return Err(RunError::BadCredentials(e.to_string())),
                        Blame::Setting => return Err(RunError::Config(e.to_string())),
                        Blame::Github | Blame::RateLimit { .. } | Blame::Repository | Blame::Backfill => {
                            reporter.warn(&format!("the small backfills' shared pages failed ({e}): each in turn"));
                            break false;
                        }
                    }
                }
            };
            let Some((backfill, start)) = claimed.remove(&at) else { continue };
            let turn = live[at];
            let size = i64::from(backfill.total_prs).max(1);
            let chunk = Chunk {
                pool,
                github,
                backfill: &backfill,
                settings: &self.settings,
                holder: &self.holder,
                start,
                sweeping: false,
            };
            reporter.begin_backfill(&backfill.full_name);
            let outcome = match &fetched {
                Ok(page) => chunk.store(page).await,
                Err(e) => chunk.record_error(e, size).await,
            };
            let outcome = outcome.inspect_err(|_| reporter.end_backfill())?;
            self.turned[turn.report] = true;
            let completed = matches!(&outcome, ChunkOutcome::Stored(c) if c.completed);
            let flow = self.record(turn, outcome, reporter);
            reporter.end_backfill();
            match flow {
                Flow::StopRun => break true,
                // Completed: no sweep this run.
                _ if completed => done.push(at),
                Flow::Done => done.push(at),
                // More PRs than the page held: its turns go on from its cursor.
                Flow::Again | Flow::Sweep => {
                    live[at] = Turn { taken: self.taken_after(turn), turns: turn.turns + 1, ..turn };
                }
            }
        };
        // The claims of chunks not stored (failed, or never handed out) go
        // back, for the turns or the next run.
        let _ = claims::release_all(pool, &self.holder).await;
        Ok(stop)
    }
}

/// The heartbeat of many claims, beside the fetch, never done: one lost (or
/// already given up with its stored chunk) is the store's check's to find.
async fn keep_claims(pool: &PgPool, ids: &[Uuid], holder: &claims::Holder) {
    loop {
        tokio::time::sleep(holder.heartbeat()).await;
        for id in ids {
            let _ = claims::renew(pool, *id, holder).await;
        }
    }
}
