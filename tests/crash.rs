//! SIGKILL at random moments: whatever instant a run dies at (mid-request,
//! mid-transaction, mid-commit), the database holds whole chunks only, and
//! later runs finish the backfill exactly.

mod common;

use std::time::Duration;

use common::consistency::{assert_chunks_in_order, assert_consistent};
use common::oracle::assert_complete;
use common::{spec, text, Harness};
use fake_github::data::Rng;
use fake_github::{Profile, RepoSpec};
use sqlx::PgPool;

/// Kills per test: enough to land in every phase of a chunk many times,
/// few enough to keep the suite quick.
const KILLS: usize = 20;

/// A killed run's claim lapses after its lease; a short one keeps the runs
/// after a kill from skipping the backfill for long (the takeover with the
/// default lease is tested in `short_transactions.rs`).
const LEASE: [(&str, &str); 1] = [("BACKFILL_LEASE", "1s")];

/// Pages a run fetches ahead at most, counting the one being asked: what a
/// kill may lose (`src/github/pipeline.rs`, `MAX_IN_FLIGHT`).
const MAX_IN_FLIGHT: usize = 5;

fn crash_seed() -> u64 {
    let seed: u64 = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
    });
    eprintln!("crash seed {seed} (CRASH_SEED={seed} replays these kill times)");
    seed
}

/// How many runs to kill, and when.
struct Kills {
    /// Kills wanted, and how many at least must land before the backfill completes.
    wanted: usize,
    at_least: usize,
    /// Half the runs are killed `10 + below(window)` ms after they start,
    /// from just after start-up to a few chunks in. The other half are killed
    /// `below(after_chunk)` ms after they stored a chunk, so that chunks are
    /// stored between kills however slowly a busy machine starts its runs.
    window_ms: u64,
    after_chunk_ms: u64,
}

/// Until `full_name` has more than `stored` PRs stored.
async fn stored_more_than(h: &Harness, full_name: &str, stored: i32) {
    while h.processed_prs(full_name).await <= stored {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Pipelined runs (`run --time-budget 5m`) of `full_name`, each SIGKILLed
/// at a random moment unless it ends first, until enough kills or the
/// backfill completes; the database is checked after each. Then runs until
/// it completes, and the data must be exactly the fake's. Returns the kills.
async fn kill_runs_then_finish(h: &Harness, full_name: &str, plan: &Kills, seed: u64) -> usize {
    let (owner, name) = full_name.split_once('/').expect("OWNER/NAME");
    // Some latency, so kills land in GitHub requests as well as in PostgreSQL work.
    h.fake.with_control(|c| c.latency = Duration::from_millis(25));
    let mut rng = Rng::new(seed);
    let mut kills = 0;
    let mut finished_runs = 0;
    while kills < plan.wanted && h.status_of(full_name).await != "completed" {
        h.lease_lapsed(full_name).await;
        let stored = h.processed_prs(full_name).await;
        let mut child = h.spawn(&["run", "--time-budget", "5m"], &LEASE);
        let after_chunk = rng.below(2) == 0;
        let moment = if after_chunk {
            Duration::from_millis(rng.below(plan.after_chunk_ms))
        } else {
            Duration::from_millis(10 + rng.below(plan.window_ms))
        };
        let killer = async {
            if after_chunk {
                stored_more_than(h, full_name, stored).await;
            }
            tokio::time::sleep(moment).await;
        };
        tokio::select! {
            _ = killer => {
                child.start_kill().expect("SIGKILL sent");
                child.wait().await.expect("killed child reaped");
                kills += 1;
            }
            status = child.wait() => {
                assert_eq!(status.expect("child ran").code(), Some(0), "an unkilled run failed (seed {seed})");
                finished_runs += 1;
            }
        }
        let after = if after_chunk { " after a chunk" } else { "" };
        let context = format!("after kill {kills} at {moment:?}{after} (seed {seed})");
        assert_consistent(h, full_name, &context).await;
        assert_chunks_in_order(h, full_name, &context).await;
    }
    assert!(kills >= plan.at_least, "the backfill finished before enough kills ({kills}); seed {seed}");
    let before_last = h.processed_prs(full_name).await;
    eprintln!("{kills} kills, {finished_runs} runs finished on their own, {before_last} PRs stored by then");
    assert!(before_last > 0, "the killed runs stored chunks too (seed {seed})");

    // Until the last killed run's lease lapses, a run skips the backfill.
    h.wait_until("a last run completes the backfill", Duration::from_secs(120), || async {
        let out = h.backfill_with(&["run", "--time-budget", "5m"], &LEASE).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        h.status_of(full_name).await == "completed"
    })
    .await;
    assert_consistent(h, full_name, &format!("at the end (seed {seed})")).await;
    assert_complete(h, owner, name).await;
    kills
}

#[sqlx::test(migrations = false)]
async fn random_kills_leave_whole_chunks_and_later_runs_finish_exactly(pool: PgPool) {
    let h = Harness::start(pool, &[spec("crash", "repo", 2000)]).await;
    h.add("crash/repo").await;
    let kills = Kills { wanted: KILLS, at_least: 10, window_ms: 700, after_chunk_ms: 100 };
    kill_runs_then_finish(&h, "crash/repo", &kills, crash_seed()).await;
}

/// The same on a repository shaped like pytorch/pytorch, where most chunks
/// need follow-ups and the pipeline keeps up to three chunks in flight: a
/// kill loses only pages fetched and not stored, never part of a chunk, and
/// never lets a chunk be stored out of order or with another.
#[sqlx::test(migrations = false)]
async fn random_kills_of_pipelined_runs_on_a_big_repository_leave_whole_chunks_in_order(pool: PgPool) {
    let started = std::time::Instant::now();
    let big = RepoSpec { profile: Profile::BigRepository, ..spec("crash", "big", 1_500) };
    let h = Harness::start(pool, &[big]).await;
    h.add("crash/big").await;
    let before = h.fake.requests().len();
    let seed = crash_seed();
    // A run stores its first chunk here some 0.7 s after it starts (three
    // pages and their follow-ups, then the store), later ones every 0.1-0.8
    // s: kills up to 1.2-2.0 s in land before the first commit, in it, and
    // with pages in flight, and store about half the PRs by the last one.
    let plan = Kills { wanted: 15, at_least: 10, window_ms: 1_200, after_chunk_ms: 150 };
    let kills = kill_runs_then_finish(&h, "crash/big", &plan, seed).await;

    let chunks = assert_chunks_in_order(&h, "crash/big", &format!("at the end (seed {seed})")).await;
    let log = &h.fake.requests()[before..];
    let pages = log.iter().filter(|r| r.operation.as_deref() == Some("PullRequestPage")).count();
    let failed: Vec<_> = log.iter().filter(|r| r.status != 200).collect();
    assert!(failed.is_empty(), "the fake failed no request here (seed {seed}): {failed:?}");
    // Each stored chunk is one page; every other page fetched was lost to a
    // kill, at most the pages a run has in flight.
    assert!(pages >= chunks.len(), "{pages} pages for {} chunks (seed {seed})", chunks.len());
    let lost = pages - chunks.len();
    eprintln!(
        "{} chunks, {pages} pages fetched ({lost} lost to {kills} kills), {} requests, {:?}",
        chunks.len(),
        log.len(),
        started.elapsed()
    );
    assert!(
        lost <= MAX_IN_FLIGHT * kills,
        "{lost} pages fetched and never stored for {kills} kills: more than {MAX_IN_FLIGHT} a kill (seed {seed})"
    );
}
